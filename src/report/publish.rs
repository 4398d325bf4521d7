//! What publishing tells the workflow: outputs `digest` and `refs`, and a step summary with, per
//! registry and tag, the action taken, plus the bytes each target received.

use super::outputs::Outputs;
use super::summary::{cell, code_span};
use crate::meta::ImageName;
use crate::publish::execute::{Report, TagOutcome};
use crate::publish::plan::{Plan, human_bytes};

/// `digest`, and `refs`: one `image@digest` per target image, in `images` order.
pub fn publish_outputs(report: &Report, images: &[ImageName]) -> Outputs {
    let mut outputs = Outputs::new();
    outputs.set("digest", report.digest.to_string());
    let refs: Vec<String> = images
        .iter()
        .map(|image| format!("{image}@{}", report.digest))
        .collect();
    outputs.set("refs", refs.join("\n"));
    outputs
}

/// The step summary of a run that published (or tried to).
pub fn publish_summary(report: &Report) -> String {
    let mut md = String::new();
    let platforms = if report.platforms.is_empty() {
        "single image".to_string()
    } else {
        report.platforms.join(", ")
    };
    md.push_str(&format!(
        "### Published {}\n\n{} · {}\n\n",
        code_span(&report.digest.to_string()),
        cell(&report.media_type),
        cell(&platforms)
    ));
    md.push_str("| Image | Tag | Action |\n| --- | --- | --- |\n");
    for target in &report.targets {
        let image = format!("{}/{}", target.repo.registry, target.repo.repository);
        for (tag, kind, outcome) in &target.tags {
            let action = match outcome {
                TagOutcome::Pushed => format!("pushed ({kind})"),
                TagOutcome::Unchanged => "unchanged".to_string(),
                TagOutcome::Held(why) => format!("held: {why}"),
                TagOutcome::Refused(why) => format!("**refused**: {why}"),
                TagOutcome::Skipped => "not written (an earlier step failed)".to_string(),
            };
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
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            code_span(&format!("{}/{}", t.repo.registry, t.repo.repository)),
            t.uploaded_blobs,
            t.mounted_blobs,
            t.present_blobs,
            human_bytes(t.uploaded_bytes),
            t.manifests_put
        ));
    }
    if !report.failures.is_empty() {
        md.push_str(
            "\n**Not completed** (run again to finish; nothing already written is redone):\n\n",
        );
        for failure in &report.failures {
            md.push_str(&format!("- {}\n", cell(failure)));
        }
    }
    md.push('\n');
    md
}

/// The step summary of a dry run: the plan as text.
pub fn plan_summary(plan: &Plan) -> String {
    let text = plan.to_string().replace("```", "'''");
    format!("### Publish plan (dry run: nothing was written)\n\n```text\n{text}```\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::TagKind;
    use crate::publish::execute::TargetReport;
    use crate::registry::{Digest, Repository};

    fn report() -> Report {
        Report {
            digest: Digest::sha256(b"index"),
            media_type: "application/vnd.oci.image.index.v1+json".into(),
            platforms: vec!["linux/amd64".into(), "linux/arm64".into()],
            targets: vec![TargetReport {
                repo: Repository::parse("ghcr.io/octo/app").unwrap(),
                uploaded_blobs: 4,
                uploaded_bytes: 3 << 20,
                mounted_blobs: 1,
                present_blobs: 5,
                manifests_put: 2,
                tags: vec![
                    ("v1.2.3".into(), TagKind::Release, TagOutcome::Pushed),
                    (
                        "latest".into(),
                        TagKind::Rolling,
                        TagOutcome::Held(
                            "`v1.3.0` is a newer release, so `latest` stays where it is".into(),
                        ),
                    ),
                ],
            }],
            failures: vec![],
        }
    }

    #[test]
    fn outputs_name_every_target() {
        let images = [
            ImageName::new_unchecked("ghcr.io/octo/app".into()),
            ImageName::new_unchecked("docker.io/octo/app".into()),
        ];
        let outputs = publish_outputs(&report(), &images);
        let digest = Digest::sha256(b"index").to_string();
        assert_eq!(outputs.get("digest"), Some(digest.as_str()));
        assert_eq!(
            outputs.get("refs"),
            Some(format!("ghcr.io/octo/app@{digest}\ndocker.io/octo/app@{digest}").as_str())
        );
    }

    #[test]
    fn summary_shows_actions_and_bytes() {
        let md = publish_summary(&report());
        assert!(
            md.contains("| `ghcr.io/octo/app` | `v1.2.3` | pushed (release) |"),
            "{md}"
        );
        assert!(md.contains("held: `v1.3.0` is a newer release"), "{md}");
        assert!(
            md.contains("| `ghcr.io/octo/app` | 4 | 1 | 5 | 3.0 MiB | 2 |"),
            "{md}"
        );
        assert!(!md.contains("Not completed"));
    }
}
