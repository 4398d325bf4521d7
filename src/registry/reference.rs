//! Image references as users write them (`alpine`, `ghcr.io/o/r:v1`, `localhost:5000/x@sha256:..`),
//! normalised the way Docker does, into the registry / repository / tag-or-digest the client uses.

use std::fmt;
use std::str::FromStr;

use super::error::Error;
use crate::oci::Digest;

/// The registry name Docker Hub references normalise to.
pub const DOCKER_HUB: &str = "docker.io";
/// The host that serves Docker Hub's registry API.
pub const DOCKER_HUB_API_HOST: &str = "registry-1.docker.io";
/// The tag an untagged reference means.
pub const DEFAULT_TAG: &str = "latest";

/// A tag or a digest: what a manifest is addressed by inside a repository.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reference {
    Tag(String),
    Digest(Digest),
}

impl fmt::Display for Reference {
    /// The form used in a manifest URL: the tag, or the digest.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reference::Tag(tag) => f.write_str(tag),
            Reference::Digest(digest) => write!(f, "{digest}"),
        }
    }
}

impl Reference {
    /// Parses a bare tag (`v1.2.3`) or digest (`sha256:...`).
    pub fn parse(input: &str) -> Result<Reference, Error> {
        if input.contains(':') {
            Digest::parse(input)
                .map(Reference::Digest)
                .map_err(Error::from)
        } else if is_tag(input) {
            Ok(Reference::Tag(input.to_owned()))
        } else {
            Err(invalid(
                input,
                "not a valid tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})",
            ))
        }
    }
}

/// A repository on a registry, without tag or digest (`docker.io/library/alpine`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Repository {
    /// Registry name, normalised: `docker.io` for Docker Hub, lowercase, with port if any.
    pub registry: String,
    /// Repository path (`library/alpine`, `owner/name`).
    pub repository: String,
}

impl Repository {
    /// Parses a reference that must carry no tag and no digest.
    pub fn parse(input: &str) -> Result<Repository, Error> {
        let (repo, reference) = split(input)?;
        match reference {
            None => Ok(repo),
            Some(_) => Err(invalid(input, "a repository name takes no tag or digest")),
        }
    }

    /// The host (with port) that serves this registry's API.
    pub fn api_host(&self) -> &str {
        api_host(&self.registry)
    }

    /// This repository with a tag or digest.
    pub fn with(&self, reference: Reference) -> ImageRef {
        ImageRef {
            registry: self.registry.clone(),
            repository: self.repository.clone(),
            tag_or_digest: reference,
        }
    }
}

impl fmt::Display for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)
    }
}

/// A fully qualified image reference.
///
/// | input                                | registry      | repository       | tag or digest |
/// |--------------------------------------|---------------|------------------|---------------|
/// | `alpine`                             | `docker.io`   | `library/alpine` | `latest`      |
/// | `index.docker.io/foo/bar:1`          | `docker.io`   | `foo/bar`        | `1`           |
/// | `docker://ghcr.io/o/r:v1`            | `ghcr.io`     | `o/r`            | `v1`          |
/// | `localhost:5000/x@sha256:...`        | `localhost:5000` | `x`           | digest        |
/// | `[::1]:5000/x`                       | `[::1]:5000`  | `x`              | `latest`      |
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageRef {
    pub registry: String,
    pub repository: String,
    pub tag_or_digest: Reference,
}

impl ImageRef {
    /// Parses a reference; an untagged one means `:latest`. A leading `docker://` is accepted.
    pub fn parse(input: &str) -> Result<ImageRef, Error> {
        let (repo, reference) = split(input)?;
        Ok(repo.with(reference.unwrap_or_else(|| Reference::Tag(DEFAULT_TAG.to_owned()))))
    }

    /// The repository part.
    pub fn repo(&self) -> Repository {
        Repository {
            registry: self.registry.clone(),
            repository: self.repository.clone(),
        }
    }

    /// The host (with port) that serves this registry's API.
    pub fn api_host(&self) -> &str {
        api_host(&self.registry)
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sep = match self.tag_or_digest {
            Reference::Tag(_) => ':',
            Reference::Digest(_) => '@',
        };
        write!(
            f,
            "{}/{}{sep}{}",
            self.registry, self.repository, self.tag_or_digest
        )
    }
}

impl FromStr for ImageRef {
    type Err = Error;
    fn from_str(s: &str) -> Result<ImageRef, Error> {
        ImageRef::parse(s)
    }
}

