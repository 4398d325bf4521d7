//! Read-only gathering for verify: every tag in every repository by HEAD (a HEAD does not count
//! against Docker Hub's pull limit), one GET per distinct index digest in the primary (to learn its
//! children, nested indexes followed), then one HEAD per child and repository that holds the index;
//! then the referrers of each image and child where a repository holds the primary's image
//! (`referrers`).

use super::TagState;
use super::referrers::{ReferrerReads, gather_referrers};
use super::tags::{self, Selection, VerifyTag};
use crate::oci::media::is_index;
use crate::oci::referrer::{cosign_subject, fallback_subject};
use crate::oci::{Descriptor, GraphError, walk};
use crate::publish::referrers::DiscoverError;
use crate::registry::{Client, Digest, Reference, Repository, RepositoryManifests};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use std::collections::{BTreeMap, BTreeSet};

/// Requests in flight at once.
pub(super) const CONCURRENCY: usize = 8;

/// One HEAD's answer: repository index, tag, and (digest, is an index) when the tag exists.
type Head = (usize, String, Option<(Digest, bool)>);

/// Why gathering stopped.
#[derive(Debug, thiserror::Error)]
pub enum GatherError {
    #[error(transparent)]
    Registry(Box<crate::registry::Error>),
    #[error("the index {digest} in `{repo}` cannot be read: {message}")]
    Index {
        repo: String,
        digest: Digest,
        message: String,
    },
    #[error("the referrers cannot be read: {0}")]
    Referrers(Box<DiscoverError>),
}

impl From<DiscoverError> for GatherError {
    fn from(error: DiscoverError) -> Self {
        GatherError::Referrers(Box::new(error))
    }
}

impl From<crate::registry::Error> for GatherError {
    fn from(error: crate::registry::Error) -> Self {
        GatherError::Registry(Box::new(error))
    }
}

/// What every repository holds under every tag checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    pub tags: Vec<VerifyTag>,
    /// One map per repository, in `repos` order (the primary first): tag -> state.
    pub states: Vec<BTreeMap<String, TagState>>,
    /// The requests the referrer comparison sent.
    pub referrer_reads: ReferrerReads,
}

/// Gathers the state of the selected tags in `repos` (the primary first); with `referrers`
/// (input `referrers`: the artifact types of input `referrer-types`, all when empty), their
/// referrers too.
pub async fn gather(
    client: &Client,
    repos: &[Repository],
    selection: &Selection,
    referrers: Option<&[String]>,
) -> Result<Observation, GatherError> {
    let Some(primary) = repos.first() else {
        return Ok(Observation {
            tags: Vec::new(),
            states: Vec::new(),
            referrer_reads: ReferrerReads::default(),
        });
    };
    let names: BTreeSet<String> = match selection {
        Selection::Computed(computed) => computed.iter().map(|t| t.name.to_string()).collect(),
        Selection::Listed(names) => names.iter().cloned().collect(),
        Selection::All => image_tags(client.list_tags(primary, None).await?),
    };
    let (mut states, indexes) = tag_states(client, repos, &names).await?;
    let tags = match selection {
        Selection::Computed(computed) => tags::from_computed(computed),
        _ => tags::classify(
            &states[0]
                .iter()
                .map(|(n, s)| (n.clone(), s.digest.clone()))
                .collect(),
        ),
    };
    let children = descendants(client, primary, indexes).await?;
    check_children(client, repos, &children, &mut states).await?;
    let referrer_reads = match referrers {
        Some(types) => gather_referrers(client, repos, &children, &mut states, types).await?,
        None => ReferrerReads::default(),
    };
    Ok(Observation {
        tags,
        states,
        referrer_reads,
    })
}

/// The tags of a listing that name images: not the referrers tag schema's `sha256-<hex>`
/// indexes nor cosign's `sha256-<hex>.sig|.att|.sbom` tags, which are compared as referrers of
/// the image they name (a fallback index is per registry, so its digest may differ).
pub fn image_tags(listing: Vec<String>) -> BTreeSet<String> {
    listing
        .into_iter()
        .filter(|t| fallback_subject(t).is_none() && cosign_subject(t).is_none())
        .collect()
}

