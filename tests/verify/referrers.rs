//! Verify compares referrers (issue 16) on real registries without the referrers API: the
//! primary's image is signed (a signature of the index, in the index's `sha256-<hex>` fallback
//! index) and its `linux/amd64` manifest has an SBOM (in that manifest's fallback index); the
//! copy in the second registry has neither. Verify names what is missing, `sync: true` copies
//! it, verify then agrees; the referrer reads are counted and kept to one GET per subject.

use super::cli::{Setup, report, runtime, status};
use crate::publish::referrers::{artifact, described, fallback_index};
use bytes::Bytes;
use registry_action::oci::media::{OCI_INDEX, OCI_MANIFEST};
use registry_action::registry::{Client, Digest, Reference, Repository};
use serde_json::{Value, json};

const SIG: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
const SBOM: &str = "application/spdx+json";
const PROVENANCE: &str = "application/vnd.in-toto+json";
const EMPTY: &[u8] = b"{}";

/// Pushes an artifact (empty config, one layer) about `subject` to `repo` and lists it in the
/// subject's fallback index; returns the artifact's digest.
async fn refer(
    client: &Client,
    repo: &Repository,
    artifact_type: &str,
    content: &str,
    subject: (&Digest, usize, &str),
) -> Digest {
    let (digest, entry) = artifact(client, repo, artifact_type, content, Some(subject)).await;
    fallback_index(client, repo, subject.0, &[entry]).await;
    digest
}

/// The lines of `log` from `since` that read the referrers: the tag listing, fallback index
/// tags (`sha256-<hex>`, by GET or HEAD) and the referrers API.
fn referrer_reads(log: &[(String, u16)], since: usize) -> Vec<String> {
    log[since..]
        .iter()
        .map(|(l, _)| l.clone())
        .filter(|l| {
            l.contains("/tags/list")
                || l.contains("/manifests/sha256-")
                || l.contains("/referrers/")
        })
        .collect()
}

/// Signs the primary's image (the index) and gives its `linux/amd64` manifest an SBOM;
/// returns the signature's and the SBOM's digests.
fn sign(s: &Setup) -> (Digest, Digest) {
    let client = Client::new(s.primary.client_config()).expect("client");
    let primary = Repository::parse(&s.a()).expect("repo");
    let index = s.image.root.clone();
    let amd64 = s.image.manifests[0].clone();
    runtime().block_on(async {
        let index_subject = (&index.digest, index.size as usize, OCI_INDEX);
        let sig = refer(&client, &primary, SIG, "signature", index_subject).await;
        let amd64_subject = (
            &amd64.digest,
            amd64.size as usize,
            amd64.media_type.as_str(),
        );
        let sbom = refer(&client, &primary, SBOM, "sbom", amd64_subject).await;
        (sig, sbom)
    })
}

/// The reads of the referrer comparison since `since` (access log lengths): one GET per subject
/// with a fallback index, on the primary only, and the counts `rep` gives are what the
/// registries saw.
fn assert_reads(s: &Setup, since: (usize, usize), rep: &Value) {
    // Two tags point at the image, and three subjects (the index, two children) are listed.
    let (index, amd64) = (&s.image.root, &s.image.manifests[0]);
    let primary_reads = referrer_reads(&s.primary.access_log(), since.0);
    let secondary_reads = referrer_reads(&s.secondary.access_log(), since.1);
    let fallback_gets = |reads: &[String]| {
        let mut gets: Vec<String> = reads
            .iter()
            .filter(|l| l.starts_with("GET") && l.contains("/manifests/sha256-"))
            .cloned()
            .collect();
        gets.sort();
        gets
    };
    let mut expected = vec![
        format!("GET /v2/app/manifests/sha256-{}", index.digest.hex()),
        format!("GET /v2/app/manifests/sha256-{}", amd64.digest.hex()),
    ];
    expected.sort();
    assert_eq!(fallback_gets(&primary_reads), expected);
    assert!(
        fallback_gets(&secondary_reads).is_empty(),
        "{secondary_reads:?}"
    );
    let counted = &rep["referrer-reads"];
    assert_eq!(
        counted[s.primary.name()].as_u64(),
        Some(primary_reads.len() as u64),
        "{rep} vs {primary_reads:?}"
    );
    assert_eq!(
        counted[s.secondary.name()].as_u64(),
        Some(secondary_reads.len() as u64),
        "{rep} vs {secondary_reads:?}"
    );
}

