//! Table tests of the tag engine against docker/metadata-action's documented behaviour.

use super::*;
use crate::context::{Context, RepoInfo};
use crate::lines::input_lines;

const SHA: &str = "860c1904a1ce19322e91ac35af1ab07466440c37";

fn ctx(event: &str, git_ref: &str) -> Context {
    Context {
        event_name: event.into(),
        git_ref: git_ref.into(),
        sha: SHA.into(),
        default_branch: Some("master".into()),
        repo: RepoInfo {
            name: "Hello-World".into(),
            description: "This your first repo!".into(),
            html_url: "https://github.com/octocat/Hello-World".into(),
            license: "MIT".into(),
        },
        push_base_ref: None,
        pr_base_ref: None,
        commit_date: Some("2020-01-09T22:00:00Z".parse().unwrap()),
        ..Context::default()
    }
}

fn now() -> jiff::Timestamp {
    "2020-01-10T00:30:00Z".parse().unwrap()
}

fn meta_with(
    ctx: &Context,
    images: &str,
    tags: &str,
    flavor: &str,
    switches: &Switches,
) -> Result<Meta, MetaError> {
    let inputs = TagInputs {
        images: input_lines(images),
        tags: input_lines(tags),
        flavor: input_lines(flavor),
        labels: vec![],
        annotations: vec![],
    };
    compute(ctx, &inputs, switches, now())
}

fn meta(ctx: &Context, tags: &str, flavor: &str) -> Meta {
    meta_with(ctx, "", tags, flavor, &Switches::default()).unwrap()
}

/// Tag names in output order.
fn names(ctx: &Context, tags: &str) -> Vec<String> {
    names_flavor(ctx, tags, "")
}

fn names_flavor(ctx: &Context, tags: &str, flavor: &str) -> Vec<String> {
    meta(ctx, tags, flavor)
        .tags
        .iter()
        .map(|t| t.name.to_string())
        .collect()
}

fn push_tag(tag: &str) -> Context {
    ctx("push", &format!("refs/tags/{tag}"))
}

#[test]
fn semver_patterns_on_a_release_tag() {
    let c = push_tag("v1.2.3");
    let cases = [
        ("{{raw}}", "v1.2.3"),
        ("{{version}}", "1.2.3"),
        ("{{major}}.{{minor}}", "1.2"),
        ("v{{major}}", "v1"),
        ("{{minor}}", "2"),
        ("{{patch}}", "3"),
        ("{{major}}.{{minor}}.{{patch}}", "1.2.3"),
    ];
    for (pattern, expected) in cases {
        assert_eq!(
            names(&c, &format!("type=semver,pattern={pattern}")),
            [expected, "latest"],
            "{pattern}"
        );
    }
}

#[test]
fn semver_prereleases_only_get_their_full_version() {
    let c = push_tag("v2.0.8-beta.67");
    for (pattern, expected) in [
        ("{{raw}}", "v2.0.8-beta.67"),
        ("{{version}}", "2.0.8-beta.67"),
        ("{{major}}", "2.0.8-beta.67"),
        ("{{major}}.{{minor}}", "2.0.8-beta.67"),
    ] {
        assert_eq!(
            names(&c, &format!("type=semver,pattern={pattern}")),
            [expected],
            "{pattern}"
        );
    }
    let m = meta(
        &c,
        "type=semver,pattern={{version}}\ntype=semver,pattern={{major}}.{{minor}}",
        "",
    );
    assert_eq!(m.tags.len(), 1);
    assert_eq!(m.tags[0].kind, TagKind::Release);
}

#[test]
fn semver_build_metadata_and_match_and_value() {
    assert_eq!(
        names(
            &push_tag("v9.5.7-alpha.2+fork.3.1.8"),
            "type=semver,pattern={{version}}"
        ),
        ["9.5.7-alpha.2"]
    );
    assert_eq!(
        names(&push_tag("v1.1.1+build"), "type=semver,pattern={{raw}}"),
        ["v1.1.1-build", "latest"]
    );
    let c = push_tag("p1/v1.2.3");
    assert_eq!(
        names(&c, r"type=semver,pattern={{version}},match=v(\d.\d.\d)$"),
        ["1.2.3", "latest"]
    );
    let branch = ctx("push", "refs/heads/master");
    assert_eq!(
        names(&branch, "type=semver,pattern={{version}},value=v1.0.0"),
        ["1.0.0", "latest"]
    );
    assert_eq!(
        names(&branch, "type=semver,pattern={{version}}"),
        Vec::<String>::new()
    );
}

