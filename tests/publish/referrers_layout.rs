//! Referrers from an OCI layout or archive source (issue 16), published to a real registry
//! without the referrers API: a multi-arch image in a layout with a signature of its index and
//! an attestation of its `linux/amd64` manifest listed with their `subject` (as `oras cp -r
//! --to-oci-layout` writes them), an SBOM of that manifest in a `sha256-<hex>` fallback index (as
//! regctl's `ocidir://` writes it), a signature of the attestation, and a cosign `.sig` of the
//! index under `ref.name` (as `cosign save` names it); and to a destination with the referrers
//! API (a loopback proxy adding `OCI-Subject`). Every run passes action.yml's defaults as the
//! runner does; skopeo and the client read back what landed.

use super::cli::{layout, publish_cli};
use crate::registry::harness::Registry;
use crate::registry::proxy::{Fault, Proxy, Rule};
use crate::sample::{SampleSpec, write_archive};
use crate::support::Run;
use futures_util::StreamExt;
use registry_action::oci::media::{OCI_INDEX, OCI_MANIFEST};
use registry_action::registry::{Client, Digest, Reference, Repository};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

const EMPTY_TYPE: &str = "application/vnd.oci.empty.v1+json";
const SIG: &str = "application/vnd.dev.cosign.artifact.sig.v1+json";
const ATTESTATION: &str = "application/vnd.in-toto+json";
const SBOM: &str = "application/spdx+json";
const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// The signed image's layout and what refers to what in it.
struct Signed {
    _dir: tempfile::TempDir,
    path: PathBuf,
    root: Digest,
    amd64: Digest,
    signature: Digest,
    sbom: Digest,
    attestation: Digest,
    attestation_signature: Digest,
    cosign_sig: Digest,
    /// Every blob of every referrer.
    blobs: Vec<Digest>,
}

fn write_blob(path: &Path, bytes: &[u8]) -> Digest {
    let digest = Digest::sha256(bytes);
    std::fs::write(path.join("blobs/sha256").join(digest.hex()), bytes).expect("blob");
    digest
}

/// Writes an artifact manifest (empty config, one layer of `content`), referring to `subject`
/// when given; returns its digest and size.
fn artifact(
    path: &Path,
    artifact_type: &str,
    content: &str,
    subject: Option<&(Digest, usize)>,
) -> (Digest, usize) {
    let empty = write_blob(path, b"{}");
    let layer = write_blob(path, content.as_bytes());
    let mut manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": {"mediaType": EMPTY_TYPE, "digest": empty.to_string(), "size": 2},
        "layers": [{"mediaType": "text/plain", "digest": layer.to_string(), "size": content.len()}],
    });
    if let Some((digest, size)) = subject {
        manifest["subject"] =
            json!({"mediaType": OCI_MANIFEST, "digest": digest.to_string(), "size": size});
    }
    let bytes = serde_json::to_vec(&manifest).expect("json");
    (write_blob(path, &bytes), bytes.len())
}

fn descriptor(media_type: &str, (digest, size): &(Digest, usize)) -> Value {
    json!({"mediaType": media_type, "digest": digest.to_string(), "size": size})
}

/// Adds `entries` to the layout's `index.json`.
fn list(path: &Path, entries: Vec<Value>) {
    let file = path.join("index.json");
    let mut index: Value = serde_json::from_slice(&std::fs::read(&file).expect("index.json"))
        .expect("index.json parses");
    let manifests = index["manifests"].as_array_mut().expect("manifests");
    manifests.extend(entries);
    std::fs::write(file, serde_json::to_vec(&index).expect("json")).expect("index.json");
}

