//! Unit tests of the source module: the media type sniffed from a manifest, and the image graph
//! read from a source (its order, blobs and platforms).

use super::*;
use crate::oci::ImageGraph;
use imagekit::sample::{SampleSpec, write_layout};
use std::collections::HashSet;

async fn graph_of(
    spec: &SampleSpec,
) -> (tempfile::TempDir, imagekit::sample::SampleImage, ImageGraph) {
    let dir = tempfile::tempdir().unwrap();
    let image = write_layout(dir.path(), spec).unwrap();
    let client = crate::registry::Client::new(Default::default()).unwrap();
    let spec = SourceSpec::Layout {
        dir: dir.path().to_owned(),
        reference: None,
    };
    let source = Source::open(&spec, &client).await.unwrap();
    let graph = source.graph().await.unwrap();
    (dir, image, graph)
}

#[tokio::test]
async fn children_come_before_parents_and_the_root_is_last() {
    let spec = SampleSpec {
        attestation: true,
        nested_index: true,
        ..SampleSpec::default()
    };
    let (_dir, image, graph) = graph_of(&spec).await;
    let digests: Vec<&Digest> = graph.manifests.iter().map(|n| &n.manifest.digest).collect();
    let root = Digest::parse(&image.root.digest.to_string()).unwrap();
    assert_eq!(digests.last(), Some(&&root));
    assert_eq!(graph.root.manifest.digest, root);
    // 2 platform manifests + 2 attestations + inner index + root, each once.
    assert_eq!(digests.len(), 6);
    let unique: HashSet<_> = digests.iter().collect();
    assert_eq!(unique.len(), 6);
    for (i, node) in graph.manifests.iter().enumerate() {
        for child in &node.parsed.manifests {
            let at = digests.iter().position(|d| **d == child.digest).unwrap();
            assert!(at < i, "child {} after its parent", child.digest);
        }
    }
    // The attestations are copied (counted above) but are not platforms.
    assert_eq!(graph.platforms, vec!["linux/amd64", "linux/arm64"]);
    // Shared base once; blobs are exactly what the generator wrote.
    let mut got: Vec<String> = graph.blobs.iter().map(|b| b.digest.to_string()).collect();
    let mut want: Vec<String> = image.blobs.iter().map(|b| b.digest.to_string()).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(
        graph.blob_bytes(),
        image.blobs.iter().map(|b| b.size).sum::<u64>()
    );
}

#[tokio::test]
async fn blobs_in_first_seen_order() {
    let (_dir, _image, graph) = graph_of(&SampleSpec::default()).await;
    let amd64 = &graph.manifests[0].parsed.blobs;
    let arm64 = &graph.manifests[1].parsed.blobs;
    let mut expected: Vec<&Digest> = amd64.iter().map(|b| &b.digest).collect();
    for b in arm64 {
        if !expected.contains(&&b.digest) {
            expected.push(&b.digest);
        }
    }
    let got: Vec<&Digest> = graph.blobs.iter().map(|b| &b.digest).collect();
    assert_eq!(got, expected);
}

#[test]
fn media_type_from_field_or_shape() {
    let docker =
        r#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json"}"#;
    assert_eq!(
        sniff_media_type(docker.as_bytes()),
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    assert_eq!(
        sniff_media_type(br#"{"schemaVersion":2,"manifests":[]}"#),
        OCI_INDEX
    );
    assert_eq!(
        sniff_media_type(br#"{"schemaVersion":2,"config":{}}"#),
        OCI_MANIFEST
    );
    assert_eq!(sniff_media_type(b"not json"), OCI_MANIFEST);
}