#[test]
fn invalid_versions_are_skipped_with_a_warning() {
    let m = meta(
        &push_tag("release1"),
        "type=semver,pattern={{version}}\ntype=pep440,pattern={{version}}",
        "",
    );
    assert!(m.tags.is_empty());
    assert!(
        m.warnings
            .iter()
            .any(|w| w.contains("`release1` is not a valid semver")),
        "{:?}",
        m.warnings
    );
    assert!(
        m.warnings
            .iter()
            .any(|w| w.contains("does not conform to PEP 440"))
    );
}

#[test]
fn pep440_documentation_table() {
    let cases = [
        ("1.2.3", "{{raw}}", "1.2.3", true),
        ("1.2.3", "{{version}}", "1.2.3", true),
        ("v1.2.3", "{{version}}", "1.2.3", true),
        ("1.2.3", "{{major}}.{{minor}}", "1.2", true),
        ("1.2.3", "v{{major}}", "v1", true),
        ("v1.2.3rc2", "{{raw}}", "v1.2.3rc2", false),
        ("1.2.3rc2", "{{version}}", "1.2.3rc2", false),
        ("1.2.3rc2", "{{major}}.{{minor}}", "1.2.3rc2", false),
        ("1.2.3post1", "{{major}}.{{minor}}", "1.2.3.post1", false),
        ("1.2.3beta2", "{{major}}.{{minor}}", "1.2.3b2", false),
        ("1.0dev4", "{{major}}.{{minor}}", "1.0.dev4", false),
    ];
    for (tag, pattern, expected, latest) in cases {
        let got = names(&push_tag(tag), &format!("type=pep440,pattern={pattern}"));
        let want: Vec<&str> = if latest {
            vec![expected, "latest"]
        } else {
            vec![expected]
        };
        assert_eq!(got, want, "{tag} {pattern}");
    }
    assert_eq!(
        names(
            &push_tag("p1/v1.2.3"),
            r"type=pep440,pattern={{version}},match=v(\d.\d.\d)$"
        ),
        ["1.2.3", "latest"]
    );
}

#[test]
fn match_documentation_table() {
    let cases = [
        ("v1.2.3", r"\d.\d.\d", "0", "1.2.3"),
        ("v2.0.8-beta.67", "v(.*)", "1", "2.0.8-beta.67"),
        ("v2.0.8-beta.67", r"v(\d.\d)", "1", "2.0"),
        ("20200110-RC2", r"\d+", "0", "20200110"),
        ("p1/v1.2.3", r"p1/v(\d.\d.\d)", "1", "1.2.3"),
    ];
    for (tag, pattern, group, expected) in cases {
        let got = names(
            &push_tag(tag),
            &format!("type=match,\"pattern={pattern}\",group={group}"),
        );
        assert_eq!(got, [expected, "latest"], "{tag} {pattern}");
    }
    assert_eq!(
        names(&push_tag("V1.2"), "type=match,pattern=/v(\\d)/i,group=1"),
        ["1", "latest"]
    );
    let m = meta(&push_tag("foo"), r"type=match,pattern=\d+", "");
    assert!(m.tags.is_empty() && m.warnings.iter().any(|w| w.contains("does not match")));
    let m = meta(&push_tag("v1"), r"type=match,pattern=v\d,group=2", "");
    assert!(
        m.tags.is_empty()
            && m.warnings
                .iter()
                .any(|w| w.contains("group 2 does not exist"))
    );
    let e = meta_with(
        &push_tag("v1"),
        "",
        "type=match,pattern=(",
        "",
        &Switches::default(),
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("invalid regular expression `(`"),
        "{e}"
    );
}