fn signed_layout() -> Signed {
    let (dir, image) = layout(&SampleSpec {
        top_layer_seed: 161,
        ref_name: Some("v1".into()),
        ..SampleSpec::default()
    });
    let path = image.dir.clone();
    let root = (image.root.digest.clone(), image.root.size as usize);
    let amd64 = &image.manifests[0];
    let amd64 = (amd64.digest.clone(), amd64.size as usize);
    let mut blobs = vec![Digest::sha256(b"{}")];
    let mut make = |artifact_type, content: &str, subject: Option<&(Digest, usize)>| {
        blobs.push(Digest::sha256(content.as_bytes()));
        artifact(&path, artifact_type, content, subject)
    };
    let signature = make(SIG, "sig of the index", Some(&root));
    let attestation = make(ATTESTATION, "provenance", Some(&amd64));
    let attestation_sig = make(SIG, "sig of att", Some(&attestation));
    let sbom = make(SBOM, "sbom of amd64", Some(&amd64));
    let cosign_sig = make(SIG, "cosign sig of the index", None);
    let mut sbom_entry = descriptor(OCI_MANIFEST, &sbom);
    sbom_entry["artifactType"] = SBOM.into();
    let fallback = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [sbom_entry]});
    let fallback = serde_json::to_vec(&fallback).expect("json");
    let fallback = (write_blob(&path, &fallback), fallback.len());
    let cosign_tag = format!("example.test/app:sha256-{}.sig", root.0.hex());
    let mut entries = vec![
        descriptor(OCI_MANIFEST, &signature),
        descriptor(OCI_MANIFEST, &attestation),
        descriptor(OCI_MANIFEST, &attestation_sig),
        descriptor(OCI_INDEX, &fallback),
        descriptor(OCI_MANIFEST, &cosign_sig),
    ];
    entries[3]["annotations"] = json!({REF_NAME: format!("sha256-{}", amd64.0.hex())});
    entries[4]["annotations"] = json!({REF_NAME: cosign_tag});
    list(&path, entries);
    Signed {
        _dir: dir,
        path,
        root: root.0,
        amd64: amd64.0,
        signature: signature.0,
        sbom: sbom.0,
        attestation: attestation.0,
        attestation_signature: attestation_sig.0,
        cosign_sig: cosign_sig.0,
        blobs,
    }
}

impl Signed {
    fn referrers(&self) -> [&Digest; 5] {
        [
            &self.signature,
            &self.sbom,
            &self.attestation,
            &self.attestation_signature,
            &self.cosign_sig,
        ]
    }

    fn bytes(&self, digest: &Digest) -> Vec<u8> {
        std::fs::read(self.path.join("blobs/sha256").join(digest.hex())).expect("layout blob")
    }
}

/// Publishes `source` to `images` as `v1`, with every input action.yml declares at its default
/// (as the runner passes them) unless `vars` sets it.
fn publish(source: &str, images: &str, vars: &[(&str, &str)]) -> Run {
    let mut passed: Vec<(String, String)> = crate::runner::action::inputs()
        .into_iter()
        .filter_map(|i| Some((i.name, i.default?)))
        .filter(|(_, default)| !default.contains("${{"))
        .map(|(name, default)| (registry_action::inputs::input_env_var(&name), default))
        .filter(|(var, _)| !vars.iter().any(|(v, _)| v == var))
        .collect();
    passed.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let passed: Vec<(&str, &str)> = passed
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let run = publish_cli(source, images, "type=raw,value=v1", &passed);
    assert!(run.success(), "{}\n{}", run.stdout(), run.stderr());
    run
}

fn repo(registry: &Registry, name: &str) -> Repository {
    Repository::parse(&format!("{}/{name}", registry.name())).expect("repository")
}

