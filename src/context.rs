//! The workflow context: `GITHUB_*` variables + the event payload -> `Context`, the facts the
//! engine computes from. Reading the payload file is the only I/O here; `Context::assemble` is pure.

use crate::event::Event;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The runner's `GITHUB_*` variables that the action reads (prefix stripped by envy).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct GithubEnv {
    pub event_name: Option<String>,
    pub event_path: Option<PathBuf>,
    #[serde(rename = "ref")]
    pub git_ref: Option<String>,
    pub sha: Option<String>,
    pub repository: Option<String>,
    pub server_url: Option<String>,
    pub api_url: Option<String>,
}

impl GithubEnv {
    pub fn from_vars(vars: &BTreeMap<String, String>) -> Result<Self, ContextError> {
        let pairs = vars
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.clone(), v.clone()));
        envy::prefixed("GITHUB_")
            .from_iter(pairs)
            .map_err(|e| ContextError::Env(e.to_string()))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error("cannot read the GitHub environment: {0}")]
    Env(String),
    #[error("cannot read the event payload `{path}` (GITHUB_EVENT_PATH): {source}")]
    PayloadUnreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the event payload `{path}` (GITHUB_EVENT_PATH) is not valid JSON for a GitHub event: {source}"
    )]
    PayloadInvalid {
        path: PathBuf,
        source: serde_json::Error,
    },
}

/// The repository facts used for OCI labels.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepoInfo {
    pub name: String,
    pub description: String,
    pub html_url: String,
    pub license: String,
}

/// Everything the tag engine knows about this run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    pub event_name: String,
    /// `GITHUB_REF`, or `refs/pull/N/merge` for `pull_request_target` (as metadata-action does).
    pub git_ref: String,
    /// `GITHUB_SHA`, or the PR head SHA when `DOCKER_METADATA_PR_HEAD_SHA=true`.
    pub sha: String,
    pub default_branch: Option<String>,
    pub repo: RepoInfo,
    /// `push` tag payload's `base_ref`.
    pub push_base_ref: Option<String>,
    /// The pull request's base branch.
    pub pr_base_ref: Option<String>,
    /// The commit's date from the payload (`commits[]` or `head_commit` matching `sha`).
    pub commit_date: Option<jiff::Timestamp>,
    /// `GITHUB_REPOSITORY` (`owner/name`), when it names one.
    pub repository: Option<String>,
    /// `GITHUB_API_URL` without a trailing `/` (`https://api.github.com` when unset).
    pub api_url: String,
    /// The pull request this event closed (`pull_request(_target)` with `action: closed`).
    pub closed_pull_request: Option<u64>,
}

impl Context {
    /// Reads the payload named by `GITHUB_EVENT_PATH` (an empty payload when it is unset).
    pub fn load_event(env: &GithubEnv) -> Result<Event, ContextError> {
        let Some(path) = &env.event_path else {
            return Ok(Event::default());
        };
        let text =
            std::fs::read_to_string(path).map_err(|source| ContextError::PayloadUnreadable {
                path: path.clone(),
                source,
            })?;
        Event::parse(&text).map_err(|source| ContextError::PayloadInvalid {
            path: path.clone(),
            source,
        })
    }

    pub fn assemble(env: &GithubEnv, event: &Event, pr_head_sha: bool) -> Context {
        let event_name = env.event_name.clone().unwrap_or_default();
        let mut git_ref = env.git_ref.clone().unwrap_or_default();
        if event_name == "pull_request_target" {
            let number = event
                .number
                .or(event.pull_request.as_ref().and_then(|pr| pr.number));
            if let Some(n) = number {
                git_ref = format!("refs/pull/{n}/merge");
            }
        }
        let mut sha = env.sha.clone().unwrap_or_default();
        let pr_head = event
            .pull_request
            .as_ref()
            .and_then(|pr| pr.head.as_ref())
            .and_then(|h| h.sha.clone());
        if pr_head_sha && event_name.starts_with("pull_request") {
            if let Some(head) = pr_head {
                sha = head;
            }
        }
        let repo_payload = event.repository.clone().unwrap_or_default();
        let (owner_repo_name, fallback_url) = match (&env.repository, &env.server_url) {
            (Some(full), server) => (
                full.rsplit('/').next().unwrap_or(full).to_string(),
                format!(
                    "{}/{full}",
                    server.as_deref().unwrap_or("https://github.com")
                ),
            ),
            (None, _) => (String::new(), String::new()),
        };
        let repo = RepoInfo {
            name: repo_payload.name.unwrap_or(owner_repo_name),
            description: repo_payload.description.unwrap_or_default(),
            html_url: repo_payload.html_url.unwrap_or(fallback_url),
            license: repo_payload
                .license
                .and_then(|l| l.spdx_id)
                .unwrap_or_default(),
        };
        let commit_date = commit_timestamp(event, &sha);
        let pr_event = matches!(event_name.as_str(), "pull_request" | "pull_request_target");
        let closed_pull_request = (pr_event && event.action.as_deref() == Some("closed"))
            .then(|| {
                event
                    .number
                    .or(event.pull_request.as_ref().and_then(|pr| pr.number))
            })
            .flatten();
        Context {
            repository: env.repository.clone().filter(|r| r.contains('/')),
            api_url: env
                .api_url
                .as_deref()
                .unwrap_or("https://api.github.com")
                .trim_end_matches('/')
                .to_string(),
            closed_pull_request,
            event_name,
            git_ref,
            sha,
            default_branch: repo_payload.default_branch,
            repo,
            push_base_ref: event.base_ref.clone(),
            pr_base_ref: event
                .pull_request
                .as_ref()
                .and_then(|pr| pr.base.as_ref())
                .and_then(|b| b.git_ref.clone()),
            commit_date,
        }
    }
}

