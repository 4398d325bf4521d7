//! Version parsing for `type=semver` and `type=pep440`, with the fields their patterns can use.
//!
//! Semver follows node-semver's strict `valid()` (an optional leading `v`, no leading zeros, at most
//! 256 characters, components up to 2^53-1), which is what docker/metadata-action accepts. PEP 440
//! uses `pep440_rs` (the parser behind uv) and renders the normalised form (`1.2.3b2`, `1.0.dev4`).

use std::str::FromStr;

/// JavaScript's `Number.MAX_SAFE_INTEGER`: node-semver rejects larger components.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;
const MAX_LENGTH: usize = 256;

/// A valid semantic version and the values a `pattern` can render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SemverParts {
    /// The text as given (`v1.2.3`).
    pub raw: String,
    /// `major.minor.patch[-prerelease]`, without build metadata (`1.2.3-rc.1`).
    pub version: String,
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    /// Pre-release identifiers joined with `,` as Handlebars renders a JS array (`rc,1`).
    pub prerelease: String,
    /// Build identifiers joined with `,`.
    pub build: String,
    pub is_prerelease: bool,
}

/// Parses `raw` as node-semver's `valid()` would accept it.
pub fn parse_semver(raw: &str) -> Option<SemverParts> {
    let trimmed = raw.trim();
    if trimmed.len() > MAX_LENGTH {
        return None;
    }
    let text = trimmed.strip_prefix('v').unwrap_or(trimmed);
    let parsed = semver::Version::parse(text).ok()?;
    if [parsed.major, parsed.minor, parsed.patch]
        .iter()
        .any(|&n| n > MAX_SAFE_INTEGER)
    {
        return None;
    }
    let prerelease = parsed.pre.as_str().replace('.', ",");
    let mut version = format!("{}.{}.{}", parsed.major, parsed.minor, parsed.patch);
    if !parsed.pre.is_empty() {
        version.push('-');
        version.push_str(parsed.pre.as_str());
    }
    Some(SemverParts {
        raw: raw.to_string(),
        version,
        major: parsed.major,
        minor: parsed.minor,
        patch: parsed.patch,
        is_prerelease: !parsed.pre.is_empty(),
        prerelease,
        build: parsed.build.as_str().replace('.', ","),
    })
}

/// A valid PEP 440 version and the values a `pattern` can render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pep440Parts {
    pub raw: String,
    /// The normalised version (`1.2.3b2`, `1.0.dev4`, `1.2.3.post1`).
    pub version: String,
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    /// A pre-, post- or dev-release: only its full version is tagged.
    pub is_special: bool,
}

pub fn parse_pep440(raw: &str) -> Option<Pep440Parts> {
    let parsed = pep440_rs::Version::from_str(raw.trim()).ok()?;
    let release = parsed.release();
    let part = |i: usize| release.get(i).copied().unwrap_or(0);
    Some(Pep440Parts {
        raw: raw.to_string(),
        version: parsed.to_string(),
        major: part(0),
        minor: part(1),
        patch: part(2),
        is_special: parsed.is_pre() || parsed.is_post() || parsed.is_dev(),
    })
}

/// A version-like value as the numbers it orders by: a full semver (`1.2.3`, `v1.2.3-rc.1`), or
/// two or more dot-separated numbers with an optional `v` (`2.0`, `v2.6`, `2024.12.1`), or one
/// number after a `v` (`v3`). A bare single number (`7`, `20240101`, a short SHA of digits) is
/// not one: too many non-version tags look like that.
///
/// Ordered by its numbers, a missing one counting as 0 (`2.0` = `2.0.0` < `2.4.2` < `2.6` <
/// `2024.12.1`), then a pre-release before its release, as semver orders pre-releases.
#[derive(Debug, Clone)]
pub struct VersionKey {
    numbers: Vec<u64>,
    pre: semver::Prerelease,
}

impl VersionKey {
    pub fn parse(text: &str) -> Option<VersionKey> {
        if let Some(parts) = parse_semver(text) {
            let pre = semver::Prerelease::new(parts.version.split_once('-').map_or("", |(_, p)| p))
                .ok()?;
            return Some(VersionKey {
                numbers: vec![parts.major, parts.minor, parts.patch],
                pre,
            });
        }
        let (prefixed, rest) = match text.strip_prefix('v') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let numbers: Vec<u64> = rest
            .split('.')
            .map(|n| {
                (!n.is_empty() && n.len() <= 16 && n.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| n.parse().ok())
                    .flatten()
            })
            .collect::<Option<_>>()?;
        (numbers.len() >= 2 || prefixed).then_some(VersionKey {
            numbers,
            pre: semver::Prerelease::EMPTY,
        })
    }

