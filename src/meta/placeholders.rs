//! Unknown placeholders: rules + list inputs -> warnings, before any template is rendered.
//!
//! A name a template's scope does not know (`{{versoin}}`) renders as an empty string, as
//! Handlebars (so docker/metadata-action) renders it, which silently drops part of a tag:
//! `type=raw,value=x-{{versoin}}` yields `x-`. Rendering stays compatible; this finds every such
//! name, in every rule whether or not it is enabled for this event, so the run can warn.
//!
//! | template                                                   | known names        |
//! |------------------------------------------------------------|--------------------|
//! | `pattern=` of `type=semver`                                | [`SEMVER_NAMES`]   |
//! | `pattern=` of `type=pep440`                                | [`PEP440_NAMES`]   |
//! | `value=`, `prefix=`, `suffix=`, `enable=`, schedule's      | [`GLOBAL_NAMES`]   |
//! | `pattern=`; `flavor`, `labels` and `annotations` lines     |                    |

use std::fmt;

use super::compute::TagInputs;
use super::expr::Template;
use super::rule::{RuleKind, TagRule};
use super::scope::{GLOBAL_NAMES, PEP440_NAMES, SEMVER_NAMES};
use crate::lines::InputLine;

/// A placeholder its template's scope does not know: it renders as an empty string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownPlaceholder {
    pub input: &'static str,
    pub line: InputLine,
    /// The unknown name (`versoin` for `{{versoin}}`).
    pub name: String,
    /// Where it is, when that decides the known names (`a type=semver pattern`).
    pub place: Option<&'static str>,
    /// The names that template could use.
    pub known: &'static [&'static str],
    /// An unquoted argument of `name` (`YYYY-MM-DD` in `{{commit_date YYYY-MM-DD}}`): Handlebars
    /// looks it up as a name, finds nothing, and the helper renders as if it were not given.
    pub unquoted: Option<String>,
}

impl fmt::Display for UnknownPlaceholder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(word) = &self.unquoted {
            return write!(
                f,
                "input `{}`, line {}: `{word}` in `{{{{{} {word}}}}}` is unquoted, so it is an \
                 undefined name and renders as the default (ISO 8601 for a date), as in \
                 docker/metadata-action; for the format write `{{{{{} '{word}'}}}}`",
                self.input, self.line.number, self.name, self.name
            );
        }
        let place = self.place.map(|p| format!(" in {p}")).unwrap_or_default();
        write!(
            f,
            "input `{}`, line {}: `{{{{{}}}}}` is not a known placeholder{place}, so it renders as \
             empty in `{}`; known placeholders: {}",
            self.input,
            self.line.number,
            self.name,
            self.line.text,
            self.known.join(", ")
        )
    }
}

/// Every unknown placeholder of the `tags` rules, then of the `flavor`, `labels` and
/// `annotations` lines, in line order; a name is reported once per line and place. A template
/// that does not parse is skipped here: rendering it reports the error.
pub fn unknown_placeholders(rules: &[TagRule], inputs: &TagInputs) -> Vec<UnknownPlaceholder> {
    let mut found = Found::default();
    let mut by_line: Vec<&TagRule> = rules.iter().collect();
    by_line.sort_by_key(|rule| rule.line.number);
    for rule in by_line {
        let line = &rule.line;
        let global = [
            Some(&rule.enable),
            rule.prefix.as_ref(),
            rule.suffix.as_ref(),
        ];
        for template in global.into_iter().flatten() {
            found.check("tags", line, template, None, GLOBAL_NAMES);
        }
        match &rule.kind {
            RuleKind::Schedule { pattern } => {
                found.check("tags", line, pattern, None, GLOBAL_NAMES);
            }
            RuleKind::Semver { pattern, value, .. } => {
                found.check("tags", line, value, None, GLOBAL_NAMES);
                let place = Some("a type=semver pattern");
                found.check("tags", line, pattern, place, SEMVER_NAMES);
            }
            RuleKind::Pep440 { pattern, value, .. } => {
                found.check("tags", line, value, None, GLOBAL_NAMES);
                let place = Some("a type=pep440 pattern");
                found.check("tags", line, pattern, place, PEP440_NAMES);
            }
            RuleKind::Match { value, .. } | RuleKind::Raw { value } => {
                found.check("tags", line, value, None, GLOBAL_NAMES);
            }
            RuleKind::Edge { .. } | RuleKind::Ref { .. } | RuleKind::Sha { .. } => {}
        }
    }
    for (input, lines) in [
        ("flavor", &inputs.flavor),
        ("labels", &inputs.labels),
        ("annotations", &inputs.annotations),
    ] {
        for line in lines {
            found.check(input, line, &line.text, None, GLOBAL_NAMES);
        }
    }
    found.0
}

#[derive(Default)]
struct Found(Vec<UnknownPlaceholder>);