#[test]
fn referrers_missing_from_a_copy_are_named_and_sync_copies_them() {
    let Some(s) = Setup::new() else {
        return;
    };
    let (signature, sbom) = sign(&s);
    let (index, amd64) = (s.image.root.clone(), s.image.manifests[0].clone());
    let tags = ("INPUT_VERIFY-TAGS", "v1.0.0, edge");
    let since = (s.primary.access_log().len(), s.secondary.access_log().len());
    let r = s.verify(&[tags]);
    assert!(!r.success(), "missing referrers are drift:\n{}", r.stdout());
    assert_eq!(r.get("in-sync"), "false");
    let rep = report(&r);
    for tag in ["v1.0.0", "edge"] {
        assert_eq!(status(&rep, tag, 0), "in-sync", "{rep}");
        assert_eq!(status(&rep, tag, 1), "referrers-missing", "{rep}");
    }
    let missing = &rep["tags"][0]["registries"][1]["missing-referrers"];
    let named: Vec<(String, String, String)> = missing
        .as_array()
        .expect("missing referrers")
        .iter()
        .map(|m| {
            let text = |k: &str| m[k].as_str().unwrap_or_default().to_string();
            (text("subject"), text("digest"), text("artifactType"))
        })
        .collect();
    assert_eq!(
        named,
        [
            (index.digest.to_string(), signature.to_string(), SIG.into()),
            (amd64.digest.to_string(), sbom.to_string(), SBOM.into()),
        ]
    );
    assert!(
        r.summary_file.contains("**referrers-missing**")
            && r.summary_file.contains(&signature.to_string()),
        "{}",
        r.summary_file
    );
    assert!(
        r.console()
            .contains(&format!("missing referrer {SBOM} {sbom}")),
        "{}",
        r.console()
    );
    assert_reads(&s, since, &rep);
    // Sync copies them; verify then agrees.
    let r = s.verify(&[tags, ("INPUT_SYNC", "true")]);
    assert!(r.success(), "{}\n{}", r.stdout(), r.stderr());
    assert_eq!(r.get("in-sync"), "true");
    let rep = report(&r);
    let actions: Vec<&str> = rep["sync"]
        .as_array()
        .expect("sync steps")
        .iter()
        .filter_map(|s| s["action"].as_str())
        .collect();
    assert_eq!(actions, ["repaired", "repaired"], "{rep}");
    s.secondary.skopeo_raw(&format!("app@{signature}"));
    s.secondary.skopeo_raw(&format!("app@{sbom}"));
    let fallback: Value = serde_json::from_slice(
        &s.secondary
            .skopeo_raw(&format!("app:sha256-{}", amd64.digest.hex())),
    )
    .expect("fallback index");
    assert_eq!(fallback["manifests"][0]["digest"], sbom.to_string());
    let r = s.verify(&[tags]);
    assert!(r.success(), "{}\n{}", r.stdout(), r.stderr());
    assert_eq!(r.get("in-sync"), "true");
    assert_eq!(status(&report(&r), "edge", 1), "in-sync");
}

