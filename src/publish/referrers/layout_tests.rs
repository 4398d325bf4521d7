use super::*;
use crate::oci::media::{OCI_INDEX, OCI_MANIFEST};
use imagekit::sample::{SampleSpec, write_archive, write_layout};
use serde_json::{Value, json};
use std::path::PathBuf;

const EMPTY_TYPE: &str = "application/vnd.oci.empty.v1+json";
const SIG: &str = "application/vnd.dev.cosign.artifact.sig.v1+json";
const SBOM: &str = "application/spdx+json";

/// A multi-arch sample image (`ref.name` `v1`) in a layout, and what the tests add beside it.
struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    root: (Digest, usize),
    amd64: (Digest, usize),
    /// The image's manifests: the subjects whose referrers travel with it.
    subjects: Vec<Digest>,
}

fn digest(d: &imagekit::Digest) -> Digest {
    Digest::parse(&d.to_string()).unwrap()
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("layout");
    let spec = SampleSpec {
        ref_name: Some("v1".into()),
        ..SampleSpec::default()
    };
    let image = write_layout(&path, &spec).unwrap();
    let amd64 = &image.manifests[0];
    let mut subjects = vec![digest(&image.root.digest)];
    subjects.extend(image.manifests.iter().map(|m| digest(&m.digest)));
    Fixture {
        _dir: dir,
        path,
        root: (digest(&image.root.digest), image.root.size as usize),
        amd64: (digest(&amd64.digest), amd64.size as usize),
        subjects,
    }
}

impl Fixture {
    fn blob(&self, bytes: &[u8]) -> Digest {
        let digest = Digest::sha256(bytes);
        std::fs::write(self.path.join("blobs/sha256").join(digest.hex()), bytes).unwrap();
        digest
    }

    /// Writes an artifact manifest (empty config, one layer of `content`) referring to
    /// `subject` when given; returns its digest and size.
    fn artifact(
        &self,
        artifact_type: Option<&str>,
        content: &str,
        subject: Option<&(Digest, usize)>,
    ) -> (Digest, usize) {
        let empty = self.blob(b"{}");
        let layer = self.blob(content.as_bytes());
        let mut manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": EMPTY_TYPE, "digest": empty.to_string(), "size": 2},
            "layers": [{"mediaType": "text/plain", "digest": layer.to_string(), "size": content.len()}],
            "annotations": {"org.opencontainers.image.created": "2026-01-01T00:00:00Z"},
        });
        if let Some(artifact_type) = artifact_type {
            manifest["artifactType"] = artifact_type.into();
        }
        if let Some((digest, size)) = subject {
            manifest["subject"] =
                json!({"mediaType": OCI_MANIFEST, "digest": digest.to_string(), "size": size});
        }
        let bytes = serde_json::to_vec(&manifest).unwrap();
        (self.blob(&bytes), bytes.len())
    }

    /// Adds an `index.json` entry for `(digest, size)` of `media_type` with `annotations`.
    fn list(&self, media_type: &str, (digest, size): &(Digest, usize), annotations: Value) {
        let file = self.path.join("index.json");
        let mut index: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        let mut entry =
            json!({"mediaType": media_type, "digest": digest.to_string(), "size": size});
        if annotations != Value::Null {
            entry["annotations"] = annotations;
        }
        index["manifests"].as_array_mut().unwrap().push(entry);
        std::fs::write(file, serde_json::to_vec(&index).unwrap()).unwrap();
    }

    async fn open(&self) -> Local {
        Local::open_dir(&self.path, Some("v1"), "oci:layout:v1".into())
            .await
            .unwrap()
    }

    async fn discover(&self) -> Referrers {
        discover(&self.open().await, self.subjects.clone(), &[])
            .await
            .unwrap()
    }
}

fn subjects_of(found: &Referrers) -> Vec<(Digest, Digest)> {
    found
        .listed
        .iter()
        .map(|l| (l.subject.clone(), l.entry.digest.clone()))
        .collect()
}

