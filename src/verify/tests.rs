//! The pure core of verify: `compare` over every combination of observed states, the primary's
//! own status, and which tags are checked as what.

use super::tags::{ALL, Selection, VerifyTag, classify, select};
use super::verdict::Verdict;
use super::*;
use crate::meta::{ComputedTag, TagKind, TagName};

fn digest(n: u8) -> Digest {
    Digest::sha256(&[n])
}

fn repo(name: &str) -> Repository {
    Repository {
        registry: "127.0.0.1:5000".into(),
        repository: name.into(),
    }
}

fn state(d: Option<u8>, children: &[(u8, bool)]) -> TagState {
    TagState {
        digest: d.map(digest),
        children: children.iter().map(|(c, p)| (digest(*c), *p)).collect(),
        referrers: Vec::new(),
    }
}

#[test]
fn the_module_table_row_by_row() {
    let primary = state(Some(1), &[(10, true), (11, true)]);
    let rows = [
        (state(Some(1), &[(10, true), (11, true)]), Status::InSync),
        (
            state(Some(1), &[(10, true), (11, false)]),
            Status::Incomplete {
                missing: vec![digest(11)],
            },
        ),
        (state(Some(2), &[]), Status::Different),
        (state(None, &[]), Status::Missing),
    ];
    for (other, expected) in rows {
        let found = compare(&primary, &[(repo("b"), other.clone())]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].status, expected, "{other:?}");
        assert_eq!(found[0].digest, other.digest);
        assert_eq!(found[0].repo, repo("b"));
    }
    let absent = state(None, &[]);
    assert_eq!(
        compare(&absent, &[(repo("b"), state(None, &[]))])[0].status,
        Status::Missing
    );
    assert_eq!(
        compare(&absent, &[(repo("b"), state(Some(2), &[]))])[0].status,
        Status::Different
    );
}

/// Every combination of primary digest, other digest and each of two children being present,
/// absent or unchecked in each registry, against the rule stated independently.
#[test]
fn compare_is_exhaustively_the_rule() {
    let digests = [None, Some(1u8), Some(2u8)];
    // 0: unchecked, 1: present, 2: absent
    let child_states = [0u8, 1, 2];
    let mut cases = 0;
    for p in digests {
        for o in digests {
            for pc in itertools(&child_states) {
                for oc in itertools(&child_states) {
                    let build = |d: Option<u8>, cs: [u8; 2]| TagState {
                        digest: d.map(digest),
                        children: cs
                            .iter()
                            .enumerate()
                            .filter(|(_, s)| **s != 0)
                            .map(|(i, s)| (digest(10 + i as u8), *s == 1))
                            .collect(),
                        referrers: Vec::new(),
                    };
                    let primary = build(p, pc);
                    let other = build(o, oc);
                    let got = compare(&primary, &[(repo("b"), other.clone())]);
                    let expected = match (p, o) {
                        (None, None) => Status::Missing,
                        (None, Some(_)) | (Some(_), Some(_)) if p != o => Status::Different,
                        (Some(_), None) => Status::Missing,
                        _ => {
                            // Children the primary knows of (checked there) must be present here.
                            let missing: Vec<Digest> = (0..2)
                                .filter(|i| pc[*i] != 0 && oc[*i] != 1)
                                .map(|i| digest(10 + i as u8))
                                .collect();
                            if missing.is_empty() {
                                Status::InSync
                            } else {
                                Status::Incomplete { missing }
                            }
                        }
                    };
                    assert_eq!(got[0].status, expected, "{primary:?} vs {other:?}");
                    let own = primary_status(&primary);
                    let own_expected = match p {
                        None => Status::Missing,
                        Some(_) => {
                            let missing: Vec<Digest> = (0..2)
                                .filter(|i| pc[*i] == 2)
                                .map(|i| digest(10 + i as u8))
                                .collect();
                            if missing.is_empty() {
                                Status::InSync
                            } else {
                                Status::Incomplete { missing }
                            }
                        }
                    };
                    assert_eq!(own, own_expected, "{primary:?}");
                    cases += 1;
                }
            }
        }
    }
    assert_eq!(cases, 3 * 3 * 9 * 9);
}

