//! The names referrers go by on registries without the OCI 1.1 referrers API: the referrers tag
//! schema's `sha256-<hex>` (an index of the subject's referrers) and cosign's legacy
//! `sha256-<hex>.sig` / `.att` / `.sbom` tags; the entries of a fallback index and their merge
//! (what a destination lists already stays, order by digest), and the referrers found for an
//! image, by subject.

use super::digest::{Algorithm, Digest};
use super::graph::ImageGraph;
use super::media::OCI_INDEX;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// cosign's legacy suffixes: signature, attestation, SBOM.
const COSIGN_SUFFIXES: [&str; 3] = ["sig", "att", "sbom"];

/// The digest a cosign-style tag `sha256-<hex>.sig` / `.att` / `.sbom` refers to.
pub fn cosign_subject(tag: &str) -> Option<Digest> {
    let rest = tag.strip_prefix("sha256-")?;
    let (hex, suffix) = rest.split_once('.')?;
    COSIGN_SUFFIXES
        .contains(&suffix)
        .then(|| Digest::parse(&format!("sha256:{hex}")).ok())
        .flatten()
}

/// The referrers tag schema's tag for `subject`: `<algorithm>-<hex>`.
pub fn fallback_tag(subject: &Digest) -> String {
    format!("{}-{}", subject.algorithm().name(), subject.hex())
}

/// The subject whose referrers index a tag of the referrers tag schema holds.
pub fn fallback_subject(tag: &str) -> Option<Digest> {
    let hex = tag.strip_prefix("sha256-")?;
    (hex.len() == 64)
        .then(|| Digest::parse(&format!("{}:{hex}", Algorithm::Sha256.name())).ok())
        .flatten()
}

/// cosign's legacy tags of `subject`, in suffix order.
pub fn cosign_tags(subject: &Digest) -> Vec<String> {
    COSIGN_SUFFIXES
        .iter()
        .map(|suffix| format!("{}.{suffix}", fallback_tag(subject)))
        .collect()
}

/// One entry of a fallback index: the referrer's digest and the entry as written (its
/// `artifactType` and annotations kept as the source listed them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub digest: Digest,
    pub json: Value,
}

/// Why a fallback index could not be read.
#[derive(Debug, thiserror::Error)]
#[error("fallback index: {0}")]
pub struct IndexError(String);

/// The entries of fallback index `bytes`, in its order; an entry without a valid digest is an
/// error (a merge must not drop what it cannot read).
pub fn entries(bytes: &[u8]) -> Result<Vec<Entry>, IndexError> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| IndexError(e.to_string()))?;
    let listed = match doc.get("manifests") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(listed)) => listed,
        Some(_) => return Err(IndexError("`manifests` is not a list".into())),
    };
    listed
        .iter()
        .map(|json| {
            let digest = json
                .get("digest")
                .and_then(Value::as_str)
                .and_then(|d| Digest::parse(d).ok())
                .ok_or_else(|| IndexError(format!("entry without a digest: {}", excerpt(json))))?;
            Ok(Entry {
                digest,
                json: json.clone(),
            })
        })
        .collect()
}

/// Characters of an unreadable entry quoted in an error.
const EXCERPT_CHARS: usize = 120;

/// The start of `json` as JSON text (strings escaped, so no line break of a registry's reaches
/// the log), cut at [`EXCERPT_CHARS`].
fn excerpt(json: &Value) -> String {
    let text = json.to_string();
    match text.char_indices().nth(EXCERPT_CHARS) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text,
    }
}

/// `existing` (a destination's fallback index, when it has one) with `wanted` added: every entry
/// `existing` has stays as it is, those it lacks are added, all ordered by digest; its other
/// fields stay. `None` when it lists every wanted entry already (nothing to write).
pub fn merge(existing: Option<&[u8]>, wanted: &[Entry]) -> Result<Option<Vec<u8>>, IndexError> {
    let (mut doc, mut listed) = match existing {
        Some(bytes) => {
            let doc: Map<String, Value> =
                serde_json::from_slice(bytes).map_err(|e| IndexError(e.to_string()))?;
            (doc, entries(bytes)?)
        }
        None => (Map::new(), Vec::new()),
    };
    let missing: Vec<&Entry> = wanted
        .iter()
        .filter(|w| !listed.iter().any(|l| l.digest == w.digest))
        .collect();
    if missing.is_empty() && existing.is_some() {
        return Ok(None);
    }
    listed.extend(missing.into_iter().cloned());
    listed.sort_by(|a, b| a.digest.cmp(&b.digest));
    listed.dedup_by(|a, b| a.digest == b.digest);
    doc.insert("schemaVersion".into(), Value::from(2));
    doc.insert("mediaType".into(), Value::from(OCI_INDEX));
    doc.insert(
        "manifests".into(),
        Value::Array(listed.into_iter().map(|e| e.json).collect()),
    );
    serde_json::to_vec(&doc)
        .map(Some)
        .map_err(|e| IndexError(e.to_string()))
}

/// A referrer as found in the source: listed in the fallback index of `subject`.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    pub subject: Digest,
    pub entry: Entry,
}

/// Everything that refers to an image, found in its source: the fallback indexes' entries by
/// subject, cosign's legacy tags, and each referrer's own graph (manifests and blobs to copy).
/// Referrers of referrers are here too, after what they refer to.
#[derive(Debug, Clone, Default)]
pub struct Referrers {
    /// In the order found: a referrer's own referrers after it.
    pub listed: Vec<Listed>,
    /// cosign legacy tags (`sha256-<hex>.sig`) and the manifest each points at.
    pub tags: Vec<(String, Digest)>,
    /// Each referrer manifest's graph, by its digest.
    pub graphs: BTreeMap<Digest, ImageGraph>,
    /// Referrer digests in the order found (each once): the copy order.
    pub order: Vec<Digest>,
}

