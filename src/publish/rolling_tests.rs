use super::*;
use crate::meta::tag::to_tag_name;

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

fn forms(release: &str, version: &str) -> ReleaseForms {
    ReleaseForms::of(&[tag(release, TagKind::Release, version)])
}

fn held(decision: &TagDecision) -> bool {
    matches!(decision, TagDecision::Held(_))
}

#[test]
fn release_forms_are_read_from_the_runs_release_tags() {
    let f = forms("v1.2.3-alpine", "1.2.3");
    assert_eq!(f.release_in("v1.3.0-alpine"), Some((1, 3, 0)));
    assert_eq!(
        f.release_in("1.3.0"),
        Some((1, 3, 0)),
        "the bare form always counts"
    );
    assert_eq!(f.release_in("v1.3.0-rc.1-alpine"), None, "a pre-release");
    assert_eq!(
        f.release_in("v1.3-alpine"),
        None,
        "a rolling tag, not a release"
    );
    assert_eq!(f.release_in("x1.3.0-alpine"), None);
    let f = forms("api-1.2.3", "1.2.3");
    assert_eq!(f.release_in("api-2.0.0"), Some((2, 0, 0)));
    assert_eq!(f.release_in("api-"), None);
    assert_eq!(forms("v1.2.3", "1.2.3").release_in("v1.3.0-alpine"), None);
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
        decide("latest"),
        TagDecision::Held(
            "`v0.2.0-alpine` is a newer release, so `latest` stays where it is".into()
        )
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
