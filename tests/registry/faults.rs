//! Misbehaviour, injected by a loopback proxy in front of a real registry or by the caller:
//! retries through 503/429/500 (with `Retry-After` and GHCR's body), give-up after the limit,
//! corrupted responses and wrong-digest uploads refused.

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use registry_action::oci::media::OCI_MANIFEST;
use registry_action::registry::{Client, Digest, Error, Reference};

use super::harness::Registry;
use super::image::{image, push_image, repo, tagged};
use super::proxy::{Fault, Proxy, Rule};

fn status(status: u16, headers: Vec<(&'static str, String)>, body: &str) -> Fault {
    Fault::Respond {
        status,
        headers,
        body: body.to_owned(),
    }
}

fn rule(matching: &'static str, times: usize, fault: Fault) -> Rule {
    Rule {
        matching,
        times,
        fault,
    }
}

#[tokio::test]
async fn push_succeeds_through_503_429_and_500() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let ghcr_body = r#"{"errors":[{"code":"TOOMANYREQUESTS","message":"retry-after: 5.5ms, allowed: 44000/minute"}]}"#;
    let proxy = Proxy::start(
        registry.addr,
        vec![
            rule("GET /v2/$", 2, status(503, vec![], "")),
            rule(
                "HEAD /v2/retry/blobs/",
                1,
                status(429, vec![("Retry-After", "1".into())], ""),
            ),
            rule(
                "POST /v2/retry/blobs/uploads/",
                1,
                status(429, vec![], ghcr_body),
            ),
            rule("PUT /v2/retry/blobs/uploads/", 1, status(503, vec![], "")),
            rule("PUT /v2/retry/manifests/", 1, status(500, vec![], "")),
        ],
    );
    let client = Client::new(registry.client_config()).expect("client");
    let via = proxy.addr.to_string();
    let img = image("retry", "amd64");
    let started = Instant::now();
    push_image(
        &client,
        &repo(&via, "retry"),
        &img,
        Reference::Tag("v1".into()),
    )
    .await;
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 was honoured"
    );
    let seen = proxy.seen();
    for injected in ["503", "429", "500"] {
        assert!(
            seen.iter().any(|(_, o)| o == injected),
            "{injected} injected: {seen:?}"
        );
    }
    // The failed PUT restarted from a new upload session; every forwarded PUT carried
    // Content-Length (a chunked one would read `forwarded+chunked`): 3 blobs, each committed once.
    let count = |prefix: &str| {
        seen.iter()
            .filter(|(r, o)| r.starts_with(prefix) && o == "forwarded")
            .count()
    };
    assert_eq!(count("PUT /v2/retry/blobs/uploads/"), 3, "{seen:?}");
    assert_eq!(
        count("POST /v2/retry/blobs/uploads/"),
        4,
        "a new session after the failed PUT: {seen:?}"
    );
    assert_eq!(registry.skopeo_raw("retry:v1"), img.manifest.to_vec());
}

#[tokio::test]
async fn retries_stop_at_the_limit_with_the_last_status() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let proxy = Proxy::start(
        registry.addr,
        vec![rule("HEAD /v2/down/", 100, status(503, vec![], ""))],
    );
    let client = Client::new(registry.client_config()).expect("client");
    let err = client
        .head_blob(
            &repo(&proxy.addr.to_string(), "down"),
            &Digest::sha256(b"x"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Status { status: 503, .. }), "{err}");
    let attempts = proxy
        .seen()
        .iter()
        .filter(|(r, _)| r.starts_with("HEAD /v2/down/"))
        .count();
    assert_eq!(attempts, 5, "max_attempts of the harness policy");
}

#[tokio::test]
async fn corrupted_manifest_and_blob_are_refused() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let client = Client::new(registry.client_config()).expect("client");
    let img = image("corrupt", "amd64");
    push_image(
        &client,
        &repo(&registry.name(), "c"),
        &img,
        Reference::Tag("v1".into()),
    )
    .await;

    let proxy = Proxy::start(
        registry.addr,
        vec![
            rule("GET /v2/c/manifests/", 1, Fault::CorruptBody),
            rule("GET /v2/c/blobs/", 1, Fault::CorruptBody),
        ],
    );
    let via = proxy.addr.to_string();
    let err = client
        .get_manifest_raw(&tagged(&via, "c", "v1"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err}");

    let layer = &img.layers[1];
    let mut blob = client
        .get_blob(&repo(&via, "c"), &layer.digest)
        .await
        .expect("get blob");
    let mut delivered = 0usize;
    let mut failed = false;
    while let Some(chunk) = blob.stream.next().await {
        match chunk {
            Ok(bytes) => delivered += bytes.len(),
            Err(_) => failed = true,
        }
    }
    assert!(failed, "a corrupted blob ends in an error");
    assert!(
        delivered < layer.bytes.len(),
        "the last chunk is held back when the digest is wrong"
    );
}