/// As `oras cp -r --to-oci-layout` writes them: every manifest listed in index.json untagged,
/// the referrers found by their `subject`, a signature of an SBOM among them.
#[tokio::test]
async fn manifests_listed_with_a_subject_are_the_referrers_of_their_subject() {
    let f = fixture();
    let sig = f.artifact(Some(SIG), "sig of the index", Some(&f.root));
    let sbom = f.artifact(None, "sbom of amd64", Some(&f.amd64));
    let sbom_sig = f.artifact(Some(SIG), "sig of the sbom", Some(&sbom));
    let elsewhere = f.artifact(
        Some(SIG),
        "sig of another image",
        Some(&(Digest::sha256(b"x"), 1)),
    );
    for listed in [&sbom_sig, &sig, &f.amd64, &sbom, &elsewhere] {
        f.list(OCI_MANIFEST, listed, Value::Null);
    }
    let found = f.discover().await;
    assert_eq!(
        subjects_of(&found),
        vec![
            (f.root.0.clone(), sig.0.clone()),
            (f.amd64.0.clone(), sbom.0.clone()),
            (sbom.0.clone(), sbom_sig.0.clone()),
        ]
    );
    assert_eq!(
        found.order,
        vec![sig.0.clone(), sbom.0.clone(), sbom_sig.0.clone()]
    );
    assert!(found.tags.is_empty());
    // Each entry as the referrers API lists it: artifactType (else the config's media type)
    // and annotations pulled up.
    let entry = |d: &Digest| {
        &found
            .listed
            .iter()
            .find(|l| l.entry.digest == *d)
            .unwrap()
            .entry
            .json
    };
    assert_eq!(entry(&sig.0)["artifactType"], SIG);
    assert_eq!(entry(&sbom.0)["artifactType"], EMPTY_TYPE);
    assert_eq!(entry(&sbom.0)["size"], sbom.1);
    assert_eq!(entry(&sbom.0)["mediaType"], OCI_MANIFEST);
    assert_eq!(
        entry(&sbom.0)["annotations"]["org.opencontainers.image.created"],
        "2026-01-01T00:00:00Z"
    );
    // Each referrer's own graph: its manifest and its two blobs.
    let graph = &found.graphs[&sbom_sig.0];
    assert_eq!(graph.root.manifest.digest, sbom_sig.0);
    assert_eq!(graph.blobs.len(), 2);
    assert_eq!(found.graphs.len(), 3);
}

/// As `regctl image copy --referrers ... ocidir://` writes them: a fallback index under
/// `ref.name` `sha256-<hex>`, its referrers stored but not listed; the entries stay as written.
#[tokio::test]
async fn a_fallback_index_in_the_layout_lists_its_subjects_referrers_as_written() {
    let f = fixture();
    let sbom = f.artifact(Some(SBOM), "sbom of amd64", Some(&f.amd64));
    let written = json!({
        "mediaType": OCI_MANIFEST, "digest": sbom.0.to_string(), "size": sbom.1,
        "artifactType": SBOM, "annotations": {"written": "by regctl"},
    });
    let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [written]});
    let bytes = serde_json::to_vec(&index).unwrap();
    let index = (f.blob(&bytes), bytes.len());
    let tag = format!("sha256-{}", f.amd64.0.hex());
    f.list(OCI_INDEX, &index, json!({REF_NAME: tag}));
    let found = f.discover().await;
    assert_eq!(
        subjects_of(&found),
        vec![(f.amd64.0.clone(), sbom.0.clone())]
    );
    assert_eq!(found.listed[0].entry.json, written);
    assert_eq!(found.order, vec![sbom.0.clone()]);
    // The fallback index itself is no referrer.
    assert!(!found.graphs.contains_key(&index.0));
}

