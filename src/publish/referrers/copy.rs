//! Writing the referrers to a target: blobs, manifests, legacy tags, fallback indexes.

use super::super::outcome::{FailedStep, Failure};
use super::super::plan::{BlobStep, Descriptor};
use super::{CONCURRENCY, IndexUpdate, ReferrerPlan};
use crate::oci::media::OCI_INDEX;
use crate::oci::referrer::{self, Referrers};
use crate::registry::{BlobSource, Client, Digest, Error, Mount, Reference, Repository, Result};
use crate::source::{self, Source};
use bytes::Bytes;
use futures_util::stream::{self, StreamExt};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// What [`copy`] reads from the source: referrer manifests by digest and re-openable blobs.
#[derive(Default)]
pub struct ReferrerContent {
    pub manifests: BTreeMap<Digest, (Bytes, String)>,
    pub blobs: BTreeMap<Digest, Arc<dyn BlobSource>>,
}

impl ReferrerContent {
    /// The manifests of `found` with the blobs `readers` (a blob's count of targets sending it)
    /// opened from `source`.
    pub async fn open(
        source: &Source,
        found: &Referrers,
        readers: impl Fn(&Digest) -> usize,
    ) -> source::Result<ReferrerContent> {
        let mut content = ReferrerContent::default();
        for graph in found.graphs.values() {
            for node in &graph.manifests {
                let m = &node.manifest;
                let entry = (m.bytes.clone(), m.media_type.clone());
                content.manifests.insert(m.digest.clone(), entry);
            }
            for blob in &graph.blobs {
                let n = readers(&blob.digest);
                if n > 0 && !content.blobs.contains_key(&blob.digest) {
                    let opened = source.blob(&blob.digest, blob.size, n).await?;
                    content.blobs.insert(blob.digest.clone(), opened);
                }
            }
        }
        Ok(content)
    }
}

/// What happened to one target's referrers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReferrerReport {
    /// Referrer manifests put (not their children).
    pub copied: usize,
    /// Referrers the target held already.
    pub present: usize,
    /// Legacy cosign tags pushed.
    pub tags_pushed: usize,
    /// Fallback indexes written (created or merged into).
    pub indexes_updated: usize,
    /// Subjects whose referrers the target registered itself (`OCI-Subject`): no index needed.
    pub registered: usize,
    /// The same referrers by `artifactType` (else config, else manifest media type), ordered.
    pub by_type: BTreeMap<String, TypeCounts>,
}

/// What happened to the referrers of one `artifactType` at one target.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TypeCounts {
    /// Referrer manifests put.
    pub copied: usize,
    /// Referrers the target held already.
    pub present: usize,
    /// Registered by the target itself: it answered their PUT with `OCI-Subject`.
    pub api: usize,
    /// Added to a fallback index this run wrote.
    pub index: usize,
}

impl ReferrerReport {
    /// Counts one referrer of `plan` (by digest) into its artifactType's counts.
    fn tally(&mut self, plan: &ReferrerPlan, digest: &Digest, add: impl FnOnce(&mut TypeCounts)) {
        if let Some(step) = plan.referrers.iter().find(|r| r.digest == *digest) {
            add(self.by_type.entry(step.artifact_type.clone()).or_default());
        }
    }
}

/// Each target's referrers, the targets side by side; a failure leaves every tag where it is.
pub(in crate::publish) async fn copy_all(
    client: &Client,
    plan: &super::super::plan::Plan,
    content: &ReferrerContent,
    reports: &mut [super::super::execute::TargetReport],
    failures: &mut Vec<Failure>,
) {
    let done = futures_util::future::join_all(
        plan.targets
            .iter()
            .map(|t| copy(client, &t.repo, &t.referrers, content)),
    )
    .await;
    for (report, (copied, failure)) in reports.iter_mut().zip(done) {
        // A referrer manifest or legacy tag is a manifest PUT, as is each index written.
        report.manifests_put += copied.copied + copied.tags_pushed + copied.indexes_updated;
        report.referrers = copied;
        failures.extend(failure);
    }
}

