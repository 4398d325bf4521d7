//! `registry-action cleanup` on GHCR: the GitHub emulator in front of a real `docker-registry`,
//! reached as `ghcr.io` with only `github-token`, as a workflow does. Images are published through
//! the emulator (so its versions are what the registry holds), then cleaned up through the API;
//! skopeo checks the real registry after.

use super::backend::{Backend, DAY, PACKAGE, POLICY};
use crate::emulator::github::{GithubEmulator, READ_ONLY_TOKEN, TOKEN, unix_now};
use registry_action::registry::Digest;

fn api_requests(emulator: &GithubEmulator, method: &str) -> Vec<String> {
    let state = emulator.state();
    state
        .requests
        .iter()
        .filter(|r| r.starts_with(method))
        .cloned()
        .collect()
}

/// The digests of the package's versions, sorted.
fn versions(emulator: &GithubEmulator) -> Vec<String> {
    let mut all: Vec<String> = emulator
        .state()
        .versions
        .iter()
        .map(|v| v.digest.clone())
        .collect();
    all.sort();
    all
}

/// Whether `reference` (`:tag` or `@digest`) no longer resolves in the real registry.
fn skopeo_fails(backend: &Backend, reference: &str) -> bool {
    backend.read(reference).is_none()
}

pub fn ghcr_cleanup_deletes_through_the_api_untags_one_tag_and_keeps_every_kept_image_whole(
    backend: &Backend,
) {
    let (registry, emulator) = (&backend.registry, backend.github());
    // A version with a kept tag and a deleted one: only `main-old` goes.
    let release = backend.publish_image(1, true, &["v1.0.0", "latest", "main-old"]);
    let branch = backend.publish_image(2, true, &["main-aaa"]);
    let fresh = backend.publish_image(3, true, &["main-new"]);
    let closed = backend.publish_image(4, true, &["pr-1"]);
    let open = backend.publish_image(5, true, &["pr-2"]);
    // `edge` moves to another image: the first becomes untagged (with its platform images).
    let untagged = backend.publish_image(6, true, &["edge"]);
    let edge = backend.publish_image(7, true, &["edge"]);
    let kept_signature = backend.sign(31, &release.image);
    let orphan_signature = backend.sign(32, &branch.image);
    {
        let mut state = emulator.state();
        state.page_cap = 7;
        state.pulls.insert(1, "closed");
        state.pulls.insert(2, "open");
        state.set_all_created(PACKAGE, unix_now() - 20 * DAY);
        for digest in fresh.digests() {
            state.set_created(PACKAGE, &digest.to_string(), unix_now() - DAY);
        }
    }
    assert!(
        emulator
            .state()
            .version(PACKAGE, &untagged.image.root.digest.to_string())
            .unwrap()
            .tags
            .is_empty()
    );
    let before = versions(emulator);

    let dry = backend.cleanup_as(Some(TOKEN), POLICY, true);
    assert!(dry.success(), "{}\n{}", dry.stdout(), dry.stderr());
    {
        // Publish and cleanup met ghcr.io's token flow with `github-token` alone.
        let state = emulator.state();
        assert!(!state.token_requests.is_empty());
        assert!(
            state
                .token_requests
                .iter()
                .all(|t| t.status == 200 && t.user.as_deref() == Some("x-access-token")),
            "{:?}",
            state.token_requests
        );
    }
    assert!(
        api_requests(emulator, "DELETE").is_empty(),
        "a dry run deleted"
    );
    assert_eq!(versions(emulator), before, "a dry run changed the registry");
    let expected: Vec<Digest> = [&branch, &closed, &untagged]
        .iter()
        .flat_map(|p| p.digests())
        .chain([orphan_signature.image.root.digest.clone()])
        .collect();
    assert_eq!(
        dry.get("deleted"),
        expected.len().to_string(),
        "{}",
        dry.summary_file
    );
    assert_eq!(dry.get("failed"), "0");
    assert!(
        dry.summary_file.contains("would untag"),
        "{}",
        dry.summary_file
    );
    assert!(
        dry.summary_file.contains("line 4: `delete pr=closed`"),
        "{}",
        dry.summary_file
    );
    let pages = api_requests(
        emulator,
        "GET /orgs/octo-org/packages/container/app/versions",
    )
    .len();
    assert!(pages >= 3, "the listing was paged: {pages} list calls");
    assert!(api_requests(emulator, "GET /repos/octo-org/app/pulls/1").len() == 1);

    let real = backend.cleanup_as(Some(TOKEN), POLICY, false);
    assert!(real.success(), "{}\n{}", real.stdout(), real.stderr());
    assert_eq!(
        real.get("deleted"),
        expected.len().to_string(),
        "{}",
        real.summary_file
    );
    assert_eq!(real.get("failed"), "0", "{}", real.summary_file);
    let remaining = versions(emulator);
    for digest in &expected {
        assert!(
            !remaining.contains(&digest.to_string()),
            "{digest} still a version"
        );
        assert!(
            skopeo_fails(backend, &format!("@{digest}")),
            "{digest} still in the registry"
        );
    }
    // What stays: the kept images whole, tag by tag and child by child, in the real registry.
    for (kept, tags) in [
        (&release, ["v1.0.0", "latest"].as_slice()),
        (&fresh, ["main-new"].as_slice()),
        (&open, ["pr-2"].as_slice()),
        (&edge, ["edge"].as_slice()),
    ] {
        for tag in tags {
            assert_eq!(
                registry.skopeo_raw(&format!("{PACKAGE}:{tag}")),
                kept.bytes(&kept.image.root.digest),
                "{tag}"
            );
        }
        for child in &kept.image.manifests {
            assert_eq!(
                registry.skopeo_raw(&format!("{PACKAGE}@{}", child.digest)),
                kept.bytes(&child.digest)
            );
        }
    }
    let signature_tag = format!(":sha256-{}.sig", release.image.root.digest.hex());
    assert!(
        !skopeo_fails(backend, &signature_tag),
        "the kept signature went"
    );
    assert!(!skopeo_fails(
        backend,
        &format!("@{}", kept_signature.image.root.digest)
    ));
    // `main-old` left the release, and its placeholder version is gone too.
    assert!(skopeo_fails(backend, ":main-old"), "main-old still tagged");
    let release_version = emulator
        .state()
        .version(PACKAGE, &release.image.root.digest.to_string())
        .cloned()
        .expect("the release is a version");
    let mut tags = release_version.tags.clone();
    tags.sort();
    assert_eq!(tags, ["latest", "v1.0.0"]);
    assert_eq!(
        remaining.len(),
        before.len() - expected.len(),
        "exactly the planned versions went (no placeholder left)"
    );
    assert_eq!(emulator.state().secondary_refusals, 0);

    let again = backend.cleanup_as(Some(TOKEN), POLICY, false);
    assert!(again.success(), "{}\n{}", again.stdout(), again.stderr());
    assert_eq!(again.get("deleted"), "0", "{}", again.summary_file);
    assert_eq!(versions(emulator), remaining);
}

