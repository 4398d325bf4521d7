//! `command: cleanup` from the inputs: policy, images, closed pull requests and a registry client
//! -> [`run::cleanup`] on a runtime -> outputs and step summary (rendered by `report::cleanup`).
//! The app writes them; [`outcome`] turns failures into the exit code afterwards.

use super::Policy;
use super::backend::{Api, Apis, ApisError, Backend, PullRequestStates};
use super::github::api::GithubApi;
use super::github::{GithubBackend, GithubPullRequests};
use super::hub::HubBackend;
use super::oci::OciBackend;
use super::run::{self, Request};
use crate::inputs::Inputs;
use crate::publish::credentials::{CredentialsError, client_config};
use crate::registry::{Client, Credential, Repository};
use crate::report::cleanup::{cleanup_outputs, cleanup_summary};
use crate::report::commands::{self, Untrusted};
use crate::report::outputs::Outputs;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::sync::{Arc, Mutex};

/// What stops a cleanup, each with the hint a user needs.
#[derive(Debug, thiserror::Error)]
pub enum CleanupError {
    #[error("input `retention` is empty: cleanup needs a policy")]
    NoPolicy,
    #[error("input `images` is empty: cleanup needs the images to clean")]
    NoImages,
    #[error("input `images`, line {line}: `{image}` is not a repository: {message}")]
    BadImage {
        line: usize,
        image: String,
        message: String,
    },
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    #[error(transparent)]
    Apis(#[from] ApisError),
    #[error("cannot start the registry client: {0}")]
    Client(String),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cleanup finished with {0} failure(s); see the `report` output and the step summary")]
    Failed(usize),
}

impl CleanupError {
    pub fn hint(&self) -> &'static str {
        match self {
            CleanupError::NoPolicy => {
                "set `retention`, e.g. `keep tag=latest` and `delete tag=main-* older-than=30d`; try `dry-run: true` first"
            }
            CleanupError::NoImages | CleanupError::BadImage { .. } => {
                "one repository per line, e.g. `ghcr.io/owner/app` (no tag)"
            }
            CleanupError::Failed(_) => {
                "a re-run retries what failed; deleting needs a token with delete rights and a registry with deletes enabled"
            }
            _ => "check the registry address and credentials",
        }
    }
}

