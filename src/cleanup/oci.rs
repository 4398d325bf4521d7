//! The OCI distribution backend: reads one repository into an [`Inventory`] (tags list, a HEAD per
//! tag, a GET per manifest (the [`crate::oci::walk`] from the tagged roots), the config blob of each image for `created`), and executes a plan's
//! deletions (DELETE by digest, in the plan's order). Reading never writes.
//!
//! The distribution API cannot list untagged manifests, so a version here is a manifest reachable
//! from a tag: the tagged roots and everything they list or refer to. A tag that cannot be resolved
//! stops the image (a DELETE by digest removes every tag on it, so an unknown tag could be a kept
//! one); a manifest that cannot be read is recorded as unreadable (the planner then keeps every
//! untagged version).

use super::backend::{Backend, BackendError, Blocked, Deleted, Outcome};
use super::{Capabilities, CleanupPlan, Inventory, Version};
use crate::oci::graph::MAX_DEPTH;
use crate::oci::media::{DOCKER_MANIFEST, OCI_MANIFEST};
use crate::oci::referrer::Entry;
use crate::oci::{Kind, Node, walk};
use crate::registry::{Client, Digest, Reference, Repository, RepositoryManifests, Result};
use futures_util::future::BoxFuture;
use futures_util::{StreamExt, TryStreamExt};
use std::collections::{BTreeMap, BTreeSet};

/// Cleanup through the registry's own distribution API.
pub struct OciBackend {
    pub client: Client,
}

impl Backend for OciBackend {
    fn capabilities(&self) -> Capabilities {
        Capabilities { untag: false }
    }

    fn gather<'a>(
        &'a self,
        image: &'a Repository,
    ) -> BoxFuture<'a, std::result::Result<Inventory, BackendError>> {
        Box::pin(async move { Ok(gather(&self.client, image).await?) })
    }

    fn execute<'a>(
        &'a self,
        image: &'a Repository,
        inventory: &'a Inventory,
        plan: &'a CleanupPlan,
    ) -> BoxFuture<'a, Vec<Outcome>> {
        Box::pin(execute(&self.client, image, inventory, &plan.deletions))
    }
}

/// Tags asked for per page.
const PAGE: usize = 1_000;
/// The largest image config read for `created`.
const MAX_CONFIG_BYTES: usize = 1024 * 1024;

/// Reads `repo` into an inventory (read-only).
pub async fn gather(client: &Client, repo: &Repository) -> Result<Inventory> {
    let tags = client.list_tags(repo, Some(PAGE)).await?;
    let mut tagged: BTreeMap<Digest, Vec<String>> = BTreeMap::new();
    let heads: Vec<(String, Result<Option<crate::registry::ManifestInfo>>)> =
        futures_util::stream::iter(tags)
            .map(|tag| async move {
                let head = client
                    .head_manifest(&repo.with(Reference::Tag(tag.clone())))
                    .await;
                (tag, head)
            })
            .buffered(READ_CONCURRENCY)
            .collect()
            .await;
    for (tag, head) in heads {
        // Listed a moment ago and gone now: it was deleted meanwhile, nothing to decide.
        if let Some(info) = head? {
            tagged.entry(info.digest).or_default().push(tag);
        }
    }
    let mut versions: BTreeMap<Digest, Version> = BTreeMap::new();
    let mut configs: BTreeMap<Digest, Digest> = BTreeMap::new();
    // The tagged roots and everything they list, each read once.
    let source = RepositoryManifests {
        client,
        repository: repo,
    };
    let roots = tagged.keys().cloned().collect();
    let walked = walk(&source, roots, Vec::new(), |_| true, READ_CONCURRENCY).await;
    add_nodes(walked.nodes, &tagged, &mut versions, &mut configs);
    add_api_referrers(client, repo, &tagged, &mut versions, &mut configs).await?;
    let ages: Vec<(Digest, Option<jiff::Timestamp>)> = futures_util::stream::iter(configs)
        .map(|(manifest, config)| async move { (manifest, created(client, repo, &config).await) })
        .buffer_unordered(READ_CONCURRENCY)
        .collect()
        .await;
    for (manifest, created) in ages {
        if let Some(v) = versions.get_mut(&manifest) {
            v.created_at = created;
        }
    }
    index_ages(&mut versions);
    Ok(Inventory {
        image: repo.to_string(),
        versions: readable_order(versions),
        incomplete: None,
    })
}

