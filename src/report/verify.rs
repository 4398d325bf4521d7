//! Report stage for verify: tag reports (+ what sync did) -> the `report` output (JSON) and the
//! step summary (a tag x registry table, drift in bold). Renders into strings; the shell writes.

use super::summary::{cell, code_span};
use crate::registry::Digest;
use crate::verify::sync::Step;
use crate::verify::{Finding, Status, TagReport};
use serde_json::{Value, json};

/// The `report` output: `{"in-sync", "tags": [{"tag", "kind", "registries": [{"image", "digest",
/// "status", "missing"?}]}], "sync": [{"tag", "image", "digest", "action", "reason"?}]}`. `sync`
/// is absent when sync did not run; `tags` is the final state (after sync, re-verified).
pub fn report_json(reports: &[TagReport], steps: Option<&[Step]>) -> String {
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
                if let (Some(reason), Some(m)) = (s.action.reason(), v.as_object_mut()) {
                    m.insert("reason".into(), Value::from(reason));
                }
                v
            })
            .collect();
        map.insert("sync".into(), Value::from(steps));
    }
    doc.to_string()
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
    v
}

/// `sha256:0123456789ab`: enough to tell digests apart in a table.
pub fn short(digest: &Digest) -> String {
    digest.to_string().chars().take(19).collect()
}

/// The step summary: one row per tag, one column per registry (the primary first).
pub fn verify_summary(reports: &[TagReport], steps: Option<&[Step]>) -> String {
    let drift = reports.iter().filter(|r| r.drift()).count();
    let mut out = String::from("\n### Verify\n\n");
    out.push_str(&if reports.is_empty() {
        "No tags to verify.\n".to_string()
    } else if drift == 0 {
        format!("All {} tags are in sync.\n", reports.len())
    } else {
        format!("**{drift} of {} tags drift.**\n", reports.len())
    });
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
                    other => format!("**{other}**"),
                };
                out.push_str(&format!(" {digest} {status} |"));
            }
            out.push('\n');
        }
    }
    if let Some(steps) = steps {
        out.push_str("\n#### Sync\n\n");
        if steps.is_empty() {
            out.push_str("Nothing to repair.\n");
        }
        for s in steps {
            let reason = s
                .action
                .reason()
                .map(|r| format!(": {}", code_span(r)))
                .unwrap_or_default();
            out.push_str(&format!(
                "- {} in {}: **{}**{reason}\n",
                code_span(&s.tag),
                code_span(&s.repo.to_string()),
                s.action.name()
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::TagKind;
    use crate::registry::Repository;
    use crate::verify::sync::Action;
    use crate::verify::tags::VerifyTag;

    fn repo(registry: &str) -> Repository {
        Repository {
            registry: registry.into(),
            repository: "octo/app".into(),
        }
    }

    fn finding(registry: &str, d: Option<u8>, status: Status) -> Finding {
        Finding {
            repo: repo(registry),
            digest: d.map(|n| Digest::sha256(&[n])),
            status,
        }
    }

    fn reports() -> Vec<TagReport> {
        let tag = |name: &str, kind| VerifyTag {
            name: name.into(),
            kind,
            version: None,
        };
        vec![
            TagReport {
                tag: tag("v1.2.3", TagKind::Release),
                findings: vec![
                    finding("ghcr.io", Some(1), Status::InSync),
                    finding("docker.io", Some(2), Status::Different),
                ],
            },
            TagReport {
                tag: tag("edge", TagKind::Floating),
                findings: vec![
                    finding("ghcr.io", Some(1), Status::InSync),
                    finding(
                        "docker.io",
                        Some(1),
                        Status::Incomplete {
                            missing: vec![Digest::sha256(&[9])],
                        },
                    ),
                ],
            },
            TagReport {
                tag: tag("x|`y`", TagKind::Floating),
                findings: vec![
                    finding("ghcr.io", Some(1), Status::InSync),
                    finding("docker.io", None, Status::Missing),
                ],
            },
        ]
    }

    fn steps() -> Vec<Step> {
        vec![
            Step {
                tag: "v1.2.3".into(),
                repo: repo("docker.io"),
                digest: Some(Digest::sha256(&[1])),
                action: Action::Refused("release tags are immutable".into()),
            },
            Step {
                tag: "edge".into(),
                repo: repo("docker.io"),
                digest: Some(Digest::sha256(&[1])),
                action: Action::Repaired,
            },
        ]
    }

    #[test]
    fn summary_table_highlights_drift() {
        insta::assert_snapshot!(verify_summary(&reports(), Some(&steps())));
    }

    #[test]
    fn report_is_json_with_every_finding() {
        let json: Value =
            serde_json::from_str(&report_json(&reports(), Some(&steps()))).expect("valid JSON");
        insta::assert_snapshot!(serde_json::to_string_pretty(&json).unwrap_or_default());
        let none: Value = serde_json::from_str(&report_json(&[], None)).expect("valid JSON");
        assert_eq!(none, serde_json::json!({"in-sync": true, "tags": []}));
    }
}
