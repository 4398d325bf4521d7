//! Action inputs: `INPUT_*` variables (hyphens kept, as the runner sets them) -> typed `Inputs`,
//! with action.yml's defaults applied here too, so the binary behaves the same outside a workflow.

use crate::lines::{InputLine, input_lines};
use crate::meta::TagInputs;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// Every input the action reads, with its action.yml default.
pub const INPUTS: &[(&str, &str)] = &[
    ("command", "publish"),
    ("images", ""),
    ("tags", ""),
    ("flavor", ""),
    ("labels", ""),
    ("annotations", ""),
    ("sep-tags", "\n"),
    ("sep-labels", "\n"),
    ("sep-annotations", "\n"),
    ("dry-run", "false"),
    ("github-token", ""),
    ("source", ""),
    ("credentials", ""),
    ("overwrite-releases", "false"),
    ("referrers", "true"),
    ("referrer-types", ""),
    ("insecure-registries", ""),
    ("verify-tags", ""),
    ("sync", "false"),
    ("fail-on-drift", "true"),
    ("retention", ""),
    ("closed-pull-requests", ""),
    ("registry-apis", ""),
    ("timeout", "60m"),
    ("cleanup-time-budget", "1h"),
    ("manifest-cache", ""),
];

/// The variable the runner sets for an input: `INPUT_` + the name upper-cased, spaces as `_`,
/// hyphens kept (`sep-tags` -> `INPUT_SEP-TAGS`).
pub fn input_env_var(name: &str) -> String {
    format!("INPUT_{}", name.replace(' ', "_").to_uppercase())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Publish,
    Verify,
    Cleanup,
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Command::Publish => "publish",
            Command::Verify => "verify",
            Command::Cleanup => "cleanup",
        })
    }
}

pub use crate::secret::Secret;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inputs {
    pub command: Command,
    pub tags: TagInputs,
    pub sep_tags: String,
    pub sep_labels: String,
    pub sep_annotations: String,
    pub dry_run: bool,
    pub github_token: Option<Secret>,
    /// The image to publish (skopeo transport syntax); `None`: compute tags only.
    pub source: Option<String>,
    /// `credentials` lines (secrets inside: never printed).
    pub credentials: Vec<InputLine>,
    pub overwrite_releases: bool,
    /// `referrers`: the image's signatures, attestations and SBOMs are published with it.
    pub referrers: bool,
    /// `referrer-types`: the artifact types of the image's referrers to publish (commas or
    /// lines); empty: every type.
    pub referrer_types: Vec<String>,
    pub insecure_registries: Vec<String>,
    /// `verify-tags`: tags to verify (commas or lines); `*`: every tag of the first image; empty:
    /// the tags the rules compute, else every tag of the first image.
    pub verify_tags: Vec<String>,
    /// `sync`: verify repairs drift by publishing from the first image to the others.
    pub sync: bool,
    /// `fail-on-drift`: verify exits non-zero while drift remains.
    pub fail_on_drift: bool,
    /// `command: cleanup`: the retention policy, one rule per line (parsed by `cleanup::Policy`).
    pub retention: String,
    /// `command: cleanup`: pull requests known to be closed (their `pr-N` tags may go).
    pub closed_pull_requests: Vec<u64>,
    /// `command: cleanup`: which API serves which registry (parsed by `cleanup::backend::Apis`).
    pub registry_apis: String,
    /// `timeout`: the longest a publish may run against registries; then it stops, reports what
    /// was written, and fails.
    pub timeout: Duration,
    /// `command: cleanup`: the longest deleting may go on; then the run stops between two
    /// groups and leaves the rest for the next run (a success).
    pub cleanup_time_budget: Duration,
    /// `command: cleanup`: a file of manifests already read (by digest), read at the start and
    /// written at the end; `None`: no cache.
    pub manifest_cache: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("input `{input}`: {message}")]
pub struct InputError {
    pub input: &'static str,
    pub message: String,
}

