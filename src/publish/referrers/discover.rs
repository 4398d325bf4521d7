//! Finding the referrers of an image in its source.

use super::{layout, listing};
use crate::oci::graph::MAX_DEPTH;
use crate::oci::referrer::{self, Referrers};
use crate::oci::{GraphError, ImageGraph};
use crate::registry::{Client, Digest, Error};
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

/// The referrers of `subjects` (the image's root and child manifests) in the source, and theirs
/// in turn, at most [`MAX_DEPTH`] levels down. A layout or archive: what its `index.json` lists
/// (see [`layout`]). A registry: one tag listing, then per subject what
/// [`listing::list_of_types`] reads: the referrers API where the registry has it, else its
/// fallback index, and its legacy tags. `artifact_types` (all when empty) selects the referrers
/// of the image itself; a selected referrer's own referrers (the signature of an attestation)
/// all travel with it, as they are what makes it verifiable.
pub async fn discover(
    client: &Client,
    source: &Source,
    subjects: Vec<Digest>,
    artifact_types: &[String],
) -> std::result::Result<Referrers, DiscoverError> {
    let remote = match source {
        Source::Registry(remote) => remote,
        Source::Layout(local) | Source::Archive(local) => {
            return layout::discover(local, subjects, artifact_types).await;
        }
    };
    let repo = remote.image().repo();
    let tags = listing::repository_tags(client, &repo).await?;
    let mut found = Referrers::default();
    let mut seen: BTreeSet<Digest> = subjects.iter().cloned().collect();
    let mut level = subjects;
    for depth in 0..=MAX_DEPTH {
        let mut next = Vec::new();
        let types = if depth == 0 { artifact_types } else { &[] };
        for subject in &level {
            let listed = listing::list_of_types(client, &repo, &tags, subject, types).await?;
            next.extend(found.add_listed(&mut seen, subject, listed.entries, listed.tags));
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
