//! Deterministic sample images for tests, the demo and benchmarks: writes an OCI image layout
//! (optionally tarred as an OCI archive) whose bytes depend only on the [`SampleSpec`]: fixed
//! timestamps, layer contents from a seeded generator, real tar layers in stored (level-0) gzip.

mod layer;

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use layer::{Layer, write_layer};
pub use layer::{Noise, write_archive};

use crate::Digest;
use crate::media::{
    DOCKER_CONFIG, DOCKER_LAYER_GZIP, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, IN_TOTO, OCI_CONFIG,
    OCI_INDEX, OCI_LAYER_GZIP, OCI_MANIFEST,
};

/// What to generate. Every field changes the output; the same spec gives the same bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleSpec {
    /// `os/arch[/variant]`, one image per platform.
    pub platforms: Vec<String>,
    /// Payload sizes of each platform's own layers, bottom to top (the last is the top layer).
    pub layer_sizes: Vec<u64>,
    /// A base layer of this payload size, identical in every platform, below the others.
    pub shared_base: Option<u64>,
    /// A zero-byte layer in every platform, above the base.
    pub empty_layer: bool,
    /// Docker schema 2 media types instead of OCI ones.
    pub docker_media_types: bool,
    /// A buildx-style attestation manifest per platform (platform `unknown/unknown`).
    pub attestation: bool,
    /// The platform index wrapped in an outer index.
    pub nested_index: bool,
    /// The root is the first platform's manifest itself, without an index.
    pub single_manifest: bool,
    /// The image the root refers to (`subject`, OCI only).
    pub subject: Option<Descriptor>,
    /// Seeds every layer but the top ones.
    pub seed: u64,
    /// Seeds each platform's top layer: change it alone for "a new build, new top layers".
    pub top_layer_seed: u64,
    /// The `org.opencontainers.image.ref.name` of the root in `index.json`. With a name, entries of
    /// other names already in `index.json` are kept (several images in one layout).
    pub ref_name: Option<String>,
}

impl Default for SampleSpec {
    /// Two platforms (linux/amd64, linux/arm64) sharing a 96 KiB base, two small own layers each.
    fn default() -> SampleSpec {
        SampleSpec {
            platforms: vec!["linux/amd64".into(), "linux/arm64".into()],
            layer_sizes: vec![48 * 1024, 20_001],
            shared_base: Some(96 * 1024),
            empty_layer: false,
            docker_media_types: false,
            attestation: false,
            nested_index: false,
            single_manifest: false,
            subject: None,
            seed: 1,
            top_layer_seed: 1,
            ref_name: None,
        }
    }
}

/// A written blob or manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
}

impl Descriptor {
    fn json(&self) -> Value {
        json!({ "mediaType": self.media_type, "digest": self.digest.to_string(), "size": self.size })
    }
}

/// What [`write_layout`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleImage {
    pub dir: PathBuf,
    /// The manifest or index `index.json` points at.
    pub root: Descriptor,
    /// Every other manifest (platform images, attestations, the inner index).
    pub manifests: Vec<Descriptor>,
    /// Every blob once (configs, layers), in the order written.
    pub blobs: Vec<Descriptor>,
}

/// Writes the layout into `dir` (created when missing).
pub fn write_layout(dir: &Path, spec: &SampleSpec) -> std::io::Result<SampleImage> {
    std::fs::create_dir_all(dir.join("blobs/sha256"))?;
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    let mut image = SampleImage {
        dir: dir.to_owned(),
        root: Descriptor {
            media_type: String::new(),
            digest: Digest::sha256(b""),
            size: 0,
        },
        manifests: Vec::new(),
        blobs: Vec::new(),
    };
    let types = Types::new(spec.docker_media_types);
    let entries = write_platforms(dir, spec, &types, &mut image)?;
    image.root = write_root(dir, spec, &types, entries, &mut image)?;
    write_index_json(dir, spec, &image.root)?;
    let mut blobs = Vec::new();
    for layer_blob in image.blobs.drain(..) {
        if !blobs.contains(&layer_blob) {
            blobs.push(layer_blob);
        }
    }
    image.blobs = blobs;
    Ok(image)
}