/// Writes `plan` at `repo`: blobs, then manifests by digest (children first), legacy tags, then
/// each fallback index (read, merge, write) unless the target registered every referrer of the
/// subject itself (it answered their PUT with `OCI-Subject`). Stops at the first failure.
pub async fn copy(
    client: &Client,
    repo: &Repository,
    plan: &ReferrerPlan,
    content: &ReferrerContent,
) -> (ReferrerReport, Option<Failure>) {
    let mut report = ReferrerReport::default();
    for step in plan.referrers.iter().filter(|r| r.present) {
        report.present += 1;
        report.tally(plan, &step.digest, |c| c.present += 1);
    }
    let failed = |step, what: String, e: Error| {
        Some(Failure::new(
            step,
            format!("{repo}: referrer {what}: {e}"),
            &e,
        ))
    };
    let sent: Vec<Result<()>> = stream::iter(&plan.blobs)
        .map(|(blob, step)| send_blob(client, repo, blob, step, content))
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    if let Some(e) = sent.into_iter().find_map(Result::err) {
        return (report, failed(FailedStep::Blob, "blob".into(), e));
    }
    let roots: BTreeSet<&Digest> = plan.referrers.iter().map(|r| &r.digest).collect();
    let mut registered: BTreeSet<Digest> = BTreeSet::new();
    for manifest in &plan.manifests {
        let reference = Reference::Digest(manifest.digest.clone());
        match put(client, repo, reference, &manifest.digest, content).await {
            Ok(subject) => {
                if roots.contains(&manifest.digest) {
                    report.copied += 1;
                    report.tally(plan, &manifest.digest, |c| c.copied += 1);
                    if subject {
                        registered.insert(manifest.digest.clone());
                        report.tally(plan, &manifest.digest, |c| c.api += 1);
                    }
                }
            }
            Err(e) => {
                let what = format!("manifest {}", manifest.digest);
                return (report, failed(FailedStep::Manifest, what, e));
            }
        }
    }
    for (tag, digest) in &plan.tags {
        match put(client, repo, Reference::Tag(tag.clone()), digest, content).await {
            Ok(_) => report.tags_pushed += 1,
            Err(e) => return (report, failed(FailedStep::Tag, format!("tag {tag}"), e)),
        }
    }
    for index in &plan.indexes {
        if index.adds.iter().all(|d| registered.contains(d)) {
            report.registered += 1;
            continue;
        }
        match merge_index(client, repo, index).await {
            Ok(true) => {
                report.indexes_updated += 1;
                for added in index.adds.iter().filter(|d| !registered.contains(*d)) {
                    report.tally(plan, added, |c| c.index += 1);
                }
            }
            Ok(false) => {}
            Err(e) => {
                let what = format!("fallback index {}", index.tag);
                return (report, failed(FailedStep::Manifest, what, e));
            }
        }
    }
    (report, None)
}

async fn send_blob(
    client: &Client,
    repo: &Repository,
    blob: &Descriptor,
    step: &BlobStep,
    content: &ReferrerContent,
) -> Result<()> {
    let session = match step {
        BlobStep::Present => return Ok(()),
        BlobStep::Mount { from } => match client.mount_blob(repo, from, &blob.digest).await? {
            Mount::Mounted => return Ok(()),
            Mount::Upload(session) => Some(session),
        },
        BlobStep::Upload => None,
    };
    let Some(reader) = content.blobs.get(&blob.digest) else {
        return Err(Error::Config(format!(
            "blob {} was not opened from the source",
            blob.digest
        )));
    };
    client
        .push_blob(repo, &blob.digest, blob.size, reader.as_ref(), session)
        .await
}

/// Puts the source's manifest `digest` under `reference`; whether the registry answered with
/// `OCI-Subject`.
async fn put(
    client: &Client,
    repo: &Repository,
    reference: Reference,
    digest: &Digest,
    content: &ReferrerContent,
) -> Result<bool> {
    let Some((bytes, media_type)) = content.manifests.get(digest) else {
        return Err(Error::Config(format!(
            "manifest {digest} was not read from the source"
        )));
    };
    let (_, subject) = client
        .put_manifest(&repo.with(reference), bytes.clone(), media_type)
        .await?;
    Ok(subject)
}

/// Rounds of read, merge, write of one fallback index before giving up on a tag that keeps
/// changing under us.
const INDEX_ROUNDS: usize = 5;

/// Merges `index`'s entries into the target's fallback index, starting from the index as
/// observed: merge, and write only if the tag did not move meanwhile (a HEAD just before the
/// PUT); a HEAD after the PUT checks that the write stuck (a concurrent writer may have replaced
/// it). Either way a moved tag is read again and merged again. Per subject: the observation's
/// GET, two HEADs and one PUT, unless another writer interferes. `true` when it wrote.
async fn merge_index(client: &Client, repo: &Repository, index: &IndexUpdate) -> Result<bool> {
    let image = repo.with(Reference::Tag(index.tag.clone()));
    let protocol = |e: referrer::IndexError| Error::Protocol {
        url: image.to_string(),
        message: e.to_string(),
    };
    let mut wrote = false;
    let mut current = index.base.clone();
    for round in 0..INDEX_ROUNDS {
        if round > 0 {
            current = match client.get_manifest_raw(&image).await {
                Ok(m) => Some((m.digest, m.bytes)),
                Err(e) if e.is_not_found() => None,
                Err(e) => return Err(e),
            };
        }
        let merged = referrer::merge(current.as_ref().map(|(_, b)| &b[..]), &index.entries)
            .map_err(protocol)?;
        let Some(bytes) = merged else {
            return Ok(wrote);
        };
        let now = client.head_manifest(&image).await?.map(|i| i.digest);
        if now.as_ref() != current.as_ref().map(|(d, _)| d) {
            tracing::info!(tag = %index.tag, "fallback index changed while merging; reading it again");
            continue;
        }
        let ours = Digest::sha256(&bytes);
        client
            .put_manifest_raw(&image, Bytes::from(bytes), OCI_INDEX)
            .await?;
        wrote = true;
        if client.head_manifest(&image).await?.map(|i| i.digest) == Some(ours) {
            return Ok(true);
        }
        tracing::info!(tag = %index.tag, "fallback index replaced by another writer; merging again");
    }
    Err(Error::Protocol {
        url: image.to_string(),
        message: format!("the fallback index kept changing over {INDEX_ROUNDS} merges; run again"),
    })
}
