//! The image's referrers (signatures, attestations, SBOMs) travel with it: [`discover`] finds
//! them in a registry source (the referrers tag schema's `sha256-<hex>` index of the image and of
//! each child, cosign's legacy `.sig`/`.att`/`.sbom` tags, recursively), [`observe`] looks at
//! what each target holds of them, [`plan`] decides (pure: the dry run prints it) and [`copy`]
//! writes them: blobs, manifests byte-for-byte, legacy tags, then each fallback index merged
//! (never overwritten). The executor runs [`copy`] after the image's manifests and before any
//! tag of the image moves.

use super::outcome::{FailedStep, Failure};
use super::plan::{BlobStep, Descriptor};
use crate::oci::graph::MAX_DEPTH;
use crate::oci::media::OCI_INDEX;
use crate::oci::referrer::{self, Entry, Listed, Referrers, cosign_tags, fallback_tag};
use crate::oci::{GraphError, ImageGraph};
use crate::registry::{BlobSource, Client, Digest, Error, Mount, Reference, Repository, Result};
use crate::source::{self, Source};
use bytes::Bytes;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

/// Requests in flight per target while observing or copying referrers.
const CONCURRENCY: usize = 8;

/// Why the source's referrers could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error(transparent)]
    Registry(#[from] Error),
    #[error(transparent)]
    Source(#[from] source::Error),
    #[error("a referrer: {0}")]
    Graph(#[from] GraphError<source::Error>),
    #[error("{tag}: {error}")]
    Index {
        tag: String,
        error: referrer::IndexError,
    },
}

/// The referrers of `subjects` (the image's root and child manifests) in a registry source,
/// and theirs in turn, at most [`MAX_DEPTH`] levels down. Other sources have none here (their
/// referrers are not read yet). One tag listing, then per subject one GET of its fallback index
/// and one HEAD per legacy tag, only for the tags the listing shows.
pub async fn discover(
    client: &Client,
    source: &Source,
    subjects: Vec<Digest>,
) -> std::result::Result<Referrers, DiscoverError> {
    let Source::Registry(remote) = source else {
        return Ok(Referrers::default());
    };
    let repo = remote.image().repo();
    let tags: BTreeSet<String> = client.list_tags(&repo, None).await?.into_iter().collect();
    let mut found = Referrers::default();
    let mut seen: BTreeSet<Digest> = subjects.iter().cloned().collect();
    let mut level = subjects;
    for _ in 0..=MAX_DEPTH {
        let mut next = Vec::new();
        for subject in &level {
            let tag = fallback_tag(subject);
            if tags.contains(&tag) {
                let index = client
                    .get_manifest_raw(&repo.with(Reference::Tag(tag.clone())))
                    .await?;
                let entries =
                    referrer::entries(&index.bytes).map_err(|error| DiscoverError::Index {
                        tag: format!("{repo}:{tag}"),
                        error,
                    })?;
                for entry in entries {
                    if seen.insert(entry.digest.clone()) {
                        next.push(entry.digest.clone());
                    }
                    found.listed.push(Listed {
                        subject: subject.clone(),
                        entry,
                    });
                }
            }
            for tag in cosign_tags(subject)
                .into_iter()
                .filter(|t| tags.contains(t))
            {
                let image = repo.with(Reference::Tag(tag.clone()));
                if let Some(info) = client.head_manifest(&image).await? {
                    if seen.insert(info.digest.clone()) {
                        next.push(info.digest.clone());
                    }
                    found.tags.push((tag, info.digest));
                }
            }
        }
        if next.is_empty() {
            break;
        }
        for digest in &next {
            let manifest = source.manifest(digest).await?;
            let graph = ImageGraph::read(source, manifest).await?;
            found.graphs.insert(digest.clone(), graph);
            found.order.push(digest.clone());
        }
        level = next;
    }
    Ok(found)
}

/// What one target holds of the referrers, as observed before planning.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Held {
    /// Referrer manifests (and their children) the target has.
    pub manifests: BTreeSet<Digest>,
    /// Blobs of the referrers the target lacks the manifest of, that it has.
    pub blobs: BTreeSet<Digest>,
    /// Where the legacy tags point there.
    pub tags: BTreeMap<String, Digest>,
    /// The entries of each fallback index the target has, by subject (no key: no index).
    pub indexes: BTreeMap<Digest, BTreeSet<Digest>>,
}

/// Looks at what `target` holds of `found`: a HEAD per referrer manifest, per blob of a missing
/// referrer and per legacy tag; a GET per subject's fallback index.
pub async fn observe(client: &Client, found: &Referrers, target: &Repository) -> Result<Held> {
    let manifests: Vec<Digest> = all_manifests(found).map(|d| d.digest).collect();
    let there = |reference: Reference| {
        let image = target.with(reference);
        async move { Ok::<_, Error>(client.head_manifest(&image).await?.map(|i| i.digest)) }
    };
    let present: BTreeSet<Digest> = stream::iter(manifests)
        .map(|d| async { Ok::<_, Error>(there(Reference::Digest(d.clone())).await?.map(|_| d)) })
        .buffer_unordered(CONCURRENCY)
        .try_filter_map(|d| async move { Ok(d) })
        .try_collect()
        .await?;
    let missing_blobs: BTreeSet<Digest> = found
        .order
        .iter()
        .filter(|r| !present.contains(*r))
        .filter_map(|r| found.graphs.get(r))
        .flat_map(|g| g.blobs.iter().map(|b| b.digest.clone()))
        .collect();
    let blobs: BTreeSet<Digest> = stream::iter(missing_blobs)
        .map(|d| async move { Ok::<_, Error>(client.head_blob(target, &d).await?.map(|_| d)) })
        .buffer_unordered(CONCURRENCY)
        .try_filter_map(|d| async move { Ok(d) })
        .try_collect()
        .await?;
    let mut tags = BTreeMap::new();
    for (tag, _) in &found.tags {
        if let Some(digest) = there(Reference::Tag(tag.clone())).await? {
            tags.insert(tag.clone(), digest);
        }
    }
    let mut indexes = BTreeMap::new();
    for subject in found.by_subject().into_keys() {
        let image = target.with(Reference::Tag(fallback_tag(&subject)));
        match client.get_manifest_raw(&image).await {
            Ok(index) => {
                let listed = referrer::entries(&index.bytes).map_err(|e| Error::Protocol {
                    url: image.to_string(),
                    message: e.to_string(),
                })?;
                indexes.insert(subject, listed.into_iter().map(|e| e.digest).collect());
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Held {
        manifests: present,
        blobs,
        tags,
        indexes,
    })
}

/// Every manifest of every referrer, each once, children before parents, referrers in the
/// order found.
fn all_manifests(found: &Referrers) -> impl Iterator<Item = Descriptor> + '_ {
    let mut seen = BTreeSet::new();
    found
        .order
        .iter()
        .filter_map(|r| found.graphs.get(r))
        .flat_map(|g| g.manifests.iter().map(|n| n.manifest.descriptor()))
        .filter(move |d| seen.insert(d.digest.clone()))
}

/// One referrer at one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferrerStep {
    pub digest: Digest,
    /// Its `artifactType`, else its config's media type, else its own media type.
    pub artifact_type: String,
    /// The target holds it already.
    pub present: bool,
}

/// A fallback index to merge at one target: the entries its subject needs that it lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexUpdate {
    pub subject: Digest,
    pub tag: String,
    /// Every entry the subject's referrers need (merged into what is there at write time).
    pub entries: Vec<Entry>,
    /// The referrers the index lacks now.
    pub adds: Vec<Digest>,
    /// The target has an index for the subject already (it is merged into, not created).
    pub exists: bool,
}

