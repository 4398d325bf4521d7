//! Finding an image's referrers in an OCI layout or archive source (`oci:`, `oci-archive:`),
//! from the layout's `index.json`, as the tools that write referrers into a layout put them there:
//!
//! | tool | what `index.json` lists |
//! |---|---|
//! | `oras cp -r --to-oci-layout` | every manifest copied, the referrers untagged among them: found by their `subject` |
//! | `regctl image copy --referrers ... ocidir://` | the referrers tag schema's index under `ref.name` `sha256-<hex>` (its referrers are stored, not listed) |
//! | `cosign save` | signatures, attestations, SBOMs under `ref.name` `<repo>:sha256-<hex>.sig` / `.att` / `.sbom`; older releases name them by a `kind` annotation only (`dev.cosignproject.cosign/sigs`, `/atts`, `/sboms`) beside the image's (`/image`, `/imageIndex`) |
//!
//! A `ref.name` is read as a tag, bare (`sha256-<hex>.sig`) or after a repository
//! (`ghcr.io/o/app:sha256-<hex>.sig`). A manifest found by its `subject` becomes a fallback index
//! entry with `artifactType` and annotations pulled up as the referrers API lists it; a fallback
//! index's entries are kept as written; cosign-style names are copied as tags.
//!
//! `blobs/` is not scanned for manifests that `index.json` does not list. Every tool above lists
//! what it wrote (or lists the index that lists it), and by the image layout spec an unlisted
//! manifest is unreachable content a garbage collection may remove (oras's does). Telling a
//! manifest from a layer there means opening every blob, gigabytes of layers included, and in
//! an archive reading through it: a cost paid by every publish for content no tool leaves there.

use super::DiscoverError;
use crate::oci::graph::MAX_DEPTH;
use crate::oci::media::{OCI_INDEX, OCI_MANIFEST};
use crate::oci::referrer::{self, Entry, Referrers, cosign_subject, fallback_subject};
use crate::oci::{ImageGraph, Kind, Parsed, RawManifest, parse_manifest};
use crate::registry::Digest;
use crate::registry::of_types;
use crate::source::{IndexEntry, Local, REF_NAME};
use std::collections::{BTreeMap, BTreeSet};

/// cosign's annotation naming what a layout entry is, and its values.
const KIND: &str = "kind";
const COSIGN_IMAGES: [&str; 2] = [
    "dev.cosignproject.cosign/image",
    "dev.cosignproject.cosign/imageIndex",
];
const COSIGN_KINDS: [(&str, &str); 3] = [
    ("dev.cosignproject.cosign/sigs", "sig"),
    ("dev.cosignproject.cosign/atts", "att"),
    ("dev.cosignproject.cosign/sboms", "sbom"),
];

/// What a layout's `index.json` says refers to what, read once for every subject.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct LayoutListing {
    /// Referrers by subject: fallback index entries, then manifests with that `subject`, in
    /// `index.json` order.
    pub entries: BTreeMap<Digest, Vec<Entry>>,
    /// cosign-style tags by subject, each with the manifest it names.
    pub tags: BTreeMap<Digest, Vec<(String, Digest)>>,
}

impl LayoutListing {
    fn add_entry(&mut self, subject: Digest, entry: Entry) {
        let listed = self.entries.entry(subject).or_default();
        if !listed.iter().any(|e| e.digest == entry.digest) {
            listed.push(entry);
        }
    }

    fn add_tag(&mut self, subject: Digest, tag: String, digest: Digest) {
        let tags = self.tags.entry(subject).or_default();
        if !tags.iter().any(|(t, _)| *t == tag) {
            tags.push((tag, digest));
        }
    }

    /// The referrers of `subjects` and theirs in turn, at most [`MAX_DEPTH`] levels down: what
    /// each subject lists and tags, and the referrers in the order found (graphs not read).
    /// `artifact_types` (all when empty) selects the referrers of `subjects` themselves; theirs
    /// all follow, as in a registry source.
    pub fn collect(&self, subjects: Vec<Digest>, artifact_types: &[String]) -> Referrers {
        let mut found = Referrers::default();
        let mut seen: BTreeSet<Digest> = subjects.iter().cloned().collect();
        let mut level = subjects;
        for depth in 0..=MAX_DEPTH {
            let mut next = Vec::new();
            let types = if depth == 0 { artifact_types } else { &[] };
            for subject in &level {
                let listed = self.entries.get(subject).cloned().unwrap_or_default();
                let tags = self.tags.get(subject).cloned().unwrap_or_default();
                next.extend(found.add_listed(&mut seen, subject, of_types(listed, types), tags));
            }
            if next.is_empty() {
                break;
            }
            found.order.extend(next.iter().cloned());
            level = next;
        }
        found
    }
}

