//! Unit tests of the `retention` parser and the planner: every rule, every safety case.

use super::policy::{SemverKind, glob_match, parse_age, pr_number, semver_match};
use super::*;
use std::collections::BTreeSet;

const DAY: i64 = 86_400;
const NOW: i64 = 1_800_000_000;

pub fn digest(n: u64) -> Digest {
    Digest::sha256(&n.to_be_bytes())
}

fn now() -> jiff::Timestamp {
    jiff::Timestamp::from_second(NOW).unwrap()
}

/// A version `n` created `days` ago with `tags`.
fn v(n: u64, days: i64, tags: &[&str]) -> Version {
    let mut v = Version::new(digest(n), tags);
    v.created_at = Some(jiff::Timestamp::from_second(NOW - days * DAY).unwrap());
    v
}

fn inventory(versions: Vec<Version>) -> Inventory {
    Inventory {
        image: "r/app".into(),
        versions,
        incomplete: None,
    }
}

const SEED: &str = "\
# protected
keep tag=latest,main,develop
keep semver=release
delete tag=main-*,develop-* older-than=30d
delete tag=release-* older-than=90d
delete semver=prerelease older-than=90d
delete pr=closed
delete untagged older-than=14d
";

fn plan_with(inv: &Inventory, policy: &str, closed: &[u64], untag: bool) -> CleanupPlan {
    let policy = Policy::parse(policy).unwrap();
    let closed: BTreeSet<u64> = closed.iter().copied().collect();
    plan_cleanup(inv, &policy, &closed, Capabilities { untag }, now())
}

fn decision<'a>(plan: &'a CleanupPlan, n: u64, tag: Option<&str>) -> &'a Decision {
    plan.decisions
        .iter()
        .find(|d| d.digest == digest(n) && d.tag.as_deref() == tag)
        .unwrap_or_else(|| panic!("no decision for {n} {tag:?}: {plan:#?}"))
}

fn action(plan: &CleanupPlan, n: u64, tag: Option<&str>) -> (Action, Option<usize>) {
    let d = decision(plan, n, tag);
    (d.action, d.rule.as_ref().map(|r| r.line))
}

#[test]
fn parse_errors_name_the_line_and_the_fix() {
    let cases = [
        (
            "keep tag=latest\nremove tag=x",
            "line 2 `remove tag=x`: a rule starts with `keep` or `delete`",
        ),
        ("delete older-than=30d", "a delete rule needs a selector"),
        ("delete tag=main-* 30d", "`30d` is not `key=value`"),
        (
            "delete tag=main-* older-than=30y",
            "expected a number and a unit",
        ),
        ("delete tag=release/*", "write `tag=release-*`"),
        ("delete last=3", "`last=` belongs to `keep` rules"),
        ("keep untagged", "is the default already"),
        ("delete pr=open", "only `pr=closed`"),
        (
            "delete semver=stable",
            "expected `release`, `prerelease` or `any`",
        ),
        ("delete colour=red", "unknown attribute `colour`"),
        ("delete untagged tag=x", "cannot be combined"),
        ("keep last=ten", "`last=ten` is not a count"),
    ];
    for (input, expected) in cases {
        let error = Policy::parse(input).unwrap_err().to_string();
        assert!(error.starts_with("input `retention`, line "), "{error}");
        assert!(error.contains(expected), "{input}: {error}");
    }
}

#[test]
fn the_seed_policy_parses() {
    let policy = Policy::parse(SEED).unwrap();
    assert_eq!(policy.rules.len(), 7);
    assert_eq!(policy.rules[0].line, 2);
    assert_eq!(policy.rules[2].older_than, Some(30 * DAY));
}

