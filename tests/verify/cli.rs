//! Verify end to end: a sample image published to two plain registries, then drift made on
//! purpose (tag missing, pointing elsewhere, child manifest deleted) and found, and repaired by
//! `sync: true` where the publish rules allow it; checked with skopeo and the access logs.

use crate::registry::harness::{PASSWORD, Registry, USER};
use crate::sample::{SampleImage, SampleSpec, write_layout};
use crate::support::{Run, run};
use registry_action::registry::{Client, Digest, Repository};
use serde_json::Value;

pub(super) struct Setup {
    pub(super) primary: Registry,
    pub(super) secondary: Registry,
    _dir: tempfile::TempDir,
    pub(super) image: SampleImage,
}

impl Setup {
    /// Two registries; the default sample (an index, two platforms) published to both as
    /// `app:v1.0.0` and `app:edge`.
    pub(super) fn new() -> Option<Setup> {
        let primary = Registry::plain()?;
        let secondary = Registry::plain()?;
        let (dir, image) = sample(1);
        let setup = Setup {
            primary,
            secondary,
            _dir: dir,
            image,
        };
        let both = [setup.a(), setup.b()];
        publish(&setup.image, &both, &["v1.0.0", "edge"]);
        Some(setup)
    }
    pub(super) fn a(&self) -> String {
        format!("{}/app", self.primary.name())
    }
    pub(super) fn b(&self) -> String {
        format!("{}/app", self.secondary.name())
    }
    pub(super) fn verify(&self, vars: &[(&str, &str)]) -> Run {
        let (a, b) = (self.a(), self.b());
        run(&["verify", "--images", &a, "--images", &b], vars)
    }
}

fn sample(seed: u64) -> (tempfile::TempDir, SampleImage) {
    let dir = tempfile::tempdir().expect("temp dir");
    let image = write_layout(
        &dir.path().join("layout"),
        &SampleSpec {
            top_layer_seed: seed,
            ..SampleSpec::default()
        },
    )
    .expect("sample layout");
    (dir, image)
}