#[test]
fn ref_rules_documentation_table() {
    assert_eq!(
        names(
            &ctx("pull_request", "refs/pull/2/merge"),
            "type=ref,event=pr"
        ),
        ["pr-2"]
    );
    assert_eq!(
        names(&ctx("push", "refs/heads/master"), "type=ref,event=branch"),
        ["master"]
    );
    assert_eq!(
        names(
            &ctx("push", "refs/heads/my/branch"),
            "type=ref,event=branch"
        ),
        ["my-branch"]
    );
    assert_eq!(
        names(&push_tag("v1.2.3"), "type=ref,event=tag"),
        ["v1.2.3", "latest"]
    );
    assert_eq!(
        names(&push_tag("v2.0.8-beta.67"), "type=ref,event=tag"),
        ["v2.0.8-beta.67", "latest"]
    );
    assert_eq!(
        names(
            &ctx("workflow_dispatch", "refs/heads/master"),
            "type=ref,event=branch"
        ),
        ["master"]
    );
    assert_eq!(
        names(
            &ctx("push", "refs/heads/master"),
            "type=ref,event=pr\ntype=ref,event=tag"
        ),
        Vec::<String>::new()
    );
}

#[test]
fn edge_schedule_raw_and_sha() {
    let master = ctx("push", "refs/heads/master");
    assert_eq!(names(&master, "type=edge"), ["edge"]);
    assert_eq!(
        names(&ctx("push", "refs/heads/dev"), "type=edge"),
        Vec::<String>::new()
    );
    assert_eq!(
        names(&ctx("push", "refs/heads/dev"), "type=edge,branch=dev"),
        ["edge"]
    );
    let schedule = ctx("schedule", "refs/heads/master");
    assert_eq!(names(&schedule, "type=schedule"), ["nightly"]);
    assert_eq!(
        names(&schedule, "type=schedule,pattern={{date 'YYYYMMDD'}}"),
        ["20200110"]
    );
    assert_eq!(names(&master, "type=schedule"), Vec::<String>::new());
    assert_eq!(
        names(&master, "type=raw,value=foo\nbar\ntype=raw,baz"),
        ["foo", "bar", "baz"]
    );
    assert_eq!(names(&master, "type=sha"), ["sha-860c190"]);
    assert_eq!(
        names(&master, "type=sha,format=long"),
        [format!("sha-{SHA}")]
    );
    assert_eq!(names(&master, "type=sha,prefix="), ["860c190"]);
    let long = Switches {
        short_sha_length: 12,
        ..Switches::default()
    };
    let m = meta_with(&master, "", "type=sha\ntype=raw,value={{sha}}", "", &long).unwrap();
    assert_eq!(
        m.tags.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["860c1904a1ce", "sha-860c1904a1ce"]
    );
}

#[test]
fn global_expressions() {
    let master = ctx("push", "refs/heads/my/branch");
    assert_eq!(
        names(&master, "type=raw,value=mytag-{{branch}}-{{sha}}"),
        ["mytag-my-branch-860c190"]
    );
    assert_eq!(
        names(&master, "type=sha,prefix={{branch}}-"),
        ["my-branch-860c190"]
    );
    assert_eq!(
        names(&push_tag("v1.2.3"), "type=raw,value={{tag}}"),
        ["v1.2.3"]
    );
    assert_eq!(
        names(&push_tag("v1.2.3"), "type=raw,value=x{{branch}}"),
        ["x"]
    );
    let mut pr = ctx("pull_request", "refs/pull/2/merge");
    pr.pr_base_ref = Some("master".into());
    assert_eq!(names(&pr, "type=raw,value={{base_ref}}"), ["master"]);
    let mut tag = push_tag("v1.2.3");
    tag.push_base_ref = Some("refs/heads/master".into());
    assert_eq!(names(&tag, "type=raw,value={{base_ref}}"), ["master"]);
    assert_eq!(
        names(
            &ctx("push", "refs/heads/master"),
            "type=raw,value={{base_ref}}x"
        ),
        ["x"]
    );
    assert_eq!(
        names(
            &ctx("push", "refs/heads/master"),
            "type=raw,value={{is_default_branch}}"
        ),
        ["true"]
    );
    assert_eq!(
        names(
            &ctx("push", "refs/heads/dev"),
            "type=raw,value={{is_default_branch}}-{{is_not_default_branch}}"
        ),
        ["false-true"]
    );
    assert_eq!(
        names(
            &ctx("schedule", "refs/heads/dev"),
            "type=raw,value={{is_default_branch}}"
        ),
        ["true"]
    );
    assert_eq!(
        names(
            &ctx("push", "refs/heads/master"),
            "type=raw,value={{date 'YYYYMMDD'}}-{{commit_date 'YYYYMMDD'}}"
        ),
        ["20200110-20200109"]
    );
    // Unquoted, the format is an undefined name: moment's default form, sanitized (as
    // docker/metadata-action renders it), with a warning naming the quoted form.
    assert_eq!(
        names(
            &ctx("push", "refs/heads/master"),
            "type=raw,value={{commit_date YYYY-MM-DD}}"
        ),
        ["2020-01-09T22-00-00Z"]
    );
    let e = meta_with(
        &master,
        "",
        "type=raw,value={{date 'YYYY' foo='x'}}",
        "",
        &Switches::default(),
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("unknown attribute `foo` for `date`"),
        "{e}"
    );
    let e = meta_with(
        &master,
        "",
        "type=raw,value={{date 'YYYY' tz='Mars/Base'}}",
        "",
        &Switches::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("Mars/Base"), "{e}");
}

