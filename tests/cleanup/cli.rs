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
