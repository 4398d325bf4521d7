//! Why a tag is not written: the structured reasons behind `TagDecision::Refused`/`Held` and
//! `TagOutcome::Refused`/`Held`. Each `Display` gives the words the dry run, the log and the
//! summary show; the values themselves carry only names and digests.

use crate::registry::{Digest, Repository};
use std::fmt;

/// A release tag that would change: it points at another image already.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub tag: String,
    /// Where the tag points now.
    pub existing: Digest,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "release tags are immutable and `{}` already points at {}; publish a new version, or set `overwrite-releases: true`",
            self.tag, self.existing
        )
    }
}

/// A refusal at one target: `<repository>:<tag>: <why>` in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetRefusal {
    pub repo: Repository,
    pub refusal: Refusal,
}

impl fmt::Display for TargetRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.repo, self.refusal.tag, self.refusal)
    }
}

/// Refusals one per line, as the errors that carry them read.
pub fn refusal_lines(refusals: &[TargetRefusal]) -> String {
    refusals
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Why a rolling tag stays where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hold {
    /// The run's version is a pre-release.
    PreRelease,
    /// The repository's tags could not be listed.
    Unlisted,
    /// `newer`, in the tag's scope, is a newer version (`release`: a full version tag).
    Newer {
        tag: String,
        newer: String,
        release: bool,
    },
    /// Written, read back, and moved on to `newer`, published meanwhile by another run.
    PublishedMeanwhile { newer: String },
}

impl fmt::Display for Hold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Hold::PreRelease => f.write_str("pre-releases never move rolling tags"),
            Hold::Unlisted => f.write_str(
                "the repository's tags could not be listed, so a newer version cannot be ruled out",
            ),
            Hold::Newer {
                tag,
                newer,
                release,
            } => {
                let what = if *release { "release" } else { "version" };
                write!(
                    f,
                    "`{newer}` is a newer {what}, so `{tag}` stays where it is"
                )
            }
            Hold::PublishedMeanwhile { newer } => {
                write!(f, "`{newer}`, a newer version, was published meanwhile")
            }
        }
    }
}
