//! Read-only look at each target before planning: what it holds of the image, and the tags the
//! tag decisions need. Requests are kept at the floor: one HEAD of the root; if it is missing,
//! one HEAD per child manifest and per blob; one tag listing only when a rolling tag needs it or the image is there already;
//! one HEAD per tag whose digest decides something (a HEAD instead of a PUT on a re-run). After
//! rolling tags are written, [`read_back`] looks again at where they point.

use super::plan::{Content, Observed};
use super::rolling::{self, ReadBack, VersionForms};
use crate::meta::{ComputedTag, TagKind};
use crate::registry::{Action, Client, Digest, Reference, Repository, Result, Scopes};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use std::collections::{BTreeMap, BTreeSet};

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
/// holds the root (from [`has_root`]): when it does, its children and blobs are there too. The
/// manifest HEADs, the blob HEADs and the tag look-ups run side by side.
pub async fn observe(
    client: &Client,
    content: &Content,
    target: &Repository,
    tags: &[ComputedTag],
    root_present: bool,
) -> Result<Observed> {
    let ((manifests_present, blobs_present), (tags, tag_digests)) = futures_util::future::try_join(
        async {
            if root_present {
                return Ok((BTreeSet::new(), BTreeSet::new()));
            }
            futures_util::future::try_join(
                present(content.manifests.iter().map(|m| &m.digest), |digest| {
                    let image = target.with(Reference::Digest(digest.clone()));
                    async move { Ok(client.head_manifest(&image).await?.is_some()) }
                }),
                present(
                    content.blobs.iter().map(|b| &b.digest),
                    |digest| async move { Ok(client.head_blob(target, digest).await?.is_some()) },
                ),
            )
            .await
        },
        observe_tags(client, target, tags, root_present),
    )
    .await?;
    Ok(Observed {
        root_present,
        manifests_present,
        blobs_present,
        tags,
        tag_digests,
    })
}

/// The digests `is_there` answers yes for, asked [`CONCURRENCY`] at a time.
async fn present<'a, F, Fut>(
    digests: impl Iterator<Item = &'a Digest>,
    is_there: F,
) -> Result<BTreeSet<Digest>>
where
    F: Fn(&'a Digest) -> Fut,
    Fut: std::future::Future<Output = Result<bool>>,
{
    stream::iter(digests)
        .map(|digest| {
            let asked = is_there(digest);
            async move { Ok::<_, crate::registry::Error>(asked.await?.then(|| digest.clone())) }
        })
        .buffer_unordered(CONCURRENCY)
        .try_filter_map(|d| async move { Ok(d) })
        .try_collect()
        .await
}

/// The target's tags when a rolling tag needs them or the target holds the image already, and
/// where this run's tags point there: each release tag, and, when the target holds the image
/// already (a re-run, or new tags on it), each other tag (floating and rolling alike) the listing
/// shows, so that a tag already on the image is reported unchanged rather than put again. A tag
/// the listing shows absent is not asked about.
async fn observe_tags(
    client: &Client,
    target: &Repository,
    tags: &[ComputedTag],
    root_present: bool,
) -> Result<(Option<BTreeSet<String>>, BTreeMap<String, Digest>)> {
    let needs_listing = root_present
        || tags
            .iter()
            .any(|t| t.kind == TagKind::Rolling && t.version.is_some());
    let listed: Option<BTreeSet<String>> = match needs_listing {
        true => Some(client.list_tags(target, None).await?.into_iter().collect()),
        false => None,
    };
    let asked: Vec<String> = tags
        .iter()
        .filter(|t| t.kind == TagKind::Release || (root_present && listed.is_some()))
        .map(|t| t.name.to_string())
        .filter(|name| listed.as_ref().is_none_or(|all| all.contains(name)))
        .collect();
    let digests = digests_of(client, target, asked).await?;
    Ok((listed, digests))
}

/// Where each of `names` points in `target` (HEADs, [`CONCURRENCY`] at a time); a tag that is
/// not there is left out.
async fn digests_of(
    client: &Client,
    target: &Repository,
    names: Vec<String>,
) -> Result<BTreeMap<String, Digest>> {
    stream::iter(names)
        .map(|name| async move {
            let image = target.with(Reference::Tag(name.clone()));
            let info = client.head_manifest(&image).await?;
            Ok::<_, crate::registry::Error>(info.map(|info| (name, info.digest)))
        })
        .buffer_unordered(CONCURRENCY)
        .try_filter_map(|found| async move { Ok(found) })
        .try_collect()
        .await
}

/// What rolling tag `name` of `version` looks like after this run wrote it: the listing, and
/// where `name` and the newer versions in its scope point ([`rolling::to_read_back`]).
pub async fn read_back(
    client: &Client,
    target: &Repository,
    name: &str,
    version: &str,
    forms: &VersionForms,
) -> Result<ReadBack> {
    let tags: BTreeSet<String> = client.list_tags(target, None).await?.into_iter().collect();
    let asked = rolling::to_read_back(name, version, forms, &tags);
    let digests = digests_of(client, target, asked).await?;
    Ok(ReadBack { tags, digests })
}
