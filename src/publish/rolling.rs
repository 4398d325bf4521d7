//! Forward-only rolling tags: `v1.2`, `v1`, `latest` (and their prefix/suffix forms) move to this
//! run's version unless the repository already holds a newer version in the tag's scope; and,
//! once written, each is read back and settled on the newest version ([`settle`]).
//!
//! A version is any version-like tag ([`VersionKey`]: `1.2.3`, `2.0`, `v3`, `2024.12.1`), read
//! from the repository's tag names in every form this run writes its own version tags in: bare
//! (`2.6`, `v1.2.3`) and wrapped the same way (`v1.2.3-alpine`, `api-1.2.3`), so a suffixed
//! hotfix sees the suffixed releases. A tag in any of these forms counts, which errs towards
//! holding a tag rather than moving it back. Pre-releases never count and never move a tag.
//!
//! Two runs publishing at once can both see no newer version and both write `latest`, the older
//! last. So a run that wrote a rolling tag reads back the listing and where the tag points, and
//! [`settle`] says where it belongs: on the image of the newest version in its scope. Every run
//! writes its version tags before its rolling tags, so the run that writes a rolling tag last
//! sees every version written before, and its read-back puts the tag on the newest of them.

use super::plan::TagDecision;
use super::reason::Hold;
use crate::meta::version::{VersionKey, parse_semver};
use crate::meta::{ComputedTag, TagKind};
use crate::registry::Digest;
use std::collections::{BTreeMap, BTreeSet};

/// What part of the version line a rolling tag follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    All,
    Major(u64),
    Minor(u64, u64),
}

impl Scope {
    fn holds(self, v: &VersionKey) -> bool {
        match self {
            Scope::All => true,
            Scope::Major(m) => v.major() == m,
            Scope::Minor(m, n) => v.major() == m && v.minor() == n,
        }
    }
}

/// The text around the version in a version tag: `v` and `-alpine` in `v1.2.3-alpine`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Wrapping {
    prefix: String,
    suffix: String,
}

impl Wrapping {
    /// The version inside `tag`, if `tag` is wrapped this way.
    fn unwrap<'t>(&self, tag: &'t str) -> Option<&'t str> {
        tag.strip_prefix(self.prefix.as_str())?
            .strip_suffix(self.suffix.as_str())
            .filter(|middle| !middle.is_empty())
    }
}

/// The forms in which this run's version tags (release tags, and version-like floating tags
/// such as a raw `2.0`) name a version, bare first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionForms(Vec<Wrapping>);

impl Default for VersionForms {
    /// Only the bare form.
    fn default() -> Self {
        VersionForms(vec![Wrapping::default()])
    }
}

impl VersionForms {
    pub fn of(tags: &[ComputedTag]) -> Self {
        let mut forms = VersionForms::default().0;
        for tag in tags.iter().filter(|t| t.kind != TagKind::Rolling) {
            let Some(version) = tag.version.as_deref() else {
                continue;
            };
            let name = tag.name.as_str();
            let Some(at) = name.find(version) else {
                continue;
            };
            let form = Wrapping {
                prefix: name[..at].to_string(),
                suffix: name[at + version.len()..].to_string(),
            };
            if !forms.contains(&form) {
                forms.push(form);
            }
        }
        VersionForms(forms)
    }

    /// The stable version `tag` names in one of these forms.
    fn version_in(&self, tag: &str) -> Option<VersionKey> {
        self.0
            .iter()
            .find_map(|form| VersionKey::parse(form.unwrap(tag)?).filter(|v| !v.is_prerelease()))
    }

    /// `name` without the wrapping of a non-bare form it carries, the prefix and the suffix each
    /// where present: `v1-alpine` -> `1`, `latest-alpine3.19` -> `latest`.
    fn unwrapped<'n>(&self, name: &'n str) -> &'n str {
        self.0
            .iter()
            .filter(|form| **form != Wrapping::default())
            .find_map(|form| {
                let rest = name.strip_prefix(form.prefix.as_str()).unwrap_or(name);
                let rest = rest.strip_suffix(form.suffix.as_str()).unwrap_or(rest);
                (rest != name && !rest.is_empty()).then_some(rest)
            })
            .unwrap_or(name)
    }

    /// The tags in `listing` naming a version newer than `ours` in the scope of rolling tag
    /// `name`, newest first; of equal versions (`v2.5.0` and the rolling `v2.5`), a release
    /// first, then by name, so the order is the same for every run.
    fn newer<'l>(
        &self,
        name: &str,
        ours: &VersionKey,
        listing: &'l BTreeSet<String>,
    ) -> Vec<(&'l str, VersionKey)> {
        let scope = scope_of(self.unwrapped(name), ours.major(), ours.minor());
        let mut newer: Vec<(&str, VersionKey)> = listing
            .iter()
            .filter_map(|tag| self.version_in(tag).map(|v| (tag.as_str(), v)))
            .filter(|(_, v)| scope.holds(v) && v > ours)
            .collect();
        newer.sort_by(|a, b| {
            b.1.cmp(&a.1)
                .then_with(|| self.is_release(b.0).cmp(&self.is_release(a.0)))
                .then_with(|| a.0.cmp(b.0))
        });
        newer
    }
}

