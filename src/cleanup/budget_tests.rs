//! Unit tests of `budget.rs`: no network.

use super::*;
use crate::cleanup::plan_tests::digest;
use crate::cleanup::{Capabilities, Policy, Version, plan_cleanup};

const NOW: i64 = 1_800_000_000;
const DAY: i64 = 86_400;

/// Push `n`, `days` old: an index tagged `tag` with two platform images, and (when `signed`)
/// a signature of the index.
fn push(n: u64, days: i64, tag: &str, signed: bool) -> Vec<Version> {
    let at = jiff::Timestamp::from_second(NOW - days * DAY).ok();
    let mut index = Version::new(digest(n * 10), &[tag]);
    index.created_at = at;
    index.children = vec![digest(n * 10 + 1), digest(n * 10 + 2)];
    let mut out = vec![index];
    for c in 1..=2 {
        let mut child = Version::new(digest(n * 10 + c), &[]);
        child.created_at = at;
        out.push(child);
    }
    if signed {
        let tag = format!("sha256-{}.sig", digest(n * 10).hex());
        let mut sig = Version::new(digest(n * 10 + 5), &[tag.as_str()]);
        sig.created_at = at;
        out.push(sig);
    }
    out
}

fn planned(versions: Vec<Version>, untag: bool) -> (Inventory, CleanupPlan) {
    let inventory = Inventory {
        image: "ghcr.io/o/app".into(),
        versions,
        incomplete: None,
    };
    let policy =
        Policy::parse("keep tag=latest\nkeep semver=release\ndelete tag=main-* older-than=30d")
            .unwrap();
    let now = jiff::Timestamp::from_second(NOW).unwrap();
    let plan = plan_cleanup(
        &inventory,
        &policy,
        &Default::default(),
        Capabilities { untag },
        now,
    );
    (inventory, plan)
}

fn api(remaining: u64, limit: u64) -> Allowance {
    Allowance {
        api: Some(RateLimit {
            remaining,
            limit: Some(limit),
            reset: jiff::Timestamp::from_second(NOW + 1_800).ok(),
        }),
        now: jiff::Timestamp::from_second(NOW).unwrap(),
        ..Allowance::default()
    }
}

fn history() -> Vec<Version> {
    let mut versions = Vec::new();
    // Newest first, as GHCR lists them; 40-49 days old, every other one signed.
    for n in 0..10 {
        versions.extend(push(n, 40 + n as i64, &format!("main-{n}"), n % 2 == 0));
    }
    versions.extend(push(20, 100, "v1.0.0", true));
    versions
}

#[test]
fn the_reserve_is_a_twentieth_of_the_limit_and_at_least_25() {
    let r = |remaining, limit| RateLimit {
        remaining,
        limit,
        reset: None,
    };
    assert_eq!(r(1_000, Some(1_000)).reserve(), 50);
    assert_eq!(r(4_000, Some(5_000)).reserve(), 250);
    assert_eq!(r(300, None).reserve(), 25);
    let now = jiff::Timestamp::from_second(NOW).unwrap();
    assert_eq!(r(30, Some(1_000)).spendable(now), 0);
    assert_eq!(r(960, Some(1_000)).spendable(now), 910);
}

#[test]
fn a_budget_that_renews_within_the_wait_counts_once_renewed() {
    let at = |s: i64| jiff::Timestamp::from_second(s).unwrap();
    let api = RateLimit {
        remaining: 30,
        limit: Some(1_000),
        reset: Some(at(NOW + 120)),
    };
    let soon = Allowance {
        api: Some(api),
        now: at(NOW),
        ..Allowance::default()
    };
    assert_eq!(soon.renewal_wait(), Some(Duration::from_secs(120)));
    assert_eq!(soon.calls(), Some(950), "0 now, 950 after the reset");
    let later = Allowance {
        now: at(NOW - 3_600),
        ..soon
    };
    assert_eq!((later.renewal_wait(), later.calls()), (None, Some(0)));
    let short = Allowance {
        time: Some(Duration::from_secs(60)),
        ..soon
    };
    assert_eq!(short.renewal_wait(), None, "the time runs out first");
    let past = Allowance {
        now: at(NOW + 121),
        ..soon
    };
    assert_eq!(past.calls(), Some(950), "reset passed: renewed");
}

#[test]
fn without_limits_everything_goes_oldest_group_first() {
    let (inventory, plan) = planned(history(), false);
    let all = plan.deletions.len();
    assert_eq!(all, 35, "10 pushes of 3, 5 signatures");
    let fitted = fit(plan, &inventory, &Allowance::default());
    assert_eq!(fitted.deletions.len(), all);
    assert!(fitted.deferred.is_empty());
    assert_eq!(fitted.groups, [3, 4, 3, 4, 3, 4, 3, 4, 3, 4]);
    // Push 9 is the oldest (49 days): its index first, its signature before it.
    assert_eq!(fitted.deletions[0], digest(90));
    assert_eq!(fitted.deletions[3], digest(85), "push 8's signature");
    assert_eq!(fitted.deletions[4], digest(80), "then push 8's index");
    let note = fitted.budget.as_ref().unwrap();
    assert_eq!((note.calls_needed, note.calls_planned), (35, 35));
    assert_eq!(note.limited_by, None);
}

