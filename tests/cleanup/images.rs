//! Sample images published with the binary for the cleanup tests: multi-arch images (with or
//! without attestations) and cosign-style signatures, each under raw tags.

use crate::sample::{SampleImage, SampleSpec, write_layout};
use crate::support::run;
use registry_action::registry::Digest;

/// An image published from its own layout (kept on disk for byte comparisons).
pub struct Published {
    _dir: tempfile::TempDir,
    pub image: SampleImage,
}

impl Published {
    /// The index and every manifest under it.
    pub fn digests(&self) -> Vec<Digest> {
        std::iter::once(&self.image.root)
            .chain(&self.image.manifests)
            .map(|d| d.digest.clone())
            .collect()
    }

    /// A manifest's bytes as published.
    pub fn bytes(&self, digest: &Digest) -> Vec<u8> {
        manifest_bytes(&self.image, digest)
    }
}

/// A manifest's bytes in `image`'s layout.
pub fn manifest_bytes(image: &SampleImage, digest: &Digest) -> Vec<u8> {
    std::fs::read(image.dir.join("blobs/sha256").join(digest.hex())).expect("manifest bytes")
}

/// A two-platform image whose top layers come from `seed`.
pub fn multi_arch(seed: u64, attestation: bool) -> SampleSpec {
    SampleSpec {
        attestation,
        top_layer_seed: seed,
        ..SampleSpec::default()
    }
}

/// A small single manifest: a cosign-style signature.
pub fn signature(seed: u64) -> SampleSpec {
    SampleSpec {
        single_manifest: true,
        platforms: vec!["linux/amd64".into()],
        layer_sizes: vec![100],
        shared_base: None,
        top_layer_seed: seed,
        ..SampleSpec::default()
    }
}

/// The tag of `subject`'s signature: `sha256-<hex>.sig`.
pub fn signature_tag(subject: &SampleImage) -> String {
    format!("sha256-{}.sig", subject.root.digest.hex())
}

/// Publishes `spec` to `target` (`registry/repository`) under `tags`, with `env` for the binary.
pub fn publish_to(
    target: &str,
    spec: &SampleSpec,
    tags: &[&str],
    env: &[(&str, &str)],
) -> Published {
    let dir = tempfile::tempdir().expect("temp dir");
    let image = write_layout(&dir.path().join("layout"), spec).expect("layout");
    let source = format!("oci:{}", image.dir.display());
    let mut args = vec!["publish", "--source", &source, "--images", target];
    let rules: Vec<String> = tags.iter().map(|t| format!("type=raw,value={t}")).collect();
    for rule in &rules {
        args.extend(["--tags", rule.as_str()]);
    }
    let r = run(&args, env);
    assert!(r.success(), "{}\n{}", r.stdout(), r.stderr());
    Published { _dir: dir, image }
}
