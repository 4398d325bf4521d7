//! Deterministic sample images for tests, the demo and benchmarks: writes an OCI image layout
//! (optionally tarred as an OCI archive) whose bytes depend only on the [`SampleSpec`]: fixed
//! timestamps, layer contents from a seeded generator, real tar layers in stored (level-0) gzip.

use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use flate2::{Compression, GzBuilder};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::registry::Digest;
use crate::registry::manifests::{DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST};

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
    /// The `org.opencontainers.image.ref.name` of the root in `index.json`.
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
    let base = match spec.shared_base {
        Some(size) => Some(write_layer(dir, types.layer, ("base", spec.seed, 0), size)?),
        None => None,
    };
    let mut entries = Vec::new();
    let mut attestations = Vec::new();
    let count = if spec.single_manifest { 1 } else { usize::MAX };
    for (p, platform) in spec.platforms.iter().take(count).enumerate() {
        let mut layers: Vec<Layer> = base.iter().cloned().collect();
        if spec.empty_layer {
            layers.push(Layer::new(
                blob(dir, types.layer, Vec::new())?,
                Digest::sha256(b""),
            ));
        }
        let own = spec.layer_sizes.len();
        for (i, &size) in spec.layer_sizes.iter().enumerate() {
            let seed = if i + 1 == own {
                spec.top_layer_seed
            } else {
                spec.seed
            };
            let key = (
                if i + 1 == own { "top" } else { "layer" },
                seed,
                p * 1000 + i,
            );
            layers.push(write_layer(dir, types.layer, key, size)?);
        }
        let manifest = image_manifest(dir, &types, platform, &layers, spec, &mut image)?;
        entries.push(with_platform(&manifest, platform, None));
        if spec.attestation && !spec.single_manifest {
            let att = attestation(dir, &manifest, &mut image)?;
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
    let single = if spec.single_manifest {
        image.manifests.pop()
    } else {
        None
    };
    let root = if let Some(manifest) = single {
        manifest
    } else {
        let mut index =
            json!({ "schemaVersion": 2, "mediaType": types.index, "manifests": entries });
        if spec.nested_index {
            let inner = blob(dir, types.index, to_json(&index))?;
            index = json!({ "schemaVersion": 2, "mediaType": types.index, "manifests": [inner.json()] });
            image.manifests.push(inner);
        }
        if let Some(subject) = &spec.subject {
            index["subject"] = subject.json();
        }
        blob(dir, types.index, to_json(&index))?
    };
    let mut entry = root.json();
    if let Some(name) = &spec.ref_name {
        entry["annotations"] = json!({ "org.opencontainers.image.ref.name": name });
    }
    let index_json = json!({ "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [entry] });
    std::fs::write(dir.join("index.json"), to_json(&index_json))?;
    image.root = root;
    let mut blobs = Vec::new();
    for layer_blob in image.blobs.drain(..) {
        if !blobs.contains(&layer_blob) {
            blobs.push(layer_blob);
        }
    }
    image.blobs = blobs;
    Ok(image)
}

/// Tars the layout `dir` into `file` (sorted entries, zero timestamps): an `oci-archive:`.
pub fn write_archive(dir: &Path, file: &Path) -> std::io::Result<()> {
    let out = BufWriter::with_capacity(1 << 20, std::fs::File::create(file)?);
    let mut builder = tar::Builder::new(out);
    let mut names = Vec::new();
    collect_files(dir, Path::new(""), &mut names)?;
    names.sort();
    for name in names {
        let mut source = std::fs::File::open(dir.join(&name))?;
        let mut header = tar_header(source.metadata()?.len());
        builder.append_data(&mut header, &name, &mut source)?;
    }
    builder.into_inner()?.flush()
}

fn collect_files(root: &Path, rel: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(root.join(rel))? {
        let entry = entry?;
        let rel = rel.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            collect_files(root, &rel, out)?;
        } else {
            out.push(rel);
        }
    }
    Ok(())
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
                config: "application/vnd.docker.container.image.v1+json",
                layer: "application/vnd.docker.image.rootfs.diff.tar.gzip",
            }
        } else {
            Types {
                index: OCI_INDEX,
                manifest: OCI_MANIFEST,
                config: "application/vnd.oci.image.config.v1+json",
                layer: "application/vnd.oci.image.layer.v1.tar+gzip",
            }
        }
    }
}

