//! The source image as a graph: the root manifest or index, every child manifest (nested indexes,
//! buildx attestation manifests), every blob and the platforms, read through a
//! [`Source`] and parsed without re-serializing anything. The planner works from this graph.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use futures_util::future::{BoxFuture, try_join_all};
use serde::Deserialize;

use crate::registry::Digest;
use crate::registry::manifests::{DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST};
use crate::source::{self, RawManifest, Source};

const DOCKER_SCHEMA1: [&str; 2] = [
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
];

/// How deep indexes may nest (buildx nests at most one level; this only stops runaway input).
const MAX_DEPTH: usize = 8;

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

/// Errors of [`read_graph`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading the source failed (boxed: source errors are large).
    #[error(transparent)]
    Source(Box<source::Error>),
    #[error("manifest {digest}: {source}")]
    Manifest {
        digest: Digest,
        #[source]
        source: ParseError,
    },
    #[error("manifest {digest} is {actual} bytes, its descriptor says {expected}")]
    ManifestSize {
        digest: Digest,
        expected: u64,
        actual: u64,
    },
    #[error("blob {digest} is described with two sizes, {first} and {second}")]
    BlobSizeConflict {
        digest: Digest,
        first: u64,
        second: u64,
    },
    #[error("indexes nest deeper than {MAX_DEPTH} levels")]
    TooDeep,
}

impl From<source::Error> for Error {
    fn from(err: source::Error) -> Error {
        Error::Source(Box::new(err))
    }
}

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

/// A content descriptor (an index entry, a config, a layer, a subject).
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
    /// A buildx attestation manifest (provenance, SBOM) listed in an index: not an image to run.
    pub fn is_attestation(&self) -> bool {
        self.annotations.get(REFERENCE_TYPE).map(String::as_str) == Some(ATTESTATION_MANIFEST)
    }
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

/// A blob to copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobDesc {
    pub digest: Digest,
    pub size: u64,
    pub media_type: String,
}

/// A manifest with what it refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub manifest: RawManifest,
    pub parsed: Parsed,
}

/// Everything a copy of the image moves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageGraph {
    /// The manifest or index the source names (also last in `manifests`).
    pub root: Node,
    /// Every manifest once, children before their parents, the root last: a safe push order.
    pub manifests: Vec<Node>,
    /// Every blob once, in first-seen order.
    pub blobs: Vec<BlobDesc>,
    /// Platforms of all indexes' entries, unique, in first-seen order; attestation manifests
    /// are not platforms (see [`Parsed::platforms`]), though they are in `manifests`.
    pub platforms: Vec<String>,
}

impl ImageGraph {
    /// The images referred to by `subject` fields (not part of this graph).
    pub fn subjects(&self) -> Vec<&Descriptor> {
        self.manifests
            .iter()
            .filter_map(|n| n.parsed.subject.as_ref())
            .collect()
    }

    /// The blobs' total size.
    pub fn blob_bytes(&self) -> u64 {
        self.blobs.iter().map(|b| b.size).sum()
    }
}

/// Reads the root, then every child manifest (all of one index concurrently), collecting blobs.
pub async fn read_graph(source: &Source) -> Result<ImageGraph, Error> {
    let root = source.root().clone();
    let parsed = parse_manifest(&root.media_type, &root.bytes).map_err(|e| Error::Manifest {
        digest: root.digest.clone(),
        source: e,
    })?;
    let root = Node {
        manifest: RawManifest {
            media_type: parsed.media_type.clone(),
            ..root
        },
        parsed,
    };
    let mut walk = Walk::default();
    walk.seen.insert(root.manifest.digest.clone());
    walk.children(source, &root.parsed, 0).await?;
    walk.push(root.clone())?;
    Ok(ImageGraph {
        root,
        manifests: walk.manifests,
        blobs: walk.blobs,
        platforms: walk.platforms,
    })
}

#[derive(Default)]
struct Walk {
    seen: HashSet<Digest>,
    manifests: Vec<Node>,
    blobs: Vec<BlobDesc>,
    blob_sizes: HashMap<Digest, u64>,
    platforms: Vec<String>,
}

impl Walk {
    fn children<'a>(
        &'a mut self,
        source: &'a Source,
        parent: &'a Parsed,
        depth: usize,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            if depth >= MAX_DEPTH {
                return Err(Error::TooDeep);
            }
            for platform in parent.platforms() {
                if !self.platforms.contains(&platform) {
                    self.platforms.push(platform);
                }
            }
            let new: Vec<&Descriptor> = parent
                .manifests
                .iter()
                .filter(|d| self.seen.insert(d.digest.clone()))
                .collect();
            let nodes = try_join_all(new.into_iter().map(|d| fetch(source, d))).await?;
            for node in nodes {
                self.children(source, &node.parsed, depth + 1).await?;
                self.push(node)?;
            }
            Ok(())
        })
    }

    fn push(&mut self, node: Node) -> Result<(), Error> {
        for blob in &node.parsed.blobs {
            match self.blob_sizes.get(&blob.digest) {
                Some(&first) if first != blob.size => {
                    return Err(Error::BlobSizeConflict {
                        digest: blob.digest.clone(),
                        first,
                        second: blob.size,
                    });
                }
                Some(_) => {}
                None => {
                    self.blob_sizes.insert(blob.digest.clone(), blob.size);
                    self.blobs.push(BlobDesc {
                        digest: blob.digest.clone(),
                        size: blob.size,
                        media_type: blob.media_type.clone(),
                    });
                }
            }
        }
        self.manifests.push(node);
        Ok(())
    }
}

/// Reads a child manifest; the descriptor's size and media type are checked and preferred.
async fn fetch(source: &Source, descriptor: &Descriptor) -> Result<Node, Error> {
    let mut manifest = source.manifest(&descriptor.digest).await?;
    let actual = manifest.bytes.len() as u64;
    if actual != descriptor.size {
        return Err(Error::ManifestSize {
            digest: descriptor.digest.clone(),
            expected: descriptor.size,
            actual,
        });
    }
    if !descriptor.media_type.is_empty() {
        manifest.media_type = descriptor.media_type.clone();
    }
    let parsed =
        parse_manifest(&manifest.media_type, &manifest.bytes).map_err(|e| Error::Manifest {
            digest: descriptor.digest.clone(),
            source: e,
        })?;
    manifest.media_type = parsed.media_type.clone();
    Ok(Node { manifest, parsed })
}

#[cfg(test)]
#[path = "graph_tests.rs"]
mod tests;
