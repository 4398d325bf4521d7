//! The one user-facing error: everything that stops a run, each with the hint a user needs and
//! the exit code. Lower layers return structured variants; this is where they get their words
//! of advice, and [`report_error`] is the one place that prints them.

use crate::cleanup::PolicyError;
use crate::cleanup::backend::ApisError;
use crate::cleanup::error::CleanupError;
use crate::clock::InvalidEpoch;
use crate::context::ContextError;
use crate::envfile::EnvFileError;
use crate::inputs::InputError;
use crate::meta::MetaError;
use crate::publish::execute::Failure;
use crate::publish::outcome::{failure_lines, is_transient};
use crate::publish::reason::{TargetRefusal, refusal_lines};
use crate::publish::run::PublishError;
use crate::registry::StopReason;
use crate::registry::stop::human_duration;
use crate::report::commands::{Annotation, UntrustedMessage};
use crate::verify::VerifyError;
use std::io::{self, Write};

use super::credentials::CredentialsError;

/// Everything that can stop a run.
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
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error(transparent)]
    Apis(#[from] ApisError),
    #[error("cannot write the {what} file `{path}`: {source}")]
    Write {
        what: &'static str,
        path: String,
        source: io::Error,
    },
    #[error("cannot start the async runtime: {0}")]
    Runtime(io::Error),
    #[error("cannot set up the registry client: {0}")]
    Client(Box<crate::registry::Error>),
    #[error(transparent)]
    Publish(Box<PublishError>),
    #[error("publishing did not complete, and no tag was moved past a failed step:\n{}", failure_lines(.0).join("\n"))]
    Incomplete(Vec<Failure>),
    #[error("{}", stopped_message(.reason, .failures))]
    Stopped {
        reason: StopReason,
        /// What did not complete; empty when the run stopped before its first write.
        failures: Vec<Failure>,
    },
    #[error("dry run: a real run would be refused, nothing would be written:\n{}", refusal_lines(.0))]
    DryRunRefused(Vec<TargetRefusal>),
    #[error(transparent)]
    Verify(Box<VerifyError>),
    #[error(transparent)]
    Cleanup(#[from] CleanupError),
}

impl From<VerifyError> for AppError {
    fn from(error: VerifyError) -> Self {
        AppError::Verify(Box::new(error))
    }
}

impl From<PublishError> for AppError {
    fn from(error: PublishError) -> Self {
        AppError::Publish(Box::new(error))
    }
}

/// Exit codes: a run that failed, and inputs the run could not start with.
pub const EXIT_FAILED: u8 = 1;
pub const EXIT_USAGE: u8 = 2;

impl AppError {
    /// The step's exit code: [`EXIT_USAGE`] when the inputs or the environment are wrong
    /// (nothing was tried), [`EXIT_FAILED`] when the run itself failed.
    pub fn exit_code(&self) -> u8 {
        match self {
            AppError::Input(_)
            | AppError::Meta(_)
            | AppError::Context(_)
            | AppError::EnvFile(_)
            | AppError::Clock(_)
            | AppError::Credentials(_)
            | AppError::Policy(_)
            | AppError::Apis(_) => EXIT_USAGE,
            AppError::Cleanup(CleanupError::NoPolicy | CleanupError::NoImages)
            | AppError::Cleanup(CleanupError::BadImage { .. }) => EXIT_USAGE,
            AppError::Verify(e) if matches!(**e, VerifyError::NoImages) => EXIT_USAGE,
            AppError::Publish(e) if matches!(**e, PublishError::NoImages) => EXIT_USAGE,
            _ => EXIT_FAILED,
        }
    }

    /// What to do about it, when there is advice to give.
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
            AppError::Policy(_) => {
                "one rule per line, e.g. `keep tag=latest,main`, `keep semver=release`, `keep last=10`, `delete tag=main-* older-than=30d`, `delete pr=closed`, `delete untagged older-than=14d`"
            }
            AppError::Apis(_) | AppError::Client(_) => "check the registry address and credentials",
            AppError::Verify(error) => return verify_hint(error),
            AppError::Cleanup(error) => cleanup_hint(error),
            AppError::Stopped {
                reason: StopReason::Deadline(_),
                ..
            } => {
                "if the registries are slow but working, raise `timeout` (e.g. `timeout: 2h`); a re-run skips what is already written"
            }
            AppError::Stopped { .. } => {
                "run the step again to finish (what is already written is skipped)"
            }
            // No answer from a registry before the first write (a stall, a reset): nothing was
            // written, and the same run may well succeed.
            AppError::Publish(error) if matches!(&**error, PublishError::Registry(e) if is_transient(e)) => {
                "this error is temporary: run the step again (nothing was written)"
            }
            AppError::Incomplete(failures) if failures.iter().all(|f| f.transient) => {
                "these errors are temporary: run the step again to finish (what is already written is skipped)"
            }
            _ => return None,
        })
    }
}

fn verify_hint(error: &VerifyError) -> Option<&'static str> {
    Some(match error {
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
        VerifyError::Gather(_) | VerifyError::Image { .. } => return None,
    })
}

fn cleanup_hint(error: &CleanupError) -> &'static str {
    match error {
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
    }
}

/// What a stopped publish says: why (naming the `timeout` input when its limit was reached),
/// that no tag moved past an unfinished step, and what did not complete.
fn stopped_message(reason: &StopReason, failures: &[Failure]) -> String {
    let why = match reason {
        StopReason::Signal(name) => format!("publishing was cancelled ({name})"),
        StopReason::Deadline(limit) => format!(
            "publishing stopped: the `timeout` input's limit of {} was reached",
            human_duration(*limit)
        ),
    };
    if failures.is_empty() {
        return format!("{why} before the first write: nothing was written");
    }
    format!(
        "{why} before it completed, and no tag was moved past an unfinished step:\n{}",
        failure_lines(failures).join("\n")
    )
}

/// Prints an error the way the context wants it: an `::error` annotation in Actions, plain text
/// locally.
pub fn report_error(error: &AppError, actions: bool, console: &mut dyn Write) {
    let message = error.to_string();
    let hint = error.hint();
    if actions {
        let full = match hint {
            Some(h) => format!("{message}\nhint: {h}"),
            None => message,
        };
        super::log(
            console,
            &Annotation::error(full)
                .with_title("registry-action")
                .to_string(),
        );
    } else {
        // Whole and line by line: errors are ours, but may quote a tag or a registry's answer.
        super::log(console, &format!("error: {}", UntrustedMessage(&message)));
        if let Some(h) = hint {
            super::log(console, &format!("hint: {h}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_follow_what_failed_and_inputs_exit_with_two() {
        let deletions = AppError::from(CleanupError::Failed {
            unread: 0,
            deletions: 1,
        });
        assert!(
            deletions
                .hint()
                .is_some_and(|h| h.contains("delete rights"))
        );
        assert_eq!(deletions.exit_code(), EXIT_FAILED);
        let unread = AppError::from(CleanupError::Failed {
            unread: 1,
            deletions: 0,
        });
        assert!(unread.hint().is_some_and(|h| h.contains("cannot be read")));
        assert!(!unread.hint().is_some_and(|h| h.contains("delete rights")));
        let no_policy = AppError::from(CleanupError::NoPolicy);
        assert_eq!(no_policy.exit_code(), EXIT_USAGE);
        let input = AppError::from(InputError {
            input: "dry-run",
            message: "`yes` is not a boolean".into(),
        });
        assert_eq!(input.exit_code(), EXIT_USAGE);
        assert_eq!(input.hint(), None);
    }
}
