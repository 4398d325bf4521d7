//! Stopping a run early: one [`Stop`] shared by every request of a client. The shell triggers it
//! (a signal, the `timeout` input's deadline); from then on every request in flight or about to
//! start fails at once with [`Error::Stopped`](super::Error::Stopped), so the publish executor
//! records what did not complete, moves no further tag, and the report says what was written.

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// Why a run was stopped before it finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// The process got a termination signal (`SIGTERM`, `SIGINT`): the job was cancelled.
    Signal(&'static str),
    /// The run's time limit ran out.
    Deadline(Duration),
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopReason::Signal(name) => write!(f, "cancelled ({name})"),
            StopReason::Deadline(limit) => {
                write!(f, "the time limit of {} ran out", human_duration(*limit))
            }
        }
    }
}

/// `90s` -> `1m30s`, `3600s` -> `1h`: how a limit reads in a message.
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs == 0 {
        return format!("{}ms", d.as_millis());
    }
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mut out = String::new();
    for (value, unit) in [(h, "h"), (m, "m"), (s, "s")] {
        if value > 0 {
            out.push_str(&format!("{value}{unit}"));
        }
    }
    out
}

/// A shared stop switch: cheap to clone, triggered once (the first reason wins).
#[derive(Debug, Clone, Default)]
pub struct Stop {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    token: CancellationToken,
    reason: OnceLock<StopReason>,
}

impl Stop {
    /// A switch that nothing has triggered yet.
    pub fn new() -> Stop {
        Stop::default()
    }

    /// Stops everything that waits on this switch; a later trigger keeps the first reason.
    pub fn trigger(&self, reason: StopReason) {
        let _ = self.inner.reason.set(reason);
        self.inner.token.cancel();
    }

    /// Why it was triggered, once it was.
    pub fn reason(&self) -> Option<StopReason> {
        self.inner.reason.get().cloned()
    }

    /// Resolves when triggered, with the reason.
    pub async fn stopped(&self) -> StopReason {
        self.inner.token.cancelled().await;
        self.reason()
            .unwrap_or(StopReason::Signal("an unknown reason"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_reason_wins_and_waiters_wake() {
        let stop = Stop::new();
        assert_eq!(stop.reason(), None);
        let waiter = {
            let stop = stop.clone();
            tokio::spawn(async move { stop.stopped().await })
        };
        stop.trigger(StopReason::Signal("SIGTERM"));
        stop.trigger(StopReason::Deadline(Duration::from_secs(60)));
        assert_eq!(waiter.await.unwrap(), StopReason::Signal("SIGTERM"));
        assert_eq!(stop.reason(), Some(StopReason::Signal("SIGTERM")));
    }

    #[test]
    fn reasons_read_as_words() {
        assert_eq!(
            StopReason::Signal("SIGTERM").to_string(),
            "cancelled (SIGTERM)"
        );
        assert_eq!(
            StopReason::Deadline(Duration::from_secs(3600)).to_string(),
            "the time limit of 1h ran out"
        );
        assert_eq!(human_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(human_duration(Duration::from_millis(250)), "250ms");
    }
}