fn publish(image: &SampleImage, images: &[String], tags: &[&str]) {
    let source = format!("oci:{}", image.dir.display());
    let mut args = vec!["publish".to_string(), "--source".into(), source];
    for i in images {
        args.extend(["--images".into(), i.clone()]);
    }
    for t in tags {
        args.extend(["--tags".into(), format!("type=raw,value={t}")]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = run(&args, &[]);
    assert!(r.success(), "publish: {}\n{}", r.stdout(), r.stderr());
}

pub(super) fn report(r: &Run) -> Value {
    serde_json::from_str(&r.get("report")).expect("report is JSON")
}

/// The status of `tag` in registry `i` (0: primary).
pub(super) fn status(report: &Value, tag: &str, i: usize) -> String {
    let entry = report["tags"]
        .as_array()
        .and_then(|tags| tags.iter().find(|t| t["tag"] == tag))
        .unwrap_or_else(|| panic!("no tag {tag} in {report}"));
    entry["registries"][i]["status"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn digest_of(registry: &Registry, reference: &str) -> Digest {
    Digest::sha256(&registry.skopeo_raw(reference))
}

pub(super) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn registries_in_sync_are_verified_with_heads_only() {
    let Some(s) = Setup::new() else {
        return;
    };
    let (_other_dir, other) = sample(5);
    publish(&other, &[s.a(), s.b()], &["next"]);
    let (before_a, before_b) = (s.primary.access_log().len(), s.secondary.access_log().len());
    let r = s.verify(&[]);
    assert!(r.success(), "{}\n{}", r.stdout(), r.stderr());
    assert_eq!(r.get("in-sync"), "true");
    let rep = report(&r);
    for tag in ["v1.0.0", "edge", "next"] {
        assert_eq!(status(&rep, tag, 0), "in-sync");
        assert_eq!(status(&rep, tag, 1), "in-sync");
    }
    assert!(r.summary_file.contains("### Verify"), "{}", r.summary_file);
    let gets = |log: Vec<(String, u16)>, since: usize| -> Vec<String> {
        let mut gets: Vec<String> = log[since..]
            .iter()
            .map(|(l, _)| l.clone())
            .filter(|l| l.starts_with("GET") && l.contains("/manifests/"))
            .collect();
        gets.sort();
        gets
    };
    // Each distinct index is read once (for its children), by digest; nothing else is a GET.
    let mut expected = vec![
        format!("GET /v2/app/manifests/{}", s.image.root.digest),
        format!("GET /v2/app/manifests/{}", other.root.digest),
    ];
    expected.sort();
    assert_eq!(gets(s.primary.access_log(), before_a), expected);
    assert_eq!(
        gets(s.secondary.access_log(), before_b),
        Vec::<String>::new()
    );
    let heads = s.secondary.access_log()[before_b..]
        .iter()
        .filter(|(l, _)| l.starts_with("HEAD /v2/app/manifests/"))
        .count();
    // Three tags, and the two platform manifests of each index.
    assert_eq!(heads, 3 + 2 + 2);
}

#[test]
fn missing_and_different_tags_are_drift() {
    let Some(s) = Setup::new() else {
        return;
    };
    publish(&s.image, &[s.a()], &["main"]);
    let (_other_dir, other) = sample(2);
    publish(&other, &[s.b()], &["edge"]);
    let r = s.verify(&[("INPUT_VERIFY-TAGS", "v1.0.0, edge, main")]);
    assert!(!r.success(), "drift must fail the step:\n{}", r.stdout());
    assert_eq!(r.get("in-sync"), "false");
    let rep = report(&r);
    assert_eq!(status(&rep, "v1.0.0", 1), "in-sync");
    assert_eq!(status(&rep, "edge", 1), "different");
    assert_eq!(status(&rep, "main", 1), "missing");
    assert!(
        r.console().contains("hint: set `sync: true`"),
        "{}",
        r.console()
    );
    assert!(
        r.summary_file.contains("**different**"),
        "{}",
        r.summary_file
    );
    // Reported only when asked.
    let r = s.verify(&[
        ("INPUT_VERIFY-TAGS", "v1.0.0, edge, main"),
        ("INPUT_FAIL-ON-DRIFT", "false"),
    ]);
    assert!(r.success(), "{}", r.stdout());
    assert_eq!(r.get("in-sync"), "false");
}

/// Regression: a tag in no registry was `missing` in the primary, `in-sync` in the copy, and
/// failed as "the registries drift".
#[test]
fn a_listed_tag_no_registry_has_is_missing_everywhere() {
    let Some(s) = Setup::new() else {
        return;
    };
    let r = s.verify(&[("INPUT_VERIFY-TAGS", "v9.9.9")]);
    assert!(!r.success(), "a tag asked for that exists nowhere fails");
    let rep = report(&r);
    assert_eq!(status(&rep, "v9.9.9", 0), "missing");
    assert_eq!(status(&rep, "v9.9.9", 1), "missing");
    assert_eq!(r.get("in-sync"), "false");
    let out = r.console();
    assert!(
        out.contains("error: tag `v9.9.9` is missing from every registry"),
        "{out}"
    );
    assert!(!out.contains("drift"), "{out}");
    // Told which tags to check, verify does not show the tags the rules would compute.
    assert!(
        !out.contains("No image version was generated") && !out.contains("Labels:"),
        "{out}"
    );
    assert!(!r.summary_file.contains("Image tags"), "{}", r.summary_file);
    assert!(
        r.summary_file
            .contains("**1 of 1 tag is missing from every registry.**"),
        "{}",
        r.summary_file
    );
    // Named explicitly, it fails even when drift would only be reported; beside drift, both are said.
    let r = s.verify(&[
        ("INPUT_VERIFY-TAGS", "v9.9.9"),
        ("INPUT_FAIL-ON-DRIFT", "false"),
    ]);
    assert!(!r.success(), "{}", r.stdout());
    publish(&s.image, &[s.a()], &["main"]);
    let r = s.verify(&[("INPUT_VERIFY-TAGS", "v9.9.9, main")]);
    assert!(
        r.console()
            .contains("tag `v9.9.9` is missing from every registry, and the registries drift:"),
        "{}",
        r.console()
    );
}

#[test]
fn a_deleted_child_manifest_is_incomplete_and_sync_repairs_it() {
    let Some(s) = Setup::new() else {
        return;
    };
    let child = s.image.manifests[0].digest.clone();
    let client = Client::new(s.secondary.client_config()).expect("client");
    let repo = Repository::parse(&s.b()).expect("repo");
    runtime()
        .block_on(client.delete_manifest(&repo, &child))
        .expect("delete a child manifest");
    let r = s.verify(&[("INPUT_VERIFY-TAGS", "edge")]);
    assert!(!r.success());
    let rep = report(&r);
    assert_eq!(status(&rep, "edge", 1), "incomplete");
    assert_eq!(
        rep["tags"][0]["registries"][1]["missing"][0],
        child.to_string()
    );
    let r = s.verify(&[("INPUT_VERIFY-TAGS", "edge"), ("INPUT_SYNC", "true")]);
    assert!(r.success(), "{}\n{}", r.stdout(), r.stderr());
    assert_eq!(r.get("in-sync"), "true");
    assert_eq!(report(&r)["sync"][0]["action"], "repaired");
    s.secondary.skopeo_raw(&format!("app@{child}"));
}

#[test]
fn sync_repairs_missing_and_different_floating_tags() {
    let Some(s) = Setup::new() else {
        return;
    };
    publish(&s.image, &[s.a()], &["main"]);
    let (_other_dir, other) = sample(2);
    publish(&other, &[s.b()], &["edge"]);
    let r = s.verify(&[("INPUT_SYNC", "true")]);
    assert!(r.success(), "{}\n{}", r.stdout(), r.stderr());
    assert_eq!(r.get("in-sync"), "true");
    let rep = report(&r);
    let actions: Vec<(String, String)> = rep["sync"]
        .as_array()
        .expect("sync steps")
        .iter()
        .map(|s| (s["tag"].to_string(), s["action"].to_string()))
        .collect();
    assert_eq!(
        actions,
        [
            ("\"edge\"".into(), "\"repaired\"".into()),
            ("\"main\"".into(), "\"repaired\"".into())
        ]
    );
    let root = s.image.root.digest.clone();
    assert_eq!(digest_of(&s.secondary, "app:edge"), root);
    assert_eq!(digest_of(&s.secondary, "app:main"), root);
}

#[test]
fn a_differing_release_tag_is_reported_and_never_overwritten() {
    let Some(s) = Setup::new() else {
        return;
    };
    let (_other_dir, other) = sample(3);
    publish(&s.image, &[s.a()], &["v2.0.0"]);
    publish(&other, &[s.b()], &["v2.0.0"]);
    let r = s.verify(&[("INPUT_VERIFY-TAGS", "v2.0.0"), ("INPUT_SYNC", "true")]);
    assert!(!r.success(), "{}", r.stdout());
    assert_eq!(r.get("in-sync"), "false");
    let rep = report(&r);
    assert_eq!(status(&rep, "v2.0.0", 1), "different");
    assert_eq!(rep["sync"][0]["action"], "refused");
    assert!(r.console().contains("after sync"), "{}", r.console());
    assert_eq!(digest_of(&s.secondary, "app:v2.0.0"), other.root.digest);
}

#[test]
fn sync_never_moves_a_rolling_tag_back() {
    let Some(s) = Setup::new() else {
        return;
    };
    publish(&s.image, &[s.a()], &["latest"]);
    let (_other_dir, newer) = sample(4);
    publish(&newer, &[s.b()], &["v2.0.0", "latest"]);
    let r = s.verify(&[
        ("INPUT_VERIFY-TAGS", "latest,v1.0.0"),
        ("INPUT_SYNC", "true"),
    ]);
    assert!(!r.success(), "{}", r.stdout());
    let rep = report(&r);
    assert_eq!(rep["tags"][0]["kind"], "rolling");
    assert_eq!(status(&rep, "latest", 1), "different");
    assert_eq!(rep["sync"][0]["action"], "held", "{rep}");
    assert_eq!(digest_of(&s.secondary, "app:latest"), newer.root.digest);
}

#[test]
fn dry_run_sync_plans_and_writes_nothing() {
    let Some(s) = Setup::new() else {
        return;
    };
    publish(&s.image, &[s.a()], &["main"]);
    let before = s.secondary.access_log().len();
    let r = s.verify(&[("INPUT_SYNC", "true"), ("INPUT_DRY-RUN", "true")]);
    assert!(!r.success(), "drift remains after a dry run");
    let rep = report(&r);
    assert_eq!(rep["sync"][0]["action"], "planned");
    assert_eq!(rep["sync"][0]["reason"], "push");
    assert_eq!(status(&rep, "main", 1), "missing");
    let writes = s.secondary.access_log()[before..]
        .iter()
        .filter(|(l, _)| !l.starts_with("GET") && !l.starts_with("HEAD"))
        .count();
    assert_eq!(writes, 0);
}

#[test]
fn one_image_checks_that_every_index_is_whole() {
    let Some(s) = Setup::new() else {
        return;
    };
    let a = s.a();
    let r = run(&["verify", "--images", &a], &[]);
    assert!(r.success(), "{}", r.stdout());
    assert_eq!(r.get("in-sync"), "true");
    let client = Client::new(s.primary.client_config()).expect("client");
    let repo = Repository::parse(&a).expect("repo");
    let child = s.image.manifests[1].digest.clone();
    runtime()
        .block_on(client.delete_manifest(&repo, &child))
        .expect("delete a child manifest");
    let r = run(
        &["verify", "--images", &a, "--tags", "type=raw,value=edge"],
        &[],
    );
    assert!(!r.success());
    let rep = report(&r);
    assert_eq!(status(&rep, "edge", 0), "incomplete");
    assert_eq!(rep["tags"].as_array().map(Vec::len), Some(1));
}

#[test]
fn sync_works_across_a_private_tls_registry_with_credentials() {
    let (Some(private), Some(plain)) = (Registry::tls_basic(), Registry::plain()) else {
        return;
    };
    let (_dir, image) = sample(6);
    let credentials = format!(
        "registry={},username={USER},password-env=REGISTRY_TOKEN",
        private.name()
    );
    let ca = private.ca_file();
    let ca = ca.to_str().expect("utf-8 path");
    let vars = [
        ("INPUT_CREDENTIALS", credentials.as_str()),
        ("REGISTRY_TOKEN", PASSWORD),
        ("SSL_CERT_FILE", ca),
        ("GITHUB_ACTIONS", "true"),
    ];
    let a = format!("{}/private/app", private.name());
    let b = format!("{}/mirror/app", plain.name());
    let source = format!("oci:{}", image.dir.display());
    let args = [
        "publish",
        "--source",
        &source,
        "--images",
        &a,
        "--tags",
        "type=raw,value=v3.0.0",
    ];
    let r = run(&args, &vars);
    assert!(r.success(), "{}", r.stdout());
    let mut with_sync = vars.to_vec();
    with_sync.push(("INPUT_SYNC", "true"));
    let r = run(&["verify", "--images", &a, "--images", &b], &with_sync);
    assert!(r.success(), "{}\n{}", r.stdout(), r.stderr());
    assert!(r.stdout().contains("::add-mask::"), "{}", r.stdout());
    let unmasked = r
        .stdout()
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .any(|l| l.contains(PASSWORD));
    assert!(!unmasked, "the password leaked:\n{}", r.stdout());
    assert_eq!(r.get("in-sync"), "true");
    assert_eq!(digest_of(&plain, "mirror/app:v3.0.0"), image.root.digest);
}

#[test]
fn a_registry_that_refuses_writes_a_summary_and_in_sync_false() {
    let Some(registry) = Registry::start(false, crate::registry::harness::Auth::Htpasswd) else {
        return;
    };
    let image = format!("{}/app", registry.name());
    let r = run(
        &["verify"],
        &[
            ("INPUT_IMAGES", image.as_str()),
            ("INPUT_VERIFY-TAGS", "v1"),
        ],
    );
    assert!(
        !r.success(),
        "verify passed without a login: {}",
        r.console()
    );
    assert_eq!(r.get("in-sync"), "false");
    assert!(
        r.summary_file.contains("Verify failed") && r.summary_file.contains("401"),
        "summary: {}",
        r.summary_file
    );
}

#[test]
fn ghcr_io_is_verified_and_repaired_with_github_token_only() {
    use crate::emulator::github::{GithubEmulator, TOKEN};
    let (Some(upstream), Some(plain)) = (Registry::plain(), Registry::plain()) else {
        return;
    };
    let emulator = GithubEmulator::start(upstream.addr, "octo-org", "Organization");
    let (_dir, image) = sample(7);
    let env = emulator.ghcr_env();
    let mut vars: Vec<(&str, &str)> = env.iter().map(|(n, v)| (*n, v.as_str())).collect();
    vars.extend([("INPUT_GITHUB-TOKEN", TOKEN), ("GITHUB_ACTOR", "octocat")]);
    let (primary, copy) = (
        format!("{}/octo-org/app", plain.name()),
        "ghcr.io/octo-org/app",
    );
    let source = format!("oci:{}", image.dir.display());
    for (target, tags) in [(primary.as_str(), "v1.0.0,edge"), (copy, "v1.0.0")] {
        let mut args = vec!["publish", "--source", &source, "--images", target];
        let rules: Vec<String> = tags
            .split(',')
            .map(|t| format!("type=raw,value={t}"))
            .collect();
        for rule in &rules {
            args.extend(["--tags", rule.as_str()]);
        }
        let r = run(&args, &vars);
        assert!(r.success(), "{}\n{}", r.stdout(), r.stderr());
    }
    let mut with_sync = vars.clone();
    with_sync.push(("INPUT_SYNC", "true"));
    let r = run(
        &["verify", "--images", &primary, "--images", copy],
        &with_sync,
    );
    assert!(r.success(), "{}\n{}", r.stdout(), r.stderr());
    assert_eq!(r.get("in-sync"), "true");
    let rep = report(&r);
    let repaired: Vec<&str> = rep["sync"]
        .as_array()
        .expect("sync steps")
        .iter()
        .filter(|s| s["action"] == "repaired")
        .filter_map(|s| s["tag"].as_str())
        .collect();
    assert_eq!(repaired, ["edge"], "{rep}");
    let state = emulator.state();
    let version = state
        .version("octo-org/app", &image.root.digest.to_string())
        .expect("the image is a version");
    assert!(
        version.tags.contains(&"edge".to_owned()),
        "{:?}",
        version.tags
    );
    assert!(
        state
            .token_requests
            .iter()
            .all(|t| t.status == 200 && t.user.as_deref() == Some("octocat")),
        "{:?}",
        state.token_requests
    );
}
