//! Table tests of the publish plan: blob steps across targets, tag decisions, dry-run text.

use super::*;
use crate::meta::TagName;
use crate::publish::rolling::{Scope, scope_of};

fn d(name: &str, size: u64, media_type: &str) -> Descriptor {
    Descriptor::new(Digest::sha256(name.as_bytes()), size, media_type)
}

fn content() -> Content {
    Content {
        root: d("index", 500, "application/vnd.oci.image.index.v1+json"),
        manifests: vec![
            d("amd64", 400, "application/vnd.oci.image.manifest.v1+json"),
            d("arm64", 400, "application/vnd.oci.image.manifest.v1+json"),
        ],
        blobs: vec![
            d("base", 1 << 20, "layer"),
            d("top-amd64", 2 << 20, "layer"),
            d("top-arm64", 3 << 20, "layer"),
        ],
        platforms: vec!["linux/amd64".into(), "linux/arm64".into()],
        source_repo: None,
    }
}

fn repo(s: &str) -> Repository {
    Repository::parse(s).unwrap()
}

fn tag(name: &str, kind: TagKind, version: Option<&str>) -> ComputedTag {
    ComputedTag {
        name: TagName::new_unchecked(name.into()),
        kind,
        rule: "test".into(),
        version: version.map(String::from),
    }
}

fn release_tags(v: &str) -> Vec<ComputedTag> {
    let parts: Vec<&str> = v.split('.').collect();
    vec![
        tag("latest", TagKind::Rolling, Some(v)),
        tag(&format!("v{}", parts[0]), TagKind::Rolling, Some(v)),
        tag(
            &format!("v{}.{}", parts[0], parts[1]),
            TagKind::Rolling,
            Some(v),
        ),
        tag("main-abc1234", TagKind::Floating, None),
        tag(&format!("v{v}"), TagKind::Release, Some(v)),
    ]
}

fn empty_repo() -> Observed {
    Observed {
        tags: Some(BTreeSet::new()),
        ..Observed::default()
    }
}

fn with_tags(tags: &[&str]) -> Observed {
    Observed {
        tags: Some(tags.iter().map(|t| t.to_string()).collect()),
        ..Observed::default()
    }
}

fn decisions(target: &TargetPlan) -> Vec<(&str, &TagDecision)> {
    target
        .tags
        .iter()
        .map(|t| (t.name.as_str(), &t.decision))
        .collect()
}

#[test]
fn fresh_targets_on_two_registries_upload_everything_and_order_tags() {
    let p = plan(
        &content(),
        &[
            (repo("ghcr.io/o/app"), empty_repo()),
            (repo("docker.io/o/app"), empty_repo()),
        ],
        &release_tags("1.2.3"),
        &Options::default(),
    );
    for target in &p.targets {
        assert!(target.blobs.iter().all(|(_, s)| *s == BlobStep::Upload));
        assert!(
            target
                .manifests
                .iter()
                .all(|(_, s)| *s == ManifestStep::Put)
        );
        assert_eq!(
            target
                .tags
                .iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>(),
            ["v1.2.3", "main-abc1234", "latest", "v1", "v1.2"]
        );
        assert!(target.tags.iter().all(|t| t.decision == TagDecision::Push));
        assert_eq!(target.bytes_to_upload(), 6 << 20);
        assert!(!target.root_by_digest);
    }
}

#[test]
fn second_repository_on_a_registry_mounts_from_the_first() {
    let p = plan(
        &content(),
        &[
            (repo("ghcr.io/o/app"), empty_repo()),
            (repo("ghcr.io/o/app-mirror"), empty_repo()),
        ],
        &[],
        &Options::default(),
    );
    assert!(
        p.targets[0]
            .blobs
            .iter()
            .all(|(_, s)| *s == BlobStep::Upload)
    );
    assert!(p.targets[1].blobs.iter().all(|(_, s)| *s
        == BlobStep::Mount {
            from: repo("ghcr.io/o/app")
        }));
    assert_eq!(p.targets[1].bytes_to_upload(), 0);
    assert!(
        p.targets[0].root_by_digest,
        "no tags: the root is put by digest"
    );
}

