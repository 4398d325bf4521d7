//! A manifest as parsed: what it lists (child manifests or blobs), its subject, artifact type and
//! annotations, read from the exact bytes without re-serializing them.

use super::descriptor::{Descriptor, Platform};
use super::digest::Digest;
use super::media::{
    DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_SCHEMA1, OCI_INDEX, OCI_MANIFEST,
};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Why a manifest could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error(
        "Docker schema 1 manifests are not supported (deprecated since 2017); re-push the image with a \
         current Docker or buildx, or convert it: `skopeo copy --format v2s2 SRC DST`"
    )]
    Schema1,
    #[error(
        "unsupported manifest media type `{0}` (supported: OCI image manifest and index, Docker \
         schema 2 manifest and manifest list)"
    )]
    UnsupportedMediaType(String),
    #[error("manifest declares media type `{declared}` but is served as `{given}`")]
    MediaTypeConflict { given: String, declared: String },
    #[error("malformed {media_type}: {message}")]
    Invalid { media_type: String, message: String },
}

/// Whether a manifest lists manifests or blobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// OCI index or Docker manifest list.
    Index,
    /// OCI image manifest or Docker schema 2 manifest.
    Image,
}

/// What one manifest refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// The effective media type: the declared `mediaType`, else the one it was given with.
    pub media_type: String,
    pub kind: Kind,
    /// Child manifests (an index's entries).
    pub manifests: Vec<Descriptor>,
    /// Blobs: the config, then the layers.
    pub blobs: Vec<Descriptor>,
    /// The image this one refers to (signatures, SBOMs): recorded, not followed.
    pub subject: Option<Descriptor>,
    pub artifact_type: Option<String>,
    pub annotations: BTreeMap<String, String>,
}

impl Parsed {
    /// The platforms of an index's entries, in order. Buildx attestation manifests are not
    /// platforms (buildx lists them as `unknown/unknown`), so they are left out here; they are
    /// still children of the index and copied with it.
    pub fn platforms(&self) -> Vec<String> {
        self.manifests
            .iter()
            .filter(|d| !d.is_attestation())
            .filter_map(|d| d.platform.as_ref().map(Platform::to_string))
            .collect()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Doc {
    schema_version: Option<i64>,
    media_type: Option<String>,
    artifact_type: Option<String>,
    config: Option<RawDescriptor>,
    layers: Option<Vec<RawDescriptor>>,
    manifests: Option<Vec<RawDescriptor>>,
    subject: Option<RawDescriptor>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDescriptor {
    media_type: Option<String>,
    digest: String,
    size: u64,
    platform: Option<Platform>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    artifact_type: Option<String>,
}

fn kind_of(media_type: &str) -> Option<Kind> {
    match media_type {
        OCI_INDEX | DOCKER_MANIFEST_LIST => Some(Kind::Index),
        OCI_MANIFEST | DOCKER_MANIFEST => Some(Kind::Image),
        _ => None,
    }
}

/// Parses a manifest of `media_type` (the descriptor's or the registry's `Content-Type`; empty
/// when unknown, then the declared `mediaType` or the shape decides).
pub fn parse_manifest(media_type: &str, bytes: &[u8]) -> Result<Parsed, ParseError> {
    if DOCKER_SCHEMA1.contains(&media_type) {
        return Err(ParseError::Schema1);
    }
    let invalid = |media_type: &str, message: String| ParseError::Invalid {
        media_type: if media_type.is_empty() {
            "manifest"
        } else {
            media_type
        }
        .to_owned(),
        message,
    };
    let doc: Doc = serde_json::from_slice(bytes).map_err(|e| invalid(media_type, e.to_string()))?;
    let declared = doc.media_type.as_deref().filter(|m| !m.is_empty());
    if doc.schema_version == Some(1) || declared.is_some_and(|d| DOCKER_SCHEMA1.contains(&d)) {
        return Err(ParseError::Schema1);
    }
    let effective = match (declared, media_type) {
        (Some(d), given) if given.is_empty() || kind_of(given).is_none() => d.to_owned(),
        (Some(d), given) if d != given && kind_of(d).is_some() => {
            return Err(ParseError::MediaTypeConflict {
                given: given.to_owned(),
                declared: d.to_owned(),
            });
        }
        (_, "") if doc.manifests.is_some() => OCI_INDEX.to_owned(),
        (_, "") => OCI_MANIFEST.to_owned(),
        (_, given) => given.to_owned(),
    };
    let kind =
        kind_of(&effective).ok_or_else(|| ParseError::UnsupportedMediaType(effective.clone()))?;
    if doc.schema_version != Some(2) {
        return Err(invalid(&effective, "schemaVersion must be 2".into()));
    }
    let convert = |raw: RawDescriptor, field: &str| -> Result<Descriptor, ParseError> {
        let digest =
            Digest::parse(&raw.digest).map_err(|e| invalid(&effective, format!("{field}: {e}")))?;
        Ok(Descriptor {
            media_type: raw.media_type.unwrap_or_default(),
            digest,
            size: raw.size,
            platform: raw.platform,
            annotations: raw.annotations,
            artifact_type: raw.artifact_type,
        })
    };
    let mut parsed = Parsed {
        media_type: effective.clone(),
        kind,
        manifests: Vec::new(),
        blobs: Vec::new(),
        subject: doc.subject.map(|s| convert(s, "subject")).transpose()?,
        artifact_type: doc.artifact_type,
        annotations: doc.annotations,
    };
    match kind {
        Kind::Index => {
            let entries = doc
                .manifests
                .ok_or_else(|| invalid(&effective, "an index needs `manifests`".into()))?;
            for entry in entries {
                parsed.manifests.push(convert(entry, "manifests")?);
            }
        }
        Kind::Image => {
            let config = doc
                .config
                .ok_or_else(|| invalid(&effective, "an image manifest needs `config`".into()))?;
            parsed.blobs.push(convert(config, "config")?);
            for layer in doc.layers.unwrap_or_default() {
                parsed.blobs.push(convert(layer, "layers")?);
            }
        }
    }
    Ok(parsed)
}

#[cfg(test)]
#[path = "manifest_tests.rs"]
mod tests;
