//! The cleanup run: for each image, gather (read-only, through its registry's [`Backend`]), then
//! ask which pull requests are closed (when the policy needs it), then plan (pure) each image and
//! execute unless dry-run. One image's failure is recorded and the next image still runs.

use super::backend::{Backend, Outcome, PullRequestStates};
use super::budget::{self, Allowance, DELETE_CALLS, Limit, UNTAG_CALLS};
use super::policy::pr_number;
use super::{CleanupPlan, Inventory, Policy, plan_cleanup, referrer_subject};
use crate::registry::{Digest, Repository};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// What to clean up.
pub struct Request<'a> {
    pub images: Vec<Repository>,
    pub policy: &'a Policy,
    /// Closed pull requests known without asking (the event, the `closed-pull-requests` input).
    pub closed_prs: BTreeSet<u64>,
    pub now: jiff::Timestamp,
    pub dry_run: bool,
    /// `cleanup-time-budget`: deleting stops (cleanly, between groups) when it would run past.
    pub time_budget: Option<Duration>,
}

/// One image's run: the plan (absent when gathering failed) and each step's outcome.
#[derive(Debug, Clone)]
pub struct ImageRun {
    pub image: String,
    pub plan: Option<CleanupPlan>,
    pub results: Vec<Outcome>,
    pub error: Option<String>,
    /// What each manifest of the repository is, for counting deletions as users count images.
    pub kinds: BTreeMap<Digest, ManifestKind>,
}

/// What a manifest is to a user. A registry deletes manifests; a user deletes images, each an
/// index with its platform manifests, or one single-platform manifest, and with it the
/// signatures and attestations that refer to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ManifestKind {
    /// An image: an index (a multi-platform image) no other manifest lists.
    Index,
    /// An image: a single-platform manifest no index lists.
    Image,
    /// A manifest an index lists (a platform image, a buildx attestation manifest).
    Platform,
    /// A signature, attestation or SBOM: a manifest with a `subject`, or under a
    /// `sha256-<hex>.sig|.att|.sbom` tag.
    Referrer,
}

impl ManifestKind {
    /// Whether a user counts this manifest as an image.
    pub fn is_image(self) -> bool {
        matches!(self, ManifestKind::Index | ManifestKind::Image)
    }

    /// The kind of every version of `inventory`.
    pub fn of(inventory: &Inventory) -> BTreeMap<Digest, ManifestKind> {
        let listed: BTreeSet<&Digest> = inventory
            .versions
            .iter()
            .flat_map(|v| &v.children)
            .collect();
        inventory
            .versions
            .iter()
            .map(|v| {
                let kind = if v.subject.is_some()
                    || v.tags.iter().any(|t| referrer_subject(t).is_some())
                {
                    ManifestKind::Referrer
                } else if listed.contains(&v.digest) {
                    ManifestKind::Platform
                } else if v.media_type.contains("index") || v.media_type.contains("manifest.list") {
                    ManifestKind::Index
                } else {
                    ManifestKind::Image
                };
                (v.digest.clone(), kind)
            })
            .collect()
    }
}

impl ImageRun {
    pub fn failed(&self) -> usize {
        usize::from(self.error.is_some()) + self.results.iter().filter(|o| o.failed()).count()
    }
}

/// An image read through its backend, or why it could not be.
type Gathered = Result<(Box<dyn Backend>, Inventory), String>;

/// Runs the cleanup of every image; `backend_for` picks each image's backend, `pull_requests`
/// (when present) is asked for the state of `pr-N` tags not known to be closed.
pub async fn cleanup(
    backend_for: &(dyn Fn(&Repository) -> Box<dyn Backend> + Sync),
    pull_requests: Option<&dyn PullRequestStates>,
    request: &Request<'_>,
) -> (Vec<ImageRun>, Vec<String>) {
    let started = Instant::now();
    let deadline = request.time_budget.map(|b| started + b);
    let mut warnings = Vec::new();
    let gathered = gather(backend_for, &request.images).await;
    let mut closed_prs = request.closed_prs.clone();
    if request.policy.uses_closed_prs() {
        let unknown = unknown_prs(&gathered, &closed_prs);
        closed_prs.extend(ask_closed(pull_requests, unknown, &mut warnings).await);
    }
    let each = Planning {
        request,
        closed_prs: &closed_prs,
        deadline,
    };
    let mut runs = Vec::new();
    for (repo, image, result) in gathered {
        runs.push(match result {
            Ok((backend, inventory)) => each.run(&repo, image, backend.as_ref(), &inventory).await,
            Err(error) => ImageRun {
                image,
                plan: None,
                results: Vec::new(),
                error: Some(error),
                kinds: BTreeMap::new(),
            },
        });
    }
    (runs, warnings)
}