impl Inputs {
    /// Reads every input from `vars` (an environment), applying defaults for unset or empty ones.
    pub fn from_vars(vars: &BTreeMap<String, String>) -> Result<Self, InputError> {
        let get = |name: &str| value(vars, name);
        let command = command(&get("command"))?;
        let boolean = |input: &'static str| boolean(input, &get(input));
        let dry_run = boolean("dry-run")?;
        let overwrite_releases = boolean("overwrite-releases")?;
        let referrers = boolean("referrers")?;
        let referrer_types = list(&get("referrer-types"));
        if let Some(bad) = referrer_types.iter().find(|t| !is_media_type(t)) {
            return Err(InputError {
                input: "referrer-types",
                message: format!(
                    "`{bad}` is not an artifact type; list media types like `application/vnd.dev.cosign.artifact.sig.v1+json` (commas or lines)"
                ),
            });
        }
        let sync = boolean("sync")?;
        let fail_on_drift = boolean("fail-on-drift")?;
        let verify_tags = verify_tags(&get("verify-tags"))?;
        let source = get("source").trim().to_string();
        let token = get("github-token");
        let closed_pull_requests = pull_requests(&get("closed-pull-requests"))?;
        let timeout = duration("timeout", &get("timeout"))?;
        let cleanup_time_budget = duration("cleanup-time-budget", &get("cleanup-time-budget"))?;
        let manifest_cache = get("manifest-cache").trim().to_string();
        Ok(Inputs {
            command,
            tags: TagInputs {
                images: input_lines(&get("images")),
                tags: input_lines(&get("tags")),
                flavor: input_lines(&get("flavor")),
                labels: input_lines(&get("labels")),
                annotations: input_lines(&get("annotations")),
            },
            sep_tags: get("sep-tags"),
            sep_labels: get("sep-labels"),
            sep_annotations: get("sep-annotations"),
            dry_run,
            github_token: (!token.is_empty()).then_some(Secret::new(token)),
            source: (!source.is_empty()).then_some(source),
            credentials: input_lines(&get("credentials")),
            overwrite_releases,
            referrers,
            referrer_types,
            insecure_registries: list(&get("insecure-registries")),
            verify_tags,
            sync,
            fail_on_drift,
            retention: get("retention"),
            closed_pull_requests,
            registry_apis: get("registry-apis"),
            timeout,
            cleanup_time_budget,
            manifest_cache: (!manifest_cache.is_empty()).then(|| manifest_cache.into()),
        })
    }
}

/// An input's value in `vars`, or its action.yml default when it is unset or empty (as the
/// runner passes it).
fn value(vars: &BTreeMap<String, String>, name: &str) -> String {
    let default = INPUTS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, d)| *d)
        .unwrap_or("");
    match vars.get(&input_env_var(name)) {
        Some(v) if !v.is_empty() => v.clone(),
        _ => default.to_string(),
    }
}

/// `command`: publish, verify or cleanup.
fn command(raw: &str) -> Result<Command, InputError> {
    match raw.trim() {
        "publish" => Ok(Command::Publish),
        "verify" => Ok(Command::Verify),
        "cleanup" => Ok(Command::Cleanup),
        other => Err(InputError {
            input: "command",
            message: format!("unknown command `{other}`; expected publish, verify or cleanup"),
        }),
    }
}

/// A boolean input, in the three spellings YAML 1.2's core schema gives `true` and `false`.
fn boolean(input: &'static str, raw: &str) -> Result<bool, InputError> {
    match raw.trim() {
        "true" | "True" | "TRUE" => Ok(true),
        "false" | "False" | "FALSE" => Ok(false),
        other => Err(InputError {
            input,
            message: format!("`{other}` is not a boolean; expected true or false"),
        }),
    }
}

/// `verify-tags`: tags (commas or lines), or `*`.
fn verify_tags(raw: &str) -> Result<Vec<String>, InputError> {
    let tags = list(raw);
    if let Some(bad) = tags
        .iter()
        .find(|t| *t != "*" && !crate::registry::reference::is_tag(t))
    {
        return Err(InputError {
            input: "verify-tags",
            message: format!(
                "`{bad}` is not a valid tag; list tags like `v1.2.3, latest` (commas or lines), or `*` for every tag of the first image"
            ),
        });
    }
    Ok(tags)
}

/// `closed-pull-requests`: numbers separated by commas, spaces or lines, `#` allowed before each.
fn pull_requests(raw: &str) -> Result<Vec<u64>, InputError> {
    raw.split([',', '\n', ' '])
        .map(|n| n.trim().trim_start_matches('#'))
        .filter(|n| !n.is_empty())
        .map(|n| {
            n.parse::<u64>().map_err(|_| InputError {
                input: "closed-pull-requests",
                message: format!("`{n}` is not a pull request number; e.g. `12, 15`"),
            })
        })
        .collect()
}

/// A positive duration with units, Go's syntax as GitHub users meet it elsewhere: `30m`, `2h`,
/// `1h30m`, `90s`. A bare number is refused: minutes or seconds would be a guess.
fn duration(input: &'static str, raw: &str) -> Result<Duration, InputError> {
    crate::registry::retry::parse_go_duration(raw.trim())
        .filter(|d| !d.is_zero())
        .ok_or_else(|| InputError {
            input,
            message: format!(
                "`{}` is not a duration; expected a number with a unit (s, m, h), e.g. `30m`, `2h` or `1h30m`",
                raw.trim()
            ),
        })
}

/// Items separated by commas or lines (`#` comment lines skipped), trimmed, empty ones dropped.
/// `type/subtype` (RFC 6838 restricted names: letters, digits and `!#$&-^_.+`).
fn is_media_type(value: &str) -> bool {
    let name = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    value
        .split_once('/')
        .is_some_and(|(t, s)| name(t) && name(s))
}

fn list(raw: &str) -> Vec<String> {
    input_lines(raw)
        .into_iter()
        .flat_map(|l| {
            l.text
                .split(',')
                .map(|h| h.trim().to_string())
                .collect::<Vec<_>>()
        })
        .filter(|h| !h.is_empty())
        .collect()
}

#[cfg(test)]
#[path = "inputs_tests.rs"]
mod tests;
