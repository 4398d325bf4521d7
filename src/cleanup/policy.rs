//! The `retention` input: lines -> validated [`Policy`] (rules with their line numbers), and
//! the pure matching of one rule against one tag or version. Syntax and examples: [`super`].

use crate::lines::{InputLine, input_lines, split_attr};
use std::fmt;

/// Whether a rule keeps or deletes what it selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verb {
    Keep,
    Delete,
}

/// Which kind of semver tag a `semver=` selector takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SemverKind {
    /// A full version without pre-release: `v1.2.3`, `1.2.3`, `1.2.3+build`.
    Release,
    /// A full version with a pre-release: `v1.2.3-rc.1`.
    Prerelease,
    /// Either.
    Any,
}

/// What a rule selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// Tags matching any of these globs (`*` any run, `?` one character).
    Tags(Vec<String>),
    /// Tags that parse as semantic versions (an optional leading `v`).
    Semver(SemverKind),
    /// `pr-N` tags (optionally `pr-N-...`) whose pull request N is closed.
    PrClosed,
    /// Versions without any tag.
    Untagged,
}

/// One line of the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The 1-based line in the input (the "rule that decided" in reports).
    pub line: usize,
    /// The line as written.
    pub text: String,
    pub verb: Verb,
    /// Every selector must match (a tag or version is selected by their conjunction).
    pub selectors: Vec<Selector>,
    /// Only versions created more than this many seconds before `now`.
    pub older_than: Option<i64>,
    /// `keep last=N`: the N newest versions with a tag matching the selectors.
    pub last: Option<usize>,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: `{}`", self.line, self.text)
    }
}

/// A validated retention policy.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Policy {
    pub rules: Vec<Rule>,
}

/// A policy line that cannot be understood, with the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("input `retention`, {line}: {message}")]
pub struct PolicyError {
    pub line: InputLine,
    pub message: String,
}

