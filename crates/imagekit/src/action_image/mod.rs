//! The action's own container image, assembled reproducibly: static binaries per platform + a CA
//! bundle + `SOURCE_DATE_EPOCH` -> one deterministic gzip'd tar layer per platform -> config and
//! manifest per platform -> an image index -> an OCI image layout on disk. The same inputs always
//! give byte-identical blobs and so the same index digest, which is what `action.yml` pins.
//!
//! Each layer holds, in this order, owned by 0:0 with the one fixed mtime:
//!
//! | path                                  | kind | mode |
//! |---------------------------------------|------|------|
//! | `etc/`, `etc/ssl/`, `etc/ssl/certs/`  | dir  | 0755 |
//! | `etc/ssl/certs/ca-certificates.crt`   | file | 0644 |
//! | `registry-action`                     | file | 0755 |
//! | `tmp/`                                | dir  | 1777 |
//!
//! `/tmp` is there because the binary needs a temporary directory (a registry source spills
//! blobs into one) and `FROM scratch` has none; 1777 as on every Linux system.
//! The config has `Entrypoint ["/registry-action"]` and no `User`: GitHub runs container actions
//! as the image's default user (root), and a non-root user cannot write `$GITHUB_OUTPUT`.
//! Attestations (provenance, SBOM) are not part of this layout: the release workflow attests the
//! index digest separately, so the digest depends on the source alone.

pub mod oci;
pub mod tar;

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use flate2::{Compression, GzBuilder};

use crate::Digest;
use crate::media::{OCI_CONFIG, OCI_INDEX, OCI_LAYER_GZIP, OCI_MANIFEST};

use oci::{
    Config, Descriptor, History, Index, LayoutMarker, Manifest, PlatformJson, RootFs, RunConfig,
};

/// Where the binary lives in the image, and the entrypoint.
pub const BINARY_PATH: &str = "registry-action";
/// Where the CA bundle lives in the image (the path OpenSSL and rustls-native-certs read).
pub const CA_BUNDLE_PATH: &str = "etc/ssl/certs/ca-certificates.crt";
/// `PATH` in the config, as Docker sets it for images built `FROM scratch`.
const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Everything that can go wrong assembling or writing the image.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A platform string is not `os/architecture[/variant]`.
    #[error("invalid platform `{input}`: expected os/architecture[/variant], e.g. linux/arm64")]
    InvalidPlatform { input: String },

    /// The same platform was given twice.
    #[error("platform {platform} is given more than once")]
    DuplicatePlatform { platform: Platform },

    /// No binary was given.
    #[error("no platform binaries given: an image needs at least one")]
    NoPlatforms,

    /// `SOURCE_DATE_EPOCH` is not a timestamp.
    #[error("invalid SOURCE_DATE_EPOCH {epoch}: not a representable timestamp")]
    InvalidEpoch { epoch: u64 },

    /// A path cannot be stored in a tar header.
    #[error("cannot store `{path}` in a tar header: {reason}")]
    TarPath { path: String, reason: String },

    /// Serialising a document failed.
    #[error("cannot serialise the image {what}: {source}")]
    Json {
        what: &'static str,
        source: serde_json::Error,
    },

    /// Reading an input or writing the layout failed.
    #[error("{action} {}: {source}", .path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

/// An OCI platform: `linux/amd64`, `linux/arm64/v8`.
///
/// | input             | os    | architecture | variant |
/// |-------------------|-------|--------------|---------|
/// | `linux/amd64`     | linux | amd64        | -       |
/// | `linux/arm64`     | linux | arm64        | v8      |
/// | `linux/arm64/v8`  | linux | arm64        | v8      |
/// | `linux/arm/v7`    | linux | arm          | v7      |
///
/// `arm64` gets the variant `v8`, as Docker normalises it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Platform {
    /// Parses `os/architecture[/variant]`.
    pub fn parse(input: &str) -> Result<Platform, Error> {
        let invalid = || Error::InvalidPlatform {
            input: input.to_owned(),
        };
        let parts: Vec<&str> = input.split('/').collect();
        let valid_part =
            |p: &&str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !(2..=3).contains(&parts.len()) || !parts.iter().all(valid_part) {
            return Err(invalid());
        }
        let mut variant = parts.get(2).map(|v| (*v).to_owned());
        if parts[1] == "arm64" && variant.is_none() {
            variant = Some("v8".to_owned());
        }
        Ok(Platform {
            os: parts[0].to_owned(),
            architecture: parts[1].to_owned(),
            variant,
        })
    }

    fn json(&self) -> PlatformJson {
        PlatformJson {
            architecture: self.architecture.clone(),
            os: self.os.clone(),
            variant: self.variant.clone(),
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(variant) = &self.variant {
            write!(f, "/{variant}")?;
        }
        Ok(())
    }
}

