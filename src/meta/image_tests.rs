//! Unit tests of `image.rs`: no network.

use super::*;
use crate::lines::input_lines;

fn images(input: &str) -> Result<Vec<String>, String> {
    parse_images_once(&input_lines(input))
        .map(|(images, _)| images)
        .map(|v| v.into_iter().map(|i| i.to_string()).collect())
        .map_err(|e| e.to_string())
}

#[test]
fn one_per_line_lower_cased() {
    assert_eq!(
        images("ghcr.io/Octo-Org/App\ndocker.io/octo/app").unwrap(),
        ["ghcr.io/octo-org/app", "docker.io/octo/app"]
    );
    assert_eq!(images("").unwrap(), Vec::<String>::new());
}

#[test]
fn old_comma_format_and_attributes() {
    assert_eq!(
        images("name/foo,ghcr.io/name/bar").unwrap(),
        ["name/foo", "ghcr.io/name/bar"]
    );
    assert_eq!(
        images("name=name/foo\nname=ghcr.io/name/bar,enable=false").unwrap(),
        ["name/foo"]
    );
    assert_eq!(
        images("name=ghcr.io/a/b,enable=true").unwrap(),
        ["ghcr.io/a/b"]
    );
}

/// Regression: the same image twice (differing in case) was published twice and listed
/// twice in `tags` and `refs`.
#[test]
fn repeated_images_are_listed_once_in_first_order() {
    let lines = input_lines(
        "127.0.0.1:5502/octo/dup\nghcr.io/octo/app\n127.0.0.1:5502/Octo/dup\nname=ghcr.io/octo/app,enable=true",
    );
    let (images, duplicates) = parse_images_once(&lines).unwrap();
    let names: Vec<String> = images.iter().map(ToString::to_string).collect();
    assert_eq!(names, ["127.0.0.1:5502/octo/dup", "ghcr.io/octo/app"]);
    let shown: Vec<String> = duplicates.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "input `images`, line 3: `127.0.0.1:5502/Octo/dup` is `127.0.0.1:5502/octo/dup`, already listed on line 1; the repeat is ignored",
            "input `images`, line 4: `ghcr.io/octo/app` is `ghcr.io/octo/app`, already listed on line 2; the repeat is ignored",
        ]
    );
    assert_eq!(
        images_of("127.0.0.1:5502/octo/dup\n127.0.0.1:5502/Octo/dup"),
        ["127.0.0.1:5502/octo/dup"]
    );
    // The one-line comma format, and a disabled repeat (not listed, so not a repeat).
    let (images, duplicates) = parse_images_once(&input_lines("a/b,A/B,c/d")).unwrap();
    assert_eq!(images.len(), 2);
    assert!(
        duplicates[0]
            .to_string()
            .contains("already listed earlier on the same line")
    );
    let (images, duplicates) =
        parse_images_once(&input_lines("a/b\nname=a/b,enable=false")).unwrap();
    assert_eq!((images.len(), duplicates.len()), (1, 0));
}

fn images_of(input: &str) -> Vec<String> {
    images(input).unwrap()
}

#[test]
fn registries_with_ports_and_ips() {
    for ok in [
        "localhost:5000/app",
        "127.0.0.1:5000/team/app",
        "[::1]:5000/app",
        "registry-1.docker.io/library/alpine",
        "my_org/my__app",
        "a/b.c/d--e",
    ] {
        assert!(images(ok).is_ok(), "{ok}");
    }
}

/// Regression: `127.0.0.1:5502` was refused with "a tag does not belong in an image
/// name"; what is missing is the repository path.
#[test]
fn a_registry_alone_is_missing_its_repository_path() {
    let e = images("127.0.0.1:5502").unwrap_err();
    assert_eq!(
        e,
        "input `images`, line 1: invalid image name `127.0.0.1:5502`: it has no repository path, \
         only the registry `127.0.0.1:5502`; expected `127.0.0.1:5502/<owner>/<name>`"
    );
    for (name, registry) in [
        ("localhost:5000", "localhost:5000"),
        ("registry.example.com:443", "registry.example.com:443"),
        ("[::1]:5000", "[::1]:5000"),
        ("10.0.0.7", "10.0.0.7"),
        ("ghcr.io/", "ghcr.io"),
        ("Localhost:5000/", "localhost:5000"),
    ] {
        let e = images(name).unwrap_err();
        assert!(
            e.contains(&format!(
                "no repository path, only the registry `{registry}`; expected `{registry}/<owner>/<name>`"
            )),
            "{name}: {e}"
        );
    }
    // Real tags keep the tag message; Docker Hub names are still accepted.
    for tagged in [
        "ghcr.io/a/b:v1",
        "alpine:3",
        "127.0.0.1:5502/a:v1",
        "registry:5000",
    ] {
        assert!(
            images(tagged)
                .unwrap_err()
                .contains("a tag does not belong"),
            "{tagged}"
        );
    }
    assert_eq!(
        images_of("alpine\nlibrary/alpine\nlocalhost/app"),
        ["alpine", "library/alpine", "localhost/app"]
    );
    assert!(images("alpine/").unwrap_err().contains("path components"));
}

/// Regression: `https://ghcr.io/o/app` was refused with "the registry host is not valid".
#[test]
fn a_scheme_is_named_and_the_name_without_it_shown() {
    assert_eq!(
        images("ghcr.io/o/a\nhttps://ghcr.io/O/app").unwrap_err(),
        "input `images`, line 2: invalid image name `https://ghcr.io/O/app`: a scheme \
         (`https://`) does not belong in an image name; write `ghcr.io/O/app`"
    );
    for (name, scheme, rest) in [
        (
            "http://127.0.0.1:5000/o/app",
            "http://",
            "127.0.0.1:5000/o/app",
        ),
        ("docker://docker.io/o/app", "docker://", "docker.io/o/app"),
        ("name=oci://x/y,enable=true", "oci://", "x/y"),
    ] {
        let e = images(name).unwrap_err();
        assert!(
            e.contains(&format!(
                "a scheme (`{scheme}`) does not belong in an image name; write `{rest}`"
            )),
            "{name}: {e}"
        );
    }
    // A disabled line is not validated, as before.
    assert!(images("name=https://x/y,enable=false").is_ok());
}

#[test]
fn invalid_names_name_the_line() {
    let e = images("ghcr.io/a/b\nghcr.io/a/b:v1").unwrap_err();
    assert!(
        e.starts_with(
            "input `images`, line 2: invalid image name `ghcr.io/a/b:v1`: a tag does not belong"
        ),
        "{e}"
    );
    assert!(
        images("ghcr.io/a/b@sha256:abc")
            .unwrap_err()
            .contains("digest")
    );
    assert!(
        images("ghcr.io/-a/b")
            .unwrap_err()
            .contains("path components")
    );
    assert!(
        images("ghcr.io/a//b")
            .unwrap_err()
            .contains("path components")
    );
    assert!(
        images("ghcr.io/a/b_")
            .unwrap_err()
            .contains("path components")
    );
    assert!(images("my app").unwrap_err().contains("path components"));
    assert!(
        images("host:99999/a")
            .unwrap_err()
            .contains("registry host")
    );
    assert!(
        images("name=a/b,foo=bar")
            .unwrap_err()
            .contains("unknown image attribute `foo`")
    );
    assert!(
        images("name=a/b,enable=yes")
            .unwrap_err()
            .contains("invalid enable")
    );
    assert!(
        images("enable=true")
            .unwrap_err()
            .contains("image name is empty")
    );
}