#[derive(Clone)]
struct Layer {
    blob: Descriptor,
    diff_id: Digest,
}

impl Layer {
    fn new(blob: Descriptor, diff_id: Digest) -> Layer {
        Layer { blob, diff_id }
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
    let statement = blob(dir, "application/vnd.in-toto+json", to_json(&statement))?;
    let config = json!({
        "architecture": "unknown", "os": "unknown", "config": {},
        "rootfs": { "type": "layers", "diff_ids": [statement.digest.to_string()] },
    });
    let config = blob(
        dir,
        "application/vnd.oci.image.config.v1+json",
        to_json(&config),
    )?;
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

/// A tar of one file of `size` generated bytes, gzipped at level 0 (stored blocks: fast, valid).
fn write_layer(
    dir: &Path,
    media_type: &str,
    key: (&str, u64, usize),
    size: u64,
) -> std::io::Result<Layer> {
    let (name, seed, index) = key;
    let temp = dir.join(format!("blobs/sha256/.{name}-{seed}-{index}.partial"));
    let file = BufWriter::with_capacity(1 << 20, std::fs::File::create(&temp)?);
    let compressed = Hashing::new(file);
    let gzip = GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(compressed, Compression::none());
    let mut tar = tar::Builder::new(Hashing::new(gzip));
    let mut header = tar_header(size);
    let mut data =
        Noise::new(seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ hash_name(name))
            .take(size);
    tar.append_data(&mut header, format!("{name}-{index}.bin"), &mut data)?;
    let uncompressed = tar.into_inner()?;
    let diff_id = uncompressed.digest();
    let compressed = uncompressed.inner.finish()?;
    let digest = compressed.digest();
    let size = compressed.len;
    compressed.inner.into_inner().map_err(|e| e.into_error())?;
    std::fs::rename(&temp, dir.join("blobs/sha256").join(digest.hex()))?;
    let blob = Descriptor {
        media_type: media_type.to_owned(),
        digest,
        size,
    };
    Ok(Layer::new(blob, diff_id))
}

fn tar_header(size: u64) -> tar::Header {
    let mut header = tar::Header::new_ustar();
    header.set_size(size);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    header.set_entry_type(tar::EntryType::Regular);
    header
}

fn hash_name(name: &str) -> u64 {
    let hash = Sha256::digest(name.as_bytes());
    hash.iter()
        .take(8)
        .fold(0, |acc, b| acc << 8 | u64::from(*b))
}

/// A writer that hashes (SHA-256) and counts what passes through.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    len: u64,
}

impl<W> Hashing<W> {
    fn new(inner: W) -> Hashing<W> {
        Hashing {
            inner,
            hasher: Sha256::new(),
            len: 0,
        }
    }

    fn digest(&self) -> Digest {
        let hex = format!("{:x}", self.hasher.clone().finalize());
        // A SHA-256 hex string always parses.
        Digest::parse(&format!("sha256:{hex}")).unwrap_or_else(|_| Digest::sha256(b""))
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// An endless stream of SplitMix64 output: fast, seeded, the same everywhere.
pub struct Noise {
    state: u64,
}

impl Noise {
    pub fn new(seed: u64) -> Noise {
        Noise { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl Read for Noise {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let whole = buf.len() / 8 * 8;
        for chunk in buf[..whole].chunks_exact_mut(8) {
            chunk.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        if whole == 0 {
            let bytes = self.next_u64().to_le_bytes();
            buf.copy_from_slice(&bytes[..buf.len()]);
            return Ok(buf.len());
        }
        Ok(whole)
    }
}

#[cfg(test)]
#[path = "sample_tests.rs"]
mod tests;
