//! `registry-action cleanup` input errors, before any registry is contacted.

use crate::support::run;

#[test]
fn a_bad_retention_line_is_named_with_its_fix() {
    let r = run(
        &["cleanup"],
        &[
            ("INPUT_IMAGES", "127.0.0.1:9/app"),
            (
                "INPUT_RETENTION",
                "keep tag=latest\ndelete tag=main-* older-than=30 days",
            ),
        ],
    );
    assert!(!r.success());
    let out = r.console();
    assert!(out.contains("input `retention`, line 2"), "{out}");
    assert!(out.contains("expected a number and a unit"), "{out}");
    assert!(out.contains("hint: one rule per line"), "{out}");
}

#[test]
fn cleanup_needs_a_policy() {
    let r = run(&["cleanup"], &[("INPUT_IMAGES", "127.0.0.1:9/app")]);
    assert!(!r.success());
    assert!(
        r.console().contains("input `retention` is empty"),
        "{}",
        r.stdout()
    );
}

#[test]
fn an_image_that_cannot_be_read_says_so_whole_with_the_right_hint() {
    let Some(registry) =
        crate::registry::harness::Registry::start(false, crate::registry::harness::Auth::Htpasswd)
    else {
        return;
    };
    let image = format!("{}/app", registry.name());
    let r = run(
        &["cleanup"],
        &[
            ("INPUT_IMAGES", image.as_str()),
            ("INPUT_RETENTION", "delete tag=main-*"),
        ],
    );
    assert!(
        !r.success(),
        "cleanup passed without a login: {}",
        r.console()
    );
    let console = r.console();
    assert!(console.contains("401"), "{console}");
    assert!(
        !console.contains("…(+") && !console.contains("\\n"),
        "the error is cut or shows a literal \\n: {console}"
    );
    assert!(
        console.contains("could not be read") && !console.contains("delete rights"),
        "the hint should be about reading the image: {console}"
    );
}