/// Each platform's layers, config and manifest (and attestation, when asked): returns the
/// entries of the platform index, the platforms first, then their attestations.
fn write_platforms(
    dir: &Path,
    spec: &SampleSpec,
    types: &Types,
    image: &mut SampleImage,
) -> std::io::Result<Vec<Value>> {
    let base = match spec.shared_base {
        Some(size) => Some(write_layer(dir, types.layer, ("base", spec.seed, 0), size)?),
        None => None,
    };
    let mut entries = Vec::new();
    let mut attestations = Vec::new();
    let count = if spec.single_manifest { 1 } else { usize::MAX };
    for (p, platform) in spec.platforms.iter().take(count).enumerate() {
        let layers = platform_layers(dir, spec, types, base.as_ref(), p)?;
        let manifest = image_manifest(dir, types, platform, &layers, spec, image)?;
        entries.push(with_platform(&manifest, platform, None));
        if spec.attestation && !spec.single_manifest {
            let att = attestation(dir, &manifest, image)?;
            let annotations = json!({
                "vnd.docker.reference.digest": manifest.digest.to_string(),
                "vnd.docker.reference.type": "attestation-manifest",
            });
            attestations.push(with_platform(&att, "unknown/unknown", Some(annotations)));
            image.manifests.push(att);
        }
        image.manifests.push(manifest);
    }
    entries.extend(attestations);
    Ok(entries)
}

/// The layers of platform number `p`, bottom to top: the shared base, the empty layer, its own
/// layers (the last seeded by `top_layer_seed`).
fn platform_layers(
    dir: &Path,
    spec: &SampleSpec,
    types: &Types,
    base: Option<&Layer>,
    p: usize,
) -> std::io::Result<Vec<Layer>> {
    let mut layers: Vec<Layer> = base.into_iter().cloned().collect();
    if spec.empty_layer {
        layers.push(Layer::new(
            blob(dir, types.layer, Vec::new())?,
            Digest::sha256(b""),
        ));
    }
    let own = spec.layer_sizes.len();
    for (i, &size) in spec.layer_sizes.iter().enumerate() {
        let top = i + 1 == own;
        let seed = if top { spec.top_layer_seed } else { spec.seed };
        let key = (if top { "top" } else { "layer" }, seed, p * 1000 + i);
        layers.push(write_layer(dir, types.layer, key, size)?);
    }
    Ok(layers)
}

/// The root: the single platform manifest itself, or the platform index of `entries`
/// (wrapped in an outer index for `nested_index`).
fn write_root(
    dir: &Path,
    spec: &SampleSpec,
    types: &Types,
    entries: Vec<Value>,
    image: &mut SampleImage,
) -> std::io::Result<Descriptor> {
    let single = if spec.single_manifest {
        image.manifests.pop()
    } else {
        None
    };
    if let Some(manifest) = single {
        return Ok(manifest);
    }
    let mut index = json!({ "schemaVersion": 2, "mediaType": types.index, "manifests": entries });
    if spec.nested_index {
        let inner = blob(dir, types.index, to_json(&index))?;
        index =
            json!({ "schemaVersion": 2, "mediaType": types.index, "manifests": [inner.json()] });
        image.manifests.push(inner);
    }
    if let Some(subject) = &spec.subject {
        index["subject"] = subject.json();
    }
    blob(dir, types.index, to_json(&index))
}

