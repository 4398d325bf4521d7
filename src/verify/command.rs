//! `command: verify` for the app shell: images + tags -> gather -> assess -> (sync -> gather again)
//! -> outputs (`in-sync`, `report`), step summary, log lines, and the failure (`verdict`).

use super::gather::{GatherError, gather};
use super::sync::{Step, sync};
use super::tags::{Selection, select};
use super::verdict::Verdict;
use super::{TagReport, assess};
use crate::inputs::Inputs;
use crate::meta::Meta;
use crate::publish::credentials::{CredentialsError, client_config};
use crate::publish::plan::Options;
use crate::registry::{Client, Repository};
use crate::report::commands::Untrusted;
use crate::report::outputs::Outputs;
use crate::report::verify::{failed_summary, report_json, short, verify_summary};
use std::collections::BTreeMap;
use std::io::{self, Write};

/// Everything that stops verify, each with its hint.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(
        "input `images` is empty: verify needs the image to check (the first one is the primary; every other is compared with it)"
    )]
    NoImages,
    #[error("input `images`: `{image}` is not a repository to verify: {error}")]
    Image {
        image: String,
        error: Box<crate::registry::Error>,
    },
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    #[error("cannot set up the registry client: {0}")]
    Client(Box<crate::registry::Error>),
    #[error("cannot read the registries: {0}")]
    Gather(#[from] GatherError),
    #[error("cannot start the async runtime: {0}")]
    Runtime(io::Error),
    #[error("{} drift:\n{}", if *.synced { "after sync, the registries still" } else { "the registries" }, .lines.join("\n"))]
    Drift { lines: Vec<String>, synced: bool },
    /// Tags no registry has; `drift` holds any drift of the other tags, for the same message.
    #[error("{}", missing_message(.tags, .drift))]
    MissingEverywhere {
        tags: Vec<String>,
        drift: Vec<String>,
    },
}

fn missing_message(tags: &[String], drift: &[String]) -> String {
    let names: Vec<String> = tags.iter().map(|t| format!("`{t}`")).collect();
    let mut out = match names.as_slice() {
        [one] => format!("tag {one} is missing from every registry"),
        _ => format!("tags {} are missing from every registry", names.join(", ")),
    };
    if !drift.is_empty() {
        out.push_str(&format!(
            ", and the registries drift:\n{}",
            drift.join("\n")
        ));
    }
    out
}

impl VerifyError {
    pub fn hint(&self) -> Option<&'static str> {
        Some(match self {
            VerifyError::NoImages => {
                "list the primary first, then the copies, e.g. `images: ghcr.io/octo/app` and `docker.io/octo/app` on the next line"
            }
            VerifyError::Drift { synced: false, .. } => {
                "set `sync: true` to copy the primary's tags to the others, or `fail-on-drift: false` to only report"
            }
            VerifyError::Drift { synced: true, .. } => {
                "sync never overwrites a release tag that differs, and never moves a rolling tag back; fix it by hand, or set `overwrite-releases: true` if the primary is right"
            }
            VerifyError::MissingEverywhere { .. } => {
                "there is nothing to compare: check the tag's spelling (tags are case-sensitive) or publish it first; `verify-tags: *` checks every tag the primary has"
            }
            _ => return None,
        })
    }
}

/// What verify hands back to the shell: outputs and summary in every case, and the failure.
pub struct Finished {
    pub outputs: Outputs,
    pub summary: String,
    pub failure: Option<VerifyError>,
}

/// Runs verify for `meta.images` and the selected tags.
pub fn command(
    vars: &BTreeMap<String, String>,
    inputs: &Inputs,
    meta: &Meta,
    console: &mut dyn Write,
) -> Finished {
    match checked(vars, inputs, meta, console) {
        Ok(finished) => finished,
        // Nothing could be compared: the registries are not known to agree, and the summary
        // says why.
        Err(error) => {
            let mut outputs = Outputs::new();
            outputs.set("in-sync", "false");
            let mut lines: Vec<String> = error.to_string().lines().map(str::to_owned).collect();
            lines.extend(error.hint().map(|hint| format!("hint: {hint}")));
            Finished {
                outputs,
                summary: failed_summary(&lines),
                failure: Some(error),
            }
        }
    }
}

