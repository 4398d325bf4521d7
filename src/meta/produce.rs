//! What each kind of tag rule yields for the event: the value, its kind, its version and its
//! opinion on `latest`, before prefix, suffix and sanitizing (which `compute` applies).

use super::TagKind;
use super::compute::{Produced, Run};
use super::error::MetaError;
use super::expr::{self, Scope, Template};
use super::rule::{RefEvent, RuleKind, ShaFormat, TagRule};
use super::version::{VersionKey, parse_pep440, parse_semver};

impl Run<'_> {
    /// What one enabled rule yields for this event, before prefix/suffix.
    pub(super) fn produce(&mut self, rule: &TagRule) -> Result<Option<Produced>, MetaError> {
        let ctx = self.scope.ctx;
        match &rule.kind {
            RuleKind::Schedule { pattern } => {
                if !ctx.event_name.contains("schedule") {
                    return Ok(None);
                }
                Ok(floating(self.render(pattern, rule)?))
            }
            RuleKind::Semver {
                pattern,
                value,
                matcher,
            }
            | RuleKind::Pep440 {
                pattern,
                value,
                matcher,
            } => self.produce_version(pattern, value, matcher, rule),
            RuleKind::Match {
                pattern,
                group,
                value,
            } => self.produce_match(pattern, *group, value, rule),
            RuleKind::Ref { event } => Ok(self.produce_ref(*event)),
            RuleKind::Edge { branch } => Ok(self.produce_edge(branch, rule)),
            RuleKind::Raw { value } => {
                let value = self.render(value, rule)?;
                if value == "latest" {
                    // `latest` is the newest release's tag however it is asked for: it moves
                    // only forward, as flavor `latest=auto`'s does.
                    Ok(Some(Produced {
                        value,
                        kind: TagKind::Rolling,
                        version: None,
                        latest: false,
                    }))
                } else {
                    Ok(Some(classify(value, false)))
                }
            }
            RuleKind::Sha { format } => {
                if ctx.sha.is_empty() {
                    return Ok(None);
                }
                let sha = match format {
                    ShaFormat::Short => self.scope.short_sha().to_string(),
                    ShaFormat::Long => ctx.sha.clone(),
                };
                Ok(floating(sha))
            }
        }
    }

    /// `type=semver` and `type=pep440`: the version read by [`Run::version_source`], formatted by
    /// `pattern`.
    fn produce_version(
        &mut self,
        pattern: &str,
        value: &str,
        matcher: &str,
        rule: &TagRule,
    ) -> Result<Option<Produced>, MetaError> {
        let Some(raw) = self.version_source(value, matcher, rule)? else {
            return Ok(None);
        };
        let template =
            Template::parse(pattern).map_err(|e| MetaError::line("tags", &rule.line, e.0))?;
        if matches!(rule.kind, RuleKind::Pep440 { .. }) {
            self.pep440(&raw, &template, rule)
        } else {
            self.semver(&raw, &template, rule)
        }
    }

    /// `type=match`: a group of `pattern` in `value=` or the pushed tag.
    fn produce_match(
        &mut self,
        pattern: &str,
        group: usize,
        value: &str,
        rule: &TagRule,
    ) -> Result<Option<Produced>, MetaError> {
        let source = if !value.is_empty() {
            self.render(value, rule)?
        } else if let Some(t) = self.scope.ctx.git_ref.strip_prefix("refs/tags/") {
            t.to_string()
        } else {
            return Ok(None);
        };
        let matched = self.regex_group(pattern, &source, group, rule)?;
        Ok(matched.map(|m| classify(m, true)))
    }

    /// `type=ref`: the branch, the tag or the pull request number the event's ref names.
    fn produce_ref(&self, event: RefEvent) -> Option<Produced> {
        let git_ref = self.scope.ctx.git_ref.as_str();
        match event {
            RefEvent::Branch => git_ref
                .strip_prefix("refs/heads/")
                .and_then(|branch| floating(branch.to_string())),
            RefEvent::Tag => git_ref
                .strip_prefix("refs/tags/")
                .map(|t| classify(t.to_string(), true)),
            RefEvent::Pr => git_ref
                .strip_prefix("refs/pull/")
                .and_then(|pr| floating(pr.strip_suffix("/merge").unwrap_or(pr).to_string())),
        }
    }

    /// `type=edge`: `edge` on `branch=`, or on the default branch without one.
    fn produce_edge(&mut self, branch: &str, rule: &TagRule) -> Option<Produced> {
        let ctx = self.scope.ctx;
        let current = ctx.git_ref.strip_prefix("refs/heads/")?;
        let target = if branch.is_empty() {
            ctx.default_branch.as_deref()
        } else {
            Some(branch)
        };
        match target {
            Some(target) if target == current => floating("edge".into()),
            Some(_) => None,
            None => {
                self.warnings.push(format!("`{}`: the default branch is unknown (no repository in the event payload); set `branch=`", rule.line.text));
                None
            }
        }
    }

    /// The version text a semver/pep440 rule reads: `value=` or the pushed tag, narrowed by `match=`.
    fn version_source(
        &mut self,
        value: &str,
        matcher: &str,
        rule: &TagRule,
    ) -> Result<Option<String>, MetaError> {
        let mut raw = if !value.is_empty() {
            self.render(value, rule)?
        } else if let Some(t) = self.scope.ctx.git_ref.strip_prefix("refs/tags/") {
            t.to_string()
        } else {
            return Ok(None);
        };
        if !matcher.is_empty() {
            if let Some(group) = self.regex_group(matcher, &raw, 1, rule)? {
                raw = group;
            }
        }
        Ok(Some(raw.replace('/', "-")))
    }

    fn semver(
        &mut self,
        raw: &str,
        pattern: &Template,
        rule: &TagRule,
    ) -> Result<Option<Produced>, MetaError> {
        let Some(parts) = parse_semver(raw) else {
            self.warnings.push(format!("`{raw}` is not a valid semver version, so `{}` made no tag (see https://semver.org)", rule.line.text));
            return Ok(None);
        };
        Ok(Some(version_tag(
            pattern,
            &parts,
            &parts.raw,
            &parts.version,
            parts.is_prerelease,
            rule,
        )?))
    }

    fn pep440(
        &mut self,
        raw: &str,
        pattern: &Template,
        rule: &TagRule,
    ) -> Result<Option<Produced>, MetaError> {
        let Some(parts) = parse_pep440(raw) else {
            self.warnings.push(format!("`{raw}` does not conform to PEP 440, so `{}` made no tag (see https://peps.python.org/pep-0440/)", rule.line.text));
            return Ok(None);
        };
        Ok(Some(version_tag(
            pattern,
            &parts,
            &parts.raw,
            &parts.version,
            parts.is_special,
            rule,
        )?))
    }

    /// JavaScript `String.prototype.match` semantics: `/re/flags` or a bare pattern; the group's
    /// text, or `None` with a warning when there is no match or no such group.
    fn regex_group(
        &mut self,
        pattern: &str,
        text: &str,
        group: usize,
        rule: &TagRule,
    ) -> Result<Option<String>, MetaError> {
        let regex = js_regex(pattern).map_err(|e| MetaError::line("tags", &rule.line, e))?;
        let captures = regex.captures(text).map_err(|e| {
            MetaError::line(
                "tags",
                &rule.line,
                format!("pattern `{pattern}` failed on `{text}`: {e}"),
            )
        })?;
        let Some(captures) = captures else {
            self.warnings
                .push(format!("pattern `{pattern}` does not match `{text}`"));
            return Ok(None);
        };
        match captures.get(group) {
            Some(m) => Ok(Some(m.as_str().to_string())),
            None => {
                self.warnings.push(format!(
                    "group {group} does not exist in pattern `{pattern}` for `{text}`"
                ));
                Ok(None)
            }
        }
    }
}

