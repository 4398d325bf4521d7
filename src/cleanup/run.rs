//! The cleanup shell: for each image, gather (read-only) -> plan (pure) -> execute unless dry-run.
//! One image's failure is recorded and the next image still runs.

use super::oci::{self, Deleted};
use super::{Capabilities, CleanupPlan, Policy, plan_cleanup};
use crate::registry::{Client, Digest, Repository};
use std::collections::BTreeSet;

/// What to clean up.
pub struct Request<'a> {
    pub images: Vec<Repository>,
    pub policy: &'a Policy,
    pub closed_prs: BTreeSet<u64>,
    pub now: jiff::Timestamp,
    pub dry_run: bool,
}

/// One image's run: the plan (absent when gathering failed) and each deletion's outcome.
#[derive(Debug, Clone)]
pub struct ImageRun {
    pub image: String,
    pub plan: Option<CleanupPlan>,
    pub results: Vec<(Digest, Deleted)>,
    pub error: Option<String>,
}

impl ImageRun {
    pub fn failed(&self) -> usize {
        usize::from(self.error.is_some())
            + self
                .results
                .iter()
                .filter(|(_, r)| matches!(r, Deleted::Failed(_)))
                .count()
    }
}

/// Runs the cleanup of every image in turn.
pub async fn cleanup(client: &Client, request: &Request<'_>) -> Vec<ImageRun> {
    let mut runs = Vec::new();
    for repo in &request.images {
        let image = format!("{}/{}", repo.registry, repo.repository);
        let inventory = match oci::gather(client, repo).await {
            Ok(inventory) => inventory,
            Err(e) => {
                runs.push(ImageRun {
                    image,
                    plan: None,
                    results: Vec::new(),
                    error: Some(format!("cannot read the repository, nothing deleted: {e}")),
                });
                continue;
            }
        };
        let plan = plan_cleanup(
            &inventory,
            request.policy,
            &request.closed_prs,
            Capabilities { untag: false },
            request.now,
        );
        let results = if request.dry_run {
            Vec::new()
        } else {
            oci::execute(client, repo, &inventory, &plan.deletions).await
        };
        runs.push(ImageRun {
            image,
            plan: Some(plan),
            results,
            error: None,
        });
    }
    runs
}

/// The pull request a `pull_request` / `pull_request_target` event with `action: closed` closed.
pub fn closed_pr_from_event(event_name: &str, payload: &serde_json::Value) -> Option<u64> {
    let pr_event = matches!(event_name, "pull_request" | "pull_request_target");
    let closed = payload.get("action").and_then(|a| a.as_str()) == Some("closed");
    (pr_event && closed)
        .then(|| {
            payload
                .get("number")
                .and_then(|n| n.as_u64())
                .or_else(|| payload.get("pull_request")?.get("number")?.as_u64())
        })
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_pull_request_event_names_its_number() {
        let closed = serde_json::json!({"action": "closed", "number": 7});
        assert_eq!(closed_pr_from_event("pull_request", &closed), Some(7));
        assert_eq!(closed_pr_from_event("push", &closed), None);
        let opened = serde_json::json!({"action": "opened", "number": 7});
        assert_eq!(closed_pr_from_event("pull_request", &opened), None);
        let nested = serde_json::json!({"action": "closed", "pull_request": {"number": 9}});
        assert_eq!(
            closed_pr_from_event("pull_request_target", &nested),
            Some(9)
        );
    }
}