/// What to do at one target for the image's referrers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReferrerPlan {
    pub referrers: Vec<ReferrerStep>,
    /// Blobs of the referrers the target lacks (each once, none the image's own plan sends).
    pub blobs: Vec<(Descriptor, BlobStep)>,
    /// Manifests to put by digest in order: a referrer's children before it.
    pub manifests: Vec<Descriptor>,
    /// Legacy cosign tags to push (the tag, the manifest it points at).
    pub tags: Vec<(String, Digest)>,
    pub indexes: Vec<IndexUpdate>,
}

impl ReferrerPlan {
    pub fn is_empty(&self) -> bool {
        self.referrers.is_empty() && self.tags.is_empty() && self.indexes.is_empty()
    }
}

/// Decides what `target` needs of `found`, given what it holds and the blobs the image's plan
/// already sends or finds there (`image_blobs`). Blobs mount from the source when it is on the
/// target's registry.
pub fn plan(
    found: &Referrers,
    held: &Held,
    target: &Repository,
    source_repo: Option<&Repository>,
    image_blobs: &BTreeSet<Digest>,
) -> ReferrerPlan {
    let mut planned = ReferrerPlan::default();
    let mut blobs_seen = image_blobs.clone();
    for digest in &found.order {
        let Some(graph) = found.graphs.get(digest) else {
            continue;
        };
        let present = held.manifests.contains(digest);
        let parsed = &graph.root.parsed;
        let artifact_type = parsed
            .artifact_type
            .clone()
            .or_else(|| parsed.blobs.first().map(|c| c.media_type.clone()))
            .unwrap_or_else(|| graph.root.manifest.media_type.clone());
        planned.referrers.push(ReferrerStep {
            digest: digest.clone(),
            artifact_type,
            present,
        });
        if present {
            continue;
        }
        for blob in &graph.blobs {
            if held.blobs.contains(&blob.digest) || !blobs_seen.insert(blob.digest.clone()) {
                continue;
            }
            let step = match source_repo {
                Some(from) if from.registry == target.registry && from != target => {
                    BlobStep::Mount { from: from.clone() }
                }
                _ => BlobStep::Upload,
            };
            planned.blobs.push((blob.clone(), step));
        }
    }
    planned.manifests = all_manifests(found)
        .filter(|m| !held.manifests.contains(&m.digest))
        .collect();
    planned.tags = found
        .tags
        .iter()
        .filter(|(tag, digest)| held.tags.get(tag) != Some(digest))
        .cloned()
        .collect();
    for (subject, entries) in found.by_subject() {
        let listed = held.indexes.get(&subject);
        let adds: Vec<Digest> = entries
            .iter()
            .map(|e| e.digest.clone())
            .filter(|d| listed.is_none_or(|l| !l.contains(d)))
            .collect();
        if adds.is_empty() {
            continue;
        }
        planned.indexes.push(IndexUpdate {
            tag: fallback_tag(&subject),
            exists: listed.is_some(),
            subject,
            entries,
            adds,
        });
    }
    planned
}

