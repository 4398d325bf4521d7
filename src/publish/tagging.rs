//! The tag phases of a publish: release and floating tags, then rolling tags, each phase on
//! every target at once and none after a failure; then each rolling tag pushed for a version is
//! read back and settled on the newest version ([`rolling::settle`]), which repairs a race with a
//! concurrent publish.

use super::execute::{CONCURRENCY, SourceContent, TargetReport};
use super::observe::read_back;
use super::outcome::{FailedStep, Failure, TagOutcome};
use super::plan::{Plan, TagDecision, TargetPlan};
use super::rolling::{self, Settle};
use crate::meta::TagKind;
use crate::registry::{Client, Digest, Reference, Repository};
use futures_util::stream::{self, StreamExt};

/// How many times a rolling tag is read back and, when it is not where it belongs, put again.
/// Runs that read the same tags agree where it belongs, so more than two rounds means that
/// publishes keep arriving; the last of them settles it.
const SETTLE_ROUNDS: usize = 5;

/// Tags in two phases: release and floating tags (`v1.2.3`, `main-<sha>`), then rolling tags
/// (`latest`, `v1`), every target and tag of a phase at once; rolling tags start once the
/// others are done, and after any failure no further tag moves.
pub(super) async fn put_tags(
    client: &Client,
    plan: &Plan,
    source: &SourceContent<'_>,
    reports: &mut [TargetReport],
    failures: &mut Vec<Failure>,
) {
    for phase in [
        &[TagKind::Release, TagKind::Floating][..],
        &[TagKind::Rolling][..],
    ] {
        let failed_before = !failures.is_empty();
        let tags: Vec<(usize, &super::plan::TagPlan)> = plan
            .targets
            .iter()
            .enumerate()
            .flat_map(|(i, t)| {
                t.tags
                    .iter()
                    .filter(|t| phase.contains(&t.kind))
                    .map(move |t| (i, t))
            })
            .collect();
        let outcomes: Vec<(TagOutcome, Option<Failure>)> = stream::iter(&tags)
            .map(|&(i, tag)| async move {
                let target = &plan.targets[i];
                match &tag.decision {
                    TagDecision::Unchanged => (TagOutcome::Unchanged, None),
                    TagDecision::Held(why) => (TagOutcome::Held(why.clone()), None),
                    TagDecision::Refused(why) => (TagOutcome::Refused(why.clone()), None),
                    TagDecision::Push | TagDecision::Replace(_) | TagDecision::Move(_)
                        if failed_before =>
                    {
                        (TagOutcome::Skipped, None)
                    }
                    TagDecision::Push | TagDecision::Replace(_) | TagDecision::Move(_) => {
                        let reference = Reference::Tag(tag.name.clone());
                        match put(client, &target.repo, reference, &plan.root.digest, source).await
                        {
                            Ok(()) => match &tag.decision {
                                TagDecision::Replace(was) => {
                                    (TagOutcome::Replaced(was.clone()), None)
                                }
                                TagDecision::Move(was) => (TagOutcome::Moved(was.clone()), None),
                                _ => (TagOutcome::Pushed, None),
                            },
                            Err(e) => {
                                let message = format!("{}:{}: {e}", target.repo, tag.name);
                                let failure = Failure::new(FailedStep::Tag, message, &e);
                                (TagOutcome::Skipped, Some(failure))
                            }
                        }
                    }
                }
            })
            .buffered(CONCURRENCY)
            .collect()
            .await;
        for (&(i, tag), (outcome, failure)) in tags.iter().zip(outcomes) {
            failures.extend(failure);
            // A tag written is a manifest PUT (of the root, under the tag's name).
            if matches!(
                outcome,
                TagOutcome::Pushed | TagOutcome::Replaced(_) | TagOutcome::Moved(_)
            ) {
                reports[i].manifests_put += 1;
            }
            reports[i].tags.push((tag.name.clone(), tag.kind, outcome));
        }
    }
}

/// Each rolling tag this run pushed for a version is read back and settled on the newest
/// version's image: a concurrent publish may have written it meanwhile (see `rolling`).
pub(super) async fn settle_rolling(
    client: &Client,
    plan: &Plan,
    source: &SourceContent<'_>,
    reports: &mut [TargetReport],
    failures: &mut Vec<Failure>,
) {
    let pushed: Vec<(usize, usize, &super::plan::TagPlan, &str)> = reports
        .iter()
        .enumerate()
        .flat_map(|(i, report)| {
            report
                .tags
                .iter()
                .enumerate()
                .filter(|(_, (_, kind, outcome))| {
                    *kind == TagKind::Rolling && *outcome == TagOutcome::Pushed
                })
                .map(move |(j, (name, _, _))| (i, j, name))
        })
        .filter_map(|(i, j, name)| {
            let tag = plan.targets[i].tags.iter().find(|t| t.name == *name)?;
            Some((i, j, tag, tag.version.as_deref()?))
        })
        .collect();
    let settled: Vec<_> = stream::iter(&pushed)
        .map(|&(i, _, tag, version)| settle(client, plan, &plan.targets[i], tag, version, source))
        .buffered(CONCURRENCY)
        .collect()
        .await;
    for (&(i, j, tag, _), result) in pushed.iter().zip(settled) {
        match result {
            Ok(Some((digest, version))) => {
                reports[i].tags[j].2 = TagOutcome::Settled { digest, version };
            }
            Ok(None) => {}
            Err(e) => {
                let message = format!(
                    "{}:{}: reading it back after the push: {e}",
                    plan.targets[i].repo, tag.name
                );
                failures.push(Failure::new(FailedStep::Tag, message, &e));
            }
        }
    }
}

/// Reads rolling tag `tag` back and puts it where [`rolling::settle`] says it belongs, until it
/// is there. Returns where it was last put, if it was put again.
async fn settle(
    client: &Client,
    plan: &Plan,
    target: &TargetPlan,
    tag: &super::plan::TagPlan,
    version: &str,
    source: &SourceContent<'_>,
) -> crate::registry::Result<Option<(Digest, Option<String>)>> {
    let mut moved = None;
    for _ in 0..SETTLE_ROUNDS {
        let now = read_back(client, &target.repo, &tag.name, version, &plan.forms).await?;
        match rolling::settle(&tag.name, version, &plan.root.digest, &plan.forms, &now) {
            Settle::Settled => return Ok(moved),
            Settle::Move { digest, version } => {
                let reference = Reference::Tag(tag.name.clone());
                if digest == plan.root.digest {
                    put(client, &target.repo, reference, &digest, source).await?;
                } else {
                    // Another run's image, already in this repository: its bytes, under our tag.
                    let there = target.repo.with(Reference::Digest(digest.clone()));
                    let manifest = client.get_manifest_raw(&there).await?;
                    let image = target.repo.with(reference);
                    client
                        .put_manifest_raw(&image, manifest.bytes, &manifest.media_type)
                        .await?;
                }
                tracing::info!(tag = %tag.name, %digest, "rolling tag settled after a concurrent publish");
                moved = Some((digest, version));
            }
        }
    }
    Ok(moved)
}

pub(super) async fn put(
    client: &Client,
    repo: &Repository,
    reference: Reference,
    digest: &Digest,
    source: &SourceContent<'_>,
) -> crate::registry::Result<()> {
    let Some((bytes, media_type)) = source.manifests.get(digest) else {
        return Err(crate::registry::Error::Config(format!(
            "manifest {digest} was not read from the source"
        )));
    };
    client
        .put_manifest_raw(&repo.with(reference), bytes.clone(), media_type)
        .await
        .map(|_| ())
}