/// Reads every image through its backend, in order.
async fn gather(
    backend_for: &(dyn Fn(&Repository) -> Box<dyn Backend> + Sync),
    images: &[Repository],
) -> Vec<(Repository, String, Gathered)> {
    let mut gathered = Vec::new();
    for repo in images {
        let image = repo.to_string();
        let backend = backend_for(repo);
        let result = match backend.gather(repo).await {
            Ok(inventory) => Ok((backend, inventory)),
            Err(e) => Err(format!("cannot read the repository, nothing deleted: {e}")),
        };
        gathered.push((repo.clone(), image, result));
    }
    gathered
}

/// The pull requests of `pr-N` tags in the images read whose state is not known yet.
fn unknown_prs(
    gathered: &[(Repository, String, Gathered)],
    closed_prs: &BTreeSet<u64>,
) -> BTreeSet<u64> {
    gathered
        .iter()
        .filter_map(|(_, _, r)| r.as_ref().ok())
        .flat_map(|(_, inventory)| inventory.versions.iter().flat_map(|v| &v.tags))
        .filter_map(|t| pr_number(t))
        .filter(|n| !closed_prs.contains(n))
        .collect()
}

/// The closed ones among `unknown`, asked of `pull_requests`; a warning says when their state
/// stays unknown (no API, or it failed), as `pr=closed` then matches fewer tags.
async fn ask_closed(
    pull_requests: Option<&dyn PullRequestStates>,
    unknown: BTreeSet<u64>,
    warnings: &mut Vec<String>,
) -> BTreeSet<u64> {
    match pull_requests {
        Some(api) if !unknown.is_empty() => {
            let numbers: Vec<u64> = unknown.into_iter().collect();
            match api.closed(&numbers).await {
                Ok(closed) => return closed,
                Err(e) => warnings.push(format!(
                    "cannot read pull request states, `pr=closed` only matches the ones known closed: {e}"
                )),
            }
        }
        None if !unknown.is_empty() => warnings.push(format!(
            "{} pull request(s) of `pr-N` tags have an unknown state: `pr=closed` only matches the ones known closed (give `github-token` and run in a repository, or list them in `closed-pull-requests`)",
            unknown.len()
        )),
        _ => {}
    }
    BTreeSet::new()
}

/// What planning each image read takes: the request, every closed pull request, the deadline.
struct Planning<'a> {
    request: &'a Request<'a>,
    closed_prs: &'a BTreeSet<u64>,
    deadline: Option<Instant>,
}

impl Planning<'_> {
    /// Plans one image, fits the plan to the run's budget, and executes it unless dry-run.
    async fn run(
        &self,
        repo: &Repository,
        image: String,
        backend: &dyn Backend,
        inventory: &Inventory,
    ) -> ImageRun {
        let plan = plan_cleanup(
            inventory,
            self.request.policy,
            self.closed_prs,
            backend.capabilities(),
            self.request.now,
        );
        let pacing = Pacing {
            backend,
            deadline: self.deadline,
        };
        let mut plan = budget::fit(plan, inventory, &pacing.allowance());
        let results = if self.request.dry_run {
            Vec::new()
        } else {
            execute_within(backend, repo, inventory, &mut plan, self.deadline).await
        };
        ImageRun {
            image,
            plan: Some(plan),
            results,
            error: None,
            kinds: ManifestKind::of(inventory),
        }
    }
}

/// Calls carried out between two looks at the budget, at most (a group bigger than that goes
/// alone): about 20 s of deletions at GitHub's pace, so a stop comes soon after a limit nears.
const BATCH_CALLS: u64 = 60;

