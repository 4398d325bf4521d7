//! Carries a `Plan` out, the only place publishing writes. Order, across all targets: blobs
//! (uploads, then mounts that may need them), child manifests, then tags: release and floating,
//! then rolling, each phase done on every target before the next starts (work within a phase runs
//! concurrently). A failure before the tags stops the run with no tag moved, so `latest` never
//! points at a half-published image; running again completes the job (present content is skipped)
//! when what stopped it was temporary ([`Failure::transient`]). Each rolling tag pushed is then
//! read back and settled on the newest version ([`rolling::settle`]), which repairs a race with
//! a concurrent publish.

use super::observe::read_back;
pub use super::outcome::{FailedStep, Failure, TagOutcome};
use super::plan::{BlobStep, Descriptor, ManifestStep, Plan, TagDecision, TargetPlan};
use super::rolling::{self, Settle};
use crate::meta::TagKind;
use crate::oci::media::is_index;
use crate::registry::{BlobSource, Client, Digest, Mount, Reference, Repository, StopReason};
use bytes::Bytes;
use futures_util::stream::{self, StreamExt};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Uploads in flight at once, across targets (each registry also limits per host).
const CONCURRENCY: usize = 8;

/// What the executor reads from the source: manifest bytes by digest and re-openable blobs.
pub struct SourceContent<'a> {
    pub manifests: &'a BTreeMap<Digest, (Bytes, String)>,
    pub blob: &'a (dyn Fn(&Descriptor) -> Arc<dyn BlobSource> + Sync),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetReport {
    pub repo: Repository,
    pub uploaded_blobs: usize,
    pub uploaded_bytes: u64,
    pub mounted_blobs: usize,
    pub present_blobs: usize,
    /// Manifest PUTs that wrote: child manifests, inner indexes, the root by digest, and one
    /// per tag written.
    pub manifests_put: usize,
    pub tags: Vec<(String, TagKind, TagOutcome)>,
    /// The repository held the image already: no blob or manifest was looked at or sent.
    pub image_present: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub digest: Digest,
    pub media_type: String,
    pub platforms: Vec<String>,
    pub targets: Vec<TargetReport>,
    /// The steps that did not complete (`image: what failed`, its kind of step, whether a re-run
    /// can get past it); empty when everything was published.
    pub failures: Vec<Failure>,
    /// Why the run was stopped before it completed (a signal, the time limit), when it was.
    pub stopped: Option<StopReason>,
}

/// Runs the plan. Returns a report in every case; `failures` says what did not complete. A
/// stopped run (see [`crate::registry::Stop`]) fails every step still running or to come at once,
/// so it ends like a failed one: no tag moves past it.
pub async fn execute(client: &Client, plan: &Plan, source: &SourceContent<'_>) -> Report {
    let mut reports: Vec<TargetReport> = plan.targets.iter().map(empty_report).collect();
    let mut failures = Vec::new();
    send_blobs(client, plan, source, &mut reports, &mut failures).await;
    if failures.is_empty() {
        put_manifests(client, plan, source, &mut reports, &mut failures).await;
    }
    put_tags(client, plan, source, &mut reports, &mut failures).await;
    settle_rolling(client, plan, source, &mut reports, &mut failures).await;
    Report {
        digest: plan.root.digest.clone(),
        media_type: plan.root.media_type.clone(),
        platforms: plan.platforms.clone(),
        // A stop that came after the last step changed nothing.
        stopped: client.stop().reason().filter(|_| !failures.is_empty()),
        targets: reports,
        failures,
    }
}

