//! Report stage for verify: tag reports (+ what sync did) -> the `report` output (JSON) and the
//! step summary (a tag x registry table, drift in bold). Renders into strings; the shell writes.

use super::summary::{cell, code_block, code_span};
use crate::publish::outcome::failure_lines;
use crate::registry::Digest;
use crate::report::commands::Untrusted;
use crate::verify::referrers::ReferrerReads;
use crate::verify::sync::{Action, Step, StepPlan, SyncFailure};
use crate::verify::{Finding, Referrer, Status, TagReport};
use serde_json::{Value, json};

/// The step summary of a verify that could not compare the registries: the error and its hint.
pub fn failed_summary(error_lines: &[String]) -> String {
    format!(
        "### Verify failed: the registries could not be compared\n\n{}\n",
        code_block(error_lines)
    )
}

/// The `report` output: `{"in-sync", "tags": [{"tag", "kind", "registries": [{"image", "digest",
/// "status", "missing"?, "missing-referrers"?}]}], "sync": [{"tag", "image", "digest", "action",
/// "reason"?}], "referrer-reads"?: {"<registry>": n}}`. `sync` is absent when sync did not run;
/// `tags` is the final state (after sync, re-verified); `referrer-reads` counts the requests
/// the referrer comparison sent (absent when it sent none).
pub fn report_json(reports: &[TagReport], steps: Option<&[Step]>, reads: &ReferrerReads) -> String {
    let tags: Vec<Value> = reports
        .iter()
        .map(|r| {
            json!({
                "tag": r.tag.name,
                "kind": r.tag.kind.to_string(),
                "registries": r.findings.iter().map(finding_json).collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut doc = json!({
        "in-sync": !reports.iter().any(TagReport::drift),
        "tags": tags,
    });
    if let (Some(steps), Some(map)) = (steps, doc.as_object_mut()) {
        let steps: Vec<Value> = steps
            .iter()
            .map(|s| {
                let mut v = json!({
                    "tag": s.tag,
                    "image": s.repo.to_string(),
                    "digest": s.digest.as_ref().map(Digest::to_string),
                    "action": s.action.name(),
                });
                if let (Some(reason), Some(m)) = (reason(s), v.as_object_mut()) {
                    m.insert("reason".into(), Value::from(reason));
                }
                v
            })
            .collect();
        map.insert("sync".into(), Value::from(steps));
    }
    if let (false, Some(map)) = (reads.0.is_empty(), doc.as_object_mut()) {
        map.insert("referrer-reads".into(), json!(reads.0));
    }
    doc.to_string()
}

fn referrer_json(r: &Referrer) -> Value {
    let mut v = json!({
        "subject": r.subject.to_string(),
        "digest": r.digest.to_string(),
    });
    if let Some(m) = v.as_object_mut() {
        if let Some(t) = &r.artifact_type {
            m.insert("artifactType".into(), Value::from(t.as_str()));
        }
        if let Some(t) = &r.tag {
            m.insert("tag".into(), Value::from(t.as_str()));
        }
    }
    v
}

/// What a referrer is, in words: its `artifactType`, else the legacy tag that carries it.
fn referrer_kind(r: &Referrer) -> String {
    match (&r.artifact_type, &r.tag) {
        (Some(t), _) => t.clone(),
        (None, Some(tag)) => format!("tag {tag}"),
        (None, None) => "referrer".to_string(),
    }
}

/// One log line per referrer a registry lacks: `missing referrer <artifactType> <digest> of
/// <subject>`, registry-supplied text neutralised.
pub fn missing_referrer_lines(f: &Finding) -> Vec<String> {
    let Status::ReferrersMissing { missing } = &f.status else {
        return Vec::new();
    };
    missing
        .iter()
        .map(|r| {
            format!(
                "missing referrer {} {} of {}",
                Untrusted(&referrer_kind(r)),
                r.digest,
                short(&r.subject)
            )
        })
        .collect()
}

fn finding_json(f: &Finding) -> Value {
    let mut v = json!({
        "image": f.repo.to_string(),
        "digest": f.digest.as_ref().map(Digest::to_string),
        "status": f.status.name(),
    });
    if let (Status::Incomplete { missing }, Some(m)) = (&f.status, v.as_object_mut()) {
        let missing: Vec<String> = missing.iter().map(Digest::to_string).collect();
        m.insert("missing".into(), Value::from(missing));
    }
    if let (Status::ReferrersMissing { missing }, Some(m)) = (&f.status, v.as_object_mut()) {
        let missing: Vec<Value> = missing.iter().map(referrer_json).collect();
        m.insert("missing-referrers".into(), Value::from(missing));
    }
    v
}

/// `sha256:0123456789ab`: enough to tell digests apart in a table.
pub fn short(digest: &Digest) -> String {
    digest.to_string().chars().take(19).collect()
}

/// `All 3 tags are in sync.`, `**1 of 3 tags drifts.**`, `**1 of 1 tag is missing from every
/// registry.**`: a tag no registry has is counted apart from drift.
fn headline(reports: &[TagReport]) -> String {
    let total = reports.len();
    let tags = if total == 1 { "tag" } else { "tags" };
    let missing = reports.iter().filter(|r| r.missing_everywhere()).count();
    let drift = reports
        .iter()
        .filter(|r| r.drift() && !r.missing_everywhere())
        .count();
    let mut parts = Vec::new();
    if drift > 0 {
        let verb = if drift == 1 { "drifts" } else { "drift" };
        parts.push(format!("**{drift} of {total} {tags} {verb}.**"));
    }
    if missing > 0 {
        let verb = if missing == 1 { "is" } else { "are" };
        parts.push(format!(
            "**{missing} of {total} {tags} {verb} missing from every registry.**"
        ));
    }
    let line = match (total, parts.is_empty()) {
        (0, _) => "No tags to verify.".to_owned(),
        (1, true) => "The tag is in sync.".to_owned(),
        (_, true) => format!("All {total} tags are in sync."),
        _ => parts.join(" "),
    };
    line + "\n"
}

/// The step summary: one row per tag, one column per registry (the primary first), then the
/// referrers each registry lacks, what sync did and the referrer comparison's reads.
pub fn verify_summary(
    reports: &[TagReport],
    steps: Option<&[Step]>,
    reads: &ReferrerReads,
) -> String {
    let mut out = String::from("\n### Verify\n\n");
    out.push_str(&headline(reports));
    if let Some(first) = reports.first() {
        out.push_str("\n| Tag |");
        for (i, f) in first.findings.iter().enumerate() {
            let role = if i == 0 { " (primary)" } else { "" };
            out.push_str(&format!(
                " {}{role} |",
                cell(&code_span(&f.repo.to_string()))
            ));
        }
        out.push_str("\n|---|");
        out.push_str(&"---|".repeat(first.findings.len()));
        out.push('\n');
        for r in reports {
            out.push_str(&format!(
                "| {} ({}) |",
                cell(&code_span(&r.tag.name)),
                r.tag.kind
            ));
            for f in &r.findings {
                let digest = f
                    .digest
                    .as_ref()
                    .map(|d| cell(&code_span(&short(d))))
                    .unwrap_or_else(|| "-".into());
                let status = match &f.status {
                    Status::InSync => "in-sync".to_string(),
                    Status::Incomplete { missing } => {
                        format!("**incomplete** ({} missing)", missing.len())
                    }
                    Status::ReferrersMissing { missing } => {
                        format!("**referrers-missing** ({} missing)", missing.len())
                    }
                    other => format!("**{other}**"),
                };
                out.push_str(&format!(" {digest} {status} |"));
            }
            out.push('\n');
        }
    }
    out.push_str(&missing_referrers_section(reports));
    if let Some(steps) = steps {
        out.push_str("\n#### Sync\n\n");
        if steps.is_empty() {
            out.push_str("Nothing to repair.\n");
        }
        for s in steps {
            let reason = reason(s)
                .map(|r| format!(": {}", code_span(&r)))
                .unwrap_or_default();
            out.push_str(&format!(
                "- {} in {}: **{}**{reason}\n",
                code_span(&s.tag),
                code_span(&s.repo.to_string()),
                s.action.name()
            ));
        }
    }
    out.push_str(&reads_line(reads));
    out
}

/// `#### Missing referrers`: each referrer a registry lacks, by tag and registry (empty when
/// none is missing).
fn missing_referrers_section(reports: &[TagReport]) -> String {
    let mut out = String::new();
    for r in reports {
        for f in &r.findings {
            let Status::ReferrersMissing { missing } = &f.status else {
                continue;
            };
            for m in missing {
                out.push_str(&format!(
                    "- {} in {}: {} {} (referrer of {})\n",
                    code_span(&r.tag.name),
                    code_span(&f.repo.to_string()),
                    code_span(&referrer_kind(m)),
                    code_span(&m.digest.to_string()),
                    code_span(&short(&m.subject))
                ));
            }
        }
    }
    if out.is_empty() {
        return out;
    }
    format!("\n#### Missing referrers\n\n{out}")
}

/// `Referrers compared with 4 reads (127.0.0.1:5000: 2, ...)`, when the comparison sent any.
fn reads_line(reads: &ReferrerReads) -> String {
    let total: u64 = reads.0.values().sum();
    if total == 0 {
        return String::new();
    }
    let each: Vec<String> = reads
        .0
        .iter()
        .map(|(registry, n)| format!("{}: {n}", code_span(registry)))
        .collect();
    format!(
        "\nReferrers compared with {total} extra read{} ({}).\n",
        if total == 1 { "" } else { "s" },
        each.join(", ")
    )
}

/// `sync <tag> -> <image>: <action>[ <reason>]`.
pub fn sync_line(step: &Step) -> String {
    let mut line = format!(
        "sync {} -> {}: {}",
        Untrusted(&step.tag),
        step.repo,
        step.action.name()
    );
    if let Some(reason) = reason(step) {
        line.push_str(&format!(" {}", Untrusted(&reason)));
    }
    line
}

/// Why a step did what it did, in words: `push`, `held: ...`'s reason, the failures; `None`
/// for a repair.
pub fn reason(step: &Step) -> Option<String> {
    Some(match &step.action {
        Action::Repaired => return None,
        Action::Planned(what) => planned(what),
        Action::Held(why) => why.to_string(),
        Action::Refused(why) => why.to_string(),
        Action::Failed(SyncFailure::Steps(failures)) => failure_lines(failures).join("; "),
        Action::Failed(SyncFailure::Engine(error)) => error.to_string(),
        Action::Failed(SyncFailure::Unplanned) => {
            "the engine planned nothing for this tag".to_string()
        }
        Action::Failed(SyncFailure::NotWritten) => "the engine did not write the tag".to_string(),
        Action::Skipped { primary, status } => format!(
            "`{}` is {status} in the primary `{primary}`, so there is nothing to copy",
            step.tag
        ),
    })
}

/// A planned step in words: the engine's decision, or what it copies.
fn planned(what: &StepPlan) -> String {
    match what {
        StepPlan::Tag(decision) => decision.to_string(),
        StepPlan::Complete { manifests, blobs } => {
            let listed: Vec<String> = manifests.iter().chain(blobs).map(short).collect();
            format!(
                "copy {} missing manifest{} and {} blob{}: {}",
                manifests.len(),
                if manifests.len() == 1 { "" } else { "s" },
                blobs.len(),
                if blobs.len() == 1 { "" } else { "s" },
                listed.join(", ")
            )
        }
        StepPlan::Referrers {
            copy,
            tags,
            indexes,
        } => {
            let listed: Vec<String> = copy.iter().map(short).collect();
            format!(
                "copy {} missing referrer{} ({}), push {} legacy tag{}, update {} fallback index{}",
                copy.len(),
                if copy.len() == 1 { "" } else { "s" },
                listed.join(", "),
                tags.len(),
                if tags.len() == 1 { "" } else { "s" },
                indexes.len(),
                if indexes.len() == 1 { "" } else { "es" }
            )
        }
        StepPlan::Skipped { status, .. } => format!("skipped: the primary is {status}"),
        StepPlan::Unobserved => "the image could not be read".to_string(),
        StepPlan::Unplanned => "the engine planned nothing for this tag".to_string(),
    }
}

#[cfg(test)]
#[path = "verify_tests.rs"]
mod tests;
