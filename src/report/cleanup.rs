//! What cleanup tells the workflow: outputs `deleted`, `deleted-images`, `kept`, `failed`,
//! `remaining` and a JSON `report`, and a step summary with, per image, every version and tag,
//! keep/delete, the rule that decided, and what the run's budget left for the next run.

use super::outputs::Outputs;
use super::summary::{cell, code_span};
use crate::cleanup::backend::{Deleted, Outcome};
use crate::cleanup::run::{ImageRun, ManifestKind};
use crate::cleanup::{Action, Decision};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Counts over every image. `deleted`: versions deleted (planned for this run, in a dry run);
/// `kept`: versions kept (not those left for the next run); `failed`: deletions that failed plus
/// images that could not be read.
pub fn counts(runs: &[ImageRun], dry_run: bool) -> (usize, usize, usize) {
    let (mut deleted, mut kept, mut failed) = (0, 0, 0);
    for run in runs {
        failed += run.failed();
        let Some(plan) = &run.plan else { continue };
        deleted += if dry_run {
            plan.deletions.len()
        } else {
            run.results
                .iter()
                .filter(|o| o.tag.is_none() && !o.failed())
                .count()
        };
        let all: BTreeSet<_> = plan.decisions.iter().map(|d| &d.digest).collect();
        kept += all.len() - plan.deletions.len() - plan.deferred.len();
    }
    (deleted, kept, failed)
}

/// The manifests deleted (planned, in a dry run), by what they are to a user.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeletedKinds {
    /// Indexes no other manifest lists: multi-platform images.
    pub indexes: usize,
    /// Single-platform manifests no index lists: images.
    pub images: usize,
    /// Manifests an index lists.
    pub platform: usize,
    /// Signatures, attestations, SBOMs.
    pub referrers: usize,
}

impl DeletedKinds {
    /// Images as users count them: indexes and single-platform images.
    pub fn images(&self) -> usize {
        self.indexes + self.images
    }

    pub fn manifests(&self) -> usize {
        self.indexes + self.images + self.platform + self.referrers
    }

