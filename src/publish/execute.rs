//! Carries a `Plan` out, the only place publishing writes. Order, across all targets: blobs
//! (uploads, then mounts that may need them), child manifests, the image's referrers (their
//! blobs, manifests, legacy tags and fallback indexes: see `referrers`), then tags: release and floating,
//! then rolling, each phase done on every target before the next starts (work within a phase runs
//! concurrently). A failure before the tags stops the run with no tag moved, so `latest` never
//! points at a half-published image; running again completes the job (present content is skipped)
//! when what stopped it was temporary ([`Failure::transient`]). Each rolling tag pushed is then
//! read back and settled on the newest version (`tagging`), which repairs a race with
//! a concurrent publish.

pub use super::outcome::{FailedStep, Failure, TagOutcome};
use super::plan::{BlobStep, Descriptor, ManifestStep, Plan, TargetPlan};
use super::referrers::{self, ReferrerContent, ReferrerReport};
use super::tagging::{self, put};
use crate::meta::TagKind;
use crate::oci::media::is_index;
use crate::registry::{BlobSource, Client, Digest, Mount, Reference, Repository, StopReason};
use bytes::Bytes;
use futures_util::stream::{self, StreamExt};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Uploads in flight at once, across targets (each registry also limits per host).
pub(super) const CONCURRENCY: usize = 8;

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
    /// What happened to the image's referrers there.
    pub referrers: ReferrerReport,
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
    execute_with(client, plan, source, &ReferrerContent::default()).await
}

/// [`execute`], with the referrers' bytes for the plan's referrer steps.
pub async fn execute_with(
    client: &Client,
    plan: &Plan,
    source: &SourceContent<'_>,
    referrers: &ReferrerContent,
) -> Report {
    let mut reports: Vec<TargetReport> = plan.targets.iter().map(empty_report).collect();
    let mut failures = Vec::new();
    send_blobs(client, plan, source, &mut reports, &mut failures).await;
    if failures.is_empty() {
        put_manifests(client, plan, source, &mut reports, &mut failures).await;
    }
    if failures.is_empty() {
        referrers::copy_all(client, plan, referrers, &mut reports, &mut failures).await;
    }
    tagging::put_tags(client, plan, source, &mut reports, &mut failures).await;
    tagging::settle_rolling(client, plan, source, &mut reports, &mut failures).await;
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
        referrers: ReferrerReport::default(),
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
