//! The sync plan without a network: repairs grouped by primary digest, one publish plan per
//! digest over all its tags and registries, per-tag refusals, steps in report order.

use super::*;
use crate::meta::TagKind;
use crate::publish::plan::{Content, Descriptor, Observed};
use crate::verify::Finding;
use std::collections::BTreeSet;

const INDEX: &str = "application/vnd.oci.image.index.v1+json";
const IMAGE: &str = "application/vnd.oci.image.manifest.v1+json";

fn digest(n: u8) -> Digest {
    Digest::sha256(&[n])
}

fn repo(name: &str) -> Repository {
    Repository {
        registry: "127.0.0.1:5000".into(),
        repository: name.into(),
    }
}

fn tag(name: &str, kind: TagKind) -> VerifyTag {
    VerifyTag {
        name: name.into(),
        kind,
        version: (kind == TagKind::Release).then(|| name.trim_start_matches('v').to_string()),
    }
}

fn finding(name: &str, d: Option<u8>, status: Status) -> Finding {
    Finding {
        repo: repo(name),
        digest: d.map(digest),
        status,
    }
}

fn report(tag: VerifyTag, findings: Vec<Finding>) -> TagReport {
    TagReport { tag, findings }
}

/// An index `root` with two children (20, 21) and two layers (30, 31).
fn content(root: u8) -> Content {
    Content {
        root: Descriptor::new(digest(root), 500, INDEX),
        manifests: vec![
            Descriptor::new(digest(20), 400, IMAGE),
            Descriptor::new(digest(21), 400, IMAGE),
        ],
        blobs: vec![
            Descriptor::new(digest(30), 1000, "layer"),
            Descriptor::new(digest(31), 2000, "layer"),
        ],
        platforms: vec!["linux/amd64".into(), "linux/arm64".into()],
        source_repo: Some(repo("a")),
    }
}

fn observation(root: u8, targets: Vec<(Repository, Observed)>) -> Observation {
    Observation {
        content: content(root),
        targets,
        found: Default::default(),
        held: Vec::new(),
    }
}

fn holding(root_present: bool, tags: &[(&str, u8)]) -> Observed {
    Observed {
        root_present,
        tags: Some(tags.iter().map(|(t, _)| t.to_string()).collect()),
        tag_digests: tags
            .iter()
            .map(|(t, d)| (t.to_string(), digest(*d)))
            .collect(),
        ..Observed::default()
    }
}

/// `edge` and `v1.0.0` on image 1, `main` on image 2, drifting in `b` and `c`.
fn reports() -> Vec<TagReport> {
    vec![
        report(
            tag("edge", TagKind::Floating),
            vec![
                finding("a", Some(1), Status::InSync),
                finding("b", None, Status::Missing),
                finding("c", Some(9), Status::Different),
            ],
        ),
        report(
            tag("v1.0.0", TagKind::Release),
            vec![
                finding("a", Some(1), Status::InSync),
                finding("b", Some(1), Status::InSync),
                finding("c", Some(9), Status::Different),
            ],
        ),
        report(
            tag("main", TagKind::Floating),
            vec![
                finding("a", Some(2), Status::InSync),
                finding("b", None, Status::Missing),
                finding("c", Some(2), Status::InSync),
            ],
        ),
    ]
}

fn observed() -> BTreeMap<Digest, Observation> {
    BTreeMap::from([
        (
            digest(1),
            observation(
                1,
                vec![
                    (repo("b"), holding(true, &[("v1.0.0", 1)])),
                    (repo("c"), holding(false, &[("v1.0.0", 9), ("edge", 9)])),
                ],
            ),
        ),
        (
            digest(2),
            observation(2, vec![(repo("b"), holding(false, &[]))]),
        ),
    ])
}

#[test]
fn one_repair_per_primary_digest_covers_all_its_drifting_tags_and_registries() {
    let got = repairs(&reports());
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].digest, digest(1));
    assert_eq!(got[0].primary, repo("a"));
    let names: Vec<&str> = got[0].tags.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["edge", "v1.0.0"]);
    assert_eq!(got[0].targets, [repo("b"), repo("c")]);
    assert!(got[0].recheck.is_empty());
    assert_eq!(got[1].digest, digest(2));
    assert_eq!(got[1].targets, [repo("b")]);
}

#[test]
fn steps_keep_report_order_and_a_refused_release_tag_does_not_stop_the_others() {
    let plan = plan_sync(&reports(), &observed(), &Options::default());
    assert_eq!(plan.images.len(), 2);
    assert_eq!(plan.images[0].plan.refusals, Refusals::PerTag);
    let steps: Vec<(&str, &str, Option<usize>, &StepPlan)> = plan
        .steps
        .iter()
        .map(|s| (s.tag.as_str(), s.repo.repository.as_str(), s.image, &s.what))
        .collect();
    let refused = StepPlan::Tag(TagDecision::Refused(Refusal {
        tag: "v1.0.0".into(),
        existing: digest(9),
    }));
    assert_eq!(
        steps,
        [
            ("edge", "b", Some(0), &StepPlan::Tag(TagDecision::Push)),
            (
                "edge",
                "c",
                Some(0),
                &StepPlan::Tag(TagDecision::Move(digest(9)))
            ),
            ("v1.0.0", "c", Some(0), &refused),
            ("main", "b", Some(1), &StepPlan::Tag(TagDecision::Push)),
        ]
    );
    // The one plan of image 1 covers both registries; `b` holds the image, `c` gets it whole.
    let image = &plan.images[0].plan;
    assert_eq!(image.targets.len(), 2);
    assert!(image.targets[0].image_present);
    assert_eq!(image.targets[1].manifests.len(), 2);
    // The dry run: per image its source and tags, the refusal per tag, no stop of the run.
    let text = plan.to_string();
    assert!(
        text.contains(&format!(
            "sync from 127.0.0.1:5000/a@{} (edge, v1.0.0)",
            digest(1)
        )),
        "{text}"
    );
    assert!(
        text.contains("REFUSED: release tags are immutable"),
        "{text}"
    );
    assert!(!text.contains("a real run stops"), "{text}");
    assert!(text.contains("upload"), "{text}");
    // Allowed to overwrite, the release tag is replaced.
    let overwrite = Options {
        overwrite_releases: true,
    };
    let plan = plan_sync(&reports(), &observed(), &overwrite);
    assert_eq!(
        plan.steps[2].what,
        StepPlan::Tag(TagDecision::Replace(digest(9)))
    );
}

