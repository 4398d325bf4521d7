use super::*;
use crate::meta::tag::to_tag_name;
use crate::meta::version::VersionKey;

fn tag(name: &str, kind: TagKind, version: &str) -> ComputedTag {
    ComputedTag {
        name: to_tag_name(name).expect("valid tag"),
        kind,
        rule: "test".into(),
        version: Some(version.into()),
    }
}

fn existing(tags: &[&str]) -> BTreeSet<String> {
    tags.iter().map(|t| t.to_string()).collect()
}

fn forms(release: &str, version: &str) -> VersionForms {
    VersionForms::of(&[tag(release, TagKind::Release, version)])
}

/// The words of a hold, when `decision` is one.
fn held_words(decision: &TagDecision) -> Option<String> {
    match decision {
        TagDecision::Held(why) => Some(why.to_string()),
        _ => None,
    }
}

fn held(decision: &TagDecision) -> bool {
    matches!(decision, TagDecision::Held(_))
}

fn key(text: &str) -> Option<VersionKey> {
    VersionKey::parse(text)
}

#[test]
fn version_forms_are_read_from_the_runs_version_tags() {
    let f = forms("v1.2.3-alpine", "1.2.3");
    assert_eq!(f.version_in("v1.3.0-alpine"), key("1.3.0"));
    assert_eq!(
        f.version_in("1.3.0"),
        key("1.3.0"),
        "the bare form always counts"
    );
    assert_eq!(f.version_in("v1.3.0-rc.1-alpine"), None, "a pre-release");
    assert_eq!(
        f.version_in("v1.3-alpine"),
        key("1.3.0"),
        "a rolling tag names the lowest version it can hold"
    );
    assert_eq!(f.version_in("x1.3.0-alpine"), None);
    assert_eq!(
        f.version_in("v1-alpine"),
        None,
        "one bare number is no version"
    );
    let f = forms("api-1.2.3", "1.2.3");
    assert_eq!(f.version_in("api-2.0.0"), key("2.0.0"));
    assert_eq!(f.version_in("api-"), None);
    assert_eq!(forms("v1.2.3", "1.2.3").version_in("v1.3.0-alpine"), None);
    // A version-like floating tag (a raw `2.0-slim`) gives its form too.
    let raw = ComputedTag {
        kind: TagKind::Floating,
        ..tag("2.0-slim", TagKind::Floating, "2.0")
    };
    let f = VersionForms::of(&[raw]);
    assert_eq!(f.version_in("2.6-slim"), key("2.6"));
    assert_eq!(f.version_in("v3"), key("3.0.0"));
}

#[test]
fn a_suffixed_hotfix_holds_the_suffixed_major_and_latest() {
    let f = forms("v0.1.1-alpine", "0.1.1");
    let repo = existing(&["v0.2.0-alpine", "v0.2-alpine", "v0-alpine", "latest"]);
    let decide = |name| decide(name, Some("0.1.1"), Some(&repo), &f);
    assert!(held(&decide("v0-alpine")), "{:?}", decide("v0-alpine"));
    assert!(held(&decide("latest")));
    assert_eq!(decide("v0.1-alpine"), TagDecision::Push);
    assert_eq!(
        held_words(&decide("latest")).as_deref(),
        Some("`v0.2.0-alpine` is a newer release, so `latest` stays where it is")
    );
}

#[test]
fn a_prefixed_hotfix_holds_the_prefixed_major_and_latest() {
    let f = forms("api-0.1.1", "0.1.1");
    let repo = existing(&["api-0.2.0", "api-0.2", "api-0", "latest"]);
    let decide = |name| decide(name, Some("0.1.1"), Some(&repo), &f);
    assert!(held(&decide("api-0")));
    assert!(held(&decide("latest")));
    assert_eq!(decide("api-0.1"), TagDecision::Push);
}

