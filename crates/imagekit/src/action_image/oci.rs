//! The OCI documents of the image (config, manifest, index, layout marker) as plain structs: serde
//! writes their fields in declaration order, so serialising the same values always gives the same
//! bytes, and the digests derived from those bytes are stable.

use std::collections::BTreeMap;

use serde::Serialize;

/// `oci-layout` at the root of an image layout.
#[derive(Debug, Serialize)]
pub struct LayoutMarker {
    #[serde(rename = "imageLayoutVersion")]
    pub image_layout_version: &'static str,
}

/// An OCI platform (`os`, `architecture`, optional `variant`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlatformJson {
    pub architecture: String,
    pub os: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// A content descriptor.
#[derive(Debug, Clone, Serialize)]
pub struct Descriptor {
    #[serde(rename = "mediaType")]
    pub media_type: &'static str,
    pub digest: String,
    pub size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<PlatformJson>,
}

/// The image configuration (OCI image config, the fields Docker reads).
#[derive(Debug, Serialize)]
pub struct Config {
    pub created: String,
    pub architecture: String,
    pub os: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    pub config: RunConfig,
    pub rootfs: RootFs,
    pub history: Vec<History>,
}

/// How a container of the image runs. No `User`: container actions run as the image's default
/// user, root (see `Dockerfile`).
#[derive(Debug, Serialize)]
pub struct RunConfig {
    #[serde(rename = "Env")]
    pub env: Vec<String>,
    #[serde(rename = "Entrypoint")]
    pub entrypoint: Vec<String>,
    #[serde(rename = "WorkingDir")]
    pub working_dir: String,
    #[serde(rename = "Labels", skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// The uncompressed layer digests.
#[derive(Debug, Serialize)]
pub struct RootFs {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub diff_ids: Vec<String>,
}

/// One history entry per layer.
#[derive(Debug, Serialize)]
pub struct History {
    pub created: String,
    pub created_by: String,
}

/// An image manifest.
#[derive(Debug, Serialize)]
pub struct Manifest {
    #[serde(rename = "schemaVersion")]
    pub schema_version: u32,
    #[serde(rename = "mediaType")]
    pub media_type: &'static str,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
}

/// An image index (the multi-platform image, and the layout's `index.json`).
#[derive(Debug, Serialize)]
pub struct Index {
    #[serde(rename = "schemaVersion")]
    pub schema_version: u32,
    #[serde(rename = "mediaType")]
    pub media_type: &'static str,
    pub manifests: Vec<Descriptor>,
}
