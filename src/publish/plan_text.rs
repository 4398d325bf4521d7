//! The dry-run text of a [`Plan`]: per target what is sent and each tag's decision, or, when a
//! refusal stops the run, the refusal and nothing a real run would not send.

use super::{BlobStep, ManifestStep, Plan, Refusals, TagDecision, TagPlan, TargetPlan};
use crate::registry::Digest;
use crate::size::human_bytes;
use std::fmt;

/// The dry run's word for a decision: `push`, `replace (was <digest>)`, `REFUSED: <why>`, ...
impl fmt::Display for TagDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TagDecision::Push => f.write_str("push"),
            TagDecision::Replace(was) => write!(f, "replace (was {was})"),
            TagDecision::Move(was) => write!(f, "move (was {was})"),
            TagDecision::Unchanged => f.write_str("unchanged"),
            TagDecision::Refused(why) => write!(f, "REFUSED: {why}"),
            TagDecision::Held(why) => write!(f, "held: {why}"),
        }
    }
}

fn short(digest: &Digest) -> String {
    let text = digest.to_string();
    text.chars().take(19).collect()
}

impl Plan {
    /// The targets with a refused tag, when a refusal stops the whole run.
    fn stopping(&self) -> Vec<&TargetPlan> {
        if self.refusals == Refusals::PerTag {
            return Vec::new();
        }
        self.targets
            .iter()
            .filter(|t| {
                t.tags
                    .iter()
                    .any(|tag| matches!(tag.decision, TagDecision::Refused(_)))
            })
            .collect()
    }

    /// A run stopped by a refusal: the refusal and the tags on every target, and no blob or
    /// manifest a real run would never send.
    fn fmt_refused(&self, f: &mut fmt::Formatter<'_>, refusing: &[&TargetPlan]) -> fmt::Result {
        writeln!(
            f,
            "REFUSED: a real run stops before its first write; nothing is sent to any target"
        )?;
        for target in &self.targets {
            writeln!(f, "{}", target.repo)?;
            if refusing.iter().any(|r| r.repo == target.repo) {
                writeln!(
                    f,
                    "  refused  nothing is written here: a tag below is refused"
                )?;
            } else {
                let names: Vec<String> = refusing.iter().map(|r| r.repo.to_string()).collect();
                writeln!(
                    f,
                    "  refused  nothing is written here: the run is refused on {}",
                    names.join(", ")
                )?;
            }
            for tag in &target.tags {
                let what = match &tag.decision {
                    TagDecision::Push | TagDecision::Replace(_) | TagDecision::Move(_) => {
                        "not written: the run is refused".to_string()
                    }
                    decision => decision.to_string(),
                };
                write_tag(f, tag, &what)?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "publish {} ({}; {})",
            self.root.digest,
            self.root.media_type,
            if self.platforms.is_empty() {
                "single image".to_string()
            } else {
                self.platforms.join(", ")
            }
        )?;
        let refusing = self.stopping();
        if !refusing.is_empty() {
            return self.fmt_refused(f, &refusing);
        }
        for target in &self.targets {
            write!(f, "{}", TargetText(target, &self.root.digest))?;
        }
        Ok(())
    }
}

/// One target's lines of the dry-run text: what is sent, then each tag.
struct TargetText<'a>(&'a TargetPlan, &'a Digest);

impl fmt::Display for TargetText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let TargetText(target, root) = self;
        writeln!(f, "{}", target.repo)?;
        if target.image_present {
            writeln!(f, "  image    already there: nothing of it is sent")?;
        }
        for (blob, step) in &target.blobs {
            let what = match step {
                BlobStep::Present => "present".to_string(),
                BlobStep::Mount { from } => format!("mount from {}", from.repository),
                BlobStep::Upload => "upload".to_string(),
            };
            writeln!(
                f,
                "  blob     {} {:>10}  {what}",
                short(&blob.digest),
                human_bytes(blob.size)
            )?;
        }
        for (manifest, step) in &target.manifests {
            let what = match step {
                ManifestStep::Put => "put",
                ManifestStep::Present => "present",
            };
            writeln!(
                f,
                "  manifest {} {:>10}  {what}",
                short(&manifest.digest),
                human_bytes(manifest.size)
            )?;
        }
        if target.root_by_digest {
            writeln!(f, "  root     {}  put by digest", short(root))?;
        }
        write!(f, "{}", target.referrers)?;
        for tag in &target.tags {
            write_tag(f, tag, &tag.decision.to_string())?;
        }
        writeln!(f, "  upload {}", human_bytes(target.bytes_to_upload()))
    }
}

/// One tag line of the dry-run text.
fn write_tag(f: &mut fmt::Formatter<'_>, tag: &TagPlan, what: &str) -> fmt::Result {
    writeln!(
        f,
        "  tag      {:<24} {:<8}  {what}",
        tag.name,
        tag.kind.to_string()
    )
}
