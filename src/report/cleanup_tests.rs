//! Unit tests of `cleanup.rs`: no network.

use super::*;
use crate::cleanup::{Capabilities, Inventory, Policy, Version, plan_cleanup};
use crate::registry::Digest;

fn runs(results: Vec<Outcome>) -> Vec<ImageRun> {
    let (kept, gone) = (Digest::sha256(b"1"), Digest::sha256(b"2"));
    let inventory = Inventory {
        image: "r/app".into(),
        versions: vec![
            Version::new(kept, &["latest"]),
            Version::new(gone, &["main-a|b"]),
        ],
        incomplete: None,
    };
    let policy = Policy::parse("keep tag=latest\ndelete tag=main-*").unwrap();
    let now = jiff::Timestamp::from_second(0).unwrap();
    let plan = plan_cleanup(
        &inventory,
        &policy,
        &Default::default(),
        Capabilities::default(),
        now,
    );
    vec![ImageRun {
        image: "r/app".into(),
        kinds: crate::cleanup::run::ManifestKind::of(&inventory),
        plan: Some(plan),
        results,
        error: None,
    }]
}

#[test]
fn a_dry_run_counts_what_it_would_delete_and_names_the_rule() {
    let runs = runs(Vec::new());
    assert_eq!(counts(&runs, true), (1, 1, 0));
    let md = cleanup_summary(&runs, true);
    assert!(
        md.contains("would delete 1 image; kept 1 manifest, failed 0"),
        "{md}"
    );
    assert!(
        md.contains("| `main-a\\|b` |"),
        "a pipe in a tag is escaped: {md}"
    );
    assert!(
        md.contains("| would delete | line 2: `delete tag=main-*` |"),
        "{md}"
    );
    let json = report_json(&runs, true);
    assert_eq!(json["images"][0]["decisions"][1]["rule"]["line"], 2);
    assert_eq!(json["images"][0]["decisions"][1]["action"], "delete");
}

/// Issue 14: `deleted` counts manifests, users count images; the summary says both and
/// `deleted-images` gives the images.
#[test]
fn issue_14_deletions_are_counted_in_images_and_manifests() {
    let (index, amd64, arm64) = (
        Digest::sha256(b"index"),
        Digest::sha256(b"amd64"),
        Digest::sha256(b"arm64"),
    );
    let (signature, single, kept) = (
        Digest::sha256(b"sig"),
        Digest::sha256(b"single"),
        Digest::sha256(b"kept"),
    );
    let mut multi = Version::new(index.clone(), &["main-old"]);
    multi.media_type = "application/vnd.oci.image.index.v1+json".into();
    multi.children = vec![amd64.clone(), arm64.clone()];
    let mut signed = Version::new(signature, &[]);
    signed.subject = Some(index.clone());
    let inventory = Inventory {
        image: "r/app".into(),
        versions: vec![
            multi,
            Version::new(amd64, &[]),
            Version::new(arm64, &[]),
            signed,
            Version::new(single, &["main-older"]),
            Version::new(kept, &["latest"]),
        ],
        incomplete: None,
    };
    let policy = Policy::parse("keep tag=latest\ndelete tag=main-*").unwrap();
    let now = jiff::Timestamp::from_second(0).unwrap();
    let plan = plan_cleanup(
        &inventory,
        &policy,
        &Default::default(),
        Capabilities::default(),
        now,
    );
    let runs = vec![ImageRun {
        image: "r/app".into(),
        kinds: crate::cleanup::run::ManifestKind::of(&inventory),
        plan: Some(plan),
        results: Vec::new(),
        error: None,
    }];
    assert_eq!(counts(&runs, true), (5, 1, 0));
    let md = cleanup_summary(&runs, true);
    assert!(
        md.contains(
            "would delete 2 images (5 manifests: 1 index, 1 single-platform image, \
             2 platform manifests, 1 signature or attestation); kept 1 manifest, failed 0"
        ),
        "{md}"
    );
    let outputs = cleanup_outputs(&runs, true);
    assert_eq!(outputs.get("deleted"), Some("5"));
    assert_eq!(outputs.get("deleted-images"), Some("2"));
}

#[test]
fn deletions_over_the_budget_are_left_for_the_next_run_and_said_so() {
    let mut runs = runs(Vec::new());
    let plan = runs[0].plan.take().unwrap();
    let inventory = Inventory {
        image: "r/app".into(),
        versions: vec![
            Version::new(Digest::sha256(b"1"), &["latest"]),
            Version::new(Digest::sha256(b"2"), &["main-a|b"]),
        ],
        incomplete: None,
    };
    let tight = crate::cleanup::budget::Allowance {
        api: Some(crate::cleanup::budget::RateLimit {
            remaining: 25,
            limit: None,
            reset: None,
        }),
        ..Default::default()
    };
    runs[0].plan = Some(crate::cleanup::budget::fit(plan, &inventory, &tight));
    assert_eq!(
        counts(&runs, true),
        (0, 1, 0),
        "the deferred one is not counted kept"
    );
    assert_eq!(remaining(&runs), (1, 0));
    let line = remaining_line(&runs).unwrap();
    assert_eq!(
        line,
        "1 version left for the next run: over this run's budget"
    );
    let md = cleanup_summary(&runs, true);
    assert!(md.contains(&format!("**{line}**")), "{md}");
    assert!(md.contains("| delete (next run) |"), "{md}");
    assert!(
        md.contains("**Budget:** API budget 25 left, 25 kept in reserve"),
        "{md}"
    );
    let outputs = cleanup_outputs(&runs, true);
    assert_eq!(outputs.get("remaining"), Some("1"));
    let json = report_json(&runs, true);
    assert_eq!(
        json["images"][0]["deferred"][0],
        Digest::sha256(b"2").to_string()
    );
    assert_eq!(remaining_line(&self::runs(Vec::new())), None);
}

#[test]
fn failed_deletions_are_counted_and_shown() {
    let runs = runs(vec![Outcome::version(
        Digest::sha256(b"2"),
        Deleted::Failed("403".into()),
    )]);
    assert_eq!(counts(&runs, false), (0, 1, 1));
    assert!(cleanup_summary(&runs, false).contains("delete **failed**"));
    let outputs = cleanup_outputs(&runs, false);
    assert_eq!(outputs.get("failed"), Some("1"));
    let failed = crate::cleanup::error::outcome(&runs).unwrap_err();
    assert_eq!(
        failed.to_string(),
        "cleanup finished with 1 failure(s); see the `report` output and the step summary"
    );
}