#[test]
fn helpers_match_globs_ages_prs_and_versions() {
    assert!(glob_match("main-*", "main-abc"));
    assert!(glob_match("main-*", "main-"));
    assert!(!glob_match("main-*", "xmain-abc"));
    assert!(glob_match("v?.*", "v1.2.3"));
    assert!(glob_match("*-rc*", "1.0-rc2"));
    assert!(!glob_match("latest", "latest2"));
    assert_eq!(parse_age("2w"), Ok(14 * DAY));
    assert_eq!(parse_age("36h"), Ok(36 * 3600));
    assert!(parse_age("d").is_err());
    assert_eq!(pr_number("pr-12"), Some(12));
    assert_eq!(pr_number("pr-12-arm64"), Some(12));
    assert_eq!(pr_number("pr-x"), None);
    assert_eq!(pr_number("prod-1"), None);
    assert!(semver_match(SemverKind::Release, "v1.2.3"));
    assert!(!semver_match(SemverKind::Release, "v1.2"));
    assert!(semver_match(SemverKind::Prerelease, "1.2.3-rc.1"));
    assert!(!semver_match(SemverKind::Prerelease, "1.2.3"));
    assert_eq!(
        cosign_subject(&format!("sha256-{}.sig", digest(1).hex())),
        Some(digest(1))
    );
    assert_eq!(cosign_subject("sha256-abc.sig"), None);
}

#[test]
fn every_seed_rule_decides_its_tags() {
    let inv = inventory(vec![
        v(1, 400, &["latest", "v1.0.0"]),
        v(2, 31, &["main-aaa"]),
        v(3, 29, &["main-bbb"]),
        v(4, 91, &["release-1.2"]),
        v(5, 89, &["release-1.3"]),
        v(6, 91, &["v2.0.0-rc.1"]),
        v(7, 89, &["v2.0.0-rc.2"]),
        v(8, 1, &["pr-7"]),
        v(9, 1, &["pr-8"]),
        v(10, 15, &[]),
        v(11, 13, &[]),
        v(12, 500, &["main"]),
        v(13, 45, &["develop-ccc"]),
    ]);
    let plan = plan_with(&inv, SEED, &[7], false);
    use Action::{Delete, Keep};
    assert_eq!(action(&plan, 1, Some("latest")), (Keep, Some(2)));
    assert_eq!(action(&plan, 1, Some("v1.0.0")), (Keep, Some(3)));
    assert_eq!(action(&plan, 2, Some("main-aaa")), (Delete, Some(4)));
    assert_eq!(action(&plan, 3, Some("main-bbb")), (Keep, Some(4)));
    assert_eq!(action(&plan, 4, Some("release-1.2")), (Delete, Some(5)));
    assert_eq!(action(&plan, 5, Some("release-1.3")), (Keep, Some(5)));
    assert_eq!(action(&plan, 6, Some("v2.0.0-rc.1")), (Delete, Some(6)));
    assert_eq!(action(&plan, 7, Some("v2.0.0-rc.2")), (Keep, Some(6)));
    assert_eq!(action(&plan, 8, Some("pr-7")), (Delete, Some(7)));
    assert_eq!(action(&plan, 9, Some("pr-8")), (Keep, None));
    assert_eq!(action(&plan, 10, None), (Delete, Some(8)));
    assert_eq!(action(&plan, 11, None), (Keep, Some(8)));
    assert_eq!(action(&plan, 12, Some("main")), (Keep, Some(2)));
    assert_eq!(action(&plan, 13, Some("develop-ccc")), (Delete, Some(4)));
    let deleted: BTreeSet<Digest> = plan.deletions.iter().cloned().collect();
    let expected: BTreeSet<Digest> = [2, 4, 6, 8, 10, 13].map(digest).into();
    assert_eq!(deleted, expected);
}

#[test]
fn keep_beats_delete_whatever_the_order() {
    let inv = inventory(vec![v(1, 100, &["main-a"])]);
    let plan = plan_with(&inv, "delete tag=main-*\nkeep tag=main-a", &[], true);
    assert_eq!(action(&plan, 1, Some("main-a")), (Action::Keep, Some(2)));
    assert!(plan.deletions.is_empty() && plan.untags.is_empty());
}

