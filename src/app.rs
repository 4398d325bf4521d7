//! The imperative shell: environment -> [`RunContext`] (inputs per command, the workflow
//! context, the clock), built once after every secret is masked -> the command (`publish`,
//! `verify`, `cleanup`: each takes the context and returns what it did as [`Finished`]) ->
//! outputs file, step summary, `$GITHUB_ENV` exports and log annotations. The only place that
//! reads the environment or writes files.

use crate::cli::Cli;
use crate::envfile;
use crate::inputs::input_env_var;
use crate::lines::input_lines;
use crate::meta::{self, Meta};
use crate::report::commands::{self, Annotation, Untrusted};
use crate::report::outputs::{self, Outputs, Separators};
use crate::report::summary;
use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::Path;

mod cleanup;
pub mod context;
pub mod credentials;
pub mod error;
mod publish;
mod session;
mod stop;
mod verify;

pub use context::{CommandInputs, RunContext};
pub use error::{AppError, report_error};

/// What a command did: its outputs, its part of the step summary, and its failure (the outputs
/// and summary are written either way: a failed run still reports what it did).
pub struct Finished {
    pub outputs: Outputs,
    pub summary: String,
    pub failure: Option<AppError>,
}

/// The environment the run sees: the process's, then each `--env-file`, then the flags.
pub fn environment(
    cli: &Cli,
    process: impl IntoIterator<Item = (String, String)>,
) -> Result<BTreeMap<String, String>, AppError> {
    let mut vars: BTreeMap<String, String> = process.into_iter().collect();
    for file in &cli.env_file {
        vars.extend(envfile::load(file)?);
    }
    vars.extend(cli.overrides());
    Ok(vars)
}

/// True inside GitHub Actions, where stdout is parsed for workflow commands.
pub fn in_actions(vars: &BTreeMap<String, String>) -> bool {
    vars.get("GITHUB_ACTIONS").is_some_and(|v| v == "true")
}

/// One run of the action. Log lines and annotations go to `console`.
pub fn run(vars: &BTreeMap<String, String>, console: &mut dyn Write) -> Result<(), AppError> {
    if in_actions(vars) {
        mask_secrets(vars, console);
    }
    let run = RunContext::build(vars)?;
    let finished = match &run.command {
        CommandInputs::Cleanup(inputs) => cleanup::run(&run, inputs, console)?,
        CommandInputs::Publish { .. } | CommandInputs::Verify => tagged(&run, console)?,
    };
    write_finished(&run, &finished, console)?;
    finished.failure.map_or(Ok(()), Err)
}

/// Every secret is masked before any other output, whatever the command, from the inputs as
/// given (before they are parsed, so that even an error about them shows no secret).
fn mask_secrets(vars: &BTreeMap<String, String>, console: &mut dyn Write) {
    let input = |name: &str| vars.get(&input_env_var(name)).cloned().unwrap_or_default();
    let token = input("github-token");
    let lines = input_lines(&input("credentials"));
    let credentials = credentials::secrets_in(&lines, |name| vars.get(name).cloned());
    let token = (!token.is_empty()).then(|| crate::secret::Secret::new(token));
    for secret in token.iter().chain(&credentials) {
        log(console, &commands::add_mask(secret.expose()));
    }
}

/// `publish` and `verify`: the tags first (docker/metadata-action's outputs), then the command.
fn tagged(run: &RunContext<'_>, console: &mut dyn Write) -> Result<Finished, AppError> {
    let ctx = &run.workflow;
    tracing::info!(event = %Untrusted(&ctx.event_name), git_ref = %Untrusted(&ctx.git_ref), "computing tags");
    let meta = meta::compute(ctx, &run.inputs.tags, &run.switches, run.now)?;
    // `verify` with `verify-tags` checks the tags it is given: the computed ones are not shown.
    let verify = matches!(run.command, CommandInputs::Verify);
    let tags_used = !verify || run.inputs.verify_tags.is_empty();
    for warning in &meta.image_warnings {
        warn(console, warning, run.actions);
    }
    if tags_used {
        log_meta(console, &meta, run.actions);
    }
    let inputs = &run.inputs;
    let seps = Separators {
        tags: inputs.sep_tags.clone(),
        labels: inputs.sep_labels.clone(),
        annotations: inputs.sep_annotations.clone(),
    };
    let mut outputs = outputs::tag_outputs(&meta, &seps);
    let mut summary = match tags_used {
        true => summary::tag_summary(&meta),
        false => summary::image_warnings(&meta),
    };
    let done = match &run.command {
        CommandInputs::Verify => Some(verify::run(run, &meta, console)),
        CommandInputs::Publish {
            source: Some(source),
        } => Some(publish::run(run, &meta, source, console)),
        _ => None,
    };
    let Some(done) = done else {
        return Ok(Finished {
            outputs,
            summary,
            failure: None,
        });
    };
    for (name, value) in done.outputs.iter() {
        outputs.set(name, value);
    }
    summary.push_str(&done.summary);
    Ok(Finished {
        outputs,
        summary,
        failure: done.failure,
    })
}