impl Referrers {
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Records what `subject` lists: its fallback index or API entries and its legacy tags.
    /// Returns the referrers not `seen` before (now seen), to read and list in turn.
    pub fn add_listed(
        &mut self,
        seen: &mut BTreeSet<Digest>,
        subject: &Digest,
        entries: Vec<Entry>,
        tags: Vec<(String, Digest)>,
    ) -> Vec<Digest> {
        let mut new = Vec::new();
        for entry in entries {
            if seen.insert(entry.digest.clone()) {
                new.push(entry.digest.clone());
            }
            self.listed.push(Listed {
                subject: subject.clone(),
                entry,
            });
        }
        for (tag, digest) in tags {
            if seen.insert(digest.clone()) {
                new.push(digest.clone());
            }
            self.tags.push((tag, digest));
        }
        new
    }

    /// The subjects with a fallback index, each with its entries, ordered by subject.
    pub fn by_subject(&self) -> BTreeMap<Digest, Vec<Entry>> {
        let mut by: BTreeMap<Digest, Vec<Entry>> = BTreeMap::new();
        for listed in &self.listed {
            let entries = by.entry(listed.subject.clone()).or_default();
            if !entries.iter().any(|e| e.digest == listed.entry.digest) {
                entries.push(listed.entry.clone());
            }
        }
        by
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An entry a registry wrote without a digest is quoted in the error as escaped JSON and
    /// cut short: its text cannot start a line of the log (a workflow command) or flood it.
    #[test]
    fn an_unreadable_entry_is_quoted_escaped_and_short() {
        let long = "x".repeat(500);
        let index = serde_json::json!({"manifests": [{"annotations": {"a": format!("\n::warning::hi{long}")}}]});
        let error = entries(index.to_string().as_bytes())
            .unwrap_err()
            .to_string();
        assert!(!error.contains('\n'), "{error}");
        assert!(error.contains("\\n::warning::hi"), "{error}");
        assert!(error.len() < 200 && error.ends_with("..."), "{error}");
    }

    fn entry(seed: &str, artifact_type: &str) -> Entry {
        let digest = Digest::sha256(seed.as_bytes());
        Entry {
            json: serde_json::json!({
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": digest.to_string(),
                "size": 10,
                "artifactType": artifact_type,
            }),
            digest,
        }
    }

    #[test]
    fn a_merge_keeps_what_the_destination_lists_and_orders_by_digest() {
        let (theirs, ours, shared) = (
            entry("theirs", "x/theirs"),
            entry("ours", "x/ours"),
            entry("shared", "x/s"),
        );
        let existing = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [shared.json, theirs.json],
            "annotations": {"kept": "yes"},
        }))
        .unwrap();
        let merged = merge(Some(&existing), &[ours.clone(), shared.clone()])
            .unwrap()
            .expect("one entry to add");
        let listed: Vec<Digest> = entries(&merged)
            .unwrap()
            .into_iter()
            .map(|e| e.digest)
            .collect();
        let mut expected = vec![
            theirs.digest.clone(),
            ours.digest.clone(),
            shared.digest.clone(),
        ];
        expected.sort();
        assert_eq!(listed, expected);
        let doc: Value = serde_json::from_slice(&merged).unwrap();
        assert_eq!(doc["annotations"]["kept"], "yes");
        assert!(doc["manifests"][0]["artifactType"].as_str().is_some());
        // Everything listed already: nothing to write; the merge is deterministic.
        assert_eq!(
            merge(Some(&merged), &[ours.clone(), theirs.clone()]).unwrap(),
            None
        );
        assert_eq!(
            merge(None, &[ours.clone(), theirs.clone()]).unwrap(),
            merge(None, &[theirs, ours]).unwrap()
        );
    }

    #[test]
    fn an_unreadable_entry_is_an_error_not_dropped() {
        let bad = br#"{"schemaVersion":2,"manifests":[{"size":3}]}"#;
        assert!(merge(Some(bad), &[entry("a", "x")]).is_err());
        assert!(entries(b"not json").is_err());
        assert_eq!(entries(br#"{"schemaVersion":2}"#).unwrap(), vec![]);
    }

    #[test]
    fn cosign_tags_name_the_subject() {
        let subject = Digest::sha256(b"image");
        for tag in cosign_tags(&subject) {
            assert_eq!(cosign_subject(&tag), Some(subject.clone()));
        }
    }

    #[test]
    fn tags_name_their_subject() {
        let subject = Digest::sha256(b"image");
        let fallback = fallback_tag(&subject);
        assert_eq!(fallback, format!("sha256-{}", subject.hex()));
        assert_eq!(fallback_subject(&fallback), Some(subject.clone()));
        for suffix in COSIGN_SUFFIXES {
            assert_eq!(
                cosign_subject(&format!("{fallback}.{suffix}")),
                Some(subject.clone())
            );
        }
        assert_eq!(cosign_subject(&format!("{fallback}.txt")), None);
        assert_eq!(cosign_subject(&fallback), None);
        assert_eq!(fallback_subject(&format!("{fallback}.sig")), None);
        assert_eq!(fallback_subject("sha256-abc"), None);
        assert_eq!(fallback_subject("latest"), None);
    }
}
