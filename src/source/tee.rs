//! One download read by several uploads at their own pace, in bounded memory.
//!
//! The download appends its chunks to a window in memory and readers follow it, each taking the
//! chunks as they are (no copy). A chunk leaves memory once every reader has passed it. When the
//! window is full, the download waits while every reader still has bytes to read (the readers
//! are slower than the source: nothing is gained by running ahead); once a reader has caught up,
//! the download goes on and the oldest chunks leave memory, written first to a spill file when a
//! reader still needs them (one behind, or one expected but not opened yet), which that reader
//! then reads from there. So the bytes are fetched once, the fastest reader is never held back
//! by the slowest, and memory stays under the window (plus one chunk) however large the blob.
//!
//! Once the download is over and the readers that came have read it all, what memory still
//! holds for readers yet to come goes to the spill file too: they may come late or never.
//!
//! The spill files of one source share a [`SpillBudget`]. Once it is spent, nothing more is
//! spilled: readers not opened yet are withdrawn (when they open, the caller reads the blob again
//! from the source), and the download waits for the slowest reader to pass the oldest chunks in
//! memory before they leave it, so the readers then move at the slowest one's pace.
//!
//! The number of readers is fixed up front: [`Tee::claim`] gives each its reader, and refuses
//! once all are claimed (the caller then fetches the blob again: a retry after a failure). A
//! claimed reader must be read without waiting on anything else (its upload already holds its
//! connection slot), as the download may wait for it.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::{Notify, watch};

use crate::registry::{BlobStream, Digest};

mod reader;
mod window;

pub(super) use reader::TeeReader;
use window::{State, over_window};

/// Readers waiting for data are woken after at least this many new bytes (and at the end).
const STEP: u64 = 256 * 1024;

/// The bytes the spill files of one source may still take, together.
pub(super) struct SpillBudget {
    limit: u64,
    left: AtomicU64,
}

impl SpillBudget {
    pub(super) fn new(limit: u64) -> Arc<SpillBudget> {
        Arc::new(SpillBudget {
            limit,
            left: AtomicU64::new(limit),
        })
    }

    /// Takes `bytes` from the budget when it has them.
    fn take(&self, bytes: u64) -> bool {
        self.left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(bytes)
            })
            .is_ok()
    }
}

/// A blob being downloaded (or done) and the readers following it.
pub(super) struct Tee {
    digest: Digest,
    size: u64,
    /// The most bytes held in memory (one chunk more while it is appended).
    window: u64,
    spill: File,
    budget: Arc<SpillBudget>,
    state: Mutex<State>,
    /// Bumped when readers may find something new: more bytes, or the end.
    progress: watch::Sender<u64>,
    /// Told when a reader moved on while the download waits for one to.
    advanced: Notify,
}

impl Tee {
    /// Starts moving `stream` (blob `digest`, `size` bytes, for `readers` readers) into a new
    /// tee, in the background; `spill` is an empty file for the bytes a lagging reader needs,
    /// within `budget`.
    pub(super) fn start(
        digest: Digest,
        stream: BlobStream,
        size: u64,
        readers: usize,
        window: u64,
        spill: File,
        budget: Arc<SpillBudget>,
    ) -> Arc<Tee> {
        let tee = Arc::new(Tee {
            digest,
            size,
            window,
            spill,
            budget,
            state: Mutex::new(State::new(readers)),
            progress: watch::channel(0).0,
            advanced: Notify::new(),
        });
        let filling = tee.clone();
        tokio::spawn(async move {
            let end = filling.fill(stream).await.map_err(|e| e.to_string());
            let mut state = filling.lock();
            tracing::debug!(digest = %filling.digest, size, spilled = state.spilled, peak = state.peak, ?end, "source blob read");
            state.end = Some(end);
            filling.park(&mut state);
            drop(state);
            filling.progress.send_modify(|n| *n += 1);
        });
        tee
    }

    /// The next reader, starting at byte 0; `None` when every expected reader was claimed.
    pub(super) fn claim(self: &Arc<Self>) -> Option<TeeReader> {
        let mut state = self.lock();
        state.unclaimed = state.unclaimed.checked_sub(1)?;
        state.positions.push(Some(0));
        Some(TeeReader {
            tee: self.clone(),
            slot: state.positions.len() - 1,
            position: 0,
            progress: self.progress.subscribe(),
        })
    }

    /// Records a reader's new position (`None`: it stopped), frees what everyone passed, and
    /// wakes the download if it waits.
    fn moved(&self, slot: usize, position: Option<u64>) {
        let mut state = self.lock();
        state.positions[slot] = position;
        state.drop_passed();
        self.park(&mut state);
        if std::mem::take(&mut state.filler_waiting) {
            drop(state);
            self.advanced.notify_one();
        }
    }

