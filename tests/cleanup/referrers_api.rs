//! Cleanup on a registry with the OCI 1.1 referrers API (the loopback emulation in front of a
//! real distribution): there referrers carry no tag, so the tag listing cannot show them and only
//! the API finds them. Three builds, each with an attestation registered through the API, the
//! oldest's attestation signed too. Under `keep last=1` + `delete tag=*` the two older builds go
//! and take their attestations (and the signature of one) along; the newest keeps its own; a
//! dry run deletes nothing. Read back from the registry behind the emulator.

use super::backend::{DAY, TWENTY_DAYS};
use super::fallback::image;
use crate::registry::harness::Registry;
use crate::registry::referrers::refer;
use crate::registry::referrers_api::ReferrersApi;
use crate::support::run;
use registry_action::registry::{Client, Digest, Reference, Repository};

const PROVENANCE: &str = "application/vnd.in-toto+json";
const SIG: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// Whether the registry behind the emulator still holds manifest `digest` of `app/app`.
async fn held(client: &Client, registry: &Registry, digest: &Digest) -> bool {
    let repo = Repository::parse(&format!("{}/app/app", registry.name())).expect("repository");
    client
        .head_manifest(&repo.with(Reference::Digest(digest.clone())))
        .await
        .expect("HEAD")
        .is_some()
}

fn cleanup(api: &ReferrersApi, dry_run: bool) -> crate::support::Run {
    let image = format!("{}/app/app", api.name());
    let now = TWENTY_DAYS.to_string();
    let dry = dry_run.to_string();
    let vars = [
        ("INPUT_IMAGES", image.as_str()),
        ("INPUT_RETENTION", "keep last=1\ndelete tag=*"),
        ("INPUT_DRY-RUN", dry.as_str()),
        ("SOURCE_DATE_EPOCH", now.as_str()),
    ];
    let r = run(&["cleanup"], &vars);
    assert!(r.success(), "{}\n{}", r.stdout(), r.stderr());
    r
}

#[tokio::test]
async fn untagged_referrers_found_through_the_api_follow_their_image() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let api = ReferrersApi::start(registry.addr);
    let client = Client::new(registry.client_config()).expect("client");
    let repo = Repository::parse(&format!("{}/app/app", api.name())).expect("repository");
    let mut builds = Vec::new();
    for (name, days) in [("build-1", 3), ("build-2", 2), ("build-3", 1)] {
        let created = jiff::Timestamp::from_second(TWENTY_DAYS - days * DAY).expect("time");
        let (root, _) = image(&client, &repo, name, &created.to_string()).await;
        let (attestation, registered) = refer(&client, &repo, &root, PROVENANCE, name).await;
        assert!(registered, "the emulated registry answers OCI-Subject");
        builds.push((root, attestation));
    }
    let (signature, _) = refer(&client, &repo, &builds[0].1, SIG, "sig").await;
    let all: Vec<&Digest> = builds
        .iter()
        .flat_map(|(r, a)| [r, a])
        .chain([&signature])
        .collect();

    let dry = cleanup(&api, true);
    for digest in &all {
        assert!(
            held(&client, &registry, digest).await,
            "a dry run deleted {digest}"
        );
    }
    assert_eq!(dry.get("deleted"), "5", "{}", dry.summary_file);

    let real = cleanup(&api, false);
    assert_eq!(real.get("deleted"), "5", "{}", real.summary_file);
    assert_eq!(real.get("failed"), "0", "{}", real.summary_file);
    for (root, attestation) in &builds[..2] {
        assert!(!held(&client, &registry, root).await, "{root} kept");
        assert!(
            !held(&client, &registry, attestation).await,
            "the attestation {attestation} of a deleted build was left behind"
        );
    }
    assert!(
        !held(&client, &registry, &signature).await,
        "the signature of a deleted attestation stayed"
    );
    let (root, attestation) = &builds[2];
    assert!(
        held(&client, &registry, root).await,
        "the newest build went"
    );
    assert!(
        held(&client, &registry, attestation).await,
        "the newest build's attestation went"
    );
    assert_eq!(
        api.referrers_of("app/app", &root.to_string()),
        vec![attestation.to_string()],
        "the API still lists the kept build's attestation"
    );
}