#[test]
fn an_incomplete_copy_plans_exactly_the_parts_it_lacks() {
    let reports = [report(
        tag("edge", TagKind::Floating),
        vec![
            finding("a", Some(1), Status::InSync),
            finding(
                "b",
                Some(1),
                Status::Incomplete {
                    missing: vec![digest(21)],
                },
            ),
        ],
    )];
    assert_eq!(repairs(&reports)[0].recheck, [repo("b")]);
    let lacking = Observed {
        manifests_present: BTreeSet::from([digest(20)]),
        blobs_present: BTreeSet::from([digest(30)]),
        ..holding(false, &[("edge", 1)])
    };
    let observed = BTreeMap::from([(digest(1), observation(1, vec![(repo("b"), lacking)]))]);
    let plan = plan_sync(&reports, &observed, &Options::default());
    assert_eq!(
        plan.steps[0].what,
        StepPlan::Complete {
            manifests: vec![digest(21)],
            blobs: vec![digest(31)],
        }
    );
}

#[test]
fn a_drifting_primary_is_skipped_and_an_unobserved_image_is_said_so() {
    let reports = [
        report(
            tag("gone", TagKind::Floating),
            vec![
                finding("a", None, Status::Missing),
                finding("b", Some(3), Status::Different),
            ],
        ),
        report(
            tag("edge", TagKind::Floating),
            vec![
                finding("a", Some(1), Status::InSync),
                finding("b", None, Status::Missing),
            ],
        ),
    ];
    assert_eq!(
        repairs(&reports).len(),
        1,
        "nothing to copy from for `gone`"
    );
    let plan = plan_sync(&reports, &BTreeMap::new(), &Options::default());
    assert!(plan.images.is_empty());
    assert_eq!(
        plan.steps[0].what,
        StepPlan::Skipped {
            primary: repo("a"),
            status: Status::Missing,
        }
    );
    assert_eq!(plan.steps[0].digest, None);
    assert_eq!(plan.steps[1].what, StepPlan::Unobserved);
    assert_eq!(plan.steps[1].digest, Some(digest(1)));
    assert!(
        plan.to_string()
            .contains("skip gone in 127.0.0.1:5000/b: missing in the primary 127.0.0.1:5000/a"),
        "{plan}"
    );
}

/// A signature (an artifact with one layer) of `subject`, as discovery finds it.
fn signature_of(subject: &Digest) -> crate::oci::referrer::Referrers {
    use crate::oci::referrer::{Entry, Listed, Referrers};
    use crate::oci::{ImageGraph, Node, RawManifest};
    let bytes = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": IMAGE,
        "artifactType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": Digest::sha256(b"{}").to_string(), "size": 2},
        "layers": [{"mediaType": "text/plain", "digest": digest(40).to_string(), "size": 9}],
        "subject": {"mediaType": INDEX, "digest": subject.to_string(), "size": 500},
    }))
    .unwrap();
    let raw = RawManifest {
        digest: Digest::sha256(&bytes),
        media_type: IMAGE.into(),
        bytes: bytes.into(),
    };
    let node = Node::parse::<crate::registry::Error>(raw, None).unwrap();
    let sig = node.manifest.digest.clone();
    let graph = ImageGraph {
        blobs: node.parsed.blobs.clone(),
        root: node.clone(),
        manifests: vec![node],
        platforms: Vec::new(),
    };
    let entry = Entry {
        digest: sig.clone(),
        json: serde_json::json!({"digest": sig.to_string()}),
    };
    Referrers {
        listed: vec![Listed {
            subject: subject.clone(),
            entry,
        }],
        tags: Vec::new(),
        graphs: BTreeMap::from([(sig.clone(), graph)]),
        order: vec![sig],
    }
}

#[test]
fn missing_referrers_plan_their_copy_and_fallback_index() {
    let reports = [report(
        tag("edge", TagKind::Floating),
        vec![
            finding("a", Some(1), Status::InSync),
            finding(
                "b",
                Some(1),
                Status::ReferrersMissing {
                    missing: Vec::new(),
                },
            ),
        ],
    )];
    let found = signature_of(&digest(1));
    let sig = found.order[0].clone();
    let observation = Observation {
        found,
        held: vec![Default::default()],
        ..observation(1, vec![(repo("b"), holding(true, &[("edge", 1)]))])
    };
    let observed = BTreeMap::from([(digest(1), observation)]);
    let plan = plan_sync(&reports, &observed, &Options::default());
    assert_eq!(
        plan.steps[0].what,
        StepPlan::Referrers {
            copy: vec![sig.clone()],
            tags: Vec::new(),
            indexes: vec![format!("sha256-{}", digest(1).hex())],
        }
    );
    let text = plan.to_string();
    assert!(
        text.contains(&format!(
            "referrer {sig} application/vnd.dev.sigstore.bundle.v0.3+json  copy"
        )),
        "{text}"
    );
    assert!(text.contains("image    already there"), "{text}");
    assert!(text.contains("tag      edge"), "{text}");
    assert!(text.contains("unchanged"), "{text}");
}
