//! Tests of the publish outputs and step summaries.

use super::*;
use crate::meta::TagKind;
use crate::publish::execute::{FailedStep, TargetReport};
use crate::publish::plan::{Descriptor, Hold, Refusal, TagDecision, TagPlan, TargetPlan};
use crate::registry::{Digest, Repository};

fn report() -> Report {
    Report {
        digest: Digest::sha256(b"index"),
        media_type: "application/vnd.oci.image.index.v1+json".into(),
        platforms: vec!["linux/amd64".into(), "linux/arm64".into()],
        targets: vec![TargetReport {
            repo: Repository::parse("ghcr.io/octo/app").unwrap(),
            uploaded_blobs: 4,
            uploaded_bytes: 3 << 20,
            mounted_blobs: 1,
            present_blobs: 5,
            manifests_put: 2,
            image_present: false,
            referrers: Default::default(),
            tags: vec![
                ("v1.2.3".into(), TagKind::Release, TagOutcome::Pushed),
                (
                    "latest".into(),
                    TagKind::Rolling,
                    TagOutcome::Held(Hold::Newer {
                        tag: "latest".into(),
                        newer: "v1.3.0".into(),
                        release: true,
                    }),
                ),
            ],
        }],
        failures: vec![],
        stopped: None,
    }
}

#[test]
fn outputs_name_every_target() {
    let images = [
        ImageName::new_unchecked("ghcr.io/octo/app".into()),
        ImageName::new_unchecked("docker.io/octo/app".into()),
    ];
    let outputs = publish_outputs(&report(), &images);
    let digest = Digest::sha256(b"index").to_string();
    assert_eq!(outputs.get("digest"), Some(digest.as_str()));
    assert_eq!(
        outputs.get("refs"),
        Some(format!("ghcr.io/octo/app@{digest}\ndocker.io/octo/app@{digest}").as_str())
    );
}

#[test]
fn summary_shows_actions_and_bytes() {
    let md = publish_summary(&report());
    assert!(
        md.contains("| `ghcr.io/octo/app` | `v1.2.3` | pushed (release) |"),
        "{md}"
    );
    assert!(md.contains("held: `v1.3.0` is a newer release"), "{md}");
    assert!(
        md.contains("| `ghcr.io/octo/app` | 4 | 1 | 5 | 3.0 MiB | 2 |"),
        "{md}"
    );
    assert!(!md.contains("Not completed"));
}

#[test]
fn referrers_are_counted_per_target_and_absent_without_any() {
    assert!(!publish_summary(&report()).contains("Referrers"));
    let mut with = report();
    with.targets[0].referrers = crate::publish::referrers::ReferrerReport {
        copied: 3,
        present: 1,
        tags_pushed: 2,
        indexes_updated: 1,
        registered: 1,
        ..Default::default()
    };
    let md = publish_summary(&with);
    assert!(
        md.contains(
            "| `ghcr.io/octo/app` | 3 copied, 1 already there | 2 | 1 (1 registered by the registry) |"
        ),
        "{md}"
    );
}

/// `report()` with referrers at its target: two signatures copied (one registered by the
/// registry), an SBOM already there added to a fallback index, and an artifactType a hostile
/// source wrote.
fn with_referrers() -> Report {
    use crate::publish::referrers::TypeCounts;
    let mut with = report();
    let counts = |copied, present, api, index| TypeCounts {
        copied,
        present,
        api,
        index,
    };
    with.targets[0].referrers.copied = 3;
    with.targets[0].referrers.by_type = [
        ("application/vnd.dev.cosign.sig".into(), counts(2, 0, 1, 1)),
        ("application/spdx+json".into(), counts(0, 1, 0, 1)),
        ("x|`y`\n| z".into(), counts(1, 0, 0, 0)),
    ]
    .into_iter()
    .collect();
    with
}

#[test]
fn referrers_are_shown_by_artifact_type() {
    assert!(!publish_summary(&report()).contains("Artifact type"));
    let md = publish_summary(&with_referrers());
    assert!(
        md.contains("| `ghcr.io/octo/app` | `application/spdx+json` | 0 | 1 | 0 | 1 |\n| `ghcr.io/octo/app` | `application/vnd.dev.cosign.sig` | 2 | 0 | 1 | 1 |"),
        "{md}"
    );
    // A hostile artifactType stays in its cell: pipes escaped, no line break, fenced.
    assert!(
        md.contains("| `ghcr.io/octo/app` | ``x\\|`y` \\| z`` | 1 | 0 | 0 | 0 |"),
        "{md}"
    );
}

