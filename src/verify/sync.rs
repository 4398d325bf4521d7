//! `sync: true` as a plan: the drifting (tag, registry) pairs of the reports -> one [`Repair`]
//! per primary digest (all its drifting tags, every registry to repair) -> what the publish
//! engine observes for it -> [`plan_sync`] (pure) -> a [`SyncPlan`]: one publish plan per
//! digest, whose `Display` is the dry run, and one [`PlannedStep`] per (tag, registry) in report
//! order. `repair` carries it out, one engine pass per digest. The publish rules hold: a release
//! tag that differs is refused (never overwritten, unless `overwrite-releases`) while the other
//! tags are written, a rolling tag moves only forward.
//!
//! | finding in another registry | step                                                        |
//! |-----------------------------|-------------------------------------------------------------|
//! | `missing`, `different`      | the engine's decision for the tag there                     |
//! | `incomplete`                | copy what the registry lacks of the image (checked one by one) |
//! | `referrers-missing`         | copy the referrers it lacks, register them (fallback index) |
//! | primary `missing`/`incomplete` | skipped: the primary is the source of truth              |

use super::tags::VerifyTag;
use super::{Status, TagReport};
use crate::publish::outcome::Failure;
use crate::publish::plan::{
    BlobStep, Hold, ManifestStep, Options, Plan, Refusal, Refusals, TagDecision, TargetPlan,
};
use crate::publish::run::{Observation, PublishError};
use crate::registry::{Digest, Repository};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// One image to repair from the primary: its digest there, the drifting tags on it, and the
/// registries to repair (`recheck`: those whose copy of it lacks some child).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repair {
    pub digest: Digest,
    pub primary: Repository,
    pub tags: Vec<VerifyTag>,
    pub targets: Vec<Repository>,
    pub recheck: Vec<Repository>,
}

/// The repairs `reports` call for, one per primary digest, in first-seen order.
pub fn repairs(reports: &[TagReport]) -> Vec<Repair> {
    let mut repairs: Vec<Repair> = Vec::new();
    for report in reports {
        let Some(primary) = report.findings.first() else {
            continue;
        };
        let Some(digest) = primary
            .digest
            .as_ref()
            .filter(|_| !primary.status.is_drift())
        else {
            continue;
        };
        for finding in report.findings.iter().skip(1) {
            if !finding.status.is_drift() {
                continue;
            }
            let at = match repairs.iter().position(|r| r.digest == *digest) {
                Some(at) => at,
                None => {
                    repairs.push(Repair {
                        digest: digest.clone(),
                        primary: primary.repo.clone(),
                        tags: Vec::new(),
                        targets: Vec::new(),
                        recheck: Vec::new(),
                    });
                    repairs.len() - 1
                }
            };
            let repair = &mut repairs[at];
            if !repair.tags.contains(&report.tag) {
                repair.tags.push(report.tag.clone());
            }
            if !repair.targets.contains(&finding.repo) {
                repair.targets.push(finding.repo.clone());
            }
            let incomplete = matches!(finding.status, Status::Incomplete { .. });
            if incomplete && !repair.recheck.contains(&finding.repo) {
                repair.recheck.push(finding.repo.clone());
            }
        }
    }
    repairs
}

/// One repair's publish plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImagePlan {
    pub repair: Repair,
    pub plan: Plan,
}

/// What sync does for one (tag, registry) pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepPlan {
    /// The engine's decision for the tag in that registry.
    Tag(TagDecision),
    /// Copy what the registry lacks of the image it holds under the tag.
    Complete {
        manifests: Vec<Digest>,
        blobs: Vec<Digest>,
    },
    /// Copy the referrers the registry lacks (manifests by digest), push legacy tags, and
    /// create or merge fallback indexes (by tag).
    Referrers {
        copy: Vec<Digest>,
        tags: Vec<String>,
        indexes: Vec<String>,
    },
    /// Nothing to copy from: the primary itself is `status` for the tag.
    Skipped { primary: Repository, status: Status },
    /// The image could not be read or observed (the repair's error says why).
    Unobserved,
    /// The engine's plan has no such tag or registry.
    Unplanned,
}

/// One (tag, registry) pair of the plan; `image` indexes [`SyncPlan::images`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedStep {
    pub tag: String,
    pub repo: Repository,
    pub digest: Option<Digest>,
    pub image: Option<usize>,
    pub what: StepPlan,
}

/// Every repair's publish plan and every (tag, registry) step, in report order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncPlan {
    pub images: Vec<ImagePlan>,
    pub steps: Vec<PlannedStep>,
}

