//! Verify's rendering: the summary table, the `report` JSON, the log lines.
use super::*;
use crate::meta::TagKind;
use crate::publish::plan::{Hold, Refusal};
use crate::registry::Repository;
use crate::verify::tags::VerifyTag;
use std::collections::BTreeMap;

fn repo(registry: &str) -> Repository {
    Repository {
        registry: registry.into(),
        repository: "octo/app".into(),
    }
}

fn finding(registry: &str, d: Option<u8>, status: Status) -> Finding {
    Finding {
        repo: repo(registry),
        digest: d.map(|n| Digest::sha256(&[n])),
        status,
    }
}

fn reports() -> Vec<TagReport> {
    let tag = |name: &str, kind| VerifyTag {
        name: name.into(),
        kind,
        version: None,
    };
    vec![
        TagReport {
            tag: tag("v1.2.3", TagKind::Release),
            findings: vec![
                finding("ghcr.io", Some(1), Status::InSync),
                finding("docker.io", Some(2), Status::Different),
            ],
        },
        TagReport {
            tag: tag("edge", TagKind::Floating),
            findings: vec![
                finding("ghcr.io", Some(1), Status::InSync),
                finding(
                    "docker.io",
                    Some(1),
                    Status::Incomplete {
                        missing: vec![Digest::sha256(&[9])],
                    },
                ),
            ],
        },
        TagReport {
            tag: tag("x|`y`", TagKind::Floating),
            findings: vec![
                finding("ghcr.io", Some(1), Status::InSync),
                finding("docker.io", None, Status::Missing),
            ],
        },
    ]
}

fn steps() -> Vec<Step> {
    vec![
        Step {
            tag: "v1.2.3".into(),
            repo: repo("docker.io"),
            digest: Some(Digest::sha256(&[1])),
            action: Action::Refused(Refusal {
                tag: "v1.2.3".into(),
                existing: Digest::sha256(&[2]),
            }),
        },
        Step {
            tag: "edge".into(),
            repo: repo("docker.io"),
            digest: Some(Digest::sha256(&[1])),
            action: Action::Repaired,
        },
    ]
}

#[test]
fn summary_table_highlights_drift() {
    insta::assert_snapshot!(verify_summary(
        &reports(),
        Some(&steps()),
        &ReferrerReads::default()
    ));
}

#[test]
fn headline_counts_in_words() {
    let all = reports();
    let in_sync = |r: &TagReport| TagReport {
        tag: r.tag.clone(),
        findings: vec![finding("ghcr.io", Some(1), Status::InSync)],
    };
    let gone = |r: &TagReport| TagReport {
        tag: r.tag.clone(),
        findings: vec![
            finding("ghcr.io", None, Status::Missing),
            finding("docker.io", None, Status::Missing),
        ],
    };
    assert_eq!(headline(&[]), "No tags to verify.\n");
    assert_eq!(headline(&[in_sync(&all[0])]), "The tag is in sync.\n");
    assert_eq!(
        headline(&[in_sync(&all[0]), in_sync(&all[1])]),
        "All 2 tags are in sync.\n"
    );
    assert_eq!(headline(&all[..1]), "**1 of 1 tag drifts.**\n");
    assert_eq!(
        headline(&[all[0].clone(), in_sync(&all[1])]),
        "**1 of 2 tags drifts.**\n"
    );
    assert_eq!(headline(&all), "**3 of 3 tags drift.**\n");
    assert_eq!(
        headline(&[gone(&all[0])]),
        "**1 of 1 tag is missing from every registry.**\n"
    );
    assert_eq!(
        headline(&[all[0].clone(), gone(&all[1]), gone(&all[2])]),
        "**1 of 3 tags drifts.** **2 of 3 tags are missing from every registry.**\n"
    );
}

#[test]
fn report_is_json_with_every_finding() {
    let json: Value = serde_json::from_str(&report_json(
        &reports(),
        Some(&steps()),
        &ReferrerReads::default(),
    ))
    .expect("valid JSON");
    insta::assert_snapshot!(serde_json::to_string_pretty(&json).unwrap_or_default());
    let none: Value = serde_json::from_str(&report_json(&[], None, &ReferrerReads::default()))
        .expect("valid JSON");
    assert_eq!(none, serde_json::json!({"in-sync": true, "tags": []}));
}

/// `sync v0.2 -> ...: repaired` ends where its words end.
#[test]
fn sync_lines_have_no_trailing_space() {
    let step = |action| Step {
        tag: "v0.2".into(),
        repo: Repository::parse("127.0.0.1:5000/b").unwrap(),
        digest: None,
        action,
    };
    assert_eq!(
        sync_line(&step(Action::Repaired)),
        "sync v0.2 -> 127.0.0.1:5000/b: repaired"
    );
    let newer = Hold::Newer {
        tag: "v0.2".into(),
        newer: "v0.2.1".into(),
        release: true,
    };
    assert_eq!(
        sync_line(&step(Action::Held(newer))),
        "sync v0.2 -> 127.0.0.1:5000/b: held `v0.2.1` is a newer release, so `v0.2` stays where it is"
    );
}

#[test]
fn missing_referrers_are_named_escaped_and_their_reads_counted() {
    let hostile = Referrer {
        subject: Digest::sha256(&[1]),
        digest: Digest::sha256(&[50]),
        artifact_type: Some("x\n::error::pwned".into()),
        tag: None,
    };
    let tagged = Referrer {
        subject: Digest::sha256(&[10]),
        digest: Digest::sha256(&[60]),
        artifact_type: None,
        tag: Some("sha256-abc.sig".into()),
    };
    let status = Status::ReferrersMissing {
        missing: vec![hostile.clone(), tagged],
    };
    let reports = vec![TagReport {
        tag: VerifyTag {
            name: "v1".into(),
            kind: TagKind::Release,
            version: Some("1".into()),
        },
        findings: vec![
            finding("ghcr.io", Some(1), Status::InSync),
            finding("docker.io", Some(1), status),
        ],
    }];
    let lines = missing_referrer_lines(&reports[0].findings[1]);
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|l| !l.contains('\n')), "{lines:?}");
    assert!(lines[0].starts_with("missing referrer x"), "{lines:?}");
    assert!(lines[0].contains(&hostile.digest.to_string()), "{lines:?}");
    assert!(
        lines[1].starts_with("missing referrer tag sha256-abc.sig "),
        "{lines:?}"
    );
    let reads = ReferrerReads(BTreeMap::from([
        ("docker.io".to_string(), 3),
        ("ghcr.io".to_string(), 4),
    ]));
    let md = verify_summary(&reports, None, &reads);
    assert!(md.contains("**referrers-missing** (2 missing)"), "{md}");
    assert!(md.contains("#### Missing referrers"), "{md}");
    assert!(md.contains(&hostile.digest.to_string()), "{md}");
    assert!(!md.contains("\n::error"), "{md}");
    assert!(
        md.contains("Referrers compared with 7 extra reads (`docker.io`: 3, `ghcr.io`: 4)."),
        "{md}"
    );
    let json: Value = serde_json::from_str(&report_json(&reports, None, &reads)).expect("JSON");
    let missing = &json["tags"][0]["registries"][1]["missing-referrers"];
    assert_eq!(missing[0]["artifactType"], "x\n::error::pwned");
    assert_eq!(missing[1]["tag"], "sha256-abc.sig");
    assert_eq!(json["referrer-reads"]["ghcr.io"], 4);
    assert_eq!(json["in-sync"], false);
}
