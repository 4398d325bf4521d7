//! A registry as the source: a sample image pushed (driven by its graph) to a real registry reads
//! back as the same graph, and each blob is read from the registry once for all the uploads it
//! was opened for (an open beyond them, a retry, reads it again).

use crate::sample::SampleSpec;
use futures_util::StreamExt;
use registry_action::oci::ImageGraph;
use registry_action::registry::{Client, Reference, Repository};
use registry_action::source::Source;

use super::{Sample, client, open};
use crate::registry::harness::Registry;

/// Pushes every blob and manifest of `graph` from `source` to `repo`, the root under `tag`.
async fn push(client: &Client, source: &Source, graph: &ImageGraph, repo: &Repository, tag: &str) {
    for blob in &graph.blobs {
        let from = source.blob(&blob.digest, blob.size, 1).await.expect("blob");
        client
            .push_blob(repo, &blob.digest, blob.size, from.as_ref(), None)
            .await
            .expect("push blob");
    }
    let (root, children) = graph.manifests.split_last().expect("root");
    for node in children {
        client
            .put_manifest_raw(
                &repo.with(Reference::Digest(node.manifest.digest.clone())),
                node.manifest.bytes.clone(),
                &node.manifest.media_type,
            )
            .await
            .expect("put child manifest");
    }
    let pushed = client
        .put_manifest_raw(
            &repo.with(Reference::Tag(tag.into())),
            root.manifest.bytes.clone(),
            &root.manifest.media_type,
        )
        .await
        .expect("put root");
    assert_eq!(pushed, root.manifest.digest);
}

/// Reads the blob (opened for `readers` uploads) whole and checks its bytes against its digest;
/// gives its length.
async fn drain(
    source: &Source,
    digest: &registry_action::registry::Digest,
    size: u64,
    readers: usize,
) -> u64 {
    let blob = source.blob(digest, size, readers).await.expect("blob");
    let mut stream = blob.open().await.expect("open");
    let (mut n, mut check) = (0, digest.verifier());
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.expect("chunk");
        check.update(&chunk);
        n += chunk.len() as u64;
    }
    check.finish().expect("the bytes read match the digest");
    n
}

async fn same_graph_and_blobs_read_once(spec: SampleSpec) {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let sample = Sample::new(&spec);
    let local = open(&sample.layout(), &client()).await;
    let expected = local.graph().await.expect("graph");
    let pusher = Client::new(registry.client_config()).expect("client");
    let repo = Repository::parse(&format!("{}/src/app", registry.name())).expect("repo");
    push(&pusher, &local, &expected, &repo, "v1").await;
    assert_eq!(
        registry.skopeo_raw("src/app:v1"),
        expected.root.manifest.bytes.to_vec(),
        "skopeo sees the root bytes"
    );

    let before = registry.access_log().len();
    let reader = Client::new(registry.client_config()).expect("client");
    let remote = open(&format!("docker://{}/src/app:v1", registry.name()), &reader).await;
    let opened = reader.requests(&registry.name());
    let got = remote.graph().await.expect("graph from registry");
    assert_eq!(got, expected);
    // Each blob opened for four uploads: by two "destinations" (two handles, both streamed,
    // concurrently), twice, the second pair after the first finished (it reads what memory kept).
    for _ in 0..2 {
        let reads = expected.blobs.iter().flat_map(|b| {
            [
                drain(&remote, &b.digest, b.size, 4),
                drain(&remote, &b.digest, b.size, 4),
            ]
        });
        let sizes = futures_util::future::join_all(reads).await;
        let want: Vec<u64> = expected
            .blobs
            .iter()
            .flat_map(|b| [b.size, b.size])
            .collect();
        assert_eq!(sizes, want);
    }
    // A fifth open, as a retry makes: the blob is read again.
    let retries = expected
        .blobs
        .iter()
        .map(|b| drain(&remote, &b.digest, b.size, 4));
    let sizes = futures_util::future::join_all(retries).await;
    let want: Vec<u64> = expected.blobs.iter().map(|b| b.size).collect();
    assert_eq!(sizes, want);
    let log: Vec<(String, u16)> = registry.access_log().split_off(before);
    let blob_gets: Vec<&String> = log
        .iter()
        .map(|(r, _)| r)
        .filter(|r| r.starts_with("GET ") && r.contains("/blobs/"))
        .collect();
    assert_eq!(blob_gets.len(), 2 * expected.blobs.len(), "{blob_gets:#?}");
    for blob in &expected.blobs {
        let path = format!("GET /v2/src/app/blobs/{}", blob.digest);
        assert_eq!(
            blob_gets.iter().filter(|r| ***r == path).count(),
            2,
            "{path}: once for the four uploads, once for the retry"
        );
    }
    // After the ping and the root: child manifests + blobs (and the retries).
    let children = expected.manifests.len() as u64 - 1;
    assert_eq!(
        reader.requests(&registry.name()) - opened,
        children + 2 * expected.blobs.len() as u64
    );
    let manifest_gets = log
        .iter()
        .filter(|(r, _)| r.starts_with("GET ") && r.contains("/manifests/"));
    assert_eq!(manifest_gets.count() as u64, 1 + children, "{log:#?}");
    // What the registry saw in all: one ping, the manifests, the blobs (and the retries).
    assert_eq!(
        log.len() as u64,
        1 + 1 + children + 2 * expected.blobs.len() as u64,
        "{log:#?}"
    );
    let Source::Registry(inner) = &remote else {
        panic!("a registry source");
    };
    let cache = inner.cache_dir().to_owned();
    assert!(cache.is_dir());
    drop(remote);
    assert!(!cache.exists(), "the blob cache is removed on drop");
}

