use super::*;
use crate::oci::referrer::{Entry, Listed, fallback_tag};
use crate::oci::{ImageGraph, Node, RawManifest};
use crate::publish::plan::BlobStep;
use crate::registry::{Digest, Error, Repository};
use std::collections::BTreeMap;

fn repo(name: &str) -> Repository {
    Repository::parse(&format!("registry.test/{name}")).unwrap()
}

/// A referrer manifest (an artifact with one layer) and its graph.
fn artifact(seed: &str, subject: &Digest) -> ImageGraph {
    let layer = Digest::sha256(seed.as_bytes());
    let bytes = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/vnd.test.sig",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": Digest::sha256(b"{}").to_string(), "size": 2},
        "layers": [{"mediaType": "application/octet-stream", "digest": layer.to_string(), "size": seed.len()}],
        "subject": {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": subject.to_string(), "size": 1},
    }))
    .unwrap();
    let raw = RawManifest {
        digest: Digest::sha256(&bytes),
        media_type: "application/vnd.oci.image.manifest.v1+json".into(),
        bytes: bytes.into(),
    };
    let node = Node::parse::<Error>(raw, None).unwrap();
    ImageGraph {
        blobs: node.parsed.blobs.clone(),
        root: node.clone(),
        manifests: vec![node],
        platforms: Vec::new(),
    }
}

fn found() -> (Referrers, Digest, Digest) {
    let image = Digest::sha256(b"image");
    let sig = artifact("sig", &image);
    let sig_digest = sig.root.manifest.digest.clone();
    let entry = Entry {
        digest: sig_digest.clone(),
        json: serde_json::json!({"digest": sig_digest.to_string(), "size": sig.root.manifest.bytes.len()}),
    };
    let legacy = artifact("legacy", &image);
    let legacy_digest = legacy.root.manifest.digest.clone();
    let mut found = Referrers::default();
    found.listed.push(Listed {
        subject: image.clone(),
        entry,
    });
    found.tags.push((
        format!("{}.sig", fallback_tag(&image)),
        legacy_digest.clone(),
    ));
    found.graphs.insert(sig_digest.clone(), sig);
    found.graphs.insert(legacy_digest.clone(), legacy);
    found.order = vec![sig_digest.clone(), legacy_digest];
    (found, image, sig_digest)
}

#[test]
fn an_empty_target_gets_every_referrer_its_blobs_once_its_tags_and_a_new_index() {
    let (found, image, sig) = found();
    let planned = plan(
        &found,
        &Held::default(),
        &repo("b"),
        Some(&repo("a")),
        &BTreeSet::new(),
    );
    assert_eq!(planned.referrers.len(), 2);
    assert!(planned.referrers.iter().all(|r| !r.present));
    assert_eq!(
        planned.referrers[0].artifact_type,
        "application/vnd.test.sig"
    );
    assert_eq!(planned.manifests.len(), 2);
    // The empty config is shared: sent once.
    assert_eq!(planned.blobs.len(), 3);
    assert!(
        planned
            .blobs
            .iter()
            .all(|(_, s)| matches!(s, BlobStep::Mount { .. }))
    );
    assert_eq!(planned.tags.len(), 1);
    assert_eq!(planned.indexes.len(), 1);
    assert_eq!(planned.indexes[0].subject, image);
    assert_eq!(planned.indexes[0].adds, vec![sig]);
    assert!(!planned.indexes[0].exists);
    let text = planned.to_string();
    assert!(text.contains("fallback index sha256-"), "{text}");
    assert!(text.contains("create: add"), "{text}");
    assert!(text.contains(".sig -> sha256:"), "{text}");
}

#[test]
fn a_target_holding_everything_needs_nothing() {
    let (found, image, sig) = found();
    let held = Held {
        manifests: found.graphs.keys().cloned().collect(),
        blobs: BTreeSet::new(),
        tags: found.tags.iter().cloned().collect(),
        indexes: BTreeMap::from([(image, BTreeSet::from([sig, Digest::sha256(b"theirs")]))]),
        index_docs: BTreeMap::new(),
        api: false,
    };
    let planned = plan(&found, &held, &repo("b"), None, &BTreeSet::new());
    assert!(planned.referrers.iter().all(|r| r.present));
    assert!(planned.manifests.is_empty() && planned.blobs.is_empty());
    assert!(planned.tags.is_empty() && planned.indexes.is_empty());
}

#[test]
fn an_index_the_target_has_is_merged_into_and_other_registries_upload() {
    let (found, image, sig) = found();
    let held = Held {
        indexes: BTreeMap::from([(image, BTreeSet::from([Digest::sha256(b"theirs")]))]),
        ..Held::default()
    };
    let image_blobs: BTreeSet<Digest> = BTreeSet::from([Digest::sha256(b"{}")]);
    let other = Repository::parse("elsewhere.test/a").unwrap();
    let planned = plan(&found, &held, &repo("b"), Some(&other), &image_blobs);
    assert_eq!(planned.indexes[0].adds, vec![sig]);
    assert!(planned.indexes[0].exists);
    // The image's plan sends the shared blob already.
    assert_eq!(planned.blobs.len(), 2);
    assert!(planned.blobs.iter().all(|(_, s)| *s == BlobStep::Upload));
    assert!(planned.to_string().contains("merge: add"));
}

#[test]
fn an_api_target_registers_the_referrers_itself_and_the_dry_run_says_so() {
    let (found, image, sig) = found();
    let held = Held {
        api: true,
        ..Held::default()
    };
    let planned = plan(&found, &held, &repo("b"), None, &BTreeSet::new());
    assert!(planned.api);
    assert_eq!(planned.indexes[0].adds, vec![sig.clone()]);
    let text = planned.to_string();
    assert!(
        text.contains(&format!("referrers API {image}  registers: {sig}")),
        "{text}"
    );
    assert!(!text.contains("fallback index"), "{text}");
}
