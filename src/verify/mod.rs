//! Verify: do the registries in `images` agree? Observed tag states (gathered by `gather`: HEAD
//! requests, one GET per index of the primary, and per subject at most one GET of its fallback
//! index for the referrers) -> [`compare`] (pure) -> findings per tag x registry -> optional
//! repair by the publish engine (`sync` plans, `repair` carries out) -> report. `check` gathers
//! and assesses; the app sequences it.
//!
//! | primary          | other registry                       | status       |
//! |------------------|--------------------------------------|--------------|
//! | has `D`          | has `D`, every child of `D` there     | `in-sync`    |
//! | has `D`          | has `D`, a child manifest of `D` gone | `incomplete` |
//! | has `D`, referrer `R` of `D` or a child | has `D` whole, not `R` for that subject | `referrers-missing` |
//! | has `D`          | has `E`                               | `different`  |
//! | has `D`          | no such tag                           | `missing`    |
//! | no such tag      | no such tag                           | `missing`    |
//! | no such tag      | has `E`                               | `different`  |
//!
//! The primary itself is `missing` when it lacks the tag and `incomplete` when its own index
//! lacks a child: both are drift too, and neither can be repaired from the primary. A tag that
//! every registry lacks is [`TagReport::missing_everywhere`]: not a copy gone astray but a tag
//! that does not exist (a typo in `verify-tags`, or not published yet), reported as such.

pub mod check;
pub mod error;
pub mod gather;
pub mod referrers;
pub mod repair;
pub mod sync;
pub mod tags;
pub mod verdict;

pub use error::VerifyError;

use crate::registry::{Digest, Repository};
use std::collections::BTreeMap;
use std::fmt;

/// What one repository holds under one tag, as observed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagState {
    /// The manifest or index the tag points at; `None`: no such tag.
    pub digest: Option<Digest>,
    /// The child manifests checked (HEAD by digest) under the primary's index, and whether each
    /// is there. In the primary, the keys are every child its index lists (nested ones too).
    pub children: BTreeMap<Digest, bool>,
    /// The referrers listed for the image and each child (by subject), each (subject, digest)
    /// once, in order; read where the tag points at the primary's image.
    pub referrers: Vec<Referrer>,
}

/// A referrer one registry lists for one subject (the image or one of its children).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referrer {
    pub subject: Digest,
    pub digest: Digest,
    /// The `artifactType` its fallback index entry gives (registry-supplied: untrusted).
    pub artifact_type: Option<String>,
    /// The legacy cosign tag that carries it, when it came from one.
    pub tag: Option<String>,
}

impl Referrer {
    fn same(&self, other: &Referrer) -> bool {
        self.subject == other.subject && self.digest == other.digest
    }
}

/// How one registry's tag compares with the primary's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    InSync,
    /// The tag is absent.
    Missing,
    /// The tag points at another digest.
    Different,
    /// The index is there but these child manifests are not.
    Incomplete {
        missing: Vec<Digest>,
    },
    /// The image is there whole but these referrers of it (or of a child) are not.
    ReferrersMissing {
        missing: Vec<Referrer>,
    },
}

impl Status {
    pub fn is_drift(&self) -> bool {
        *self != Status::InSync
    }

    /// The report's name for it.
    pub fn name(&self) -> &'static str {
        match self {
            Status::InSync => "in-sync",
            Status::Missing => "missing",
            Status::Different => "different",
            Status::Incomplete { .. } => "incomplete",
            Status::ReferrersMissing { .. } => "referrers-missing",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One registry's verdict for one tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub repo: Repository,
    pub digest: Option<Digest>,
    pub status: Status,
}

/// The primary's own status: `missing` without the tag, `incomplete` when its index lacks a child.
pub fn primary_status(primary: &TagState) -> Status {
    if primary.digest.is_none() {
        return Status::Missing;
    }
    let missing: Vec<Digest> = primary
        .children
        .iter()
        .filter(|(_, present)| !**present)
        .map(|(d, _)| d.clone())
        .collect();
    if missing.is_empty() {
        Status::InSync
    } else {
        Status::Incomplete { missing }
    }
}

/// Compares each other registry's state of one tag with the primary's (see the module table).
/// One finding per entry of `others`, in order. A child the primary lists that was not checked
/// in the other registry counts as missing (fail closed).
pub fn compare(primary: &TagState, others: &[(Repository, TagState)]) -> Vec<Finding> {
    others
        .iter()
        .map(|(repo, state)| {
            let status = match (&primary.digest, &state.digest) {
                (None, None) => Status::Missing,
                (None, Some(_)) => Status::Different,
                (Some(_), None) => Status::Missing,
                (Some(p), Some(o)) if p != o => Status::Different,
                (Some(_), Some(_)) => {
                    let missing: Vec<Digest> = primary
                        .children
                        .keys()
                        .filter(|child| state.children.get(*child) != Some(&true))
                        .cloned()
                        .collect();
                    if missing.is_empty() {
                        referrers_status(primary, state)
                    } else {
                        Status::Incomplete { missing }
                    }
                }
            };
            Finding {
                repo: repo.clone(),
                digest: state.digest.clone(),
                status,
            }
        })
        .collect()
}

/// `in-sync` when `other` lists every referrer the primary lists, for the same subject; else
/// `referrers-missing` with those it lacks.
fn referrers_status(primary: &TagState, other: &TagState) -> Status {
    let missing: Vec<Referrer> = primary
        .referrers
        .iter()
        .filter(|r| !other.referrers.iter().any(|o| o.same(r)))
        .cloned()
        .collect();
    if missing.is_empty() {
        Status::InSync
    } else {
        Status::ReferrersMissing { missing }
    }
}

/// Every registry's verdict on one tag: the primary first, then the others in `images` order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagReport {
    pub tag: tags::VerifyTag,
    pub findings: Vec<Finding>,
}

impl TagReport {
    pub fn drift(&self) -> bool {
        self.findings.iter().any(|f| f.status.is_drift())
    }

    /// Whether no registry has the tag at all (every finding `missing`).
    pub fn missing_everywhere(&self) -> bool {
        !self.findings.is_empty() && self.findings.iter().all(|f| f.status == Status::Missing)
    }
}

/// Builds a tag's report from the primary's state and the others'.
pub fn assess(
    tag: tags::VerifyTag,
    primary: (&Repository, &TagState),
    others: &[(Repository, TagState)],
) -> TagReport {
    let mut findings = vec![Finding {
        repo: primary.0.clone(),
        digest: primary.1.digest.clone(),
        status: primary_status(primary.1),
    }];
    findings.extend(compare(primary.1, others));
    TagReport { tag, findings }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
#[path = "referrers_tests.rs"]
mod referrer_tests;