impl Found {
    fn check(
        &mut self,
        input: &'static str,
        line: &InputLine,
        template: &str,
        place: Option<&'static str>,
        known: &'static [&'static str],
    ) {
        if !template.contains("{{") {
            return;
        }
        let Ok(template) = Template::parse(template) else {
            return;
        };
        let unknown = template
            .names()
            .filter(|name| !known.contains(name))
            .map(|name| (name, None));
        let unquoted = template
            .unquoted_args()
            .map(|(name, word)| (name, Some(word.to_owned())));
        for (name, unquoted) in unknown.chain(unquoted) {
            let found = UnknownPlaceholder {
                input,
                line: line.clone(),
                name: name.to_owned(),
                place,
                known,
                unquoted,
            };
            if !self.0.contains(&found) {
                self.0.push(found);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lines::input_lines;
    use crate::meta::rule::parse_rules;

    fn warnings(tags: &str, flavor: &str, labels: &str) -> Vec<String> {
        let inputs = TagInputs {
            tags: input_lines(tags),
            flavor: input_lines(flavor),
            labels: input_lines(labels),
            ..TagInputs::default()
        };
        let rules = parse_rules(&inputs.tags).unwrap();
        unknown_placeholders(&rules, &inputs)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    /// Regression: `type=raw,value=x-{{versoin}}` silently made the tag `x-`.
    #[test]
    fn a_misspelt_placeholder_is_named_with_its_line_and_the_known_names() {
        assert_eq!(
            warnings("type=sha\ntype=raw,value=x-{{versoin}}", "", ""),
            [
                "input `tags`, line 2: `{{versoin}}` is not a known placeholder, so it renders as \
                 empty in `type=raw,value=x-{{versoin}}`; known placeholders: branch, tag, sha, \
                 base_ref, is_default_branch, is_not_default_branch, date, commit_date"
            ]
        );
    }

    #[test]
    fn version_fields_are_known_only_in_their_pattern() {
        assert_eq!(
            warnings(
                "type=semver,pattern={{major}}.{{minr}}\n\
                 type=pep440,pattern={{prerelease}}\n\
                 type=raw,value={{version}}",
                "",
                ""
            ),
            [
                "input `tags`, line 1: `{{minr}}` is not a known placeholder in a type=semver \
                 pattern, so it renders as empty in `type=semver,pattern={{major}}.{{minr}}`; \
                 known placeholders: raw, version, major, minor, patch, prerelease, build",
                "input `tags`, line 2: `{{prerelease}}` is not a known placeholder in a type=pep440 \
                 pattern, so it renders as empty in `type=pep440,pattern={{prerelease}}`; known \
                 placeholders: raw, version, major, minor, patch",
                "input `tags`, line 3: `{{version}}` is not a known placeholder, so it renders as \
                 empty in `type=raw,value={{version}}`; known placeholders: branch, tag, sha, \
                 base_ref, is_default_branch, is_not_default_branch, date, commit_date",
            ]
        );
    }

    #[test]
    fn every_template_of_every_input_is_checked_once_per_name() {
        let found = warnings(
            "type=semver,pattern={{version}},value={{tagg}},prefix={{x}}-,suffix=-{{x}}\n\
             type=raw,value=a,enable={{is_default}}\n\
             type=schedule,pattern=nightly-{{dat 'YYYY'}}\n\
             type=match,pattern=\\d,value={{brnch}}",
            "prefix={{shaa}}-",
            "org.example.when={{date 'YYYY'}}\norg.example.who={{actor}}",
        );
        let names: Vec<(&str, &str)> = found
            .iter()
            .map(|w| {
                let (line, rest) = w.split_once(": `{{").unwrap();
                (line, rest.split_once("}}").unwrap().0)
            })
            .collect();
        assert_eq!(
            names,
            [
                ("input `tags`, line 1", "x"),
                ("input `tags`, line 1", "tagg"),
                ("input `tags`, line 2", "is_default"),
                ("input `tags`, line 3", "dat"),
                ("input `tags`, line 4", "brnch"),
                ("input `flavor`, line 1", "shaa"),
                ("input `labels`, line 2", "actor"),
            ]
        );
    }

    #[test]
    fn known_names_comments_escapes_and_default_rules_are_quiet() {
        assert!(
            warnings(
                "type=semver,pattern={{raw}}\n\
                 type=raw,value={{branch}}-{{sha}}-{{date 'YYYYMMDD' tz='UTC'}}\n\
                 type=raw,value=a{{! note }}\\{{literal}}",
                "suffix=-{{commit_date 'YYYY'}}",
                ""
            )
            .is_empty()
        );
        assert!(warnings("", "", "").is_empty());
        assert_eq!(
            warnings("type=raw,value={{commit_date YYYY-MM-DD}}", "", ""),
            [
                "input `tags`, line 1: `YYYY-MM-DD` in `{{commit_date YYYY-MM-DD}}` is unquoted, so \
              it is an undefined name and renders as the default (ISO 8601 for a date), as in \
              docker/metadata-action; for the format write `{{commit_date 'YYYY-MM-DD'}}`"
            ]
        );
        // A template that does not parse is left to rendering, which reports it as an error.
        assert!(warnings("type=raw,value={{branch", "", "").is_empty());
    }
}
