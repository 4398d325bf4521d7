//! The edge of cleanup: a [`Backend`] reads one image's versions into an [`Inventory`] and
//! carries out a [`CleanupPlan`]; [`Apis`] (the `registry-apis` input) says which backend serves
//! which registry; [`PullRequestStates`] tells which pull requests are closed.
//!
//! ```text
//! # the defaults: ghcr.io=github@$GITHUB_API_URL, docker.io=dockerhub@https://hub.docker.com,
//! # every other registry: oci (its own distribution API)
//! containers.ghe.example.com=github@https://ghe.example.com/api/v3
//! 127.0.0.1:5000=github@http://127.0.0.1:6000
//! ```

use super::{CleanupPlan, Inventory, plan::Capabilities};
use crate::registry::Digest;
use futures_util::future::BoxFuture;
use std::collections::BTreeSet;

/// What one deletion or untag did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deleted {
    Done,
    /// Already gone (404): counts as done.
    AlreadyGone,
    Failed(String),
}

/// One step of a plan carried out: a version deleted (`tag: None`) or one tag removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub digest: Digest,
    pub tag: Option<String>,
    pub result: Deleted,
}

impl Outcome {
    pub fn version(digest: Digest, result: Deleted) -> Outcome {
        Outcome {
            digest,
            tag: None,
            result,
        }
    }

    pub fn failed(&self) -> bool {
        matches!(self.result, Deleted::Failed(_))
    }
}

/// Deletions skipped because a manifest that points at them could not be deleted: a partial run
/// never leaves a dangling reference.
#[derive(Debug, Default)]
pub struct Blocked(BTreeSet<Digest>);

impl Blocked {
    /// The outcome for `digest` when it must be skipped.
    pub fn skip(&self, digest: &Digest) -> Option<Deleted> {
        self.0.contains(digest).then(|| {
            Deleted::Failed("skipped: a manifest that points at it could not be deleted".into())
        })
    }

    /// Records `digest`'s deletion: after a failure, what it points at must stay.
    pub fn record(&mut self, inventory: &Inventory, digest: &Digest, result: &Deleted) {
        if !matches!(result, Deleted::Failed(_)) {
            return;
        }
        if let Some(v) = inventory.versions.iter().find(|v| &v.digest == digest) {
            self.0.extend(v.children.iter().cloned());
            self.0.extend(v.subject.iter().cloned());
            self.0
                .extend(v.tags.iter().filter_map(|t| super::referrer_subject(t)));
        }
    }
}

/// Every step of `plan` failed for the same reason (the API could not be reached at all).
pub fn all_failed(plan: &CleanupPlan, why: &str) -> Vec<Outcome> {
    let untags = plan.untags.iter().map(|(digest, tag)| Outcome {
        digest: digest.clone(),
        tag: Some(tag.clone()),
        result: Deleted::Failed(why.to_string()),
    });
    let deletions = plan
        .deletions
        .iter()
        .map(|d| Outcome::version(d.clone(), Deleted::Failed(why.to_string())));
    untags.chain(deletions).collect()
}

/// Why an image could not be read (nothing is deleted then).
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error(transparent)]
    Registry(Box<crate::registry::Error>),
    /// An API answered with an error: what was asked, the status, and the fix.
    #[error("{api} answered {status} to {what}: {message}{}", hint.as_ref().map(|h| format!(" (hint: {h})")).unwrap_or_default())]
    Api {
        api: &'static str,
        what: String,
        status: u16,
        message: String,
        hint: Option<String>,
    },
    #[error("{0}")]
    Other(String),
}

impl From<crate::registry::Error> for BackendError {
    fn from(e: crate::registry::Error) -> Self {
        BackendError::Registry(Box::new(e))
    }
}

/// A registry's cleanup API.
pub trait Backend: Send + Sync {
    /// What the API can do (one tag removed from a version that keeps others).
    fn capabilities(&self) -> Capabilities;

    /// Reads every version of `image` (`registry/repository`), read-only.
    fn gather<'a>(
        &'a self,
        image: &'a crate::registry::Repository,
    ) -> BoxFuture<'a, Result<Inventory, BackendError>>;

    /// Carries out the plan's untags, then its deletions in order. After a failure, nothing a
    /// failed deletion still points at is deleted.
    fn execute<'a>(
        &'a self,
        image: &'a crate::registry::Repository,
        inventory: &'a Inventory,
        plan: &'a CleanupPlan,
    ) -> BoxFuture<'a, Vec<Outcome>>;

    /// What the API lets this run still spend, as last announced (default: no limit known).
    fn allowance(&self) -> super::budget::Allowance {
        super::budget::Allowance::default()
    }
}

/// Which pull requests are closed, from an API.
pub trait PullRequestStates: Send + Sync {
    /// The closed ones among `numbers`.
    fn closed<'a>(
        &'a self,
        numbers: &'a [u64],
    ) -> BoxFuture<'a, Result<BTreeSet<u64>, BackendError>>;
}

/// The kind of API behind a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Api {
    /// The GitHub Packages REST API at this base URL.
    GitHub(String),
    /// Docker Hub's API at this base URL.
    DockerHub(String),
    /// The OCI distribution API of the registry itself.
    Oci,
}