/// Plans (and unless `dry-run`, executes) the cleanup; logs each decision.
pub fn run(
    vars: &BTreeMap<String, String>,
    inputs: &Inputs,
    now: jiff::Timestamp,
    console: &mut dyn Write,
) -> Result<(Outputs, String), crate::app::AppError> {
    let policy = Policy::parse(&inputs.retention)?;
    if policy.rules.is_empty() {
        return Err(CleanupError::NoPolicy.into());
    }
    let images = inputs
        .tags
        .images
        .iter()
        .map(|line| {
            let image = line.text.split(',').next().unwrap_or("").trim();
            let image = image.strip_prefix("name=").unwrap_or(image);
            Repository::parse(image).map_err(|e| CleanupError::BadImage {
                line: line.number,
                image: image.to_string(),
                message: e.to_string(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if images.is_empty() {
        return Err(CleanupError::NoImages.into());
    }
    let mut closed_prs: BTreeSet<u64> = inputs.closed_pull_requests.iter().copied().collect();
    let event_name = vars.get("GITHUB_EVENT_NAME").map_or("", String::as_str);
    let mut closed_pr_event = false;
    if let Some(payload) = vars
        .get("GITHUB_EVENT_PATH")
        .and_then(|p| std::fs::read(p).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
    {
        let closed = run::closed_pr_from_event(event_name, &payload);
        closed_pr_event = closed.is_some();
        closed_prs.extend(closed);
    }
    let apis = Apis::parse(
        &inputs.registry_apis,
        vars.get("GITHUB_API_URL").map(String::as_str),
    )
    .map_err(CleanupError::from)?;
    // The same logins as publishing: `credentials`, `github-token` for ghcr.io, Docker's config.
    let (config, secrets) =
        client_config(inputs, |name| vars.get(name).cloned()).map_err(CleanupError::from)?;
    if vars.get("GITHUB_ACTIONS").is_some_and(|v| v == "true") {
        for secret in &secrets {
            let _ = writeln!(console, "{}", commands::add_mask(secret.expose()));
        }
    }
    let credentials_by_registry = (config.credentials.clone(), config.docker_config_dir.clone());
    let client = Client::new(config).map_err(|e| CleanupError::Client(e.to_string()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(CleanupError::Runtime)?;
    // octocrab's client spawns its service on the runtime it is built in.
    let _runtime_context = runtime.enter();
    let request = Request {
        images,
        policy: &policy,
        closed_prs,
        now,
        dry_run: inputs.dry_run,
    };
    // One API client per URL, shared by every image: one rate-limit budget, one deletion pace.
    let github_apis: Mutex<BTreeMap<String, Arc<Result<GithubApi, String>>>> = Mutex::default();
    let github_api = |url: &str| -> Arc<Result<GithubApi, String>> {
        let mut apis = github_apis.lock().expect("api cache lock");
        apis.entry(url.to_string())
            .or_insert_with(|| {
                Arc::new(match &inputs.github_token {
                    Some(token) => GithubApi::new(url, token).map_err(|e| e.to_string()),
                    None => Err(format!(
                        "the GitHub Packages API ({url}) needs a token: set `github-token` (`${{{{ github.token }}}}` with `permissions: packages: write`, or a PAT with read:packages and delete:packages)"
                    )),
                })
            })
            .clone()
    };
    let event_closed_pr = closed_pr_event;
    let repository = vars.get("GITHUB_REPOSITORY").filter(|r| r.contains('/'));
    let pull_requests = match (repository, event_closed_pr, &inputs.github_token) {
        // On the `closed` event itself the event says which; elsewhere the API is asked.
        (Some(repository), false, Some(_)) if policy.uses_closed_prs() => {
            let url = vars
                .get("GITHUB_API_URL")
                .filter(|u| !u.is_empty())
                .map_or("https://api.github.com", String::as_str)
                .trim_end_matches('/')
                .to_string();
            Some(GithubPullRequests {
                api: github_api(&url),
                repository: repository.clone(),
            })
        }
        _ => None,
    };
    let backend_for = |repo: &Repository| -> Box<dyn Backend> {
        match apis.for_registry(&repo.registry) {
            Api::Oci => Box::new(OciBackend {
                client: client.clone(),
            }),
            Api::GitHub(url) => Box::new(GithubBackend::new(github_api(&url), client.clone())),
            Api::DockerHub(api) => Box::new(HubBackend::new(
                api,
                registry_credential(&credentials_by_registry, &repo.registry),
                &client,
            )),
        }
    };
    let (runs, warnings) = runtime.block_on(run::cleanup(
        &backend_for,
        pull_requests.as_ref().map(|p| p as &dyn PullRequestStates),
        &request,
    ));
    for warning in &warnings {
        let _ = writeln!(
            console,
            "{}",
            commands::Annotation::warning(warning.as_str())
        );
    }
    for image in &runs {
        let _ = writeln!(console, "{}:", Untrusted(&image.image));
        if let Some(error) = &image.error {
            let _ = writeln!(console, "  error: {}", Untrusted(error));
        }
        for d in image.plan.iter().flat_map(|p| &p.decisions) {
            let rule = d
                .rule
                .as_ref()
                .map_or(String::new(), |r| format!(" [line {}]", r.line));
            let line = format!(
                "  {:?} {} {}{rule}: {}",
                d.action,
                d.tag.as_deref().unwrap_or("(untagged)"),
                d.digest,
                d.reason
            );
            let _ = writeln!(console, "{}", Untrusted(&line));
        }
    }
    Ok((
        cleanup_outputs(&runs, inputs.dry_run),
        cleanup_summary(&runs, inputs.dry_run),
    ))
}

/// The run's result once its outputs are written: an error when anything failed.
pub fn outcome(outputs: &Outputs) -> Result<(), CleanupError> {
    match outputs.get("failed").and_then(|f| f.parse::<usize>().ok()) {
        Some(n) if n > 0 => Err(CleanupError::Failed(n)),
        _ => Ok(()),
    }
}

/// The login for `registry`: the `credentials` input first, then Docker's config.json.
fn registry_credential(
    (credentials, docker_config): &(BTreeMap<String, Credential>, Option<std::path::PathBuf>),
    registry: &str,
) -> Option<Credential> {
    credentials.get(registry).cloned().or_else(|| {
        let dir = docker_config.as_ref()?;
        crate::registry::auth::from_docker_config(dir, registry)
            .ok()
            .flatten()
    })
}