#[test]
fn keep_last_keeps_the_newest_versions_matching_its_selectors() {
    let inv = inventory(vec![
        v(1, 50, &["main-1"]),
        v(2, 40, &["main-2"]),
        v(3, 30, &["main-3"]),
        v(4, 60, &["pr-1"]),
    ]);
    let plan = plan_with(
        &inv,
        "keep last=2 tag=main-*\ndelete tag=main-*,pr-*",
        &[],
        false,
    );
    assert_eq!(action(&plan, 1, Some("main-1")), (Action::Delete, Some(2)));
    assert_eq!(action(&plan, 2, Some("main-2")).0, Action::Keep);
    assert_eq!(action(&plan, 3, Some("main-3")).0, Action::Keep);
    assert_eq!(action(&plan, 4, Some("pr-1")).0, Action::Delete);
    let plan = plan_with(&inv, "keep last=1\ndelete tag=*", &[], false);
    assert_eq!(plan.deletions.len(), 3);
    assert_eq!(action(&plan, 3, Some("main-3")), (Action::Keep, Some(1)));
    let plan = plan_with(&inv, "keep last=1\ndelete tag=*", &[], true);
    assert!(
        plan.untags.is_empty(),
        "a version kept by `last` keeps its tags"
    );
}

#[test]
fn an_unknown_age_never_matches_older_than() {
    let mut old = v(1, 100, &["main-a"]);
    old.created_at = None;
    let plan = plan_with(
        &inventory(vec![old]),
        "delete tag=main-* older-than=1d",
        &[],
        false,
    );
    assert_eq!(action(&plan, 1, Some("main-a")), (Action::Keep, Some(1)));
    assert_eq!(
        reason(&plan, 1, Some("main-a")),
        "selected by line 1, but its creation time is unknown"
    );
}

fn reason(plan: &CleanupPlan, n: u64, tag: Option<&str>) -> String {
    decision(plan, n, tag).reason.to_string()
}

#[test]
fn a_version_a_delete_rule_selects_but_too_young_says_so() {
    let plan = plan_with(
        &inventory(vec![
            v(1, 3, &["main-a"]),
            v(2, 3, &[]),
            v(3, 3, &["other"]),
        ]),
        "delete tag=main-* older-than=30d\ndelete untagged older-than=2w",
        &[],
        false,
    );
    assert_eq!(action(&plan, 1, Some("main-a")), (Action::Keep, Some(1)));
    assert_eq!(
        reason(&plan, 1, Some("main-a")),
        "selected by line 1, but younger than 30d"
    );
    assert_eq!(
        reason(&plan, 2, None),
        "selected by line 2, but younger than 2w"
    );
    assert_eq!(reason(&plan, 3, Some("other")), "no rule selects it");
}

/// Index `n` (tags) with platform children `c` and an attestation manifest `a`.
fn index(n: u64, days: i64, tags: &[&str], children: &[u64]) -> Vec<Version> {
    let mut root = v(n, days, tags);
    root.children = children.iter().map(|&c| digest(c)).collect();
    let mut all = vec![root];
    all.extend(children.iter().map(|&c| v(c, days, &[])));
    all
}

#[test]
fn a_deleted_index_takes_its_children_after_it_but_not_shared_ones() {
    let mut versions = index(1, 40, &["main-old"], &[11, 12, 13]);
    let mut kept = index(2, 1, &["latest"], &[21]);
    kept[0].children.push(digest(12)); // a platform image both indexes list
    versions.extend(kept);
    let plan = plan_with(&inventory(versions), SEED, &[], false);
    assert_eq!(plan.deletions, vec![digest(1), digest(11), digest(13)]);
    assert_eq!(action(&plan, 12, None).0, Action::Keep);
    assert_eq!(action(&plan, 21, None).0, Action::Keep);
    let child = plan
        .decisions
        .iter()
        .find(|d| d.digest == digest(11))
        .unwrap();
    assert!(
        child.reason.contains("goes with deleted"),
        "{}",
        child.reason
    );
}

