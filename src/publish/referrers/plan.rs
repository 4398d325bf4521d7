//! The referrers plan of one target (pure) and its dry-run text.

use super::super::plan::{BlobStep, Descriptor};
use super::{Held, all_manifests};
use crate::oci::referrer::{Entry, Referrers, fallback_tag};
use crate::registry::{Digest, Repository};
use bytes::Bytes;
use std::collections::BTreeSet;
use std::fmt;

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
    /// The target's index as observed (digest, bytes): the first merge starts from it instead of
    /// reading it again.
    pub base: Option<(Digest, Bytes)>,
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
    /// The target has the referrers API: `indexes` are the subjects whose referrers it
    /// registers on their PUT (an index is written only for one it does not).
    pub api: bool,
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
    let mut planned = ReferrerPlan {
        api: held.api,
        ..ReferrerPlan::default()
    };
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
            base: held.index_docs.get(&subject).cloned(),
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
            let adds = index.adds.iter().map(|d| d.to_string());
            let adds = adds.collect::<Vec<_>>().join(", ");
            if self.api {
                let subject = &index.subject;
                writeln!(f, "  referrers API {subject}  registers: {adds}")?;
                continue;
            }
            let how = if index.exists { "merge" } else { "create" };
            writeln!(f, "  fallback index {}  {how}: add {adds}", index.tag)?;
        }
        Ok(())
    }
}