fn checked(
    vars: &BTreeMap<String, String>,
    inputs: &Inputs,
    meta: &Meta,
    console: &mut dyn Write,
) -> Result<Finished, VerifyError> {
    if meta.images.is_empty() {
        return Err(VerifyError::NoImages);
    }
    let repos = meta
        .images
        .iter()
        .map(|image| {
            Repository::parse(image.as_str()).map_err(|error| VerifyError::Image {
                image: image.to_string(),
                error: Box::new(error),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let client = connect(vars, inputs)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(VerifyError::Runtime)?;
    let selection = select(&inputs.verify_tags, &meta.tags);
    let mut reports = runtime.block_on(assess_all(&client, &repos, &selection))?;
    let mut steps: Option<Vec<Step>> = None;
    if inputs.sync && reports.iter().any(TagReport::drift) {
        log_reports(console, "before sync", &reports);
        let options = Options {
            overwrite_releases: inputs.overwrite_releases,
        };
        let done = runtime.block_on(sync(&client, &reports, &options, inputs.dry_run));
        for s in &done {
            log(console, &sync_line(s));
        }
        if !inputs.dry_run {
            reports = runtime.block_on(assess_all(&client, &repos, &selection))?;
        }
        steps = Some(done);
    } else if inputs.sync {
        steps = Some(Vec::new());
    }
    log_reports(console, "verify", &reports);
    let verdict = Verdict::of(&reports);
    let mut outputs = Outputs::new();
    outputs.set("in-sync", if verdict.in_sync() { "true" } else { "false" });
    outputs.set("report", report_json(&reports, steps.as_deref()));
    let summary = verify_summary(&reports, steps.as_deref());
    let failure = verdict.failure(
        matches!(selection, Selection::Listed(_)),
        inputs.fail_on_drift,
        steps.is_some() && !inputs.dry_run,
    );
    Ok(Finished {
        outputs,
        summary,
        failure,
    })
}

async fn assess_all(
    client: &Client,
    repos: &[Repository],
    selection: &Selection,
) -> Result<Vec<TagReport>, VerifyError> {
    let observation = gather(client, repos, selection).await?;
    let Some((primary_states, other_states)) = observation.states.split_first() else {
        return Ok(Vec::new());
    };
    Ok(observation
        .tags
        .into_iter()
        .map(|tag| {
            let state = |states: &BTreeMap<String, super::TagState>| {
                states.get(&tag.name).cloned().unwrap_or_default()
            };
            let primary = state(primary_states);
            let others: Vec<(Repository, super::TagState)> = repos
                .iter()
                .skip(1)
                .zip(other_states)
                .map(|(r, s)| (r.clone(), state(s)))
                .collect();
            assess(tag, (&repos[0], &primary), &others)
        })
        .collect())
}

/// The client, with `credentials`, `github-token` and `insecure-registries` (as publish uses).
fn connect(vars: &BTreeMap<String, String>, inputs: &Inputs) -> Result<Client, VerifyError> {
    // Its secrets are masked already (app::run masks every secret first).
    let config = client_config(inputs, |name| vars.get(name).cloned())?;
    Client::new(config).map_err(|error| VerifyError::Client(Box::new(error)))
}

fn log_reports(console: &mut dyn Write, stage: &str, reports: &[TagReport]) {
    for r in reports {
        for f in &r.findings {
            let digest = f.digest.as_ref().map(short).unwrap_or_else(|| "-".into());
            log(
                console,
                &format!(
                    "{stage}: {}:{} {digest} {}",
                    f.repo,
                    Untrusted(&r.tag.name),
                    f.status
                ),
            );
        }
    }
}

/// `sync <tag> -> <image>: <action>[ <reason>]`.
pub(crate) fn sync_line(step: &Step) -> String {
    let mut line = format!(
        "sync {} -> {}: {}",
        Untrusted(&step.tag),
        step.repo,
        step.action.name()
    );
    if let Some(reason) = step.action.reason() {
        line.push_str(&format!(" {}", Untrusted(reason)));
    }
    line
}

fn log(console: &mut dyn Write, line: &str) {
    let _ = writeln!(console, "{}", line.trim_end_matches('\n'));
}