#[test]
fn digits_in_a_suffix_do_not_narrow_the_scope() {
    // `latest-alpine3.19` follows every release, not 3.19.x, although its name holds 3 and 19.
    let f = forms("v3.19.1-alpine3.19", "3.19.1");
    let repo = existing(&["v3.20.0-alpine3.19", "latest-alpine3.19"]);
    let decide = |name| decide(name, Some("3.19.1"), Some(&repo), &f);
    assert!(held(&decide("latest-alpine3.19")));
    assert_eq!(decide("v3.19-alpine3.19"), TagDecision::Push);
    assert!(held(&decide("v3-alpine3.19")));
}

#[test]
fn a_newer_bare_release_also_holds_a_wrapped_rolling_tag() {
    // The forms are read together, which errs towards holding.
    let f = forms("v0.1.1-alpine", "0.1.1");
    let repo = existing(&["v0.2.0"]);
    assert!(held(&decide("v0-alpine", Some("0.1.1"), Some(&repo), &f)));
}

#[test]
fn without_a_version_or_a_listing_the_rules_are_unchanged() {
    let f = forms("v1.0.0", "1.0.0");
    let repo = existing(&["v2.0.0"]);
    assert_eq!(decide("latest", None, Some(&repo), &f), TagDecision::Push);
    assert!(held(&decide("latest", Some("1.0.0-rc.1"), Some(&repo), &f)));
    assert!(held(&decide("latest", Some("1.0.0"), None, &f)));
    assert_eq!(
        decide("latest", Some("2.0.1"), Some(&repo), &f),
        TagDecision::Push
    );
}

/// The tags of a run with `type=raw,value=<version>` and `type=raw,value=latest`.
fn raw_run(version: &str) -> (VersionForms, String) {
    let raw = ComputedTag {
        kind: TagKind::Floating,
        ..tag(version, TagKind::Floating, version)
    };
    (VersionForms::of(&[raw]), version.to_string())
}

#[test]
fn issue_14_every_version_like_value_moves_latest_only_forward() {
    // 2.6, then 2.0: `latest` stays on 2.6; then 2.4.2 (after a 2.5.0): it stays on 2.6 too.
    let (f, v) = raw_run("2.0");
    let repo = existing(&["2.6", "latest"]);
    assert_eq!(
        held_words(&decide("latest", Some(&v), Some(&repo), &f)).as_deref(),
        Some("`2.6` is a newer version, so `latest` stays where it is")
    );
    let (f, v) = raw_run("2.4.2");
    let repo = existing(&["2.0", "2.5.0", "2.6", "latest"]);
    assert_eq!(
        held_words(&decide("latest", Some(&v), Some(&repo), &f)).as_deref(),
        Some("`2.6` is a newer version, so `latest` stays where it is")
    );
    // Forward moves: a `v3`, a date version, the same version again.
    let repo = existing(&["2.0", "2.6", "v2.6.1", "latest"]);
    for forward in ["v3", "2024.12.1", "2.6.1", "2.7"] {
        let (f, v) = raw_run(forward);
        assert_eq!(
            decide("latest", Some(&v), Some(&repo), &f),
            TagDecision::Push,
            "{forward}"
        );
    }
    // A full release is held by a newer raw version-like tag, and says which.
    let f = forms("v2.4.2", "2.4.2");
    assert!(held(&decide(
        "latest",
        Some("2.4.2"),
        Some(&existing(&["2.6"])),
        &f
    )));
    // Tags that only look a little like versions hold nothing.
    let repo = existing(&["7", "20240101", "main-1234567", "2.6-rc.1", "latest"]);
    let (f, v) = raw_run("2.0");
    assert_eq!(
        decide("latest", Some(&v), Some(&repo), &f),
        TagDecision::Push
    );
}

#[test]
fn of_equal_versions_the_release_names_the_hold() {
    let f = forms("v0.1.1", "0.1.1");
    let repo = existing(&["v0.2", "v0.2.0", "latest"]);
    assert_eq!(
        held_words(&decide("latest", Some("0.1.1"), Some(&repo), &f)).as_deref(),
        Some("`v0.2.0` is a newer release, so `latest` stays where it is")
    );
}

