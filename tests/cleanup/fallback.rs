//! Issue 16 on every backend: fallback indexes (`sha256-<hex>`, the referrers tag schema) and
//! cosign `.sig` tags follow their image. Four builds, each attested: an attestation manifest
//! (with `subject`) listed in the build's fallback index, two builds signed with a `.sig` too,
//! written in a source repository and published with the binary (which copies the referrers and
//! writes each fallback index at the target, as a registry without the referrers API needs).
//! Under `keep last=2` with `delete tag=sha256-*` or `delete tag=*`, a kept build keeps its
//! fallback index and all it lists, a deleted build's go with it, and a dry run deletes nothing;
//! all read back through the real registry behind the backend.

use super::backend::{Backend, DAY, HUB_REPO, Kind, PACKAGE};
use crate::publish::referrers::{artifact, described, fallback_index, tag};
use crate::registry::harness::Registry;
use bytes::Bytes;
use registry_action::oci::media::OCI_MANIFEST;
use registry_action::registry::{Client, Digest, Reference, Repository};

const CONFIG_TYPE: &str = "application/vnd.oci.image.config.v1+json";
const LAYER_TYPE: &str = "application/vnd.oci.image.layer.v1.tar";

/// One build as published: its tag, image, the attestation its fallback index lists and its
/// cosign signature (when signed).
struct Build {
    tag: &'static str,
    root: Digest,
    attestation: Digest,
    signature: Option<Digest>,
}

impl Build {
    /// Its fallback index's tag, `sha256-<hex>`.
    fn fallback_tag(&self) -> String {
        format!("sha256-{}", self.root.hex())
    }

    /// Its cosign signature's tag, `sha256-<hex>.sig`.
    fn signature_tag(&self) -> String {
        format!("sha256-{}.sig", self.root.hex())
    }
}

/// The builds: tag, age in days, signed. `build-4` is the newest.
const BUILDS: [(&str, i64, bool); 4] = [
    ("build-1", 4, true),
    ("build-2", 3, false),
    ("build-3", 2, false),
    ("build-4", 1, true),
];

/// Pushes a one-layer image whose config says `created` to `repo`; returns its digest and size.
pub(super) async fn image(
    client: &Client,
    repo: &Repository,
    seed: &str,
    created: &str,
) -> (Digest, usize) {
    let config = serde_json::json!({
        "created": created,
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": []},
        "config": {"Labels": {"build": seed}},
    });
    let config = Bytes::from(serde_json::to_vec(&config).expect("json"));
    let layer = Bytes::from(format!("layer of {seed}"));
    let (config_digest, layer_digest) = (Digest::sha256(&config), Digest::sha256(&layer));
    for (digest, bytes) in [(&config_digest, &config), (&layer_digest, &layer)] {
        client
            .push_blob(repo, digest, bytes.len() as u64, bytes, None)
            .await
            .expect("blob");
    }
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": described(CONFIG_TYPE, &config_digest, config.len()),
        "layers": [described(LAYER_TYPE, &layer_digest, layer.len())],
    });
    let bytes = Bytes::from(serde_json::to_vec(&manifest).expect("json"));
    let size = bytes.len();
    let digest = client
        .put_manifest_raw(&repo.with(Reference::Tag(seed.into())), bytes, OCI_MANIFEST)
        .await
        .expect("image");
    (digest, size)
}

/// Writes the builds to `src/app` of the real registry: each image, its attestation listed in
/// its fallback index, and its `.sig` when signed.
async fn write_sources(registry: &Registry, now: i64) -> Vec<Build> {
    let client = Client::new(registry.client_config()).expect("client");
    let src = Repository::parse(&format!("{}/src/app", registry.name())).expect("repository");
    let mut builds = Vec::new();
    for (name, days, signed) in BUILDS {
        let created = jiff::Timestamp::from_second(now - days * DAY).expect("time");
        let (root, size) = image(&client, &src, name, &created.to_string()).await;
        let subject = Some((&root, size, OCI_MANIFEST));
        let provenance = format!("provenance of {name}");
        let (attestation, entry) = artifact(
            &client,
            &src,
            "application/vnd.in-toto+json",
            &provenance,
            subject,
        )
        .await;
        fallback_index(&client, &src, &root, &[entry]).await;
        let mut signature = None;
        if signed {
            let content = format!("signature of {name}");
            let (sig, _) = artifact(
                &client,
                &src,
                "application/vnd.dev.cosign.sig",
                &content,
                None,
            )
            .await;
            tag(&client, &src, &sig, &format!("sha256-{}.sig", root.hex())).await;
            signature = Some(sig);
        }
        builds.push(Build {
            tag: name,
            root,
            attestation,
            signature,
        });
    }
    builds
}

