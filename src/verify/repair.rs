//! The I/O of `sync: true`: [`gather`] runs the publish engine's read-only half once per repair
//! (one source open, one authorization, every target observed), [`planned`] reads a dry run's
//! steps off the [`SyncPlan`], and [`execute`] runs the engine once per repair and reads each
//! (tag, registry) step's action off its report.

use super::sync::{Action, PlannedStep, Step, StepPlan, SyncFailure, SyncPlan, repairs};
use super::{TagReport, tags::VerifyTag};
use crate::publish::execute::{Report, TagOutcome};
use crate::publish::plan::{Hold, Options, Refusals, TagDecision};
use crate::publish::run::{Gathered, Observation, PublishError, Request, gather as gather_one};
use crate::registry::{Client, Digest, Reference};
use crate::source::SourceSpec;
use std::collections::BTreeMap;
use std::sync::Arc;

/// What the engine read for each repair, by primary digest, or why it could not.
pub struct Gathering {
    pub gathered: BTreeMap<Digest, Result<Gathered, Arc<PublishError>>>,
}

impl Gathering {
    /// The planner's input: each repair that could be observed.
    pub fn observations(&self) -> BTreeMap<Digest, Observation> {
        self.gathered
            .iter()
            .filter_map(|(d, g)| Some((d.clone(), g.as_ref().ok()?.observation.clone())))
            .collect()
    }

    fn error(&self, digest: Option<&Digest>) -> SyncFailure {
        match digest.and_then(|d| self.gathered.get(d)) {
            Some(Err(error)) => SyncFailure::Engine(error.clone()),
            _ => SyncFailure::Unplanned,
        }
    }
}

/// Observes every repair `reports` call for (read only), one engine gather per primary digest.
/// `referrers`: the image's referrers are found and compared too.
pub async fn gather(
    client: &Client,
    reports: &[TagReport],
    referrers: Option<&[String]>,
) -> Gathering {
    let mut gathered = BTreeMap::new();
    for repair in repairs(reports) {
        let source = SourceSpec::Registry(
            repair
                .primary
                .with(Reference::Digest(repair.digest.clone())),
        );
        let tags: Vec<_> = repair.tags.iter().map(VerifyTag::computed).collect();
        let request = Request {
            source: &source,
            targets: &repair.targets,
            tags: &tags,
            options: Options::default(),
            referrers: referrers.is_some(),
            referrer_types: referrers.unwrap_or_default(),
            recheck: &repair.recheck,
            refusals: Refusals::PerTag,
            dry_run: false,
        };
        let result = gather_one(client, &request).await.map_err(Arc::new);
        gathered.insert(repair.digest, result);
    }
    Gathering { gathered }
}

/// A dry run's steps: what the plan would do for each (tag, registry).
pub fn planned(plan: &SyncPlan, gathering: &Gathering) -> Vec<Step> {
    plan.steps
        .iter()
        .map(|step| {
            let action = match &step.what {
                StepPlan::Skipped { primary, status } => Action::Skipped {
                    primary: primary.clone(),
                    status: status.clone(),
                },
                StepPlan::Tag(TagDecision::Held(why)) => Action::Held(why.clone()),
                StepPlan::Tag(TagDecision::Refused(why)) => Action::Refused(why.clone()),
                StepPlan::Unobserved | StepPlan::Unplanned => {
                    Action::Failed(gathering.error(step.digest.as_ref()))
                }
                what => Action::Planned(what.clone()),
            };
            done(step, action)
        })
        .collect()
}

/// Runs each repair's publish plan (one engine pass per digest) and reads every step's action
/// off its report.
pub async fn execute(client: &Client, plan: &SyncPlan, gathering: &Gathering) -> Vec<Step> {
    // `None`: the image was not gathered (every planned image is).
    let mut reports: Vec<Option<Result<Report, Arc<PublishError>>>> = Vec::new();
    for image in &plan.images {
        let report = match gathering.gathered.get(&image.repair.digest) {
            Some(Ok(gathered)) => Some(
                gathered
                    .execute(client, &image.plan)
                    .await
                    .map_err(Arc::new),
            ),
            Some(Err(error)) => Some(Err(error.clone())),
            None => None,
        };
        reports.push(report);
    }
    plan.steps
        .iter()
        .map(|step| {
            let action = match (&step.what, step.image.map(|i| &reports[i])) {
                (StepPlan::Skipped { primary, status }, _) => Action::Skipped {
                    primary: primary.clone(),
                    status: status.clone(),
                },
                (_, None | Some(None)) => Action::Failed(gathering.error(step.digest.as_ref())),
                (_, Some(Some(Err(error)))) => Action::Failed(SyncFailure::Engine(error.clone())),
                (what, Some(Some(Ok(report)))) => action_of(step, what, report),
            };
            done(step, action)
        })
        .collect()
}

