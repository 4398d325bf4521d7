//! What one target holds of the referrers found.

use super::{CONCURRENCY, all_manifests};
use crate::oci::referrer::{self, Referrers, fallback_tag};
use crate::registry::{Client, Digest, Error, Reference, Repository, Result};
use bytes::Bytes;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use std::collections::{BTreeMap, BTreeSet};

/// What one target holds of the referrers, as observed before planning.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Held {
    /// Referrer manifests (and their children) the target has.
    pub manifests: BTreeSet<Digest>,
    /// Blobs of the referrers the target lacks the manifest of, that it has.
    pub blobs: BTreeSet<Digest>,
    /// Where the legacy tags point there.
    pub tags: BTreeMap<String, Digest>,
    /// The referrers the target lists for each subject: its fallback index's entries, or its
    /// referrers API's (no key: no index, or the API lists none).
    pub indexes: BTreeMap<Digest, BTreeSet<Digest>>,
    /// Each of those indexes as read (its digest and bytes): the merge starts from it.
    pub index_docs: BTreeMap<Digest, (Digest, Bytes)>,
    /// The target's registry has the referrers API: it registers a referrer on its PUT.
    pub api: bool,
}

/// Looks at what `target` holds of `found`: a HEAD per referrer manifest, per blob of a missing
/// referrer and per legacy tag; per subject, its referrers API listing where the target's
/// registry has the API (asked once per registry), else a GET of its fallback index.
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
    let mut index_docs = BTreeMap::new();
    let mut api = false;
    for subject in found.by_subject().into_keys() {
        // A target with the referrers API lists what it registered; one without has an index.
        if let Some(listed) = client.list_referrers(target, &subject, &[]).await? {
            api = true;
            if !listed.is_empty() {
                indexes.insert(subject, listed.into_iter().map(|e| e.digest).collect());
            }
            continue;
        }
        let image = target.with(Reference::Tag(fallback_tag(&subject)));
        match client.get_manifest_raw(&image).await {
            Ok(index) => {
                let listed = referrer::entries(&index.bytes).map_err(|e| Error::Protocol {
                    url: image.to_string(),
                    message: e.to_string(),
                })?;
                indexes.insert(
                    subject.clone(),
                    listed.into_iter().map(|e| e.digest).collect(),
                );
                index_docs.insert(subject, (index.digest, index.bytes));
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
        index_docs,
        api,
    })
}