/// The API host of a registry name: Docker Hub's names map to `registry-1.docker.io`.
pub fn api_host(registry: &str) -> &str {
    match registry {
        DOCKER_HUB | "index.docker.io" | DOCKER_HUB_API_HOST => DOCKER_HUB_API_HOST,
        other => other,
    }
}

fn invalid(input: &str, reason: &str) -> Error {
    Error::InvalidReference {
        input: input.to_owned(),
        reason: reason.to_owned(),
    }
}

/// Splits into the normalised repository and the optional tag or digest.
fn split(input: &str) -> Result<(Repository, Option<Reference>), Error> {
    let rest = input.strip_prefix("docker://").unwrap_or(input);
    if rest.is_empty() {
        return Err(invalid(input, "empty reference"));
    }
    let (name, digest) = match rest.split_once('@') {
        Some((name, digest)) => (name, Some(Digest::parse(digest)?)),
        None => (rest, None),
    };
    // A tag is after the last `:` that follows the last `/` (a `:` before it is a port).
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match name[last_slash..].rfind(':') {
        Some(i) => (&name[..last_slash + i], Some(&name[last_slash + i + 1..])),
        None => (name, None),
    };
    if let Some(tag) = tag
        && !is_tag(tag)
    {
        return Err(invalid(
            input,
            "invalid tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})",
        ));
    }
    let reference = match (tag, digest) {
        (Some(_), Some(_)) => {
            return Err(invalid(input, "give a tag or a digest, not both"));
        }
        (Some(tag), None) => Some(Reference::Tag(tag.to_owned())),
        (None, Some(digest)) => Some(Reference::Digest(digest)),
        (None, None) => None,
    };
    let (registry, path) = match name.split_once('/') {
        Some((first, path)) if is_domain_like(first) => (first, path),
        _ => (DOCKER_HUB, name),
    };
    if !is_domain(registry) {
        return Err(invalid(input, "invalid registry host"));
    }
    let registry = registry.to_ascii_lowercase();
    let registry = if registry == "index.docker.io" {
        DOCKER_HUB.to_owned()
    } else {
        registry
    };
    let repository = if registry == DOCKER_HUB && !path.contains('/') {
        format!("library/{path}")
    } else {
        path.to_owned()
    };
    if repository.len() > 255 {
        return Err(invalid(input, "repository name longer than 255 characters"));
    }
    if !repository.split('/').all(is_path_component) {
        return Err(invalid(
            input,
            "invalid repository name (lowercase letters, digits and separators `.`, `_`, `__`, `-`)",
        ));
    }
    Ok((
        Repository {
            registry,
            repository,
        },
        reference,
    ))
}

/// Docker's rule: the first component is a registry if it has a `.` or `:`, is `localhost`, or has
/// an upper-case letter (repository names cannot).
fn is_domain_like(first: &str) -> bool {
    first.contains(['.', ':'])
        || first == "localhost"
        || first.bytes().any(|b| b.is_ascii_uppercase())
}

/// `host[:port]` where host is DNS labels or a bracketed IPv6 address.
fn is_domain(domain: &str) -> bool {
    let (host, port) = if let Some(v6) = domain.strip_prefix('[') {
        let Some((addr, after)) = v6.split_once(']') else {
            return false;
        };
        if addr.is_empty() || !addr.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return false;
        }
        match after {
            "" => return true,
            _ => match after.strip_prefix(':') {
                Some(port) => ("", Some(port)),
                None => return false,
            },
        }
    } else {
        match domain.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (domain, None),
        }
    };
    if let Some(port) = port
        && (port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) || port.len() > 5)
    {
        return false;
    }
    domain.starts_with('[') || (!host.is_empty() && host.split('.').all(is_dns_label))
}

fn is_dns_label(label: &str) -> bool {
    let bytes = label.as_bytes();
    !bytes.is_empty()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn is_path_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let mut i = 0;
    let run = |i: &mut usize| {
        let start = *i;
        while *i < bytes.len() && alnum(bytes[*i]) {
            *i += 1;
        }
        *i > start
    };
    if !run(&mut i) {
        return false;
    }
    while i < bytes.len() {
        let sep_start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let sep = &component[sep_start..i];
        if !(sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|b| b == b'-')) {
            return false;
        }
        if !run(&mut i) {
            return false;
        }
    }
    true
}

/// Whether `tag` is a valid tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}` (the distribution spec).
pub fn is_tag(tag: &str) -> bool {
    let bytes = tag.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 128
        && (bytes[0].is_ascii_alphanumeric() || bytes[0] == b'_')
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

#[cfg(test)]
#[path = "reference_tests.rs"]
mod tests;
