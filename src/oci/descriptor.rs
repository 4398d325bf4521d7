//! Descriptors (what an index entry, a config, a layer or a subject says of the content it
//! names), platforms, and a manifest's exact bytes as read.

use super::digest::Digest;
use bytes::Bytes;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;

/// A platform as written in index entries.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
    #[serde(default)]
    pub variant: Option<String>,
    #[serde(default, rename = "os.version")]
    pub os_version: Option<String>,
}

impl fmt::Display for Platform {
    /// `linux/amd64`, `linux/arm64/v8`, `unknown/unknown`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        match self.variant.as_deref() {
            Some(v) if !v.is_empty() => write!(f, "/{v}"),
            _ => Ok(()),
        }
    }
}

/// A content descriptor: a manifest or blob a registry addresses by digest, with what its
/// referrer says of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    /// Empty when the descriptor has none.
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    pub platform: Option<Platform>,
    pub annotations: BTreeMap<String, String>,
    pub artifact_type: Option<String>,
}

/// The index-entry annotation buildx sets on attestation manifests, and its value.
const REFERENCE_TYPE: &str = "vnd.docker.reference.type";
const ATTESTATION_MANIFEST: &str = "attestation-manifest";

impl Descriptor {
    /// A descriptor of `size` bytes of `media_type` and nothing more.
    pub fn new(digest: Digest, size: u64, media_type: impl Into<String>) -> Descriptor {
        Descriptor {
            media_type: media_type.into(),
            digest,
            size,
            platform: None,
            annotations: BTreeMap::new(),
            artifact_type: None,
        }
    }

    /// A buildx attestation manifest (provenance, SBOM) listed in an index: not an image to run.
    pub fn is_attestation(&self) -> bool {
        self.annotations.get(REFERENCE_TYPE).map(String::as_str) == Some(ATTESTATION_MANIFEST)
    }
}

/// A manifest's exact bytes with its media type and verified digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawManifest {
    pub digest: Digest,
    pub media_type: String,
    pub bytes: Bytes,
}

impl RawManifest {
    /// Its descriptor (digest, size, media type).
    pub fn descriptor(&self) -> Descriptor {
        Descriptor::new(
            self.digest.clone(),
            self.bytes.len() as u64,
            self.media_type.clone(),
        )
    }
}