#[test]
fn a_kept_index_protects_old_untagged_children() {
    let versions = index(1, 400, &["latest"], &[11, 12]);
    let plan = plan_with(&inventory(versions), "delete untagged", &[], false);
    assert!(plan.deletions.is_empty());
    let child = plan
        .decisions
        .iter()
        .find(|d| d.digest == digest(11))
        .unwrap();
    assert!(child.reason.contains("needed by kept"), "{}", child.reason);
}

#[test]
fn signature_tags_follow_their_subject() {
    let sig = |n: u64| format!("sha256-{}.sig", digest(n).hex());
    let (s1, s2) = (sig(1), sig(2));
    let versions = vec![
        v(1, 1, &["latest"]),
        v(2, 100, &["main-old"]),
        v(3, 100, &[s1.as_str()]),
        v(4, 100, &[s2.as_str(), "extra"]),
    ];
    let plan = plan_with(
        &inventory(versions),
        "delete tag=main-*,sha256-*",
        &[],
        false,
    );
    assert_eq!(action(&plan, 3, Some(&s1)).0, Action::Keep);
    assert_eq!(
        action(&plan, 4, Some(&s2)).0,
        Action::Keep,
        "its version is kept"
    );
    assert_eq!(plan.deletions, vec![digest(2)]);
    assert_eq!(
        action(&plan, 4, Some("extra")).0,
        Action::Keep,
        "no rule deletes `extra`"
    );
    let versions = vec![v(2, 100, &["main-old"]), v(4, 100, &[s2.as_str()])];
    let plan = plan_with(&inventory(versions), "delete tag=main-*", &[], false);
    assert_eq!(
        plan.deletions,
        vec![digest(4), digest(2)],
        "signature before its subject"
    );
}

#[test]
fn referrers_follow_their_subject() {
    let mut sbom = v(3, 100, &[]);
    sbom.subject = Some(digest(1));
    let mut orphan = v(4, 1, &[]);
    orphan.subject = Some(digest(2));
    let versions = vec![v(1, 1, &["latest"]), v(2, 100, &["main-a"]), sbom, orphan];
    let plan = plan_with(
        &inventory(versions),
        "delete tag=main-*\ndelete untagged older-than=14d",
        &[],
        false,
    );
    assert_eq!(action(&plan, 3, None).0, Action::Keep);
    assert_eq!(plan.deletions, vec![digest(4), digest(2)]);
}

#[test]
fn an_incomplete_listing_or_unreadable_manifest_spares_every_untagged_version() {
    let mut versions = index(1, 100, &["main-a"], &[11]);
    versions.push(v(5, 100, &[]));
    let mut inv = inventory(versions.clone());
    inv.incomplete = Some("page 3 failed".into());
    let plan = plan_with(&inv, "delete tag=main-*\ndelete untagged", &[], false);
    assert_eq!(plan.deletions, vec![digest(1)]);
    assert!(
        plan.fail_closed
            .as_deref()
            .unwrap()
            .contains("page 3 failed")
    );
    assert!(action(&plan, 11, None).0 == Action::Keep && action(&plan, 5, None).0 == Action::Keep);
    versions.push(Version {
        unreadable: Some("500".into()),
        ..v(6, 1, &["latest"])
    });
    let plan = plan_with(
        &inventory(versions),
        "delete tag=main-*\ndelete untagged",
        &[],
        false,
    );
    assert_eq!(plan.deletions, vec![digest(1)]);
    assert!(plan.fail_closed.unwrap().contains("could not be read"));
}

#[test]
fn one_tag_of_a_kept_version_is_untagged_only_where_the_registry_can() {
    let versions = vec![v(1, 100, &["latest", "main-a"])];
    let plan = plan_with(&inventory(versions.clone()), SEED, &[], true);
    assert_eq!(action(&plan, 1, Some("main-a")), (Action::Untag, Some(4)));
    assert_eq!(plan.untags, vec![(digest(1), "main-a".to_string())]);
    let plan = plan_with(&inventory(versions), SEED, &[], false);
    assert_eq!(action(&plan, 1, Some("main-a")), (Action::Keep, Some(2)));
    assert!(plan.untags.is_empty() && plan.deletions.is_empty());
}

