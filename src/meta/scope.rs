//! The values templates can use: global expressions (`{{branch}}`, `{{date 'YYYYMMDD'}}`, ...)
//! and the version fields of `type=semver` / `type=pep440` patterns.

use super::expr::{ExprError, Scope};
use super::moment;
use super::version::{Pep440Parts, SemverParts};
use crate::context::Context;

/// The names [`GlobalScope`] knows. Keep in step with its `value` (a test checks each one).
pub const GLOBAL_NAMES: &[&str] = &[
    "branch",
    "tag",
    "sha",
    "base_ref",
    "is_default_branch",
    "is_not_default_branch",
    "date",
    "commit_date",
];

/// The names of a `type=semver` pattern ([`SemverParts`]).
pub const SEMVER_NAMES: &[&str] = &[
    "raw",
    "version",
    "major",
    "minor",
    "patch",
    "prerelease",
    "build",
];

/// The names of a `type=pep440` pattern ([`Pep440Parts`]).
pub const PEP440_NAMES: &[&str] = &["raw", "version", "major", "minor", "patch"];

/// Global expressions, available in `prefix`, `suffix`, `value`, `enable`, schedule patterns,
/// labels and annotations.
pub struct GlobalScope<'a> {
    pub ctx: &'a Context,
    pub now: jiff::Timestamp,
    pub short_sha_length: usize,
}

impl GlobalScope<'_> {
    pub fn short_sha(&self) -> &str {
        let sha = &self.ctx.sha;
        sha.get(..self.short_sha_length.min(sha.len()))
            .unwrap_or(sha)
    }

    pub fn branch(&self) -> Option<&str> {
        self.ctx.git_ref.strip_prefix("refs/heads/")
    }

    fn is_default_branch(&self) -> bool {
        let branch = self
            .ctx
            .git_ref
            .strip_prefix("refs/heads/")
            .unwrap_or(&self.ctx.git_ref);
        if branch.is_empty() {
            return false;
        }
        if self.ctx.default_branch.as_deref() == Some(branch) {
            return true;
        }
        let event = &self.ctx.event_name;
        ["create", "discussion", "issues", "schedule"]
            .iter()
            .any(|e| event.contains(e))
    }

    fn base_ref(&self) -> String {
        let git_ref = &self.ctx.git_ref;
        if git_ref.starts_with("refs/tags/") {
            if let Some(base) = &self.ctx.push_base_ref {
                return base.strip_prefix("refs/heads/").unwrap_or(base).to_string();
            }
        }
        if git_ref.starts_with("refs/pull/") {
            if let Some(base) = &self.ctx.pr_base_ref {
                return base.clone();
            }
        }
        String::new()
    }

    fn date(
        &self,
        at: jiff::Timestamp,
        name: &str,
        args: &[String],
        hash: &[(String, String)],
    ) -> Result<String, ExprError> {
        let mut tz = "UTC";
        for (key, value) in hash {
            match key.as_str() {
                "tz" => tz = value,
                other => {
                    return Err(ExprError(format!(
                        "unknown attribute `{other}` for `{name}`; expected tz='<zone>'"
                    )));
                }
            }
        }
        let zone = moment::time_zone(tz).map_err(|e| ExprError(e.to_string()))?;
        let zoned = at.to_zoned_datetime(zone);
        // No format: moment's default, which writes a zero offset as `Z` (its UTC form).
        let default = match zoned.offset().seconds() {
            0 => "YYYY-MM-DDTHH:mm:ss[Z]",
            _ => "YYYY-MM-DDTHH:mm:ssZ",
        };
        let format = args.first().map_or(default, String::as_str);
        Ok(moment::format(&zoned, format))
    }
}

impl Scope for GlobalScope<'_> {
    fn value(
        &self,
        name: &str,
        args: &[String],
        hash: &[(String, String)],
    ) -> Result<Option<String>, ExprError> {
        let bool_str = |b: bool| if b { "true" } else { "false" }.to_string();
        Ok(Some(match name {
            "branch" => self.branch().unwrap_or_default().to_string(),
            "tag" => self
                .ctx
                .git_ref
                .strip_prefix("refs/tags/")
                .unwrap_or_default()
                .to_string(),
            "sha" => self.short_sha().to_string(),
            "base_ref" => self.base_ref(),
            "is_default_branch" => bool_str(self.is_default_branch()),
            "is_not_default_branch" => bool_str(!self.is_default_branch()),
            "date" => self.date(self.now, name, args, hash)?,
            "commit_date" => {
                self.date(self.ctx.commit_date.unwrap_or(self.now), name, args, hash)?
            }
            _ => return Ok(None),
        }))
    }
}

impl Scope for SemverParts {
    fn value(
        &self,
        name: &str,
        _: &[String],
        _: &[(String, String)],
    ) -> Result<Option<String>, ExprError> {
        Ok(match name {
            "raw" => Some(self.raw.clone()),
            "version" => Some(self.version.clone()),
            "major" => Some(self.major.to_string()),
            "minor" => Some(self.minor.to_string()),
            "patch" => Some(self.patch.to_string()),
            "prerelease" => Some(self.prerelease.clone()),
            "build" => Some(self.build.clone()),
            _ => None,
        })
    }
}

impl Scope for Pep440Parts {
    fn value(
        &self,
        name: &str,
        _: &[String],
        _: &[(String, String)],
    ) -> Result<Option<String>, ExprError> {
        Ok(match name {
            "raw" => Some(self.raw.clone()),
            "version" => Some(self.version.clone()),
            "major" => Some(self.major.to_string()),
            "minor" => Some(self.minor.to_string()),
            "patch" => Some(self.patch.to_string()),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::version::{parse_pep440, parse_semver};

    fn known(scope: &dyn Scope, names: &[&str]) {
        for name in names {
            assert!(scope.value(name, &[], &[]).unwrap().is_some(), "{name}");
        }
        assert_eq!(scope.value("versoin", &[], &[]).unwrap(), None);
    }

    /// The name lists `placeholders` checks against are exactly what the scopes render.
    #[test]
    fn name_lists_match_the_scopes() {
        let ctx = Context::default();
        let global = GlobalScope {
            ctx: &ctx,
            now: jiff::Timestamp::UNIX_EPOCH,
            short_sha_length: 7,
        };
        known(&global, GLOBAL_NAMES);
        known(&parse_semver("1.2.3-rc.1+b5").unwrap(), SEMVER_NAMES);
        known(&parse_pep440("1.2.3").unwrap(), PEP440_NAMES);
    }
}
