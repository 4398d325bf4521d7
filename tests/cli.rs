//! The binary as a user meets it: help, local flags, and errors that name the input and the fix.

use crate::support::{fixture, run};

#[test]
fn help_documents_every_input_flag() {
    let run = run(&["--help"], &[]);
    assert!(run.success());
    let help = run.stdout();
    for flag in [
        "--images",
        "--tags",
        "--flavor",
        "--labels",
        "--annotations",
        "--sep-tags",
        "--sep-labels",
        "--sep-annotations",
        "--dry-run",
        "--env-file",
        "--event",
        "--ref",
        "--sha",
        "--output",
        "--summary",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
}

#[test]
fn local_flags_reproduce_a_workflow() {
    let event = fixture("release-v0.2.0").join("event.json");
    let run = run(
        &[
            "--event",
            event.to_str().unwrap(),
            "--event-name",
            "release",
            "--ref",
            "refs/tags/v1.4.0",
            "--sha",
            "0123456789abcdef",
            "--images",
            "ghcr.io/Octo-Org/App",
            "--tags",
            "type=semver,pattern={{version}}",
            "--tags",
            "type=sha",
        ],
        &[("SOURCE_DATE_EPOCH", "1578616200")],
    );
    assert!(run.success(), "{}", run.stdout());
    assert_eq!(
        run.get("tags"),
        "ghcr.io/octo-org/app:1.4.0\nghcr.io/octo-org/app:sha-0123456\nghcr.io/octo-org/app:latest"
    );
    let json: serde_json::Value = serde_json::from_str(&run.get("json")).unwrap();
    assert_eq!(
        json["labels"]["org.opencontainers.image.created"],
        "2020-01-10T00:30:00.000Z"
    );
    assert_eq!(json["labels"]["org.opencontainers.image.title"], "app");
}

#[test]
fn bad_tag_rule_names_input_line_and_fix() {
    let run = run(
        &[
            "--ref",
            "refs/heads/main",
            "--tags",
            "type=sha\ntype=semvar,pattern={{version}}",
        ],
        &[("GITHUB_ACTIONS", "true")],
    );
    assert!(!run.success());
    let out = run.stdout();
    assert!(
        out.contains(
            "::error title=registry-action::input `tags`, line 2: unknown tag type `semvar`"
        ),
        "{out}"
    );
    assert!(out.contains("hint: each line is one rule"), "{out}");
    assert_eq!(run.outputs_file, "", "nothing half-done is reported");
}

#[test]
fn bad_flavor_and_enable_and_images_fail_clearly() {
    let cases: [(&[&str], &str); 4] = [
        (
            &["--flavor", "latest=sometimes"],
            "input `flavor`, line 1: invalid latest `sometimes`",
        ),
        (
            &["--tags", "type=raw,value=x,enable=maybe"],
            "invalid enable `maybe`",
        ),
        (
            &["--tags", "type=raw,value=x,colour=blue"],
            "unknown attribute `colour` for `type=raw`",
        ),
        (
            &["--images", "ghcr.io/octo/app:v1"],
            "input `images`, line 1: invalid image name `ghcr.io/octo/app:v1`",
        ),
    ];
    for (args, expected) in cases {
        let run = run(args, &[]);
        assert!(!run.success(), "{args:?} should fail");
        assert!(
            run.console().contains(expected),
            "{args:?}: {}",
            run.console()
        );
    }
}

#[test]
fn missing_payload_is_an_error_naming_the_file() {
    let run = run(&[], &[("GITHUB_EVENT_PATH", "/nonexistent/event.json")]);
    assert!(!run.success());
    assert!(
        run.console()
            .contains("cannot read the event payload `/nonexistent/event.json`"),
        "{}",
        run.console()
    );
    assert!(run.console().contains("hint: outside a workflow"));
}

#[test]
fn invalid_version_warns_and_still_succeeds() {
    let run = run(
        &[
            "--ref",
            "refs/tags/release1",
            "--tags",
            "type=semver,pattern={{version}}\ntype=ref,event=tag",
        ],
        &[("GITHUB_ACTIONS", "true")],
    );
    assert!(run.success());
    assert!(
        run.stdout()
            .contains("::warning title=registry-action::`release1` is not a valid semver"),
        "{}",
        run.stdout()
    );
    assert_eq!(run.get("tag-names"), "release1\nlatest");
}

#[test]
fn verify_without_images_names_the_input() {
    let run = run(&["verify"], &[]);
    assert!(!run.success());
    assert!(
        run.console().contains("input `images` is empty") && run.console().contains("hint:"),
        "{}",
        run.stdout()
    );
}

#[test]
fn errors_go_to_stderr_locally_and_to_an_annotation_on_stdout_in_a_workflow() {
    let local = run(&["verify"], &[]);
    assert!(!local.success());
    assert!(
        local.stderr().contains("error: input `images` is empty"),
        "{}",
        local.stderr()
    );
    assert!(!local.stdout().contains("error:"), "{}", local.stdout());
    let workflow = run(&["verify"], &[("GITHUB_ACTIONS", "true")]);
    assert!(!workflow.success());
    assert!(
        workflow.stdout().contains("::error")
            && workflow.stdout().contains("input `images` is empty"),
        "{}",
        workflow.stdout()
    );
}
