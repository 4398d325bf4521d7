//! Referrers travel with the image (issue 16) on a real registry without the referrers API: a
//! signed multi-arch image (a cosign `.sig` of the index, an attestation of its `linux/amd64`
//! manifest listed in that manifest's `sha256-<hex>` fallback index, a `.sig` of the
//! attestation) published from one repository to two others; skopeo is the oracle.

use super::cli::{layout, publish_cli};
use crate::registry::harness::Registry;
use crate::registry::proxy::{Fault, Proxy, Rule};
use crate::sample::SampleImage;
use crate::support::Run;
use bytes::Bytes;
use imagekit::sample::SampleSpec;
use registry_action::oci::media::{OCI_INDEX, OCI_MANIFEST};
use registry_action::registry::{Client, Digest, Reference, Repository};

const EMPTY: &[u8] = b"{}";
const EMPTY_TYPE: &str = "application/vnd.oci.empty.v1+json";

/// A descriptor as JSON.
pub fn described(media_type: &str, digest: &Digest, size: usize) -> serde_json::Value {
    serde_json::json!({"mediaType": media_type, "digest": digest.to_string(), "size": size})
}

/// Pushes an artifact manifest (empty config, one layer of `content`) to `repo`, with
/// `subject` when given; returns its digest and its fallback index entry.
pub async fn artifact(
    client: &Client,
    repo: &Repository,
    artifact_type: &str,
    content: &str,
    subject: Option<(&Digest, usize, &str)>,
) -> (Digest, serde_json::Value) {
    let layer = Bytes::from(content.to_owned());
    let layer_digest = Digest::sha256(&layer);
    let empty_digest = Digest::sha256(EMPTY);
    client
        .push_blob(repo, &empty_digest, 2, &Bytes::from_static(EMPTY), None)
        .await
        .expect("config");
    client
        .push_blob(repo, &layer_digest, layer.len() as u64, &layer, None)
        .await
        .expect("layer");
    let mut manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": described(EMPTY_TYPE, &empty_digest, 2),
        "layers": [described("text/plain", &layer_digest, layer.len())],
    });
    if let Some((digest, size, media_type)) = subject {
        manifest["subject"] = described(media_type, digest, size);
    }
    let bytes = Bytes::from(serde_json::to_vec(&manifest).expect("json"));
    let digest = Digest::sha256(&bytes);
    let size = bytes.len();
    client
        .put_manifest_raw(
            &repo.with(Reference::Digest(digest.clone())),
            bytes,
            OCI_MANIFEST,
        )
        .await
        .expect("artifact");
    let mut entry = described(OCI_MANIFEST, &digest, size);
    entry["artifactType"] = artifact_type.into();
    (digest, entry)
}

/// Puts a fallback index listing `entries` under `sha256-<hex of subject>` in `repo`.
pub async fn fallback_index(
    client: &Client,
    repo: &Repository,
    subject: &Digest,
    entries: &[serde_json::Value],
) {
    let index =
        serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries});
    let tag = format!("sha256-{}", subject.hex());
    client
        .put_manifest_raw(
            &repo.with(Reference::Tag(tag)),
            Bytes::from(serde_json::to_vec(&index).expect("json")),
            OCI_INDEX,
        )
        .await
        .expect("fallback index");
}

/// Tags manifest `digest` of `repo` as `tag` too.
pub async fn tag(client: &Client, repo: &Repository, digest: &Digest, tag: &str) {
    let manifest = client
        .get_manifest_raw(&repo.with(Reference::Digest(digest.clone())))
        .await
        .expect("manifest");
    client
        .put_manifest_raw(
            &repo.with(Reference::Tag(tag.into())),
            manifest.bytes,
            &manifest.media_type,
        )
        .await
        .expect("tag");
}

/// The signed image in `src/app:v1`: what refers to what.
pub(super) struct Signed {
    _dir: tempfile::TempDir,
    pub(super) image: SampleImage,
    pub(super) amd64: Digest,
    pub(super) signature: Digest,
    pub(super) attestation: Digest,
    pub(super) attestation_signature: Digest,
}

