//! Which tags verify checks, and what each one is (release, rolling, floating) for `sync`.
//!
//! | `verify-tags`       | tag rules give tags | checked                                  |
//! |---------------------|---------------------|------------------------------------------|
//! | `v1.2.3, latest`    | any                 | `v1.2.3`, `latest`                       |
//! | `*`                 | any                 | every tag of the first image             |
//! | empty               | `v1.2.3`, `v1.2`    | those, with the kinds the rules gave     |
//! | empty               | none                | every tag of the first image             |
//!
//! Tags not produced by the rules are classified by name and by what the primary holds: a full
//! version is a release tag; a tag shaped like a rolling tag of a final release on the same
//! digest in the set is a rolling tag of the highest such version; anything else is floating.
//!
//! | tag (digest of `v1.2.3`) | kind              | why                                   |
//! |--------------------------|-------------------|---------------------------------------|
//! | `v1.2.3`, `1.2.3-rc.1`   | release           | a full version                        |
//! | `latest`, `latest-alpine`| rolling of 1.2.3  | no numbers, says `latest`             |
//! | `v1`, `1.2`, `v1-alpine` | rolling of 1.2.3  | its numbers are 1.2.3's major[.minor] |
//! | `main`, `edge`, `v2`     | floating          | not derived from 1.2.3                |

use crate::meta::version::parse_semver;
use crate::meta::{ComputedTag, TagKind, TagName};
use crate::registry::Digest;
use std::collections::BTreeMap;

/// `verify-tags: *`: every tag of the first image.
pub const ALL: &str = "*";

/// Where the tags to check come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// From the tag rules, kinds included.
    Computed(Vec<ComputedTag>),
    /// Named in `verify-tags`.
    Listed(Vec<String>),
    /// Every tag of the first image.
    All,
}

/// A tag being checked, with what publishing would treat it as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyTag {
    pub name: String,
    pub kind: TagKind,
    /// The version a release or rolling tag belongs to.
    pub version: Option<String>,
}

impl VerifyTag {
    /// The tag as the publish engine takes it.
    pub fn computed(&self) -> ComputedTag {
        ComputedTag {
            name: TagName::new_unchecked(self.name.clone()),
            kind: self.kind,
            rule: "verify sync".into(),
            version: self.version.clone(),
        }
    }
}

/// Picks the source of tags (see the module table).
pub fn select(verify_tags: &[String], computed: &[ComputedTag]) -> Selection {
    if verify_tags.iter().any(|t| t == ALL) {
        Selection::All
    } else if !verify_tags.is_empty() {
        Selection::Listed(verify_tags.to_vec())
    } else if !computed.is_empty() {
        Selection::Computed(computed.to_vec())
    } else {
        Selection::All
    }
}

/// The tags of a computed selection, as they are.
pub fn from_computed(computed: &[ComputedTag]) -> Vec<VerifyTag> {
    computed
        .iter()
        .map(|t| VerifyTag {
            name: t.name.to_string(),
            kind: t.kind,
            version: t.version.clone(),
        })
        .collect()
}

/// Classifies named tags by name and by where they point in the primary (see the module docs).
/// `primary` maps each name to its digest in the primary, `None` when absent. Sorted by name,
/// duplicates removed.
pub fn classify(primary: &BTreeMap<String, Option<Digest>>) -> Vec<VerifyTag> {
    // Digest -> the highest final release on it.
    let mut releases: BTreeMap<&Digest, (u64, u64, u64, String)> = BTreeMap::new();
    for (name, digest) in primary {
        let (Some(digest), Some(v)) = (digest, parse_semver(name)) else {
            continue;
        };
        if v.is_prerelease {
            continue;
        }
        let key = (v.major, v.minor, v.patch, v.version);
        match releases.get(digest) {
            Some(best) if *best >= key => {}
            _ => {
                releases.insert(digest, key);
            }
        }
    }
    primary
        .iter()
        .map(|(name, digest)| {
            if let Some(v) = parse_semver(name) {
                return VerifyTag {
                    name: name.clone(),
                    kind: TagKind::Release,
                    version: Some(v.version),
                };
            }
            match digest.as_ref().and_then(|d| releases.get(d)) {
                Some((major, minor, _, version)) if rolling_shape(name, *major, *minor) => {
                    VerifyTag {
                        name: name.clone(),
                        kind: TagKind::Rolling,
                        version: Some(version.clone()),
                    }
                }
                _ => VerifyTag {
                    name: name.clone(),
                    kind: TagKind::Floating,
                    version: None,
                },
            }
        })
        .collect()
}

/// Whether `name` looks like a rolling tag of version `major.minor.x`: its digit groups are
/// `[major]` or `[major, minor]`, or it has none and says `latest`.
fn rolling_shape(name: &str, major: u64, minor: u64) -> bool {
    let numbers: Vec<u64> = name
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap_or(u64::MAX))
        .collect();
    match numbers.as_slice() {
        [] => name.contains("latest"),
        [m] => *m == major,
        [m, n] => *m == major && *n == minor,
        _ => false,
    }
}
