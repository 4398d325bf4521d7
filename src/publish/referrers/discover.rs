//! Finding the referrers of an image in its source.

use crate::oci::graph::MAX_DEPTH;
use crate::oci::referrer::{self, Listed, Referrers, cosign_tags, fallback_tag};
use crate::oci::{GraphError, ImageGraph};
use crate::registry::{Client, Digest, Error, Reference};
use crate::source::{self, Source};
use std::collections::BTreeSet;

/// Why the source's referrers could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error(transparent)]
    Registry(#[from] Error),
    #[error(transparent)]
    Source(#[from] source::Error),
    #[error("a referrer: {0}")]
    Graph(#[from] GraphError<source::Error>),
    #[error("{tag}: {error}")]
    Index {
        tag: String,
        error: referrer::IndexError,
    },
}

/// The referrers of `subjects` (the image's root and child manifests) in a registry source,
/// and theirs in turn, at most [`MAX_DEPTH`] levels down. Other sources have none here (their
/// referrers are not read yet). One tag listing, then per subject one GET of its fallback index
/// and one HEAD per legacy tag, only for the tags the listing shows.
pub async fn discover(
    client: &Client,
    source: &Source,
    subjects: Vec<Digest>,
) -> std::result::Result<Referrers, DiscoverError> {
    let Source::Registry(remote) = source else {
        return Ok(Referrers::default());
    };
    let repo = remote.image().repo();
    let tags: BTreeSet<String> = client.list_tags(&repo, None).await?.into_iter().collect();
    let mut found = Referrers::default();
    let mut seen: BTreeSet<Digest> = subjects.iter().cloned().collect();
    let mut level = subjects;
    for _ in 0..=MAX_DEPTH {
        let mut next = Vec::new();
        for subject in &level {
            let tag = fallback_tag(subject);
            if tags.contains(&tag) {
                let index = client
                    .get_manifest_raw(&repo.with(Reference::Tag(tag.clone())))
                    .await?;
                let entries =
                    referrer::entries(&index.bytes).map_err(|error| DiscoverError::Index {
                        tag: format!("{repo}:{tag}"),
                        error,
                    })?;
                for entry in entries {
                    if seen.insert(entry.digest.clone()) {
                        next.push(entry.digest.clone());
                    }
                    found.listed.push(Listed {
                        subject: subject.clone(),
                        entry,
                    });
                }
            }
            for tag in cosign_tags(subject)
                .into_iter()
                .filter(|t| tags.contains(t))
            {
                let image = repo.with(Reference::Tag(tag.clone()));
                if let Some(info) = client.head_manifest(&image).await? {
                    if seen.insert(info.digest.clone()) {
                        next.push(info.digest.clone());
                    }
                    found.tags.push((tag, info.digest));
                }
            }
        }
        if next.is_empty() {
            break;
        }
        for digest in &next {
            let manifest = source.manifest(digest).await?;
            let graph = ImageGraph::read(source, manifest).await?;
            found.graphs.insert(digest.clone(), graph);
            found.order.push(digest.clone());
        }
        level = next;
    }
    Ok(found)
}
