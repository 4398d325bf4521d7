//! Gathering the referrers verify compares: for each tag whose image a repository holds the same
//! as the primary, what that repository lists for the image and for each of its children
//! (the shared per-subject listing of `publish::referrers::listing`: one tag listing per
//! repository, then per subject at most one GET, of its fallback index, and HEADs for cosign's
//! legacy tags). A subject is read once per repository, however many tags point at it. The
//! referrers the primary lists are subjects in turn, level by level (at most
//! `oci::graph::MAX_DEPTH`): a signature of an attestation is compared as the attestation is.

use super::gather::{CONCURRENCY, GatherError};
use super::{Referrer, TagState};
use crate::oci::graph::MAX_DEPTH;
use crate::publish::referrers::listing::{SubjectListing, list_of_types, repository_tags};
use crate::registry::{Client, Digest, Repository};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use std::collections::{BTreeMap, BTreeSet};

/// The requests the referrer comparison sent, per registry (the reads verify adds for it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReferrerReads(pub BTreeMap<String, u64>);

/// Fills in each state's referrers where its tag points at the primary's image (the primary
/// included): the image's and each child's. `children`: every manifest below each index of
/// the primary. `artifact_types` (all when empty) selects which referrers count, as publish's
/// `referrer-types` does. Returns the requests it sent per registry.
pub async fn gather_referrers(
    client: &Client,
    repos: &[Repository],
    children: &BTreeMap<Digest, BTreeSet<Digest>>,
    states: &mut [BTreeMap<String, TagState>],
    artifact_types: &[String],
) -> Result<ReferrerReads, GatherError> {
    let wanted = subjects(children, states);
    let registries: BTreeSet<&str> = wanted
        .iter()
        .map(|(i, _)| repos[*i].registry.as_str())
        .collect();
    let before: Vec<(String, u64)> = registries
        .iter()
        .map(|r| (r.to_string(), client.requests(r)))
        .collect();
    let listed_repos: BTreeSet<usize> = wanted.iter().map(|(i, _)| *i).collect();
    let tags: BTreeMap<usize, BTreeSet<String>> = stream::iter(listed_repos)
        .map(
            |i| async move { Ok::<_, GatherError>((i, repository_tags(client, &repos[i]).await?)) },
        )
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    let tags = &tags;
    let mut listed: BTreeMap<(usize, Digest), SubjectListing> = BTreeMap::new();
    let mut level = wanted;
    for depth in 0..=MAX_DEPTH {
        // The type filter selects what refers to the image; what refers to those all counts.
        let types = if depth == 0 { artifact_types } else { &[] };
        let read: Vec<((usize, Digest), SubjectListing)> = stream::iter(level)
            .map(|(i, subject)| async move {
                let none = BTreeSet::new();
                let repo_tags = tags.get(&i).unwrap_or(&none);
                let listing = list_of_types(client, &repos[i], repo_tags, &subject, types).await?;
                Ok::<_, GatherError>(((i, subject), listing))
            })
            .buffer_unordered(CONCURRENCY)
            .try_collect()
            .await?;
        level = deeper(&read, &listed);
        listed.extend(read);
        if level.is_empty() {
            break;
        }
    }
    for (i, repo_states) in states.iter_mut().enumerate() {
        for state in repo_states.values_mut() {
            let Some(root) = state.digest.clone() else {
                continue;
            };
            for subject in tree(&subjects_of(&root, children), &listed) {
                if let Some(listing) = listed.get(&(i, subject.clone())) {
                    add(&mut state.referrers, &subject, listing);
                }
            }
        }
    }
    let reads = before
        .into_iter()
        .map(|(registry, n)| {
            let sent = client.requests(&registry).saturating_sub(n);
            (registry, sent)
        })
        .collect();
    Ok(ReferrerReads(reads))
}

/// The digests `listing` names as referrers: its entries, then its legacy tags' manifests.
fn named(listing: &SubjectListing) -> impl Iterator<Item = &Digest> {
    let entries = listing.entries.iter().map(|e| &e.digest);
    entries.chain(listing.tags.iter().map(|(_, d)| d))
}

/// The next level to list: in each repository of `read`, the referrers the primary (0) lists
/// for the same subject, not listed yet (a signature of an attestation is compared as the
/// attestation is).
fn deeper(
    read: &[((usize, Digest), SubjectListing)],
    listed: &BTreeMap<(usize, Digest), SubjectListing>,
) -> BTreeSet<(usize, Digest)> {
    let primary: BTreeMap<&Digest, &SubjectListing> = read
        .iter()
        .filter(|((i, _), _)| *i == 0)
        .map(|((_, s), l)| (s, l))
        .collect();
    read.iter()
        .filter_map(|((i, subject), _)| Some((*i, primary.get(subject)?)))
        .flat_map(|(i, listing)| named(listing).map(move |d| (i, d.clone())))
        .filter(|key| !listed.contains_key(key) && !read.iter().any(|(k, _)| k == key))
        .collect()
}