#[test]
fn enable_attribute() {
    let master = ctx("push", "refs/heads/master");
    assert_eq!(
        names(
            &master,
            "type=raw,value=a,enable=false\ntype=raw,value=b,enable=true"
        ),
        ["b"]
    );
    assert_eq!(
        names(
            &master,
            "type=raw,value=latest,enable={{is_default_branch}}"
        ),
        ["latest"]
    );
    assert_eq!(
        names(
            &ctx("push", "refs/heads/dev"),
            "type=raw,value=latest,enable={{is_default_branch}}"
        ),
        Vec::<String>::new()
    );
    let e = meta_with(
        &master,
        "",
        "type=raw,value=a\ntype=raw,value=b,enable=yes",
        "",
        &Switches::default(),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "input `tags`, line 2: invalid enable `yes`: expected true or false (after expressions)"
    );
}

#[test]
fn priorities_decide_the_version_and_order() {
    let c = push_tag("v1.2.3");
    let m = meta(
        &c,
        "type=sha\ntype=ref,event=tag\ntype=semver,pattern={{version}}\ntype=raw,value=foo,priority=2000",
        "",
    );
    assert_eq!(m.version.as_deref(), Some("foo"));
    assert_eq!(
        m.tags.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["foo", "1.2.3", "v1.2.3", "sha-860c190"]
    );
}

#[test]
fn latest_follows_the_first_rule_that_produced_a_tag() {
    let c = push_tag("v1.2.3");
    assert_eq!(names(&c, "type=ref,event=tag"), ["v1.2.3", "latest"]);
    assert_eq!(
        names(&c, "type=raw,value=x,priority=1000\ntype=ref,event=tag"),
        ["x", "v1.2.3"]
    );
    assert_eq!(
        names_flavor(&c, "type=ref,event=tag", "latest=false"),
        ["v1.2.3"]
    );
    assert_eq!(
        names_flavor(
            &ctx("push", "refs/heads/master"),
            "type=ref,event=branch",
            "latest=true"
        ),
        ["master", "latest"]
    );
    assert_eq!(
        names(&c, "type=semver,pattern={{version}}\ntype=raw,value=latest"),
        ["1.2.3", "latest"]
    );
}

#[test]
fn flavor_prefix_and_suffix() {
    let c = push_tag("v1.2.3");
    let tags = "type=semver,pattern={{version}}\ntype=ref,event=tag,prefix=,suffix=";
    assert_eq!(
        names_flavor(&c, tags, "prefix=foo-\nsuffix=-bar"),
        ["foo-1.2.3-bar", "v1.2.3", "latest"]
    );
    assert_eq!(
        names_flavor(
            &c,
            tags,
            "prefix=foo-,onlatest=true\nsuffix=-bar,onlatest=true"
        ),
        ["foo-1.2.3-bar", "v1.2.3", "foo-latest-bar"]
    );
    assert_eq!(
        names_flavor(
            &ctx("push", "refs/heads/dev"),
            "type=ref,event=branch",
            "prefix={{branch}}-"
        ),
        ["dev-dev"]
    );
}

#[test]
fn default_rules_when_tags_is_empty() {
    assert_eq!(names(&ctx("push", "refs/heads/dev"), ""), ["dev"]);
    assert_eq!(names(&push_tag("v1.2.3"), ""), ["v1.2.3", "latest"]);
    assert_eq!(
        names(&ctx("pull_request", "refs/pull/15/merge"), ""),
        ["pr-15"]
    );
    assert_eq!(
        names(&ctx("schedule", "refs/heads/master"), ""),
        ["nightly", "master"]
    );
}