#[test]
fn a_dry_run_sync_lists_the_referrers_it_would_copy() {
    let Some(s) = Setup::new() else {
        return;
    };
    let client = Client::new(s.primary.client_config()).expect("client");
    let primary = Repository::parse(&s.a()).expect("repo");
    let index = s.image.root.clone();
    let signature = runtime().block_on(refer(
        &client,
        &primary,
        SIG,
        "signature",
        (&index.digest, index.size as usize, OCI_INDEX),
    ));
    // Every tag of the primary is checked, but the fallback index tag is no image tag: it is
    // compared as the index's referrers.
    let r = s.verify(&[]);
    let rep = report(&r);
    let checked: Vec<&str> = rep["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .filter_map(|t| t["tag"].as_str())
        .collect();
    assert_eq!(checked, ["edge", "v1.0.0"], "{rep}");
    assert_eq!(status(&rep, "edge", 1), "referrers-missing", "{rep}");
    let before = s.secondary.access_log().len();
    let r = s.verify(&[
        ("INPUT_VERIFY-TAGS", "edge"),
        ("INPUT_SYNC", "true"),
        ("INPUT_DRY-RUN", "true"),
    ]);
    assert!(!r.success(), "drift remains after a dry run");
    let rep = report(&r);
    assert_eq!(rep["sync"][0]["action"], "planned");
    let reason = rep["sync"][0]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("copy 1 missing referrer") && reason.contains("1 fallback index"),
        "{reason}"
    );
    assert!(
        r.console()
            .contains(&format!("referrer {signature} {SIG}  copy")),
        "{}",
        r.console()
    );
    let writes = s.secondary.access_log()[before..]
        .iter()
        .filter(|(l, _)| !l.starts_with("GET") && !l.starts_with("HEAD"))
        .count();
    assert_eq!(writes, 0);
}

/// Pushes an artifact about `subject` to `repo` under cosign's legacy tag
/// `sha256-<hex>.sig` (no fallback index); returns its digest.
async fn legacy_signature(client: &Client, repo: &Repository, subject: &Digest) -> Digest {
    let layer = Bytes::from_static(b"legacy signature");
    let layer_digest = Digest::sha256(&layer);
    let empty = Digest::sha256(EMPTY);
    client
        .push_blob(repo, &empty, 2, &Bytes::from_static(EMPTY), None)
        .await
        .expect("config");
    client
        .push_blob(repo, &layer_digest, layer.len() as u64, &layer, None)
        .await
        .expect("layer");
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": described("application/vnd.oci.empty.v1+json", &empty, 2),
        "layers": [described("application/vnd.dev.cosign.simplesigning.v1+json", &layer_digest, layer.len())],
    });
    let bytes = Bytes::from(manifest.to_string());
    let digest = Digest::sha256(&bytes);
    let tag = repo.with(Reference::Tag(format!("sha256-{}.sig", subject.hex())));
    client
        .put_manifest_raw(&tag, bytes, OCI_MANIFEST)
        .await
        .expect("legacy signature");
    digest
}

#[test]
fn a_legacy_cosign_tag_is_compared_by_head_and_copied_as_a_tag() {
    let Some(s) = Setup::new() else {
        return;
    };
    let client = Client::new(s.primary.client_config()).expect("client");
    let primary = Repository::parse(&s.a()).expect("repo");
    let index = s.image.root.digest.clone();
    let signature = runtime().block_on(legacy_signature(&client, &primary, &index));
    let sig_tag = format!("sha256-{}.sig", index.hex());
    let tags = ("INPUT_VERIFY-TAGS", "edge");
    let since = s.primary.access_log().len();
    let r = s.verify(&[tags]);
    assert!(!r.success(), "{}", r.stdout());
    let rep = report(&r);
    assert_eq!(status(&rep, "edge", 1), "referrers-missing", "{rep}");
    let missing = &rep["tags"][0]["registries"][1]["missing-referrers"][0];
    assert_eq!(missing["digest"], signature.to_string(), "{rep}");
    assert_eq!(missing["tag"], sig_tag.as_str(), "{rep}");
    // Read by HEAD: no GET of the tag or of the signature.
    let reads: Vec<String> = s.primary.access_log()[since..]
        .iter()
        .map(|(l, _)| l.clone())
        .filter(|l| l.contains(&sig_tag) || l.contains(&signature.to_string()))
        .collect();
    assert_eq!(reads, [format!("HEAD /v2/app/manifests/{sig_tag}")]);
    // `referrers: false`: referrers are neither compared nor copied.
    let r = s.verify(&[tags, ("INPUT_REFERRERS", "false")]);
    assert!(r.success(), "{}", r.stdout());
    assert_eq!(status(&report(&r), "edge", 1), "in-sync");
    let r = s.verify(&[tags, ("INPUT_SYNC", "true")]);
    assert!(r.success(), "{}\n{}", r.stdout(), r.stderr());
    assert_eq!(report(&r)["sync"][0]["action"], "repaired");
    let copied = s.secondary.skopeo_raw(&format!("app:{sig_tag}"));
    assert_eq!(Digest::sha256(&copied), signature);
}