/// Every (repository, tag) by HEAD: each repository's tag states (children not yet checked),
/// and the indexes the primary's tags point at.
async fn tag_states(
    client: &Client,
    repos: &[Repository],
    names: &BTreeSet<String>,
) -> Result<(Vec<BTreeMap<String, TagState>>, BTreeSet<Digest>), GatherError> {
    let jobs: Vec<(usize, &String)> = (0..repos.len())
        .flat_map(|i| names.iter().map(move |n| (i, n)))
        .collect();
    let heads: Vec<Head> = stream::iter(jobs)
        .map(|(i, name)| async move {
            let image = repos[i].with(Reference::Tag(name.clone()));
            let info = client.head_manifest(&image).await?;
            let found = info.map(|m| (m.digest, is_index(&m.media_type)));
            Ok::<_, GatherError>((i, name.clone(), found))
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    let mut states: Vec<BTreeMap<String, TagState>> = vec![BTreeMap::new(); repos.len()];
    let mut indexes: BTreeSet<Digest> = BTreeSet::new();
    for (i, name, found) in heads {
        if let (0, Some((digest, true))) = (i, &found) {
            indexes.insert(digest.clone());
        }
        states[i].insert(
            name,
            TagState {
                digest: found.map(|(d, _)| d),
                children: BTreeMap::new(),
                referrers: Vec::new(),
            },
        );
    }
    Ok((states, indexes))
}

/// HEADs each child of the primary's indexes in every repository whose tag points at the same
/// index, and records which are there.
async fn check_children(
    client: &Client,
    repos: &[Repository],
    children: &BTreeMap<Digest, BTreeSet<Digest>>,
    states: &mut [BTreeMap<String, TagState>],
) -> Result<(), GatherError> {
    // Which children to HEAD where: each repository, for each tag on the primary's index.
    let mut checks: BTreeSet<(usize, Digest)> = BTreeSet::new();
    for (i, repo_states) in states.iter().enumerate() {
        for (name, state) in repo_states {
            let primary_digest = states[0].get(name).and_then(|s| s.digest.as_ref());
            if let (Some(d), Some(p)) = (&state.digest, primary_digest)
                && d == p
                && let Some(kids) = children.get(d)
            {
                checks.extend(kids.iter().map(|k| (i, k.clone())));
            }
        }
    }
    let present: BTreeMap<(usize, Digest), bool> = stream::iter(checks)
        .map(|(i, child)| async move {
            let image = repos[i].with(Reference::Digest(child.clone()));
            let there = client.head_manifest(&image).await?.is_some();
            Ok::<_, GatherError>(((i, child), there))
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    for (i, repo_states) in states.iter_mut().enumerate() {
        for state in repo_states.values_mut() {
            let Some(kids) = state.digest.as_ref().and_then(|d| children.get(d)) else {
                continue;
            };
            state.children = kids
                .iter()
                .filter_map(|k| present.get(&(i, k.clone())).map(|p| (k.clone(), *p)))
                .collect();
        }
    }
    Ok(())
}

/// Every manifest below each index in `roots` (nested indexes followed), reading each index
/// once from the primary by digest.
async fn descendants(
    client: &Client,
    primary: &Repository,
    roots: BTreeSet<Digest>,
) -> Result<BTreeMap<Digest, BTreeSet<Digest>>, GatherError> {
    let source = RepositoryManifests {
        client,
        repository: primary,
    };
    let only_indexes = |d: &Descriptor| is_index(&d.media_type);
    let start = roots.iter().cloned().collect();
    let mut walked = walk(&source, start, Vec::new(), only_indexes, CONCURRENCY).await;
    let failed = walked.nodes.iter().find(|(_, n)| n.is_err());
    if let Some(digest) = failed.map(|(d, _)| d.clone()) {
        return Err(match walked.nodes.remove(&digest) {
            Some(Err(GraphError::Read(e))) => e.into(),
            other => GatherError::Index {
                repo: primary.to_string(),
                digest,
                message: other
                    .and_then(Result::err)
                    .map_or(String::new(), |e| e.to_string()),
            },
        });
    }
    Ok(roots
        .into_iter()
        .map(|root| {
            let below = walked.below(&root);
            (root, below)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn referrer_tags_are_not_checked_as_images() {
        let hex = Digest::sha256(b"image").hex().to_string();
        let listing = vec![
            "v1.0.0".to_string(),
            format!("sha256-{hex}"),
            format!("sha256-{hex}.sig"),
            format!("sha256-{hex}.att"),
            "sha256-short".to_string(),
            "latest".to_string(),
        ];
        let kept: Vec<String> = image_tags(listing).into_iter().collect();
        assert_eq!(kept, ["latest", "sha256-short", "v1.0.0"]);
    }
}
