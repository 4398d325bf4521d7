//! GHCR cleanup: versions from the GitHub Packages REST API, the edges between them (an index's
//! platform images, a signature's subject) from the registry, deletions through the API.
//!
//! - The owner's kind decides the routes (`/orgs/...` or `/users/...`): `GET /users/{owner}`.
//! - Listing: every page first (100 versions a page, `Link: rel="next"`), then the manifests the
//!   plan needs are read from the registry (or the manifest cache), in rounds
//!   ([`inventory::next_reads`]): every tagged version, then untagged ones no read index lists
//!   as a plain image; then the plan. Nothing is deleted while listing.
//! - Deleting: one `DELETE .../versions/{id}` per version, at most 180 a minute, in the plan's
//!   order (referrers and indexes before what they list); 404 counts as done.
//! - Removing one tag of a version that keeps others (GHCR cannot delete a tag through the
//!   registry): push a placeholder manifest under the tag, which moves the tag onto a new version,
//!   then delete that version.

pub mod api;
pub mod inventory;
pub mod pace;

use self::api::{GithubApi, OwnerKind, Package};
use self::inventory::{EMPTY_JSON_DIGEST, OCI_MANIFEST, placeholder_manifest};
use super::backend::{
    Backend, BackendError, Blocked, Deleted, Outcome, PullRequestStates, all_failed,
};
use super::cache::ManifestCache;
use super::{Capabilities, CleanupPlan, Inventory};
use crate::registry::{Client, Digest, ReaderSource, Reference, Repository};
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

/// An image's owner kind and version ids.
type Listing = (OwnerKind, BTreeMap<Digest, u64>);

/// Cleanup of one GHCR-like registry's images.
pub struct GithubBackend {
    pub api: Arc<Result<GithubApi, String>>,
    pub client: Client,
    /// What `gather` learnt that `execute` needs: per image, the owner's kind and version ids.
    ids: Mutex<BTreeMap<String, Listing>>,
    /// Manifests known by digest (the `manifest-cache` file, or this run's reads only).
    cache: Arc<ManifestCache>,
}

/// Reads a round is topped up to from the fourth round on, doubling each round: a burst of
/// lone untagged images (one read each, one push apart by time) takes few rounds.
const ROUND_READS: usize = 16;

impl GithubBackend {
    pub fn new(api: Arc<Result<GithubApi, String>>, client: Client) -> GithubBackend {
        GithubBackend {
            api,
            client,
            ids: Mutex::new(BTreeMap::new()),
            cache: Arc::new(ManifestCache::in_memory()),
        }
    }

    /// The same backend, reading manifests through `cache`.
    pub fn with_cache(self, cache: Arc<ManifestCache>) -> GithubBackend {
        GithubBackend { cache, ..self }
    }

    fn api(&self) -> Result<&GithubApi, BackendError> {
        self.api
            .as_ref()
            .as_ref()
            .map_err(|e| BackendError::Other(e.clone()))
    }

    fn package(image: &Repository) -> Result<Package, BackendError> {
        Package::from_repository(&image.repository).ok_or_else(|| {
            BackendError::Other(format!(
                "`{}/{}` names no package: GHCR images are `ghcr.io/<owner>/<package>`",
                image.registry, image.repository
            ))
        })
    }

    async fn gather_image(&self, image: &Repository) -> Result<Inventory, BackendError> {
        let api = self.api()?;
        let package = Self::package(image)?;
        let kind = api.owner_kind(&package.owner).await?;
        let versions = api.list_versions(kind, &package).await?;
        let (listed, unusable) = inventory::listed(&versions);
        tracing::info!(
            image = %image.repository,
            versions = listed.len(),
            list_calls = api.list_calls(),
            "package versions listed"
        );
        let mut manifests = inventory::Read::new();
        let (hits, reads) = self.cache.counts();
        for round in 0.. {
            let at_least = match round {
                0..3 => 0,
                n => ROUND_READS << (n - 3).min(10),
            };
            let next = inventory::next_reads(&listed, &manifests, at_least);
            if next.is_empty() {
                break;
            }
            manifests.extend(self.cache.read(&self.client, image, &next).await);
        }
        let leaves = inventory::leaves(&listed, &manifests);
        let (hits_now, reads_now) = self.cache.counts();
        tracing::info!(
            image = %image.repository,
            from_cache = hits_now - hits,
            read = reads_now - reads,
            not_needed = leaves.len(),
            "manifests"
        );
        for leaf in leaves {
            manifests.insert(leaf, Ok(inventory::leaf_graph()));
        }
        let ids = listed.iter().map(|l| (l.digest.clone(), l.id)).collect();
        self.ids
            .lock()
            .expect("ids lock")
            .insert(image.repository.clone(), (kind, ids));
        Ok(inventory::inventory(
            format!("{}/{}", image.registry, image.repository),
            &listed,
            &manifests,
            &unusable,
        ))
    }