/// Writes what the command did where the runner reads it; outside a workflow, the outputs
/// (publish, verify) or the summary (cleanup) go to the console instead.
fn write_finished(
    run: &RunContext<'_>,
    finished: &Finished,
    console: &mut dyn Write,
) -> Result<(), AppError> {
    let cleanup = matches!(run.command, CommandInputs::Cleanup(_));
    let exports =
        (run.switches.set_output_env && !cleanup).then(|| outputs::env_exports(&finished.outputs));
    let written = write_results(
        run.vars,
        &finished.outputs,
        exports.as_ref(),
        &finished.summary,
    )?;
    if written || run.actions {
        return Ok(());
    }
    if cleanup {
        log(console, &finished.summary);
        return Ok(());
    }
    let mut text = Vec::new();
    outputs::write_github_output(&mut text, &finished.outputs).map_err(|source| {
        AppError::Write {
            what: "outputs",
            path: "stdout".into(),
            source,
        }
    })?;
    log(console, &String::from_utf8_lossy(&text));
    Ok(())
}

/// Appends the outputs to `$GITHUB_OUTPUT`, the exports (if any) to `$GITHUB_ENV` and the summary to
/// `$GITHUB_STEP_SUMMARY`, each when the runner names the file. True when there was an outputs file.
fn write_results(
    vars: &BTreeMap<String, String>,
    outputs: &Outputs,
    exports: Option<&Outputs>,
    summary: &str,
) -> Result<bool, AppError> {
    let file = |name: &str| vars.get(name).filter(|p| !p.is_empty());
    let written = match file("GITHUB_OUTPUT") {
        Some(path) => {
            append(path, "outputs", |mut w| {
                outputs::write_github_output(&mut w, outputs)
            })?;
            true
        }
        None => false,
    };
    if let (Some(exports), Some(path)) = (exports, file("GITHUB_ENV")) {
        append(path, "GITHUB_ENV", |mut w| {
            outputs::write_github_output(&mut w, exports)
        })?;
    }
    if let Some(path) = file("GITHUB_STEP_SUMMARY") {
        append(path, "step summary", |w| w.write_all(summary.as_bytes()))?;
    }
    Ok(written)
}

/// A warning: an annotation in Actions, a `warning:` line locally.
fn warn(console: &mut dyn Write, message: &str, actions: bool) {
    let line = if actions {
        Annotation::warning(message)
            .with_title("registry-action")
            .to_string()
    } else {
        format!("warning: {}", Untrusted(message))
    };
    log(console, &line);
}

/// The log: tags with their rule, labels (untrusted values escaped), warnings as annotations.
fn log_meta(console: &mut dyn Write, meta: &Meta, actions: bool) {
    let group = |console: &mut dyn Write, name: &str| {
        log(
            console,
            &if actions {
                commands::group(name)
            } else {
                format!("{name}:")
            },
        );
    };
    let end = |console: &mut dyn Write| {
        if actions {
            log(console, commands::end_group());
        }
    };
    group(console, "Tags");
    for tag in &meta.tags {
        log(
            console,
            &format!("{} ({}; {})", tag.name, tag.kind, Untrusted(&tag.rule)),
        );
    }
    for image_tag in meta.image_tags() {
        log(console, &format!("  {}", Untrusted(&image_tag)));
    }
    end(console);
    group(console, "Labels");
    for (key, value) in &meta.labels {
        log(console, &format!("{}={}", Untrusted(key), Untrusted(value)));
    }
    end(console);
    for warning in &meta.warnings {
        warn(console, warning, actions);
    }
}

fn log(console: &mut dyn Write, line: &str) {
    // A closed stdout must not turn a finished run into a failure.
    let _ = writeln!(console, "{}", line.trim_end_matches('\n'));
}

fn append(
    path: &str,
    what: &'static str,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), AppError> {
    let error = |source| AppError::Write {
        what,
        path: path.to_string(),
        source,
    };
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(Path::new(path))
        .map_err(error)?;
    let mut writer = io::BufWriter::new(file);
    write(&mut writer).map_err(error)?;
    writer.flush().map_err(error)
}