/// Carries out `plan` in batches of whole groups, looking at the time and the API budget before
/// each: when the next group would not fit, it and every later step move to the plan's
/// deferred lists and the run ends there, a success.
async fn execute_within(
    backend: &dyn Backend,
    repo: &Repository,
    inventory: &Inventory,
    plan: &mut CleanupPlan,
    deadline: Option<Instant>,
) -> Vec<Outcome> {
    let pacing = Pacing { backend, deadline };
    let mut results = Vec::new();
    if !plan.untags.is_empty() {
        let calls = plan.untags.len() as u64 * UNTAG_CALLS;
        if pacing.over(calls) == Some(Limit::Api) {
            pacing.renewed().await;
        }
        if let Some(limit) = pacing.over(calls) {
            budget::defer_from(plan, 0, true, limit);
            return results;
        }
        let untags = CleanupPlan {
            untags: plan.untags.clone(),
            ..CleanupPlan::default()
        };
        results.extend(backend.execute(repo, inventory, &untags).await);
    }
    let (mut group, mut start) = (0, 0);
    while group < plan.groups.len() {
        let end = pacing.batch_end(plan, group);
        if end == group {
            let calls = plan.groups[group] as u64 * DELETE_CALLS;
            if pacing.over(calls) == Some(Limit::Api) && pacing.renewed().await {
                continue;
            }
            let limit = pacing.over(calls).unwrap_or(Limit::Api);
            budget::defer_from(plan, group, false, limit);
            break;
        }
        let size: usize = plan.groups[group..end].iter().sum();
        let batch = CleanupPlan {
            deletions: plan.deletions[start..start + size].to_vec(),
            ..CleanupPlan::default()
        };
        results.extend(backend.execute(repo, inventory, &batch).await);
        (group, start) = (end, start + size);
    }
    results
}

/// The limits one image's execution runs within: the run's deadline and what its backend's API
/// still allows.
struct Pacing<'a> {
    backend: &'a dyn Backend,
    deadline: Option<Instant>,
}

impl Pacing<'_> {
    /// What is left now: the time until the deadline, and what the API last announced.
    fn allowance(&self) -> Allowance {
        Allowance {
            time: self
                .deadline
                .map(|d| d.saturating_duration_since(Instant::now())),
            now: jiff::Timestamp::now(),
            ..self.backend.allowance()
        }
    }

    /// What `calls` more would overrun, if anything.
    fn over(&self, calls: u64) -> Option<Limit> {
        let allowance = self.backend.allowance();
        if let Some(deadline) = self.deadline {
            // A second of round trips, plus the API's pace (the pace's first burst is not counted).
            let pace = allowance
                .per_minute
                .map_or(0.0, |p| calls as f64 * 60.0 / p.max(1) as f64);
            if Instant::now() + Duration::from_secs_f64(1.0 + pace) > deadline {
                return Some(Limit::Time);
            }
        }
        match allowance.api {
            Some(api) if api.spendable(jiff::Timestamp::now()) < calls => Some(Limit::Api),
            _ => None,
        }
    }

    /// The end (exclusive) of the batch of groups starting at `group`: as many whole groups as
    /// fit [`BATCH_CALLS`] (a bigger one goes alone) and the limits; `group` when none fits.
    fn batch_end(&self, plan: &CleanupPlan, group: usize) -> usize {
        let (mut end, mut calls) = (group, 0);
        while end < plan.groups.len() {
            let more = calls + plan.groups[end] as u64 * DELETE_CALLS;
            if (end > group && more > BATCH_CALLS) || self.over(more).is_some() {
                break;
            }
            (calls, end) = (more, end + 1);
        }
        end
    }

    /// When the API budget renews soon (and within the time left), waits for it: `true` when it did.
    async fn renewed(&self) -> bool {
        match self.allowance().renewal_wait() {
            Some(wait) => {
                tracing::warn!(
                    wait_s = wait.as_secs(),
                    "API budget low: waiting for its reset"
                );
                tokio::time::sleep(wait + Duration::from_secs(1)).await;
                true
            }
            None => false,
        }
    }
}