/// Plans the repair of every drifting (tag, registry) pair of `reports` from what the engine
/// observed for each repair (`observed`, by primary digest; a digest without one is
/// `Unobserved`). Refusals are per tag: a refused tag does not stop the others.
pub fn plan_sync(
    reports: &[TagReport],
    observed: &BTreeMap<Digest, Observation>,
    options: &Options,
) -> SyncPlan {
    let mut images = Vec::new();
    let mut index: BTreeMap<Digest, Option<usize>> = BTreeMap::new();
    for repair in repairs(reports) {
        let at = observed.get(&repair.digest).map(|observation| {
            let tags: Vec<_> = repair.tags.iter().map(VerifyTag::computed).collect();
            let plan = observation.plan(&tags, options, Refusals::PerTag);
            images.push(ImagePlan {
                repair: repair.clone(),
                plan,
            });
            images.len() - 1
        });
        index.insert(repair.digest, at);
    }
    let mut steps = Vec::new();
    for report in reports {
        let Some(primary) = report.findings.first() else {
            continue;
        };
        for finding in report.findings.iter().skip(1) {
            if !finding.status.is_drift() {
                continue;
            }
            let mut step = PlannedStep {
                tag: report.tag.name.clone(),
                repo: finding.repo.clone(),
                digest: None,
                image: None,
                what: StepPlan::Skipped {
                    primary: primary.repo.clone(),
                    status: primary.status.clone(),
                },
            };
            if let Some(digest) = primary
                .digest
                .as_ref()
                .filter(|_| !primary.status.is_drift())
            {
                step.digest = Some(digest.clone());
                step.image = index.get(digest).copied().flatten();
                step.what = match step.image {
                    None => StepPlan::Unobserved,
                    Some(i) => step_of(&images[i].plan, &step.tag, &finding.repo, &finding.status),
                };
            }
            steps.push(step);
        }
    }
    SyncPlan { images, steps }
}

/// What the engine's `plan` does about `tag` in `repo`, whose finding is `status`.
fn step_of(plan: &Plan, tag: &str, repo: &Repository, status: &Status) -> StepPlan {
    let Some(target) = plan.targets.iter().find(|t| t.repo == *repo) else {
        return StepPlan::Unplanned;
    };
    match status {
        Status::Incomplete { .. } => return complete(target),
        Status::ReferrersMissing { .. } => return referrers(target),
        _ => {}
    }
    match target.tags.iter().find(|t| t.name == tag) {
        Some(t) => StepPlan::Tag(t.decision.clone()),
        None => StepPlan::Unplanned,
    }
}

/// The manifests and blobs `target`'s plan sends of the image.
fn complete(target: &TargetPlan) -> StepPlan {
    StepPlan::Complete {
        manifests: target
            .manifests
            .iter()
            .filter(|(_, step)| *step == ManifestStep::Put)
            .map(|(m, _)| m.digest.clone())
            .collect(),
        blobs: target
            .blobs
            .iter()
            .filter(|(_, step)| *step != BlobStep::Present)
            .map(|(b, _)| b.digest.clone())
            .collect(),
    }
}

/// The referrers `target`'s plan copies and registers.
fn referrers(target: &TargetPlan) -> StepPlan {
    let plan = &target.referrers;
    StepPlan::Referrers {
        copy: plan
            .referrers
            .iter()
            .filter(|r| !r.present)
            .map(|r| r.digest.clone())
            .collect(),
        tags: plan.tags.iter().map(|(tag, _)| tag.clone()).collect(),
        indexes: plan.indexes.iter().map(|i| i.tag.clone()).collect(),
    }
}

/// The dry run: each repair's source, tags and publish plan, then each step skipped.
impl fmt::Display for SyncPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for image in &self.images {
            let tags: Vec<&str> = image.repair.tags.iter().map(|t| t.name.as_str()).collect();
            writeln!(
                f,
                "sync from {}@{} ({})",
                image.repair.primary,
                image.repair.digest,
                tags.join(", ")
            )?;
            write!(f, "{}", image.plan)?;
        }
        for step in &self.steps {
            if let StepPlan::Skipped { primary, status } = &step.what {
                writeln!(
                    f,
                    "skip {} in {}: {status} in the primary {primary}",
                    step.tag, step.repo
                )?;
            }
        }
        Ok(())
    }
}

/// What sync did (or, in a dry run, would do) for one tag in one registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Written: the tag now points at the primary's image (or its missing parts were copied).
    Repaired,
    /// Dry run: the plan's step, not carried out.
    Planned(StepPlan),
    /// The engine kept a rolling tag where it is.
    Held(Hold),
    /// The engine refused: a release tag would change.
    Refused(Refusal),
    /// Tried and failed.
    Failed(SyncFailure),
    /// Not tried: the primary is `status` for the tag, so there is nothing to copy from.
    Skipped { primary: Repository, status: Status },
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::Repaired => "repaired",
            Action::Planned(_) => "planned",
            Action::Held(_) => "held",
            Action::Refused(_) => "refused",
            Action::Failed(_) => "failed",
            Action::Skipped { .. } => "skipped",
        }
    }
}

/// Why a step failed.
#[derive(Debug, Clone)]
pub enum SyncFailure {
    /// Steps of the engine's run that did not complete.
    Steps(Vec<Failure>),
    /// The engine could not read the image or observe a registry.
    Engine(Arc<PublishError>),
    /// The engine planned nothing for this tag or registry.
    Unplanned,
    /// The engine did not write the tag.
    NotWritten,
}

impl PartialEq for SyncFailure {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (SyncFailure::Steps(a), SyncFailure::Steps(b)) => a == b,
            (SyncFailure::Engine(a), SyncFailure::Engine(b)) => Arc::ptr_eq(a, b),
            (SyncFailure::Unplanned, SyncFailure::Unplanned)
            | (SyncFailure::NotWritten, SyncFailure::NotWritten) => true,
            _ => false,
        }
    }
}

impl Eq for SyncFailure {}

/// One repair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub tag: String,
    pub repo: Repository,
    pub digest: Option<Digest>,
    pub action: Action,
}

#[cfg(test)]
#[path = "sync_tests.rs"]
mod tests;