fn itertools(states: &[u8; 3]) -> Vec<[u8; 2]> {
    states
        .iter()
        .flat_map(|a| states.iter().map(move |b| [*a, *b]))
        .collect()
}

#[test]
fn findings_keep_the_order_of_images() {
    let primary = state(Some(1), &[]);
    let others = [
        (repo("b"), state(None, &[])),
        (repo("c"), state(Some(1), &[])),
        (repo("d"), state(Some(3), &[])),
    ];
    let found = compare(&primary, &others);
    let names: Vec<(&str, &str)> = found
        .iter()
        .map(|f| (f.repo.repository.as_str(), f.status.name()))
        .collect();
    assert_eq!(
        names,
        [("b", "missing"), ("c", "in-sync"), ("d", "different")]
    );
    let tag = VerifyTag {
        name: "edge".into(),
        kind: TagKind::Floating,
        version: None,
    };
    let report = assess(tag, (&repo("a"), &primary), &others);
    assert_eq!(report.findings.len(), 4);
    assert_eq!(report.findings[0].repo, repo("a"));
    assert!(report.drift());
}

#[test]
fn one_image_checks_its_own_indexes() {
    let tag = VerifyTag {
        name: "v1".into(),
        kind: TagKind::Rolling,
        version: Some("1.0.0".into()),
    };
    let whole = assess(
        tag.clone(),
        (&repo("a"), &state(Some(1), &[(10, true)])),
        &[],
    );
    assert!(!whole.drift());
    let broken = assess(tag, (&repo("a"), &state(Some(1), &[(10, false)])), &[]);
    assert_eq!(
        broken.findings[0].status,
        Status::Incomplete {
            missing: vec![digest(10)]
        }
    );
}

fn computed(name: &str, kind: TagKind) -> ComputedTag {
    ComputedTag {
        name: TagName::new_unchecked(name.into()),
        kind,
        rule: "type=raw".into(),
        version: None,
    }
}

#[test]
fn selection_follows_the_table() {
    let rules = [computed("edge", TagKind::Floating)];
    assert_eq!(
        select(&["v1".into()], &rules),
        Selection::Listed(vec!["v1".into()])
    );
    assert_eq!(select(&[ALL.into()], &rules), Selection::All);
    assert_eq!(select(&[], &rules), Selection::Computed(rules.to_vec()));
    assert_eq!(select(&[], &[]), Selection::All);
}

#[test]
fn named_tags_are_classified_by_name_and_digest() {
    let tags: BTreeMap<String, Option<Digest>> = [
        ("v1.2.3", Some(1)),
        ("v1.3.0", Some(2)),
        ("v1.3.0-rc.1", Some(3)),
        ("latest", Some(2)),
        ("v1.2", Some(1)),
        ("next", Some(3)),
        ("edge", Some(4)),
        ("main", Some(2)),
        ("v1", Some(2)),
        ("v2", Some(2)),
        ("latest-alpine", Some(1)),
        ("gone", None),
    ]
    .into_iter()
    .map(|(n, d)| (n.to_string(), d.map(digest)))
    .collect();
    let got: Vec<(String, TagKind, Option<String>)> = classify(&tags)
        .into_iter()
        .map(|t| (t.name, t.kind, t.version))
        .collect();
    let want = |n: &str, k, v: Option<&str>| (n.to_string(), k, v.map(str::to_string));
    assert_eq!(
        got,
        [
            want("edge", TagKind::Floating, None),
            want("gone", TagKind::Floating, None),
            want("latest", TagKind::Rolling, Some("1.3.0")),
            want("latest-alpine", TagKind::Rolling, Some("1.2.3")),
            // On a release's digest, but not shaped like its rolling tag.
            want("main", TagKind::Floating, None),
            // A pre-release gives no rolling tag.
            want("next", TagKind::Floating, None),
            want("v1", TagKind::Rolling, Some("1.3.0")),
            want("v1.2", TagKind::Rolling, Some("1.2.3")),
            want("v1.2.3", TagKind::Release, Some("1.2.3")),
            want("v1.3.0", TagKind::Release, Some("1.3.0")),
            want("v1.3.0-rc.1", TagKind::Release, Some("1.3.0-rc.1")),
            want("v2", TagKind::Floating, None),
        ]
    );
}