#[test]
fn duplicates_are_removed_in_order() {
    let m = meta(
        &ctx("push", "refs/heads/master"),
        "type=raw,value=a\ntype=raw,value=b\ntype=raw,value=a\ntype=ref,event=branch\ntype=raw,value=master",
        "",
    );
    assert_eq!(
        m.tags.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["master", "a", "b"]
    );
}

#[test]
fn images_multiply_tags_in_order() {
    let m = meta_with(
        &push_tag("v1.2.3"),
        "org/app\nGHCR.io/User/App",
        "type=semver,pattern={{version}}",
        "",
        &Switches::default(),
    )
    .unwrap();
    assert_eq!(
        m.image_tags(),
        [
            "org/app:1.2.3",
            "org/app:latest",
            "ghcr.io/user/app:1.2.3",
            "ghcr.io/user/app:latest"
        ]
    );
}

#[test]
fn a_raw_latest_is_rolling_and_follows_the_runs_version() {
    let kinds = |m: &Meta| -> Vec<(String, TagKind, Option<String>)> {
        m.tags
            .iter()
            .map(|t| (t.name.to_string(), t.kind, t.version.clone()))
            .collect()
    };
    let m = meta(
        &push_tag("v0.2.0"),
        "type=semver,pattern={{version}},prefix=v\ntype=raw,value=latest",
        "",
    );
    assert_eq!(
        kinds(&m),
        [
            ("v0.2.0".into(), TagKind::Release, Some("0.2.0".into())),
            ("latest".into(), TagKind::Rolling, Some("0.2.0".into())),
        ]
    );
    assert_eq!(m.tags[1].rule, "type=raw,value=latest");
    // A branch build publishes no version: its raw `latest` is simply set.
    let m = meta(&ctx("push", "refs/heads/main"), "type=raw,value=latest", "");
    assert_eq!(kinds(&m), [("latest".into(), TagKind::Rolling, None)]);
    // Only `latest` itself: other raw values stay floating.
    let m = meta(
        &ctx("push", "refs/heads/main"),
        "type=raw,value=latest-dev",
        "",
    );
    assert_eq!(m.tags[0].kind, TagKind::Floating);
}

#[test]
fn tag_kinds_for_publishing() {
    let m = meta(
        &push_tag("v0.2.0"),
        "type=semver,pattern={{raw}}\ntype=semver,pattern=v{{major}}.{{minor}}\ntype=semver,pattern=v{{major}}\ntype=sha",
        "",
    );
    let kinds: Vec<(&str, TagKind, Option<&str>)> = m
        .tags
        .iter()
        .map(|t| (t.name.as_str(), t.kind, t.version.as_deref()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("v0.2.0", TagKind::Release, Some("0.2.0")),
            ("v0.2", TagKind::Rolling, Some("0.2.0")),
            ("v0", TagKind::Rolling, Some("0.2.0")),
            ("sha-860c190", TagKind::Floating, None),
            ("latest", TagKind::Rolling, Some("0.2.0")),
        ]
    );
    assert_eq!(
        meta(
            &ctx("push", "refs/heads/master"),
            "type=raw,value=v1.2.3",
            ""
        )
        .tags[0]
            .kind,
        TagKind::Release
    );
    assert_eq!(
        meta(
            &ctx("push", "refs/heads/master"),
            "type=raw,value=stable",
            ""
        )
        .tags[0]
            .kind,
        TagKind::Floating
    );
}

#[test]
fn unsafe_tags_are_fixed_beyond_metadata_action() {
    let long_branch = format!("refs/heads/{}", "feature/".repeat(30));
    let m = meta(&ctx("push", &long_branch), "type=ref,event=branch", "");
    assert_eq!(m.tags[0].name.as_str().len(), 128);
    assert!(
        m.warnings
            .iter()
            .any(|w| w.contains("is not a valid registry tag"))
    );
    assert_eq!(
        names(&ctx("push", "refs/heads/-weird"), "type=ref,event=branch"),
        ["weird"]
    );
    let m = meta(&ctx("push", "refs/heads/x"), "type=raw,value=///", "");
    assert!(m.tags.is_empty() && m.warnings.iter().any(|w| w.contains("no valid characters")));
}