fn digest(seed: &str) -> Digest {
    Digest::sha256(seed.as_bytes())
}

/// A read-back: `(tag, image seed)` pairs; a tag without a seed is listed but not read.
fn read_back(tags: &[(&str, &str)]) -> ReadBack {
    ReadBack {
        tags: tags.iter().map(|(t, _)| t.to_string()).collect(),
        digests: tags
            .iter()
            .filter(|(_, seed)| !seed.is_empty())
            .map(|(t, seed)| (t.to_string(), digest(seed)))
            .collect(),
    }
}

#[test]
fn issue_14_a_rolling_tag_read_back_settles_on_the_newest_version() {
    let f = forms("v1.2.9", "1.2.9");
    let ours = digest("hotfix");
    let hotfix = |now: &ReadBack| settle("latest", "1.2.9", &ours, &f, now);
    // Alone: latest is ours.
    let now = read_back(&[("v1.2.9", "hotfix"), ("latest", "hotfix")]);
    assert_eq!(hotfix(&now), Settle::Settled);
    // A newer release published meanwhile, and our push came last: move on to it.
    let now = read_back(&[
        ("v1.2.9", "hotfix"),
        ("v1.3.0", "new"),
        ("latest", "hotfix"),
    ]);
    assert_eq!(
        hotfix(&now),
        Settle::Move {
            digest: digest("new"),
            version: Some("v1.3.0".into())
        }
    );
    // The newer run's push came last: latest is on it already.
    let now = read_back(&[("v1.2.9", "hotfix"), ("v1.3.0", "new"), ("latest", "new")]);
    assert_eq!(hotfix(&now), Settle::Settled);
    // Something newer still carries latest (a 1.4 published meanwhile, pushed last).
    let now = read_back(&[("v1.3.0", "new"), ("1.4", "newest"), ("latest", "newest")]);
    assert_eq!(hotfix(&now), Settle::Settled);

    // The newer run reads back after the older one overwrote it: latest goes back to ours.
    let f = forms("v1.3.0", "1.3.0");
    let ours = digest("new");
    let now = read_back(&[
        ("v1.2.9", "hotfix"),
        ("v1.3.0", "new"),
        ("latest", "hotfix"),
    ]);
    let settled = settle("latest", "1.3.0", &ours, &f, &now);
    assert_eq!(
        settled,
        Settle::Move {
            digest: ours.clone(),
            version: None
        }
    );
    // ... and so when a run without a version set it meanwhile, or it is gone.
    let now = read_back(&[("v1.3.0", "new"), ("latest", "branch-build")]);
    assert_eq!(settle("latest", "1.3.0", &ours, &f, &now), settled);
    let now = read_back(&[("v1.3.0", "new")]);
    assert_eq!(settle("latest", "1.3.0", &ours, &f, &now), settled);
}

#[test]
fn a_read_back_keeps_to_the_tags_scope_and_reads_only_what_it_needs() {
    let f = forms("v1.2.9", "1.2.9");
    let ours = digest("hotfix");
    // v1.2 follows 1.2.x: a newer 1.3.0 is not its business.
    let now = read_back(&[("v1.2.9", "hotfix"), ("v1.3.0", "new"), ("v1.2", "hotfix")]);
    assert_eq!(settle("v1.2", "1.2.9", &ours, &f, &now), Settle::Settled);
    let listing = existing(&[
        "v1.2.8", "v1.2.9", "v1.3.0", "v1.3", "v2.0.0", "latest", "main",
    ]);
    assert_eq!(
        to_read_back("v1", "1.2.9", &f, &listing),
        ["v1", "v1.3.0", "v1.3"],
        "the tag itself, then newer versions in scope, newest first, the release before its rolling tag"
    );
    assert_eq!(to_read_back("v1.2", "1.2.9", &f, &listing), ["v1.2"]);
    // A run without a version never moves a tag it set.
    let now = read_back(&[("v9.0.0", "other"), ("latest", "ours")]);
    assert_eq!(
        settle("latest", "main", &digest("ours"), &f, &now),
        Settle::Settled
    );
}
