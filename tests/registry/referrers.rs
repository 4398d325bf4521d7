//! The client's referrers API listing (issue 16): against the loopback emulation of an API
//! registry in front of distribution (pages, filters applied by the registry or not), and against
//! distribution itself, which has no API: asked once, remembered for the run.

use bytes::Bytes;
use registry_action::oci::media::OCI_MANIFEST;
use registry_action::registry::{Client, Digest, Reference, ReferrersApi, Repository};

use super::harness::Registry;
use super::proxy::Proxy;
use super::referrers_api::{Kind, Options, ReferrersApi as Emulator};

const EMPTY_TYPE: &str = "application/vnd.oci.empty.v1+json";

/// Pushes an artifact of `artifact_type` referring to `subject` to `repo`; its digest and whether
/// the registry answered `OCI-Subject`.
pub(crate) async fn refer(
    client: &Client,
    repo: &Repository,
    subject: &Digest,
    artifact_type: &str,
    seed: &str,
) -> (Digest, bool) {
    let empty = Bytes::from_static(b"{}");
    let empty_digest = Digest::sha256(&empty);
    client
        .push_blob(repo, &empty_digest, 2, &empty, None)
        .await
        .expect("config");
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": {"mediaType": EMPTY_TYPE, "digest": empty_digest.to_string(), "size": 2},
        "layers": [{"mediaType": EMPTY_TYPE, "digest": empty_digest.to_string(), "size": 2}],
        "subject": {"mediaType": OCI_MANIFEST, "digest": subject.to_string(), "size": 1},
        "annotations": {"seed": seed},
    });
    let bytes = Bytes::from(serde_json::to_vec(&manifest).expect("json"));
    let digest = Digest::sha256(&bytes);
    let image = repo.with(Reference::Digest(digest.clone()));
    let (put, registered) = client
        .put_manifest(&image, bytes, OCI_MANIFEST)
        .await
        .expect("referrer");
    assert_eq!(put, digest);
    (digest, registered)
}

fn sorted(mut digests: Vec<Digest>) -> Vec<Digest> {
    digests.sort();
    digests
}

#[tokio::test]
async fn the_referrers_api_is_listed_across_pages_and_filtered() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let api = Emulator::start(registry.addr);
    let client = Client::new(registry.client_config()).expect("client");
    let repo = Repository::parse(&format!("{}/listed/app", api.name())).expect("repo");
    let subject = Digest::sha256(b"the image");
    let mut sigs = Vec::new();
    for seed in ["a", "b", "c"] {
        let (digest, registered) = refer(&client, &repo, &subject, "x/sig", seed).await;
        assert!(registered, "an API registry answers OCI-Subject");
        sigs.push(digest);
    }
    let (sbom, _) = refer(&client, &repo, &subject, "x/sbom", "d").await;

    let all = client
        .list_referrers(&repo, &subject, &[])
        .await
        .expect("listing")
        .expect("the API");
    let mut expected = sigs.clone();
    expected.push(sbom.clone());
    let listed: Vec<Digest> = all.iter().map(|e| e.digest.clone()).collect();
    assert_eq!(sorted(listed), sorted(expected));
    assert_eq!(api.count(Kind::Referrers), 2, "4 referrers, pages of 2");
    let sbom_entry = all.iter().find(|e| e.digest == sbom).expect("sbom");
    assert_eq!(sbom_entry.json["artifactType"], "x/sbom");
    assert_eq!(sbom_entry.json["annotations"]["seed"], "d");
    assert_eq!(client.referrers_api(&api.name()), ReferrersApi::Present);

    let only_sbom = client
        .list_referrers(&repo, &subject, &["x/sbom".to_owned()])
        .await
        .expect("listing")
        .expect("the API");
    assert_eq!(only_sbom.len(), 1);
    assert_eq!(only_sbom[0].digest, sbom);
    let unknown = client
        .list_referrers(&repo, &Digest::sha256(b"nothing"), &[])
        .await
        .expect("listing");
    assert_eq!(
        unknown,
        Some(vec![]),
        "an unknown subject has none, not a 404"
    );
}

#[tokio::test]
async fn a_registry_that_ignores_the_filter_is_filtered_by_the_client() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let options = Options {
        page_size: 10,
        filters: false,
    };
    let api = Emulator::with(registry.addr, options);
    let client = Client::new(registry.client_config()).expect("client");
    let repo = Repository::parse(&format!("{}/unfiltered/app", api.name())).expect("repo");
    let subject = Digest::sha256(b"the image");
    let (sig, _) = refer(&client, &repo, &subject, "x/sig", "a").await;
    refer(&client, &repo, &subject, "x/sbom", "b").await;
    let listed = client
        .list_referrers(&repo, &subject, &["x/sig".to_owned()])
        .await
        .expect("listing")
        .expect("the API");
    let seen = api.seen();
    assert!(
        seen.iter().any(|(_, r)| r.contains("artifactType=x%2Fsig")),
        "the filter is asked of the registry: {seen:?}"
    );
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].digest, sig);
}