#[test]
fn a_registry_source_is_mounted_from_on_its_own_registry() {
    let mut c = content();
    c.source_repo = Some(repo("ghcr.io/o/build"));
    let p = plan(
        &c,
        &[
            (repo("ghcr.io/o/app"), empty_repo()),
            (repo("docker.io/o/app"), empty_repo()),
        ],
        &[],
        &Options::default(),
    );
    assert!(p.targets[0].blobs.iter().all(|(_, s)| *s
        == BlobStep::Mount {
            from: repo("ghcr.io/o/build")
        }));
    assert!(
        p.targets[1]
            .blobs
            .iter()
            .all(|(_, s)| *s == BlobStep::Upload)
    );
}

#[test]
fn present_content_is_skipped_and_a_present_blob_serves_later_mounts() {
    let c = content();
    let partial = Observed {
        blobs_present: [c.blobs[0].digest.clone()].into(),
        manifests_present: [c.manifests[0].digest.clone()].into(),
        ..empty_repo()
    };
    let p = plan(
        &c,
        &[
            (repo("ghcr.io/o/app"), partial),
            (repo("ghcr.io/o/other"), empty_repo()),
        ],
        &[],
        &Options::default(),
    );
    let steps: Vec<&BlobStep> = p.targets[0].blobs.iter().map(|(_, s)| s).collect();
    assert_eq!(
        steps,
        [&BlobStep::Present, &BlobStep::Upload, &BlobStep::Upload]
    );
    assert_eq!(
        p.targets[0]
            .manifests
            .iter()
            .map(|(_, s)| *s)
            .collect::<Vec<_>>(),
        [ManifestStep::Present, ManifestStep::Put]
    );
    assert!(p.targets[1].blobs.iter().all(|(_, s)| *s
        == BlobStep::Mount {
            from: repo("ghcr.io/o/app")
        }));
    // Who reads each blob from the source: uploads and mounts (a refused mount uploads).
    assert_eq!(
        p.readers_of(&c.blobs[0].digest),
        1,
        "present on one, mounted on the other"
    );
    assert_eq!(p.readers_of(&c.blobs[1].digest), 2);
    assert_eq!(p.readers_of(&Digest::sha256(b"not in the image")), 0);
}

#[test]
fn an_image_already_there_costs_only_its_new_tags() {
    let c = content();
    let there = Observed {
        root_present: true,
        tag_digests: [("v1.2.3".to_string(), c.root.digest.clone())].into(),
        ..with_tags(&["v1.2.3", "v1.2", "v1", "latest"])
    };
    let p = plan(
        &c,
        &[(repo("ghcr.io/o/app"), there)],
        &release_tags("1.2.3"),
        &Options::default(),
    );
    let t = &p.targets[0];
    assert!(t.blobs.iter().all(|(_, s)| *s == BlobStep::Present));
    assert!(t.manifests.iter().all(|(_, s)| *s == ManifestStep::Present));
    assert_eq!(decisions(t)[0], ("v1.2.3", &TagDecision::Unchanged));
    assert!(t.tags[1..].iter().all(|x| x.decision == TagDecision::Push));
}

#[test]
fn a_promotion_names_the_digest_the_floating_tag_leaves() {
    let c = content();
    let before = Digest::sha256(b"the image stable pointed at");
    let there = Observed {
        root_present: true,
        tag_digests: [("stable".to_string(), before.clone())].into(),
        ..with_tags(&["stable", "v1.2.3"])
    };
    let tags = [tag("stable", TagKind::Floating, None)];
    let p = plan(
        &c,
        &[(repo("ghcr.io/o/app"), there)],
        &tags,
        &Options::default(),
    );
    assert_eq!(
        p.targets[0].tags[0].decision,
        TagDecision::Move(before.clone())
    );
    assert!(
        p.to_string().contains(&format!("move (was {before})")),
        "{p}"
    );
}

