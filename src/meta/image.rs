//! The `images` input: image names to tag, lower-cased and validated.
//!
//! ```text
//! ghcr.io/octo/app               # one per line (or comma-separated on a single line)
//! name=docker.io/octo/app,enable=false
//! ```
//! A name is `[registry[:port]/]path`, path components `[a-z0-9]+` joined by `.`, `_`, `__` or
//! runs of `-` (the distribution spec). A tag or digest, a URL scheme (`https://`) or a missing
//! repository path (`127.0.0.1:5000` alone) is an error that says so.

use super::ImageName;
use super::error::MetaError;
use crate::lines::{InputLine, split_attr, split_fields};

const INPUT: &str = "images";

/// An image listed again after normalisation (lower-casing): dropped, the first one kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateImage {
    /// The name as written on the repeating line.
    pub written: String,
    pub line: usize,
    /// The line of the first occurrence (the same line in the one-line comma format).
    pub first_line: usize,
    pub image: ImageName,
}

impl std::fmt::Display for DuplicateImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let first = if self.first_line == self.line {
            "earlier on the same line".to_owned()
        } else {
            format!("on line {}", self.first_line)
        };
        write!(
            f,
            "input `images`, line {}: `{}` is `{}`, already listed {first}; the repeat is ignored",
            self.line, self.written, self.image
        )
    }
}

/// The enabled images, in input order, each once (the first occurrence is kept), and the repeats
/// dropped: `ghcr.io/Octo/app` and `ghcr.io/octo/app` are one image.
pub fn parse_images_once(
    lines: &[InputLine],
) -> Result<(Vec<ImageName>, Vec<DuplicateImage>), MetaError> {
    let mut images = Vec::new();
    let mut duplicates = Vec::new();
    let mut first_line: std::collections::HashMap<ImageName, usize> =
        std::collections::HashMap::new();
    for (written, line, image) in listed_images(lines)? {
        match first_line.get(&image) {
            Some(&first) => duplicates.push(DuplicateImage {
                written,
                line,
                first_line: first,
                image,
            }),
            None => {
                first_line.insert(image.clone(), line);
                images.push(image);
            }
        }
    }
    Ok((images, duplicates))
}

/// Every enabled image as (written name, line number, normalised name), repeats included.
fn listed_images(lines: &[InputLine]) -> Result<Vec<(String, usize, ImageName)>, MetaError> {
    let mut images = Vec::new();
    // metadata-action's old format: one line of comma-separated names.
    if let [line] = lines {
        let fields =
            split_fields(&line.text).map_err(|e| MetaError::line(INPUT, line, e.to_string()))?;
        if fields.iter().all(|f| split_attr(f).0.is_none()) {
            for field in fields.iter().filter(|f| !f.is_empty()) {
                images.push((field.clone(), line.number, validate(field, line)?));
            }
            return Ok(images);
        }
    }
    for line in lines {
        let err = |message: String| MetaError::line(INPUT, line, message);
        let mut name = String::new();
        let mut enable = true;
        for field in split_fields(&line.text).map_err(|e| err(e.to_string()))? {
            match split_attr(&field) {
                (None, value) => name = value.to_string(),
                (Some(key), value) if key == "name" => name = value.to_string(),
                (Some(key), value) if key == "enable" => {
                    enable = match value {
                        "true" => true,
                        "false" => false,
                        _ => {
                            return Err(err(format!(
                                "invalid enable `{value}`; expected true or false"
                            )));
                        }
                    }
                }
                (Some(key), _) => {
                    return Err(err(format!(
                        "unknown image attribute `{key}`; expected name= or enable="
                    )));
                }
            }
        }
        if name.is_empty() {
            return Err(err(
                "image name is empty; expected e.g. `ghcr.io/owner/app`".into(),
            ));
        }
        if enable {
            let image = validate(&name, line)?;
            images.push((name, line.number, image));
        }
    }
    Ok(images)
}