pub(super) async fn signed_image(registry: &Registry, client: &Client) -> Signed {
    let (dir, image) = layout(&SampleSpec {
        top_layer_seed: 16,
        ..SampleSpec::default()
    });
    let pushed = publish_cli(
        format!("oci:{}", image.dir.display()),
        format!("{}/src/app", registry.name()),
        "type=raw,value=v1",
        &[],
    );
    assert!(pushed.success(), "{}", pushed.stdout());
    let index: serde_json::Value =
        serde_json::from_slice(&registry_bytes(registry, "src/app:v1")).expect("index");
    let amd64 = index["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .find(|m| m["platform"]["architecture"] == "amd64")
        .expect("a linux/amd64 manifest");
    let amd64_size = amd64["size"].as_u64().expect("size") as usize;
    let amd64_type = amd64["mediaType"]
        .as_str()
        .unwrap_or(OCI_MANIFEST)
        .to_owned();
    let amd64 = Digest::parse(amd64["digest"].as_str().expect("digest")).expect("digest");
    let src = repo(registry, "src/app");
    let root = &image.root.digest;
    let (signature, _) = artifact(
        client,
        &src,
        "application/vnd.dev.cosign.sig",
        "sig of index",
        None,
    )
    .await;
    tag(
        client,
        &src,
        &signature,
        &format!("sha256-{}.sig", root.hex()),
    )
    .await;
    let subject = Some((&amd64, amd64_size, amd64_type.as_str()));
    let (attestation, entry) = artifact(
        client,
        &src,
        "application/vnd.in-toto+json",
        "provenance of amd64",
        subject,
    )
    .await;
    fallback_index(client, &src, &amd64, &[entry]).await;
    let (attestation_signature, _) = artifact(
        client,
        &src,
        "application/vnd.dev.cosign.sig",
        "sig of attestation",
        None,
    )
    .await;
    let sig_tag = format!("sha256-{}.sig", attestation.hex());
    tag(client, &src, &attestation_signature, &sig_tag).await;
    Signed {
        _dir: dir,
        image,
        amd64,
        signature,
        attestation,
        attestation_signature,
    }
}

pub(super) fn repo(registry: &Registry, name: &str) -> Repository {
    Repository::parse(&format!("{}/{name}", registry.name())).expect("repository")
}

pub(crate) fn registry_bytes(registry: &Registry, reference: &str) -> Vec<u8> {
    registry.skopeo_raw(reference)
}

fn publish(registry: &Registry, images: &str, vars: &[(&str, &str)]) -> Run {
    let run = publish_cli(
        format!("docker://{}/src/app:v1", registry.name()),
        images,
        "type=raw,value=v1",
        vars,
    );
    assert!(run.success(), "{}\n{}", run.stdout(), run.stderr());
    run
}

/// The referrer tags (`sha256-*`) of `repo`, sorted.
pub(super) fn referrer_tags(registry: &Registry, repo: &str) -> Vec<String> {
    let mut tags: Vec<String> = registry
        .skopeo_tags(repo)
        .into_iter()
        .filter(|t| t.starts_with("sha256-"))
        .collect();
    tags.sort();
    tags
}

/// The digests a fallback index lists, sorted as written.
pub(crate) fn listed(registry: &Registry, repo: &str, subject: &Digest) -> Vec<String> {
    let bytes = registry_bytes(registry, &format!("{repo}:sha256-{}", subject.hex()));
    let index: serde_json::Value = serde_json::from_slice(&bytes).expect("index");
    index["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .map(|m| m["digest"].as_str().expect("digest").to_owned())
        .collect()
}

#[tokio::test]
async fn referrers_travel_with_the_image_merged_into_what_a_destination_lists() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let client = Client::new(registry.client_config()).expect("client");
    let signed = signed_image(&registry, &client).await;
    // The second destination's fallback index of the amd64 manifest lists a referrer only it has.
    let two = repo(&registry, "two/app");
    let subject = Some((&signed.amd64, 0, OCI_MANIFEST));
    let (theirs, entry) = artifact(&client, &two, "application/spdx+json", "theirs", subject).await;
    fallback_index(&client, &two, &signed.amd64, &[entry]).await;

    let images = format!("{0}/one/app\n{0}/two/app", registry.name());
    let dry = publish(&registry, &images, &[("INPUT_DRY-RUN", "true")]);
    let text = dry.stdout();
    for digest in [
        &signed.signature,
        &signed.attestation,
        &signed.attestation_signature,
    ] {
        assert!(
            text.contains(&format!("referrer {digest}")),
            "{digest}: {text}"
        );
    }
    assert!(
        text.contains(&format!(
            "fallback index sha256-{}  create",
            signed.amd64.hex()
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "fallback index sha256-{}  merge",
            signed.amd64.hex()
        )),
        "{text}"
    );
    let one = repo(&registry, "one/app");
    let written = client.list_tags(&one, None).await.expect("tags");
    assert!(written.is_empty(), "a dry run writes nothing: {written:?}");

    let published = publish(&registry, &images, &[]);
    let source_tags = referrer_tags(&registry, "src/app");
    assert_eq!(source_tags.len(), 3, "{source_tags:?}");
    for target in ["one/app", "two/app"] {
        assert_eq!(referrer_tags(&registry, target), source_tags, "{target}");
        for digest in [
            &signed.signature,
            &signed.attestation,
            &signed.attestation_signature,
        ] {
            let reference = format!("{target}@{digest}");
            let source = format!("src/app@{digest}");
            assert_eq!(
                registry_bytes(&registry, &reference),
                registry_bytes(&registry, &source)
            );
        }
        for sig in [&signed.image.root.digest, &signed.attestation] {
            let reference = format!("{target}:sha256-{}.sig", sig.hex());
            let source = format!("src/app:sha256-{}.sig", sig.hex());
            assert_eq!(
                registry_bytes(&registry, &reference),
                registry_bytes(&registry, &source)
            );
        }
    }
    assert_eq!(
        listed(&registry, "one/app", &signed.amd64),
        [signed.attestation.to_string()]
    );
    let mut merged = vec![signed.attestation.to_string(), theirs.to_string()];
    merged.sort();
    assert_eq!(
        listed(&registry, "two/app", &signed.amd64),
        merged,
        "theirs stays"
    );
    let summary = &published.summary_file;
    assert!(summary.contains("3 copied"), "{summary}");

    // A re-run finds every referrer there and writes none.
    let before = registry.access_log().len();
    let again = publish(&registry, &images, &[]);
    let puts: Vec<String> = registry.access_log()[before..]
        .iter()
        .map(|(line, _)| line.clone())
        .filter(|line| line.starts_with("PUT") || line.starts_with("POST"))
        .collect();
    assert!(
        puts.iter().all(|line| !line.contains("sha256")),
        "nothing of the referrers is written again: {puts:?}"
    );
    assert!(
        again.summary_file.contains("3 already there"),
        "{}",
        again.summary_file
    );
}

#[tokio::test]
async fn referrers_false_copies_none() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let client = Client::new(registry.client_config()).expect("client");
    let signed = signed_image(&registry, &client).await;
    let images = format!("{}/off/app", registry.name());
    publish(&registry, &images, &[("INPUT_REFERRERS", "false")]);
    assert!(referrer_tags(&registry, "off/app").is_empty());
    assert!(
        client
            .head_manifest(&repo(&registry, "off/app").with(Reference::Digest(signed.attestation)))
            .await
            .expect("HEAD")
            .is_none()
    );
}