    /// `3 images (7 manifests: 2 indexes, 1 single-platform image, 4 platform manifests)`; just
    /// `3 images` when each is one manifest.
    pub fn describe(&self) -> String {
        let images = plural(self.images(), "image", "images");
        if self.manifests() == self.images {
            return images;
        }
        let parts: Vec<String> = [
            (self.indexes, "index", "indexes"),
            (
                self.images,
                "single-platform image",
                "single-platform images",
            ),
            (self.platform, "platform manifest", "platform manifests"),
            (
                self.referrers,
                "signature or attestation",
                "signatures and attestations",
            ),
        ]
        .into_iter()
        .filter(|(n, _, _)| *n > 0)
        .map(|(n, one, many)| plural(n, one, many))
        .collect();
        format!(
            "{images} ({}: {})",
            plural(self.manifests(), "manifest", "manifests"),
            parts.join(", ")
        )
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The deleted manifests of every image (planned, in a dry run), by kind. A manifest the
/// inventory did not describe counts as an image.
pub fn deleted_kinds(runs: &[ImageRun], dry_run: bool) -> DeletedKinds {
    let mut kinds = DeletedKinds::default();
    for run in runs {
        let Some(plan) = &run.plan else { continue };
        let deleted: Vec<&crate::registry::Digest> = if dry_run {
            plan.deletions.iter().collect()
        } else {
            run.results
                .iter()
                .filter(|o| o.tag.is_none() && !o.failed())
                .map(|o| &o.digest)
                .collect()
        };
        for digest in deleted {
            match run
                .kinds
                .get(digest)
                .copied()
                .unwrap_or(ManifestKind::Image)
            {
                ManifestKind::Index => kinds.indexes += 1,
                ManifestKind::Image => kinds.images += 1,
                ManifestKind::Platform => kinds.platform += 1,
                ManifestKind::Referrer => kinds.referrers += 1,
            }
        }
    }
    kinds
}

/// Versions (and tags) the plans delete that this run left for the next one.
pub fn remaining(runs: &[ImageRun]) -> (usize, usize) {
    runs.iter()
        .filter_map(|r| r.plan.as_ref())
        .fold((0, 0), |(v, t), p| {
            (v + p.deferred.len(), t + p.deferred_untags.len())
        })
}

/// `N versions left for the next run` (and tags), or `None` when nothing is left.
pub fn remaining_line(runs: &[ImageRun]) -> Option<String> {
    let (versions, tag_count) = remaining(runs);
    let tags = match tag_count {
        0 => String::new(),
        1 => " (and 1 tag to remove)".into(),
        n => format!(" (and {n} tags to remove)"),
    };
    (versions + tag_count > 0).then(|| {
        format!(
            "{versions} version{} left for the next run{tags}: over this run's budget",
            if versions == 1 { "" } else { "s" }
        )
    })
}

/// `deleted` (manifests), `deleted-images`, `kept`, `failed`, `remaining`, `report`.
pub fn cleanup_outputs(runs: &[ImageRun], dry_run: bool) -> Outputs {
    let (deleted, kept, failed) = counts(runs, dry_run);
    let mut outputs = Outputs::new();
    outputs.set("deleted", deleted.to_string());
    outputs.set(
        "deleted-images",
        deleted_kinds(runs, dry_run).images().to_string(),
    );
    outputs.set("kept", kept.to_string());
    outputs.set("failed", failed.to_string());
    outputs.set("remaining", remaining(runs).0.to_string());
    outputs.set("report", report_json(runs, dry_run).to_string());
    outputs
}

fn action_name(action: Action) -> &'static str {
    match action {
        Action::Keep => "keep",
        Action::Delete => "delete",
        Action::Untag => "untag",
    }
}

fn decision_json(d: &Decision) -> Value {
    json!({
        "digest": d.digest.to_string(),
        "tag": d.tag,
        "action": action_name(d.action),
        "rule": d.rule.as_ref().map(|r| json!({"line": r.line, "text": r.text})),
        "reason": d.reason,
    })
}

fn outcome_json(o: &Outcome) -> Value {
    json!({
        "digest": o.digest.to_string(),
        "tag": o.tag,
        "outcome": match (&o.result, &o.tag) {
            (Deleted::Done, None) => "deleted",
            (Deleted::Done, Some(_)) => "untagged",
            (Deleted::AlreadyGone, _) => "already gone",
            (Deleted::Failed(_), _) => "failed",
        },
        "error": match &o.result { Deleted::Failed(e) => Some(e.as_str()), _ => None },
    })
}

/// The JSON `report`: per image, its decisions, the deletion order and each outcome.
pub fn report_json(runs: &[ImageRun], dry_run: bool) -> Value {
    let images: Vec<Value> = runs
        .iter()
        .map(|run| {
            let plan = run.plan.as_ref();
            json!({
                "image": run.image,
                "error": run.error,
                "fail_closed": plan.and_then(|p| p.fail_closed.clone()),
                "decisions": plan.map_or(Vec::new(), |p| p.decisions.iter().map(decision_json).collect()),
                "deletions": run.results.iter().map(outcome_json).collect::<Vec<_>>(),
                "budget": plan.and_then(|p| p.budget.as_ref()).map(|b| b.to_string()),
                "deferred": plan.map_or(Vec::new(), |p| p.deferred.iter().map(|d| d.to_string()).collect()),
                "deferred_untags": plan.map_or(Vec::new(), |p| p.deferred_untags.iter().map(|(d, t)| json!({"digest": d.to_string(), "tag": t})).collect()),
            })
        })
        .collect();
    json!({ "dry_run": dry_run, "images": images })
}

/// The step summary: one table per image (tag or untagged version, digest, action, rule, reason).
pub fn cleanup_summary(runs: &[ImageRun], dry_run: bool) -> String {
    let (_, kept, failed) = counts(runs, dry_run);
    let mut md = format!(
        "### Cleanup{}\n\n{} {}; kept {}, failed {failed}\n\n",
        if dry_run {
            " (dry run: nothing deleted)"
        } else {
            ""
        },
        if dry_run { "would delete" } else { "deleted" },
        deleted_kinds(runs, dry_run).describe(),
        plural(kept, "manifest", "manifests"),
    );
    if let Some(line) = remaining_line(runs) {
        md.push_str(&format!("**{line}**\n\n"));
    }
    for run in runs {
        md.push_str(&format!("#### {}\n\n", code_span(&run.image)));
        if let Some(error) = &run.error {
            md.push_str(&format!("**Error:** {}\n\n", code_span(error)));
        }
        let Some(plan) = &run.plan else { continue };
        if let Some(why) = &plan.fail_closed {
            md.push_str(&format!("**Fail closed:** {}\n\n", code_span(why)));
        }
        if let Some(note) = &plan.budget {
            md.push_str(&format!("**Budget:** {}\n\n", cell(&note.to_string())));
        }
        let next_run: BTreeSet<_> = plan
            .deferred
            .iter()
            .chain(plan.deferred_untags.iter().map(|(d, _)| d))
            .collect();
        md.push_str("| Tag | Digest | Action | Rule | Reason |\n|---|---|---|---|---|\n");
        for d in &plan.decisions {
            let failed = run
                .results
                .iter()
                .any(|o| o.digest == d.digest && o.failed() && (o.tag.is_none() || o.tag == d.tag));
            let deferred = d.action != Action::Keep && next_run.contains(&d.digest);
            let action = match (d.action, dry_run, failed) {
                (Action::Delete, _, _) if deferred => "delete (next run)",
                (Action::Untag, _, _) if deferred => "untag (next run)",
                (Action::Delete, _, true) => "delete **failed**",
                (Action::Untag, _, true) => "untag **failed**",
                (Action::Delete, true, _) => "would delete",
                (Action::Untag, true, _) => "would untag",
                (a, _, _) => action_name(a),
            };
            md.push_str(&format!(
                "| {} | {} | {action} | {} | {} |\n",
                d.tag
                    .as_deref()
                    .map_or_else(|| "*(untagged)*".to_string(), |t| cell(&code_span(t))),
                cell(&code_span(
                    &d.digest.to_string().chars().take(19).collect::<String>()
                )),
                d.rule.as_ref().map_or_else(
                    || "—".to_string(),
                    |r| format!("line {}: {}", r.line, cell(&code_span(&r.text)))
                ),
                cell(&code_span(&d.reason)),
            ));
        }
        md.push('\n');
    }
    md
}

#[cfg(test)]
#[path = "cleanup_tests.rs"]
mod tests;
