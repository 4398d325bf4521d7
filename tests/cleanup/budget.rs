//! GHCR cleanup within its limits: a run over its API budget deletes whole images oldest first,
//! stops as a success that says what is left, and the next run finishes; the manifest cache
//! spares a second run over an unchanged package its manifest reads.

use super::backend::{Backend, DAY, PACKAGE};
use super::images::Published;
use crate::emulator::github::{GithubEmulator, TOKEN, unix_now};

const POLICY: &str =
    "keep tag=latest\ndelete tag=main-* older-than=14d\ndelete untagged older-than=14d";

fn is_version(emulator: &GithubEmulator, digest: &str) -> bool {
    emulator.state().version(PACKAGE, digest).is_some()
}

/// Manifest GETs by digest the registry face was asked.
fn manifest_reads(emulator: &GithubEmulator) -> usize {
    let prefix = format!("GET /v2/{PACKAGE}/manifests/sha256:");
    emulator
        .state()
        .registry_requests
        .iter()
        .filter(|r| r.starts_with(&prefix))
        .count()
}

pub fn issue_17_a_run_over_its_api_budget_deletes_whole_images_oldest_first_and_the_next_finishes(
    backend: &Backend,
) {
    let (registry, emulator) = (&backend.registry, backend.github());
    let kept = backend.publish_image(1, true, &["latest"]);
    let branches: Vec<Published> = (0..4)
        .map(|n| backend.publish_image(10 + n, true, &[format!("main-{n}").as_str()]))
        .collect();
    let per_image = branches[0].digests().len() as u64;
    {
        let mut state = emulator.state();
        state.set_all_created(PACKAGE, unix_now() - 20 * DAY);
        // main-3 the oldest, main-0 the newest.
        for (n, image) in branches.iter().enumerate() {
            for d in image.digests() {
                state.set_created(PACKAGE, &d.to_string(), unix_now() - (20 + n as i64) * DAY);
            }
        }
        // A `GITHUB_TOKEN`'s hour: after the owner lookup and the listing (2 calls), the reserve
        // (50) and room for two images and a half.
        state.rate.limit = 1_000;
        state.rate.remaining = 2 + 50 + 2 * per_image + per_image / 2;
    }

    let dry = backend.cleanup_with(Some(TOKEN), POLICY, true, &[]);
    assert!(dry.success(), "{}\n{}", dry.stdout(), dry.stderr());
    assert_eq!(
        dry.get("deleted"),
        (2 * per_image).to_string(),
        "what the budget allows now"
    );
    assert_eq!(dry.get("remaining"), (2 * per_image).to_string());

    emulator.state().rate.remaining = 2 + 50 + 2 * per_image + per_image / 2;
    let first = backend.cleanup_with(Some(TOKEN), POLICY, false, &[]);
    assert!(first.success(), "{}\n{}", first.stdout(), first.stderr());
    let left = format!("{} versions left for the next run", 2 * per_image);
    assert!(first.stdout().contains(&left), "{}", first.stdout());
    assert!(first.summary_file.contains(&left), "{}", first.summary_file);
    assert!(
        first.summary_file.contains("delete (next run)"),
        "{}",
        first.summary_file
    );
    assert_eq!(first.get("deleted"), (2 * per_image).to_string());
    assert_eq!(first.get("remaining"), (2 * per_image).to_string());
    assert_eq!(first.get("failed"), "0");
    // The two oldest images went whole; the two newest stayed whole.
    for (n, image) in branches.iter().enumerate() {
        for d in image.digests() {
            assert_eq!(is_version(emulator, &d.to_string()), n < 2, "main-{n}: {d}");
        }
    }
    let remaining = emulator.state().rate.remaining;
    assert!(remaining >= 50, "the reserve was kept: {remaining} left");

    emulator.state().rate.remaining = 1_000;
    let second = backend.cleanup_with(Some(TOKEN), POLICY, false, &[]);
    assert!(second.success(), "{}\n{}", second.stdout(), second.stderr());
    assert_eq!(second.get("deleted"), (2 * per_image).to_string());
    assert_eq!(second.get("remaining"), "0");
    assert!(!second.stdout().contains("left for the next run"));
    for image in &branches {
        for d in image.digests() {
            assert!(!is_version(emulator, &d.to_string()));
        }
    }
    for d in kept.digests() {
        assert!(is_version(emulator, &d.to_string()), "kept {d}");
    }
    assert_eq!(
        registry.skopeo_raw(&format!("{PACKAGE}:latest")),
        kept.bytes(&kept.image.root.digest)
    );
}

