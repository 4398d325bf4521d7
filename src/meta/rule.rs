//! `tags` input lines -> `TagRule`s, with docker/metadata-action's defaults and priorities.
//!
//! | line                                  | rule                                         |
//! |---------------------------------------|----------------------------------------------|
//! | `type=semver,pattern={{version}}`     | semver, priority 900                         |
//! | `type=ref,event=pr`                   | ref/pr, prefix `pr-`, priority 600           |
//! | `type=sha`                            | sha/short, prefix `sha-`, priority 100       |
//! | `foo` or `type=raw,foo`               | raw `foo`, priority 200                      |
//! | (empty input)                         | schedule, ref/branch, ref/tag, ref/pr        |
//!
//! Unlike metadata-action, an attribute the rule type does not use is an error, not ignored.

use super::error::MetaError;
use crate::lines::{InputLine, split_attr, split_fields};
use std::collections::BTreeMap;

const INPUT: &str = "tags";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefEvent {
    Branch,
    Tag,
    Pr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShaFormat {
    Short,
    Long,
}

/// What a rule does, with the attributes its type uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleKind {
    Schedule {
        pattern: String,
    },
    Semver {
        pattern: String,
        value: String,
        matcher: String,
    },
    Pep440 {
        pattern: String,
        value: String,
        matcher: String,
    },
    Match {
        pattern: String,
        group: usize,
        value: String,
    },
    Edge {
        branch: String,
    },
    Ref {
        event: RefEvent,
    },
    Raw {
        value: String,
    },
    Sha {
        format: ShaFormat,
    },
}

/// One parsed `tags` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRule {
    pub kind: RuleKind,
    /// `true`, `false` or an expression such as `{{is_default_branch}}`, checked after rendering.
    pub enable: String,
    pub priority: i64,
    /// `Some` when the line sets it (even empty): it then replaces the flavor's prefix.
    pub prefix: Option<String>,
    pub suffix: Option<String>,
    /// The line as the user wrote it, for the summary and errors.
    pub line: InputLine,
}

const TYPES: &str = "schedule, semver, pep440, match, edge, ref, raw, sha";
const GLOBAL_ATTRS: [&str; 4] = ["enable", "priority", "prefix", "suffix"];

/// The default rules when `tags` is empty.
pub fn default_lines() -> Vec<InputLine> {
    [
        "type=schedule",
        "type=ref,event=branch",
        "type=ref,event=tag",
        "type=ref,event=pr",
    ]
    .into_iter()
    .map(|text| InputLine {
        number: 0,
        text: text.to_string(),
    })
    .collect()
}

/// Parses every line and orders the rules by priority, highest first (stable, as metadata-action).
pub fn parse_rules(lines: &[InputLine]) -> Result<Vec<TagRule>, MetaError> {
    let defaults;
    let lines = if lines.is_empty() {
        defaults = default_lines();
        &defaults
    } else {
        lines
    };
    let mut rules = lines
        .iter()
        .map(parse_rule)
        .collect::<Result<Vec<_>, _>>()?;
    rules.sort_by_key(|rule| std::cmp::Reverse(rule.priority));
    Ok(rules)
}

pub fn parse_rule(line: &InputLine) -> Result<TagRule, MetaError> {
    let err = |message: String| MetaError::line(INPUT, line, message);
    let fields = split_fields(&line.text).map_err(|e| err(e.to_string()))?;
    let mut attrs = Attrs::parse(&fields).map_err(err)?;
    let (kind, default_priority, default_prefix) = attrs.kind().map_err(err)?;
    let priority = match attrs.take("priority") {
        None => default_priority,
        Some(p) => p.parse::<i64>().map_err(|_| {
            err(format!(
                "invalid priority `{p}`: expected a whole number such as 600"
            ))
        })?,
    };
    Ok(TagRule {
        kind,
        enable: attrs.take("enable").unwrap_or_else(|| "true".into()),
        priority,
        prefix: attrs.take("prefix").or(default_prefix),
        suffix: attrs.take("suffix"),
        line: line.clone(),
    })
}

/// A line's rule type and its other attributes by key, each taken once by what reads it. The
/// errors are messages about the line; [`parse_rule`] places them.
struct Attrs {
    kind_name: String,
    values: BTreeMap<String, String>,
}

