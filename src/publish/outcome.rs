//! What publishing did: each tag's outcome, and each step that did not complete with whether
//! running again can get past it.

use super::reason::{Hold, Refusal};
use crate::registry::Digest;
use crate::registry::retry::is_retryable_status;
use std::fmt;

/// What happened to one tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagOutcome {
    Pushed,
    /// Pushed over a release tag that pointed at this other digest (`overwrite-releases`).
    Replaced(Digest),
    /// A floating tag pushed that pointed at this other digest before (a promotion).
    Moved(Digest),
    Unchanged,
    /// Pushed, read back, and put again where it belongs (see `rolling::settle`): on the image
    /// of the newer version tag `version` that a concurrent publish wrote, or (`None`) on this
    /// run's image again after a concurrent publish of an older version overwrote it.
    Settled {
        digest: Digest,
        version: Option<String>,
    },
    /// Not moved, by design: a newer version holds this rolling tag.
    Held(Hold),
    /// Not written: a release tag would change.
    Refused(Refusal),
    /// Not written because an earlier step failed.
    Skipped,
}

/// How the log shows an outcome: `pushed`, `held: <why>`, ...
impl fmt::Display for TagOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TagOutcome::Pushed => f.write_str("pushed"),
            TagOutcome::Replaced(was) => write!(f, "pushed, replacing {was} (overwrite-releases)"),
            TagOutcome::Moved(was) => write!(f, "pushed, moved from {was}"),
            TagOutcome::Unchanged => f.write_str("unchanged (already there)"),
            TagOutcome::Settled {
                digest,
                version: Some(version),
            } => write!(
                f,
                "pushed, then moved on to `{version}` ({digest}), a newer version published meanwhile"
            ),
            TagOutcome::Settled { version: None, .. } => f.write_str(
                "pushed, and again after a concurrent publish of an older version overwrote it",
            ),
            TagOutcome::Held(why) => write!(f, "held: {why}"),
            TagOutcome::Refused(why) => write!(f, "refused: {why}"),
            TagOutcome::Skipped => f.write_str("not written: an earlier step failed"),
        }
    }
}

/// The kind of step a [`Failure`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FailedStep {
    Blob,
    Manifest,
    Tag,
}

impl fmt::Display for FailedStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FailedStep::Blob => "blob",
            FailedStep::Manifest => "manifest",
            FailedStep::Tag => "tag",
        })
    }
}

/// One step that did not complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What failed, as shown: `image: blob upload: <error>`.
    pub message: String,
    pub step: FailedStep,
    /// Running again can get past it: no answer (connection refused or reset, timeout, a
    /// registry that stopped responding, a run stopped early), or a
    /// 408, 429 or 5xx that outlasted the retries. Not a 4xx refusal, a digest mismatch, a
    /// corrupt source or a configuration error: those stay until something else changes.
    pub transient: bool,
}

impl Failure {
    pub(crate) fn new(step: FailedStep, message: String, error: &crate::registry::Error) -> Self {
        Failure {
            message,
            step,
            transient: is_transient(error),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Whether running again can get past `error` (see [`Failure::transient`]).
pub fn is_transient(error: &crate::registry::Error) -> bool {
    use crate::registry::Error;
    use std::io::ErrorKind;
    match error {
        Error::Status { status, .. } => is_retryable_status(*status),
        // A registry that stopped responding may answer again; a run stopped by a signal or its
        // time limit left the rest for the next run.
        Error::Stalled { .. } | Error::Stopped(_) => true,
        Error::Transport { source, .. } => crate::registry::error::is_transient_transport(source),
        // A body stream cut short (a registry source's download) is temporary; bytes that do not
        // match their digest, or a local file that cannot be read, are not.
        Error::Io(e) => !matches!(
            e.kind(),
            ErrorKind::InvalidData
                | ErrorKind::NotFound
                | ErrorKind::PermissionDenied
                | ErrorKind::InvalidInput
                | ErrorKind::Unsupported
        ),
        Error::InvalidReference { .. }
        | Error::InvalidDigest { .. }
        | Error::DigestMismatch { .. }
        | Error::SizeMismatch { .. }
        | Error::Auth { .. }
        | Error::Unauthorized { .. }
        | Error::Protocol { .. }
        | Error::Config(_) => false,
    }
}

/// Each distinct failure once, in first-seen order, with how many steps it stopped when more
/// than one: six blob uploads answered `405` are one line, `... HTTP 405 (6 blobs)`.
pub fn failure_lines<'a>(failures: impl IntoIterator<Item = &'a Failure>) -> Vec<String> {
    let mut seen: Vec<(&Failure, usize)> = Vec::new();
    for failure in failures {
        match seen
            .iter_mut()
            .find(|(f, _)| f.message == failure.message && f.step == failure.step)
        {
            Some((_, count)) => *count += 1,
            None => seen.push((failure, 1)),
        }
    }
    seen.into_iter()
        .map(|(failure, count)| match count {
            1 => failure.message.clone(),
            n => format!("{} ({n} {}s)", failure.message, failure.step),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_outcomes_read_as_words() {
        let held = TagOutcome::Held(Hold::Newer {
            tag: "v0".into(),
            newer: "v0.2.0".into(),
            release: true,
        });
        assert_eq!(
            held.to_string(),
            "held: `v0.2.0` is a newer release, so `v0` stays where it is"
        );
        assert_eq!(TagOutcome::Pushed.to_string(), "pushed");
        assert_eq!(
            TagOutcome::Unchanged.to_string(),
            "unchanged (already there)"
        );
        let refusal = Refusal {
            tag: "v1.0.0".into(),
            existing: Digest::sha256(b"a"),
        };
        assert_eq!(
            TagOutcome::Refused(refusal.clone()).to_string(),
            format!("refused: {refusal}")
        );
        assert_eq!(
            refusal.to_string(),
            format!(
                "release tags are immutable and `v1.0.0` already points at {}; publish a new version, or set `overwrite-releases: true`",
                Digest::sha256(b"a")
            )
        );
        assert_eq!(
            TagOutcome::Skipped.to_string(),
            "not written: an earlier step failed"
        );
    }

    #[test]
    fn only_failures_a_rerun_can_fix_are_transient() {
        use crate::registry::Error;
        use std::io::ErrorKind;
        let status = |status| Error::Status {
            status,
            method: "POST".into(),
            url: "http://r/v2/a/blobs/uploads/".into(),
            code: None,
            message: None,
            hint: None,
        };
        for s in [408, 429, 500, 502, 503] {
            assert!(is_transient(&status(s)), "{s}");
        }
        for s in [400, 401, 403, 404, 405] {
            assert!(!is_transient(&status(s)), "{s}");
        }
        let io = |kind| Error::Io(std::io::Error::new(kind, "x"));
        assert!(is_transient(&io(ErrorKind::ConnectionReset)));
        assert!(is_transient(&io(ErrorKind::Other)));
        assert!(
            !is_transient(&io(ErrorKind::InvalidData)),
            "a corrupt source"
        );
        assert!(!is_transient(&io(ErrorKind::NotFound)));
        let digest = Digest::sha256(b"a");
        assert!(!is_transient(&Error::DigestMismatch {
            expected: digest.clone(),
            actual: Digest::sha256(b"b"),
        }));
        assert!(!is_transient(&Error::Config("x".into())));
    }
}
