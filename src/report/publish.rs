//! What publishing tells the workflow: outputs `digest` and `refs`, and a step summary with, per
//! registry and tag, the action taken, plus the bytes each target received; or, for a publish
//! that was refused or did not complete, what stopped it.

use super::outputs::Outputs;
use super::summary::{cell, code_span, md_escape};
use crate::meta::{ImageName, TagKind};
use crate::publish::execute::{Failure, Report, TagOutcome};
use crate::publish::plan::Plan;
use crate::registry::StopReason;
use crate::registry::stop::human_duration;
use crate::size::human_bytes;

/// `digest`, and `refs`: one `image@digest` per target image, in `images` order.
pub fn publish_outputs(report: &Report, images: &[ImageName]) -> Outputs {
    let mut outputs = Outputs::new();
    outputs.set("digest", report.digest.to_string());
    let refs: Vec<String> = images
        .iter()
        .map(|image| format!("{image}@{}", report.digest))
        .collect();
    outputs.set("refs", refs.join("\n"));
    let copied: usize = report.targets.iter().map(|t| t.referrers.copied).sum();
    outputs.set("referrers-copied", copied.to_string());
    outputs.set("referrers", referrers_json(report));
    outputs
}

/// `referrers`: one object per target and artifactType, targets in order, types sorted:
/// `{"image", "artifactType", "copied", "present", "api", "index"}` (`api`: registered by the
/// registry, `OCI-Subject`; `index`: added to a fallback index). `[]` without referrers.
fn referrers_json(report: &Report) -> String {
    let rows: Vec<serde_json::Value> = report
        .targets
        .iter()
        .flat_map(|t| {
            t.referrers.by_type.iter().map(|(artifact_type, c)| {
                serde_json::json!({
                    "image": t.repo.to_string(),
                    "artifactType": artifact_type,
                    "copied": c.copied,
                    "present": c.present,
                    "api": c.api,
                    "index": c.index,
                })
            })
        })
        .collect();
    serde_json::Value::Array(rows).to_string()
}

/// The step summary of a run that published (or tried to). Its heading says `Published` only
/// when every step completed; otherwise `Publish incomplete`, with the tags not written.
pub fn publish_summary(report: &Report) -> String {
    let mut md = String::new();
    let platforms = if report.platforms.is_empty() {
        "single image".to_string()
    } else {
        report.platforms.join(", ")
    };
    let complete = report.failures.is_empty();
    md.push_str(&format!(
        "### {} {}\n\n{} · {}\n\n",
        if complete {
            "Published"
        } else {
            "Publish incomplete:"
        },
        code_span(&report.digest.to_string()),
        cell(&report.media_type),
        cell(&platforms)
    ));
    let untagged = report.targets.iter().all(|t| t.tags.is_empty());
    if let Some(reason) = &report.stopped {
        md.push_str(&format!(
            "{}: publishing stopped before it completed. The tables below show what was written; \
             the rest was not.\n\n",
            stop_words(reason)
        ));
    }
    if !complete {
        md.push_str(&not_written(report));
    } else if untagged {
        md.push_str(&format!(
            "**No tag was computed**: the image was pushed by digest only ({}).\n\n",
            code_span(&report.digest.to_string())
        ));
    }
    md.push_str("| Image | Tag | Action |\n| --- | --- | --- |\n");
    for target in &report.targets {
        let image = target.repo.to_string();
        for (tag, kind, outcome) in &target.tags {
            let action = tag_action(*kind, outcome);
            md.push_str(&format!(
                "| {} | {} | {} |\n",
                code_span(&image),
                code_span(tag),
                cell(&action)
            ));
        }
    }
    md.push_str("\n| Image | Blobs uploaded | Mounted | Already there | Bytes moved | Manifests put |\n| --- | --- | --- | --- | --- | --- |\n");
    for t in &report.targets {
        let present = match t.image_present {
            true => "the whole image".to_string(),
            false => t.present_blobs.to_string(),
        };
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            code_span(&t.repo.to_string()),
            t.uploaded_blobs,
            t.mounted_blobs,
            present,
            human_bytes(t.uploaded_bytes),
            t.manifests_put
        ));
    }
    md.push_str(&referrer_table(report));
    md.push_str(&referrer_type_table(report));
    md.push_str(&failure_sections(&report.failures));
    md.push('\n');
    md
}

/// Per target, what happened to the image's referrers; nothing when it has none.
fn referrer_table(report: &Report) -> String {
    let counts = |t: &crate::publish::execute::TargetReport| {
        let r = &t.referrers;
        (
            r.copied,
            r.present,
            r.tags_pushed,
            r.indexes_updated,
            r.registered,
        )
    };
    if report.targets.iter().all(|t| counts(t) == (0, 0, 0, 0, 0)) {
        return String::new();
    }
    let mut md = String::from(
        "\n| Image | Referrers | Signature tags pushed | Fallback indexes updated |\n| --- | --- | --- | --- |\n",
    );
    for t in &report.targets {
        let (copied, present, tags, indexes, registered) = counts(t);
        let mut indexes = indexes.to_string();
        if registered > 0 {
            indexes.push_str(&format!(" ({registered} registered by the registry)"));
        }
        md.push_str(&format!(
            "| {} | {copied} copied, {present} already there | {tags} | {indexes} |\n",
            code_span(&t.repo.to_string()),
        ));
    }
    md
}