impl Attrs {
    /// The fields of a line: `type=` names the kind (`raw` when absent), a field without `=` is
    /// the `value`. Refuses an unknown type and any attribute the type does not use.
    fn parse(fields: &[String]) -> Result<Attrs, String> {
        let mut kind_name = "raw".to_string();
        let mut values = BTreeMap::new();
        for field in fields {
            match split_attr(field) {
                (Some(key), value) if key == "type" => kind_name = value.to_string(),
                (Some(key), value) => {
                    values.insert(key, value.to_string());
                }
                (None, value) => {
                    values.insert("value".into(), value.to_string());
                }
            }
        }
        let type_attrs: &[&str] = match kind_name.as_str() {
            "schedule" => &["pattern"],
            "semver" | "pep440" => &["pattern", "value", "match"],
            "match" => &["pattern", "group", "value"],
            "edge" => &["branch"],
            "ref" => &["event"],
            "raw" => &["value"],
            "sha" => &["format"],
            other => {
                return Err(format!(
                    "unknown tag type `{other}`; expected one of: {TYPES}"
                ));
            }
        };
        let known =
            |k: &&String| type_attrs.contains(&k.as_str()) || GLOBAL_ATTRS.contains(&k.as_str());
        if let Some(unknown) = values.keys().find(|k| !known(k)) {
            let allowed: Vec<&str> = type_attrs
                .iter()
                .chain(GLOBAL_ATTRS.iter())
                .copied()
                .collect();
            return Err(format!(
                "unknown attribute `{unknown}` for `type={kind_name}`; expected one of: {}",
                allowed.join(", ")
            ));
        }
        Ok(Attrs { kind_name, values })
    }

    fn take(&mut self, key: &str) -> Option<String> {
        self.values.remove(key)
    }

    fn required(&mut self, key: &str) -> Result<String, String> {
        let kind_name = &self.kind_name;
        self.values
            .remove(key)
            .ok_or_else(|| format!("`type={kind_name}` needs a `{key}=` attribute"))
    }

    /// The rule's kind with its type's default priority and prefix.
    fn kind(&mut self) -> Result<(RuleKind, i64, Option<String>), String> {
        Ok(match self.kind_name.as_str() {
            "schedule" => {
                let pattern = self.take("pattern").unwrap_or_else(|| "nightly".into());
                (RuleKind::Schedule { pattern }, 1000, None)
            }
            "semver" | "pep440" => (self.version_kind()?, 900, None),
            "match" => (self.match_kind()?, 800, None),
            "edge" => {
                let branch = self.take("branch").unwrap_or_default();
                (RuleKind::Edge { branch }, 700, None)
            }
            "ref" => {
                let event = self.ref_event()?;
                let prefix = (event == RefEvent::Pr).then(|| "pr-".to_string());
                (RuleKind::Ref { event }, 600, prefix)
            }
            "raw" => {
                let value = self.required("value")?;
                (RuleKind::Raw { value }, 200, None)
            }
            _ => {
                let format = self.sha_format()?;
                (RuleKind::Sha { format }, 100, Some("sha-".to_string()))
            }
        })
    }

    /// `type=semver` or `type=pep440`: the same attributes, two version schemes.
    fn version_kind(&mut self) -> Result<RuleKind, String> {
        let pattern = self.required("pattern")?;
        let value = self.take("value").unwrap_or_default();
        let matcher = self.take("match").unwrap_or_default();
        Ok(if self.kind_name == "semver" {
            RuleKind::Semver {
                pattern,
                value,
                matcher,
            }
        } else {
            RuleKind::Pep440 {
                pattern,
                value,
                matcher,
            }
        })
    }

    fn match_kind(&mut self) -> Result<RuleKind, String> {
        let pattern = self.required("pattern")?;
        let group = match self.take("group") {
            None => 0,
            Some(g) => g.parse::<usize>().map_err(|_| {
                format!("invalid match group `{g}`: expected a group number such as 0 or 1")
            })?,
        };
        let value = self.take("value").unwrap_or_default();
        Ok(RuleKind::Match {
            pattern,
            group,
            value,
        })
    }

    fn ref_event(&mut self) -> Result<RefEvent, String> {
        match self.required("event")?.as_str() {
            "branch" => Ok(RefEvent::Branch),
            "tag" => Ok(RefEvent::Tag),
            "pr" => Ok(RefEvent::Pr),
            other => Err(format!(
                "invalid event `{other}`; expected one of: branch, tag, pr"
            )),
        }
    }