/// The referrers a fallback index of `repo` lists, sorted as written.
fn listed(registry: &Registry, repo: &str, subject: &Digest) -> Vec<Digest> {
    let bytes = registry.skopeo_raw(&format!("{repo}:sha256-{}", subject.hex()));
    let index: Value = serde_json::from_slice(&bytes).expect("fallback index");
    index["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .map(|m| Digest::parse(m["digest"].as_str().expect("digest")).expect("digest"))
        .collect()
}

fn sorted(mut digests: Vec<Digest>) -> Vec<Digest> {
    digests.sort();
    digests
}

/// What `name` holds is what the layout holds: each fallback index lists the referrers of its
/// subject, every referrer manifest and blob byte-for-byte, the cosign tag beside them.
async fn assert_published(registry: &Registry, client: &Client, name: &str, signed: &Signed) {
    assert_eq!(
        listed(registry, name, &signed.root),
        vec![signed.signature.clone()]
    );
    assert_eq!(
        listed(registry, name, &signed.amd64),
        sorted(vec![signed.sbom.clone(), signed.attestation.clone()])
    );
    assert_eq!(
        listed(registry, name, &signed.attestation),
        vec![signed.attestation_signature.clone()]
    );
    // Each entry with its artifactType pulled up, as the referrers tag schema says.
    for (subject, referrer, artifact_type) in [
        (&signed.root, &signed.signature, SIG),
        (&signed.amd64, &signed.attestation, ATTESTATION),
        (&signed.amd64, &signed.sbom, SBOM),
        (&signed.attestation, &signed.attestation_signature, SIG),
    ] {
        let index = registry.skopeo_raw(&format!("{name}:sha256-{}", subject.hex()));
        let index: Value = serde_json::from_slice(&index).expect("fallback index");
        let entry = index["manifests"]
            .as_array()
            .expect("manifests")
            .iter()
            .find(|e| e["digest"] == referrer.to_string())
            .expect("listed");
        assert_eq!(entry["artifactType"], artifact_type, "{name}: {entry}");
        assert_eq!(
            entry["size"],
            signed.bytes(referrer).len(),
            "{name}: {entry}"
        );
    }
    for digest in signed.referrers() {
        let landed = registry.skopeo_raw(&format!("{name}@{digest}"));
        assert_eq!(landed, signed.bytes(digest), "{name}@{digest}");
    }
    let tag = format!("{name}:sha256-{}.sig", signed.root.hex());
    assert_eq!(registry.skopeo_raw(&tag), signed.bytes(&signed.cosign_sig));
    let target = repo(registry, name);
    for digest in &signed.blobs {
        let mut blob = client.get_blob(&target, digest).await.expect("blob");
        let mut bytes = Vec::new();
        while let Some(chunk) = blob.stream.next().await {
            bytes.extend_from_slice(&chunk.expect("chunk"));
        }
        assert_eq!(bytes, signed.bytes(digest), "blob {digest}");
    }
    let mut tags: Vec<String> = registry
        .skopeo_tags(name)
        .into_iter()
        .filter(|t| t.starts_with("sha256-"))
        .collect();
    tags.sort();
    let mut expected = vec![
        format!("sha256-{}", signed.root.hex()),
        format!("sha256-{}", signed.amd64.hex()),
        format!("sha256-{}", signed.attestation.hex()),
        format!("sha256-{}.sig", signed.root.hex()),
    ];
    expected.sort();
    assert_eq!(tags, expected, "{name}");
}

#[tokio::test]
async fn referrers_in_a_layout_travel_with_the_image() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let client = Client::new(registry.client_config()).expect("client");
    let signed = signed_layout();
    let source = format!("oci:{}:v1", signed.path.display());
    let images = format!("{}/layout/app", registry.name());

    let dry = publish(&source, &images, &[("INPUT_DRY-RUN", "true")]);
    let text = dry.stdout();
    for digest in signed.referrers() {
        assert!(
            text.contains(&format!("referrer {digest}")),
            "{digest}: {text}"
        );
    }
    for subject in [&signed.root, &signed.amd64, &signed.attestation] {
        let line = format!("fallback index sha256-{}  create", subject.hex());
        assert!(text.contains(&line), "{line}: {text}");
    }
    let written = client
        .list_tags(&repo(&registry, "layout/app"), None)
        .await
        .expect("tags");
    assert!(written.is_empty(), "a dry run writes nothing: {written:?}");

    let published = publish(&source, &images, &[]);
    assert_published(&registry, &client, "layout/app", &signed).await;
    assert!(
        published.summary_file.contains("5 copied"),
        "{}",
        published.summary_file
    );
    // By artifactType: the three signatures (the cosign one by its tag alone, not in an
    // index), the attestation and the SBOM, each copied; distribution registers none itself.
    assert_eq!(published.get("referrers-copied"), "5");
    let rows: Value = serde_json::from_str(&published.get("referrers")).expect("referrers JSON");
    let row = |artifact_type: &str, copied: usize, index: usize| json!({"image": images, "artifactType": artifact_type, "copied": copied, "present": 0, "api": 0, "index": index});
    assert_eq!(
        rows,
        json!([row(SBOM, 1, 1), row(SIG, 3, 2), row(ATTESTATION, 1, 1)])
    );
    let line = format!("| `{images}` | `{SIG}` | 3 | 0 | 0 | 2 |");
    assert!(
        published.summary_file.contains(&line),
        "{line}\n{}",
        published.summary_file
    );

    // A re-run finds every referrer there.
    let again = publish(&source, &images, &[]);
    assert_eq!(again.get("referrers-copied"), "0");
    let line = format!("| `{images}` | `{SIG}` | 0 | 3 | 0 | 0 |");
    assert!(
        again.summary_file.contains(&line),
        "{line}\n{}",
        again.summary_file
    );
}

