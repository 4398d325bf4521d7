//! The `source` input, parsed: skopeo's transport syntax (`oci:`, `oci-archive:`, `docker://`)
//! into the [`SourceSpec`] that [`super::Source::open`] reads the image from.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use crate::registry::ImageRef;

use super::error::{Error, Result};

/// Where the image to publish comes from.
///
/// Split the way skopeo (containers/image) does: the transport name up to the first `:`, then for
/// `oci`/`oci-archive` the path up to the next `:` and the optional image reference after it.
///
/// | input                                  | spec                                          |
/// |----------------------------------------|-----------------------------------------------|
/// | `oci:build/image`                      | layout dir `build/image`, the only manifest   |
/// | `oci:build/image:v1`                   | layout dir, `ref.name` annotation `v1`        |
/// | `oci-archive:image.tar:app:v1`         | archive `image.tar`, `ref.name` `app:v1`      |
/// | `docker://ghcr.io/o/app:v1`            | registry reference                            |
/// | `ghcr.io/o/app@sha256:...`             | registry reference (`docker://` optional)     |
/// | `docker-daemon:app`, `dir:x`           | error: transport not supported, with the fix  |
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// An OCI image layout directory; `reference` selects by `org.opencontainers.image.ref.name`.
    Layout {
        dir: PathBuf,
        reference: Option<String>,
    },
    /// A tar of an OCI image layout; `reference` as for [`SourceSpec::Layout`].
    Archive {
        file: PathBuf,
        reference: Option<String>,
    },
    /// An image in a registry (an untagged reference means `:latest`, as for skopeo).
    Registry(ImageRef),
}

/// Transports skopeo knows that this action does not read, with how to get an OCI layout instead.
const OTHER_TRANSPORTS: [(&str, &str); 7] = [
    (
        "docker-daemon",
        "export with `skopeo copy docker-daemon:IMG oci:DIR` or build with buildx `--output type=oci`",
    ),
    (
        "docker-archive",
        "convert with `skopeo copy docker-archive:FILE oci:DIR`",
    ),
    (
        "containers-storage",
        "export with `skopeo copy containers-storage:IMG oci:DIR`",
    ),
    ("dir", "convert with `skopeo copy dir:DIR oci:LAYOUT`"),
    ("ostree", "export to an OCI layout with skopeo first"),
    ("sif", "export to an OCI layout with skopeo first"),
    ("tarball", "export to an OCI layout with skopeo first"),
];

const FORMS: &str = "use `oci:<dir>[:<ref>]`, `oci-archive:<file>[:<ref>]` or \
                     `[docker://]<registry>/<repo>(:<tag>|@<digest>)`";

impl SourceSpec {
    /// Parses the `source` input.
    pub fn parse(input: &str) -> Result<SourceSpec> {
        let spec_error = |reason: String| Error::Spec {
            input: input.to_owned(),
            reason,
            hint: FORMS.to_owned(),
        };
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(spec_error("empty".into()));
        }
        if let Some(rest) = trimmed.strip_prefix("oci:") {
            let (dir, reference) = split_path_and_ref(input, rest)?;
            return Ok(SourceSpec::Layout { dir, reference });
        }
        if let Some(rest) = trimmed.strip_prefix("oci-archive:") {
            let (file, reference) = split_path_and_ref(input, rest)?;
            return Ok(SourceSpec::Archive { file, reference });
        }
        if let Some((transport, rest)) = trimmed.split_once(':')
            && !starts_with_port(rest)
        {
            if transport == "docker" && !rest.starts_with("//") {
                return Err(Error::Spec {
                    input: input.to_owned(),
                    reason: "the docker transport needs `//`".into(),
                    hint: format!("write `docker://{rest}`"),
                });
            }
            if let Some((_, fix)) = OTHER_TRANSPORTS.iter().find(|(name, _)| *name == transport) {
                return Err(Error::Spec {
                    input: input.to_owned(),
                    reason: format!("the `{transport}:` transport is not supported"),
                    hint: (*fix).to_owned(),
                });
            }
        }
        ImageRef::parse(trimmed)
            .map(SourceSpec::Registry)
            .map_err(|e| spec_error(e.to_string()))
    }
}