    fn sha_format(&mut self) -> Result<ShaFormat, String> {
        match self.take("format").as_deref() {
            None | Some("short") => Ok(ShaFormat::Short),
            Some("long") => Ok(ShaFormat::Long),
            Some(other) => Err(format!("invalid format `{other}`; expected short or long")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str) -> InputLine {
        InputLine {
            number: 3,
            text: text.into(),
        }
    }

    fn rule(text: &str) -> TagRule {
        parse_rule(&line(text)).unwrap()
    }

    fn error(text: &str) -> String {
        parse_rule(&line(text)).unwrap_err().to_string()
    }

    #[test]
    fn defaults_per_type() {
        let r = rule("type=schedule");
        assert_eq!(
            (r.kind, r.priority, r.prefix),
            (
                RuleKind::Schedule {
                    pattern: "nightly".into()
                },
                1000,
                None
            )
        );
        let r = rule("type=semver,pattern={{version}}");
        assert_eq!(r.priority, 900);
        assert_eq!(
            r.kind,
            RuleKind::Semver {
                pattern: "{{version}}".into(),
                value: "".into(),
                matcher: "".into()
            }
        );
        assert_eq!(rule("type=pep440,pattern={{version}}").priority, 900);
        let r = rule("type=match,pattern=v(.*),group=1");
        assert_eq!(
            (r.kind, r.priority),
            (
                RuleKind::Match {
                    pattern: "v(.*)".into(),
                    group: 1,
                    value: "".into()
                },
                800
            )
        );
        assert_eq!(rule("type=edge").kind, RuleKind::Edge { branch: "".into() });
        assert_eq!(rule("type=edge").priority, 700);
        let r = rule("type=ref,event=pr");
        assert_eq!(
            (r.kind, r.priority, r.prefix.as_deref()),
            (
                RuleKind::Ref {
                    event: RefEvent::Pr
                },
                600,
                Some("pr-")
            )
        );
        assert_eq!(rule("type=ref,event=branch").prefix, None);
        let r = rule("type=sha");
        assert_eq!(
            (r.kind, r.priority, r.prefix.as_deref()),
            (
                RuleKind::Sha {
                    format: ShaFormat::Short
                },
                100,
                Some("sha-")
            )
        );
        assert_eq!(
            rule("type=sha,format=long").kind,
            RuleKind::Sha {
                format: ShaFormat::Long
            }
        );
        assert_eq!(
            rule("type=raw,value=foo").kind,
            RuleKind::Raw {
                value: "foo".into()
            }
        );
        assert_eq!(rule("type=raw,value=foo").priority, 200);
        assert_eq!(rule("type=raw,value=foo").enable, "true");
    }

    #[test]
    fn bare_values_are_raw_rules() {
        assert_eq!(
            rule("foo").kind,
            RuleKind::Raw {
                value: "foo".into()
            }
        );
        assert_eq!(
            rule("type=raw,bar").kind,
            RuleKind::Raw {
                value: "bar".into()
            }
        );
    }

    #[test]
    fn explicit_attributes_override_defaults() {
        let r = rule("type=ref,event=pr,prefix=,suffix=-x,priority=1,enable={{is_default_branch}}");
        assert_eq!(r.prefix.as_deref(), Some(""));
        assert_eq!(r.suffix.as_deref(), Some("-x"));
        assert_eq!(r.priority, 1);
        assert_eq!(r.enable, "{{is_default_branch}}");
        assert_eq!(
            rule("TYPE=raw,Value=x").kind,
            RuleKind::Raw { value: "x".into() }
        );
    }

    #[test]
    fn semver_match_attribute_and_quoted_patterns() {
        let r = rule(r#"type=semver,pattern={{version}},value=p1/v1.0.0,match=v(\d.\d.\d)$"#);
        assert_eq!(
            r.kind,
            RuleKind::Semver {
                pattern: "{{version}}".into(),
                value: "p1/v1.0.0".into(),
                matcher: r"v(\d.\d.\d)$".into()
            }
        );
        let r = rule(r#"type=match,"pattern=\d{1,3}.\d{1,3}.\d{1,3}""#);
        assert_eq!(
            r.kind,
            RuleKind::Match {
                pattern: r"\d{1,3}.\d{1,3}.\d{1,3}".into(),
                group: 0,
                value: "".into()
            }
        );
    }

    #[test]
    fn errors_name_the_input_line_and_the_fix() {
        assert_eq!(
            error("type=foo"),
            "input `tags`, line 3: unknown tag type `foo`; expected one of: schedule, semver, pep440, match, edge, ref, raw, sha"
        );
        assert!(error("type=semver").contains("`type=semver` needs a `pattern=` attribute"));
        assert!(error("type=match").contains("needs a `pattern=`"));
        assert!(error("type=ref").contains("needs a `event=`"));
        assert!(error("type=ref,event=push").contains("invalid event `push`"));
        assert!(error("type=raw").contains("needs a `value=`"));
        assert!(error("type=sha,format=medium").contains("invalid format `medium`"));
        assert!(error("type=match,pattern=x,group=one").contains("invalid match group `one`"));
        assert!(error("type=raw,value=x,priority=high").contains("invalid priority `high`"));
        assert!(error("type=sha,pattern=x").contains("unknown attribute `pattern` for `type=sha`; expected one of: format, enable, priority, prefix, suffix"));
        assert!(error(r#"type=raw,"value=x"#).contains("unterminated double quote"));
    }

    #[test]
    fn rules_sort_by_priority_stably_and_default_when_empty() {
        let lines: Vec<InputLine> = [
            "type=sha",
            "type=raw,value=a",
            "type=raw,value=b",
            "type=semver,pattern={{version}}",
        ]
        .iter()
        .enumerate()
        .map(|(i, t)| InputLine {
            number: i + 1,
            text: t.to_string(),
        })
        .collect();
        let order: Vec<usize> = parse_rules(&lines)
            .unwrap()
            .iter()
            .map(|r| r.line.number)
            .collect();
        assert_eq!(order, [4, 2, 3, 1]);
        let defaults = parse_rules(&[]).unwrap();
        assert_eq!(defaults.len(), 4);
        assert_eq!(
            defaults[0].kind,
            RuleKind::Schedule {
                pattern: "nightly".into()
            }
        );
    }
}