/// `referrer-types` narrows the comparison as it narrows publish: with only signatures selected,
/// the copy lacking the SBOM is in sync as far as verify is concerned, and lacking the
/// signature is named; sync copies the signature and not the SBOM.
#[test]
fn referrer_types_selects_what_verify_compares_and_sync_copies() {
    let Some(s) = Setup::new() else {
        return;
    };
    let (signature, sbom) = sign(&s);
    let tags = ("INPUT_VERIFY-TAGS", "edge");
    let types = ("INPUT_REFERRER-TYPES", SIG);
    let r = s.verify(&[tags, types]);
    let rep = report(&r);
    assert_eq!(status(&rep, "edge", 1), "referrers-missing", "{rep}");
    let missing = &rep["tags"][0]["registries"][1]["missing-referrers"];
    let digests: Vec<&str> = missing
        .as_array()
        .expect("missing referrers")
        .iter()
        .filter_map(|m| m["digest"].as_str())
        .collect();
    assert_eq!(digests, [signature.to_string()], "{rep}");
    let r = s.verify(&[tags, types, ("INPUT_SYNC", "true")]);
    assert!(r.success(), "{}\n{}", r.stdout(), r.stderr());
    assert_eq!(r.get("in-sync"), "true");
    s.secondary.skopeo_raw(&format!("app@{signature}"));
    let client = Client::new(s.secondary.client_config()).expect("client");
    let copy = Repository::parse(&s.b()).expect("repo");
    let held = runtime().block_on(async {
        client
            .head_manifest(&copy.with(Reference::Digest(sbom.clone())))
            .await
            .expect("HEAD")
    });
    assert!(
        held.is_none(),
        "sync copied the SBOM that referrer-types left out"
    );
    // Without the filter (action.yml's default) the SBOM is missing again.
    let r = s.verify(&[tags]);
    assert_eq!(status(&report(&r), "edge", 1), "referrers-missing");
}

/// A signature of an attestation is compared as the attestation is: the copy holds the
/// attestation of the index but not its signature, which verify names (its subject: the
/// attestation), and sync copies.
#[test]
fn a_signature_of_an_attestation_is_compared_too() {
    let Some(s) = Setup::new() else {
        return;
    };
    let index = s.image.root.clone();
    let index_subject = (&index.digest, index.size as usize, OCI_INDEX);
    let (attestation, signature) = runtime().block_on(async {
        let mut attestation = None;
        for (registry, repo) in [(&s.primary, s.a()), (&s.secondary, s.b())] {
            let client = Client::new(registry.client_config()).expect("client");
            let repo = Repository::parse(&repo).expect("repo");
            let att = refer(&client, &repo, PROVENANCE, "provenance", index_subject).await;
            attestation = Some(att);
        }
        let attestation = attestation.expect("an attestation");
        let client = Client::new(s.primary.client_config()).expect("client");
        let primary = Repository::parse(&s.a()).expect("repo");
        let size = client
            .get_manifest_raw(&primary.with(Reference::Digest(attestation.clone())))
            .await
            .expect("attestation")
            .bytes
            .len();
        let signed = (&attestation, size, OCI_MANIFEST);
        let signature = refer(&client, &primary, SIG, "signature of it", signed).await;
        (attestation, signature)
    });
    let tags = ("INPUT_VERIFY-TAGS", "edge");
    let r = s.verify(&[tags]);
    let rep = report(&r);
    assert_eq!(status(&rep, "edge", 1), "referrers-missing", "{rep}");
    let missing = &rep["tags"][0]["registries"][1]["missing-referrers"];
    assert_eq!(missing.as_array().map(Vec::len), Some(1), "{rep}");
    assert_eq!(missing[0]["subject"], attestation.to_string(), "{rep}");
    assert_eq!(missing[0]["digest"], signature.to_string(), "{rep}");
    let r = s.verify(&[tags, ("INPUT_SYNC", "true")]);
    assert!(r.success(), "{}\n{}", r.stdout(), r.stderr());
    assert_eq!(r.get("in-sync"), "true");
    s.secondary.skopeo_raw(&format!("app@{signature}"));
}