/// What goes into the image.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// The static binary for each platform; the index lists platforms in this map's order.
    pub binaries: BTreeMap<Platform, Vec<u8>>,
    /// The CA bundle (PEM), shipped as `/etc/ssl/certs/ca-certificates.crt`.
    pub ca_bundle: Vec<u8>,
    /// Seconds since the epoch: every file's mtime and the config's `created`.
    pub source_date_epoch: u64,
    /// Config labels (`org.opencontainers.image.*`), written sorted by key.
    pub labels: BTreeMap<String, String>,
}

/// One platform's image, as assembled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformImage {
    pub platform: Platform,
    pub manifest_digest: Digest,
    /// The uncompressed layer (the tar): what the image takes on disk once pulled.
    pub layer_tar_bytes: u64,
    /// The compressed layer (tar+gzip).
    pub layer_gzip_bytes: u64,
    /// What a pull transfers: compressed layer + config + manifest.
    pub pull_bytes: u64,
}

/// An assembled image layout, in memory: every blob by digest and the layout's `index.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The digest of the image index: the multi-platform image that `action.yml` pins.
    pub index_digest: Digest,
    pub platforms: Vec<PlatformImage>,
    /// Every blob (layers, configs, manifests, the image index), by digest.
    pub blobs: BTreeMap<Digest, Vec<u8>>,
    /// The layout's `index.json`: one descriptor, the image index.
    pub index_json: Vec<u8>,
}

/// Assembles the image: pure, no I/O. Same inputs, same bytes.
pub fn assemble(inputs: &Inputs) -> Result<Layout, Error> {
    if inputs.binaries.is_empty() {
        return Err(Error::NoPlatforms);
    }
    let created = created(inputs.source_date_epoch)?;
    let mut blobs = BTreeMap::new();
    let mut manifests = Vec::new();
    let mut platforms = Vec::new();
    for (platform, binary) in &inputs.binaries {
        let layer_tar = tar::archive(
            &layer_entries(binary, &inputs.ca_bundle),
            inputs.source_date_epoch,
        )?;
        let layer_gzip = gzip(&layer_tar)?;
        let diff_id = Digest::sha256(&layer_tar);
        let layer = descriptor(OCI_LAYER_GZIP, &layer_gzip, None);

        let config = image_config(platform, &diff_id, &created, &inputs.labels);
        let config = to_json(&config, "config")?;
        let config_descriptor = descriptor(OCI_CONFIG, &config, None);

        let manifest = Manifest {
            schema_version: 2,
            media_type: OCI_MANIFEST,
            config: config_descriptor,
            layers: vec![layer.clone()],
        };
        let manifest = to_json(&manifest, "manifest")?;
        let manifest_descriptor = descriptor(OCI_MANIFEST, &manifest, Some(platform.json()));

        platforms.push(PlatformImage {
            platform: platform.clone(),
            manifest_digest: Digest::sha256(&manifest),
            layer_tar_bytes: layer_tar.len() as u64,
            layer_gzip_bytes: layer_gzip.len() as u64,
            pull_bytes: (layer_gzip.len() + config.len() + manifest.len()) as u64,
        });
        manifests.push(manifest_descriptor);
        for blob in [layer_gzip, config, manifest] {
            blobs.insert(Digest::sha256(&blob), blob);
        }
    }

    let index = to_json(
        &Index {
            schema_version: 2,
            media_type: OCI_INDEX,
            manifests,
        },
        "index",
    )?;
    let index_descriptor = descriptor(OCI_INDEX, &index, None);
    let index_digest = Digest::sha256(&index);
    blobs.insert(index_digest.clone(), index);
    let index_json = to_json(
        &Index {
            schema_version: 2,
            media_type: OCI_INDEX,
            manifests: vec![index_descriptor],
        },
        "layout index.json",
    )?;
    Ok(Layout {
        index_digest,
        platforms,
        blobs,
        index_json,
    })
}