#[test]
fn referrer_outputs_count_by_artifact_type() {
    let images = [ImageName::new_unchecked("ghcr.io/octo/app".into())];
    let none = publish_outputs(&report(), &images);
    assert_eq!(none.get("referrers"), Some("[]"));
    assert_eq!(none.get("referrers-copied"), Some("0"));
    let outputs = publish_outputs(&with_referrers(), &images);
    assert_eq!(outputs.get("referrers-copied"), Some("3"));
    let json = outputs.get("referrers").unwrap();
    assert!(!json.contains('\n'), "one line: {json}");
    let rows: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 3);
    assert_eq!(
        rows[1],
        serde_json::json!({"image": "ghcr.io/octo/app", "artifactType": "application/vnd.dev.cosign.sig", "copied": 2, "present": 0, "api": 1, "index": 1})
    );
    assert_eq!(rows[2]["artifactType"], "x|`y`\n| z");
}

fn failure(step: FailedStep, message: &str, transient: bool) -> Failure {
    Failure {
        message: message.into(),
        step,
        transient,
    }
}

/// `report()` after its blob uploads to a read-only registry failed: six identical 405s, a
/// different one, and both tags not written.
fn failed_report(transient: bool) -> Report {
    let mut report = report();
    let status = if transient { "503" } else { "405" };
    let denied = format!(
        "ghcr.io/octo/app: blob upload: POST http://ghcr.io/v2/octo/app/blobs/uploads/: HTTP {status}"
    );
    report.failures = vec![failure(FailedStep::Blob, &denied, transient); 6];
    report.failures.push(failure(
        FailedStep::Manifest,
        "ghcr.io/octo/app: manifest sha256:1: HTTP 400",
        false,
    ));
    for (_, _, outcome) in &mut report.targets[0].tags {
        *outcome = TagOutcome::Skipped;
    }
    report
}

#[test]
fn an_incomplete_publish_says_so_and_names_the_tags_not_written() {
    let md = publish_summary(&failed_report(false));
    assert!(!md.contains("### Published"), "{md}");
    assert!(md.starts_with("### Publish incomplete: `sha256:"), "{md}");
    assert!(
        md.contains("**No tag was written**: publishing stopped before the tags."),
        "{md}"
    );
    assert!(
        md.contains("| `ghcr.io/octo/app` | `v1.2.3` | **not written** (an earlier step failed) |"),
        "{md}"
    );
}