pub fn a_token_that_may_not_delete_fails_with_the_fix_and_deletes_nothing(backend: &Backend) {
    let emulator = backend.github();
    let branch = backend.publish_image(2, true, &["main-aaa"]);
    emulator
        .state()
        .set_all_created(PACKAGE, unix_now() - 20 * DAY);
    let before = versions(emulator);
    let r = backend.cleanup_as(Some(READ_ONLY_TOKEN), POLICY, false);
    assert!(!r.success(), "{}", r.stdout());
    assert_eq!(r.get("deleted"), "0");
    assert_eq!(r.get("failed"), branch.digests().len().to_string());
    let report = r.get("report");
    assert!(report.contains("permissions: packages: write"), "{report}");
    assert_eq!(versions(emulator), before);
    assert!(!skopeo_fails(backend, ":main-aaa"));
}

pub fn a_user_package_waits_out_a_spent_budget_and_a_secondary_limit_and_a_404_is_done(
    backend: &Backend,
) {
    let (registry, emulator) = (&backend.registry, backend.github());
    let kept = backend.publish_image(1, true, &["latest"]);
    let branch = backend.publish_image(2, true, &["main-aaa"]);
    {
        let mut state = emulator.state();
        state.set_all_created(PACKAGE, unix_now() - 20 * DAY);
        // Three calls left, resetting in 2 s; the first deletion hits a secondary limit.
        state.rate.remaining = 3;
        state.rate.reset = unix_now() as u64 + 2;
        state.inject_secondary = 1;
        // Another run deletes one version first: its 404 counts as done.
        state.deleted_elsewhere = 1;
    }
    let r = backend.cleanup_as(Some(TOKEN), POLICY, false);
    assert!(r.success(), "{}\n{}", r.stdout(), r.stderr());
    assert_eq!(
        r.get("deleted"),
        branch.digests().len().to_string(),
        "{}",
        r.summary_file
    );
    assert!(
        api_requests(
            emulator,
            "GET /users/octo-org/packages/container/app/versions"
        )
        .len()
            == 1
    );
    assert!(skopeo_fails(backend, ":main-aaa"));
    assert_eq!(
        registry.skopeo_raw(&format!("{PACKAGE}:latest")),
        kept.bytes(&kept.image.root.digest)
    );
}

