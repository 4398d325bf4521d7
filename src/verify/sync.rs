//! `sync: true`: repairs drift by publishing from the primary (`<primary>@<digest>`) to the other
//! registries with the publish engine, so its rules hold: a release tag that differs is refused
//! (never overwritten, unless `overwrite-releases`), a rolling tag moves only forward.
//!
//! | finding in another registry | repair                                                      |
//! |-----------------------------|-------------------------------------------------------------|
//! | `missing`, `different`      | publish the primary's image under the tag (engine decides)  |
//! | `incomplete`                | publish the image again, children checked one by one        |
//! | primary `missing`/`incomplete` | none: the primary is the source of truth                 |

use super::{Status, TagReport};
use crate::publish::execute::TagOutcome;
use crate::publish::observe::{authorize, observe};
use crate::publish::outcome::failure_lines;
use crate::publish::plan::{Options, TagDecision, plan};
use crate::publish::run::{self, Outcome, PublishError, Request, content_of, execute_from};
use crate::registry::{Client, Digest, Reference, Repository};
use crate::source::{Source, SourceSpec};
use std::collections::BTreeMap;

/// What sync did (or, in a dry run, would do) for one tag in one registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Written: the tag now points at the primary's image (or its missing children were copied).
    Repaired,
    /// Dry run: the engine's decision, not carried out.
    Planned(String),
    /// The engine kept a rolling tag where it is (a newer release holds it).
    Held(String),
    /// The engine refused: a release tag would change.
    Refused(String),
    /// Tried and failed.
    Failed(String),
    /// Not tried: nothing to copy from.
    Skipped(String),
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::Repaired => "repaired",
            Action::Planned(_) => "planned",
            Action::Held(_) => "held",
            Action::Refused(_) => "refused",
            Action::Failed(_) => "failed",
            Action::Skipped(_) => "skipped",
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            Action::Repaired => None,
            Action::Planned(s)
            | Action::Held(s)
            | Action::Refused(s)
            | Action::Failed(s)
            | Action::Skipped(s) => Some(s),
        }
    }
}

/// One repair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub tag: String,
    pub repo: Repository,
    pub digest: Option<Digest>,
    pub action: Action,
}

/// Repairs every drifting (tag, registry) pair of `reports`, one engine run each, in order.
pub async fn sync(
    client: &Client,
    reports: &[TagReport],
    options: &Options,
    dry_run: bool,
) -> Vec<Step> {
    let mut steps = Vec::new();
    // An image completed in a repository is whole for every tag on it.
    let mut completed: BTreeMap<(Repository, Digest), Action> = BTreeMap::new();
    for report in reports {
        let Some(primary) = report.findings.first() else {
            continue;
        };
        for finding in report.findings.iter().skip(1) {
            if !finding.status.is_drift() {
                continue;
            }
            let step = |digest: Option<Digest>, action| Step {
                tag: report.tag.name.clone(),
                repo: finding.repo.clone(),
                digest,
                action,
            };
            let Some(digest) = primary
                .digest
                .clone()
                .filter(|_| !primary.status.is_drift())
            else {
                let why = format!(
                    "`{}` is {} in the primary `{}`, so there is nothing to copy",
                    report.tag.name, primary.status, primary.repo
                );
                steps.push(step(None, Action::Skipped(why)));
                continue;
            };
            let source = SourceSpec::Registry(primary.repo.with(Reference::Digest(digest.clone())));
            let action = match finding.status {
                Status::Incomplete { .. } if !dry_run => {
                    let key = (finding.repo.clone(), digest.clone());
                    match completed.get(&key) {
                        Some(done) => done.clone(),
                        None => {
                            let done = complete(client, &source, &finding.repo, options).await;
                            completed.insert(key, done.clone());
                            done
                        }
                    }
                }
                Status::Incomplete { .. } => {
                    Action::Planned("copy the missing child manifests".into())
                }
                _ => publish_tag(client, &source, report, &finding.repo, options, dry_run).await,
            };
            steps.push(step(Some(digest), action));
        }
    }
    steps
}

