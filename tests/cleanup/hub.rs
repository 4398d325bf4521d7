//! `registry-action cleanup` on "Docker Hub": images published through the emulator's registry
//! face (a real registry behind it), cleaned through its API. A dry run deletes nothing; the real
//! run removes exactly the selected tags (one of them from a release that stays), through
//! pagination, 429s and an expiring token; every kept tag and child still pulls byte-for-byte,
//! and deleted versions stay pullable by digest (Hub deletes tags, not manifests). A read-only
//! token, a wrong one and none at all fail with the fix and delete nothing.

use super::backend::{Backend, HUB_REPO as REPO, POLICY};
use super::images::{manifest_bytes, signature_tag};
use crate::emulator::hub::{PAT, READ_ONLY_PAT, RateLimit, Route};
use crate::registry::harness::Registry;
use crate::sample::SampleImage;
use registry_action::registry::Digest;

/// Whether skopeo (asking the real registry, not the emulator) finds `repo:tag`.
fn tag_exists(registry: &Registry, tag: &str) -> bool {
    std::process::Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{}/{REPO}:{tag}", registry.name()))
        .output()
        .expect("run skopeo (apt-get install skopeo)")
        .status
        .success()
}

/// The image pulls whole: the root by `tag` (when given) and by digest, and every child.
fn assert_whole(registry: &Registry, image: &SampleImage, tag: Option<&str>) {
    let root = manifest_bytes(image, &image.root.digest);
    if let Some(tag) = tag {
        assert_eq!(registry.skopeo_raw(&format!("{REPO}:{tag}")), root, "{tag}");
    }
    let by_digest = format!("{REPO}@{}", image.root.digest);
    assert_eq!(registry.skopeo_raw(&by_digest), root);
    for child in &image.manifests {
        let raw = registry.skopeo_raw(&format!("{REPO}@{}", child.digest));
        assert_eq!(raw, manifest_bytes(image, &child.digest));
    }
}

pub fn cleanup_through_the_hub_api_removes_selected_tags_and_kept_ones_stay_whole(
    backend: &Backend,
) {
    let (registry, hub) = (&backend.registry, backend.hub());
    let release = backend.publish_image(1, true, &["v1.0.0", "latest", "main-old"]);
    let branch = backend.publish_image(2, true, &["main-aaa"]);
    let fresh = backend.publish_image(5, false, &["main-bbb"]);
    let closed = backend.publish_image(3, true, &["pr-1"]);
    let open = backend.publish_image(4, false, &["pr-2"]);
    let kept_signature = backend.sign(31, &release.image);
    let orphan_signature = backend.sign(32, &branch.image);
    // The release is 30 days old by its first tag; so is the branch build.
    hub.backdate(REPO, "main-old", 30);
    hub.backdate(REPO, "main-aaa", 30);
    hub.backdate(REPO, &signature_tag(&branch.image), 30);
    let all_tags = hub.tags(REPO);
    assert_eq!(all_tags.len(), 9, "{all_tags:?}");
    // Nine tags, four a page: three pages.
    hub.set_max_page_size(4);

    let dry = backend.cleanup_as(Some(PAT), POLICY, true);
    if std::env::var_os("SHOW_SUMMARY").is_some() {
        eprintln!("{}\n{}\n{}", dry.summary_file, dry.stdout(), dry.stderr());
    }
    assert!(dry.success(), "{}\n{}", dry.stdout(), dry.stderr());
    assert_eq!(hub.requests(Route::Delete), 0, "a dry run deleted");
    assert_eq!(hub.tags(REPO), all_tags);
    assert_eq!(hub.requests(Route::List), 3, "every page read");
    assert_eq!(dry.get("deleted"), "3");
    assert_eq!(dry.get("kept"), "4");
    let summary = &dry.summary_file;
    for needle in [
        "would delete 2 images (3 manifests: 2 indexes, 1 signature or attestation)",
        "| `main-old` | `sha256:",
        "would untag | line 3: `delete tag=main-* older-than=14d`",
        "would delete | line 4: `delete pr=closed`",
        "| `main-bbb` |",
    ] {
        assert!(summary.contains(needle), "{needle}:\n{summary}");
    }

    // The real run: through a 429 on the listing (Retry-After), one on a delete (Hub's
    // X-Retry-After unix time), and tokens that expire after three requests.
    hub.throttle(Route::List, 1, RateLimit::RetryAfter(1));
    hub.throttle(Route::Delete, 1, RateLimit::XRetryAfter(1));
    hub.set_token_lifetime(3);
    let logins = hub.requests(Route::Login);
    let real = backend.cleanup_as(Some(PAT), POLICY, false);
    assert!(real.success(), "{}\n{}", real.stdout(), real.stderr());
    assert_eq!(real.get("deleted"), "3", "{}", real.summary_file);
    assert_eq!(real.get("kept"), "4");
    assert_eq!(real.get("failed"), "0");
    assert_eq!(hub.throttled(), 2, "both 429s answered");
    assert_eq!(
        hub.requests(Route::List),
        3 + 3 + 1,
        "three pages and one 429"
    );
    assert!(
        hub.requests(Route::Login) - logins >= 3,
        "expired tokens renewed"
    );
    let report: serde_json::Value = serde_json::from_str(&real.get("report")).expect("report");
    let outcomes = &report["images"][0]["deletions"];
    assert_eq!(outcomes[0]["tag"], "main-old");
    assert_eq!(outcomes[0]["outcome"], "untagged");
    let position = |d: &Digest| {
        outcomes
            .as_array()
            .and_then(|o| o.iter().position(|o| o["digest"] == d.to_string()))
            .unwrap_or_else(|| panic!("{d} not deleted: {outcomes}"))
    };
    assert!(
        position(&orphan_signature.image.root.digest) < position(&branch.image.root.digest),
        "a signature goes before what it signs: {outcomes}"
    );

    // Gone from the API and from the registry; the rest is whole.
    let mut kept_tags = vec![
        "latest".to_string(),
        "main-bbb".into(),
        "pr-2".into(),
        signature_tag(&release.image),
        "v1.0.0".into(),
    ];
    kept_tags.sort();
    assert_eq!(hub.tags(REPO), kept_tags);
    for gone in [
        "main-old".to_string(),
        "main-aaa".into(),
        "pr-1".into(),
        signature_tag(&branch.image),
    ] {
        assert!(!tag_exists(registry, &gone), "{gone} still resolves");
    }
    assert_whole(registry, &release.image, Some("latest"));
    assert_whole(registry, &release.image, Some("v1.0.0"));
    assert_whole(registry, &fresh.image, Some("main-bbb"));
    assert_whole(registry, &open.image, Some("pr-2"));
    let signature = signature_tag(&release.image);
    assert_whole(registry, &kept_signature.image, Some(&signature));
    // Hub deletes tags, not manifests: the deleted versions still pull by digest.
    assert_whole(registry, &branch.image, None);
    assert_whole(registry, &closed.image, None);

    let again = backend.cleanup_as(Some(PAT), POLICY, false);
    assert!(again.success(), "{}", again.stdout());
    assert_eq!(again.get("deleted"), "0", "{}", again.summary_file);
}

