//! Read-only look at each target before planning: what it holds of the image, and the tags the
//! tag decisions need. Requests are kept at the floor: one HEAD of the root; if it is missing,
//! one HEAD per child manifest and per blob; one tag listing only when a rolling tag needs it.

use super::plan::{Content, Observed};
use crate::meta::{ComputedTag, TagKind};
use crate::registry::{Action, Client, Digest, Reference, Repository, Result, Scopes};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use std::collections::BTreeSet;

/// Requests in flight per target while observing.
const CONCURRENCY: usize = 8;

/// Gets one token per registry covering every target there (push) and the mount source (pull),
/// the registries side by side; `registries` picks which of the targets' registries.
pub async fn authorize(
    client: &Client,
    source_repo: Option<&Repository>,
    targets: &[Repository],
    registries: impl Fn(&str) -> bool,
) -> Result<()> {
    let chosen: BTreeSet<&str> = targets
        .iter()
        .map(|t| t.registry.as_str())
        .filter(|r| registries(r))
        .collect();
    futures_util::future::try_join_all(chosen.into_iter().map(|registry| {
        let mut scopes = Scopes::new();
        for target in targets.iter().filter(|t| t.registry == registry) {
            scopes.add(&target.repository, &[Action::Pull, Action::Push]);
        }
        if let Some(source) = source_repo.filter(|s| s.registry == registry) {
            scopes.add(&source.repository, &[Action::Pull]);
        }
        async move { client.authorize(registry, &scopes).await }
    }))
    .await?;
    Ok(())
}

/// Whether `target` already holds the image (one HEAD of the root by digest).
pub async fn has_root(client: &Client, root: &Digest, target: &Repository) -> Result<bool> {
    Ok(client
        .head_manifest(&target.with(Reference::Digest(root.clone())))
        .await?
        .is_some())
}

/// What `target` holds that matters for publishing `content` under `tags`, given whether it
/// holds the root (from [`has_root`]): when it does, its children and blobs are there too.
pub async fn observe(
    client: &Client,
    content: &Content,
    target: &Repository,
    tags: &[ComputedTag],
    root_present: bool,
) -> Result<Observed> {
    let mut observed = Observed {
        root_present,
        ..Observed::default()
    };
    if !root_present {
        observed.manifests_present = stream::iter(&content.manifests)
            .map(|m| async move {
                let image = target.with(Reference::Digest(m.digest.clone()));
                Ok::<_, crate::registry::Error>(
                    client
                        .head_manifest(&image)
                        .await?
                        .map(|_| m.digest.clone()),
                )
            })
            .buffer_unordered(CONCURRENCY)
            .try_filter_map(|d| async move { Ok(d) })
            .try_collect::<BTreeSet<Digest>>()
            .await?;
        observed.blobs_present = stream::iter(&content.blobs)
            .map(|b| async move {
                Ok::<_, crate::registry::Error>(
                    client
                        .head_blob(target, &b.digest)
                        .await?
                        .map(|_| b.digest.clone()),
                )
            })
            .buffer_unordered(CONCURRENCY)
            .try_filter_map(|d| async move { Ok(d) })
            .try_collect::<BTreeSet<Digest>>()
            .await?;
    }
    let needs_listing = tags
        .iter()
        .any(|t| t.kind == TagKind::Rolling && t.version.is_some());
    if needs_listing {
        observed.tags = Some(client.list_tags(target, None).await?.into_iter().collect());
    }
    for tag in tags.iter().filter(|t| t.kind == TagKind::Release) {
        let name = tag.name.to_string();
        let listed_absent = observed
            .tags
            .as_ref()
            .is_some_and(|all| !all.contains(&name));
        if listed_absent {
            continue;
        }
        if let Some(info) = client
            .head_manifest(&target.with(Reference::Tag(name.clone())))
            .await?
        {
            observed.tag_digests.insert(name, info.digest);
        }
    }
    Ok(observed)
}