/// Per target and artifactType, the referrers copied, already there and registered (by the
/// registry itself, or in a fallback index); nothing when no target has any.
fn referrer_type_table(report: &Report) -> String {
    if report
        .targets
        .iter()
        .all(|t| t.referrers.by_type.is_empty())
    {
        return String::new();
    }
    let mut md = String::from(
        "\n| Image | Artifact type | Copied | Already there | Registered by the registry | Added to a fallback index |\n| --- | --- | --- | --- | --- | --- |\n",
    );
    for t in &report.targets {
        for (artifact_type, c) in &t.referrers.by_type {
            md.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                code_span(&t.repo.to_string()),
                cell(&code_span(artifact_type)),
                c.copied,
                c.present,
                c.api,
                c.index
            ));
        }
    }
    md
}

/// What happened to one tag, in the summary's words.
fn tag_action(kind: TagKind, outcome: &TagOutcome) -> String {
    match outcome {
        TagOutcome::Pushed => format!("pushed ({kind})"),
        TagOutcome::Replaced(was) => {
            format!(
                "**replaced** {} ({kind}, overwrite-releases)",
                code_span(&was.to_string())
            )
        }
        TagOutcome::Moved(was) => {
            format!(
                "pushed ({kind}), moved from {}",
                code_span(&was.to_string())
            )
        }
        TagOutcome::Unchanged => "unchanged".to_string(),
        TagOutcome::Settled {
            digest,
            version: Some(version),
        } => format!(
            "pushed ({kind}), then moved on to {} ({}), a newer version published meanwhile",
            code_span(version),
            code_span(&digest.to_string())
        ),
        TagOutcome::Settled { version: None, .. } => format!(
            "pushed ({kind}), and again after a concurrent publish of an older version overwrote it"
        ),
        TagOutcome::Held(why) => format!("held: {why}"),
        TagOutcome::Refused(why) => format!("**refused**: {why}"),
        TagOutcome::Skipped => "**not written** (an earlier step failed)".to_string(),
    }
}

/// The line under an incomplete publish's heading: which tags were not written (none, or some).
fn not_written(report: &Report) -> String {
    let tags = report.targets.iter().map(|t| t.tags.len()).sum::<usize>();
    let skipped: Vec<String> = report
        .targets
        .iter()
        .flat_map(|t| {
            t.tags
                .iter()
                .filter(|(_, _, outcome)| *outcome == TagOutcome::Skipped)
                .map(move |(tag, _, _)| code_span(&format!("{}:{tag}", t.repo)))
        })
        .collect();
    if skipped.len() == tags {
        "**No tag was written**: publishing stopped before the tags.\n\n".to_string()
    } else {
        format!(
            "**Not written**: {} (no tag moves past a failed step).\n\n",
            skipped.join(", ")
        )
    }
}

/// The failures, those a re-run cannot fix first, each message once (see [`failure_lines`]).
fn failure_sections(failures: &[Failure]) -> String {
    let mut md = String::new();
    let (transient, lasting): (Vec<&Failure>, Vec<&Failure>) =
        failures.iter().partition(|f| f.transient);
    for (failures, heading) in [
        (lasting, "**Failed**:"),
        (
            transient,
            "**Interrupted** by temporary errors (run again to finish; what is already written is skipped):",
        ),
    ] {
        if failures.is_empty() {
            continue;
        }
        md.push_str(&format!("\n{heading}\n\n"));
        md.push_str(&bullets(&failure_lines(failures)));
    }
    md
}

pub use crate::publish::outcome::failure_lines;

/// How a stop reads in a summary: `**Cancelled** (SIGTERM)`, `**Time limit reached** (...)`.
fn stop_words(reason: &StopReason) -> String {
    match reason {
        StopReason::Signal(name) => format!("**Cancelled** ({name})"),
        StopReason::Deadline(limit) => format!(
            "**Time limit reached** (`timeout`: {})",
            human_duration(*limit)
        ),
    }
}

/// The step summary of a publish stopped before its first write (while reading the source and
/// observing the targets).
pub fn stopped_summary(reason: &StopReason) -> String {
    format!(
        "### Publish stopped: nothing was written\n\n{}: the run stopped while reading the source \
         and the targets, before the first write.\n\n",
        stop_words(reason)
    )
}

/// The step summary of a publish refused before anything was written: each refusal.
pub fn refused_summary<T: std::fmt::Display>(refusals: &[T]) -> String {
    let mut md = String::from("### Publish refused: nothing was written\n\n");
    md.push_str(&bullets(refusals));
    md.push('\n');
    md
}

/// A Markdown list, one escaped item per line.
fn bullets<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(|item| format!("- {}\n", md_escape(&item.to_string())))
        .collect()
}

/// The step summary of a dry run: the plan as text, then what a real run would refuse.
pub fn plan_summary(plan: &Plan) -> String {
    let text = plan.to_string().replace("```", "'''");
    let mut md =
        format!("### Publish plan (dry run: nothing was written)\n\n```text\n{text}```\n\n");
    let refusals = plan.refusals();
    if !refusals.is_empty() {
        md.push_str("**A real run would be refused** (nothing would be written):\n\n");
        md.push_str(&bullets(&refusals));
        md.push('\n');
    }
    if plan.targets.iter().all(|t| t.tags.is_empty()) {
        md.push_str(&format!(
            "**No tag was computed**: a real run would push the image by digest only ({}).\n\n",
            code_span(&plan.root.digest.to_string())
        ));
    }
    md
}

#[cfg(test)]
#[path = "publish_tests.rs"]
mod tests;
