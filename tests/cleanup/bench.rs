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
