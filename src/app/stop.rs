//! What stops a run early, from the shell's side: SIGTERM or SIGINT (GitHub cancelling the job,
//! Ctrl-C locally) and the `timeout` input's deadline each trigger the client's
//! [`Stop`](crate::registry::Stop), so that the run ends with its report instead of being
//! killed (or sitting until GitHub's 6-hour limit).

use crate::registry::{Stop, StopReason};
use std::time::Duration;
use tokio::runtime::Runtime;

/// A stop switch that `runtime` triggers on SIGTERM, SIGINT, or once `limit` has passed. The
/// signal handlers are installed before this returns: a signal from then on is caught, not
/// fatal.
pub(super) fn watch(runtime: &Runtime, limit: Duration) -> Stop {
    let stop = Stop::new();
    let signals = {
        let _context = runtime.enter();
        listen()
    };
    let trigger = stop.clone();
    runtime.spawn(async move {
        let signal = async {
            if signals.is_empty() {
                return std::future::pending().await;
            }
            let waits = signals
                .into_iter()
                .map(|(name, mut signal)| Box::pin(async move { signal.recv().await.map(|_| name) }));
            match futures_util::future::select_all(waits).await {
                (Some(name), _, _) => name,
                // No handler could be installed, or a stream ended: only the deadline is left.
                (None, _, _) => std::future::pending().await,
            }
        };
        let reason = tokio::select! {
            name = signal => StopReason::Signal(name),
            () = tokio::time::sleep(limit) => StopReason::Deadline(limit),
        };
        tracing::warn!(%reason, "stopping: requests in flight are abandoned, no further tag is written");
        trigger.trigger(reason);
    });
    stop
}

/// The signals a cancelled job gets, each with its name; a signal whose handler cannot be
/// installed is left out (with a warning), never an error.
#[cfg(unix)]
fn listen() -> Vec<(&'static str, tokio::signal::unix::Signal)> {
    use tokio::signal::unix::{SignalKind, signal};
    [
        ("SIGTERM", SignalKind::terminate()),
        ("SIGINT", SignalKind::interrupt()),
    ]
    .into_iter()
    .filter_map(|(name, kind)| match signal(kind) {
        Ok(s) => Some((name, s)),
        Err(error) => {
            tracing::warn!(signal = name, %error, "cannot catch the signal; it will end the run without a report");
            None
        }
    })
    .collect()
}

#[cfg(not(unix))]
fn listen() -> Vec<(&'static str, NoSignal)> {
    Vec::new()
}

/// Where no Unix signals exist: a signal that never comes.
#[cfg(not(unix))]
struct NoSignal;

#[cfg(not(unix))]
impl NoSignal {
    async fn recv(&mut self) -> Option<()> {
        None
    }
}