pub fn issue_17_a_spent_time_budget_stops_cleanly_with_everything_left(backend: &Backend) {
    let emulator = backend.github();
    let branch = backend.publish_image(2, true, &["main-a"]);
    emulator
        .state()
        .set_all_created(PACKAGE, unix_now() - 20 * DAY);
    // A second is less than one group needs at 180 deletions a minute plus a round trip.
    let r = backend.cleanup_with(
        Some(TOKEN),
        POLICY,
        false,
        &[("INPUT_CLEANUP-TIME-BUDGET", "1s")],
    );
    assert!(r.success(), "{}\n{}", r.stdout(), r.stderr());
    assert_eq!(r.get("deleted"), "0");
    assert_eq!(r.get("remaining"), branch.digests().len().to_string());
    assert!(r.stdout().contains("the time budget"), "{}", r.stdout());
    assert!(
        emulator
            .state()
            .requests
            .iter()
            .all(|q| !q.starts_with("DELETE")),
        "nothing deleted"
    );
}

pub fn issue_17_a_second_run_with_the_manifest_cache_reads_no_manifest(backend: &Backend) {
    let emulator = backend.github();
    let kept = backend.publish_image(1, true, &["latest"]);
    let old = backend.publish_image(2, true, &["main-old"]);
    // `edge` moves on: the first image is untagged, with everything it lists.
    let untagged = backend.publish_image(3, true, &["edge"]);
    backend.publish_image(4, true, &["edge"]);
    emulator
        .state()
        .set_all_created(PACKAGE, unix_now() - 20 * DAY);
    let versions = emulator.state().versions.len();
    let dir = tempfile::tempdir().expect("temp dir");
    let cache = dir.path().join("cache/manifests.json");
    let cache_input = cache.to_str().expect("a UTF-8 path");
    let with_cache = [("INPUT_MANIFEST-CACHE", cache_input)];

    let before = manifest_reads(emulator);
    let first = backend.cleanup_with(Some(TOKEN), POLICY, true, &with_cache);
    assert!(first.success(), "{}\n{}", first.stdout(), first.stderr());
    let first_reads = manifest_reads(emulator) - before;
    // Three tagged indexes and the untagged one; their platform images and attestations are
    // known from them.
    assert_eq!(first_reads, 4, "of {versions} versions");
    let deleted = (old.digests().len() + untagged.digests().len()).to_string();
    assert_eq!(first.get("deleted"), deleted, "{}", first.summary_file);
    assert!(cache.exists());

    let before = manifest_reads(emulator);
    let second = backend.cleanup_with(Some(TOKEN), POLICY, true, &with_cache);
    assert!(second.success(), "{}\n{}", second.stdout(), second.stderr());
    assert_eq!(
        manifest_reads(emulator) - before,
        0,
        "every manifest from the cache"
    );
    assert_eq!(second.get("deleted"), deleted);
    assert_eq!(second.get("kept"), first.get("kept"));

    // A corrupt file is a warning and an empty cache; the run reads again and goes on.
    std::fs::write(&cache, b"{\"format\": 1, \"manifests\": [").expect("write");
    let before = manifest_reads(emulator);
    let third = backend.cleanup_with(Some(TOKEN), POLICY, false, &with_cache);
    assert!(third.success(), "{}\n{}", third.stdout(), third.stderr());
    assert!(
        third.stdout().contains("manifest cache"),
        "{}",
        third.stdout()
    );
    assert_eq!(manifest_reads(emulator) - before, 4);
    assert_eq!(third.get("deleted"), deleted);
    for d in kept.digests() {
        assert!(is_version(emulator, &d.to_string()), "kept {d}");
    }
}
