//! Referrers between the two forms (issue 16): the OCI 1.1 referrers API (the loopback emulation
//! in front of distribution, `registry::referrers_api`) and distribution's own fallback indexes.
//! An API source without a single fallback tag feeds a fallback destination (its indexes written
//! from the API's descriptors) and an API destination (the registry lists them, no index
//! written); a fallback source feeds an API destination; `referrer-types` through action.yml's
//! default and with a filter. skopeo reads what landed on distribution.

use super::cli::{layout, publish_cli, writes};
use super::referrers::{listed, referrer_tags, registry_bytes, repo, signed_image};
use crate::registry::harness::Registry;
use crate::registry::referrers::refer;
use crate::registry::referrers_api::{Kind, ReferrersApi};
use crate::support::Run;
use imagekit::sample::SampleSpec;
use registry_action::registry::{Client, Digest, Reference, Repository};

const SIG: &str = "application/vnd.dev.cosign.artifact.sig.v1+json";
const SBOM: &str = "application/spdx+json";
const EXTRA: &str = "application/vnd.test.extra";
const PROVENANCE: &str = "application/vnd.in-toto+json";

/// action.yml's default for `input`, as the runner passes it.
fn action_default(input: &str) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/action.yml");
    let text = std::fs::read_to_string(path).expect("action.yml");
    let docs = yaml_rust2::YamlLoader::load_from_str(&text).expect("action.yml is YAML");
    docs[0]["inputs"][input]["default"]
        .as_str()
        .unwrap_or_else(|| panic!("input {input} has a default"))
        .to_owned()
}

/// An image in `src/app:v1` behind `api`, whose referrers only the API lists (no tag names
/// them): three of the index (more than a page), an attestation of its `linux/amd64` manifest,
/// and a signature of that attestation.
struct ApiImage {
    _dir: tempfile::TempDir,
    root: Digest,
    children: usize,
    amd64: Digest,
    /// The index's referrers with their artifact types.
    on_root: Vec<(Digest, &'static str)>,
    attestation: Digest,
    attestation_signature: Digest,
}

impl ApiImage {
    fn all(&self) -> Vec<Digest> {
        let mut all: Vec<Digest> = self.on_root.iter().map(|(d, _)| d.clone()).collect();
        all.extend([self.attestation.clone(), self.attestation_signature.clone()]);
        all
    }
}

async fn api_image(registry: &Registry, api: &ReferrersApi, client: &Client) -> ApiImage {
    let (dir, image) = layout(&SampleSpec {
        top_layer_seed: 17,
        ..SampleSpec::default()
    });
    let pushed = publish_cli(
        format!("oci:{}", image.dir.display()),
        format!("{}/src/app", api.name()),
        "type=raw,value=v1",
        &[],
    );
    assert!(pushed.success(), "{}", pushed.stdout());
    let index: serde_json::Value =
        serde_json::from_slice(&registry_bytes(registry, "src/app:v1")).expect("index");
    let children = index["manifests"].as_array().expect("manifests");
    let amd64 = children
        .iter()
        .find(|m| m["platform"]["architecture"] == "amd64")
        .and_then(|m| m["digest"].as_str())
        .expect("a linux/amd64 manifest");
    let amd64 = Digest::parse(amd64).expect("digest");
    let src = Repository::parse(&format!("{}/src/app", api.name())).expect("repo");
    let root = image.root.digest.clone();
    let mut on_root = Vec::new();
    for (artifact_type, seed) in [(SIG, "sig of index"), (SBOM, "sbom"), (EXTRA, "extra")] {
        let (digest, registered) = refer(client, &src, &root, artifact_type, seed).await;
        assert!(registered, "the emulated registry answers OCI-Subject");
        on_root.push((digest, artifact_type));
    }
    let (attestation, _) = refer(client, &src, &amd64, PROVENANCE, "provenance").await;
    let (attestation_signature, _) =
        refer(client, &src, &attestation, SIG, "sig of attestation").await;
    ApiImage {
        _dir: dir,
        root,
        children: children.len(),
        amd64,
        on_root,
        attestation,
        attestation_signature,
    }
}

fn publish(source: &str, images: &str, vars: &[(&str, &str)]) -> Run {
    let run = publish_cli(
        format!("docker://{source}/src/app:v1"),
        images,
        "type=raw,value=v1",
        vars,
    );
    assert!(run.success(), "{}\n{}", run.stdout(), run.stderr());
    run
}

fn strings(digests: &[Digest]) -> Vec<String> {
    let mut all: Vec<String> = digests.iter().map(|d| d.to_string()).collect();
    all.sort();
    all
}

/// Referrers listings distribution itself was asked for since access log line `since`.
fn asked_distribution(registry: &Registry, since: usize) -> usize {
    registry.access_log()[since..]
        .iter()
        .filter(|(line, _)| line.contains("/referrers/"))
        .count()
}

#[tokio::test]
async fn an_api_source_feeds_a_fallback_destination_and_an_api_destination() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let (src_api, dst_api) = (
        ReferrersApi::start(registry.addr),
        ReferrersApi::start(registry.addr),
    );
    let client = Client::new(registry.client_config()).expect("client");
    let img = api_image(&registry, &src_api, &client).await;
    assert!(referrer_tags(&registry, "src/app").is_empty());
    let (before_log, before_src) = (registry.access_log().len(), src_api.count(Kind::Referrers));