/// `path[:ref]`, cut at the first `:` like containers/image on Unix; the ref must match the OCI
/// annotation grammar for `org.opencontainers.image.ref.name`.
fn split_path_and_ref(input: &str, rest: &str) -> Result<(PathBuf, Option<String>)> {
    let (path, reference) = match rest.split_once(':') {
        Some((path, reference)) => (path, Some(reference)),
        None => (rest, None),
    };
    if path.is_empty() {
        return Err(Error::Spec {
            input: input.to_owned(),
            reason: "no path".into(),
            hint: FORMS.to_owned(),
        });
    }
    let reference = match reference {
        None | Some("") => None,
        Some(r) if is_ref_name(r) => Some(r.to_owned()),
        Some(r) => {
            return Err(Error::Spec {
                input: input.to_owned(),
                reason: format!("`{r}` is not a valid image reference name"),
                hint:
                    "a reference name is components of letters and digits joined by `-`, `.`, `_`, \
                       `:`, `@`, `+` or `--`, separated by `/`; a path cannot contain `:`"
                        .into(),
            });
        }
    };
    Ok((PathBuf::from(path), reference))
}

/// `component(/component)*`, component = `alnum(sep alnum)*`, sep = `[-._:@+]` or `--`.
fn is_ref_name(name: &str) -> bool {
    name.split('/').all(|component| {
        let bytes = component.as_bytes();
        let mut i = 0;
        let mut need_alnum = true;
        while i < bytes.len() {
            let b = bytes[i];
            if b.is_ascii_alphanumeric() {
                need_alnum = false;
                i += 1;
            } else if need_alnum {
                return false;
            } else if b == b'-' && bytes.get(i + 1) == Some(&b'-') {
                need_alnum = true;
                i += 2;
            } else if matches!(b, b'-' | b'.' | b'_' | b':' | b'@' | b'+') {
                need_alnum = true;
                i += 1;
            } else {
                return false;
            }
        }
        !need_alnum
    })
}

/// `5000/...`: what follows a registry host's `:` (so `localhost:5000/x` is no transport).
fn starts_with_port(rest: &str) -> bool {
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && matches!(rest.as_bytes().get(digits), None | Some(b'/'))
}

impl FromStr for SourceSpec {
    type Err = Error;
    fn from_str(s: &str) -> Result<SourceSpec> {
        SourceSpec::parse(s)
    }
}

