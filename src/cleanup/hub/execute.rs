//! Carrying out a plan on Docker Hub, where the only write is deleting a tag: first the plan's
//! untags (one tag off a kept version), then its deletions in order, each one removing every tag
//! of that version (the manifest stays, untagged: Hub's API cannot delete manifests). After a
//! failed deletion, what it points at is skipped; after a refusal that every later request would
//! meet too (401, 403), the rest is skipped, not sent.

use super::error::HubError;
use crate::cleanup::backend::{BackendError, Blocked, Deleted, Outcome};
use crate::cleanup::{CleanupPlan, Inventory};
use futures_util::future::BoxFuture;

/// Deletes one tag of the image being cleaned (the effect behind [`execute`]).
pub trait TagDeleter: Send + Sync {
    /// `Done`, or `AlreadyGone` when the tag was not there.
    fn delete<'a>(&'a self, tag: &'a str) -> BoxFuture<'a, Result<Deleted, HubError>>;
}

/// Runs `plan`'s untags, then its deletions; one outcome per untag and per deleted version.
pub async fn execute(
    deleter: &dyn TagDeleter,
    inventory: &Inventory,
    plan: &CleanupPlan,
) -> Vec<Outcome> {
    let mut steps = Steps {
        deleter,
        refused: None,
    };
    let mut outcomes = Vec::with_capacity(plan.untags.len() + plan.deletions.len());
    for (digest, tag) in &plan.untags {
        outcomes.push(Outcome {
            digest: digest.clone(),
            tag: Some(tag.clone()),
            result: steps.delete(tag).await,
        });
    }
    let mut blocked = Blocked::default();
    for digest in &plan.deletions {
        let result = if let Some(skipped) = blocked.skip(digest) {
            skipped
        } else {
            let tags = inventory
                .versions
                .iter()
                .find(|v| &v.digest == digest)
                .map_or(&[][..], |v| v.tags.as_slice());
            let mut result = Deleted::AlreadyGone;
            for tag in tags {
                result = match (result, steps.delete(tag).await) {
                    (failed @ Deleted::Failed(_), _) => failed,
                    (_, failed @ Deleted::Failed(_)) => failed,
                    (Deleted::Done, _) | (_, Deleted::Done) => Deleted::Done,
                    _ => Deleted::AlreadyGone,
                };
            }
            result
        };
        blocked.record(inventory, digest, &result);
        outcomes.push(Outcome::version(digest.clone(), result));
    }
    outcomes
}

/// Tag deletions, until one is refused for good.
struct Steps<'a> {
    deleter: &'a dyn TagDeleter,
    /// The tag whose refusal stopped the run.
    refused: Option<String>,
}

impl Steps<'_> {
    async fn delete(&mut self, tag: &str) -> Deleted {
        if let Some(first) = &self.refused {
            return Deleted::Failed(format!(
                "skipped: Docker Hub refused deleting `{first}` (see its error)"
            ));
        }
        match self.deleter.delete(tag).await {
            Ok(done) => done,
            Err(e) => {
                if e.stops_the_run() {
                    self.refused = Some(tag.to_string());
                }
                let why = BackendError::from(e).to_string();
                tracing::error!("{why}");
                Deleted::Failed(why)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cleanup::Version;
    use crate::cleanup::hub::error::Step;
    use crate::registry::Digest;
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    /// Answers each tag as told (default `Done`) and records the order asked.
    #[derive(Default)]
    struct Fake {
        answers: BTreeMap<String, u16>,
        asked: Mutex<Vec<String>>,
    }

    impl TagDeleter for Fake {
        fn delete<'a>(&'a self, tag: &'a str) -> BoxFuture<'a, Result<Deleted, HubError>> {
            self.asked.lock().unwrap().push(tag.to_string());
            let status = self.answers.get(tag).copied().unwrap_or(204);
            Box::pin(async move {
                match status {
                    204 => Ok(Deleted::Done),
                    404 => Ok(Deleted::AlreadyGone),
                    s => Err(HubError::api(
                        Step::Delete("user/app".into(), tag.into()),
                        s,
                        br#"{"message":"no"}"#,
                        "docker.io",
                    )),
                }
            })
        }
    }

    fn d(n: u8) -> Digest {
        Digest::parse(&format!("sha256:{}", format!("{n:02x}").repeat(32))).unwrap()
    }

    /// A kept release (`latest` + `main-old` to untag), a branch build with two tags and its
    /// orphaned signature, a closed PR build.
    fn fixture() -> (Inventory, CleanupPlan) {
        let sig = format!("sha256-{}.sig", d(2).hex());
        let versions = vec![
            Version::new(d(1), &["latest", "main-old"]),
            Version::new(d(2), &["main-aaa", "main-aab"]),
            Version::new(d(3), &[sig.as_str()]),
            Version::new(d(4), &["pr-1"]),
        ];
        let plan = CleanupPlan {
            untags: vec![(d(1), "main-old".into())],
            deletions: vec![d(3), d(2), d(4)],
            ..CleanupPlan::default()
        };
        (
            Inventory {
                image: "docker.io/user/app".into(),
                versions,
                incomplete: None,
            },
            plan,
        )
    }

    fn run(fake: &Fake) -> Vec<Outcome> {
        let (inventory, plan) = fixture();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(execute(fake, &inventory, &plan))
    }

    #[test]
    fn untags_first_then_every_tag_of_each_deleted_version_in_order() {
        let fake = Fake {
            answers: [("main-aab".into(), 404)].into(),
            ..Fake::default()
        };
        let outcomes = run(&fake);
        let sig = format!("sha256-{}.sig", d(2).hex());
        assert_eq!(
            *fake.asked.lock().unwrap(),
            ["main-old", sig.as_str(), "main-aaa", "main-aab", "pr-1"]
        );
        let summary: Vec<_> = outcomes
            .iter()
            .map(|o| (o.digest.clone(), o.tag.clone(), o.result.clone()))
            .collect();
        assert_eq!(
            summary,
            [
                (d(1), Some("main-old".into()), Deleted::Done),
                (d(3), None, Deleted::Done),
                // One tag already gone, the other deleted: the version is done.
                (d(2), None, Deleted::Done),
                (d(4), None, Deleted::Done),
            ]
        );
    }

    #[test]
    fn a_failed_signature_keeps_what_it_signs() {
        let sig = format!("sha256-{}.sig", d(2).hex());
        let fake = Fake {
            answers: [(sig, 500)].into(),
            ..Fake::default()
        };
        let outcomes = run(&fake);
        assert!(matches!(&outcomes[1].result, Deleted::Failed(e) if e.contains("answered 500")));
        assert!(
            matches!(&outcomes[2].result, Deleted::Failed(e) if e.starts_with("skipped: a manifest that points at it"))
        );
        assert_eq!(outcomes[3].result, Deleted::Done);
        assert!(
            !fake
                .asked
                .lock()
                .unwrap()
                .iter()
                .any(|t| t.starts_with("main-aa"))
        );
    }

    #[test]
    fn a_refused_token_stops_the_run_with_the_scope_hint() {
        let fake = Fake {
            answers: [("main-old".into(), 403)].into(),
            ..Fake::default()
        };
        let outcomes = run(&fake);
        assert_eq!(*fake.asked.lock().unwrap(), ["main-old"]);
        assert!(outcomes.iter().all(Outcome::failed));
        assert!(
            matches!(&outcomes[0].result, Deleted::Failed(e) if e.contains("\"Read, Write, Delete\" access scope"))
        );
        assert!(
            matches!(&outcomes[3].result, Deleted::Failed(e) if e.contains("refused deleting `main-old`"))
        );
    }
}
