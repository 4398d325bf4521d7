//! The imperative shell: environment -> `Inputs` + `Context` -> tag engine -> outputs file, step
//! summary, `$GITHUB_ENV` exports and log annotations. The only place that writes files.

use crate::cli::Cli;
use crate::clock::{self, InvalidEpoch};
use crate::context::{Context, ContextError, GithubEnv};
use crate::envfile::{self, EnvFileError};
use crate::inputs::{Command, InputError, Inputs};
use crate::meta::{self, Meta, MetaError, Switches};
use crate::publish::credentials::CredentialsError;
use crate::publish::execute::Failure;
use crate::publish::run::PublishError;
use crate::report::commands::{self, Annotation, Untrusted, UntrustedMessage};
use crate::report::outputs::{self, Separators};
use crate::report::{self, summary};
use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::Path;

mod publish_step;
mod stop;

/// Everything that can stop a run, each with the hint a user needs.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Meta(#[from] MetaError),
    #[error(transparent)]
    Context(#[from] ContextError),
    #[error(transparent)]
    EnvFile(#[from] EnvFileError),
    #[error(transparent)]
    Clock(#[from] InvalidEpoch),
    #[error("cannot write the {what} file `{path}`: {source}")]
    Write {
        what: &'static str,
        path: String,
        source: io::Error,
    },
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    #[error(transparent)]
    Publish(Box<PublishError>),
    #[error("publishing did not complete, and no tag was moved past a failed step:\n{}", report::publish::failure_lines(.0).join("\n"))]
    Incomplete(Vec<Failure>),
    #[error("{}", stopped_message(.reason, .failures))]
    Stopped {
        reason: crate::registry::StopReason,
        /// What did not complete; empty when the run stopped before its first write.
        failures: Vec<Failure>,
    },
    #[error("dry run: a real run would be refused, nothing would be written:\n{}", .0.join("\n"))]
    DryRunRefused(Vec<String>),
    #[error("cannot start the async runtime: {0}")]
    Runtime(io::Error),
    #[error(transparent)]
    Verify(Box<crate::verify::command::VerifyError>),
    #[error(transparent)]
    Policy(#[from] crate::cleanup::PolicyError),
    #[error(transparent)]
    Cleanup(#[from] crate::cleanup::shell::CleanupError),
}

impl From<crate::verify::command::VerifyError> for AppError {
    fn from(error: crate::verify::command::VerifyError) -> Self {
        AppError::Verify(Box::new(error))
    }
}

impl From<PublishError> for AppError {
    fn from(error: PublishError) -> Self {
        AppError::Publish(Box::new(error))
    }
}

impl AppError {
    pub fn hint(&self) -> Option<&'static str> {
        Some(match self {
            AppError::Meta(MetaError::Line { input: "tags", .. }) => {
                "each line is one rule, e.g. `type=semver,pattern={{version}}`, `type=ref,event=pr`, `type=sha`, `type=raw,value=stable`"
            }
            AppError::Meta(MetaError::Line {
                input: "images", ..
            }) => "one image per line, e.g. `ghcr.io/owner/app` (no tag: tags come from `tags`)",
            AppError::Meta(MetaError::Line {
                input: "flavor", ..
            }) => {
                "flavor lines are `latest=auto|true|false`, `prefix=...`, `suffix=...`, optionally with `onlatest=true`"
            }
            AppError::Context(ContextError::PayloadUnreadable { .. }) => {
                "outside a workflow, point --event at a saved payload, or unset GITHUB_EVENT_PATH"
            }
            AppError::Verify(error) => return error.hint(),
            AppError::Policy(_) => {
                "one rule per line, e.g. `keep tag=latest,main`, `keep semver=release`, `keep last=10`, `delete tag=main-* older-than=30d`, `delete pr=closed`, `delete untagged older-than=14d`"
            }
            AppError::Cleanup(e) => e.hint(),
            AppError::Stopped {
                reason: crate::registry::StopReason::Deadline(_),
                ..
            } => {
                "if the registries are slow but working, raise `timeout` (e.g. `timeout: 2h`); a re-run skips what is already written"
            }
            AppError::Stopped { .. } => {
                "run the step again to finish (what is already written is skipped)"
            }
            // No answer from a registry before the first write (a stall, a reset): nothing was
            // written, and the same run may well succeed.
            AppError::Publish(error) if matches!(&**error, PublishError::Registry(e) if crate::publish::outcome::is_transient(e)) => {
                "this error is temporary: run the step again (nothing was written)"
            }
            AppError::Incomplete(failures) if failures.iter().all(|f| f.transient) => {
                "these errors are temporary: run the step again to finish (what is already written is skipped)"
            }
            _ => return None,
        })
    }
}

/// What a stopped publish says: why (naming the `timeout` input when its limit was reached),
/// that no tag moved past an unfinished step, and what did not complete.
fn stopped_message(reason: &crate::registry::StopReason, failures: &[Failure]) -> String {
    use crate::registry::StopReason;
    let why = match reason {
        StopReason::Signal(name) => format!("publishing was cancelled ({name})"),
        StopReason::Deadline(limit) => format!(
            "publishing stopped: the `timeout` input's limit of {} was reached",
            crate::registry::stop::human_duration(*limit)
        ),
    };
    if failures.is_empty() {
        return format!("{why} before the first write: nothing was written");
    }
    format!(
        "{why} before it completed, and no tag was moved past an unfinished step:\n{}",
        report::publish::failure_lines(failures).join("\n")
    )
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
pub fn run(vars: &BTreeMap<String, String>, console: &mut dyn Write) -> Result<Meta, AppError> {
    let inputs = Inputs::from_vars(vars)?;
    // Every secret is masked before any other output, whatever the command.
    let actions = in_actions(vars);
    if actions {
        let var = |name: &str| vars.get(name).cloned();
        let credentials = crate::publish::credentials::secrets_in(&inputs.credentials, var);
        for secret in inputs.github_token.iter().chain(&credentials) {
            log(console, &commands::add_mask(secret.expose()));
        }
    }
    let switches = Switches::parse(|name| vars.get(name).cloned())?;
    let github = GithubEnv::from_vars(vars)?;
    let event = Context::load_event(&github)?;
    let ctx = Context::assemble(&github, &event, switches.pr_head_sha);
    let now = clock::now(vars.get("SOURCE_DATE_EPOCH").map(String::as_str))?;
    if inputs.command == Command::Cleanup {
        let (outputs, summary, result) = crate::cleanup::shell::run(vars, &inputs, now, console)?;
        finish(vars, &outputs, &summary, console)?;
        return result.map(|()| Meta::default()).map_err(AppError::from);
    }
    tracing::info!(event = %Untrusted(&ctx.event_name), git_ref = %Untrusted(&ctx.git_ref), "computing tags");
    let meta = meta::compute(&ctx, &inputs.tags, &switches, now)?;
    // `verify` with `verify-tags` checks the tags it is given: the computed ones are not shown.
    let tags_used = inputs.command != Command::Verify || inputs.verify_tags.is_empty();
    for warning in &meta.image_warnings {
        warn(console, warning, actions);
    }
    if tags_used {
        log_meta(console, &meta, actions);
    }

    let seps = Separators {
        tags: inputs.sep_tags.clone(),
        labels: inputs.sep_labels.clone(),
        annotations: inputs.sep_annotations.clone(),
    };
    let mut outputs = outputs::tag_outputs(&meta, &seps);
    let mut summary_text = match tags_used {
        true => summary::tag_summary(&meta),
        false => summary::image_warnings(&meta),
    };
    let mut failure = None;
    if inputs.command == Command::Verify {
        let done = crate::verify::command::command(vars, &inputs, &meta, console);
        for (name, value) in done.outputs.iter() {
            outputs.set(name, value);
        }
        summary_text.push_str(&done.summary);
        failure = done.failure.map(AppError::from);
    } else if let Some(source) = &inputs.source {
        match publish_step::publish(vars, &inputs, &meta, source, console, actions) {
            Ok((published, text)) => {
                for (name, value) in published.iter() {
                    outputs.set(name, value);
                }
                summary_text.push_str(&text);
            }
            Err((error, text)) => {
                summary_text.push_str(&text);
                failure = Some(error);
            }
        }
    }
    let exports = switches
        .set_output_env
        .then(|| outputs::env_exports(&outputs));
    let written = write_results(vars, &outputs, exports.as_ref(), &summary_text)?;
    if !written && !actions {
        let mut text = Vec::new();
        outputs::write_github_output(&mut text, &outputs).map_err(|source| AppError::Write {
            what: "outputs",
            path: "stdout".into(),
            source,
        })?;
        log(console, &String::from_utf8_lossy(&text));
    }
    if let Some(error) = failure {
        return Err(error);
    }
    Ok(meta)
}

/// Writes the cleanup's outputs and step summary the same way `run` does for publishing.
fn finish(
    vars: &BTreeMap<String, String>,
    outputs: &outputs::Outputs,
    summary: &str,
    console: &mut dyn Write,
) -> Result<(), AppError> {
    if !write_results(vars, outputs, None, summary)? {
        log(console, summary);
    }
    Ok(())
}

/// Appends the outputs to `$GITHUB_OUTPUT`, the exports (if any) to `$GITHUB_ENV` and the summary to
/// `$GITHUB_STEP_SUMMARY`, each when the runner names the file. True when there was an outputs file.
fn write_results(
    vars: &BTreeMap<String, String>,
    outputs: &outputs::Outputs,
    exports: Option<&outputs::Outputs>,
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

/// Prints an error the way the context wants it: an `::error` annotation in Actions, plain text locally.
pub fn report_error(error: &AppError, actions: bool, console: &mut dyn Write) {
    let message = error.to_string();
    let hint = error.hint();
    if actions {
        let full = match hint {
            Some(h) => format!("{message}\nhint: {h}"),
            None => message,
        };
        log(
            console,
            &Annotation::error(full)
                .with_title("registry-action")
                .to_string(),
        );
    } else {
        // Whole and line by line: errors are ours, but may quote a tag or a registry's answer.
        log(console, &format!("error: {}", UntrustedMessage(&message)));
        if let Some(h) = hint {
            log(console, &format!("hint: {h}"));
        }
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
