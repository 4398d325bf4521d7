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

/// One raw HTTP/1.1 request to a plain registry; the status code.
fn http(addr: std::net::SocketAddr, method: &str, path: &str, kind: &str, body: &[u8]) -> u16 {
    http_location(addr, method, path, kind, body).0
}

/// One raw HTTP/1.1 request to a plain registry; the status code and any `Location`.
fn http_location(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    kind: &str,
    body: &[u8],
) -> (u16, Option<String>) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("write");
    stream.write_all(body).expect("write");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let location = answer.lines().take_while(|l| !l.is_empty()).find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("location")
            .then(|| value.trim().to_string())
    });
    (status, location)
}

/// `pushes` multi-arch pushes (an index, two platform images, an attestation manifest: 4
/// versions each) written straight into the registry and the emulator's version list, push 0
/// the newest, one an hour apart; tags by push as in the planning benchmark (`main-*`, `pr-*`,
/// releases, pre-releases, untagged).
fn seed_package(
    registry: std::net::SocketAddr,
    emulator: &crate::emulator::github::GithubEmulator,
    pushes: u64,
) {
    use crate::emulator::github::{Version, unix_now};
    const EMPTY: &str = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
    let repo = "/v2/octo-org/app";
    let (status, location) = http_location(
        registry,
        "POST",
        &format!("{repo}/blobs/uploads/"),
        "application/octet-stream",
        b"",
    );
    assert_eq!(status, 202, "blob upload started");
    let location = location.expect("an upload location");
    let location = location
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_string()))
        .unwrap_or(location);
    let separator = if location.contains('?') { '&' } else { '?' };
    let status = http(
        registry,
        "PUT",
        &format!("{location}{separator}digest={EMPTY}"),
        "application/octet-stream",
        b"{}",
    );
    assert_eq!(status, 201, "blob upload");
    let empty = serde_json::json!({"mediaType": "application/vnd.oci.empty.v1+json", "digest": EMPTY, "size": 2});
    let now = unix_now();
    // Four writers at once: the registry, not this loop, is the bottleneck.
    let writers = 4;
    let mut versions: Vec<Version> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..writers)
            .map(|w| {
                let empty = &empty;
                scope.spawn(move || {
                    let mut versions = Vec::new();
                    for push in (w..pushes).step_by(writers as usize) {
                        seed_push(registry, empty, now, pushes, push, &mut versions);
                    }
                    versions
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a seeding thread"))
            .collect()
    });
    versions.sort_by_key(|v| v.id);
    emulator.state().versions = versions;
}

/// Push `push` of `pushes`: its manifests into the registry, its versions onto `versions`.
fn seed_push(
    registry: std::net::SocketAddr,
    empty: &serde_json::Value,
    now: i64,
    pushes: u64,
    push: u64,
    versions: &mut Vec<crate::emulator::github::Version>,
) {
    use crate::emulator::github::Version;
    const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
    const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    let repo = "/v2/octo-org/app";
    {
        let created_at = now - (push as i64) * 3_600;
        let image = |what: &str| {
            serde_json::to_vec(&serde_json::json!({
                "schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": empty, "layers": [empty],
                "annotations": {"bench": format!("{push} {what}")},
            }))
            .expect("json")
        };
        let children = [image("amd64"), image("arm64"), image("attestation")];
        let digests: Vec<Digest> = children.iter().map(|b| Digest::sha256(b)).collect();
        let platform = |arch: &str| serde_json::json!({"architecture": arch, "os": "linux"});
        let index = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2, "mediaType": OCI_INDEX,
            "manifests": [
                {"mediaType": OCI_MANIFEST, "digest": digests[0].to_string(), "size": children[0].len(), "platform": platform("amd64")},
                {"mediaType": OCI_MANIFEST, "digest": digests[1].to_string(), "size": children[1].len(), "platform": platform("arm64")},
                {"mediaType": OCI_MANIFEST, "digest": digests[2].to_string(), "size": children[2].len(),
                 "platform": {"architecture": "unknown", "os": "unknown"},
                 "annotations": {"vnd.docker.reference.digest": digests[0].to_string(), "vnd.docker.reference.type": "attestation-manifest"}},
            ],
        }))
        .expect("json");
        let index_digest = Digest::sha256(&index);
        let tags = match push % 5 {
            0 => vec![format!("main-{push:x}")],
            1 => vec![format!("pr-{}", push % 300)],
            2 => vec![format!("v1.{push}.0")],
            3 => vec![format!("v2.{push}.0-rc.1")],
            _ => vec![],
        };
        for (bytes, digest) in children.iter().zip(&digests) {
            let path = format!("{repo}/manifests/{digest}");
            assert_eq!(http(registry, "PUT", &path, OCI_MANIFEST, bytes), 201);
        }
        let reference = tags
            .first()
            .cloned()
            .unwrap_or_else(|| index_digest.to_string());
        let path = format!("{repo}/manifests/{reference}");
        assert_eq!(http(registry, "PUT", &path, OCI_INDEX, &index), 201);
        // Ids grow with time: the index (pushed last) the newest of its push.
        let id = |k: u64| 1 + (pushes - push) * 4 + k;
        for (k, digest) in digests.iter().enumerate() {
            versions.push(Version {
                id: id(k as u64),
                package: "octo-org/app".into(),
                digest: digest.to_string(),
                tags: Vec::new(),
                created_at,
            });
        }
        versions.push(Version {
            id: id(3),
            package: "octo-org/app".into(),
            digest: index_digest.to_string(),
            tags,
            created_at,
        });
    }
}

