//! The run's verdict, from the tag reports: which tags drift between registries, which exist in
//! no registry at all, and whether that fails the step.
//!
//! | tags found                  | `fail-on-drift: true`  | `fail-on-drift: false`           |
//! |-----------------------------|------------------------|----------------------------------|
//! | all in sync                 | pass                   | pass                             |
//! | some drift                  | fail: drift            | pass                             |
//! | missing everywhere, listed  | fail: missing          | fail: missing (an explicit ask)  |
//! | missing everywhere, computed| fail: missing          | pass                             |
//!
//! A tag named in `verify-tags` that no registry has is most likely a typo or a tag not published
//! yet: verify cannot say anything about it, so it fails whatever `fail-on-drift` says.

use super::TagReport;
use super::VerifyError;

/// What the reports add up to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Tags no registry has, in report order.
    pub missing_everywhere: Vec<String>,
    /// `  <image>:<tag> <status>` for every drifting (tag, registry) pair of the other tags.
    pub drift: Vec<String>,
}

impl Verdict {
    /// Sorts the reports into tags missing everywhere and drift.
    pub fn of(reports: &[TagReport]) -> Verdict {
        let mut verdict = Verdict::default();
        for report in reports {
            if report.missing_everywhere() {
                verdict.missing_everywhere.push(report.tag.name.clone());
                continue;
            }
            verdict.drift.extend(
                report
                    .findings
                    .iter()
                    .filter(|f| f.status.is_drift())
                    .map(|f| format!("  {}:{} {}", f.repo, report.tag.name, f.status)),
            );
        }
        verdict
    }

    /// Whether every tag is in every registry, the same.
    pub fn in_sync(&self) -> bool {
        self.missing_everywhere.is_empty() && self.drift.is_empty()
    }

    /// The step's failure, if any (see the module table). `listed`: the tags came from
    /// `verify-tags`; `synced`: sync ran (not as a dry run) before these reports.
    pub fn failure(self, listed: bool, fail_on_drift: bool, synced: bool) -> Option<VerifyError> {
        let drift = if fail_on_drift {
            self.drift
        } else {
            Vec::new()
        };
        if !self.missing_everywhere.is_empty() && (listed || fail_on_drift) {
            return Some(VerifyError::MissingEverywhere {
                tags: self.missing_everywhere,
                drift,
            });
        }
        (!drift.is_empty()).then_some(VerifyError::Drift {
            lines: drift,
            synced,
        })
    }
}
