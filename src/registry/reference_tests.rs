//! Unit tests of reference parsing: Docker's normalisation table, and what is refused.

use super::*;

const D: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn parts(input: &str) -> (String, String, String) {
    let r = ImageRef::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
    (r.registry, r.repository, r.tag_or_digest.to_string())
}

#[test]
fn normalises_like_docker() {
    let d = D;
    let cases: &[(&str, (&str, &str, &str))] = &[
        ("alpine", ("docker.io", "library/alpine", "latest")),
        ("alpine:3.20", ("docker.io", "library/alpine", "3.20")),
        ("library/alpine", ("docker.io", "library/alpine", "latest")),
        (
            "docker.io/alpine",
            ("docker.io", "library/alpine", "latest"),
        ),
        (
            "index.docker.io/alpine",
            ("docker.io", "library/alpine", "latest"),
        ),
        ("index.docker.io/foo/bar:1", ("docker.io", "foo/bar", "1")),
        ("foo/bar", ("docker.io", "foo/bar", "latest")),
        ("docker://alpine", ("docker.io", "library/alpine", "latest")),
        ("docker://ghcr.io/o/r:v1", ("ghcr.io", "o/r", "v1")),
        (
            "ghcr.io/owner/repo/sub:v1.2.3",
            ("ghcr.io", "owner/repo/sub", "v1.2.3"),
        ),
        ("GHCR.IO/owner/repo", ("ghcr.io", "owner/repo", "latest")),
        ("localhost/x", ("localhost", "x", "latest")),
        ("localhost:5000/x", ("localhost:5000", "x", "latest")),
        ("localhost:5000/x:t", ("localhost:5000", "x", "t")),
        ("127.0.0.1:5000/x/y:t", ("127.0.0.1:5000", "x/y", "t")),
        ("[::1]:5000/x", ("[::1]:5000", "x", "latest")),
        ("[::1]/x:t", ("[::1]", "x", "t")),
        ("[fe80::1]:443/a/b", ("[fe80::1]:443", "a/b", "latest")),
        (
            "my-registry.example.com/a.b/c_d/e__f/g--h",
            ("my-registry.example.com", "a.b/c_d/e__f/g--h", "latest"),
        ),
        ("Registry/x", ("registry", "x", "latest")),
        ("alpine:_x", ("docker.io", "library/alpine", "_x")),
    ];
    for (input, (registry, repository, reference)) in cases {
        assert_eq!(
            parts(input),
            (
                registry.to_string(),
                repository.to_string(),
                reference.to_string()
            ),
            "{input}"
        );
    }
    let r = ImageRef::parse(&format!("localhost:5000/x@{d}")).unwrap();
    assert_eq!(r.registry, "localhost:5000");
    assert_eq!(
        r.tag_or_digest,
        Reference::Digest(Digest::parse(d).unwrap())
    );
    let r = ImageRef::parse(&format!("alpine@{d}")).unwrap();
    assert_eq!(r.repository, "library/alpine");
    assert_eq!(r.to_string(), format!("docker.io/library/alpine@{d}"));
}

#[test]
fn api_host_maps_docker_hub() {
    assert_eq!(
        ImageRef::parse("alpine").unwrap().api_host(),
        "registry-1.docker.io"
    );
    assert_eq!(
        ImageRef::parse("index.docker.io/a/b").unwrap().api_host(),
        "registry-1.docker.io"
    );
    assert_eq!(
        ImageRef::parse("ghcr.io/a/b").unwrap().api_host(),
        "ghcr.io"
    );
    assert_eq!(
        ImageRef::parse("127.0.0.1:5000/a").unwrap().api_host(),
        "127.0.0.1:5000"
    );
}

#[test]
fn display_round_trips() {
    for input in [
        "docker.io/library/alpine:latest",
        "ghcr.io/o/r:v1",
        "[::1]:5000/x:t",
        "localhost:5000/a/b:c",
    ] {
        assert_eq!(ImageRef::parse(input).unwrap().to_string(), input);
    }
    let with_digest = format!("ghcr.io/o/r@{D}");
    assert_eq!(
        ImageRef::parse(&with_digest).unwrap().to_string(),
        with_digest
    );
}

#[test]
fn refuses_invalid_references() {
    let long_tag = format!("a:{}", "t".repeat(129));
    let long_name = format!("x/{}", "a".repeat(255));
    let tag_and_digest = format!("alpine:3@{D}");
    for bad in [
        "",
        "docker://",
        "Alpine",
        "alpine:",
        "alpine:-x",
        "alpine:.x",
        "alpine:a b",
        "alpine@sha256:abc",
        "alpine@",
        "ghcr.io/",
        "ghcr.io//x",
        "ghcr.io/x/",
        "ghcr.io/-x",
        "ghcr.io/x-",
        "ghcr.io/x..y",
        "ghcr.io/x___y",
        "ghcr.io/x.-y",
        "ghcr.io/UPPER",
        "-bad.io/x",
        "bad-.io/x",
        "bad..io/x",
        "host:/x",
        "host:12a/x",
        "host:123456/x",
        "[::1/x",
        "[]/x",
        "[::1]x/y",
        "[zz]/x",
        long_tag.as_str(),
        long_name.as_str(),
        tag_and_digest.as_str(),
    ] {
        assert!(ImageRef::parse(bad).is_err(), "{bad:?} should be refused");
    }
}

#[test]
fn repository_parse_refuses_tags_and_digests() {
    let repo = Repository::parse("ghcr.io/o/r").unwrap();
    assert_eq!(repo.to_string(), "ghcr.io/o/r");
    assert!(Repository::parse("ghcr.io/o/r:v1").is_err());
    assert!(Repository::parse(&format!("ghcr.io/o/r@{D}")).is_err());
    assert_eq!(
        Repository::parse("alpine").unwrap().repository,
        "library/alpine"
    );
}

#[test]
fn bare_references() {
    assert_eq!(Reference::parse("v1").unwrap(), Reference::Tag("v1".into()));
    assert!(matches!(Reference::parse(D).unwrap(), Reference::Digest(_)));
    assert!(Reference::parse("-x").is_err());
    assert!(Reference::parse("sha256:zz").is_err());
}

#[test]
fn tag_limits() {
    assert!(is_tag(&"t".repeat(128)));
    assert!(!is_tag(&"t".repeat(129)));
    assert!(is_tag("_"));
    assert!(is_tag("v1.2.3-rc.1_build"));
}