    async fn execute_plan(
        &self,
        image: &Repository,
        inventory: &Inventory,
        plan: &CleanupPlan,
    ) -> Vec<Outcome> {
        let steps = plan.untags.len() + plan.deletions.len();
        let (api, package) = match (self.api(), Self::package(image)) {
            (Ok(api), Ok(package)) => (api, package),
            (Err(e), _) | (_, Err(e)) => return all_failed(plan, &e.to_string()),
        };
        let Some((kind, ids)) = self
            .ids
            .lock()
            .expect("ids lock")
            .get(&image.repository)
            .cloned()
        else {
            return all_failed(plan, "the image was not listed first");
        };
        let mut outcomes = Vec::with_capacity(steps);
        for (digest, tag) in &plan.untags {
            let result = match self.untag(api, kind, &package, image, digest, tag).await {
                Ok(()) => Deleted::Done,
                Err(e) => Deleted::Failed(e.to_string()),
            };
            outcomes.push(Outcome {
                digest: digest.clone(),
                tag: Some(tag.clone()),
                result,
            });
        }
        let mut blocked = Blocked::default();
        for digest in &plan.deletions {
            let result = if let Some(skipped) = blocked.skip(digest) {
                skipped
            } else {
                match ids.get(digest) {
                    None => Deleted::Failed("not in the package's version list".into()),
                    Some(&id) => match api.delete_version(kind, &package, id).await {
                        Ok(true) => Deleted::Done,
                        Ok(false) => Deleted::AlreadyGone,
                        Err(e) => Deleted::Failed(e.to_string()),
                    },
                }
            };
            blocked.record(inventory, digest, &result);
            outcomes.push(Outcome::version(digest.clone(), result));
        }
        outcomes
    }

    /// Removes `tag` from the version `digest` (which keeps its other tags).
    async fn untag(
        &self,
        api: &GithubApi,
        kind: OwnerKind,
        package: &Package,
        image: &Repository,
        digest: &Digest,
        tag: &str,
    ) -> Result<(), BackendError> {
        let tagged = image.with(Reference::Tag(tag.to_string()));
        match self.client.head_manifest(&tagged).await? {
            Some(info) if &info.digest == digest => {}
            Some(info) => {
                return Err(BackendError::Other(format!(
                    "`{tag}` moved to {} since it was listed; nothing done (re-run to decide again)",
                    info.digest
                )));
            }
            None => return Ok(()),
        }
        let empty = Digest::parse(EMPTY_JSON_DIGEST).expect("a valid digest");
        if self.client.head_blob(image, &empty).await?.is_none() {
            let source = ReaderSource(|| async { Ok(std::io::Cursor::new(b"{}".to_vec())) });
            self.client
                .push_blob(image, &empty, 2, &source, None)
                .await?;
        }
        let nonce = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
            .to_string();
        let bytes = placeholder_manifest(tag, &nonce);
        let placeholder = self
            .client
            .put_manifest_raw(&tagged, bytes.into(), OCI_MANIFEST)
            .await?;
        let id = self.find_version(api, kind, package, &placeholder).await?;
        api.delete_version(kind, package, id).await.map_err(|e| {
            BackendError::Other(format!(
                "`{tag}` now points at placeholder version {id} ({placeholder}), which could not be deleted: {e}"
            ))
        })?;
        Ok(())
    }

    /// The id of the version just pushed (the newest ones come first; it may take a moment).
    async fn find_version(
        &self,
        api: &GithubApi,
        kind: OwnerKind,
        package: &Package,
        digest: &Digest,
    ) -> Result<u64, BackendError> {
        for attempt in 0..5u32 {
            if attempt > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(250 << attempt)).await;
            }
            if let Some(id) = api.find_recent_version(kind, package, digest).await? {
                return Ok(id);
            }
        }
        Err(BackendError::Other(format!(
            "the placeholder {digest} does not appear among the package's versions; it still holds the tag"
        )))
    }
}

impl Backend for GithubBackend {
    fn capabilities(&self) -> Capabilities {
        Capabilities { untag: true }
    }

    fn gather<'a>(
        &'a self,
        image: &'a Repository,
    ) -> BoxFuture<'a, Result<Inventory, BackendError>> {
        Box::pin(self.gather_image(image))
    }

    fn execute<'a>(
        &'a self,
        image: &'a Repository,
        inventory: &'a Inventory,
        plan: &'a CleanupPlan,
    ) -> BoxFuture<'a, Vec<Outcome>> {
        Box::pin(self.execute_plan(image, inventory, plan))
    }

    fn allowance(&self) -> crate::cleanup::budget::Allowance {
        crate::cleanup::budget::Allowance {
            api: self.api().ok().and_then(GithubApi::rate_limit),
            time: None,
            per_minute: Some(DELETIONS_PER_MINUTE),
            now: jiff::Timestamp::now(),
        }
    }
}

/// GitHub's pace for deletions (see [`pace::Pace::github_deletes`]).
const DELETIONS_PER_MINUTE: u64 = 180;

/// Pull request states of one repository (`owner/name`) from the GitHub API.
pub struct GithubPullRequests {
    pub api: Arc<Result<GithubApi, String>>,
    pub repository: String,
}

/// Pull requests asked at once.
const PULL_CONCURRENCY: usize = 4;

impl PullRequestStates for GithubPullRequests {
    fn closed<'a>(
        &'a self,
        numbers: &'a [u64],
    ) -> BoxFuture<'a, Result<BTreeSet<u64>, BackendError>> {
        Box::pin(async move {
            let api = self
                .api
                .as_ref()
                .as_ref()
                .map_err(|e| BackendError::Other(e.clone()))?;
            let states: Vec<(u64, Result<bool, BackendError>)> =
                futures_util::stream::iter(numbers.iter().copied())
                    .map(|n| async move { (n, api.pull_request_closed(&self.repository, n).await) })
                    .buffer_unordered(PULL_CONCURRENCY)
                    .collect()
                    .await;
            let mut closed = BTreeSet::new();
            for (n, state) in states {
                match state {
                    Ok(true) => {
                        closed.insert(n);
                    }
                    Ok(false) => {}
                    // Not a pull request of this repository (an issue number, another fork):
                    // its state is unknown, so its tags are not `pr=closed`.
                    Err(BackendError::Api { status: 404, .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(closed)
        })
    }
}