#[test]
fn a_release_tag_on_another_digest_is_refused_unless_overwriting() {
    let other = Digest::sha256(b"other build");
    let observed = Observed {
        tag_digests: [("v1.2.3".to_string(), other.clone())].into(),
        ..with_tags(&["v1.2.3"])
    };
    let targets = [(repo("ghcr.io/o/app"), observed)];
    let p = plan(
        &content(),
        &targets,
        &release_tags("1.2.3"),
        &Options::default(),
    );
    match &p.targets[0].tags[0].decision {
        TagDecision::Refused(why) => {
            let why = why.to_string();
            assert!(
                why.contains("immutable")
                    && why.contains(&other.to_string())
                    && why.contains("overwrite-releases"),
                "{why}"
            )
        }
        d => panic!("expected a refusal, got {d:?}"),
    }
    assert_eq!(p.refusals().len(), 1);
    assert!(
        p.refusals()[0]
            .to_string()
            .starts_with("ghcr.io/o/app:v1.2.3: ")
    );
    let p = plan(
        &content(),
        &targets,
        &release_tags("1.2.3"),
        &Options {
            overwrite_releases: true,
        },
    );
    assert_eq!(
        p.targets[0].tags[0].decision,
        TagDecision::Replace(other.clone())
    );
    assert!(p.refusals().is_empty());
    assert!(p.to_string().contains(&format!("replace (was {other})")));
}

#[test]
fn hotfix_after_a_newer_release_moves_only_its_own_minor() {
    let observed = with_tags(&[
        "v0.1.0",
        "v0.1",
        "v0.2.0",
        "v0.2",
        "v0",
        "latest",
        "main-1234567",
        "v0.3.0-rc.1",
    ]);
    let p = plan(
        &content(),
        &[(repo("ghcr.io/o/app"), observed)],
        &release_tags("0.1.1"),
        &Options::default(),
    );
    let got = decisions(&p.targets[0]);
    assert_eq!(got[0], ("v0.1.1", &TagDecision::Push));
    assert_eq!(got[1], ("main-abc1234", &TagDecision::Push));
    assert!(
        matches!(got[2], ("latest", TagDecision::Held(why)) if why.to_string().contains("`v0.2.0` is a newer release")),
        "{got:?}"
    );
    assert!(matches!(got[3], ("v0", TagDecision::Held(_))), "{got:?}");
    assert_eq!(got[4], ("v0.1", &TagDecision::Push));
}

#[test]
fn registries_decide_independently() {
    let ghcr = with_tags(&["v0.2.0"]);
    let hub = with_tags(&["v0.1.0"]);
    let p = plan(
        &content(),
        &[
            (repo("ghcr.io/o/app"), ghcr),
            (repo("docker.io/o/app"), hub),
        ],
        &release_tags("0.1.1"),
        &Options::default(),
    );
    assert!(matches!(
        p.targets[0].tags[2].decision,
        TagDecision::Held(_)
    ));
    assert_eq!(p.targets[1].tags[2].decision, TagDecision::Push);
}

#[test]
fn newer_prereleases_and_unparsable_tags_do_not_hold_rolling_tags() {
    let observed = with_tags(&["v2.0.0-beta.1", "nightly", "v1.10.0-rc.2", "release-9.9.9"]);
    let p = plan(
        &content(),
        &[(repo("ghcr.io/o/app"), observed)],
        &release_tags("1.9.0"),
        &Options::default(),
    );
    assert!(
        p.targets[0]
            .tags
            .iter()
            .all(|t| t.decision == TagDecision::Push),
        "{:?}",
        p.targets[0].tags
    );
}

#[test]
fn unknown_listing_holds_rolling_tags_and_versionless_rolling_tags_are_set() {
    let unknown = Observed {
        tags: None,
        ..Observed::default()
    };
    let p = plan(
        &content(),
        &[(repo("ghcr.io/o/app"), unknown.clone())],
        &release_tags("1.0.0"),
        &Options::default(),
    );
    assert!(
        matches!(&p.targets[0].tags[2].decision, TagDecision::Held(why) if why.to_string().contains("could not be listed"))
    );
    let p = plan(
        &content(),
        &[(repo("ghcr.io/o/app"), unknown)],
        &[tag("latest", TagKind::Rolling, None)],
        &Options::default(),
    );
    assert_eq!(p.targets[0].tags[0].decision, TagDecision::Push);
    let p = plan(
        &content(),
        &[(repo("ghcr.io/o/app"), empty_repo())],
        &[tag("latest", TagKind::Rolling, Some("1.0.0-rc.1"))],
        &Options::default(),
    );
    assert!(
        matches!(&p.targets[0].tags[0].decision, TagDecision::Held(why) if why.to_string().contains("pre-releases"))
    );
}

