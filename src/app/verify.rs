//! `command: verify` in the app: images + tags -> check -> (sync -> check again) -> outputs
//! (`in-sync`, `report`), step summary, log lines, and the failure (`verify::verdict`).

use super::context::RunContext;
use super::error::AppError;
use super::session::Session;
use super::{Finished, log};
use crate::meta::Meta;
use crate::publish::plan::Options;
use crate::registry::Repository;
use crate::report::commands::{Untrusted, UntrustedMessage};
use crate::report::outputs::Outputs;
use crate::report::verify::{
    failed_summary, missing_referrer_lines, report_json, short, sync_line, verify_summary,
};
use crate::verify::check::check;
use crate::verify::repair;
use crate::verify::sync::{Step, plan_sync};
use crate::verify::tags::{Selection, select};
use crate::verify::verdict::Verdict;
use crate::verify::{TagReport, VerifyError};
use std::io::Write;

/// Runs verify for `meta.images` and the selected tags. A run that cannot compare the
/// registries still writes `in-sync: false` and a summary that says why.
pub fn run(run: &RunContext<'_>, meta: &Meta, console: &mut dyn Write) -> Finished {
    match checked(run, meta, console) {
        Ok(finished) => finished,
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
    run: &RunContext<'_>,
    meta: &Meta,
    console: &mut dyn Write,
) -> Result<Finished, AppError> {
    if meta.images.is_empty() {
        return Err(VerifyError::NoImages.into());
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
    let session = Session::open(run)?;
    let (client, runtime) = (&session.client, &session.runtime);
    let inputs = &run.inputs;
    let selection = select(&inputs.verify_tags, &meta.tags);
    let referrers = inputs.referrers.then_some(&inputs.referrer_types[..]);
    let mut checked = runtime.block_on(check(client, &repos, &selection, referrers))?;
    let mut steps: Option<Vec<Step>> = None;
    if inputs.sync && checked.reports.iter().any(TagReport::drift) {
        log_reports(console, "before sync", &checked.reports);
        let options = Options {
            overwrite_releases: inputs.overwrite_releases,
        };
        let reports = &checked.reports;
        let gathering = runtime.block_on(repair::gather(client, reports, referrers));
        let plan = plan_sync(reports, &gathering.observations(), &options);
        let done = if inputs.dry_run {
            log(
                console,
                &UntrustedMessage(plan.to_string().trim_end()).to_string(),
            );
            repair::planned(&plan, &gathering)
        } else {
            runtime.block_on(repair::execute(client, &plan, &gathering))
        };
        for s in &done {
            log(console, &sync_line(s));
        }
        if !inputs.dry_run {
            checked = runtime.block_on(check(client, &repos, &selection, referrers))?;
        }
        steps = Some(done);
    } else if inputs.sync {
        steps = Some(Vec::new());
    }
    let reports = &checked.reports;
    log_reports(console, "verify", reports);
    let verdict = Verdict::of(reports);
    let mut outputs = Outputs::new();
    outputs.set("in-sync", if verdict.in_sync() { "true" } else { "false" });
    let reads = &checked.referrer_reads;
    outputs.set("report", report_json(reports, steps.as_deref(), reads));
    let summary = verify_summary(reports, steps.as_deref(), reads);
    let failure = verdict.failure(
        matches!(selection, Selection::Listed(_)),
        inputs.fail_on_drift,
        steps.is_some() && !inputs.dry_run,
    );
    Ok(Finished {
        outputs,
        summary,
        failure: failure.map(AppError::from),
    })
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
            for line in missing_referrer_lines(f) {
                log(console, &format!("{stage}:   {line}"));
            }
        }
    }
}
