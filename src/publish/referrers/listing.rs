//! What one registry lists as the referrers of one subject: through the OCI 1.1 referrers API
//! where the registry has it (learnt from the first listing, remembered for the run), else the
//! entries of its fallback index (`sha256-<hex>`); cosign's legacy tags in both cases. Discovery
//! (publish) and verify share it, so both read a subject the same way and with the same requests.

use super::DiscoverError;
use crate::oci::referrer::{self, Entry, cosign_tags, fallback_tag};
use crate::registry::{Client, Digest, Reference, Repository, of_types};
use std::collections::BTreeSet;

/// Where a subject's referrer entries came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ListedBy {
    /// The referrers tag schema's index (empty entries: no index).
    #[default]
    FallbackIndex,
    /// The registry's referrers API.
    Api,
}

/// The referrers `repo` lists for one subject.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubjectListing {
    /// The referrers listed for the subject, as listed (descriptors with their `artifactType`
    /// and annotations): the API's answer in its order, or the fallback index's entries in its
    /// order (empty: none).
    pub entries: Vec<Entry>,
    /// cosign's legacy tags of the subject that exist, each with the manifest it points at.
    pub tags: Vec<(String, Digest)>,
    /// Where `entries` came from.
    pub by: ListedBy,
}

/// The tags of `repo`, read once per run and passed to [`list`] for every subject.
pub async fn repository_tags(
    client: &Client,
    repo: &Repository,
) -> Result<BTreeSet<String>, DiscoverError> {
    Ok(client.list_tags(repo, None).await?.into_iter().collect())
}

/// What `repo` lists for `subject`, of every artifact type: see [`list_of_types`].
pub async fn list(
    client: &Client,
    repo: &Repository,
    tags: &BTreeSet<String>,
    subject: &Digest,
) -> Result<SubjectListing, DiscoverError> {
    list_of_types(client, repo, tags, subject, &[]).await
}

/// What `repo` lists for `subject`, its entries reduced to `artifact_types` (all when empty):
/// the referrers API's pages where the registry has it (the filter asked of the registry),
/// else one GET of the fallback index if `tags` (the repository's listing) shows it; then one
/// HEAD per legacy tag that `tags` shows. Legacy tags carry no artifact type: they are listed
/// whatever the filter.
pub async fn list_of_types(
    client: &Client,
    repo: &Repository,
    tags: &BTreeSet<String>,
    subject: &Digest,
    artifact_types: &[String],
) -> Result<SubjectListing, DiscoverError> {
    let mut listing = SubjectListing::default();
    let tag = fallback_tag(subject);
    if let Some(entries) = client.list_referrers(repo, subject, artifact_types).await? {
        listing.entries = entries;
        listing.by = ListedBy::Api;
    } else if tags.contains(&tag) {
        let index = client
            .get_manifest_raw(&repo.with(Reference::Tag(tag.clone())))
            .await?;
        let entries = referrer::entries(&index.bytes).map_err(|error| DiscoverError::Index {
            tag: format!("{repo}:{tag}"),
            error,
        })?;
        listing.entries = of_types(entries, artifact_types);
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