impl fmt::Display for SourceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (transport, path, reference) = match self {
            SourceSpec::Registry(image) => return write!(f, "docker://{image}"),
            SourceSpec::Layout { dir, reference } => ("oci", dir, reference),
            SourceSpec::Archive { file, reference } => ("oci-archive", file, reference),
        };
        write!(f, "{transport}:{}", path.display())?;
        match reference {
            Some(r) => write!(f, ":{r}"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Reference;

    fn layout(dir: &str, reference: Option<&str>) -> SourceSpec {
        SourceSpec::Layout {
            dir: dir.into(),
            reference: reference.map(str::to_owned),
        }
    }

    #[test]
    fn oci_layout_forms() {
        let p = |s| SourceSpec::parse(s).unwrap();
        assert_eq!(p("oci:build/image"), layout("build/image", None));
        assert_eq!(p("oci:/abs/dir:v1"), layout("/abs/dir", Some("v1")));
        assert_eq!(p("oci:dir:"), layout("dir", None));
        // Cut at the first `:`: the rest is the ref, which may itself hold `:`.
        assert_eq!(p("oci:dir:app:v1.2"), layout("dir", Some("app:v1.2")));
        assert_eq!(
            p("oci:dir:ghcr.io/o/app"),
            layout("dir", Some("ghcr.io/o/app"))
        );
        assert_eq!(p("  oci:dir  "), layout("dir", None));
    }

    #[test]
    fn oci_archive_forms() {
        assert_eq!(
            SourceSpec::parse("oci-archive:out/image.tar:latest").unwrap(),
            SourceSpec::Archive {
                file: "out/image.tar".into(),
                reference: Some("latest".into())
            }
        );
        assert_eq!(
            SourceSpec::parse("oci-archive:image.tar").unwrap(),
            SourceSpec::Archive {
                file: "image.tar".into(),
                reference: None
            }
        );
    }

    #[test]
    fn registry_forms() {
        let digest = format!("sha256:{}", "a".repeat(64));
        for (input, registry, repo, reference) in [
            ("docker://ghcr.io/o/app:v1", "ghcr.io", "o/app", "v1"),
            ("ghcr.io/o/app:v1", "ghcr.io", "o/app", "v1"),
            ("localhost:5000/app", "localhost:5000", "app", "latest"),
            ("127.0.0.1:5000/a/b:edge", "127.0.0.1:5000", "a/b", "edge"),
            (
                &format!("docker://ghcr.io/o/app@{digest}"),
                "ghcr.io",
                "o/app",
                &digest,
            ),
        ] {
            let SourceSpec::Registry(image) = SourceSpec::parse(input).unwrap() else {
                panic!("{input} should be a registry reference");
            };
            assert_eq!(image.registry, registry, "{input}");
            assert_eq!(image.repository, repo, "{input}");
            assert_eq!(image.tag_or_digest.to_string(), reference, "{input}");
        }
        let SourceSpec::Registry(image) = SourceSpec::parse("alpine").unwrap() else {
            panic!("registry")
        };
        assert_eq!(image.tag_or_digest, Reference::Tag("latest".into()));
    }

    #[test]
    fn errors_name_the_input_and_the_fix() {
        for (input, reason, hint) in [
            ("", "empty", "oci:<dir>"),
            ("oci:", "no path", "oci:<dir>"),
            ("oci::v1", "no path", "oci:<dir>"),
            ("oci:dir:bad ref", "not a valid image reference name", "`:`"),
            ("oci:dir:-v1", "not a valid", "separated by `/`"),
            ("oci-archive:x.tar:a//b", "not a valid", "separated"),
            (
                "docker:ghcr.io/o/app",
                "needs `//`",
                "docker://ghcr.io/o/app",
            ),
            (
                "docker-daemon:app:v1",
                "not supported",
                "skopeo copy docker-daemon",
            ),
            ("dir:/tmp/x", "not supported", "dir:DIR oci:"),
            ("ghcr.io/o/App:v1", "invalid", "oci:<dir>"),
            ("ghcr.io/o/app:v1@sha256:abc", "invalid", "oci:<dir>"),
        ] {
            let err = SourceSpec::parse(input).unwrap_err();
            let shown = err.to_string();
            assert!(shown.contains(&format!("`{}`", input.trim())), "{shown}");
            assert!(shown.contains(reason), "{input}: {shown}");
            assert!(shown.contains(hint), "{input}: {shown}");
        }
    }

    #[test]
    fn a_registry_port_is_not_a_transport() {
        assert!(matches!(
            SourceSpec::parse("dir:5000/app").unwrap(),
            SourceSpec::Registry(_)
        ));
    }

    #[test]
    fn ref_name_grammar() {
        for good in ["v1", "app:v1.2", "a/b", "a--b", "x@y+z", "1"] {
            assert!(is_ref_name(good), "{good}");
        }
        for bad in ["", "-a", "a-", "a---b", "a//b", "/a", "a b", "a:", "é"] {
            assert!(!is_ref_name(bad), "{bad}");
        }
    }

    #[test]
    fn display_round_trips() {
        for input in [
            "oci:dir:v1",
            "oci-archive:x.tar",
            "docker://ghcr.io/o/app:v1",
        ] {
            assert_eq!(SourceSpec::parse(input).unwrap().to_string(), input);
        }
    }
}
