//! `command: cleanup` from the inputs: policy, images, closed pull requests and a registry client
//! -> [`run::cleanup`] on a runtime -> outputs and step summary (rendered by `report::cleanup`).
//! The app writes them; [`outcome`] turns failures into the exit code afterwards.

use super::Policy;
use super::backend::{Api, Apis, ApisError, Backend, PullRequestStates};
use super::cache::ManifestCache;
use super::github::api::GithubApi;
use super::github::{GithubBackend, GithubPullRequests};
use super::hub::HubBackend;
use super::oci::OciBackend;
use super::run::{self, ImageRun, Request};
use crate::inputs::Inputs;
use crate::publish::credentials::{CredentialsError, client_config};
use crate::registry::{Client, Credential, Repository};
use crate::report::cleanup::{cleanup_outputs, cleanup_summary};
use crate::report::commands::{self, Untrusted, UntrustedMessage};
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
    #[error(
        "cleanup finished with {} failure(s){}; see the `report` output and the step summary",
        .unread + .deletions,
        unread_note(*.unread)
    )]
    Failed { unread: usize, deletions: usize },
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
            CleanupError::Failed { unread: 0, .. } => {
                "a re-run retries what failed; deleting needs a token with delete rights and a registry with deletes enabled"
            }
            CleanupError::Failed { .. } => {
                "an image that cannot be read is left as it is: check its name in `images`, that the registry is reachable, and its login (the error under the image's name in the log says which)"
            }
            _ => "check the registry address and credentials",
        }
    }
}

/// Plans (and unless `dry-run`, executes) the cleanup; logs each decision. Returns the outputs,
/// the summary and the run's result (written first, then reported).
pub fn run(
    vars: &BTreeMap<String, String>,
    inputs: &Inputs,
    now: jiff::Timestamp,
    console: &mut dyn Write,
) -> Result<(Outputs, String, Result<(), CleanupError>), crate::app::AppError> {
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
    // Its secrets are masked already (app::run masks every secret first).
    let config =
        client_config(inputs, |name| vars.get(name).cloned()).map_err(CleanupError::from)?;
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
        time_budget: Some(inputs.cleanup_time_budget),
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
    // Manifests by digest, from the `manifest-cache` file when there is one.
    let (cache, cache_warning) = match &inputs.manifest_cache {
        Some(path) => ManifestCache::load(path),
        None => (ManifestCache::in_memory(), None),
    };
    let cache = Arc::new(cache);
    if let Some(warning) = &cache_warning {
        let _ = writeln!(
            console,
            "{}",
            commands::Annotation::warning(warning.as_str())
        );
    }
    let backend_for = |repo: &Repository| -> Box<dyn Backend> {
        match apis.for_registry(&repo.registry) {
            Api::Oci => Box::new(OciBackend {
                client: client.clone(),
            }),
            Api::GitHub(url) => Box::new(
                GithubBackend::new(github_api(&url), client.clone()).with_cache(cache.clone()),
            ),
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
    if let Err(warning) = cache.save() {
        let _ = writeln!(
            console,
            "{}",
            commands::Annotation::warning(warning.as_str())
        );
    }
    for warning in &warnings {
        let _ = writeln!(
            console,
            "{}",
            commands::Annotation::warning(warning.as_str())
        );
    }
    if inputs.dry_run {
        let _ = writeln!(
            console,
            "Dry run: nothing is deleted; each line says what a real run would do."
        );
    }
    for image in &runs {
        let _ = writeln!(console, "{}:", Untrusted(&image.image));
        if let Some(error) = &image.error {
            let indented = error.replace('\n', "\n    ");
            let _ = writeln!(console, "  error: {}", UntrustedMessage(&indented));
        }
        if let Some(note) = image.plan.as_ref().and_then(|p| p.budget.as_ref()) {
            let _ = writeln!(console, "  budget: {note}");
        }
        let next_run: BTreeSet<_> = image
            .plan
            .iter()
            .flat_map(|p| {
                p.deferred
                    .iter()
                    .chain(p.deferred_untags.iter().map(|(d, _)| d))
            })
            .collect();
        for d in image.plan.iter().flat_map(|p| &p.decisions) {
            let rule = d
                .rule
                .as_ref()
                .map_or(String::new(), |r| format!(" [line {}]", r.line));
            let action = match (inputs.dry_run, d.action) {
                (true, super::plan::Action::Delete) => "Would delete".to_owned(),
                (true, super::plan::Action::Untag) => "Would untag".to_owned(),
                (_, action) => format!("{action:?}"),
            };
            let later = if d.action != super::plan::Action::Keep && next_run.contains(&d.digest) {
                " (left for the next run)"
            } else {
                ""
            };
            let line = format!(
                "  {action} {} {}{rule}: {}{later}",
                d.tag.as_deref().unwrap_or("(untagged)"),
                d.digest,
                d.reason
            );
            let _ = writeln!(console, "{}", Untrusted(&line));
        }
    }
    if let Some(line) = crate::report::cleanup::remaining_line(&runs) {
        let _ = writeln!(console, "{line}");
    }
    Ok((
        cleanup_outputs(&runs, inputs.dry_run),
        cleanup_summary(&runs, inputs.dry_run),
        outcome(&runs),
    ))
}

fn unread_note(unread: usize) -> String {
    match unread {
        0 => String::new(),
        n => format!(" ({n} image(s) could not be read)"),
    }
}

/// The run's result: an error when an image could not be read or a deletion failed.
pub fn outcome(runs: &[ImageRun]) -> Result<(), CleanupError> {
    let unread = runs.iter().filter(|r| r.error.is_some()).count();
    let deletions = runs.iter().map(ImageRun::failed).sum::<usize>() - unread;
    match unread + deletions {
        0 => Ok(()),
        _ => Err(CleanupError::Failed { unread, deletions }),
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
