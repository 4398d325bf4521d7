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
mod tests {
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
}