    let images = format!("{}/fb/app\n{}/api/app", registry.name(), dst_api.name());
    let types = action_default("referrer-types");
    publish(
        &src_api.name(),
        &images,
        &[("INPUT_REFERRER-TYPES", &types)],
    );

    // The fallback destination: an index per subject, its entries the API's descriptors.
    let on_root: Vec<Digest> = img.on_root.iter().map(|(d, _)| d.clone()).collect();
    assert_eq!(listed(&registry, "fb/app", &img.root), strings(&on_root));
    let bytes = registry_bytes(&registry, &format!("fb/app:sha256-{}", img.root.hex()));
    let index: serde_json::Value = serde_json::from_slice(&bytes).expect("index");
    for entry in index["manifests"].as_array().expect("manifests") {
        let digest = entry["digest"].as_str().expect("digest");
        let (_, artifact_type) = img
            .on_root
            .iter()
            .find(|(d, _)| d.to_string() == digest)
            .expect("a referrer of the index");
        assert_eq!(entry["artifactType"], *artifact_type, "{entry}");
        assert!(entry["annotations"]["seed"].is_string(), "{entry}");
    }
    let attestation = std::slice::from_ref(&img.attestation);
    assert_eq!(
        listed(&registry, "fb/app", &img.amd64),
        strings(attestation)
    );
    let signature = std::slice::from_ref(&img.attestation_signature);
    assert_eq!(
        listed(&registry, "fb/app", &img.attestation),
        strings(signature)
    );
    for digest in img.all() {
        assert_eq!(
            registry_bytes(&registry, &format!("fb/app@{digest}")),
            registry_bytes(&registry, &format!("src/app@{digest}")),
            "{digest} byte for byte"
        );
    }

    // The API destination registered every referrer itself: no fallback index there.
    assert_eq!(referrer_tags(&registry, "api/app"), Vec::<String>::new());
    let listed_by = |subject: &Digest| dst_api.referrers_of("api/app", &subject.to_string());
    assert_eq!(listed_by(&img.root), strings(&on_root));
    assert_eq!(listed_by(&img.amd64), strings(attestation));
    assert_eq!(listed_by(&img.attestation), strings(signature));

    // One listing per subject at the source (the image, its children, the four referrers found
    // under them, the attestation's signature), the index's over two pages.
    let subjects = 1 + img.children + 4 + 1;
    assert_eq!(
        src_api.count(Kind::Referrers) - before_src,
        subjects + 1,
        "{:?}",
        src_api.seen()
    );
    let pages: Vec<String> = src_api
        .seen()
        .into_iter()
        .filter(|(k, r)| *k == Kind::Referrers && r.contains("page=1"))
        .map(|(_, r)| r)
        .collect();
    assert_eq!(pages.len(), 1, "the index's second page: {pages:?}");
    // distribution, without the API, is asked once in the run; the API destination once per
    // subject with referrers.
    assert_eq!(asked_distribution(&registry, before_log), 1);
    assert_eq!(dst_api.count(Kind::Referrers), 3);
}