pub fn a_token_that_cannot_delete_fails_with_the_scope_and_deletes_nothing(backend: &Backend) {
    let (registry, hub) = (&backend.registry, backend.hub());
    let _kept = backend.publish_image(1, false, &["latest"]);
    let _closed = backend.publish_image(3, false, &["pr-1"]);
    let _old = backend.publish_image(2, false, &["main-aaa"]);
    hub.backdate(REPO, "main-aaa", 30);
    let before = hub.tags(REPO);

    // No login at all: refused before any request.
    let none = backend.cleanup_as(None, POLICY, false);
    assert!(!none.success());
    let error = format!("no Docker Hub login for `{}`", hub.registry_name());
    assert!(none.summary_file.contains(&error), "{}", none.summary_file);
    assert!(none.summary_file.contains("`credentials` input"));
    assert_eq!(hub.requests(Route::Login) + hub.requests(Route::List), 0);

    // A wrong token: the login is refused, with the input to fix.
    let wrong = backend.cleanup_as(Some("dckr_pat_wrong"), POLICY, false);
    assert!(!wrong.success());
    assert!(
        wrong.summary_file.contains("answered 401 to the login"),
        "{}",
        wrong.summary_file
    );
    assert!(wrong.summary_file.contains(&hub.credentials().replace(
        &format!("username={}", crate::emulator::hub::USER),
        "username=<user>"
    )));
    assert!(!wrong.stdout().contains("dckr_pat_wrong"));
    assert!(!wrong.stderr().contains("dckr_pat_wrong"));

    // A read-only token lists, and its first delete is refused: the rest is skipped.
    let read_only = backend.cleanup_as(Some(READ_ONLY_PAT), POLICY, false);
    assert!(!read_only.success());
    assert_eq!(read_only.get("deleted"), "0");
    assert_eq!(read_only.get("failed"), "2");
    assert_eq!(
        hub.requests(Route::Delete),
        1,
        "stopped at the first refusal"
    );
    let report = read_only.get("report");
    assert!(
        report.contains(r#"\"Read, Write, Delete\" access scope"#),
        "{report}"
    );
    assert!(
        read_only
            .stderr()
            .contains("\"Read, Write, Delete\" access scope"),
        "{}",
        read_only.stderr()
    );
    assert!(
        read_only.summary_file.contains("delete **failed**"),
        "{}",
        read_only.summary_file
    );
    assert_eq!(hub.tags(REPO), before);
    for tag in &before {
        assert!(tag_exists(registry, tag), "{tag} was deleted");
    }
}
