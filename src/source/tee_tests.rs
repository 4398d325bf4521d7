use super::*;

use futures_util::future::join_all;
use proptest::prelude::*;
use tokio::sync::mpsc;

/// `len` bytes that differ from offset to offset (a misplaced chunk shows).
fn content(len: usize) -> Bytes {
    (0..len)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as u8)
        .collect::<Vec<u8>>()
        .into()
}

fn spill_file() -> (tempfile::TempDir, File) {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = File::options()
        .read(true)
        .write(true)
        .create_new(true)
        .open(dir.path().join("spill"))
        .expect("spill file");
    (dir, file)
}

/// Sends the chunks of a test-fed stream.
type Feed = mpsc::UnboundedSender<std::io::Result<Bytes>>;

/// A tee of a stream the test feeds chunk by chunk (said to be `told` bytes), for `readers`.
fn fed_tee(told: u64, readers: usize, window: u64) -> (Feed, tempfile::TempDir, Arc<Tee>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let (dir, spill) = spill_file();
    let tee = Tee::start(
        Digest::sha256(b"test"),
        Box::pin(stream),
        told,
        readers,
        window,
        spill,
        SpillBudget::new(u64::MAX),
    );
    (tx, dir, tee)
}

/// `content` cut into pieces of the given lengths (the last one takes the rest).
fn chunks(content: &Bytes, lengths: &[usize]) -> Vec<Bytes> {
    let mut out = Vec::new();
    let mut at = 0;
    for len in lengths {
        let end = (at + len).min(content.len());
        out.push(content.slice(at..end));
        at = end;
    }
    if at < content.len() {
        out.push(content.slice(at..));
    }
    out
}

/// A tee of `data` (said to be `told` bytes) fed in [`STEP`]-sized chunks as fast as it takes
/// them, for `readers` readers.
fn tee_of(data: &Bytes, told: u64, readers: usize, window: u64) -> (tempfile::TempDir, Arc<Tee>) {
    let (dir, spill) = spill_file();
    let pieces = chunks(data, &vec![STEP as usize; data.len() / STEP as usize]);
    let stream = Box::pin(futures_util::stream::iter(pieces.into_iter().map(Ok)));
    let tee = Tee::start(
        Digest::sha256(b"test"),
        stream,
        told,
        readers,
        window,
        spill,
        SpillBudget::new(u64::MAX),
    );
    (dir, tee)
}

async fn read_all(mut reader: TeeReader) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(bytes) = reader.next().await? {
        out.extend_from_slice(&bytes);
    }
    Ok(out)
}

fn held(tee: &Tee) -> (u64, u64) {
    let state = tee.lock();
    (state.held(), state.peak)
}

#[tokio::test]
async fn readers_in_step_share_the_chunks_and_nothing_is_spilled() {
    let data = content(8 * STEP as usize);
    let (tx, _dir, tee) = fed_tee(data.len() as u64, 2, 2 * STEP);
    let (mut a, mut b) = (tee.claim().unwrap(), tee.claim().unwrap());
    for chunk in chunks(&data, &[STEP as usize; 8]) {
        tx.send(Ok(chunk.clone())).unwrap();
        let (from_a, from_b) = (a.next().await.unwrap(), b.next().await.unwrap());
        assert_eq!(from_a.as_ref(), Some(&chunk));
        assert_eq!(from_b.as_ref(), Some(&chunk));
        // Both passed the chunk: it left memory.
        assert_eq!(held(&tee).0, 0);
    }
    drop(tx);
    assert_eq!(a.next().await.unwrap(), None);
    assert_eq!(b.next().await.unwrap(), None);
    assert_eq!(tee.lock().spilled, 0);
    assert_eq!(held(&tee).1, STEP, "at most one chunk was ever held");
}

#[tokio::test]
async fn readers_slower_than_the_source_hold_the_download_back_instead_of_spilling() {
    let data = content(20 * STEP as usize);
    let window = 2 * STEP;
    let (_dir, tee) = tee_of(&data, data.len() as u64, 2, window);
    let (mut a, mut b) = (tee.claim().unwrap(), tee.claim().unwrap());
    let (mut got_a, mut got_b) = (Vec::new(), Vec::new());
    loop {
        // Both readers lag: the source could deliver everything at once.
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        let (x, y) = (a.next().await.unwrap(), b.next().await.unwrap());
        match (x, y) {
            (Some(x), Some(y)) => {
                got_a.extend_from_slice(&x);
                got_b.extend_from_slice(&y);
            }
            (None, None) => break,
            other => panic!("readers in step end together: {other:?}"),
        }
    }
    assert_eq!(got_a, data);
    assert_eq!(got_b, data);
    let state = tee.lock();
    assert_eq!(state.spilled, 0);
    assert!(state.peak <= window + STEP, "{}", state.peak);
}