/// What the engine's `report` says of `step`.
fn action_of(step: &PlannedStep, what: &StepPlan, report: &Report) -> Action {
    let failed = || match report.failures.is_empty() {
        true => SyncFailure::NotWritten,
        false => SyncFailure::Steps(report.failures.clone()),
    };
    if let StepPlan::Complete { .. } | StepPlan::Referrers { .. } | StepPlan::Unplanned = what {
        return match (what, report.failures.is_empty()) {
            (StepPlan::Unplanned, _) => Action::Failed(SyncFailure::Unplanned),
            (_, true) => Action::Repaired,
            _ => Action::Failed(failed()),
        };
    }
    let outcome = report
        .targets
        .iter()
        .find(|t| t.repo == step.repo)
        .and_then(|t| t.tags.iter().find(|(name, _, _)| *name == step.tag))
        .map(|(_, _, outcome)| outcome);
    match outcome {
        Some(
            TagOutcome::Pushed
            | TagOutcome::Replaced(_)
            | TagOutcome::Moved(_)
            | TagOutcome::Unchanged
            | TagOutcome::Settled { version: None, .. },
        ) => Action::Repaired,
        Some(TagOutcome::Settled {
            version: Some(newer),
            ..
        }) => Action::Held(Hold::PublishedMeanwhile {
            newer: newer.clone(),
        }),
        Some(TagOutcome::Held(why)) => Action::Held(why.clone()),
        Some(TagOutcome::Refused(why)) => Action::Refused(why.clone()),
        Some(TagOutcome::Skipped) | None => Action::Failed(failed()),
    }
}

fn done(step: &PlannedStep, action: Action) -> Step {
    Step {
        tag: step.tag.clone(),
        repo: step.repo.clone(),
        digest: step.digest.clone(),
        action,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::TagKind;
    use crate::publish::execute::TargetReport;
    use crate::publish::outcome::{FailedStep, Failure};
    use crate::registry::Repository;

    fn repo() -> Repository {
        Repository::parse("127.0.0.1:5000/b").unwrap()
    }

    fn step(what: StepPlan) -> PlannedStep {
        PlannedStep {
            tag: "latest".into(),
            repo: repo(),
            digest: Some(Digest::sha256(b"image")),
            image: Some(0),
            what,
        }
    }

    fn report(outcome: Option<TagOutcome>, failures: Vec<Failure>) -> Report {
        Report {
            digest: Digest::sha256(b"image"),
            media_type: "application/vnd.oci.image.index.v1+json".into(),
            platforms: Vec::new(),
            targets: vec![TargetReport {
                repo: repo(),
                uploaded_blobs: 0,
                uploaded_bytes: 0,
                mounted_blobs: 0,
                present_blobs: 0,
                manifests_put: 0,
                tags: outcome
                    .into_iter()
                    .map(|o| ("latest".to_string(), TagKind::Rolling, o))
                    .collect(),
                image_present: true,
                referrers: Default::default(),
            }],
            failures,
            stopped: None,
        }
    }

    fn failure() -> Failure {
        Failure {
            message: "127.0.0.1:5000/b: blob upload: HTTP 500".into(),
            step: FailedStep::Blob,
            transient: true,
        }
    }

    #[test]
    fn each_tag_outcome_reads_as_its_action() {
        let push = StepPlan::Tag(TagDecision::Push);
        let act =
            |outcome, failures| action_of(&step(push.clone()), &push, &report(outcome, failures));
        assert_eq!(act(Some(TagOutcome::Pushed), vec![]), Action::Repaired);
        assert_eq!(act(Some(TagOutcome::Unchanged), vec![]), Action::Repaired);
        let newer = TagOutcome::Settled {
            digest: Digest::sha256(b"newer"),
            version: Some("v2.0.0".into()),
        };
        assert_eq!(
            act(Some(newer), vec![]),
            Action::Held(Hold::PublishedMeanwhile {
                newer: "v2.0.0".into()
            })
        );
        assert_eq!(
            act(Some(TagOutcome::Skipped), vec![failure()]),
            Action::Failed(SyncFailure::Steps(vec![failure()]))
        );
        assert_eq!(act(None, vec![]), Action::Failed(SyncFailure::NotWritten));
    }

    #[test]
    fn copying_parts_or_referrers_is_repaired_only_without_failures() {
        let complete = StepPlan::Complete {
            manifests: vec![Digest::sha256(b"child")],
            blobs: Vec::new(),
        };
        let s = step(complete.clone());
        assert_eq!(
            action_of(&s, &complete, &report(None, vec![])),
            Action::Repaired
        );
        assert_eq!(
            action_of(&s, &complete, &report(None, vec![failure()])),
            Action::Failed(SyncFailure::Steps(vec![failure()]))
        );
    }

    #[test]
    fn a_dry_run_reads_the_plan_and_names_an_image_it_could_not_read() {
        let error = Arc::new(PublishError::NoImages);
        let digest = Digest::sha256(b"image");
        let gathering = Gathering {
            gathered: BTreeMap::from([(digest.clone(), Err(error.clone()))]),
        };
        let mut unobserved = step(StepPlan::Unobserved);
        unobserved.image = None;
        let held = Hold::Unlisted;
        let plan = SyncPlan {
            images: Vec::new(),
            steps: vec![
                unobserved,
                step(StepPlan::Tag(TagDecision::Held(held.clone()))),
                step(StepPlan::Tag(TagDecision::Push)),
            ],
        };
        let actions: Vec<Action> = planned(&plan, &gathering)
            .into_iter()
            .map(|s| s.action)
            .collect();
        assert_eq!(
            actions,
            [
                Action::Failed(SyncFailure::Engine(error)),
                Action::Held(held),
                Action::Planned(StepPlan::Tag(TagDecision::Push)),
            ]
        );
    }
}