/// The referrers of `subjects` (the image's manifests) in `layout`, and theirs in turn, each
/// with its own graph. Reads `index.json`'s manifests once (not the image's own), then each
/// referrer's graph.
pub async fn discover(
    layout: &Local,
    subjects: Vec<Digest>,
    artifact_types: &[String],
) -> Result<Referrers, DiscoverError> {
    let image: BTreeSet<Digest> = subjects.iter().cloned().collect();
    let listing = read_listing(layout, &image).await?;
    let mut found = listing.collect(subjects, artifact_types);
    for digest in &found.order {
        let manifest = layout.manifest(digest).await?;
        let graph = ImageGraph::read(layout, manifest).await?;
        found.graphs.insert(digest.clone(), graph);
    }
    Ok(found)
}

/// Reads what `layout`'s `index.json` lists: each fallback index's entries, each cosign-style
/// tag, and each manifest with a `subject` (the manifests of `image` are not read). An entry
/// whose digest does not parse, or that is not an OCI manifest or index, is no referrer.
async fn read_listing(
    layout: &Local,
    image: &BTreeSet<Digest>,
) -> Result<LayoutListing, DiscoverError> {
    let entries = layout.index_entries();
    let cosign_image = cosign_image(entries);
    let mut listing = LayoutListing::default();
    for listed in entries {
        let Ok(digest) = Digest::parse(&listed.digest) else {
            continue;
        };
        let tag = listed.annotations.get(REF_NAME).map(|n| tag_of(n));
        if let Some(subject) = tag.and_then(fallback_subject) {
            let index = layout.manifest(&digest).await?;
            let error = |error| DiscoverError::Index {
                tag: format!("{}:{}", layout.location(), tag.unwrap_or_default()),
                error,
            };
            for entry in referrer::entries(&index.bytes).map_err(error)? {
                listing.add_entry(subject.clone(), entry);
            }
            continue;
        }
        if let Some((subject, tag)) = cosign_tag(listed, tag, cosign_image.as_ref()) {
            listing.add_tag(subject, tag, digest.clone());
        }
        if image.contains(&digest) || !may_have_subject(listed) {
            continue;
        }
        let manifest = layout.manifest(&digest).await?;
        let Ok(parsed) = parse_manifest(&manifest.media_type, &manifest.bytes) else {
            continue;
        };
        if let Some(subject) = &parsed.subject {
            listing.add_entry(subject.digest.clone(), entry_of(&manifest, &parsed));
        }
    }
    Ok(listing)
}

/// The tag a `ref.name` gives: itself, or what follows the repository's last `:`.
fn tag_of(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

/// The image an older `cosign save` layout holds, named by its `kind` (only when one is).
fn cosign_image(entries: &[IndexEntry]) -> Option<Digest> {
    let mut images = entries.iter().filter(|e| {
        e.annotations
            .get(KIND)
            .is_some_and(|k| COSIGN_IMAGES.contains(&k.as_str()))
    });
    match (images.next(), images.next()) {
        (Some(one), None) => Digest::parse(&one.digest).ok(),
        _ => None,
    }
}

/// The subject and cosign tag of a layout entry: its `ref.name` when that is one
/// (`sha256-<hex>.sig`), else its cosign `kind` with the layout's image as the subject.
fn cosign_tag(
    listed: &IndexEntry,
    tag: Option<&str>,
    cosign_image: Option<&Digest>,
) -> Option<(Digest, String)> {
    if let Some(tag) = tag
        && let Some(subject) = cosign_subject(tag)
    {
        return Some((subject, tag.to_owned()));
    }
    let kind = listed.annotations.get(KIND)?;
    let (_, suffix) = COSIGN_KINDS.iter().find(|(k, _)| k == kind)?;
    let subject = cosign_image?;
    let tag = format!("{}.{suffix}", referrer::fallback_tag(subject));
    Some((subject.clone(), tag))
}

/// Only OCI manifests and indexes have a `subject`; an entry without a media type may be one.
fn may_have_subject(listed: &IndexEntry) -> bool {
    match listed.media_type.as_deref() {
        None | Some("") => true,
        Some(media_type) => media_type == OCI_MANIFEST || media_type == OCI_INDEX,
    }
}

/// The fallback index entry of a referrer, as the referrers API lists it: its descriptor with
/// its `artifactType` (an image manifest's config media type when it has none) and its
/// annotations pulled up.
fn entry_of(manifest: &RawManifest, parsed: &Parsed) -> Entry {
    let mut json = serde_json::json!({
        "mediaType": parsed.media_type,
        "digest": manifest.digest.to_string(),
        "size": manifest.bytes.len(),
    });
    let config = match parsed.kind {
        Kind::Image => parsed.blobs.first().map(|c| c.media_type.clone()),
        Kind::Index => None,
    };
    if let Some(artifact_type) = parsed
        .artifact_type
        .clone()
        .filter(|t| !t.is_empty())
        .or(config)
    {
        json["artifactType"] = artifact_type.into();
    }
    if !parsed.annotations.is_empty() {
        json["annotations"] = serde_json::json!(parsed.annotations);
    }
    Entry {
        digest: manifest.digest.clone(),
        json,
    }
}

#[cfg(test)]
#[path = "layout_tests.rs"]
mod tests;