/// Push `name` (a rolling tag of `version`) unless `existing` holds a newer version in its scope.
pub fn decide(
    name: &str,
    version: Option<&str>,
    existing: Option<&BTreeSet<String>>,
    forms: &VersionForms,
) -> TagDecision {
    let Some(ours) = version.and_then(VersionKey::parse) else {
        return TagDecision::Push; // a run that publishes no version simply sets its tags
    };
    if ours.is_prerelease() {
        return TagDecision::Held(Hold::PreRelease);
    }
    let Some(existing) = existing else {
        return TagDecision::Held(Hold::Unlisted);
    };
    match forms.newer(name, &ours, existing).first() {
        Some((tag, _)) => TagDecision::Held(Hold::Newer {
            tag: name.to_string(),
            newer: tag.to_string(),
            release: forms.is_release(tag),
        }),
        None => TagDecision::Push,
    }
}

impl VersionForms {
    /// `tag` is a full version (`v1.2.3-alpine`) in one of these forms.
    fn is_release(&self, tag: &str) -> bool {
        self.0
            .iter()
            .any(|form| form.unwrap(tag).and_then(parse_semver).is_some())
    }
}

/// What a run reads back after writing rolling tag `name`: the repository's tags, and where
/// `name` and the tags [`to_read_back`] names point (a tag missing from `digests` is gone).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadBack {
    pub tags: BTreeSet<String>,
    pub digests: BTreeMap<String, Digest>,
}

/// The tags whose digests [`settle`] needs: `name` itself and the newer versions in its scope.
pub fn to_read_back(
    name: &str,
    version: &str,
    forms: &VersionForms,
    listing: &BTreeSet<String>,
) -> Vec<String> {
    let newer = VersionKey::parse(version)
        .map(|ours| forms.newer(name, &ours, listing))
        .unwrap_or_default();
    std::iter::once(name.to_string())
        .chain(newer.into_iter().map(|(tag, _)| tag.to_string()))
        .collect()
}

/// Where a rolling tag this run wrote belongs, read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settle {
    /// It is on the newest version in its scope (or on an image carrying a version at least as
    /// new): nothing to do.
    Settled,
    /// Put it on `digest`, the image of version tag `version` (`None`: this run's own version,
    /// which a concurrent publish of an older one overwrote).
    Move {
        digest: Digest,
        version: Option<String>,
    },
}

/// Where rolling tag `name`, written by this run for `version` on image `ours`, belongs after
/// reading back `now`:
///
/// | where `name` points now                          | newest version in scope | result          |
/// |--------------------------------------------------|-------------------------|-----------------|
/// | the newest version's image                       | any                     | settled         |
/// | an image carrying a version at least as new      | any                     | settled         |
/// | anything else (ours, an older one's, unversioned, gone) | ours             | move to ours    |
/// | anything else                                    | `1.3.0`, newer than ours | move to `1.3.0`'s image |
///
/// "Carrying" is read from the newer version tags' digests; an image whose only versions are
/// older than ours, or that carries none (a run without a version set it meanwhile), counts
/// as older: the tag goes to the newest version, whichever run reads back last.
pub fn settle(
    name: &str,
    version: &str,
    ours: &Digest,
    forms: &VersionForms,
    now: &ReadBack,
) -> Settle {
    let Some(our_version) = VersionKey::parse(version) else {
        return Settle::Settled; // no version: the tag was simply set
    };
    let newer: Vec<(&str, VersionKey, &Digest)> = forms
        .newer(name, &our_version, &now.tags)
        .into_iter()
        .filter_map(|(tag, v)| now.digests.get(tag).map(|d| (tag, v, d)))
        .collect();
    let (best_digest, best_tag) = match newer.first() {
        Some((tag, _, digest)) => (*digest, Some(tag.to_string())),
        None => (ours, None),
    };
    let current = now.digests.get(name);
    if current == Some(best_digest) {
        return Settle::Settled;
    }
    // The newest version the current image carries, when it is newer than ours.
    let carried = newer
        .iter()
        .find(|(_, _, digest)| Some(*digest) == current)
        .map(|(_, v, _)| v);
    let best_version = newer.first().map(|(_, v, _)| v);
    if carried.is_some() && carried >= best_version {
        return Settle::Settled;
    }
    Settle::Move {
        digest: best_digest.clone(),
        version: best_tag,
    }
}

/// `v1.2` follows 1.2.x, `v1` follows 1.x, `latest` (or anything without the version's numbers)
/// follows all.
pub(crate) fn scope_of(name: &str, major: u64, minor: u64) -> Scope {
    let numbers: Vec<u64> = name
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse().ok())
        .collect();
    if numbers.windows(2).any(|w| w == [major, minor]) {
        Scope::Minor(major, minor)
    } else if numbers.contains(&major) {
        Scope::Major(major)
    } else {
        Scope::All
    }
}

#[cfg(test)]
#[path = "rolling_tests.rs"]
mod tests;