/// The layout's `index.json`: the root, under `ref_name` when given, beside the other names'
/// entries already there.
fn write_index_json(dir: &Path, spec: &SampleSpec, root: &Descriptor) -> std::io::Result<()> {
    let mut entry = root.json();
    if let Some(name) = &spec.ref_name {
        entry["annotations"] = json!({ "org.opencontainers.image.ref.name": name });
    }
    let entries = match &spec.ref_name {
        Some(name) => {
            let mut kept = other_named_entries(dir, name);
            kept.push(entry);
            kept
        }
        None => vec![entry],
    };
    let index_json = json!({ "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries });
    std::fs::write(dir.join("index.json"), to_json(&index_json))
}

/// The entries of an existing `index.json` named otherwise than `name` (skopeo's `oci:DIR:REF`
/// replaces the entry of its name and keeps the others, so does [`write_layout`]).
fn other_named_entries(dir: &Path, name: &str) -> Vec<Value> {
    let Ok(bytes) = std::fs::read(dir.join("index.json")) else {
        return Vec::new();
    };
    let Ok(index) = serde_json::from_slice::<Value>(&bytes) else {
        return Vec::new();
    };
    let entries = index["manifests"].as_array().cloned().unwrap_or_default();
    entries
        .into_iter()
        .filter(|e| {
            let own = e["annotations"]["org.opencontainers.image.ref.name"].as_str();
            own.is_some() && own != Some(name)
        })
        .collect()
}

struct Types {
    index: &'static str,
    manifest: &'static str,
    config: &'static str,
    layer: &'static str,
}

impl Types {
    fn new(docker: bool) -> Types {
        if docker {
            Types {
                index: DOCKER_MANIFEST_LIST,
                manifest: DOCKER_MANIFEST,
                config: DOCKER_CONFIG,
                layer: DOCKER_LAYER_GZIP,
            }
        } else {
            Types {
                index: OCI_INDEX,
                manifest: OCI_MANIFEST,
                config: OCI_CONFIG,
                layer: OCI_LAYER_GZIP,
            }
        }
    }
}

fn image_manifest(
    dir: &Path,
    types: &Types,
    platform: &str,
    layers: &[Layer],
    spec: &SampleSpec,
    image: &mut SampleImage,
) -> std::io::Result<Descriptor> {
    let mut parts = platform.split('/');
    let os = parts.next().unwrap_or("linux");
    let architecture = parts.next().unwrap_or("amd64");
    let mut config = json!({
        "created": "1970-01-01T00:00:00Z",
        "architecture": architecture,
        "os": os,
        "config": { "Labels": { "sample.seed": spec.seed.to_string(), "sample.top-seed": spec.top_layer_seed.to_string() } },
        "rootfs": { "type": "layers", "diff_ids": layers.iter().map(|l| l.diff_id.to_string()).collect::<Vec<_>>() },
    });
    if let Some(variant) = parts.next() {
        config["variant"] = json!(variant);
    }
    let config = blob(dir, types.config, to_json(&config))?;
    image.blobs.push(config.clone());
    image.blobs.extend(layers.iter().map(|l| l.blob.clone()));
    let mut manifest = json!({
        "schemaVersion": 2,
        "mediaType": types.manifest,
        "config": config.json(),
        "layers": layers.iter().map(|l| l.blob.json()).collect::<Vec<_>>(),
    });
    if spec.single_manifest
        && let Some(subject) = &spec.subject
    {
        manifest["subject"] = subject.json();
    }
    blob(dir, types.manifest, to_json(&manifest))
}

/// A buildx-style provenance attestation for `subject`.
fn attestation(
    dir: &Path,
    subject: &Descriptor,
    image: &mut SampleImage,
) -> std::io::Result<Descriptor> {
    let statement = json!({
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": "https://slsa.dev/provenance/v0.2",
        "subject": [{ "name": "sample", "digest": { "sha256": subject.digest.hex() } }],
        "predicate": { "builder": { "id": "registry-action sample" } },
    });
    let statement = blob(dir, IN_TOTO, to_json(&statement))?;
    let config = json!({
        "architecture": "unknown", "os": "unknown", "config": {},
        "rootfs": { "type": "layers", "diff_ids": [statement.digest.to_string()] },
    });
    let config = blob(dir, OCI_CONFIG, to_json(&config))?;
    image.blobs.push(config.clone());
    image.blobs.push(statement.clone());
    let mut layer = statement.json();
    layer["annotations"] =
        json!({ "in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2" });
    let manifest = json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config.json(), "layers": [layer],
    });
    blob(dir, OCI_MANIFEST, to_json(&manifest))
}

fn with_platform(manifest: &Descriptor, platform: &str, annotations: Option<Value>) -> Value {
    let parts: Vec<&str> = platform.split('/').collect();
    let mut entry = manifest.json();
    entry["platform"] = json!({
        "architecture": parts.get(1).copied().unwrap_or_default(),
        "os": parts.first().copied().unwrap_or_default(),
    });
    if let Some(variant) = parts.get(2) {
        entry["platform"]["variant"] = json!(variant);
    }
    if let Some(annotations) = annotations {
        entry["annotations"] = annotations;
    }
    entry
}

fn to_json(value: &Value) -> Vec<u8> {
    // Serialising a `Value` cannot fail (string keys only).
    serde_json::to_vec(value).unwrap_or_default()
}

/// Writes `bytes` as a blob.
fn blob(dir: &Path, media_type: &str, bytes: Vec<u8>) -> std::io::Result<Descriptor> {
    let digest = Digest::sha256(&bytes);
    std::fs::write(dir.join("blobs/sha256").join(digest.hex()), &bytes)?;
    Ok(Descriptor {
        media_type: media_type.to_owned(),
        digest,
        size: bytes.len() as u64,
    })
}

#[cfg(test)]
mod tests;