/// As `cosign save` writes them: `<repo>:sha256-<hex>.sig` names (bare ones too) are copied as
/// tags; an older layout's `kind` names the image's signatures.
#[tokio::test]
async fn cosign_names_in_the_layout_are_legacy_tags() {
    let f = fixture();
    let sig = f.artifact(None, "cosign sig", None);
    let att = f.artifact(None, "cosign att", None);
    let sig_tag = format!("sha256-{}.sig", f.root.0.hex());
    let att_tag = format!("sha256-{}.att", f.amd64.0.hex());
    f.list(
        OCI_MANIFEST,
        &sig,
        json!({REF_NAME: format!("ghcr.io/o/app:{sig_tag}")}),
    );
    f.list(OCI_MANIFEST, &att, json!({REF_NAME: att_tag}));
    let found = f.discover().await;
    assert_eq!(
        found.tags,
        vec![(sig_tag.clone(), sig.0.clone()), (att_tag, att.0.clone())]
    );
    assert!(found.listed.is_empty());
    assert_eq!(found.order, vec![sig.0.clone(), att.0.clone()]);

    let old = fixture();
    let sig = old.artifact(None, "cosign sig", None);
    let file = old.path.join("index.json");
    let mut index: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    index["manifests"][0]["annotations"][KIND] = COSIGN_IMAGES[1].into();
    std::fs::write(&file, serde_json::to_vec(&index).unwrap()).unwrap();
    old.list(
        OCI_MANIFEST,
        &sig,
        json!({KIND: "dev.cosignproject.cosign/sigs"}),
    );
    let found = old.discover().await;
    assert_eq!(found.tags, vec![(sig_tag, sig.0)]);
}

/// An archive of the layout serves the same referrers.
#[tokio::test]
async fn an_archive_serves_what_its_layout_does() {
    let f = fixture();
    let sig = f.artifact(Some(SIG), "sig of the index", Some(&f.root));
    f.list(OCI_MANIFEST, &sig, Value::Null);
    let tar = f.path.with_extension("tar");
    write_archive(&f.path, &tar).unwrap();
    let archive = Local::open_archive(&tar, Some("v1"), "oci-archive:layout.tar:v1".into())
        .await
        .unwrap();
    let from_archive = discover(&archive, f.subjects.clone(), &[]).await.unwrap();
    let from_dir = f.discover().await;
    assert_eq!(from_archive.listed, from_dir.listed);
    assert_eq!(from_archive.order, vec![sig.0.clone()]);
    assert_eq!(from_archive.graphs, from_dir.graphs);
}

/// A listed referrer whose manifest is missing is an error: publishing it unsigned silently is
/// not an option.
#[tokio::test]
async fn a_listed_manifest_missing_from_blobs_is_an_error() {
    let f = fixture();
    let missing = (Digest::sha256(b"not written"), 11);
    f.list(OCI_MANIFEST, &missing, Value::Null);
    let error = discover(&f.open().await, f.subjects.clone(), &[])
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains(&missing.0.hex()[..12]),
        "{error}"
    );
}

/// Referrers of referrers are followed at most [`MAX_DEPTH`] levels below the image.
#[test]
fn a_chain_of_referrers_stops_at_the_depth_limit() {
    let image = Digest::sha256(b"image");
    let mut listing = LayoutListing::default();
    let mut subject = image.clone();
    for level in 0..MAX_DEPTH + 3 {
        let referrer = Digest::sha256(format!("level {level}").as_bytes());
        let json = json!({"digest": referrer.to_string()});
        listing.add_entry(
            subject,
            Entry {
                digest: referrer.clone(),
                json,
            },
        );
        subject = referrer;
    }
    let found = listing.collect(vec![image], &[]);
    assert_eq!(found.order.len(), MAX_DEPTH + 1);
    // A cycle ends too: each referrer is found once.
    let a = Digest::sha256(b"a");
    let mut cycle = LayoutListing::default();
    cycle.add_entry(
        a.clone(),
        Entry {
            digest: a.clone(),
            json: json!({}),
        },
    );
    assert!(cycle.collect(vec![a], &[]).order.is_empty());
}

#[test]
fn a_ref_name_gives_its_tag() {
    assert_eq!(tag_of("sha256-ab.sig"), "sha256-ab.sig");
    assert_eq!(tag_of("ghcr.io/o/app:sha256-ab.sig"), "sha256-ab.sig");
    assert_eq!(tag_of("localhost:5000/app:v1"), "v1");
    assert_eq!(tag_of("localhost:5000/app"), "5000/app");
}