#[tokio::test]
async fn a_fast_reader_is_not_held_back_by_an_idle_one() {
    let data = content(12 * STEP as usize);
    let window = 4 * STEP;
    let (_dir, tee) = tee_of(&data, data.len() as u64, 2, window);
    let (fast, idle) = (tee.claim().unwrap(), tee.claim().unwrap());
    assert_eq!(read_all(fast).await.unwrap(), data);
    // What did not fit the window went to the file for the idle reader.
    assert_eq!(tee.lock().spilled, 8 * STEP);
    assert_eq!(read_all(idle).await.unwrap(), data);
}

#[tokio::test]
async fn a_reader_claimed_after_the_download_reads_what_was_spilled_for_it() {
    let data = content(10 * STEP as usize + 123);
    let window = 3 * STEP;
    let (_dir, tee) = tee_of(&data, data.len() as u64, 2, window);
    let first = read_all(tee.claim().unwrap()).await.unwrap();
    assert_eq!(first, data);
    // The second reader is not claimed yet: what left the window went to the file as it came,
    // memory never held more than the window, and once the first reader was done the rest went
    // to the file too (the second may come late, or never).
    let (now, peak) = held(&tee);
    assert_eq!(now, 0);
    assert!(peak <= window + STEP, "{peak}");
    assert_eq!(tee.lock().spilled, data.len() as u64);
    let second = read_all(tee.claim().unwrap()).await.unwrap();
    assert_eq!(second, data);
    assert!(tee.claim().is_none(), "two readers were expected");
    assert_eq!(held(&tee).0, 0, "everyone passed everything");
}

#[tokio::test]
async fn memory_is_not_kept_for_a_reader_that_may_never_come() {
    // As for a mount that may fall back to an upload: two readers expected, one comes at once.
    let data = content(4 * STEP as usize + 5);
    let (_dir, tee) = tee_of(&data, data.len() as u64, 2, 64 * STEP);
    assert_eq!(read_all(tee.claim().unwrap()).await.unwrap(), data);
    assert_eq!(held(&tee).0, 0, "memory is freed");
    assert_eq!(tee.lock().spilled, data.len() as u64);
    assert_eq!(read_all(tee.claim().unwrap()).await.unwrap(), data);
}

/// Issue 14: with the spill budget spent, a fast reader is held to the slow one's pace instead
/// of the blob going to disk, and a reader not opened yet is refused (it reads the source again).
#[tokio::test]
async fn past_the_spill_budget_readers_share_the_slowest_pace_and_late_ones_read_again() {
    let data = content(12 * STEP as usize);
    let window = 2 * STEP;
    let (_dir, spill) = spill_file();
    let pieces = chunks(&data, &[STEP as usize; 12]);
    let stream = Box::pin(futures_util::stream::iter(pieces.into_iter().map(Ok)));
    let tee = Tee::start(
        Digest::sha256(b"test"),
        stream,
        data.len() as u64,
        3,
        window,
        spill,
        SpillBudget::new(3 * STEP),
    );
    let (fast, mut slow) = (tee.claim().unwrap(), tee.claim().unwrap());
    let fast = tokio::spawn(read_all(fast));
    // The slow reader takes one chunk, then waits: the fast one gets the window, what the budget
    // spills, and no more.
    let first = slow.next().await.unwrap().unwrap();
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
    let (received, spilled, limited) = {
        let state = tee.lock();
        (state.received, state.spilled, state.limited)
    };
    assert!(limited, "the budget ran out");
    assert!(spilled <= 3 * STEP, "{spilled}");
    assert!(
        received <= STEP + window + 3 * STEP + STEP,
        "the download waits for the slow reader: {received}"
    );
    assert!(
        !fast.is_finished(),
        "the fast reader is held to the slow one's pace"
    );
    let mut got = first.to_vec();
    while let Some(bytes) = slow.next().await.unwrap() {
        got.extend_from_slice(&bytes);
    }
    assert_eq!(got, data);
    assert_eq!(fast.await.unwrap().unwrap(), data);
    assert!(
        tee.claim().is_none(),
        "the third reader reads the source again"
    );
    assert!(tee.lock().spilled <= 3 * STEP);
}

#[tokio::test]
async fn claims_stop_at_the_expected_number() {
    let data = content(10);
    let (_dir, tee) = tee_of(&data, 10, 1, STEP);
    let reader = tee.claim().expect("one reader");
    assert!(tee.claim().is_none());
    assert_eq!(read_all(reader).await.unwrap(), data);
}

#[tokio::test]
async fn a_failed_download_fails_every_reader_after_the_bytes_it_had() {
    let data = content(2 * STEP as usize);
    let (tx, _dir, tee) = fed_tee(4 * STEP, 2, 4 * STEP);
    let (a, b) = (tee.claim().unwrap(), tee.claim().unwrap());
    for chunk in chunks(&data, &[STEP as usize; 2]) {
        tx.send(Ok(chunk)).unwrap();
    }
    tx.send(Err(std::io::Error::other("connection reset")))
        .unwrap();
    for result in join_all([read_all(a), read_all(b)]).await {
        let err = result.unwrap_err();
        assert!(err.to_string().contains("connection reset"), "{err}");
    }
}

