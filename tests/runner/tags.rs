//! Tags-only runs of every bundled fixture in the image, as the runner runs them: the outputs
//! and the summary are those of the bare binary on the same event, and every list output has
//! one entry per line.

use super::job::Job;
use crate::support::run_fixture;

const FIXTURES: &[&str] = &[
    "dev-images",
    "manual-stable",
    "prerelease-v0.2.0-beta.1",
    "pull-request-456",
    "push-develop",
    "push-main",
    "release-v0.2.0",
    "schedule",
];

#[test]
fn every_fixture_gives_the_bare_binarys_outputs_in_the_image() {
    let listed: Vec<String> = std::fs::read_dir(crate::support::fixture(""))
        .expect("fixtures")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        listed.len(),
        FIXTURES.len(),
        "a fixture is missing from this list: {listed:?}"
    );
    for fixture in FIXTURES {
        let Some((job, step)) = Job::from_fixture(fixture) else {
            return;
        };
        let image = job.run(&step);
        image.assert_success();
        let bare = run_fixture(fixture, &[]);
        assert!(
            bare.success(),
            "bare run of {fixture} failed: {}",
            bare.console()
        );
        assert_eq!(image.outputs(), bare.outputs(), "{fixture}: outputs differ");
        assert_eq!(
            image.summary, bare.summary_file,
            "{fixture}: summaries differ"
        );
        eprintln!(
            "harness: {fixture}: tags run in the image in {} ms",
            image.elapsed.as_millis()
        );
    }
}

#[test]
fn list_outputs_hold_one_entry_per_line() {
    let Some((job, step)) = Job::from_fixture("release-v0.2.0") else {
        return;
    };
    let run = job.run(&step);
    run.assert_success();
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
    assert_eq!(run.get("tag-names"), "v0.2.0\nv0.2\nv0\nlatest");
    for name in ["labels", "annotations"] {
        let value = run.get(name);
        assert!(
            value.lines().count() > 1 && !value.contains("\\n"),
            "{name} should be one entry per line: {value:?}"
        );
    }
    // The input the container got for a separator without a workflow value.
    assert_eq!(run.env["INPUT_SEP-TAGS"], "");
}

#[test]
fn a_separator_given_by_the_workflow_is_used_as_given() {
    let Some((job, step)) = Job::from_fixture("push-develop") else {
        return;
    };
    let run = job.run(&step.with("sep-tags", ","));
    run.assert_success();
    assert_eq!(run.get("tag-names"), "develop,develop-d3e7e10");
}