#[tokio::test]
async fn wrong_digest_uploads_are_refused() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let client = Client::new(registry.client_config()).expect("client");
    let name = registry.name();
    let target = repo(&name, "strict");
    let bytes = Bytes::from_static(b"these bytes are not what the digest says");
    let claimed = Digest::sha256(b"something else");

    let err = client
        .push_blob(&target, &claimed, bytes.len() as u64, &bytes, None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err}");
    assert_eq!(
        client.head_blob(&target, &claimed).await.expect("head"),
        None,
        "nothing committed"
    );

    let real = Digest::sha256(&bytes);
    let err = client
        .push_blob(&target, &real, bytes.len() as u64 + 5, &bytes, None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::SizeMismatch { .. }), "{err}");
    assert_eq!(
        client.head_blob(&target, &real).await.expect("head"),
        None,
        "nothing committed"
    );

    let img = image("strict", "amd64");
    let wrong = target.with(Reference::Digest(Digest::sha256(b"not the manifest")));
    let err = client
        .put_manifest_raw(&wrong, img.manifest.clone(), OCI_MANIFEST)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err}");
    let commits = registry
        .access_log()
        .into_iter()
        .filter(|(r, s)| r.starts_with("PUT ") && *s == 201)
        .count();
    assert_eq!(commits, 0, "the registry committed nothing");
}

/// Issue 14: a registry that answers 400 to a large monolithic PUT (as Docker Hub has been seen
/// to) and asks for chunks of at least 10 MiB (`OCI-Chunk-Min-Length`) gets the first blob in
/// chunks of that size after one refused PUT, and every later blob in chunks at once; a 416 to a
/// PATCH is resolved by a GET of the session and the chunk sent again from where the registry
/// stands; a chunked blob whose bytes do not match its digest is never committed.
#[tokio::test]
async fn issue_14_a_refused_put_turns_the_registry_to_chunks_of_its_minimum_length() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let min = 10usize << 20;
    let proxy = Proxy::start(
        registry.addr,
        vec![
            rule(
                "PATCH /v2/chunks/blobs/uploads/",
                1,
                status(416, vec![], ""),
            ),
            rule(
                "POST /v2/chunks/blobs/uploads/",
                usize::MAX,
                Fault::AddHeader("OCI-Chunk-Min-Length", min.to_string()),
            ),
            rule(
                "PUT /v2/chunks/blobs/uploads/",
                usize::MAX,
                Fault::RefuseLarger {
                    limit: 1 << 20,
                    status: 400,
                },
            ),
        ],
    );
    let client = Client::new(registry.client_config()).expect("client");
    let target = repo(&proxy.addr.to_string(), "chunks");
    let first = Bytes::from(super::image::noise("first", (25 << 20) + 3));
    let second = Bytes::from(super::image::noise("second", (12 << 20) + 1));
    for blob in [&first, &second] {
        let digest = Digest::sha256(blob);
        client
            .push_blob(&target, &digest, blob.len() as u64, blob, None)
            .await
            .expect("push");
        assert_eq!(
            client.head_blob(&target, &digest).await.expect("head"),
            Some(blob.len() as u64)
        );
    }
    let requests = proxy.requests();
    let refused = requests.iter().filter(|q| q.outcome == "400").count();
    assert_eq!(
        refused, 1,
        "only the first blob tried one PUT: {requests:?}"
    );
    let patches: Vec<usize> = requests
        .iter()
        .filter(|q| q.what.starts_with("PATCH ") && q.outcome == "forwarded")
        .map(|q| q.body_len)
        .collect();
    let status_reads = requests
        .iter()
        .filter(|q| q.what.starts_with("GET /v2/chunks/blobs/uploads/"))
        .count();
    assert_eq!(
        (
            requests.iter().filter(|q| q.outcome == "416").count(),
            status_reads
        ),
        (1, 1),
        "one 416, resolved by one GET of the session: {requests:?}"
    );
    assert_eq!(
        patches,
        [min, min, (5 << 20) + 3, min, (2 << 20) + 1],
        "chunks of the minimum length, the last of each blob shorter"
    );

    let wrong = Digest::sha256(b"not these bytes");
    let err = client
        .push_blob(&target, &wrong, second.len() as u64, &second, None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err}");
    assert_eq!(client.head_blob(&target, &wrong).await.expect("head"), None);
}

/// Issue 14: a TLS registry on 127.0.0.1 whose CA the client does not trust. Loopback follows
/// the insecure-registry rule: one HTTPS try (the certificate refused), one plain-HTTP try (the
/// TLS server answers 400); the error is the certificate's, in plain words with the fix, after
/// those two requests and no retry.
#[tokio::test]
async fn issue_14_an_unknown_ca_on_loopback_says_why_without_retrying() {
    let Some(registry) = Registry::tls_basic() else {
        return;
    };
    let mut config = registry.client_config();
    config.ca_files.clear();
    let client = Client::new(config).expect("client");
    let err = client.ping(&registry.name()).await.unwrap_err();
    let shown = err.to_string();
    assert!(
        shown.contains("TLS: the certificate is signed by an unknown issuer")
            && shown.contains("`SSL_CERT_FILE`")
            && shown.contains("`SSL_CERT_DIR`"),
        "{shown}"
    );
    assert_eq!(client.requests(&registry.name()), 2, "{shown}");
}
