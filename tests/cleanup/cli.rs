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

/// Cleanup reads `images` as publish does: the old one-line `a,b` form names both images, and a
/// line with `enable=false` is left alone.
#[test]
fn cleanup_reads_images_as_publish_does() {
    use super::images::{multi_arch, publish_to};
    let Some(registry) = crate::registry::harness::Registry::plain() else {
        return;
    };
    let name = |repo: &str| format!("{}/{repo}", registry.name());
    let _published: Vec<_> = ["one", "two", "three"]
        .iter()
        .map(|repo| publish_to(&name(repo), &multi_arch(1, false), &["main-abc1234"], &[]))
        .collect();
    let cleanup = |images: &str| {
        let r = run(
            &["cleanup"],
            &[
                ("INPUT_IMAGES", images),
                ("INPUT_RETENTION", "delete tag=main-*"),
                ("INPUT_DRY-RUN", "true"),
            ],
        );
        assert!(r.success(), "{}", r.console());
        r.console()
    };
    let both = cleanup(&format!("{},{}", name("one"), name("two")));
    for repo in ["one", "two"] {
        assert!(both.contains(&format!("{}:\n", name(repo))), "{both}");
    }
    let disabled = cleanup(&format!(
        "{}\nname={},enable=false",
        name("one"),
        name("three")
    ));
    assert!(
        disabled.contains(&format!("{}:\n", name("one"))),
        "{disabled}"
    );
    assert!(!disabled.contains(&name("three")), "{disabled}");
}
