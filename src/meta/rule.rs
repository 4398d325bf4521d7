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
#[path = "rule_tests.rs"]
mod tests;