/// A destination that answers manifest PUTs with `OCI-Subject` (the referrers API: emulated by a
/// proxy in front of distribution) registers the referrers itself: no fallback index is written.
#[tokio::test]
async fn a_destination_that_answers_oci_subject_gets_no_fallback_index() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let client = Client::new(registry.client_config()).expect("client");
    let signed = signed_image(&registry, &client).await;
    let upstream = registry.name().parse().expect("registry address");
    let rule = Rule {
        matching: "PUT /v2/api/app/manifests/sha256:",
        times: 1000,
        fault: Fault::AddHeader("OCI-Subject", signed.amd64.to_string()),
    };
    let proxy = Proxy::start(upstream, vec![rule]);
    let images = format!("{}/api/app", proxy.addr);
    let published = publish(&registry, &images, &[]);
    let tags = referrer_tags(&registry, "api/app");
    let fallback = format!("sha256-{}", signed.amd64.hex());
    assert!(!tags.contains(&fallback), "{tags:?}");
    assert_eq!(tags.len(), 2, "the legacy tags are copied: {tags:?}");
    let attestation = format!("api/app@{}", signed.attestation);
    assert_eq!(
        registry_bytes(&registry, &attestation),
        registry_bytes(&registry, &format!("src/app@{}", signed.attestation))
    );
    let summary = &published.summary_file;
    assert!(summary.contains("registered by the registry"), "{summary}");
}

/// Another tool writes the destination's fallback index between our read and our write: the
/// proxy answers our reads with the older index (empty), while the registry holds the newer
/// one; the HEAD before the write sees the tag moved, so the index is read again and merged,
/// and what the other tool listed stays.
#[tokio::test]
async fn a_fallback_index_that_changed_since_it_was_read_is_read_again() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let client = Client::new(registry.client_config()).expect("client");
    let signed = signed_image(&registry, &client).await;
    let race = repo(&registry, "race/app");
    let subject = Some((&signed.amd64, 0, OCI_MANIFEST));
    let (theirs, entry) = artifact(&client, &race, "application/spdx+json", "newer", subject).await;
    fallback_index(&client, &race, &signed.amd64, &[entry]).await;
    let older = serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []});
    let path = format!("GET /v2/race/app/manifests/sha256-{}$", signed.amd64.hex());
    let rule = Rule {
        matching: Box::leak(path.into_boxed_str()),
        // The observation's read, which the merge starts from.
        times: 1,
        fault: Fault::Respond {
            status: 200,
            headers: vec![("Content-Type", OCI_INDEX.to_string())],
            body: older.to_string(),
        },
    };
    let upstream = registry.name().parse().expect("registry address");
    let proxy = Proxy::start(upstream, vec![rule]);
    publish(&registry, &format!("{}/race/app", proxy.addr), &[]);
    let mut merged = vec![signed.attestation.to_string(), theirs.to_string()];
    merged.sort();
    assert_eq!(listed(&registry, "race/app", &signed.amd64), merged);
}