fn validate(name: &str, line: &InputLine) -> Result<ImageName, MetaError> {
    let lower = name.to_ascii_lowercase();
    // `refuse` when the message shows the fix, `err` to add an example of a valid name.
    let refuse =
        |why: String| MetaError::line(INPUT, line, format!("invalid image name `{name}`: {why}"));
    let err = |why: &str| refuse(format!("{why}; expected e.g. `ghcr.io/owner/app`"));
    if let Some((scheme, rest)) = name.split_once("://").filter(|(scheme, _)| {
        !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    }) {
        return Err(refuse(format!(
            "a scheme (`{scheme}://`) does not belong in an image name; write `{rest}`"
        )));
    }
    if lower.contains('@') {
        return Err(err("a digest does not belong in an image name"));
    }
    if let Some(registry) = registry_alone(&lower) {
        return Err(refuse(format!(
            "it has no repository path, only the registry `{registry}`; expected `{registry}/<owner>/<name>`"
        )));
    }
    let (registry, path) = match lower.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':']) || first == "localhost" || first.starts_with('[') =>
        {
            (Some(first), rest)
        }
        _ => (None, lower.as_str()),
    };
    if let Some(registry) = registry {
        if !valid_registry(registry) {
            return Err(err("the registry host is not valid"));
        }
    }
    if path.contains(':') {
        return Err(err(
            "a tag does not belong in an image name (put tags in `tags`)",
        ));
    }
    if path.is_empty() || !path.split('/').all(valid_component) {
        return Err(err(
            "path components are lower-case letters and digits, separated by `.`, `_`, `__` or `-`",
        ));
    }
    Ok(ImageName::new_unchecked(lower))
}

/// The registry of a name that is a registry and nothing else, or `None`:
///
/// | name                                | registry alone?                          |
/// |-------------------------------------|------------------------------------------|
/// | `127.0.0.1:5000`, `localhost:5000`  | yes (a host and a port)                  |
/// | `[::1]:5000`, `[::1]`, `10.0.0.1`   | yes (an IP address)                      |
/// | `ghcr.io/`, `localhost/`            | yes (a host, then nothing after the `/`) |
/// | `alpine`, `library/alpine`, `ghcr.io` | no (Docker Hub names)                  |
/// | `alpine:3`                          | no (an image with a tag, refused later)  |
fn registry_alone(lower: &str) -> Option<&str> {
    let name = lower.trim_end_matches('/');
    if name.is_empty() || name.contains('/') {
        return None;
    }
    let trailing_slash = name.len() < lower.len();
    let host_like = |host: &str| host == "localhost" || host.contains('.') || host.starts_with('[');
    let host_with_port = name.rsplit_once(':').is_some_and(|(host, port)| {
        host_like(host) && !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())
    });
    let ip = name.parse::<std::net::Ipv4Addr>().is_ok()
        || (name.starts_with('[') && name.ends_with(']'));
    let host = host_like(name) || name.contains(':');
    (host_with_port || ip || (trailing_slash && host)).then_some(name)
}

fn valid_registry(registry: &str) -> bool {
    let (host, port) = if let Some(rest) = registry.strip_prefix('[') {
        match rest.split_once(']') {
            Some((ip, port)) => {
                return ip.parse::<std::net::Ipv6Addr>().is_ok() && valid_port(port);
            }
            None => return false,
        }
    } else {
        match registry.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (registry, None),
        }
    };
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    host.split('.').all(label_ok) && port.is_none_or(|p| valid_port(&format!(":{p}")))
}

fn valid_port(with_colon: &str) -> bool {
    with_colon.is_empty()
        || with_colon
            .strip_prefix(':')
            .is_some_and(|p| !p.is_empty() && p.parse::<u16>().is_ok())
}

fn valid_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(&bytes[0]) || !alnum(&bytes[bytes.len() - 1]) {
        return false;
    }
    // Separators between alphanumeric runs: `.`, `_`, `__`, or any run of `-`.
    let mut i = 0;
    while i < bytes.len() {
        if alnum(&bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(&bytes[i]) {
            i += 1;
        }
        let sep = &component[start..i];
        if !(sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|b| b == b'-')) {
            return false;
        }
    }
    true
}

#[cfg(test)]
#[path = "image_tests.rs"]
mod tests;
