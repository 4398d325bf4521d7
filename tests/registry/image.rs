//! Deterministic test images built in memory: a config and two layers under an OCI manifest, and
//! a two-platform OCI index; plus a helper that pushes one through the client under test.

use bytes::Bytes;
use registry_action::oci::media::{OCI_INDEX, OCI_MANIFEST};
use registry_action::registry::{Client, Digest, ImageRef, Reference, Repository};
use serde_json::json;
use sha2::{Digest as _, Sha256};

/// A blob with its digest and media type.
#[derive(Clone)]
pub struct TestBlob {
    pub bytes: Bytes,
    pub digest: Digest,
    pub media_type: &'static str,
}

impl TestBlob {
    fn new(bytes: Vec<u8>, media_type: &'static str) -> TestBlob {
        let digest = Digest::sha256(&bytes);
        TestBlob {
            bytes: Bytes::from(bytes),
            digest,
            media_type,
        }
    }

    fn descriptor(&self) -> serde_json::Value {
        json!({ "mediaType": self.media_type, "digest": self.digest.to_string(), "size": self.bytes.len() })
    }
}

/// One image: config, layers, manifest bytes.
#[derive(Clone)]
pub struct TestImage {
    pub config: TestBlob,
    pub layers: Vec<TestBlob>,
    pub manifest: Bytes,
    pub digest: Digest,
}

impl TestImage {
    pub fn blobs(&self) -> impl Iterator<Item = &TestBlob> {
        std::iter::once(&self.config).chain(&self.layers)
    }
}

/// `len` pseudo-random bytes from `seed` (SHA-256 in counter mode): the same on every run.
pub fn noise(seed: &str, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut counter = 0u64;
    while out.len() < len {
        let mut h = Sha256::new();
        h.update(seed.as_bytes());
        h.update(counter.to_le_bytes());
        out.extend_from_slice(&h.finalize());
        counter += 1;
    }
    out.truncate(len);
    out
}

/// An image for `arch` whose layers are `base` (shared between images with the same base) and a
/// top layer from `seed`.
pub fn image(seed: &str, arch: &str) -> TestImage {
    let layers = vec![
        TestBlob::new(
            noise("shared-base", 150_000),
            "application/vnd.oci.image.layer.v1.tar+gzip",
        ),
        TestBlob::new(
            noise(&format!("{seed}-{arch}"), 70_001),
            "application/vnd.oci.image.layer.v1.tar+gzip",
        ),
    ];
    let diff_ids: Vec<String> = layers.iter().map(|l| l.digest.to_string()).collect();
    let config = json!({
        "architecture": arch, "os": "linux",
        "config": { "Labels": { "seed": seed } },
        "rootfs": { "type": "layers", "diff_ids": diff_ids },
    });
    let config = TestBlob::new(
        serde_json::to_vec(&config).expect("json"),
        "application/vnd.oci.image.config.v1+json",
    );
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config.descriptor(),
        "layers": layers.iter().map(TestBlob::descriptor).collect::<Vec<_>>(),
        "annotations": { "org.opencontainers.image.title": seed },
    });
    // Pretty-printed with a trailing newline: a client that re-serialised would change the digest.
    let mut manifest = serde_json::to_vec_pretty(&manifest).expect("json");
    manifest.push(b'\n');
    let digest = Digest::sha256(&manifest);
    TestImage {
        config,
        layers,
        manifest: Bytes::from(manifest),
        digest,
    }
}

/// A two-platform index over images for amd64 and arm64 that share their base layer.
pub fn index(seed: &str) -> (Bytes, Digest, Vec<TestImage>) {
    let images = vec![image(seed, "amd64"), image(seed, "arm64")];
    let manifests: Vec<serde_json::Value> = images
        .iter()
        .zip(["amd64", "arm64"])
        .map(|(img, arch)| {
            json!({
                "mediaType": OCI_MANIFEST, "digest": img.digest.to_string(), "size": img.manifest.len(),
                "platform": { "architecture": arch, "os": "linux" },
            })
        })
        .collect();
    let index = json!({ "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests });
    let bytes = serde_json::to_vec(&index).expect("json");
    let digest = Digest::sha256(&bytes);
    (Bytes::from(bytes), digest, images)
}

/// Pushes every missing blob, then the manifest under `reference`, through `client`.
pub async fn push_image(
    client: &Client,
    repo: &Repository,
    image: &TestImage,
    reference: Reference,
) {
    for blob in image.blobs() {
        if client
            .head_blob(repo, &blob.digest)
            .await
            .expect("head blob")
            .is_none()
        {
            client
                .push_blob(
                    repo,
                    &blob.digest,
                    blob.bytes.len() as u64,
                    &blob.bytes,
                    None,
                )
                .await
                .expect("push blob");
        }
    }
    let pushed = client
        .put_manifest_raw(&repo.with(reference), image.manifest.clone(), OCI_MANIFEST)
        .await
        .expect("put manifest");
    assert_eq!(pushed, image.digest);
}

/// `registry/repo` as a [`Repository`].
pub fn repo(registry: &str, name: &str) -> Repository {
    Repository::parse(&format!("{registry}/{name}")).expect("repository")
}

/// `registry/repo:tag` as an [`ImageRef`].
pub fn tagged(registry: &str, name: &str, tag: &str) -> ImageRef {
    ImageRef::parse(&format!("{registry}/{name}:{tag}")).expect("reference")
}