/// An error in the `registry-apis` input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("input `registry-apis`, line {line}: {message}")]
pub struct ApisError {
    pub line: usize,
    pub message: String,
}

/// Registry -> API, from the `registry-apis` input over the defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Apis {
    github_api_url: String,
    explicit: Vec<(String, Api)>,
}

pub const DOCKER_HUB_API: &str = "https://hub.docker.com";

impl Apis {
    /// Parses `registry=kind[@url]` lines; `github_api_url` is `GITHUB_API_URL` (or the default).
    pub fn parse(raw: &str, github_api_url: Option<&str>) -> Result<Apis, ApisError> {
        let github_api_url = github_api_url
            .filter(|u| !u.is_empty())
            .unwrap_or("https://api.github.com")
            .trim_end_matches('/')
            .to_string();
        let mut explicit = Vec::new();
        for line in crate::lines::input_lines(raw) {
            let text = line.text.as_str();
            let err = |message: String| ApisError {
                line: line.number,
                message,
            };
            let (registry, rest) = text.split_once('=').ok_or_else(|| {
                err("expected `registry=github|dockerhub|oci[@url]`, e.g. `ghcr.io=github`".into())
            })?;
            let (kind, url) = match rest.trim().split_once('@') {
                Some((k, u)) => (k.trim(), Some(u.trim().trim_end_matches('/'))),
                None => (rest.trim(), None),
            };
            if let Some(url) = url {
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err(err(format!("`{url}` is not an http(s) URL")));
                }
            }
            let api = match kind {
                "github" => Api::GitHub(url.unwrap_or(&github_api_url).to_string()),
                "dockerhub" => Api::DockerHub(url.unwrap_or(DOCKER_HUB_API).to_string()),
                "oci" if url.is_none() => Api::Oci,
                "oci" => {
                    return Err(err(
                        "`oci` takes no URL: it is the registry's own API".into()
                    ));
                }
                other => {
                    return Err(err(format!(
                        "unknown API `{other}`; expected github, dockerhub or oci"
                    )));
                }
            };
            let registry = registry.trim();
            if registry.is_empty() || registry.contains('/') {
                return Err(err(format!(
                    "`{registry}` is not a registry host (e.g. ghcr.io, 127.0.0.1:5000)"
                )));
            }
            explicit.push((registry.to_ascii_lowercase(), api));
        }
        Ok(Apis {
            github_api_url,
            explicit,
        })
    }

    /// The API serving `registry` (as in an image name: `ghcr.io`, `docker.io`, `host:port`).
    pub fn for_registry(&self, registry: &str) -> Api {
        let registry = registry.to_ascii_lowercase();
        if let Some((_, api)) = self.explicit.iter().rev().find(|(r, _)| *r == registry) {
            return api.clone();
        }
        match registry.as_str() {
            "ghcr.io" => Api::GitHub(self.github_api_url.clone()),
            "docker.io" | "index.docker.io" | "registry-1.docker.io" => {
                Api::DockerHub(DOCKER_HUB_API.into())
            }
            _ => Api::Oci,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_serve_ghcr_and_docker_hub_by_their_apis() {
        let apis = Apis::parse("", Some("https://ghe.example.com/api/v3/")).unwrap();
        assert_eq!(
            apis.for_registry("ghcr.io"),
            Api::GitHub("https://ghe.example.com/api/v3".into())
        );
        assert_eq!(
            apis.for_registry("docker.io"),
            Api::DockerHub(DOCKER_HUB_API.into())
        );
        assert_eq!(apis.for_registry("quay.io"), Api::Oci);
        let apis = Apis::parse("", None).unwrap();
        assert_eq!(
            apis.for_registry("GHCR.io"),
            Api::GitHub("https://api.github.com".into())
        );
    }

    #[test]
    fn lines_override_the_defaults() {
        let apis = Apis::parse(
            "# local emulators\n127.0.0.1:5000=github@http://127.0.0.1:6000/\n\
             127.0.0.1:5001 = dockerhub @ http://127.0.0.1:6001\nghcr.io=oci",
            None,
        )
        .unwrap();
        assert_eq!(
            apis.for_registry("127.0.0.1:5000"),
            Api::GitHub("http://127.0.0.1:6000".into())
        );
        assert_eq!(
            apis.for_registry("127.0.0.1:5001"),
            Api::DockerHub("http://127.0.0.1:6001".into())
        );
        assert_eq!(apis.for_registry("ghcr.io"), Api::Oci);
    }

    #[test]
    fn bad_lines_name_the_line_and_the_fix() {
        for (raw, needle) in [
            ("ghcr.io", "expected `registry=github"),
            ("ghcr.io=gitlab", "unknown API `gitlab`"),
            ("ghcr.io=github@ftp://x", "not an http(s) URL"),
            ("x.io=oci@https://x", "takes no URL"),
            ("ghcr.io/owner=github", "not a registry host"),
        ] {
            let e = Apis::parse(&format!("\n{raw}"), None).unwrap_err();
            assert_eq!(e.line, 2, "{raw}");
            assert!(e.to_string().contains(needle), "{raw}: {e}");
        }
    }
}