#[test]
fn scopes_follow_the_version_numbers_in_the_tag() {
    assert_eq!(scope_of("v1.2", 1, 2), Scope::Minor(1, 2));
    assert_eq!(scope_of("1.2-alpine", 1, 2), Scope::Minor(1, 2));
    assert_eq!(scope_of("v1", 1, 2), Scope::Major(1));
    assert_eq!(scope_of("latest", 1, 2), Scope::All);
    assert_eq!(scope_of("stable-latest", 1, 2), Scope::All);
}

#[test]
fn dry_run_text() {
    let observed = Observed {
        blobs_present: [content().blobs[0].digest.clone()].into(),
        ..with_tags(&["v0.2.0"])
    };
    let p = plan(
        &content(),
        &[
            (repo("ghcr.io/o/app"), observed),
            (repo("ghcr.io/o/app-dev"), empty_repo()),
        ],
        &release_tags("0.1.1")[..2],
        &Options::default(),
    );
    insta::assert_snapshot!(p.to_string(), @r"
    publish sha256:1bc04b5291c26a46d918139138b992d2de976d6851d0893b0476b85bfbdfc6e6 (application/vnd.oci.image.index.v1+json; linux/amd64, linux/arm64)
    ghcr.io/o/app
      blob     sha256:cae662172fd4    1.0 MiB  present
      blob     sha256:76b9080196e7    2.0 MiB  upload
      blob     sha256:289cc9dbc8b7    3.0 MiB  upload
      manifest sha256:5861314d7fcc      400 B  put
      manifest sha256:f69162950f23      400 B  put
      tag      latest                   rolling   held: `v0.2.0` is a newer release, so `latest` stays where it is
      tag      v0                       rolling   held: `v0.2.0` is a newer release, so `v0` stays where it is
      upload 5.0 MiB
    ghcr.io/o/app-dev
      blob     sha256:cae662172fd4    1.0 MiB  mount from o/app
      blob     sha256:76b9080196e7    2.0 MiB  mount from o/app
      blob     sha256:289cc9dbc8b7    3.0 MiB  mount from o/app
      manifest sha256:5861314d7fcc      400 B  put
      manifest sha256:f69162950f23      400 B  put
      tag      latest                   rolling   push
      tag      v0                       rolling   push
      upload 0 B
    ");
}

/// Issue 14: a refused run writes nothing on any target, so its dry run lists no blob upload,
/// mount or manifest put; it says the run is refused and where.
#[test]
fn issue_14_a_refused_dry_run_lists_no_write() {
    let other = Digest::sha256(b"other build");
    let refusing = Observed {
        tag_digests: [("v1.2.3".to_string(), other.clone())].into(),
        ..with_tags(&["v1.2.3"])
    };
    let p = plan(
        &content(),
        &[
            (repo("ghcr.io/o/app"), refusing),
            (repo("quay.io/o/app"), empty_repo()),
        ],
        &release_tags("1.2.3"),
        &Options::default(),
    );
    assert_eq!(p.refusals().len(), 1);
    let text = p.to_string();
    for write in ["  blob ", "  manifest ", "upload", "mount", " put", "push"] {
        assert!(!text.contains(write), "{write:?} in:\n{text}");
    }
    let why = format!(
        "REFUSED: release tags are immutable and `v1.2.3` already points at {other}; publish a new version, or set `overwrite-releases: true`"
    );
    insta::assert_snapshot!(text.replace(&why, "REFUSED: <why>"), @r"
    publish sha256:1bc04b5291c26a46d918139138b992d2de976d6851d0893b0476b85bfbdfc6e6 (application/vnd.oci.image.index.v1+json; linux/amd64, linux/arm64)
    REFUSED: a real run stops before its first write; nothing is sent to any target
    ghcr.io/o/app
      refused  nothing is written here: a tag below is refused
      tag      v1.2.3                   release   REFUSED: <why>
      tag      main-abc1234             floating  not written: the run is refused
      tag      latest                   rolling   not written: the run is refused
      tag      v1                       rolling   not written: the run is refused
      tag      v1.2                     rolling   not written: the run is refused
    quay.io/o/app
      refused  nothing is written here: the run is refused on ghcr.io/o/app
      tag      v1.2.3                   release   not written: the run is refused
      tag      main-abc1234             floating  not written: the run is refused
      tag      latest                   rolling   not written: the run is refused
      tag      v1                       rolling   not written: the run is refused
      tag      v1.2                     rolling   not written: the run is refused
    ");
}