impl Policy {
    /// Parses the `retention` input (one rule per line, `#` comments).
    pub fn parse(raw: &str) -> Result<Policy, PolicyError> {
        let rules = input_lines(raw)
            .into_iter()
            .map(|line| {
                parse_rule(&line).map_err(|message| PolicyError {
                    line: line.clone(),
                    message,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Policy { rules })
    }

    /// Whether a rule selects `pr=closed` (then pull request states are needed).
    pub fn uses_closed_prs(&self) -> bool {
        self.rules
            .iter()
            .any(|r| r.selectors.contains(&Selector::PrClosed))
    }
}

fn parse_rule(line: &InputLine) -> Result<Rule, String> {
    let mut words = line.text.split_whitespace();
    let verb = match words.next().map(str::to_ascii_lowercase).as_deref() {
        Some("keep") => Verb::Keep,
        Some("delete") => Verb::Delete,
        other => {
            return Err(format!(
                "a rule starts with `keep` or `delete`, not `{}`; e.g. `delete tag=main-* older-than=30d`",
                other.unwrap_or("")
            ));
        }
    };
    let mut rule = Rule {
        line: line.number,
        text: line.text.clone(),
        verb,
        selectors: Vec::new(),
        older_than: None,
        last: None,
    };
    for word in words {
        match split_attr(word) {
            (None, "untagged") => rule.selectors.push(Selector::Untagged),
            (Some(key), "") => {
                return Err(format!("`{key}=` needs a value"));
            }
            (Some(key), value) => match key.as_str() {
                "tag" | "tags" => rule.selectors.push(Selector::Tags(globs(value)?)),
                "semver" => rule.selectors.push(Selector::Semver(match value {
                    "release" => SemverKind::Release,
                    "prerelease" | "pre-release" => SemverKind::Prerelease,
                    "any" => SemverKind::Any,
                    other => {
                        return Err(format!(
                            "`semver={other}`: expected `release`, `prerelease` or `any`"
                        ));
                    }
                })),
                "pr" if value == "closed" => rule.selectors.push(Selector::PrClosed),
                "pr" => {
                    return Err(format!(
                        "`pr={value}`: only `pr=closed` is supported (tags `pr-N` of closed pull requests)"
                    ));
                }
                "older-than" => rule.older_than = Some(parse_age(value)?),
                "last" => match value.parse::<usize>() {
                    Ok(n) => rule.last = Some(n),
                    Err(_) => return Err(format!("`last={value}` is not a count; e.g. `last=10`")),
                },
                other => {
                    return Err(format!(
                        "unknown attribute `{other}`; expected tag=, semver=, pr=closed, untagged, older-than= or last="
                    ));
                }
            },
            (None, other) => {
                return Err(format!(
                    "`{other}` is not `key=value`; e.g. `tag=main-*`, `older-than=30d`, or the word `untagged`"
                ));
            }
        }
    }
    validate(rule)
}

fn validate(rule: Rule) -> Result<Rule, String> {
    let untagged = rule.selectors.contains(&Selector::Untagged);
    if untagged && rule.selectors.len() > 1 {
        return Err("`untagged` selects versions without tags: it cannot be combined with tag=, semver= or pr=".into());
    }
    match rule.verb {
        Verb::Delete if rule.last.is_some() => {
            Err("`last=` belongs to `keep` rules: `keep last=10` keeps the 10 newest versions".into())
        }
        Verb::Delete if rule.selectors.is_empty() => Err(
            "a delete rule needs a selector: tag=GLOB, semver=release|prerelease, pr=closed or untagged; e.g. `delete untagged older-than=14d`".into(),
        ),
        Verb::Keep if untagged => Err(
            "`keep untagged` is the default already: untagged versions are deleted only by a `delete untagged` rule".into(),
        ),
        Verb::Keep if rule.selectors.is_empty() && rule.last.is_none() => Err(
            "a keep rule needs a selector or `last=N`; e.g. `keep tag=latest,main` or `keep last=10`".into(),
        ),
        _ => Ok(rule),
    }
}

fn globs(value: &str) -> Result<Vec<String>, String> {
    let globs: Vec<String> = value
        .split(',')
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .map(String::from)
        .collect();
    if globs.is_empty() {
        return Err(
            "`tag=` needs at least one glob, e.g. `tag=main-*` or `tag=latest,main`".into(),
        );
    }
    if let Some(bad) = globs.iter().find(|g| g.contains('/')) {
        return Err(format!(
            "`{bad}`: tags cannot contain `/`; a branch `release/1.2` is tagged `release-1.2`, so write `tag=release-*`"
        ));
    }
    Ok(globs)
}

/// `30d`, `12h`, `2w`, `90m`, `45s` -> seconds.
pub fn parse_age(value: &str) -> Result<i64, String> {
    let error = || {
        format!("`older-than={value}`: expected a number and a unit (s, m, h, d, w), e.g. `30d`")
    };
    let split = value
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(error)?;
    let (number, unit) = value.split_at(split);
    let number: i64 = number.parse().map_err(|_| error())?;
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(error()),
    };
    number.checked_mul(unit).ok_or_else(error)
}

/// `*` matches any run (also empty), `?` one character; everything else itself.
pub fn glob_match(glob: &str, text: &str) -> bool {
    let (g, t): (Vec<char>, Vec<char>) = (glob.chars().collect(), text.chars().collect());
    let (mut gi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match g.get(gi) {
            Some('*') => {
                star = Some((gi, ti));
                gi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                gi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sg, st)) => {
                    gi = sg + 1;
                    ti = st + 1;
                    star = Some((sg, st + 1));
                }
                None => return false,
            },
        }
    }
    g[gi..].iter().all(|&c| c == '*')
}

/// The pull request number of a `pr-N` or `pr-N-...` tag.
pub fn pr_number(tag: &str) -> Option<u64> {
    let rest = tag.strip_prefix("pr-")?;
    let digits = rest.split('-').next()?;
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// Whether `tag` is a semantic version of this kind.
pub fn semver_match(kind: SemverKind, tag: &str) -> bool {
    let text = tag.strip_prefix('v').unwrap_or(tag);
    match semver::Version::parse(text) {
        Ok(v) => match kind {
            SemverKind::Release => v.pre.is_empty(),
            SemverKind::Prerelease => !v.pre.is_empty(),
            SemverKind::Any => true,
        },
        Err(_) => false,
    }
}

impl Selector {
    /// Whether this selector takes `tag` (`Untagged` never takes a tag).
    pub fn matches_tag(&self, tag: &str, closed_prs: &std::collections::BTreeSet<u64>) -> bool {
        match self {
            Selector::Tags(globs) => globs.iter().any(|g| glob_match(g, tag)),
            Selector::Semver(kind) => semver_match(*kind, tag),
            Selector::PrClosed => pr_number(tag).is_some_and(|n| closed_prs.contains(&n)),
            Selector::Untagged => false,
        }
    }
}