fn commit_timestamp(event: &Event, sha: &str) -> Option<jiff::Timestamp> {
    let matching = event
        .commits
        .iter()
        .flatten()
        .chain(event.head_commit.iter())
        .find(|c| c.id.as_deref() == Some(sha))?;
    matching.timestamp.as_deref()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Commit, GitRef, PullRequest, Repository};

    fn env(pairs: &[(&str, &str)]) -> GithubEnv {
        let vars = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        GithubEnv::from_vars(&vars).unwrap()
    }

    #[test]
    fn envy_reads_the_prefixed_variables() {
        let e = env(&[
            ("GITHUB_REF", "refs/heads/main"),
            ("GITHUB_EVENT_NAME", "push"),
            ("GITHUB_SHA", ""),
            ("OTHER", "x"),
        ]);
        assert_eq!(e.git_ref.as_deref(), Some("refs/heads/main"));
        assert_eq!(e.event_name.as_deref(), Some("push"));
        assert_eq!(e.sha, None);
    }

    #[test]
    fn pull_request_target_uses_the_pr_ref_and_head_sha_when_asked() {
        let e = env(&[
            ("GITHUB_EVENT_NAME", "pull_request_target"),
            ("GITHUB_REF", "refs/heads/main"),
            ("GITHUB_SHA", "base"),
        ]);
        let event = Event {
            number: Some(15),
            pull_request: Some(PullRequest {
                head: Some(GitRef {
                    git_ref: None,
                    sha: Some("head".into()),
                }),
                base: Some(GitRef {
                    git_ref: Some("main".into()),
                    sha: None,
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let ctx = Context::assemble(&e, &event, false);
        assert_eq!(
            (ctx.git_ref.as_str(), ctx.sha.as_str()),
            ("refs/pull/15/merge", "base")
        );
        assert_eq!(ctx.pr_base_ref.as_deref(), Some("main"));
        assert_eq!(Context::assemble(&e, &event, true).sha, "head");
    }

    #[test]
    fn repo_info_falls_back_to_github_repository() {
        let e = env(&[
            ("GITHUB_REPOSITORY", "octo/app"),
            ("GITHUB_SERVER_URL", "https://github.example"),
        ]);
        let ctx = Context::assemble(&e, &Event::default(), false);
        assert_eq!(ctx.repo.name, "app");
        assert_eq!(ctx.repo.html_url, "https://github.example/octo/app");
        let event = Event {
            repository: Some(Repository {
                name: Some("real".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(Context::assemble(&e, &event, false).repo.name, "real");
    }

    #[test]
    fn commit_date_comes_from_the_matching_commit() {
        let e = env(&[("GITHUB_SHA", "abc")]);
        let event = Event {
            commits: Some(vec![Commit {
                id: Some("zzz".into()),
                timestamp: Some("2019-01-01T00:00:00Z".into()),
            }]),
            head_commit: Some(Commit {
                id: Some("abc".into()),
                timestamp: Some("2020-01-10T01:30:00+01:00".into()),
            }),
            ..Default::default()
        };
        let ctx = Context::assemble(&e, &event, false);
        assert_eq!(ctx.commit_date.unwrap().to_string(), "2020-01-10T00:30:00Z");
    }

    #[test]
    fn unreadable_and_invalid_payloads_name_the_file() {
        let missing = GithubEnv {
            event_path: Some("/nonexistent/event.json".into()),
            ..Default::default()
        };
        let err = Context::load_event(&missing).unwrap_err().to_string();
        assert!(
            err.contains("/nonexistent/event.json") && err.contains("GITHUB_EVENT_PATH"),
            "{err}"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("event.json");
        std::fs::write(&path, "{not json").unwrap();
        let bad = GithubEnv {
            event_path: Some(path),
            ..Default::default()
        };
        assert!(
            Context::load_event(&bad)
                .unwrap_err()
                .to_string()
                .contains("not valid JSON")
        );
    }

    #[test]
    fn a_closed_pull_request_event_names_its_number() {
        let closed = |name: &str, json: &str| {
            let event = Event::parse(json).unwrap();
            Context::assemble(&env(&[("GITHUB_EVENT_NAME", name)]), &event, false)
                .closed_pull_request
        };
        let top = r#"{"action": "closed", "number": 7}"#;
        assert_eq!(closed("pull_request", top), Some(7));
        assert_eq!(closed("push", top), None);
        assert_eq!(closed("pull_request_review", top), None);
        assert_eq!(
            closed("pull_request", r#"{"action": "opened", "number": 7}"#),
            None
        );
        let nested = r#"{"action": "closed", "pull_request": {"number": 9}}"#;
        assert_eq!(closed("pull_request_target", nested), Some(9));
    }

    #[test]
    fn api_url_and_repository_for_cleanup() {
        let ctx = |pairs: &[(&str, &str)]| Context::assemble(&env(pairs), &Event::default(), false);
        assert_eq!(ctx(&[]).api_url, "https://api.github.com");
        assert_eq!(ctx(&[]).repository, None);
        let c = ctx(&[
            ("GITHUB_API_URL", "https://ghe.example/api/v3/"),
            ("GITHUB_REPOSITORY", "octo/app"),
        ]);
        assert_eq!(c.api_url, "https://ghe.example/api/v3");
        assert_eq!(c.repository.as_deref(), Some("octo/app"));
        assert_eq!(ctx(&[("GITHUB_REPOSITORY", "odd")]).repository, None);
    }
}
