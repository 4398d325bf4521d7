//! Stall detection: a request counts as stalled when nothing moves for a while (no answer, no
//! byte of its body taken or received), however long it runs while it moves. reqwest 0.12 has no
//! such timeout: its `read_timeout` runs one timer from the request's start to the response
//! headers (so a long upload would fail although every byte moves) and then one per body read;
//! nothing catches an upload body the registry stopped reading. So the transport watches
//! progress itself: [`Progress`] is touched for every body chunk, [`stalled`] resolves once it
//! was not touched for the limit, and [`guard`] does the same for a downloaded body.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::time::Instant;

use super::stop::Stop;

/// When a transfer last moved. Cheap to clone; every clone sees the same instant.
#[derive(Debug, Clone)]
pub(crate) struct Progress {
    last: Arc<Mutex<Instant>>,
}

impl Progress {
    /// Progress as of now.
    pub fn new() -> Progress {
        Progress {
            last: Arc::new(Mutex::new(Instant::now())),
        }
    }

    /// Records that bytes moved now.
    pub fn touch(&self) {
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
    }

    fn last(&self) -> Instant {
        *self.last.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Passes a body stream through, touching this progress for every chunk taken from it.
    pub fn track<S, T>(&self, body: S) -> impl Stream<Item = T> + Send + use<S, T>
    where
        S: Stream<Item = T> + Send,
    {
        let progress = self.clone();
        body.inspect(move |_| progress.touch())
    }
}

/// Resolves once `progress` has not moved for `limit`.
pub(crate) async fn stalled(progress: &Progress, limit: Duration) {
    loop {
        let deadline = progress.last() + limit;
        if Instant::now() >= deadline {
            return;
        }
        tokio::time::sleep_until(deadline).await;
    }
}

/// A downloaded body that fails with [`std::io::ErrorKind::TimedOut`] when no chunk arrives for
/// `limit`, and with [`std::io::ErrorKind::Interrupted`] once `stop` is triggered. `what` names
/// the request in the error (`GET <url>`).
pub(crate) fn guard<S>(
    body: S,
    limit: Duration,
    stop: Stop,
    what: String,
) -> impl Stream<Item = std::io::Result<Bytes>> + Send
where
    S: Stream<Item = std::io::Result<Bytes>> + Send + Unpin,
{
    futures_util::stream::unfold(Some(body), move |body| {
        let stop = stop.clone();
        let what = what.clone();
        async move {
            let mut body = body?;
            tokio::select! {
                next = tokio::time::timeout(limit, body.next()) => match next {
                    Ok(Some(item)) => Some((item, Some(body))),
                    Ok(None) => None,
                    Err(_) => {
                        let message = format!(
                            "{what}: the registry stopped responding: nothing moved for {}",
                            super::stop::human_duration(limit)
                        );
                        Some((Err(std::io::Error::new(std::io::ErrorKind::TimedOut, message)), None))
                    }
                },
                reason = stop.stopped() => {
                    let message = format!("{what}: stopped: {reason}");
                    Some((Err(std::io::Error::new(std::io::ErrorKind::Interrupted, message)), None))
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_watchdog_fires_only_after_the_limit_without_progress() {
        let progress = Progress::new();
        let limit = Duration::from_secs(10);
        let started = Instant::now();
        let toucher = {
            let progress = progress.clone();
            tokio::spawn(async move {
                for _ in 0..3 {
                    tokio::time::sleep(Duration::from_secs(6)).await;
                    progress.touch();
                }
            })
        };
        stalled(&progress, limit).await;
        // Touched at 6, 12 and 18 s: it fires 10 s after the last touch.
        assert_eq!(started.elapsed(), Duration::from_secs(28));
        toucher.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_download_times_out_and_a_stop_interrupts() {
        let silent = futures_util::stream::pending::<std::io::Result<Bytes>>();
        let mut guarded = Box::pin(guard(
            silent,
            Duration::from_secs(5),
            Stop::new(),
            "GET u".into(),
        ));
        let err = guarded.next().await.unwrap().unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
        assert!(err.to_string().contains("nothing moved for 5s"), "{err}");
        assert!(guarded.next().await.is_none(), "ends after its error");

        let stop = Stop::new();
        let silent = futures_util::stream::pending::<std::io::Result<Bytes>>();
        let mut guarded = Box::pin(guard(
            silent,
            Duration::from_secs(5),
            stop.clone(),
            "GET u".into(),
        ));
        stop.trigger(super::super::StopReason::Signal("SIGTERM"));
        let err = guarded.next().await.unwrap().unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::Interrupted);
    }
}