/// A platform's image configuration: the entrypoint, `PATH`, the labels, its one layer.
fn image_config(
    platform: &Platform,
    diff_id: &Digest,
    created: &str,
    labels: &BTreeMap<String, String>,
) -> Config {
    Config {
        created: created.to_owned(),
        architecture: platform.architecture.clone(),
        os: platform.os.clone(),
        variant: platform.variant.clone(),
        config: RunConfig {
            env: vec![DEFAULT_PATH.to_owned()],
            entrypoint: vec![format!("/{BINARY_PATH}")],
            working_dir: "/".to_owned(),
            labels: labels.clone(),
        },
        rootfs: RootFs {
            kind: "layers",
            diff_ids: vec![diff_id.to_string()],
        },
        history: vec![History {
            created: created.to_owned(),
            created_by: format!(
                "registry-action image assembler: /{BINARY_PATH}, /{CA_BUNDLE_PATH}"
            ),
        }],
    }
}

/// Writes `layout` as an OCI image layout into `dir` (created if missing): `oci-layout`,
/// `index.json` and `blobs/sha256/<hex>`. Blobs already in `dir` are left as they are; the
/// caller starts from an empty directory for a layout that holds only this image.
pub fn write_layout(layout: &Layout, dir: &Path) -> Result<(), Error> {
    let blob_dir = dir.join("blobs").join("sha256");
    std::fs::create_dir_all(&blob_dir).map_err(|source| Error::Io {
        action: "cannot create",
        path: blob_dir.clone(),
        source,
    })?;
    let marker = to_json(
        &LayoutMarker {
            image_layout_version: "1.0.0",
        },
        "oci-layout",
    )?;
    write_file(&dir.join("oci-layout"), &marker)?;
    for (digest, bytes) in &layout.blobs {
        write_file(&blob_dir.join(digest.hex()), bytes)?;
    }
    write_file(&dir.join("index.json"), &layout.index_json)
}

/// The layer's entries, sorted by path (see the module table).
fn layer_entries(binary: &[u8], ca_bundle: &[u8]) -> Vec<tar::Entry> {
    let mut entries = vec![
        tar::Entry::directory("etc", 0o755),
        tar::Entry::directory("etc/ssl", 0o755),
        tar::Entry::directory("etc/ssl/certs", 0o755),
        tar::Entry::file(CA_BUNDLE_PATH, 0o644, ca_bundle.to_vec()),
        tar::Entry::file(BINARY_PATH, 0o755, binary.to_vec()),
        tar::Entry::directory("tmp", 0o1777),
    ];
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    entries
}

/// gzip with a fixed header: no file name, mtime 0, best compression.
fn gzip(bytes: &[u8]) -> Result<Vec<u8>, Error> {
    let io = |source| Error::Io {
        action: "cannot compress the layer",
        path: PathBuf::from("<memory>"),
        source,
    };
    let mut encoder = GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), Compression::best());
    encoder.write_all(bytes).map_err(io)?;
    encoder.finish().map_err(io)
}

/// `SOURCE_DATE_EPOCH` as RFC 3339 (`2024-05-01T12:00:00Z`).
fn created(epoch: u64) -> Result<String, Error> {
    i64::try_from(epoch)
        .ok()
        .and_then(|secs| jiff::Timestamp::from_second(secs).ok())
        .map(|t| t.to_string())
        .ok_or(Error::InvalidEpoch { epoch })
}

fn descriptor(
    media_type: &'static str,
    bytes: &[u8],
    platform: Option<PlatformJson>,
) -> Descriptor {
    Descriptor {
        media_type,
        digest: Digest::sha256(bytes).to_string(),
        size: bytes.len() as u64,
        platform,
    }
}

fn to_json<T: serde::Serialize>(value: &T, what: &'static str) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(value).map_err(|source| Error::Json { what, source })
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    std::fs::write(path, bytes).map_err(|source| Error::Io {
        action: "cannot write",
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests;
