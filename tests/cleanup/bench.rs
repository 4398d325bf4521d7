//! Planning benchmark: 10,000 versions (2,500 multi-arch pushes: an index, two platform images, an
//! attestation manifest, a third signed) under the seed policy. Prints the CPU time of planning.
//! `cargo test --release --test tests cleanup::bench -- --ignored --nocapture`

use registry_action::cleanup::{Capabilities, Inventory, Policy, Version, plan_cleanup};
use registry_action::registry::Digest;
use std::collections::BTreeSet;

const NOW: i64 = 1_800_000_000;

fn digest(n: u64) -> Digest {
    Digest::sha256(&n.to_be_bytes())
}

fn inventory() -> Inventory {
    let mut versions = Vec::new();
    for i in 0..2_500u64 {
        let created = jiff::Timestamp::from_second(NOW - (i as i64) * 3_600).ok();
        let children: Vec<Digest> = (1..=3).map(|c| digest(i * 10 + c)).collect();
        let tags: Vec<String> = match i % 5 {
            0 => vec![format!("main-{i:x}")],
            1 => vec![format!("pr-{}", i % 300)],
            2 => vec![format!("v1.{i}.0")],
            3 => vec![format!("v2.{i}.0-rc.1")],
            _ => vec![],
        };
        let mut root = Version::new(digest(i * 10), &[]);
        root.tags = tags;
        root.created_at = created;
        root.children = children.clone();
        for c in children {
            versions.push(Version {
                created_at: created,
                ..Version::new(c, &[])
            });
        }
        if i % 3 == 0 {
            let mut sig = Version::new(digest(i * 10 + 5), &[]);
            sig.subject = Some(root.digest.clone());
            versions.push(sig);
        }
        versions.push(root);
    }
    versions.truncate(10_000);
    Inventory {
        image: "ghcr.io/o/app".into(),
        versions,
        incomplete: None,
    }
}

#[test]
#[ignore = "benchmark: run with --release --ignored --nocapture"]
fn planning_10000_versions_takes_under_a_second() {
    let inventory = inventory();
    assert_eq!(inventory.versions.len(), 10_000);
    let policy = Policy::parse(
        "keep tag=latest,main,develop\nkeep semver=release\nkeep last=10\n\
         delete tag=main-* older-than=30d\ndelete semver=prerelease older-than=90d\n\
         delete pr=closed\ndelete untagged older-than=14d",
    )
    .expect("policy");
    let closed: BTreeSet<u64> = (0..150).collect();
    let now = jiff::Timestamp::from_second(NOW).expect("now");
    let (start_wall, start_cpu) = (std::time::Instant::now(), thread_cpu_seconds());
    let plan = plan_cleanup(&inventory, &policy, &closed, Capabilities::default(), now);
    let (wall, cpu_used) = (start_wall.elapsed(), thread_cpu_seconds() - start_cpu);
    eprintln!(
        "planning 10000 versions: {} deletions, {} decisions, {:.1} ms wall, {:.1} ms CPU",
        plan.deletions.len(),
        plan.decisions.len(),
        wall.as_secs_f64() * 1e3,
        cpu_used * 1e3
    );
    assert!(!plan.deletions.is_empty());
    assert!(cpu_used < 1.0, "planning took {cpu_used:.3} s of CPU");
}

/// This thread's CPU time in seconds (`/proc/thread-self/schedstat`, nanoseconds on the CPU);
/// planning runs on the calling thread.
fn thread_cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |ns| ns / 1e9)
}

/// The GHCR backend's listing at scale: 10,000 versions in the GitHub Packages API emulator
/// (2,500 pushes: an index, two platform images and an attestation manifest each), a dry run of
/// the binary. Prints the list calls and the run's CPU time. The versions are synthetic (their
/// manifests are not in the registry), so every untagged version is kept (fail closed).
/// `cargo test --release --test tests cleanup::bench -- --ignored --nocapture`
#[test]
#[ignore = "benchmark: run with --release --ignored --nocapture"]
fn listing_10000_ghcr_versions_takes_at_most_100_list_calls() {
    use crate::emulator::github::{GithubEmulator, TOKEN, Version, unix_now};
    let Some(registry) = crate::registry::harness::Registry::plain() else {
        return;
    };
    let emulator = GithubEmulator::start(registry.addr, "octo-org", "Organization");
    {
        let mut state = emulator.state();
        for i in 0..10_000u64 {
            let push = i / 4;
            let tags = match (i % 4, push % 5) {
                (0, 0) => vec![format!("main-{push:x}")],
                (0, 1) => vec![format!("pr-{}", push % 300)],
                (0, 2) => vec![format!("v1.{push}.0")],
                (0, 3) => vec![format!("v2.{push}.0-rc.1")],
                _ => vec![],
            };
            state.versions.push(Version {
                id: 1 + i,
                package: "octo-org/app".into(),
                digest: digest(i).to_string(),
                tags,
                created_at: unix_now() - (push as i64) * 3_600,
            });
        }
    }
    let image = format!("{}/octo-org/app", emulator.name());
    let apis = format!("{}=github@{}", emulator.name(), emulator.api_url());
    let credentials = format!(
        "registry={},username=octo,password={TOKEN}",
        emulator.name()
    );
    let now = unix_now().to_string();
    let (cpu_before, start) = (children_cpu_seconds(), std::time::Instant::now());
    let r = crate::support::run(
        &["cleanup", "--dry-run"],
        &[
            ("INPUT_IMAGES", image.as_str()),
            (
                "INPUT_RETENTION",
                "keep tag=latest\nkeep semver=release\ndelete tag=main-* older-than=30d\n\
                 delete semver=prerelease older-than=90d\ndelete untagged older-than=14d",
            ),
            ("INPUT_REGISTRY-APIS", apis.as_str()),
            ("INPUT_GITHUB-TOKEN", TOKEN),
            ("INPUT_CREDENTIALS", credentials.as_str()),
            ("SOURCE_DATE_EPOCH", now.as_str()),
        ],
    );
    let (wall, cpu) = (start.elapsed(), children_cpu_seconds() - cpu_before);
    assert!(r.success(), "{}\n{}", r.stdout(), r.stderr());
    let state = emulator.state();
    let list_calls = state
        .requests
        .iter()
        .filter(|q| q.starts_with("GET /orgs/octo-org/packages/container/app/versions"))
        .count();
    eprintln!(
        "GHCR dry run over 10000 versions: {list_calls} list calls, {} API requests in all, \
         {} versions kept, {} would be deleted, {:.2} s wall, {:.2} s CPU (the binary)",
        state.requests.len(),
        r.get("kept"),
        r.get("deleted"),
        wall.as_secs_f64(),
        cpu
    );
    eprintln!("registry requests: {}", registry.access_log().len());
    assert!(list_calls <= 100, "{list_calls} list calls");
}

/// CPU seconds of this process's waited-for children (`/proc/self/stat` fields cutime + cstime,
/// in clock ticks of 1/100 s).
fn children_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    // After the command name: state is field 3, so cutime (16) and cstime (17) sit at 13 and 14.
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(13) + ticks(14)) / 100.0
}