    pub fn is_prerelease(&self) -> bool {
        !self.pre.is_empty()
    }

    /// The first number (`2` of `2.6`).
    pub fn major(&self) -> u64 {
        self.number(0)
    }

    /// The second number, 0 when there is none (`6` of `2.6`, `0` of `v3`).
    pub fn minor(&self) -> u64 {
        self.number(1)
    }

    fn number(&self, i: usize) -> u64 {
        self.numbers.get(i).copied().unwrap_or(0)
    }
}

impl Ord for VersionKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let len = self.numbers.len().max(other.numbers.len());
        (0..len)
            .map(|i| self.number(i).cmp(&other.number(i)))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => std::cmp::Ordering::Equal,
                (true, false) => std::cmp::Ordering::Greater,
                (false, true) => std::cmp::Ordering::Less,
                (false, false) => self.pre.cmp(&other.pre),
            })
    }
}

impl PartialOrd for VersionKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for VersionKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for VersionKey {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_keys_order_every_version_like_value() {
        let key = |s: &str| VersionKey::parse(s).unwrap_or_else(|| panic!("{s}"));
        let ascending = [
            "1.9.9",
            "2.0",
            "2.4.2",
            "v2.5.0",
            "2.6",
            "v3",
            "3.0.1-rc.1",
            "3.0.1",
            "2024.12.1",
        ];
        for pair in ascending.windows(2) {
            assert!(key(pair[0]) < key(pair[1]), "{} < {}", pair[0], pair[1]);
        }
        assert_eq!(key("2.0"), key("2.0.0"));
        assert_eq!(key("v3"), key("3.0.0"));
        assert!(key("1.0.0-rc.1").is_prerelease());
        assert!(!key("2024.01.05").is_prerelease());
        assert_eq!((key("2.6").major(), key("2.6").minor()), (2, 6));
        assert_eq!((key("v3").major(), key("v3").minor()), (3, 0));
        for not_one in [
            "7",
            "20240101",
            "latest",
            "main-abc1234",
            "2.",
            ".2",
            "v",
            "2.x",
            "1..2",
            "v1.2-alpine",
            "V3",
        ] {
            assert!(VersionKey::parse(not_one).is_none(), "{not_one}");
        }
    }

    #[test]
    fn semver_accepts_what_node_semver_valid_accepts() {
        for ok in [
            "1.2.3",
            "v1.2.3",
            " v1.2.3 ",
            "0.0.0",
            "1.2.3-rc.1",
            "1.2.3+build.5",
            "v9.5.7-alpha.2+fork.3.1.8",
        ] {
            assert!(parse_semver(ok).is_some(), "{ok}");
        }
        for bad in [
            "1.2",
            "V1.2.3",
            "vv1.2.3",
            "=1.2.3",
            "01.2.3",
            "1.2.3-01",
            "1.2.3.4",
            "release1",
            "",
            "9007199254740992.0.0",
        ] {
            assert!(parse_semver(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn semver_fields() {
        let v = parse_semver("v2.0.8-beta.67+build.1").unwrap();
        assert_eq!(v.raw, "v2.0.8-beta.67+build.1");
        assert_eq!(v.version, "2.0.8-beta.67");
        assert_eq!((v.major, v.minor, v.patch), (2, 0, 8));
        assert_eq!(v.prerelease, "beta,67");
        assert_eq!(v.build, "build,1");
        assert!(v.is_prerelease);
        let v = parse_semver("v1.2.3+build").unwrap();
        assert_eq!(v.version, "1.2.3");
        assert!(!v.is_prerelease);
    }

    #[test]
    fn pep440_normalises_like_the_documentation_table() {
        let cases = [
            ("1.2.3", "1.2.3", false),
            ("v1.2.3", "1.2.3", false),
            ("1.2.3rc2", "1.2.3rc2", true),
            ("1.2.3post1", "1.2.3.post1", true),
            ("1.2.3beta2", "1.2.3b2", true),
            ("1.0dev4", "1.0.dev4", true),
            ("1.1beta2", "1.1b2", true),
            ("1.2", "1.2", false),
        ];
        for (raw, version, special) in cases {
            let v = parse_pep440(raw).unwrap_or_else(|| panic!("{raw}"));
            assert_eq!(
                (v.version.as_str(), v.is_special),
                (version, special),
                "{raw}"
            );
        }
        assert!(parse_pep440("sometag").is_none());
        assert!(parse_pep440("release1").is_none());
    }

    #[test]
    fn pep440_parts_default_to_zero() {
        let v = parse_pep440("1.2").unwrap();
        assert_eq!((v.major, v.minor, v.patch), (1, 2, 0));
    }
}