    /// Moves what memory holds to the spill file once only readers not opened yet need it (a
    /// mount that may fall back to an upload, a target that may never get that far): they may
    /// come late or never, and memory is not held for them meanwhile. Done under the lock, when
    /// no reader is reading; a failed write leaves the bytes in memory.
    fn park(&self, state: &mut State) {
        if !state.only_unclaimed_left(self.size) {
            return;
        }
        if !self.budget.take(state.held()) {
            self.withdraw_unclaimed(state);
            state.chunks.clear();
            return;
        }
        let written = state
            .chunks
            .iter()
            .try_for_each(|(offset, chunk)| self.spill.write_all_at(chunk, *offset));
        match written {
            Ok(()) => {
                state.spilled += state.held();
                state.chunks.clear();
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not spill a source blob; it stays in memory")
            }
        }
    }

    /// With the spill budget spent: readers not opened yet will read the blob again from the
    /// source (their claim is refused), so nothing is kept for them.
    fn withdraw_unclaimed(&self, state: &mut State) {
        if !state.limited {
            state.limited = true;
            tracing::info!(
                digest = %self.digest,
                limit = self.budget.limit,
                "the spill limit is reached: the uploads of this blob go on at the slowest one's pace, and one opened later reads it again from the source"
            );
        }
        state.unclaimed = 0;
    }

    /// With the spill budget spent: waits until every reader has passed `end` (reading the
    /// chunks before it from memory), so they can leave memory without being spilled. Readers
    /// are told of every byte received first: one waiting for the next announcement (they come
    /// every [`STEP`]) would otherwise never read what the download waits for it to read.
    async fn wait_for_the_slowest(&self, end: u64) {
        loop {
            {
                let mut state = self.lock();
                self.withdraw_unclaimed(&mut state);
                state.filler_waiting = state.needed_from().is_some_and(|from| from < end);
                if !state.filler_waiting {
                    return;
                }
            }
            self.progress.send_modify(|n| *n += 1);
            self.advanced.notified().await;
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits while memory is full and every reader is busy reading it.
    async fn wait_for_a_reader(&self) {
        loop {
            {
                let mut state = self.lock();
                state.filler_waiting = state.full_and_all_busy(self.window);
                if !state.filler_waiting {
                    return;
                }
            }
            // A reader that moved on since the check left a permit: this returns at once.
            self.advanced.notified().await;
        }
    }

    /// Appends the stream's chunks, keeping memory under the window; stops early when no reader
    /// is left to read.
    async fn fill(&self, mut stream: BlobStream) -> std::io::Result<()> {
        let mut announced = 0;
        loop {
            self.wait_for_a_reader().await;
            let Some(chunk) = stream.next().await.transpose()? else {
                break;
            };
            if chunk.is_empty() {
                continue;
            }
            let (received, leaving, needed_from) = {
                let mut state = self.lock();
                let Some(needed_from) = state.needed_from() else {
                    return Err(std::io::Error::other("every reader stopped"));
                };
                let end = state.received + chunk.len() as u64;
                if end > self.size {
                    return Err(std::io::Error::other(format!(
                        "the source sent {end} bytes, more than the {} its descriptor says",
                        self.size
                    )));
                }
                let offset = state.received;
                state.chunks.push_back((offset, chunk));
                state.received = end;
                state.drop_passed();
                state.peak = state.peak.max(state.held());
                (end, over_window(&state, self.window), needed_from)
            };
            // Out of the lock: the oldest chunks beyond the window go to the file when a reader
            // still needs them, before they leave memory (a reader behind reads them there);
            // past the spill budget, the download waits for the readers to pass them instead.
            let needed =
                |(offset, chunk): &&(u64, Bytes)| needed_from < offset + chunk.len() as u64;
            let to_spill: u64 = leaving
                .iter()
                .filter(needed)
                .map(|(_, chunk)| chunk.len() as u64)
                .sum();
            let mut spilled = 0;
            if to_spill > 0 && !self.budget.take(to_spill) {
                if let Some((offset, chunk)) = leaving.last() {
                    self.wait_for_the_slowest(offset + chunk.len() as u64).await;
                }
            } else {
                for (offset, chunk) in leaving.iter().filter(needed) {
                    self.spill.write_all_at(chunk, *offset)?;
                    spilled += chunk.len() as u64;
                }
            }
            if let Some((last, _)) = leaving.last() {
                let mut state = self.lock();
                while state.chunks.front().is_some_and(|(o, _)| o <= last) {
                    state.chunks.pop_front();
                }
                state.spilled += spilled;
            }
            if received - announced >= STEP {
                announced = received;
                self.progress.send_modify(|n| *n += 1);
            }
        }
        let received = self.lock().received;
        if received != self.size {
            return Err(std::io::Error::other(format!(
                "the source sent {received} bytes, the descriptor says {}",
                self.size
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "tee_tests.rs"]
mod tests;