#[tokio::test]
async fn a_registry_without_the_api_is_asked_once_per_run() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let proxy = Proxy::start(registry.addr, vec![]);
    let client = Client::new(registry.client_config()).expect("client");
    let repo = Repository::parse(&format!("{}/plain/app", proxy.addr)).expect("repo");
    let subject = Digest::sha256(b"the image");
    let (_, registered) = refer(&client, &repo, &subject, "x/sig", "a").await;
    assert!(!registered, "distribution 2.8 has no referrers API");
    for other in [b"one".as_slice(), b"two", b"three"] {
        let listed = client
            .list_referrers(&repo, &Digest::sha256(other), &[])
            .await
            .expect("listing");
        assert_eq!(listed, None);
    }
    let asked: Vec<String> = proxy
        .seen()
        .into_iter()
        .map(|(r, _)| r)
        .filter(|r| r.contains("/referrers/"))
        .collect();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(
        client.referrers_api(&proxy.addr.to_string()),
        ReferrersApi::Absent
    );
}

/// Listings that start together, as verify sends them (several subjects at once), still probe
/// a registry without the API once: the others wait for the first one's answer.
#[tokio::test]
async fn concurrent_first_listings_probe_once() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let proxy = Proxy::start(registry.addr, vec![]);
    let client = Client::new(registry.client_config()).expect("client");
    let repo = Repository::parse(&format!("{}/plain/app", proxy.addr)).expect("repo");
    let subjects: Vec<Digest> = (0u8..8).map(|i| Digest::sha256(&[i])).collect();
    let listed = futures_util::future::join_all(
        subjects
            .iter()
            .map(|s| client.list_referrers(&repo, s, &[])),
    )
    .await;
    assert!(listed.iter().all(|l| matches!(l, Ok(None))), "{listed:?}");
    let asked = proxy
        .seen()
        .into_iter()
        .filter(|(r, _)| r.contains("/referrers/"))
        .count();
    assert_eq!(asked, 1, "one probe for 8 concurrent first listings");
}

/// Registries without the API behind token or Basic auth (GHCR and Docker Hub are token
/// registries): the listing is authorized like any read, and the 404 means no API.
#[tokio::test]
async fn an_authenticated_registry_without_the_api_answers_none() {
    for registry in [Registry::token(), Registry::tls_basic()] {
        let Some(registry) = registry else {
            return;
        };
        let client = Client::new(registry.client_config()).expect("client");
        let repo = Repository::parse(&format!("{}/private/app", registry.name())).expect("repo");
        let subject = Digest::sha256(b"the image");
        refer(&client, &repo, &subject, "x/sig", "a").await;
        let listed = client
            .list_referrers(&repo, &subject, &[])
            .await
            .expect("a listing, not an error");
        assert_eq!(listed, None);
        assert_eq!(client.referrers_api(&registry.name()), ReferrersApi::Absent);
    }
}

/// The emulation answers as the spec says a registry with the API does: 400 for a malformed
/// digest, the filter it applied named in `OCI-Filters-Applied`, the index media type.
#[tokio::test]
async fn the_emulated_api_answers_as_the_spec_says() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let api = Emulator::start(registry.addr);
    let client = Client::new(registry.client_config()).expect("client");
    let repo = Repository::parse(&format!("{}/spec/app", api.name())).expect("repo");
    let subject = Digest::sha256(b"the image");
    let (sig, _) = refer(&client, &repo, &subject, "x/sig", "a").await;
    let http = reqwest::Client::new();
    let base = format!("http://{}/v2/spec/app/referrers", api.name());
    let bad = http
        .get(format!("{base}/sha256:not-hex"))
        .send()
        .await
        .expect("answer");
    assert_eq!(bad.status().as_u16(), 400);
    let filtered = http
        .get(format!("{base}/{subject}?artifactType=x%2Fsig"))
        .send()
        .await
        .expect("answer");
    assert_eq!(filtered.status().as_u16(), 200);
    let header = |name: &str| {
        filtered
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(
        header("content-type").as_deref(),
        Some("application/vnd.oci.image.index.v1+json")
    );
    assert_eq!(
        header("oci-filters-applied").as_deref(),
        Some("artifactType")
    );
    let index: serde_json::Value = filtered.json().await.expect("index");
    assert_eq!(index["manifests"][0]["artifactType"], "x/sig");
    // A deleted referrer is listed no more.
    client.delete_manifest(&repo, &sig).await.expect("delete");
    let listed = client.list_referrers(&repo, &subject, &[]).await;
    assert_eq!(listed.expect("listing"), Some(vec![]));
}