#[test]
fn a_version_with_only_deletable_tags_is_deleted_whole() {
    let versions = vec![v(1, 100, &["main-a", "pr-3"])];
    let plan = plan_with(&inventory(versions), SEED, &[3], true);
    assert_eq!(plan.deletions, vec![digest(1)]);
    assert!(plan.untags.is_empty());
}

/// The fallback index of version `subject` (tag `sha256-<hex>`, index `n`) listing `referrers`
/// (untagged attestations or signatures, created with it).
fn fallback(n: u64, subject: u64, days: i64, referrers: &[u64]) -> Vec<Version> {
    let tag = format!("sha256-{}", digest(subject).hex());
    let mut all = index(n, days, &[tag.as_str()], referrers);
    for r in &mut all[1..] {
        r.subject = Some(digest(subject));
    }
    all
}

fn fallback_tag(subject: u64) -> String {
    format!("sha256-{}", digest(subject).hex())
}

/// Issue 16: `keep last=N` + `delete tag=*` deleted the fallback index of a kept image (and so
/// its attestations). The fallback index and what it lists follow their subject.
#[test]
fn issue_16_the_fallback_index_of_a_kept_image_is_kept_with_its_referrers() {
    let mut versions = vec![v(1, 1, &["v1"]), v(2, 100, &["v0"])];
    versions.extend(fallback(10, 1, 1, &[11, 12]));
    versions.extend(fallback(20, 2, 100, &[21]));
    // A referrer listed in both fallback indexes: the kept image needs it.
    versions[5].children.push(digest(11));
    for policy in [
        "keep last=1\ndelete tag=*",
        "keep last=1\ndelete tag=sha256-*\ndelete tag=v0",
    ] {
        let plan = plan_with(&inventory(versions.clone()), policy, &[], false);
        assert_eq!(
            action(&plan, 10, Some(&fallback_tag(1))).0,
            Action::Keep,
            "{policy}: {plan:#?}"
        );
        assert_eq!(action(&plan, 11, None).0, Action::Keep, "{policy}");
        assert_eq!(action(&plan, 12, None).0, Action::Keep, "{policy}");
        assert_eq!(action(&plan, 1, Some("v1")).0, Action::Keep, "{policy}");
        // The deleted image's fallback index goes first, then its own referrer, then the image.
        assert_eq!(
            plan.deletions,
            vec![digest(20), digest(21), digest(2)],
            "{policy}"
        );
        assert!(
            reason(&plan, 20, Some(&fallback_tag(2))).contains("goes with deleted"),
            "{policy}: {}",
            reason(&plan, 20, Some(&fallback_tag(2)))
        );
    }
}

#[test]
fn keep_last_counts_images_not_their_referrer_tags() {
    let sig = format!("sha256-{}.sig", digest(1).hex());
    let mut versions = vec![v(1, 3, &["v1"]), v(2, 5, &["v0"])];
    // The referrers are newer than both images: counted, they would crowd out `v0`.
    versions.extend(fallback(10, 1, 0, &[11]));
    versions.push(v(30, 0, &[sig.as_str()]));
    let plan = plan_with(
        &inventory(versions),
        "keep last=2\ndelete tag=*",
        &[],
        false,
    );
    assert!(plan.deletions.is_empty(), "{:#?}", plan.deletions);
    assert!(
        reason(&plan, 2, Some("v0")).contains("one of the 2 newest"),
        "{}",
        reason(&plan, 2, Some("v0"))
    );
}

#[test]
fn a_fallback_index_whose_subject_is_gone_is_an_ordinary_tag() {
    let versions = fallback(10, 1, 100, &[11]);
    let plan = plan_with(
        &inventory(versions.clone()),
        "delete tag=main-*",
        &[],
        false,
    );
    assert!(plan.deletions.is_empty());
    let plan = plan_with(&inventory(versions), "delete tag=sha256-*", &[], false);
    assert_eq!(plan.deletions, vec![digest(10), digest(11)]);
}
