//! The run context, built once at the start: the inputs (validated), what the command needs
//! parsed at the boundary ([`CommandInputs`]: `source`, `retention`, `registry-apis`, the images
//! to clean), the workflow [`Context`] (event, API URL, repository, the pull request the event
//! closed), the environment switches and the clock. Everything below the app takes its values
//! from here, never from the environment.

use super::error::AppError;
use crate::cleanup::Policy;
use crate::cleanup::backend::Apis;
use crate::cleanup::error::CleanupError;
use crate::clock;
use crate::context::{Context, GithubEnv};
use crate::inputs::{Command, Inputs};
use crate::meta::Switches;
use crate::meta::image::parse_images_once;
use crate::registry::Repository;
use crate::source::SourceSpec;
use std::collections::{BTreeMap, BTreeSet};

/// What one command needs beyond the shared inputs, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandInputs {
    /// `publish`: the image to publish; `None` computes tags only (as docker/metadata-action).
    Publish {
        source: Option<SourceSpec>,
    },
    /// `verify`: its inputs (`verify-tags`, `sync`, `fail-on-drift`) are in [`Inputs`].
    Verify,
    Cleanup(CleanupInputs),
}

/// `cleanup`: the policy, the APIs, the repositories and the pull requests known to be closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanupInputs {
    pub policy: Policy,
    pub apis: Apis,
    /// The enabled `images`, each once, as publish reads them.
    pub images: Vec<Repository>,
    /// `closed-pull-requests` and the pull request this event closed.
    pub closed_prs: BTreeSet<u64>,
}

/// One run: everything the commands take, read once.
pub struct RunContext<'a> {
    /// The environment (the process's, `--env-file`s, flags): read here and by the session
    /// (Docker's config, CA files), nowhere below the app.
    pub vars: &'a BTreeMap<String, String>,
    /// Inside GitHub Actions: stdout carries workflow commands.
    pub actions: bool,
    pub inputs: Inputs,
    pub command: CommandInputs,
    pub workflow: Context,
    pub switches: Switches,
    pub now: jiff::Timestamp,
}

impl<'a> RunContext<'a> {
    pub fn build(vars: &'a BTreeMap<String, String>) -> Result<RunContext<'a>, AppError> {
        let inputs = Inputs::from_vars(vars)?;
        let switches = Switches::parse(|name| vars.get(name).cloned())?;
        let github = GithubEnv::from_vars(vars)?;
        let event = Context::load_event(&github)?;
        let workflow = Context::assemble(&github, &event, switches.pr_head_sha);
        let now = clock::now(vars.get("SOURCE_DATE_EPOCH").map(String::as_str))?;
        let command = match inputs.command {
            Command::Publish => CommandInputs::Publish {
                source: inputs
                    .source
                    .as_deref()
                    .map(SourceSpec::parse)
                    .transpose()
                    .map_err(crate::publish::run::PublishError::from)?,
            },
            Command::Verify => CommandInputs::Verify,
            Command::Cleanup => CommandInputs::Cleanup(cleanup_inputs(&inputs, &workflow)?),
        };
        Ok(RunContext {
            vars,
            actions: super::in_actions(vars),
            inputs,
            command,
            workflow,
            switches,
            now,
        })
    }

    /// A variable of the run's environment.
    pub fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }
}

fn cleanup_inputs(inputs: &Inputs, workflow: &Context) -> Result<CleanupInputs, AppError> {
    let policy = Policy::parse(&inputs.retention)?;
    if policy.rules.is_empty() {
        return Err(CleanupError::NoPolicy.into());
    }
    let (names, _repeats) = parse_images_once(&inputs.tags.images)?;
    let images = names
        .iter()
        .map(|name| {
            Repository::parse(name.as_str()).map_err(|e| CleanupError::BadImage {
                image: name.to_string(),
                message: e.to_string(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if images.is_empty() {
        return Err(CleanupError::NoImages.into());
    }
    let apis = Apis::parse(&inputs.registry_apis, Some(&workflow.api_url))?;
    let mut closed_prs: BTreeSet<u64> = inputs.closed_pull_requests.iter().copied().collect();
    closed_prs.extend(workflow.closed_pull_request);
    Ok(CleanupInputs {
        policy,
        apis,
        images,
        closed_prs,
    })
}