#[test]
fn a_tight_budget_takes_whole_groups_and_defers_the_rest() {
    let (inventory, plan) = planned(history(), false);
    // 60 left, 50 in reserve: 10 calls, so groups of 3 (push 9), 4 (push 8), 3 (push 7).
    let fitted = fit(plan, &inventory, &api(60, 1_000));
    assert_eq!(fitted.groups, [3, 4, 3]);
    assert_eq!(fitted.deletions.len(), 10);
    assert_eq!(fitted.deferred.len(), 25);
    let note = fitted.budget.as_ref().unwrap();
    assert_eq!(note.limited_by, Some(Limit::Api));
    assert_eq!(
        note.to_string(),
        "API budget 60 left of 1,000, resets 08:30 UTC, 50 kept in reserve: the plan needs 35 API calls, 10 go now (the rest waits for the next run: the API budget)"
    );
    // Every group is whole on each side: no deleted index leaves a child behind.
    for v in &inventory.versions {
        let now = fitted.deletions.contains(&v.digest);
        for c in &v.children {
            if fitted.deletions.contains(c) || fitted.deferred.contains(c) {
                assert_eq!(
                    fitted.deletions.contains(c),
                    now,
                    "{c} split from {}",
                    v.digest
                );
            }
        }
    }
    // Nothing kept is in either list.
    let release = digest(200);
    assert!(!fitted.deletions.contains(&release) && !fitted.deferred.contains(&release));
}

#[test]
fn a_group_too_big_for_what_is_left_waits_and_smaller_ones_go() {
    let (inventory, plan) = planned(history(), false);
    // 5 calls: push 9 (3) goes, push 8 (4) does not fit in 2, push 7 (3) does not either.
    let fitted = fit(plan, &inventory, &api(55, 1_000));
    assert_eq!(fitted.groups, [3]);
    let (inventory, plan) = planned(history(), false);
    // 7 calls: push 9 (3) and push 8 (4); 0 left.
    let fitted = fit(plan, &inventory, &api(57, 1_000));
    assert_eq!(fitted.groups, [3, 4]);
    let (inventory, plan) = planned(history(), false);
    // 6 calls: push 9 (3), push 8 (4) waits, push 7 (3) goes.
    let fitted = fit(plan, &inventory, &api(56, 1_000));
    assert_eq!(fitted.groups, [3, 3]);
    assert_eq!(fitted.deletions[3], digest(70));
    // Push 8 waits whole: its signature, its index, then the children.
    assert_eq!(&fitted.deferred[..2], &[digest(85), digest(80)]);
    let mut children = fitted.deferred[2..4].to_vec();
    children.sort();
    let mut expected = vec![digest(81), digest(82)];
    expected.sort();
    assert_eq!(children, expected);
}

#[test]
fn the_time_budget_limits_at_the_api_pace() {
    let (inventory, plan) = planned(history(), false);
    let allowance = Allowance {
        time: Some(Duration::from_secs(3)),
        per_minute: Some(180),
        ..api(1_000, 1_000)
    };
    assert_eq!(allowance.calls(), Some(9));
    let fitted = fit(plan, &inventory, &allowance);
    assert_eq!(fitted.groups, [3, 4]);
    let note = fitted.budget.as_ref().unwrap();
    assert_eq!(note.limited_by, Some(Limit::Time));
    assert!(
        note.to_string()
            .contains("time left 3s at 180 deletions a minute"),
        "{note}"
    );
    // Without a known pace the time is only checked while deleting.
    let unpaced = Allowance {
        time: Some(Duration::from_secs(3)),
        ..Allowance::default()
    };
    assert_eq!(unpaced.calls(), None);
}

#[test]
fn untags_go_first_at_two_calls_each() {
    let mut versions = history();
    versions[0].tags.push("latest".into());
    let (inventory, plan) = planned(versions, true);
    assert_eq!(plan.untags, [(digest(0), "main-0".to_string())]);
    let fitted = fit(plan, &inventory, &api(56, 1_000));
    assert_eq!(fitted.untags.len(), 1);
    assert_eq!(fitted.groups, [3], "4 calls left after the untag");
    let (inventory, plan) = planned(
        {
            let mut v = history();
            v[0].tags.push("latest".into());
            v
        },
        true,
    );
    let fitted = fit(plan, &inventory, &api(51, 1_000));
    assert!(fitted.untags.is_empty());
    assert_eq!(fitted.deferred_untags.len(), 1);
}

#[test]
fn a_stop_while_deleting_defers_the_groups_not_reached() {
    let (inventory, plan) = planned(history(), false);
    let mut fitted = fit(plan, &inventory, &Allowance::default());
    let first_two: Vec<Digest> = fitted.deletions[..7].to_vec();
    defer_from(&mut fitted, 2, false, Limit::Time);
    assert_eq!(fitted.deletions, first_two);
    assert_eq!(fitted.groups, [3, 4]);
    assert_eq!(fitted.deferred.len(), 28);
    let note = fitted.budget.as_ref().unwrap();
    assert_eq!(
        (note.calls_planned, note.limited_by),
        (7, Some(Limit::Time))
    );
}

#[test]
fn thousands_are_grouped() {
    assert_eq!(thousands(0), "0");
    assert_eq!(thousands(999), "999");
    assert_eq!(thousands(1_000), "1,000");
    assert_eq!(thousands(1_234_567), "1,234,567");
}
