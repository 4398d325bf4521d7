//! What one registry lists as the referrers of one subject: the entries of its fallback index
//! (`sha256-<hex>`) and cosign's legacy tags. Discovery (publish) and verify share it, so both
//! read a subject the same way and with the same requests.

use super::DiscoverError;
use crate::oci::referrer::{self, Entry, cosign_tags, fallback_tag};
use crate::registry::{Client, Digest, Reference, Repository};
use std::collections::BTreeSet;

/// The referrers `repo` lists for one subject.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubjectListing {
    /// The entries of the subject's fallback index, in its order (empty: no index).
    pub entries: Vec<Entry>,
    /// cosign's legacy tags of the subject that exist, each with the manifest it points at.
    pub tags: Vec<(String, Digest)>,
}

/// The tags of `repo`, read once per run and passed to [`list`] for every subject.
pub async fn repository_tags(
    client: &Client,
    repo: &Repository,
) -> Result<BTreeSet<String>, DiscoverError> {
    Ok(client.list_tags(repo, None).await?.into_iter().collect())
}

/// What `repo` lists for `subject`: one GET of its fallback index and one HEAD per legacy tag,
/// only for the tags `tags` (the repository's listing) shows.
pub async fn list(
    client: &Client,
    repo: &Repository,
    tags: &BTreeSet<String>,
    subject: &Digest,
) -> Result<SubjectListing, DiscoverError> {
    let mut listing = SubjectListing::default();
    let tag = fallback_tag(subject);
    if tags.contains(&tag) {
        let index = client
            .get_manifest_raw(&repo.with(Reference::Tag(tag.clone())))
            .await?;
        listing.entries =
            referrer::entries(&index.bytes).map_err(|error| DiscoverError::Index {
                tag: format!("{repo}:{tag}"),
                error,
            })?;
    }
    for tag in cosign_tags(subject)
        .into_iter()
        .filter(|t| tags.contains(t))
    {
        if let Some(info) = client
            .head_manifest(&repo.with(Reference::Tag(tag.clone())))
            .await?
        {
            listing.tags.push((tag, info.digest));
        }
    }
    Ok(listing)
}
