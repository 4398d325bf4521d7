//! Cross-repository mounts on one registry: the blob lands in the target without an upload; a
//! refused mount hands back its upload session, used without a second POST.

use registry_action::registry::{Client, Digest, Mount, Reference};

use super::harness::Registry;
use super::image::{image, push_image, repo};

#[tokio::test]
async fn mount_between_repositories_moves_no_bytes() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let client = Client::new(registry.client_config()).expect("client");
    let name = registry.name();
    let (src, dst) = (repo(&name, "src"), repo(&name, "dst"));
    let img = image("mount", "amd64");
    push_image(&client, &src, &img, Reference::Tag("v1".into())).await;

    let before = client.requests(&name);
    for blob in img.blobs() {
        let mount = client
            .mount_blob(&dst, &src, &blob.digest)
            .await
            .expect("mount");
        assert!(matches!(mount, Mount::Mounted), "{mount:?}");
        assert_eq!(
            client.head_blob(&dst, &blob.digest).await.expect("head"),
            Some(blob.bytes.len() as u64)
        );
    }
    assert_eq!(
        client.requests(&name) - before,
        6,
        "one POST and one HEAD per blob"
    );
    let log = registry.access_log();
    let uploads: Vec<_> = log
        .iter()
        .filter(|(req, _)| {
            req.starts_with("PUT /v2/dst/blobs/uploads") || req.starts_with("PATCH /v2/dst/")
        })
        .collect();
    assert!(uploads.is_empty(), "no upload into dst: {uploads:?}");
    let mounts = log.iter().filter(|(req, status)| {
        req.starts_with("POST /v2/dst/blobs/uploads/?mount=") && *status == 201
    });
    assert_eq!(mounts.count(), 3, "{log:?}");
}

#[tokio::test]
async fn refused_mount_reuses_its_upload_session() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let client = Client::new(registry.client_config()).expect("client");
    let name = registry.name();
    let (src, dst) = (repo(&name, "empty-src"), repo(&name, "dst"));
    let bytes = bytes::Bytes::from_static(b"a blob the source does not have");
    let digest = Digest::sha256(&bytes);
    let Mount::Upload(session) = client.mount_blob(&dst, &src, &digest).await.expect("mount")
    else {
        panic!("the source has no such blob: the registry must open an upload session");
    };
    let before = client.requests(&name);
    client
        .push_blob(&dst, &digest, bytes.len() as u64, &bytes, Some(session))
        .await
        .expect("push");
    assert_eq!(
        client.requests(&name) - before,
        1,
        "only the PUT: the mount's session is reused"
    );
    assert_eq!(
        client.head_blob(&dst, &digest).await.expect("head"),
        Some(bytes.len() as u64)
    );
    let posts = registry
        .access_log()
        .into_iter()
        .filter(|(r, _)| r.starts_with("POST /v2/dst/blobs/uploads/"))
        .count();
    assert_eq!(posts, 1, "one POST (the mount) in all");
}