#[test]
fn labels_and_annotations() {
    let c = push_tag("v1.2.3");
    let inputs = TagInputs {
        tags: input_lines("type=semver,pattern={{version}}"),
        labels: input_lines(
            "maintainer=CrazyMax\norg.opencontainers.image.title=MyTitle\nbranch={{tag}}\nnovalue\nurl=a=b",
        ),
        annotations: input_lines("org.opencontainers.image.description=Annotated"),
        ..TagInputs::default()
    };
    let switches = Switches {
        annotation_levels: vec!["manifest".into(), "index".into()],
        ..Switches::default()
    };
    let m = compute(&c, &inputs, &switches, now()).unwrap();
    let labels: Vec<String> = m.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    assert_eq!(
        labels,
        [
            "branch=v1.2.3",
            "maintainer=CrazyMax",
            "org.opencontainers.image.created=2020-01-10T00:30:00.000Z",
            "org.opencontainers.image.description=This your first repo!",
            "org.opencontainers.image.licenses=MIT",
            "org.opencontainers.image.revision=860c1904a1ce19322e91ac35af1ab07466440c37",
            "org.opencontainers.image.source=https://github.com/octocat/Hello-World",
            "org.opencontainers.image.title=MyTitle",
            "org.opencontainers.image.url=https://github.com/octocat/Hello-World",
            "org.opencontainers.image.version=1.2.3",
            "url=a=b",
        ]
    );
    let annotations = m.leveled_annotations();
    assert_eq!(annotations.len(), 16);
    assert!(
        annotations.contains(&"index:org.opencontainers.image.description=Annotated".to_string())
    );
    assert!(annotations[0].starts_with("manifest:org.opencontainers.image.created="));
}

#[test]
fn a_line_break_in_an_event_field_does_not_start_a_label_of_its_own() {
    let mut c = push_tag("v1.2.3");
    c.repo.description = "nice app\ncom.example.approved=true\r\nmore".into();
    let m = meta(&c, "type=semver,pattern={{version}}", "");
    let description = m
        .labels
        .iter()
        .find(|(k, _)| k == "org.opencontainers.image.description")
        .map(|(_, v)| v.as_str());
    assert_eq!(description, Some("nice app com.example.approved=true more"));
    assert!(!m.labels.iter().any(|(k, _)| k == "com.example.approved"));
    assert!(
        m.leveled_annotations()
            .iter()
            .all(|a| !a.contains('\n') && !a.contains('\r'))
    );
}

#[test]
fn no_version_warns() {
    let m = meta(&ctx("push", "refs/heads/master"), "type=ref,event=pr", "");
    assert_eq!(m.version, None);
    assert!(m.warnings.iter().any(|w| w.contains("No image version")));
}

/// A misspelt placeholder made the tag `x-` silently; it still does (as metadata-action), with a
/// warning that names it, its line and the known names.
#[test]
fn a_misspelt_placeholder_renders_empty_with_a_warning() {
    let m = meta(&push_tag("v1.2.3"), "type=raw,value=x-{{versoin}}", "");
    assert_eq!(m.version.as_deref(), Some("x-"));
    assert_eq!(
        m.warnings,
        [
            "input `tags`, line 1: `{{versoin}}` is not a known placeholder, so it renders as empty \
          in `type=raw,value=x-{{versoin}}`; known placeholders: branch, tag, sha, base_ref, \
          is_default_branch, is_not_default_branch, date, commit_date"
        ]
    );
}

#[test]
fn issue_14_a_raw_version_like_value_is_the_version_a_raw_latest_follows() {
    let c = ctx("push", "refs/heads/main");
    for (value, kind, version) in [
        ("2.0", TagKind::Floating, Some("2.0")),
        ("v3", TagKind::Floating, Some("v3")),
        ("2024.12.1", TagKind::Release, Some("2024.12.1")),
        ("main", TagKind::Floating, None),
        ("7", TagKind::Floating, None),
    ] {
        let m = meta(
            &c,
            &format!("type=raw,value={value}\ntype=raw,value=latest"),
            "",
        );
        assert_eq!(m.tags[0].kind, kind, "{value}");
        assert_eq!(m.tags[1].name.as_str(), "latest");
        assert_eq!(m.tags[1].kind, TagKind::Rolling);
        assert_eq!(m.tags[1].version.as_deref(), version, "{value}");
    }
}
