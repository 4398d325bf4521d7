//! Forward-only rolling tags: `v1.2`, `v1`, `latest` (and their prefix/suffix forms) move to this
//! run's version unless the repository already holds a newer release in the tag's scope.
//!
//! The repository's releases are read from its tag names in every form this run writes its own
//! release tags in: bare (`1.2.3`, `v1.2.3`) and wrapped the same way (`v1.2.3-alpine`,
//! `api-1.2.3`), so a suffixed hotfix sees the suffixed releases. A tag in any of these forms
//! counts, which errs towards holding a tag rather than moving it back.

use super::plan::TagDecision;
use crate::meta::version::parse_semver;
use crate::meta::{ComputedTag, TagKind};
use std::collections::BTreeSet;

/// What part of the version line a rolling tag follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    All,
    Major(u64),
    Minor(u64, u64),
}

/// The text around the version in a release tag: `v` and `-alpine` in `v1.2.3-alpine`.
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

/// The forms in which this run's release tags name a version, bare first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseForms(Vec<Wrapping>);

impl ReleaseForms {
    pub fn of(tags: &[ComputedTag]) -> Self {
        let mut forms = vec![Wrapping::default()];
        for tag in tags.iter().filter(|t| t.kind == TagKind::Release) {
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
        ReleaseForms(forms)
    }

    /// The stable release `tag` names in one of these forms, as (major, minor, patch).
    fn release_in(&self, tag: &str) -> Option<(u64, u64, u64)> {
        self.0.iter().find_map(|form| {
            parse_semver(form.unwrap(tag)?)
                .filter(|v| !v.is_prerelease)
                .map(|v| (v.major, v.minor, v.patch))
        })
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
}

/// Push `name` (a rolling tag of `version`) unless `existing` holds a newer release in its scope.
pub fn decide(
    name: &str,
    version: Option<&str>,
    existing: Option<&BTreeSet<String>>,
    forms: &ReleaseForms,
) -> TagDecision {
    let Some(version) = version.and_then(parse_semver) else {
        return TagDecision::Push; // a run that publishes no version simply sets its tags
    };
    if version.is_prerelease {
        return TagDecision::Held("pre-releases never move rolling tags".into());
    }
    let Some(existing) = existing else {
        return TagDecision::Held(
            "the repository's tags could not be listed, so a newer release cannot be ruled out"
                .into(),
        );
    };
    let scope = scope_of(forms.unwrapped(name), version.major, version.minor);
    let ours = (version.major, version.minor, version.patch);
    let newer = existing
        .iter()
        .filter_map(|tag| forms.release_in(tag).map(|v| (tag, v)))
        .filter(|(_, v)| match scope {
            Scope::All => true,
            Scope::Major(m) => v.0 == m,
            Scope::Minor(m, n) => v.0 == m && v.1 == n,
        })
        .filter(|(_, v)| *v > ours)
        .max_by_key(|(_, v)| *v);
    match newer {
        Some((tag, _)) => TagDecision::Held(format!(
            "`{tag}` is a newer release, so `{name}` stays where it is"
        )),
        None => TagDecision::Push,
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