/// The builds published to `backend` with their referrers, each as old as its config says.
fn publish_builds(backend: &Backend) -> Vec<Build> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let now = backend.now();
    let builds = runtime.block_on(write_sources(&backend.registry, now));
    for (build, (_, days, _)) in builds.iter().zip(BUILDS) {
        let source = format!("docker://{}/src/app:{}", backend.registry.name(), build.tag);
        backend.copy(&source, build.tag);
        match backend.kind() {
            // The distribution API has no time of its own: the config's `created` is the age.
            Kind::Oci => {}
            Kind::Ghcr => {
                let mut state = backend.github().state();
                state.set_created(PACKAGE, &build.root.to_string(), now - days * DAY);
                // As GHCR shows them: the fallback index a tagged version, the attestation an
                // untagged one.
                let index = state
                    .versions
                    .iter()
                    .find(|v| v.tags.contains(&build.fallback_tag()));
                assert!(
                    index.is_some(),
                    "no version tagged {}",
                    build.fallback_tag()
                );
                let attestation = state.version(PACKAGE, &build.attestation.to_string());
                assert!(attestation.is_some_and(|v| v.tags.is_empty()));
            }
            Kind::Hub => backend.hub().backdate(HUB_REPO, build.tag, days),
        }
    }
    builds
}