/// `subjects` and, level by level, the referrers the primary lists for them: every subject
/// whose referrers are compared for one image.
fn tree(subjects: &[Digest], listed: &BTreeMap<(usize, Digest), SubjectListing>) -> Vec<Digest> {
    let mut all: Vec<Digest> = subjects.to_vec();
    let mut at = 0;
    while at < all.len() {
        if let Some(listing) = listed.get(&(0, all[at].clone())) {
            let new: Vec<Digest> = named(listing)
                .filter(|d| !all.contains(d))
                .cloned()
                .collect();
            all.extend(new);
        }
        at += 1;
    }
    all
}

/// The image and every manifest below it.
fn subjects_of(root: &Digest, children: &BTreeMap<Digest, BTreeSet<Digest>>) -> Vec<Digest> {
    let below = children.get(root).into_iter().flatten().cloned();
    std::iter::once(root.clone()).chain(below).collect()
}

/// Each (repository, subject) to list: the primary's images and, in each other repository,
/// those of its tags that point at the primary's image for the same tag.
fn subjects(
    children: &BTreeMap<Digest, BTreeSet<Digest>>,
    states: &[BTreeMap<String, TagState>],
) -> BTreeSet<(usize, Digest)> {
    let mut wanted = BTreeSet::new();
    for (i, repo_states) in states.iter().enumerate() {
        for (name, state) in repo_states {
            let primary = states[0].get(name).and_then(|s| s.digest.as_ref());
            if let (Some(d), Some(p)) = (&state.digest, primary)
                && d == p
            {
                wanted.extend(subjects_of(d, children).into_iter().map(|s| (i, s)));
            }
        }
    }
    wanted
}

/// Adds what `listing` shows for `subject` to `referrers`, each (subject, digest) once: the
/// fallback index's entries (with their `artifactType`), then the legacy tags.
fn add(referrers: &mut Vec<Referrer>, subject: &Digest, listing: &SubjectListing) {
    let entries = listing.entries.iter().map(|e| Referrer {
        subject: subject.clone(),
        digest: e.digest.clone(),
        artifact_type: e.json["artifactType"].as_str().map(str::to_owned),
        tag: None,
    });
    let tagged = listing.tags.iter().map(|(tag, digest)| Referrer {
        subject: subject.clone(),
        digest: digest.clone(),
        artifact_type: None,
        tag: Some(tag.clone()),
    });
    for referrer in entries.chain(tagged) {
        match referrers.iter_mut().find(|r| r.same(&referrer)) {
            Some(known) => {
                known.tag = known.tag.take().or(referrer.tag);
                known.artifact_type = known.artifact_type.take().or(referrer.artifact_type);
            }
            None => referrers.push(referrer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::referrer::Entry;

    fn digest(n: u8) -> Digest {
        Digest::sha256(&[n])
    }

    #[test]
    fn a_referrer_listed_twice_for_a_subject_is_one_with_both_names() {
        let entry = Entry {
            digest: digest(5),
            json: serde_json::json!({"digest": digest(5).to_string(), "artifactType": "application/vnd.dev.sigstore.bundle.v0.3+json"}),
        };
        let listing = SubjectListing {
            entries: vec![entry],
            tags: vec![
                ("sha256-x.sig".into(), digest(5)),
                ("sha256-x.att".into(), digest(6)),
            ],
            ..SubjectListing::default()
        };
        let mut referrers = Vec::new();
        add(&mut referrers, &digest(1), &listing);
        add(&mut referrers, &digest(2), &listing);
        assert_eq!(referrers.len(), 4, "per subject: {referrers:?}");
        assert_eq!(referrers[0].subject, digest(1));
        assert_eq!(
            referrers[0].artifact_type.as_deref(),
            Some("application/vnd.dev.sigstore.bundle.v0.3+json")
        );
        assert_eq!(referrers[0].tag.as_deref(), Some("sha256-x.sig"));
        assert_eq!(referrers[1].digest, digest(6));
        assert_eq!(referrers[1].artifact_type, None);
    }

    #[test]
    fn subjects_are_the_image_and_every_child_where_the_tag_matches_the_primary() {
        let children = BTreeMap::from([(digest(1), BTreeSet::from([digest(10), digest(11)]))]);
        let state = |d: u8| TagState {
            digest: Some(digest(d)),
            ..TagState::default()
        };
        let states = vec![
            BTreeMap::from([("a".to_string(), state(1)), ("b".to_string(), state(3))]),
            BTreeMap::from([("a".to_string(), state(1)), ("b".to_string(), state(4))]),
        ];
        let got = subjects(&children, &states);
        let want: BTreeSet<(usize, Digest)> = [
            (0, digest(1)),
            (0, digest(10)),
            (0, digest(11)),
            (0, digest(3)),
            (1, digest(1)),
            (1, digest(10)),
            (1, digest(11)),
        ]
        .into_iter()
        .collect();
        assert_eq!(got, want);
    }
}
