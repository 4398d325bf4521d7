//! The publish plan: image content + computed tags + what each target holds -> what to do where.
//!
//! Pure: the executor carries a `Plan` out, `dry-run` prints it (`Display`), tests assert on it.
//!
//! | what                         | decision                                                      |
//! |------------------------------|---------------------------------------------------------------|
//! | blob the target has          | present (nothing sent)                                        |
//! | blob on the same registry    | mount from the repository that has it (source or a target)    |
//! | other blobs                  | upload, once per repository                                   |
//! | release tag, absent          | push                                                          |
//! | release tag, same digest     | unchanged                                                     |
//! | release tag, other digest    | refused (immutable) unless overwriting is allowed             |
//! | rolling tag (`v1.2` `v1` `latest`, any prefix/suffix form, a raw `latest`) | push unless a newer version in its scope is in the repository (see `rolling`); unchanged when already on the image |
//! | floating tag (`main-abc1234`), absent or elsewhere | push                                   |
//! | floating tag already on the image | unchanged                                               |

pub use super::reason::{Hold, Refusal, TargetRefusal};
use super::rolling::{self, VersionForms};
use crate::meta::{ComputedTag, TagKind};
use crate::registry::{Digest, Repository};
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub use crate::oci::Descriptor;

/// What is being published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    pub root: Descriptor,
    /// Child manifests of an index (nested ones too), children before parents.
    pub manifests: Vec<Descriptor>,
    /// Every config and layer, each once.
    pub blobs: Vec<Descriptor>,
    pub platforms: Vec<String>,
    /// The source repository when the source is a registry: targets on that registry mount from it.
    pub source_repo: Option<Repository>,
}

