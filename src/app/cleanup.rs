//! `command: cleanup` in the app: the parsed policy, images and closed pull requests, with the
//! session's client -> [`cleanup::run::cleanup`] on its runtime -> outputs and step summary
//! (rendered by `report::cleanup`) and the failure, decided from the runs.

use super::context::{CleanupInputs, RunContext};
use super::error::AppError;
use super::session::Session;
use super::{Finished, log};
use crate::cleanup::backend::{Api, Backend, PullRequestStates};
use crate::cleanup::cache::ManifestCache;
use crate::cleanup::error::outcome;
use crate::cleanup::github::api::GithubApi;
use crate::cleanup::github::{GithubBackend, GithubPullRequests};
use crate::cleanup::hub::HubBackend;
use crate::cleanup::oci::OciBackend;
use crate::cleanup::plan::Action;
use crate::cleanup::run::{self, ImageRun, Request};
use crate::registry::{ClientConfig, Credential, Repository};
use crate::report::cleanup::{cleanup_outputs, cleanup_summary, remaining_line};
use crate::report::commands::{self, Untrusted, UntrustedMessage};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::sync::{Arc, Mutex};

/// One GitHub API client per URL, shared by every image: one rate-limit budget, one pace.
type GithubApis = Mutex<BTreeMap<String, Arc<Result<GithubApi, String>>>>;

/// Plans (and unless `dry-run`, executes) the cleanup; logs each decision.
pub fn run(
    run: &RunContext<'_>,
    cleanup: &CleanupInputs,
    console: &mut dyn Write,
) -> Result<Finished, AppError> {
    let session = Session::open(run)?;
    // octocrab's client spawns its service on the runtime it is built in.
    let _runtime_context = session.runtime.enter();
    let dry_run = run.inputs.dry_run;
    let request = Request {
        images: cleanup.images.clone(),
        policy: &cleanup.policy,
        closed_prs: cleanup.closed_prs.clone(),
        now: run.now,
        dry_run,
        time_budget: Some(run.inputs.cleanup_time_budget),
    };
    let github_apis = GithubApis::default();
    let github_api = |url: &str| api_for(&github_apis, url, run);
    let pull_requests = pull_request_states(run, cleanup, &github_api);
    let cache = open_cache(run, console);
    let client = &session.client;
    let backend_for = |repo: &Repository| -> Box<dyn Backend> {
        match cleanup.apis.for_registry(&repo.registry) {
            Api::Oci => Box::new(OciBackend {
                client: client.clone(),
            }),
            Api::GitHub(url) => Box::new(
                GithubBackend::new(github_api(&url), client.clone()).with_cache(cache.clone()),
            ),
            Api::DockerHub(api) => Box::new(HubBackend::new(
                api,
                registry_credential(&session.config, &repo.registry),
                client,
            )),
        }
    };
    let (runs, warnings) = session.runtime.block_on(run::cleanup(
        &backend_for,
        pull_requests.as_ref().map(|p| p as &dyn PullRequestStates),
        &request,
    ));
    if let Err(warning) = cache.save() {
        warn(console, &warning);
    }
    for warning in &warnings {
        warn(console, warning);
    }
    log_runs(console, &runs, dry_run);
    Ok(Finished {
        outputs: cleanup_outputs(&runs, dry_run),
        summary: cleanup_summary(&runs, dry_run),
        failure: outcome(&runs).err().map(AppError::from),
    })
}

/// Where the state of pull requests is asked: on the `closed` event itself the event says
/// which is closed; elsewhere GitHub's API, when the policy needs it and a token and a
/// repository are there.
fn pull_request_states(
    run: &RunContext<'_>,
    cleanup: &CleanupInputs,
    github_api: &dyn Fn(&str) -> Arc<Result<GithubApi, String>>,
) -> Option<GithubPullRequests> {
    let workflow = &run.workflow;
    match (&workflow.repository, &run.inputs.github_token) {
        (Some(repository), Some(_))
            if workflow.closed_pull_request.is_none() && cleanup.policy.uses_closed_prs() =>
        {
            Some(GithubPullRequests {
                api: github_api(&workflow.api_url),
                repository: repository.clone(),
            })
        }
        _ => None,
    }
}

/// Manifests by digest, from the `manifest-cache` file when there is one (one that exists but
/// cannot be used is a warning).
fn open_cache(run: &RunContext<'_>, console: &mut dyn Write) -> Arc<ManifestCache> {
    let (cache, cache_warning) = match &run.inputs.manifest_cache {
        Some(path) => ManifestCache::load(path),
        None => (ManifestCache::in_memory(), None),
    };
    if let Some(warning) = &cache_warning {
        warn(console, warning);
    }
    Arc::new(cache)
}

/// Logs `warning` as a workflow warning annotation.
fn warn(console: &mut dyn Write, warning: &str) {
    log(console, &commands::Annotation::warning(warning).to_string());
}

/// The API client for `url`, made once per run.
fn api_for(apis: &GithubApis, url: &str, run: &RunContext<'_>) -> Arc<Result<GithubApi, String>> {
    let mut apis = apis.lock().expect("api cache lock");
    apis.entry(url.to_string())
        .or_insert_with(|| {
            Arc::new(match &run.inputs.github_token {
                Some(token) => GithubApi::new(url, token).map_err(|e| e.to_string()),
                None => Err(format!(
                    "the GitHub Packages API ({url}) needs a token: set `github-token` (`${{{{ github.token }}}}` with `permissions: packages: write`, or a PAT with read:packages and delete:packages)"
                )),
            })
        })
        .clone()
}

/// Each image's decisions, as a dry run would carry them out or as they were.
fn log_runs(console: &mut dyn Write, runs: &[ImageRun], dry_run: bool) {
    if dry_run {
        log(
            console,
            "Dry run: nothing is deleted; each line says what a real run would do.",
        );
    }
    for image in runs {
        log(console, &format!("{}:", Untrusted(&image.image)));
        if let Some(error) = &image.error {
            let indented = error.replace('\n', "\n    ");
            log(
                console,
                &format!("  error: {}", UntrustedMessage(&indented)),
            );
        }
        if let Some(note) = image.plan.as_ref().and_then(|p| p.budget.as_ref()) {
            log(console, &format!("  budget: {note}"));
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
            let action = match (dry_run, d.action) {
                (true, Action::Delete) => "Would delete".to_owned(),
                (true, Action::Untag) => "Would untag".to_owned(),
                (_, action) => format!("{action:?}"),
            };
            let later = if d.action != Action::Keep && next_run.contains(&d.digest) {
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
            log(console, &Untrusted(&line).to_string());
        }
    }
    if let Some(line) = remaining_line(runs) {
        log(console, &line);
    }
}

/// The login for `registry`: the `credentials` input first, then Docker's config.json.
fn registry_credential(config: &ClientConfig, registry: &str) -> Option<Credential> {
    config.credentials.get(registry).cloned().or_else(|| {
        let dir = config.docker_config_dir.as_ref()?;
        crate::registry::auth::from_docker_config(dir, registry)
            .ok()
            .flatten()
    })
}
