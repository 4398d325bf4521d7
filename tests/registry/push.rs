//! Pushing images and indexes byte-for-byte, plain and over TLS with Basic auth; reading them
//! back (HEAD, GET, blobs) and checking with skopeo.

use futures_util::StreamExt;
use registry_action::oci::media::{OCI_INDEX, OCI_MANIFEST};
use registry_action::registry::{Client, Digest, Reference};

use super::harness::Registry;
use super::image::{image, index, push_image, repo, tagged};

async fn round_trip(registry: &Registry) {
    let client = Client::new(registry.client_config()).expect("client");
    let name = registry.name();
    let app = repo(&name, "team/app");
    let img = image("round-trip", "amd64");
    push_image(&client, &app, &img, Reference::Tag("v1".into())).await;

    // skopeo sees exactly our bytes.
    let raw = registry.skopeo_raw("team/app:v1");
    assert_eq!(
        raw,
        img.manifest.to_vec(),
        "skopeo must see the exact bytes pushed"
    );
    assert_eq!(Digest::sha256(&raw), img.digest);

    // HEAD: digest, size, media type; missing tags are None.
    let info = client
        .head_manifest(&tagged(&name, "team/app", "v1"))
        .await
        .expect("head")
        .expect("present");
    assert_eq!(info.digest, img.digest);
    assert_eq!(info.size, img.manifest.len() as u64);
    assert_eq!(info.media_type, OCI_MANIFEST);
    assert!(
        client
            .head_manifest(&tagged(&name, "team/app", "nope"))
            .await
            .expect("head")
            .is_none()
    );

    // GET by tag and by digest give the same verified bytes.
    let by_tag = client
        .get_manifest_raw(&tagged(&name, "team/app", "v1"))
        .await
        .expect("get");
    assert_eq!(by_tag.bytes, img.manifest);
    assert_eq!(by_tag.media_type, OCI_MANIFEST);
    let by_digest = client
        .get_manifest_raw(&app.with(Reference::Digest(img.digest.clone())))
        .await
        .expect("get");
    assert_eq!(by_digest.digest, img.digest);
    let missing = client
        .get_manifest_raw(&tagged(&name, "team/app", "nope"))
        .await
        .unwrap_err();
    assert!(missing.is_not_found(), "{missing}");

    // Blobs: HEAD sizes, streamed GET bytes.
    for blob in img.blobs() {
        assert_eq!(
            client
                .head_blob(&app, &blob.digest)
                .await
                .expect("head blob"),
            Some(blob.bytes.len() as u64)
        );
        let mut got = client.get_blob(&app, &blob.digest).await.expect("get blob");
        let mut bytes = Vec::new();
        while let Some(chunk) = got.stream.next().await {
            bytes.extend_from_slice(&chunk.expect("chunk"));
        }
        assert_eq!(bytes, blob.bytes.to_vec());
    }
    assert_eq!(
        client
            .head_blob(&app, &Digest::sha256(b"absent"))
            .await
            .expect("head"),
        None
    );

    // A second push of the same tag: every blob is found, only the manifest PUT is sent.
    let before = client.requests(&name);
    push_image(&client, &app, &img, Reference::Tag("v1".into())).await;
    assert_eq!(
        client.requests(&name) - before,
        3 + 1,
        "3 blob HEADs + 1 manifest PUT"
    );

    // Delete by digest.
    client
        .delete_manifest(&app, &img.digest)
        .await
        .expect("delete");
    assert!(
        client
            .head_manifest(&tagged(&name, "team/app", "v1"))
            .await
            .expect("head")
            .is_none()
    );
}

#[tokio::test]
async fn plain_registry_round_trip_matches_skopeo() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    round_trip(&registry).await;
}

#[tokio::test]
async fn tls_basic_auth_registry_round_trip_matches_skopeo() {
    let Some(registry) = Registry::tls_basic() else {
        return;
    };
    round_trip(&registry).await;
}

#[tokio::test]
async fn two_platform_index_is_pushed_byte_for_byte() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let client = Client::new(registry.client_config()).expect("client");
    let name = registry.name();
    let app = repo(&name, "multi");
    let (bytes, digest, images) = index("index");
    for img in &images {
        push_image(&client, &app, img, Reference::Digest(img.digest.clone())).await;
    }
    let pushed = client
        .put_manifest_raw(&tagged(&name, "multi", "latest"), bytes.clone(), OCI_INDEX)
        .await
        .expect("put index");
    assert_eq!(pushed, digest);
    let raw = registry.skopeo_raw("multi:latest");
    assert_eq!(raw, bytes.to_vec());
    let info = client
        .head_manifest(&tagged(&name, "multi", "latest"))
        .await
        .expect("head")
        .expect("present");
    assert_eq!((info.digest, info.media_type.as_str()), (digest, OCI_INDEX));
    for img in &images {
        let raw = registry.skopeo_raw(&format!("multi@{}", img.digest));
        assert_eq!(raw, img.manifest.to_vec());
    }
}

#[tokio::test]
async fn tls_registry_without_its_ca_is_refused_with_the_tls_error() {
    let Some(registry) = Registry::tls_basic() else {
        return;
    };
    let mut config = registry.client_config();
    config.ca_files.clear();
    let client = Client::new(config).expect("client");
    let err = client.ping(&registry.name()).await.unwrap_err().to_string();
    assert!(err.to_lowercase().contains("certificate"), "{err}");
}