#[tokio::test]
async fn referrers_in_an_archive_travel_with_the_image() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let client = Client::new(registry.client_config()).expect("client");
    let signed = signed_layout();
    let tar = signed.path.with_extension("tar");
    write_archive(&signed.path, &tar).expect("archive");
    let source = format!("oci-archive:{}:v1", tar.display());
    publish(&source, &format!("{}/archive/app", registry.name()), &[]);
    assert_published(&registry, &client, "archive/app", &signed).await;
}

#[tokio::test]
async fn referrers_false_copies_none_from_a_layout() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let client = Client::new(registry.client_config()).expect("client");
    let signed = signed_layout();
    let source = format!("oci:{}:v1", signed.path.display());
    let images = format!("{}/layoutoff/app", registry.name());
    publish(&source, &images, &[("INPUT_REFERRERS", "false")]);
    let tags = registry.skopeo_tags("layoutoff/app");
    assert_eq!(tags, ["v1"], "the image alone");
    let target = repo(&registry, "layoutoff/app");
    for digest in signed.referrers() {
        let there = client
            .head_manifest(&target.with(Reference::Digest(digest.clone())))
            .await
            .expect("HEAD");
        assert!(there.is_none(), "{digest}");
    }
}

/// A destination with the referrers API (emulated: a proxy in front of distribution answers the
/// PUT of each manifest with a `subject` with `OCI-Subject`, as distribution-spec v1.1 says)
/// registers the layout's referrers itself: no fallback index is written, the cosign tag is.
#[tokio::test]
async fn a_destination_with_the_referrers_api_registers_a_layouts_referrers_itself() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let signed = signed_layout();
    let with_subject = [
        (&signed.signature, &signed.root),
        (&signed.sbom, &signed.amd64),
        (&signed.attestation, &signed.amd64),
        (&signed.attestation_signature, &signed.attestation),
    ];
    let rules = with_subject
        .iter()
        .map(|(referrer, subject)| {
            let path = format!("PUT /v2/api/app/manifests/{referrer}$");
            Rule {
                matching: Box::leak(path.into_boxed_str()),
                times: 1,
                fault: Fault::AddHeader("OCI-Subject", subject.to_string()),
            }
        })
        .collect();
    let upstream = registry.name().parse().expect("registry address");
    let proxy = Proxy::start(upstream, rules);
    let images = format!("{}/api/app", proxy.addr);
    let source = format!("oci:{}:v1", signed.path.display());
    let published = publish(&source, &images, &[]);
    let mut tags = registry.skopeo_tags("api/app");
    tags.sort();
    let cosign = format!("sha256-{}.sig", signed.root.hex());
    assert_eq!(tags, [cosign, "v1".to_string()], "no fallback index");
    for digest in signed.referrers() {
        let landed = registry.skopeo_raw(&format!("api/app@{digest}"));
        assert_eq!(landed, signed.bytes(digest), "{digest}");
    }
    let rows: Value = serde_json::from_str(&published.get("referrers")).expect("referrers JSON");
    let row = |artifact_type: &str, copied: usize, api: usize| json!({"image": images, "artifactType": artifact_type, "copied": copied, "present": 0, "api": api, "index": 0});
    assert_eq!(
        rows,
        json!([row(SBOM, 1, 1), row(SIG, 3, 2), row(ATTESTATION, 1, 1)])
    );
}