/// Records each manifest read as a version (its tags, children, subject, config).
fn add_nodes<E: std::fmt::Display>(
    nodes: impl IntoIterator<Item = (Digest, std::result::Result<Node, E>)>,
    tagged: &BTreeMap<Digest, Vec<String>>,
    versions: &mut BTreeMap<Digest, Version>,
    configs: &mut BTreeMap<Digest, Digest>,
) {
    for (digest, read) in nodes {
        let mut version = Version::new(digest.clone(), &[]);
        version.tags = tagged.get(&digest).cloned().unwrap_or_default();
        match read.map(|node| ManifestGraph::of(&node)) {
            Ok(graph) => {
                version.media_type = graph.media_type;
                version.children = graph.children;
                version.subject = graph.subject;
                if let Some(config) = graph.config {
                    configs.insert(digest.clone(), config);
                }
            }
            Err(why) => version.unreadable = Some(why.to_string()),
        }
        versions.insert(digest, version);
    }
}

/// On a registry with the OCI 1.1 referrers API, the referrers of every version (untagged
/// manifests the tag listing cannot show) and theirs in turn, each with what it lists: they
/// follow their subject in the plan, so a deleted image takes them along and a kept one keeps
/// them. One listing per version; a registry without the API costs its one probe (the client
/// remembers the answer for the run).
async fn add_api_referrers(
    client: &Client,
    repo: &Repository,
    tagged: &BTreeMap<Digest, Vec<String>>,
    versions: &mut BTreeMap<Digest, Version>,
    configs: &mut BTreeMap<Digest, Digest>,
) -> Result<()> {
    let source = RepositoryManifests {
        client,
        repository: repo,
    };
    let mut subjects: Vec<Digest> = versions.keys().cloned().collect();
    for _ in 0..=MAX_DEPTH {
        // The first listing probes the API; the client holds the others until it knows.
        let listings: Vec<Option<Vec<Entry>>> =
            futures_util::stream::iter(std::mem::take(&mut subjects))
                .map(|subject| async move { client.list_referrers(repo, &subject, &[]).await })
                .buffered(READ_CONCURRENCY)
                .try_collect()
                .await?;
        let mut found = Vec::new();
        for listed in listings {
            let Some(listed) = listed else {
                return Ok(());
            };
            for entry in listed {
                if !versions.contains_key(&entry.digest) && !found.contains(&entry.digest) {
                    found.push(entry.digest);
                }
            }
        }
        if found.is_empty() {
            return Ok(());
        }
        let known: BTreeSet<Digest> = versions.keys().cloned().collect();
        let walked = walk(
            &source,
            found,
            Vec::new(),
            |d| !known.contains(&d.digest),
            READ_CONCURRENCY,
        )
        .await;
        subjects = walked.nodes.keys().cloned().collect();
        add_nodes(walked.nodes, tagged, versions, configs);
    }
    Ok(())
}

/// What cleanup needs of one manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestGraph {
    pub media_type: String,
    /// Manifests an index lists.
    pub children: Vec<Digest>,
    /// The manifest this one refers to.
    pub subject: Option<Digest>,
    /// An image's config blob.
    pub config: Option<Digest>,
    /// The children whose descriptor says they are plain image manifests (an image or docker
    /// manifest media type, no `artifactType`): they list no manifests of their own and are no
    /// referrers, so a planner may skip reading them.
    pub leaves: Vec<Digest>,
}

/// Manifests read at once (GETs in flight per image; the client's per-host limit still applies).
const READ_CONCURRENCY: usize = 16;

impl ManifestGraph {
    /// What cleanup needs of a manifest read.
    pub fn of(node: &Node) -> ManifestGraph {
        let parsed = &node.parsed;
        ManifestGraph {
            media_type: node.manifest.media_type.clone(),
            children: parsed.manifests.iter().map(|d| d.digest.clone()).collect(),
            subject: parsed.subject.as_ref().map(|d| d.digest.clone()),
            config: match parsed.kind {
                Kind::Image => parsed.blobs.first().map(|d| d.digest.clone()),
                _ => None,
            },
            leaves: parsed
                .manifests
                .iter()
                .filter(|d| {
                    d.artifact_type.is_none()
                        && matches!(d.media_type.as_str(), OCI_MANIFEST | DOCKER_MANIFEST)
                })
                .map(|d| d.digest.clone())
                .collect(),
        }
    }
}