/// The dry run's lines for one target, indented as the plan's.
impl fmt::Display for ReferrerPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in &self.referrers {
            let what = if r.present { "present" } else { "copy" };
            writeln!(f, "  referrer {} {}  {what}", r.digest, r.artifact_type)?;
        }
        for (blob, step) in &self.blobs {
            let what = match step {
                BlobStep::Present => "present".to_string(),
                BlobStep::Mount { from } => format!("mount from {}", from.repository),
                BlobStep::Upload => "upload".to_string(),
            };
            writeln!(f, "  referrer blob {}  {what}", blob.digest)?;
        }
        for (tag, digest) in &self.tags {
            writeln!(f, "  referrer tag {tag} -> {digest}  push")?;
        }
        for index in &self.indexes {
            let how = if index.exists { "merge" } else { "create" };
            writeln!(
                f,
                "  fallback index {}  {how}: add {}",
                index.tag,
                index
                    .adds
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )?;
        }
        Ok(())
    }
}

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
}

/// Each target's referrers, the targets side by side; a failure leaves every tag where it is.
pub(super) async fn copy_all(
    client: &Client,
    plan: &super::plan::Plan,
    content: &ReferrerContent,
    reports: &mut [super::execute::TargetReport],
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
    let mut report = ReferrerReport {
        present: plan.referrers.iter().filter(|r| r.present).count(),
        ..ReferrerReport::default()
    };
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
                    if subject {
                        registered.insert(manifest.digest.clone());
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
            Ok(true) => report.indexes_updated += 1,
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

/// Merges `index`'s entries into the target's fallback index: read it, merge, and write only if
/// it did not change meanwhile (a HEAD just before the PUT); the next read checks that the write
/// stuck (a concurrent writer may have replaced it), and merges again if it did not. `true`
/// when it wrote.
async fn merge_index(client: &Client, repo: &Repository, index: &IndexUpdate) -> Result<bool> {
    let image = repo.with(Reference::Tag(index.tag.clone()));
    let protocol = |e: referrer::IndexError| Error::Protocol {
        url: image.to_string(),
        message: e.to_string(),
    };
    let mut wrote = false;
    for _ in 0..INDEX_ROUNDS {
        let current = match client.get_manifest_raw(&image).await {
            Ok(m) => Some(m),
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(e),
        };
        let merged = referrer::merge(current.as_ref().map(|m| &m.bytes[..]), &index.entries)
            .map_err(protocol)?;
        let Some(bytes) = merged else {
            return Ok(wrote);
        };
        let now = client.head_manifest(&image).await?.map(|i| i.digest);
        if now != current.map(|m| m.digest) {
            tracing::info!(tag = %index.tag, "fallback index changed while merging; reading it again");
            continue;
        }
        client
            .put_manifest_raw(&image, Bytes::from(bytes), OCI_INDEX)
            .await?;
        wrote = true;
    }
    Err(Error::Protocol {
        url: image.to_string(),
        message: format!("the fallback index kept changing over {INDEX_ROUNDS} merges; run again"),
    })
}

#[cfg(test)]
#[path = "referrers_tests.rs"]
mod tests;