/// Publishes `source` to `target` under the report's tag, and reads the engine's decision.
async fn publish_tag(
    client: &Client,
    source: &SourceSpec,
    report: &TagReport,
    target: &Repository,
    options: &Options,
    dry_run: bool,
) -> Action {
    let targets = [target.clone()];
    let tags = [report.tag.computed()];
    let request = Request {
        source,
        targets: &targets,
        tags: &tags,
        options: options.clone(),
        // Verify's sync copies the image only; its referrers are not compared yet.
        referrers: false,
        referrer_types: &[],
        dry_run,
    };
    match run::publish(client, request).await {
        Ok(Outcome::Planned(plan)) => {
            let decision = plan
                .targets
                .first()
                .and_then(|t| t.tags.first())
                .map(|t| t.decision.clone());
            match decision {
                Some(TagDecision::Push) => Action::Planned("push".into()),
                Some(TagDecision::Replace(was)) => Action::Planned(format!("replace (was {was})")),
                Some(TagDecision::Move(was)) => Action::Planned(format!("move (was {was})")),
                Some(TagDecision::Unchanged) => Action::Planned("unchanged".into()),
                Some(TagDecision::Held(why)) => Action::Held(why),
                Some(TagDecision::Refused(why)) => Action::Refused(why),
                None => Action::Failed("the engine planned nothing for this tag".into()),
            }
        }
        Ok(Outcome::Published(published)) => {
            if !published.failures.is_empty() {
                return Action::Failed(failure_lines(&published.failures).join("; "));
            }
            let outcome = published
                .targets
                .first()
                .and_then(|t| t.tags.first())
                .map(|(_, _, o)| o.clone());
            match outcome {
                Some(
                    TagOutcome::Pushed
                    | TagOutcome::Replaced(_)
                    | TagOutcome::Moved(_)
                    | TagOutcome::Unchanged,
                ) => Action::Repaired,
                Some(TagOutcome::Settled { version: None, .. }) => Action::Repaired,
                Some(TagOutcome::Settled {
                    version: Some(newer),
                    ..
                }) => Action::Held(format!(
                    "`{newer}`, a newer version, was published meanwhile"
                )),
                Some(TagOutcome::Held(why)) => Action::Held(why),
                Some(TagOutcome::Refused(why)) => Action::Refused(why),
                Some(TagOutcome::Skipped) | None => {
                    Action::Failed("the engine did not write the tag".into())
                }
            }
        }
        Err(PublishError::Refused(why)) => Action::Refused(why.join("; ")),
        Err(error) => Action::Failed(error.to_string()),
    }
}

/// Copies what `target` lacks of the image at `source` (an index whose children are partly gone):
/// the engine's observe -> plan -> execute, with every child checked instead of trusting the root.
async fn complete(
    client: &Client,
    source: &SourceSpec,
    target: &Repository,
    options: &Options,
) -> Action {
    match try_complete(client, source, target, options).await {
        Ok(failures) if failures.is_empty() => Action::Repaired,
        Ok(failures) => Action::Failed(failures.join("; ")),
        Err(error) => Action::Failed(error.to_string()),
    }
}

async fn try_complete(
    client: &Client,
    source: &SourceSpec,
    target: &Repository,
    options: &Options,
) -> Result<Vec<String>, PublishError> {
    let opened = Source::open(source, client).await?;
    let source_repo = match &opened {
        Source::Registry(remote) => Some(remote.image().repo()),
        _ => None,
    };
    authorize(
        client,
        source_repo.as_ref(),
        std::slice::from_ref(target),
        |_| true,
    )
    .await?;
    let graph = opened.graph().await?;
    let content = content_of(&graph, source_repo);
    let observed = observe(client, &content, target, &[], false).await?;
    let planned = plan(&content, &[(target.clone(), observed)], &[], options);
    let report = execute_from(
        client,
        &planned,
        &opened,
        &content,
        Some(&graph),
        &Default::default(),
    )
    .await?;
    Ok(failure_lines(&report.failures))
}