/// The tag a semver/pep440 rule yields for a valid version. A pre-, post- or dev-release (`special`)
/// only gets its full version (or `{{raw}}` when the pattern is exactly that) and never `latest`;
/// otherwise the pattern decides, and a pattern rendering the full version is a release tag.
fn version_tag(
    pattern: &Template,
    fields: &dyn Scope,
    raw: &str,
    version: &str,
    special: bool,
    rule: &TagRule,
) -> Result<Produced, MetaError> {
    let full = Some(version.to_string());
    if special {
        let value = if pattern.is_raw_statement() {
            raw.to_string()
        } else {
            version.to_string()
        };
        return Ok(Produced {
            value,
            kind: TagKind::Release,
            version: full,
            latest: false,
        });
    }
    let value = render_template(pattern, fields, rule)?;
    let kind = if value == version || value == raw {
        TagKind::Release
    } else {
        TagKind::Rolling
    };
    Ok(Produced {
        value,
        kind,
        version: full,
        latest: true,
    })
}

/// A tag that simply names a branch, a pull request, a sha or a schedule: it moves with each run
/// and has no opinion on `latest`.
fn floating(value: String) -> Option<Produced> {
    Some(Produced {
        value,
        kind: TagKind::Floating,
        version: None,
        latest: false,
    })
}

/// A value that is a full version (`v1.2.3`, however it was produced) is an immutable release tag.
/// Another version-like value (`2.0`, `v3`, `2024.12.1`: see [`VersionKey`]) is a floating tag
/// that still names the run's version, so a `latest` beside it moves only forward.
fn classify(value: String, latest: bool) -> Produced {
    match parse_semver(&value) {
        Some(parts) => Produced {
            value,
            kind: TagKind::Release,
            version: Some(parts.version),
            latest,
        },
        None => {
            let version = VersionKey::parse(&value)
                .filter(|v| !v.is_prerelease())
                .map(|_| value.clone());
            Produced {
                value,
                kind: TagKind::Floating,
                version,
                latest,
            }
        }
    }
}

pub(super) fn render_with(
    template: &str,
    scope: &dyn Scope,
    rule: &TagRule,
) -> Result<String, MetaError> {
    expr::render(template, scope).map_err(|e| MetaError::line("tags", &rule.line, e.0))
}

fn render_template(
    template: &Template,
    scope: &dyn Scope,
    rule: &TagRule,
) -> Result<String, MetaError> {
    template
        .render(scope)
        .map_err(|e| MetaError::line("tags", &rule.line, e.0))
}

/// Compiles a JavaScript regular expression: `/source/flags` or a bare source.
fn js_regex(pattern: &str) -> Result<fancy_regex::Regex, String> {
    let (source, flags) = match pattern.strip_prefix('/').and_then(|p| p.rsplit_once('/')) {
        Some((source, flags)) if !source.is_empty() => (source, flags),
        _ => (pattern, ""),
    };
    let mut inline = String::new();
    for flag in flags.chars() {
        match flag {
            'i' | 'm' | 's' => inline.push(flag),
            'g' | 'y' | 'u' | 'd' | 'v' => {}
            other => {
                return Err(format!(
                    "invalid regular expression flag `{other}` in `{pattern}`; expected i, m, s, g, u or y"
                ));
            }
        }
    }
    let full = if inline.is_empty() {
        source.to_string()
    } else {
        format!("(?{inline}){source}")
    };
    fancy_regex::Regex::new(&full)
        .map_err(|e| format!("invalid regular expression `{pattern}`: {e}"))
}