fn tag(name: &str) -> VerifyTag {
    VerifyTag {
        name: name.into(),
        kind: TagKind::Floating,
        version: None,
    }
}

/// Regression: a tag no registry has was `missing` in the primary but `in-sync` in the copy,
/// and the run failed with "the registries drift".
#[test]
fn a_tag_no_registry_has_is_missing_everywhere_not_drift() {
    let absent = state(None, &[]);
    let report = assess(
        tag("v9.9.9"),
        (&repo("a"), &absent),
        &[(repo("b"), absent.clone()), (repo("c"), absent.clone())],
    );
    let statuses: Vec<&str> = report.findings.iter().map(|f| f.status.name()).collect();
    assert_eq!(statuses, ["missing", "missing", "missing"]);
    assert!(report.missing_everywhere());

    let copy_only = assess(
        tag("v9.9.9"),
        (&repo("a"), &absent),
        &[(repo("b"), state(Some(1), &[]))],
    );
    assert!(!copy_only.missing_everywhere() && copy_only.drift());

    let verdict = Verdict::of(&[report.clone(), copy_only]);
    assert_eq!(verdict.missing_everywhere, ["v9.9.9"]);
    assert_eq!(
        verdict.drift,
        [
            "  127.0.0.1:5000/a:v9.9.9 missing",
            "  127.0.0.1:5000/b:v9.9.9 different"
        ]
    );
    let shown = Verdict::of(std::slice::from_ref(&report))
        .failure(true, true, false)
        .expect("fails")
        .to_string();
    assert_eq!(shown, "tag `v9.9.9` is missing from every registry");
    assert!(!shown.contains("drift"), "{shown}");
}

#[test]
fn the_verdict_table_row_by_row() {
    let in_sync = assess(tag("a"), (&repo("a"), &state(Some(1), &[])), &[]);
    let drifting = assess(
        tag("b"),
        (&repo("a"), &state(Some(1), &[])),
        &[(repo("b"), state(None, &[]))],
    );
    let gone = assess(
        tag("c"),
        (&repo("a"), &state(None, &[])),
        &[(repo("b"), state(None, &[]))],
    );
    let failure = |reports: &[TagReport], listed, fail_on_drift| {
        Verdict::of(reports)
            .failure(listed, fail_on_drift, false)
            .map(|e| e.to_string())
    };
    assert!(Verdict::of(std::slice::from_ref(&in_sync)).in_sync());
    assert_eq!(failure(std::slice::from_ref(&in_sync), true, true), None);
    let drift = failure(std::slice::from_ref(&drifting), false, true).expect("drift fails");
    assert!(drift.starts_with("the registries drift:"), "{drift}");
    assert_eq!(failure(std::slice::from_ref(&drifting), false, false), None);
    // Named in `verify-tags` and nowhere: fails even when drift may pass.
    let listed = failure(std::slice::from_ref(&gone), true, false).expect("fails");
    assert_eq!(listed, "tag `c` is missing from every registry");
    assert_eq!(failure(std::slice::from_ref(&gone), false, false), None);
    assert!(failure(std::slice::from_ref(&gone), false, true).is_some());
    assert!(!Verdict::of(std::slice::from_ref(&gone)).in_sync());
    // Both at once: one message with both.
    let both = failure(
        &[gone.clone(), tag_report_renamed(&gone, "d"), drifting],
        true,
        true,
    )
    .expect("fails");
    assert!(
        both.starts_with("tags `c`, `d` are missing from every registry, and the registries drift:\n  127.0.0.1:5000/b:b missing"),
        "{both}"
    );
}

fn tag_report_renamed(report: &TagReport, name: &str) -> TagReport {
    TagReport {
        tag: tag(name),
        findings: report.findings.clone(),
    }
}