#[tokio::test]
async fn more_or_fewer_bytes_than_the_descriptor_says_is_an_error() {
    for (sent, told, says) in [
        (3 * STEP, 2 * STEP, "more than the"),
        (STEP, 2 * STEP, "the descriptor says"),
    ] {
        let data = content(sent as usize);
        let (_dir, tee) = tee_of(&data, told, 1, STEP);
        let err = read_all(tee.claim().unwrap()).await.unwrap_err();
        assert!(err.to_string().contains(says), "{err}");
    }
}

#[tokio::test]
async fn dropped_readers_release_memory_and_the_last_one_stops_the_download() {
    let data = content(6 * STEP as usize);
    let pieces = chunks(&data, &[STEP as usize; 6]);
    let (tx, _dir, tee) = fed_tee(data.len() as u64, 2, 16 * STEP);
    let (mut a, mut b) = (tee.claim().unwrap(), tee.claim().unwrap());
    tx.send(Ok(pieces[0].clone())).unwrap();
    assert_eq!(a.next().await.unwrap().as_ref(), Some(&pieces[0]));
    // `b` has read nothing: the chunk stays for it. Dropped, it no longer holds it.
    assert_eq!(held(&tee).0, STEP);
    drop(b.next().await.unwrap());
    drop(b);
    assert_eq!(held(&tee).0, 0);
    tx.send(Ok(pieces[1].clone())).unwrap();
    assert_eq!(a.next().await.unwrap().as_ref(), Some(&pieces[1]));
    assert_eq!(held(&tee).0, 0);
    drop(a);
    // Nobody reads any more: the next chunk ends the download.
    tx.send(Ok(pieces[2].clone())).unwrap();
    let mut progress = tee.progress.subscribe();
    while tee.lock().end.is_none() {
        progress.changed().await.unwrap();
    }
    let end = tee.lock().end.clone().unwrap();
    assert_eq!(end, Err("every reader stopped".to_owned()));
    assert_eq!(tee.lock().spilled, 0);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Whatever the chunking, window, spill budget and pace of each reader, every reader gets
    /// the exact bytes (a late one refused past the budget reads the source again), memory stays
    /// under the window plus one chunk, and nothing is spilled that is not needed (at most the
    /// whole blob, once, and never more than the budget).
    #[test]
    fn every_reader_gets_the_exact_bytes(
        len in 0usize..600_000,
        lengths in proptest::collection::vec(1usize..90_000, 1..40),
        window in 1u64..300_000,
        paces in proptest::collection::vec((0usize..3, 0u64..400_000), 1..4),
        budget in prop_oneof![Just(u64::MAX), 0u64..400_000],
    ) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let data = content(len);
            let pieces = chunks(&data, &lengths);
            let biggest = pieces.iter().map(|p| p.len() as u64).max().unwrap_or(0);
            let (_dir, spill) = spill_file();
            let stream = Box::pin(futures_util::stream::iter(pieces.into_iter().map(Ok)));
            let tee = Tee::start(
                Digest::sha256(b"test"),
                stream,
                len as u64,
                paces.len(),
                window,
                spill,
                SpillBudget::new(budget),
            );
            // Each reader yields `yields` times between reads, and starts once `delay` bytes
            // were received.
            let readers = paces.iter().map(|&(yields, delay)| {
                let tee = tee.clone();
                let data = data.clone();
                async move {
                    let mut progress = tee.progress.subscribe();
                    // Until the delay, or the download's end (it stops once no reader is left
                    // to read, when the budget withdrew this one).
                    let waiting = || {
                        let state = tee.lock();
                        state.received < delay.min(len as u64) && state.end.is_none()
                    };
                    while waiting() {
                        progress.changed().await.unwrap();
                    }
                    let Some(mut reader) = tee.claim() else {
                        assert!(tee.lock().limited, "a claim refused within the budget");
                        return data.to_vec(); // read from the source again
                    };
                    let mut out = Vec::new();
                    while let Some(bytes) = reader.next().await.unwrap() {
                        out.extend_from_slice(&bytes);
                        for _ in 0..yields {
                            tokio::task::yield_now().await;
                        }
                    }
                    out
                }
            });
            for got in join_all(readers).await {
                prop_assert_eq!(&got, &data.to_vec());
            }
            let (_, peak) = held(&tee);
            prop_assert!(peak <= window + biggest, "peak {} window {} chunk {}", peak, window, biggest);
            prop_assert!(tee.lock().spilled <= len as u64);
            prop_assert!(tee.lock().spilled <= budget);
            Ok(())
        })?;
    }
}