/// What one target repository holds, as observed before planning.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    pub root_present: bool,
    pub manifests_present: BTreeSet<Digest>,
    pub blobs_present: BTreeSet<Digest>,
    /// The repository's tags; `None` when they could not be listed.
    pub tags: Option<BTreeSet<String>>,
    /// Where existing tags that matter point: release tags of this run, and on a target that
    /// holds the image already, its other tags that exist there.
    pub tag_digests: BTreeMap<String, Digest>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Allow a release tag to move to another digest (input `overwrite-releases`).
    pub overwrite_releases: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobStep {
    Present,
    Mount { from: Repository },
    Upload,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestStep {
    Present,
    Put,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagDecision {
    Push,
    /// Push over a release tag that points at this other digest (`overwrite-releases`).
    Replace(Digest),
    /// Push a floating tag that points at this other digest now (a promotion: `stable` moved
    /// onto an image the repository holds).
    Move(Digest),
    Unchanged,
    /// Not published: a release tag would change (see [`Refusals`] for what else stops).
    Refused(Refusal),
    /// Not moved, by design: a newer version holds this rolling tag.
    Held(Hold),
}

/// What a refused tag stops.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Refusals {
    /// The whole run, before its first write (publish: all or nothing).
    #[default]
    StopRun,
    /// That tag alone; everything else is written (verify's sync repairs what it may).
    PerTag,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagPlan {
    pub name: String,
    pub kind: TagKind,
    pub decision: TagDecision,
    /// The version a rolling tag follows: a pushed one is read back and settled on the newest.
    pub version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetPlan {
    pub repo: Repository,
    pub blobs: Vec<(Descriptor, BlobStep)>,
    pub manifests: Vec<(Descriptor, ManifestStep)>,
    /// Release tags first, then floating, rolling last (the order they are written in).
    pub tags: Vec<TagPlan>,
    /// Put the root by digest (no tag to carry it, and the repository lacks it).
    pub root_by_digest: bool,
    /// The repository holds the image already (its root, so all of it): only tags are written.
    pub image_present: bool,
    /// The image's referrers to copy here, written before any tag (see `referrers`).
    pub referrers: super::referrers::ReferrerPlan,
}

impl TargetPlan {
    pub fn bytes_to_upload(&self) -> u64 {
        self.blobs
            .iter()
            .filter(|(_, s)| *s == BlobStep::Upload)
            .map(|(d, _)| d.size)
            .sum()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub root: Descriptor,
    pub platforms: Vec<String>,
    pub targets: Vec<TargetPlan>,
    /// The forms this run's version tags take, for reading versions back after writing.
    pub forms: VersionForms,
    /// What a refused tag stops.
    pub refusals: Refusals,
}

impl Plan {
    /// How many targets read blob `digest` from the source: each that uploads it, and each that
    /// mounts it (a refused mount falls back to an upload).
    pub fn readers_of(&self, digest: &Digest) -> usize {
        self.targets
            .iter()
            .filter(|t| {
                t.blobs
                    .iter()
                    .any(|(d, step)| d.digest == *digest && *step != BlobStep::Present)
            })
            .count()
    }

    /// How many targets read referrer blob `digest` from the source.
    pub fn referrer_readers_of(&self, digest: &Digest) -> usize {
        self.targets
            .iter()
            .filter(|t| {
                t.referrers
                    .blobs
                    .iter()
                    .any(|(d, step)| d.digest == *digest && *step != BlobStep::Present)
            })
            .count()
    }

    /// The refused tags, each with its target.
    pub fn refusals(&self) -> Vec<TargetRefusal> {
        self.targets
            .iter()
            .flat_map(|t| {
                t.tags.iter().filter_map(move |tag| match &tag.decision {
                    TagDecision::Refused(refusal) => Some(TargetRefusal {
                        repo: t.repo.clone(),
                        refusal: refusal.clone(),
                    }),
                    _ => None,
                })
            })
            .collect()
    }
}

/// Decides every step for every target. `targets` are in `images` order.
pub fn plan(
    content: &Content,
    targets: &[(Repository, Observed)],
    tags: &[ComputedTag],
    options: &Options,
) -> Plan {
    // Which repository on each registry will hold each blob when the mounts run.
    let mut holder: HashMap<(String, Digest), Repository> = HashMap::new();
    if let Some(source) = &content.source_repo {
        for blob in &content.blobs {
            holder.insert(
                (source.registry.clone(), blob.digest.clone()),
                source.clone(),
            );
        }
    }
    let forms = VersionForms::of(tags);
    let mut plans = Vec::with_capacity(targets.len());
    for (repo, observed) in targets {
        let mut blobs = Vec::with_capacity(content.blobs.len());
        for blob in &content.blobs {
            let key = (repo.registry.clone(), blob.digest.clone());
            let step = if observed.root_present || observed.blobs_present.contains(&blob.digest) {
                holder.entry(key).or_insert_with(|| repo.clone());
                BlobStep::Present
            } else if let Some(from) = holder.get(&key).filter(|from| *from != repo) {
                BlobStep::Mount { from: from.clone() }
            } else {
                holder.insert(key, repo.clone());
                BlobStep::Upload
            };
            blobs.push((blob.clone(), step));
        }
        let manifests = content
            .manifests
            .iter()
            .map(|m| {
                let present =
                    observed.root_present || observed.manifests_present.contains(&m.digest);
                (
                    m.clone(),
                    if present {
                        ManifestStep::Present
                    } else {
                        ManifestStep::Put
                    },
                )
            })
            .collect();
        let mut tag_plans: Vec<TagPlan> = tags
            .iter()
            .map(|t| decide_tag(t, &content.root.digest, observed, options, &forms))
            .collect();
        tag_plans.sort_by_key(|t| match t.kind {
            TagKind::Release => 0,
            TagKind::Floating => 1,
            TagKind::Rolling => 2,
        });
        plans.push(TargetPlan {
            repo: repo.clone(),
            blobs,
            manifests,
            root_by_digest: tags.is_empty() && !observed.root_present,
            image_present: observed.root_present,
            tags: tag_plans,
            referrers: Default::default(),
        });
    }
    Plan {
        root: content.root.clone(),
        platforms: content.platforms.clone(),
        targets: plans,
        forms,
        refusals: Refusals::StopRun,
    }
}

fn decide_tag(
    tag: &ComputedTag,
    root: &Digest,
    observed: &Observed,
    options: &Options,
    forms: &VersionForms,
) -> TagPlan {
    let name = tag.name.to_string();
    let already_there = observed.tag_digests.get(&name) == Some(root);
    let decision = match tag.kind {
        TagKind::Floating if already_there => TagDecision::Unchanged,
        TagKind::Floating => match observed.tag_digests.get(&name) {
            Some(existing) => TagDecision::Move(existing.clone()),
            None => TagDecision::Push,
        },
        TagKind::Release => match observed.tag_digests.get(&name) {
            None => TagDecision::Push,
            Some(existing) if existing == root => TagDecision::Unchanged,
            Some(existing) if options.overwrite_releases => TagDecision::Replace(existing.clone()),
            Some(existing) => TagDecision::Refused(Refusal {
                tag: name.clone(),
                existing: existing.clone(),
            }),
        },
        TagKind::Rolling => {
            match rolling::decide(&name, tag.version.as_deref(), observed.tags.as_ref(), forms) {
                TagDecision::Push if already_there => TagDecision::Unchanged,
                decision => decision,
            }
        }
    };
    TagPlan {
        name,
        kind: tag.kind,
        decision,
        version: (tag.kind == TagKind::Rolling)
            .then(|| tag.version.clone())
            .flatten(),
    }
}

#[path = "plan_text.rs"]
mod text;

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