/// GHCR cleanup at scale within a `GITHUB_TOKEN`'s real limits: a package of `BENCH_VERSIONS`
/// versions (default 10,000; 4 a push) with real manifests in the registry, the emulator's budget
/// set to 1,000 calls an hour. Measures, per run: API requests, registry requests, budget used,
/// versions deleted and left, wall time; (1) a first run with an empty manifest cache (deleting
/// at GitHub's 180 a minute until its budget is spent), (2) a second run with the cache the first
/// wrote. The emulator's clock cannot be moved on an hour: before each run its budget is set to
/// a fresh 1,000 (a test knob, as the hour's reset would), and the runs needed after the second
/// are computed from the listing cost and the reserve.
/// `BENCH_VERSIONS=10000 cargo test --release --test tests cleanup::bench::ghcr -- --ignored --nocapture`
#[test]
#[ignore = "benchmark: run with --release --ignored --nocapture"]
fn ghcr_cleanup_within_a_github_token_budget() {
    use crate::emulator::github::{GithubEmulator, TOKEN, unix_now};
    let Some(registry) = crate::registry::harness::Registry::plain() else {
        return;
    };
    let versions: u64 = std::env::var("BENCH_VERSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let emulator = GithubEmulator::start(registry.addr, "octo-org", "Organization");
    let seeding = std::time::Instant::now();
    seed_package(registry.addr, &emulator, versions / 4);
    eprintln!(
        "seeded {} versions in {:.1} s",
        emulator.state().versions.len(),
        seeding.elapsed().as_secs_f64()
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let cache = dir.path().join("manifests.json");
    // Reached as ghcr.io (TLS, the token flow) with the workflow's token only.
    let env = emulator.ghcr_env();
    let run = |label: &str, dry_run: bool| {
        {
            // A fresh hour of a `GITHUB_TOKEN` (1,000 calls).
            let mut state = emulator.state();
            state.rate.limit = 1_000;
            state.rate.remaining = 1_000;
            state.rate.reset = unix_now() as u64 + 3_600;
        }
        let (api_before, registry_before) = {
            let state = emulator.state();
            (state.requests.len(), state.registry_requests.len())
        };
        let listed = emulator.state().versions.len();
        let now = unix_now().to_string();
        let start = std::time::Instant::now();
        let mut vars: Vec<(&str, &str)> = env.iter().map(|(n, v)| (*n, v.as_str())).collect();
        vars.extend([
            ("INPUT_IMAGES", "ghcr.io/octo-org/app"),
            (
                "INPUT_RETENTION",
                "keep tag=latest\nkeep semver=release\ndelete tag=main-* older-than=30d\n\
                     delete semver=prerelease older-than=90d\ndelete untagged older-than=14d",
            ),
            ("INPUT_GITHUB-TOKEN", TOKEN),
            ("INPUT_DRY-RUN", if dry_run { "true" } else { "false" }),
            ("INPUT_MANIFEST-CACHE", cache.to_str().expect("utf-8")),
            ("SOURCE_DATE_EPOCH", now.as_str()),
        ]);
        let r = crate::support::run(&["cleanup"], &vars);
        let wall = start.elapsed();
        assert!(r.success(), "{}\n{}", r.stdout(), r.stderr());
        let state = emulator.state();
        let api = state.requests.len() - api_before;
        let deletes = state.requests[api_before..]
            .iter()
            .filter(|q| q.starts_with("DELETE"))
            .count();
        let used = state.rate.limit - state.rate.remaining;
        // The client's requests to the registry face (token challenges included).
        let asked = &state.registry_requests[registry_before..];
        let registry_requests = asked.len();
        let manifest_reads = asked
            .iter()
            .filter(|q| q.starts_with("GET") && q.contains("/manifests/"))
            .count();
        drop(state);
        eprintln!(
            "{label}: {listed} versions listed; {api} API requests ({deletes} DELETE), budget used {used} of 1000; \
             {registry_requests} registry requests ({manifest_reads} manifest GETs); \
             deleted {}, remaining {}, kept {}; {:.1} s wall",
            r.get("deleted"),
            r.get("remaining"),
            r.get("kept"),
            wall.as_secs_f64()
        );
        (
            r.get("deleted").parse::<u64>().unwrap_or(0),
            r.get("remaining").parse::<u64>().unwrap_or(0),
        )
    };
    let (first, left) = run("(1) first run, empty cache, a fresh hour", false);
    let total = first + left;
    let (second, left) = run("(2) second run, the cache of (1), the next hour", false);
    // Later hours: each run lists what is left (1 owner lookup + a call per 100 versions), keeps
    // the reserve (50) and spends the rest on deletions.
    let measured = [first, second].iter().filter(|&&n| n > 0).count();
    let (mut listed, mut to_delete, mut runs) = (versions - first - second, left, measured);
    while to_delete > 0 {
        let per_run = (1_000 - 50 - 1 - listed.div_ceil(100)).min(to_delete);
        (listed, to_delete, runs) = (listed - per_run, to_delete - per_run, runs + 1);
    }
    eprintln!(
        "to delete {total}: {first} in the first hour, {second} in the second (measured), \
         {left} left; hourly runs needed in all: {runs} (the rest computed as above)"
    );
}