#[tokio::test]
async fn a_fallback_source_feeds_an_api_destination_and_a_rerun_writes_nothing() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let client = Client::new(registry.client_config()).expect("client");
    let signed = signed_image(&registry, &client).await;
    let api = ReferrersApi::start(registry.addr);
    let images = format!("{}/api/app", api.name());
    let dry = publish(&registry.name(), &images, &[("INPUT_DRY-RUN", "true")]);
    let text = dry.stdout();
    let registers = format!(
        "referrers API {}  registers: {}",
        signed.amd64, signed.attestation
    );
    assert!(text.contains(&registers), "{text}");
    assert!(!text.contains("fallback index"), "{text}");
    let published = publish(&registry.name(), &images, &[]);
    let tags = referrer_tags(&registry, "api/app");
    let fallback = format!("sha256-{}", signed.amd64.hex());
    assert!(!tags.contains(&fallback), "{tags:?}");
    assert_eq!(
        tags.len(),
        2,
        "the legacy tags are copied as tags: {tags:?}"
    );
    assert_eq!(
        api.referrers_of("api/app", &signed.amd64.to_string()),
        [signed.attestation.to_string()]
    );
    assert!(
        published
            .summary_file
            .contains("registered by the registry"),
        "{}",
        published.summary_file
    );

    let before = registry.access_log().len();
    publish(&registry.name(), &images, &[]);
    let written = writes(&registry, before);
    assert!(
        written.iter().all(|line| !line.contains("sha256")),
        "the API lists them: nothing is written again, no index: {written:?}"
    );
    assert_eq!(referrer_tags(&registry, "api/app"), tags);
}

#[tokio::test]
async fn referrer_types_selects_the_images_referrers_and_theirs_travel_with_them() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let api = ReferrersApi::start(registry.addr);
    let client = Client::new(registry.client_config()).expect("client");
    let img = api_image(&registry, &api, &client).await;
    let images = format!("{}/only/app", registry.name());
    publish(
        &api.name(),
        &images,
        &[("INPUT_REFERRER-TYPES", PROVENANCE)],
    );
    let asked = api
        .seen()
        .into_iter()
        .filter(|(_, r)| r.contains("artifactType=application%2Fvnd.in-toto%2Bjson"))
        .count();
    assert_eq!(
        asked,
        1 + img.children,
        "the filter is asked of the API per subject"
    );
    let expected = vec![
        format!("sha256-{}", img.amd64.hex()),
        format!("sha256-{}", img.attestation.hex()),
    ];
    let mut expected = expected;
    expected.sort();
    assert_eq!(referrer_tags(&registry, "only/app"), expected);
    assert_eq!(
        listed(&registry, "only/app", &img.attestation),
        [img.attestation_signature.to_string()],
        "the attestation's signature travels with it"
    );
    let only = repo(&registry, "only/app");
    for (digest, _) in &img.on_root {
        let image = only.with(Reference::Digest(digest.clone()));
        let held = client.head_manifest(&image).await.expect("HEAD");
        assert!(held.is_none(), "{digest} is not of the type asked");
    }
}

/// From a fallback source, the filter reduces the fallback index's entries; cosign's legacy tags
/// name no type and travel whatever the filter.
#[tokio::test]
async fn referrer_types_on_a_fallback_source_keeps_the_legacy_tags() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let client = Client::new(registry.client_config()).expect("client");
    let signed = signed_image(&registry, &client).await;
    let images = format!("{}/typed/app", registry.name());
    publish(&registry.name(), &images, &[("INPUT_REFERRER-TYPES", SBOM)]);
    let sig_tag = format!("sha256-{}.sig", signed.image.root.digest.hex());
    assert_eq!(referrer_tags(&registry, "typed/app"), [sig_tag]);
    let typed = repo(&registry, "typed/app");
    for digest in [&signed.attestation, &signed.attestation_signature] {
        let image = typed.with(Reference::Digest(digest.clone()));
        let held = client.head_manifest(&image).await.expect("HEAD");
        assert!(held.is_none(), "{digest}: the attestation is not an SBOM");
    }
    let image = typed.with(Reference::Digest(signed.signature.clone()));
    assert!(client.head_manifest(&image).await.expect("HEAD").is_some());
}