#[tokio::test]
async fn registry_source_reads_the_same_graph_and_each_blob_once() {
    same_graph_and_blobs_read_once(SampleSpec {
        attestation: true,
        empty_layer: true,
        // A layer of several progress steps (256 KiB), odd-sized, so readers follow the download
        // while it runs and stop at its exact end.
        layer_sizes: vec![3 * 1024 * 1024 + 17, 20_001],
        ..SampleSpec::default()
    })
    .await;
}

#[tokio::test]
async fn registry_source_with_docker_types_and_a_nested_index() {
    same_graph_and_blobs_read_once(SampleSpec {
        docker_media_types: true,
        ..SampleSpec::default()
    })
    .await;
    same_graph_and_blobs_read_once(SampleSpec {
        nested_index: true,
        ..SampleSpec::default()
    })
    .await;
}

#[tokio::test]
async fn registry_source_by_digest_and_missing_tags() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let sample = Sample::new(&SampleSpec::default());
    let local = open(&sample.layout(), &client()).await;
    let expected = local.graph().await.expect("graph");
    let pusher = Client::new(registry.client_config()).expect("client");
    let repo = Repository::parse(&format!("{}/by/digest", registry.name())).expect("repo");
    push(&pusher, &local, &expected, &repo, "edge").await;
    let by_digest = format!("{}/by/digest@{}", registry.name(), sample.image.root.digest);
    let reader = Client::new(registry.client_config()).expect("client");
    let got = open(&by_digest, &reader)
        .await
        .graph()
        .await
        .expect("graph");
    assert_eq!(got, expected);
    let missing =
        registry_action::source::SourceSpec::parse(&format!("{}/by/digest:nope", registry.name()))
            .unwrap();
    let err = Source::open(&missing, &reader).await.unwrap_err();
    assert!(err.to_string().contains("404"), "{err}");
}

#[tokio::test]
async fn an_image_pushed_by_skopeo_reads_as_the_same_graph() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    // Not a nested index: skopeo 1.9 refuses those ("received a manifest list instead of a
    // manifest for a single image").
    let sample = Sample::new(&SampleSpec {
        attestation: true,
        empty_layer: true,
        ..SampleSpec::default()
    });
    let target = format!("docker://{}/pushed/by-skopeo:v1", registry.name());
    super::local::skopeo(&[
        "copy",
        "--all",
        "--preserve-digests",
        "--dest-tls-verify=false",
        &sample.layout(),
        &target,
    ]);
    let reader = Client::new(registry.client_config()).expect("client");
    let from_registry = open(&target, &reader).await.graph().await.expect("graph");
    let from_layout = open(&sample.layout(), &client())
        .await
        .graph()
        .await
        .expect("graph");
    assert_eq!(from_registry, from_layout);
}