/// The digests the fallback index at `reference` lists.
fn listed(bytes: &[u8]) -> Vec<String> {
    let index: serde_json::Value = serde_json::from_slice(bytes).expect("fallback index");
    index["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .filter_map(|m| m["digest"].as_str().map(str::to_owned))
        .collect()
}

/// A kept build is whole: its tag, its fallback index and every referrer it lists, its `.sig`.
fn assert_kept(backend: &Backend, build: &Build) {
    let tagged = backend.read(&format!(":{}", build.tag));
    assert!(tagged.is_some(), "{} is gone", build.tag);
    assert_eq!(tagged, backend.read(&format!("@{}", build.root)));
    let index = backend
        .read(&format!(":{}", build.fallback_tag()))
        .unwrap_or_else(|| panic!("the fallback index of kept {} is gone", build.tag));
    let listed = listed(&index);
    assert!(
        listed.contains(&build.attestation.to_string()),
        "{}: {listed:?}",
        build.tag
    );
    for referrer in &listed {
        assert!(
            backend.read(&format!("@{referrer}")).is_some(),
            "{referrer}, listed for kept {}, is gone",
            build.tag
        );
    }
    if let Some(signature) = &build.signature {
        let signed = backend.read(&format!(":{}", build.signature_tag()));
        assert!(signed.is_some(), "the .sig of kept {} is gone", build.tag);
        assert_eq!(signed, backend.read(&format!("@{signature}")));
    }
}

/// A deleted build is gone with its fallback index, its `.sig` and its referrers. Hub deletes
/// tags, not manifests: there the manifests stay, pullable by digest only.
fn assert_gone(backend: &Backend, build: &Build, index: &Digest) {
    for reference in [
        format!(":{}", build.tag),
        format!(":{}", build.fallback_tag()),
        format!(":{}", build.signature_tag()),
    ] {
        assert!(backend.read(&reference).is_none(), "{reference} resolves");
    }
    for digest in manifests(build, index) {
        let there = backend.read(&format!("@{digest}")).is_some();
        assert_eq!(
            there,
            backend.kind() == Kind::Hub,
            "{digest} of deleted {} by digest",
            build.tag
        );
    }
}

/// The digests of `run`'s report under `list` (`decisions` or `deletions`) whose `action` is
/// `delete` (deletions have none: every one counts), sorted.
fn digests(run: &crate::support::Run, list: &str) -> Vec<String> {
    let report: serde_json::Value = serde_json::from_str(&run.get("report")).expect("report");
    let mut digests: Vec<String> = report["images"][0][list]
        .as_array()
        .map(|all| {
            all.iter()
                .filter(|d| d["action"].is_null() || d["action"] == "delete")
                .filter_map(|d| d["digest"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    digests.sort();
    digests.dedup();
    digests
}

/// A dry run of `policy` deletes nothing and plans what the real run then deletes; returns the
/// real run's deletions.
fn cleanup(backend: &Backend, policy: &str) -> Vec<String> {
    let before = backend.deletions();
    let dry = backend.cleanup(policy, true);
    assert!(dry.success(), "{}\n{}", dry.stdout(), dry.stderr());
    assert_eq!(backend.deletions(), before, "a dry run deleted");
    let real = backend.cleanup(policy, false);
    assert!(real.success(), "{}\n{}", real.stdout(), real.stderr());
    assert_eq!(real.get("failed"), "0", "{}", real.summary_file);
    assert_eq!(
        dry.get("deleted"),
        real.get("deleted"),
        "{}",
        real.summary_file
    );
    let planned = digests(&dry, "decisions");
    assert_eq!(digests(&real, "decisions"), planned);
    assert_eq!(
        digests(&real, "deletions"),
        planned,
        "{}",
        real.summary_file
    );
    planned
}

/// A build's manifests: image, fallback index (at the target), attestation, `.sig`; sorted.
fn manifests(build: &Build, index: &Digest) -> Vec<String> {
    let mut all: Vec<String> = [&build.root, index, &build.attestation]
        .into_iter()
        .chain(&build.signature)
        .map(Digest::to_string)
        .collect();
    all.sort();
    all
}

/// What a cleanup of `build` deletes: all its manifests, or on Hub, which lists tags only (the
/// untagged attestation never reaches its inventory), the tagged ones.
fn deletable(backend: &Backend, build: &Build, index: &Digest) -> Vec<String> {
    let mut all = manifests(build, index);
    if backend.kind() == Kind::Hub {
        all.retain(|d| *d != build.attestation.to_string());
    }
    all
}

/// The scenario (see the module doc): `delete tag=sha256-*` alone deletes nothing; with the
/// oldest build's tag deleted too, that build goes with its referrers; then `delete tag=*` under
/// `keep last=2` takes the next one, and the two newest stay whole.
pub fn fallback_indexes_follow_their_image(backend: &Backend) {
    let builds = publish_builds(backend);
    let indexes: Vec<Digest> = builds
        .iter()
        .map(|b| {
            let bytes = backend
                .read(&format!(":{}", b.fallback_tag()))
                .expect("fallback index");
            assert!(listed(&bytes).contains(&b.attestation.to_string()));
            Digest::sha256(&bytes)
        })
        .collect();
    let nothing = backend.cleanup("keep last=2\ndelete tag=sha256-*", false);
    assert!(nothing.success(), "{}", nothing.stdout());
    assert_eq!(nothing.get("deleted"), "0", "{}", nothing.summary_file);
    assert_eq!(backend.deletions(), 0);
    for build in &builds {
        assert_kept(backend, build);
    }

    // The oldest build goes, by its own tag: its fallback index, attestation and `.sig` follow.
    let deleted = cleanup(
        backend,
        "keep last=2\ndelete tag=sha256-*\ndelete tag=build-1",
    );
    assert_eq!(deleted, deletable(backend, &builds[0], &indexes[0]));
    assert_gone(backend, &builds[0], &indexes[0]);
    for build in &builds[1..] {
        assert_kept(backend, build);
    }

    // Every tag selected, the two newest images kept: their fallback indexes are not counted.
    let deleted = cleanup(backend, "keep last=2\ndelete tag=*");
    assert_eq!(deleted, deletable(backend, &builds[1], &indexes[1]));
    assert_gone(backend, &builds[1], &indexes[1]);
    for build in &builds[2..] {
        assert_kept(backend, build);
    }
    let again = backend.cleanup("keep last=2\ndelete tag=*", false);
    assert_eq!(again.get("deleted"), "0", "{}", again.summary_file);
}