#[test]
fn lasting_failures_are_stated_once_each_without_run_again_advice() {
    let md = publish_summary(&failed_report(false));
    let tail = &md[md.find("**Failed**").expect("a Failed section")..];
    insta::assert_snapshot!(tail, @r"
    **Failed**:

    - ghcr.io/octo/app: blob upload: POST <http://ghcr.io/v2/octo/app/blobs/uploads/>: HTTP 405 (6 blobs)
    - ghcr.io/octo/app: manifest sha256:1: HTTP 400
    ");
    assert!(!md.to_lowercase().contains("run again"), "{md}");
}

#[test]
fn temporary_failures_advise_running_again() {
    let md = publish_summary(&failed_report(true));
    assert!(
        md.contains("**Interrupted** by temporary errors (run again to finish"),
        "{md}"
    );
    assert_eq!(md.matches("HTTP 503").count(), 1, "{md}");
    assert!(md.contains("HTTP 503 (6 blobs)"), "{md}");
    let lasting = &md[md.find("**Failed**").expect("the 400 is not temporary")..];
    assert!(lasting.contains("HTTP 400"), "{md}");
}

#[test]
fn identical_failures_collapse_in_first_seen_order() {
    let a = failure(FailedStep::Blob, "a", false);
    let b = failure(FailedStep::Tag, "b", false);
    let a_tag = failure(FailedStep::Tag, "a", false);
    let lines = failure_lines([&a, &b, &a, &a_tag, &b, &a]);
    assert_eq!(lines, ["a (3 blobs)", "b (2 tags)", "a"]);
    assert_eq!(failure_lines(&[a]), ["a"]);
}

#[test]
fn a_refused_publish_names_each_refusal_and_that_nothing_was_written() {
    let refusals = [
        "127.0.0.1:5501/octo/app:v0.2.0: release tags are immutable and `v0.2.0` already points at sha256:a".to_string(),
        "127.0.0.1:5502/octo/app:v0.2.0: release tags are immutable <b>x</b>".to_string(),
    ];
    let md = refused_summary(&refusals);
    assert!(
        md.starts_with("### Publish refused: nothing was written\n\n"),
        "{md}"
    );
    assert!(
        md.contains("- 127.0.0.1:5501/octo/app:v0.2.0: release tags are immutable"),
        "{md}"
    );
    assert!(md.contains("- 127.0.0.1:5502/octo/app:v0.2.0:"), "{md}");
    assert!(!md.contains("<b>"), "escaped: {md}");
}

fn plan(tags: Vec<TagPlan>) -> Plan {
    let root = Descriptor::new(
        Digest::sha256(b"index"),
        500,
        "application/vnd.oci.image.index.v1+json",
    );
    Plan {
        root,
        platforms: vec!["linux/amd64".into()],
        targets: vec![TargetPlan {
            repo: Repository::parse("ghcr.io/octo/app").unwrap(),
            blobs: vec![],
            manifests: vec![],
            tags,
            root_by_digest: false,
            image_present: false,
            referrers: Default::default(),
        }],
        forms: Default::default(),
        refusals: Default::default(),
    }
}

#[test]
fn a_dry_run_summary_says_what_a_real_run_would_refuse() {
    let refused = TagPlan {
        name: "v1.2.3".into(),
        kind: TagKind::Release,
        decision: TagDecision::Refused(Refusal {
            tag: "v1.2.3".into(),
            existing: Digest::sha256(b"other"),
        }),
        version: None,
    };
    let md = plan_summary(&plan(vec![refused]));
    assert!(md.contains("dry run: nothing was written"), "{md}");
    assert!(
        md.contains(&format!("**A real run would be refused** (nothing would be written):\n\n- ghcr.io/octo/app:v1.2.3: release tags are immutable and \\`v1.2.3\\` already points at {}; publish a new version, or set \\`overwrite-releases: true\\`\n", Digest::sha256(b"other"))),
        "{md}"
    );
    let pushed = TagPlan {
        name: "v1.2.3".into(),
        kind: TagKind::Release,
        decision: TagDecision::Push,
        version: None,
    };
    assert!(!plan_summary(&plan(vec![pushed])).contains("refused"));
}

#[test]
fn a_publish_without_tags_says_it_went_by_digest_only() {
    let mut untagged = report();
    untagged.targets[0].tags.clear();
    let md = publish_summary(&untagged);
    assert!(
        md.contains("**No tag was computed**: the image was pushed by digest only (`sha256:"),
        "{md}"
    );
    assert!(!publish_summary(&report()).contains("No tag"));
    assert!(plan_summary(&plan(vec![])).contains("a real run would push the image by digest only"));
}

#[test]
fn a_publish_that_failed_at_a_rolling_tag_names_that_tag() {
    let mut report = report();
    report.targets[0].tags[1].2 = TagOutcome::Skipped;
    report.failures = vec![failure(
        FailedStep::Tag,
        "ghcr.io/octo/app:latest: PUT ...: HTTP 503",
        true,
    )];
    let md = publish_summary(&report);
    assert!(md.starts_with("### Publish incomplete:"), "{md}");
    assert!(
        md.contains(
            "**Not written**: `ghcr.io/octo/app:latest` (no tag moves past a failed step)."
        ),
        "{md}"
    );
    assert!(!md.contains("**Failed**"), "{md}");
    assert!(md.contains("**Interrupted**"), "{md}");
}

#[test]
fn a_repository_that_held_the_image_says_so_instead_of_counting_nothing() {
    let mut report = report();
    report.targets[0].image_present = true;
    let text = publish_summary(&report);
    assert!(text.contains("| the whole image |"), "{text}");
}

/// Issue 14, item 1: a cancelled run's summary says it was cancelled, what was written and what
/// was not; one stopped before its first write says nothing was written.
#[test]
fn a_stopped_publish_says_why_and_what_was_written() {
    let mut report = failed_report(true);
    report.stopped = Some(crate::registry::StopReason::Signal("SIGTERM"));
    let md = publish_summary(&report);
    assert!(md.contains("### Publish incomplete:"), "{md}");
    assert!(
        md.contains("**Cancelled** (SIGTERM): publishing stopped before it completed"),
        "{md}"
    );
    assert!(md.contains("**No tag was written**"), "{md}");
    assert!(md.contains("| Blobs uploaded |"), "{md}");

    report.stopped = Some(crate::registry::StopReason::Deadline(
        std::time::Duration::from_secs(3600),
    ));
    let md = publish_summary(&report);
    assert!(
        md.contains("**Time limit reached** (`timeout`: 1h)"),
        "{md}"
    );

    let early = stopped_summary(&crate::registry::StopReason::Signal("SIGINT"));
    assert!(
        early.starts_with("### Publish stopped: nothing was written\n\n**Cancelled** (SIGINT)"),
        "{early}"
    );
}