/// Blobs to every target: uploads first, then mounts (which may need an upload's blob).
async fn send_blobs(
    client: &Client,
    plan: &Plan,
    source: &SourceContent<'_>,
    reports: &mut [TargetReport],
    failures: &mut Vec<Failure>,
) {
    let uploads = jobs(plan, |step| matches!(step, BlobStep::Upload));
    let mounts = jobs(plan, |step| matches!(step, BlobStep::Mount { .. }));
    for (phase, is_mount) in [(uploads, false), (mounts, true)] {
        let results: Vec<_> = stream::iter(phase)
            .map(|(i, blob, step)| async move {
                let target = &plan.targets[i];
                let outcome = send_blob(client, &target.repo, blob, step, source).await;
                (i, blob.size, outcome)
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        for (i, size, outcome) in results {
            match outcome {
                Ok(mounted) => {
                    let r = &mut reports[i];
                    if mounted {
                        r.mounted_blobs += 1;
                    } else {
                        r.uploaded_blobs += 1;
                        r.uploaded_bytes += size;
                    }
                }
                Err(e) => failures.push(Failure::new(
                    FailedStep::Blob,
                    format!(
                        "{}: blob {}: {e}",
                        plan.targets[i].repo,
                        if is_mount { "mount" } else { "upload" }
                    ),
                    &e,
                )),
            }
        }
    }
}

/// Each target's child manifests in order (a nested index after what it lists), the targets
/// side by side.
async fn put_manifests(
    client: &Client,
    plan: &Plan,
    source: &SourceContent<'_>,
    reports: &mut [TargetReport],
    failures: &mut Vec<Failure>,
) {
    // Each target's child manifests in order (a nested index after what it lists), the
    // targets side by side.
    let per_target = plan.targets.iter().map(|target| async move {
        // Image manifests list only blobs, all in by now: they go at once. Indexes follow
        // one by one in the graph's order, each after what it lists; the root last.
        let (images, indexes): (Vec<&Digest>, Vec<&Digest>) = target
            .manifests
            .iter()
            .filter(|(_, step)| *step == ManifestStep::Put)
            .map(|(m, _)| &m.digest)
            .partition(|d| !source.manifests.get(*d).is_some_and(|(_, t)| is_index(t)));
        let put_one = |digest: &Digest| {
            let reference = Reference::Digest(digest.clone());
            let digest = digest.clone();
            async move {
                put(client, &target.repo, reference, &digest, source)
                    .await
                    .map_err(|e| {
                        let message = format!("{}: manifest {digest}: {e}", target.repo);
                        Failure::new(FailedStep::Manifest, message, &e)
                    })
            }
        };
        let results = futures_util::future::join_all(images.into_iter().map(put_one)).await;
        let mut put_count = results.iter().filter(|r| r.is_ok()).count();
        let mut errors: Vec<Failure> = results.into_iter().filter_map(Result::err).collect();
        let root = target.root_by_digest.then_some(&plan.root.digest);
        for digest in indexes.into_iter().chain(root) {
            if !errors.is_empty() {
                break;
            }
            match put_one(digest).await {
                Ok(()) => put_count += 1,
                Err(e) => errors.push(e),
            }
        }
        (put_count, errors)
    });
    let done = futures_util::future::join_all(per_target).await;
    for (report, (put_count, errors)) in reports.iter_mut().zip(done) {
        report.manifests_put += put_count;
        failures.extend(errors);
    }
}

/// Tags in two phases: release and floating tags (`v1.2.3`, `main-<sha>`), then rolling tags
/// (`latest`, `v1`), every target and tag of a phase at once; rolling tags start once the
/// others are done, and after any failure no further tag moves.
async fn put_tags(
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
async fn settle_rolling(
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

fn empty_report(target: &TargetPlan) -> TargetReport {
    TargetReport {
        repo: target.repo.clone(),
        uploaded_blobs: 0,
        uploaded_bytes: 0,
        mounted_blobs: 0,
        present_blobs: target
            .blobs
            .iter()
            .filter(|(_, s)| *s == BlobStep::Present)
            .count(),
        manifests_put: 0,
        tags: Vec::new(),
        image_present: target.image_present,
    }
}

/// Blobs up to this size cost round trips, not bandwidth.
const SMALL_BLOB: u64 = 1024 * 1024;

/// The blob steps `select` picks, ordered so every target's registry works from the start:
/// small blobs (configs, small layers) first, whose round trips then overlap the large uploads
/// instead of trailing after them; then largest first (the longest uploads do not end up last);
/// each blob to every target in turn (not all of one target's blobs before the next target's).
fn jobs(plan: &Plan, select: impl Fn(&BlobStep) -> bool) -> Vec<(usize, &Descriptor, &BlobStep)> {
    let mut jobs: Vec<(usize, usize, &Descriptor, &BlobStep)> = plan
        .targets
        .iter()
        .enumerate()
        .flat_map(|(i, t)| {
            t.blobs
                .iter()
                .enumerate()
                .filter(|(_, (_, s))| select(s))
                .map(move |(b, (d, s))| (i, b, d, s))
        })
        .collect();
    jobs.sort_by_key(|&(target, blob, d, _)| job_order(d.size, blob, target));
    jobs.into_iter()
        .map(|(target, _, d, s)| (target, d, s))
        .collect()
}

/// Where a blob of `size` bytes, the `blob`-th of its image, for the `target`-th target goes in
/// the order [`jobs`] describes.
fn job_order(size: u64, blob: usize, target: usize) -> impl Ord {
    (size > SMALL_BLOB, std::cmp::Reverse(size), blob, target)
}

/// Uploads or mounts one blob; `Ok(true)` when a mount made the upload unnecessary.
async fn send_blob(
    client: &Client,
    repo: &Repository,
    blob: &Descriptor,
    step: &BlobStep,
    source: &SourceContent<'_>,
) -> crate::registry::Result<bool> {
    let session = match step {
        BlobStep::Mount { from } => match client.mount_blob(repo, from, &blob.digest).await? {
            Mount::Mounted => return Ok(true),
            Mount::Upload(session) => Some(session),
        },
        _ => None,
    };
    let reader = (source.blob)(blob);
    client
        .push_blob(repo, &blob.digest, blob.size, reader.as_ref(), session)
        .await?;
    Ok(false)
}

/// How many times a rolling tag is read back and, when it is not where it belongs, put again.
/// Runs that read the same tags agree where it belongs, so more than two rounds means that
/// publishes keep arriving; the last of them settles it.
const SETTLE_ROUNDS: usize = 5;

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

async fn put(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_blobs_go_first_then_largest_first_each_to_every_target_in_turn() {
        const MIB: u64 = 1024 * 1024;
        // (size, blob index) of one image, sent to two targets.
        let blobs = [
            (468, 0),
            (16 * MIB, 1),
            (300, 2),
            (64 * MIB, 3),
            (MIB, 4),
            (16 * MIB, 5),
        ];
        let mut jobs: Vec<(u64, usize, usize)> = blobs
            .iter()
            .flat_map(|&(size, blob)| [(size, blob, 0), (size, blob, 1)])
            .collect();
        jobs.sort_by_key(|&(size, blob, target)| job_order(size, blob, target));
        let order: Vec<(usize, usize)> = jobs.iter().map(|&(_, b, t)| (b, t)).collect();
        assert_eq!(
            order,
            [
                (4, 0),
                (4, 1), // 1 MiB: still small, the largest of the small
                (0, 0),
                (0, 1),
                (2, 0),
                (2, 1),
                (3, 0),
                (3, 1), // then the largest first
                (1, 0),
                (1, 1), // equal sizes in image order
                (5, 0),
                (5, 1),
            ]
        );
    }
}
