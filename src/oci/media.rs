//! Media types of manifests: the four this project copies (OCI and Docker, image and index) and
//! the limits the OCI spec sets on reading them.

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// Docker's schema 1, refused with a hint (deprecated since 2017).
pub const DOCKER_SCHEMA1: [&str; 2] = [
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
];

/// Every manifest type the client accepts, OCI and Docker, image and index.
pub const MANIFEST_TYPES: [&str; 4] = [
    OCI_INDEX,
    OCI_MANIFEST,
    DOCKER_MANIFEST_LIST,
    DOCKER_MANIFEST,
];

/// The largest manifest read (the OCI spec's recommended limit).
pub const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;

/// Whether `media_type` (parameters allowed) is an index or manifest list: a manifest that lists
/// other manifests.
pub fn is_index(media_type: &str) -> bool {
    let base = media_type.split(';').next().unwrap_or("").trim();
    base == OCI_INDEX || base == DOCKER_MANIFEST_LIST
}