pub fn a_secondary_limit_answered_429_is_waited_out_as_retry_after_says(backend: &Backend) {
    let emulator = backend.github();
    let branch = backend.publish_image(2, true, &["main-aaa"]);
    {
        let mut state = emulator.state();
        state.set_all_created(PACKAGE, unix_now() - 20 * DAY);
        state.secondary_status = 429;
        state.inject_secondary = 2;
    }
    let start = std::time::Instant::now();
    let r = backend.cleanup_as(Some(TOKEN), POLICY, false);
    assert!(r.success(), "{}\n{}", r.stdout(), r.stderr());
    assert_eq!(r.get("deleted"), branch.digests().len().to_string());
    assert!(
        start.elapsed() >= std::time::Duration::from_secs(2),
        "retry-after: 1, twice"
    );
    let deletes = api_requests(emulator, "DELETE").len();
    assert_eq!(
        deletes,
        branch.digests().len() + 2,
        "each refused deletion asked again once"
    );
}

pub fn without_a_token_the_error_names_github_token(backend: &Backend) {
    let emulator = backend.github();
    backend.publish_image(2, true, &["main-aaa"]);
    let r = backend.cleanup_as(Some(""), POLICY, false);
    assert!(!r.success());
    assert!(
        r.get("report")
            .contains("needs a token: set `github-token`"),
        "{}",
        r.get("report")
    );
    assert!(
        api_requests(emulator, "").is_empty(),
        "no API call without a token"
    );
}

/// Issue 17: GitHub counts at most 180 deletions in any 60 s as they arrive, and refuses the rest
/// (403, `retry-after`). A cleanup of 300 versions (more than a minute's worth) in real time must
/// never be refused, and no 60 s of the server's record may hold more than 180 deletions.
pub fn issue_17_three_hundred_deletions_stay_within_the_secondary_limit_as_the_server_counts(
    backend: &Backend,
) {
    let emulator = backend.github();
    let count = 300;
    emulator.seed(PACKAGE, count, |i| vec![format!("main-{i}")]);
    emulator
        .state()
        .set_all_created(PACKAGE, unix_now() - 20 * DAY);
    let start = std::time::Instant::now();
    let r = backend.cleanup_as(Some(TOKEN), "delete tag=main-* older-than=14d", false);
    let wall = start.elapsed();
    assert!(r.success(), "{}\n{}", r.stdout(), r.stderr());
    assert_eq!(r.get("deleted"), count.to_string(), "{}", r.summary_file);
    let state = emulator.state();
    eprintln!(
        "{count} deletions: {:.1} s, at most {} in any 60 s as the server counted, {} refused",
        wall.as_secs_f64(),
        state.max_deletions_in_a_minute(),
        state.secondary_refusals
    );
    assert_eq!(state.secondary_refusals, 0, "secondary-limit refusals");
    assert!(state.max_deletions_in_a_minute() <= 180);
    assert!(state.versions.is_empty());
}
