//! `command: publish` with a `source` in the app: the engine's outcome turned into the log, the
//! outputs and the step summary (a dry run's plan, a publish's report, or the error with what
//! was done).

use super::context::RunContext;
use super::error::AppError;
use super::session::Session;
use super::{Finished, log, warn};
use crate::meta::Meta;
use crate::publish::execute::Report;
use crate::publish::plan::{Options, Plan, Refusals};
use crate::publish::run::{self as publish_run, Outcome, PublishError};
use crate::registry::{Repository, StopReason};
use crate::report::commands::Untrusted;
use crate::report::{self, outputs};
use crate::source::SourceSpec;
use std::io::Write;

/// Publishes `source` under the computed tags: the publish outputs and summary, or the error
/// with whatever summary there is (a failed run still reports what it did).
pub fn run(
    run: &RunContext<'_>,
    meta: &Meta,
    source: &SourceSpec,
    console: &mut dyn Write,
) -> Finished {
    match publish(run, meta, source, console) {
        Ok((outputs, summary)) => Finished {
            outputs,
            summary,
            failure: None,
        },
        Err((error, summary)) => Finished {
            outputs: outputs::Outputs::new(),
            summary,
            failure: Some(error),
        },
    }
}

fn publish(
    run: &RunContext<'_>,
    meta: &Meta,
    source: &SourceSpec,
    console: &mut dyn Write,
) -> Result<(outputs::Outputs, String), (AppError, String)> {
    let fail = |e: AppError| (e, String::new());
    let inputs = &run.inputs;
    let actions = run.actions;
    let targets = meta
        .images
        .iter()
        .map(|image| {
            Repository::parse(image.as_str()).map_err(|error| PublishError::Target {
                image: image.to_string(),
                error: Box::new(error),
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(e.into()))?;
    // From here a signal or the `timeout` input stops the run with its report.
    let session = Session::open(run).map_err(fail)?;
    let (client, runtime, stop) = (&session.client, &session.runtime, &session.stop);
    let request = publish_run::Request {
        source,
        targets: &targets,
        tags: &meta.tags,
        options: Options {
            overwrite_releases: inputs.overwrite_releases,
        },
        referrers: inputs.referrers,
        referrer_types: &inputs.referrer_types,
        recheck: &[],
        refusals: Refusals::StopRun,
        dry_run: inputs.dry_run,
    };
    let outcome = match runtime.block_on(publish_run::publish(client, request)) {
        Ok(outcome) => outcome,
        // Stopped before the executor started: nothing was written (only it writes).
        Err(_) if stop.reason().is_some() => {
            let reason = stop.reason().unwrap_or(StopReason::Signal("SIGTERM"));
            let text = report::publish::stopped_summary(&reason);
            let failures = Vec::new();
            return Err((AppError::Stopped { reason, failures }, text));
        }
        Err(PublishError::Refused(refusals)) => {
            let text = report::publish::refused_summary(&refusals);
            return Err((PublishError::Refused(refusals).into(), text));
        }
        Err(error) => return Err(fail(error.into())),
    };
    match outcome {
        Outcome::Planned(plan) => log_plan(console, meta, &plan, actions),
        Outcome::Published(published) => log_published(console, meta, &published, actions),
    }
}

/// A dry run's log, outputs and summary: what a real run would do, and its error when a real run
/// would be refused.
fn log_plan(
    console: &mut dyn Write,
    meta: &Meta,
    plan: &Plan,
    actions: bool,
) -> Result<(outputs::Outputs, String), (AppError, String)> {
    log(
        console,
        "dry run: what a real run would do (nothing is written):",
    );
    log(console, &plan.to_string());
    log(
        console,
        "dry run: nothing was written; the plan above is what a real run would do",
    );
    let text = report::publish::plan_summary(plan);
    let refusals = plan.refusals();
    if !refusals.is_empty() {
        return Err((AppError::DryRunRefused(refusals), text));
    }
    if meta.tags.is_empty() {
        let message = format!(
            "no tag was computed for this event: a real run would push the image by digest only ({})",
            plan.root.digest
        );
        warn(console, &message, actions);
    }
    let mut out = outputs::Outputs::new();
    out.set("digest", plan.root.digest.to_string());
    let refs: Vec<String> = meta
        .images
        .iter()
        .map(|i| format!("{i}@{}", plan.root.digest))
        .collect();
    out.set("refs", refs.join("\n"));
    Ok((out, text))
}

/// A publish's log, outputs and summary: per target what moved and each tag's outcome, then
/// `image@digest` per target when every step completed; the failures otherwise.
fn log_published(
    console: &mut dyn Write,
    meta: &Meta,
    published: &Report,
    actions: bool,
) -> Result<(outputs::Outputs, String), (AppError, String)> {
    let text = report::publish::publish_summary(published);
    for target in &published.targets {
        let repo = &target.repo;
        let moved = match target.image_present {
            true => format!("{repo}: the image was already there"),
            false => format!(
                "{repo}: {} blobs uploaded ({}), {} mounted, {} already there",
                target.uploaded_blobs,
                crate::size::human_bytes(target.uploaded_bytes),
                target.mounted_blobs,
                target.present_blobs
            ),
        };
        log(console, &moved);
        for (tag, _, outcome) in &target.tags {
            log(
                console,
                &format!("  {}: {}", Untrusted(tag), Untrusted(&outcome.to_string())),
            );
        }
    }
    if !published.failures.is_empty() {
        let failures = published.failures.clone();
        let error = match published.stopped.clone() {
            Some(reason) => AppError::Stopped { reason, failures },
            None => AppError::Incomplete(failures),
        };
        return Err((error, text));
    }
    for target in &published.targets {
        log(
            console,
            &format!("published {}@{}", target.repo, published.digest),
        );
    }
    if meta.tags.is_empty() {
        let message = format!(
            "no tag was computed for this event, so the image was pushed by digest only ({})",
            published.digest
        );
        warn(console, &message, actions);
    }
    Ok((
        report::publish::publish_outputs(published, &meta.images),
        text,
    ))
}