/// Reads `digests` from `repo`, concurrently (nothing they list); each result says why a
/// manifest could not be read.
pub async fn read_manifests(
    client: &Client,
    repo: &Repository,
    digests: &[Digest],
) -> Vec<(Digest, std::result::Result<ManifestGraph, String>)> {
    let source = RepositoryManifests {
        client,
        repository: repo,
    };
    let walked = walk(
        &source,
        digests.to_vec(),
        Vec::new(),
        |_| false,
        READ_CONCURRENCY,
    )
    .await;
    walked
        .nodes
        .into_iter()
        .map(|(digest, read)| {
            let graph = read
                .map(|node| ManifestGraph::of(&node))
                .map_err(|e| e.to_string());
            (digest, graph)
        })
        .collect()
}

/// The image config's `created`, when the config can be read and has one.
async fn created(client: &Client, repo: &Repository, config: &Digest) -> Option<jiff::Timestamp> {
    let blob = client.get_blob(repo, config).await.ok()?;
    let mut stream = blob.stream;
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        bytes.extend_from_slice(&chunk.ok()?);
        if bytes.len() > MAX_CONFIG_BYTES {
            return None;
        }
    }
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    value.get("created")?.as_str()?.parse().ok()
}

/// An index is as old as its newest platform image (indexes carry no time of their own).
fn index_ages(versions: &mut BTreeMap<Digest, Version>) {
    let mut changed = true;
    let mut rounds = 0;
    while changed && rounds < 8 {
        changed = false;
        rounds += 1;
        let ages: Vec<(Digest, jiff::Timestamp)> = versions
            .values()
            .filter(|v| !v.children.is_empty())
            .filter_map(|v| {
                let newest = v
                    .children
                    .iter()
                    .filter_map(|c| versions.get(c)?.created_at)
                    .max()?;
                (v.created_at != Some(newest)).then(|| (v.digest.clone(), newest))
            })
            .collect();
        for (digest, at) in ages {
            if let Some(v) = versions.get_mut(&digest) {
                v.created_at = Some(at);
                changed = true;
            }
        }
    }
}

/// Tagged versions by their first tag, each followed by what it lists (depth first), then the
/// rest: the order the summary shows.
pub fn readable_order(mut versions: BTreeMap<Digest, Version>) -> Vec<Version> {
    let mut roots: Vec<(String, Digest)> = versions
        .values()
        .filter_map(|v| Some((v.tags.iter().min()?.clone(), v.digest.clone())))
        .collect();
    roots.sort();
    let mut ordered = Vec::with_capacity(versions.len());
    let mut stack: Vec<Digest> = roots.into_iter().rev().map(|(_, d)| d).collect();
    while let Some(digest) = stack.pop() {
        if let Some(v) = versions.remove(&digest) {
            stack.extend(v.children.iter().rev().cloned());
            ordered.push(v);
        }
    }
    ordered.extend(versions.into_values());
    ordered
}

/// Deletes `deletions` in order. After a failure, nothing that a failed deletion still points at
/// is deleted (its parent is still there), so a partial run never leaves a dangling reference.
pub async fn execute(
    client: &Client,
    repo: &Repository,
    inventory: &Inventory,
    deletions: &[Digest],
) -> Vec<Outcome> {
    let mut blocked = Blocked::default();
    let mut results = Vec::with_capacity(deletions.len());
    for digest in deletions {
        let outcome = if let Some(skipped) = blocked.skip(digest) {
            skipped
        } else {
            match client.delete_manifest(repo, digest).await {
                Ok(()) => Deleted::Done,
                Err(e) if e.is_not_found() => Deleted::AlreadyGone,
                Err(e) => Deleted::Failed(e.to_string()),
            }
        };
        blocked.record(inventory, digest, &outcome);
        results.push(Outcome::version(digest.clone(), outcome));
    }
    results
}
