//! The seed tag strategies, one event fixture each, through the real binary (issue #3).

use crate::support::{Run, run_fixture};

fn tag_names(run: &Run) -> Vec<String> {
    assert!(
        run.success(),
        "run failed:\n{}\n{}",
        run.stdout(),
        run.stderr()
    );
    run.get("tag-names").lines().map(String::from).collect()
}

#[test]
fn release_gets_full_minor_major_and_latest() {
    let run = run_fixture("release-v0.2.0", &[]);
    assert_eq!(tag_names(&run), ["v0.2.0", "v0.2", "v0", "latest"]);
    assert_eq!(run.get("version"), "v0.2.0");
    assert_eq!(
        run.get("tags").lines().collect::<Vec<_>>(),
        [
            "ghcr.io/octo-org/app:v0.2.0",
            "ghcr.io/octo-org/app:v0.2",
            "ghcr.io/octo-org/app:v0",
            "ghcr.io/octo-org/app:latest",
            "docker.io/octoorg/app:v0.2.0",
            "docker.io/octoorg/app:v0.2",
            "docker.io/octoorg/app:v0",
            "docker.io/octoorg/app:latest",
        ]
    );
}

#[test]
fn prerelease_gets_only_its_own_tag() {
    assert_eq!(
        tag_names(&run_fixture("prerelease-v0.2.0-beta.1", &[])),
        ["v0.2.0-beta.1"]
    );
}

#[test]
fn push_to_main_gets_branch_and_short_sha() {
    assert_eq!(tag_names(&run_fixture("push-main", &[])), ["main-a1b2c3d"]);
}

#[test]
fn push_to_develop_gets_branch_and_branch_sha() {
    assert_eq!(
        tag_names(&run_fixture("push-develop", &[])),
        ["develop", "develop-d3e7e10"]
    );
}

#[test]
fn pull_request_gets_pr_number() {
    assert_eq!(tag_names(&run_fixture("pull-request-456", &[])), ["pr-456"]);
}

#[test]
fn schedule_gets_dated_nightly() {
    assert_eq!(
        tag_names(&run_fixture("schedule", &[])),
        ["nightly-20251123"]
    );
}

#[test]
fn dev_images_are_named_repo_dev() {
    let run = run_fixture("dev-images", &[]);
    assert_eq!(
        run.get("tags").lines().collect::<Vec<_>>(),
        [
            "ghcr.io/octo-org/app-dev:develop",
            "ghcr.io/octo-org/app-dev:develop-d3e7e10",
            "docker.io/octoorg/app-dev:develop",
            "docker.io/octoorg/app-dev:develop-d3e7e10",
        ]
    );
}

#[test]
fn manual_dispatch_gets_stable() {
    assert_eq!(tag_names(&run_fixture("manual-stable", &[])), ["stable"]);
}

#[test]
fn release_outputs_file_snapshot() {
    let run = run_fixture("release-v0.2.0", &[]);
    insta::assert_snapshot!("release_outputs", run.outputs_file);
}

#[test]
fn release_summary_snapshot() {
    let run = run_fixture("release-v0.2.0", &[]);
    insta::assert_snapshot!("release_summary", run.summary_file);
}

#[test]
fn pull_request_outputs_file_snapshot() {
    let run = run_fixture(
        "pull-request-456",
        &[("DOCKER_METADATA_PR_HEAD_SHA", "true")],
    );
    insta::assert_snapshot!("pull_request_outputs", run.outputs_file);
}

#[test]
fn outputs_are_exported_to_github_env_unless_disabled() {
    let run = run_fixture("push-main", &[]);
    assert!(
        run.env_file.contains("DOCKER_METADATA_OUTPUT_TAG_NAMES<<"),
        "{}",
        run.env_file
    );
    let run = run_fixture("push-main", &[("DOCKER_METADATA_SET_OUTPUT_ENV", "false")]);
    assert_eq!(run.env_file, "");
}

#[test]
fn separators_apply_to_outputs() {
    let run = run_fixture("release-v0.2.0", &[("INPUT_SEP-TAGS", ",")]);
    assert_eq!(run.get("tag-names"), "v0.2.0,v0.2,v0,latest");
    assert_eq!(run.get("tags").split(',').count(), 8);
}
