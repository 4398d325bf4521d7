//! `command: cleanup`: registry state ([`Inventory`], gathered read-only by a backend) + the
//! `retention` [`Policy`] + closed pull requests + `now` -> [`plan_cleanup`] (pure) ->
//! [`CleanupPlan`] -> execution (the only writes) -> report.
//!
//! # The `retention` input
//!
//! One rule per line: `keep` or `delete`, then selectors and conditions separated by spaces.
//! Every selector of a line must match. **A `keep` line beats every `delete` line**, whatever
//! their order: a tag a `keep` line selects is protected, and no rule can remove it. A tag no
//! line selects is kept. Among `delete` lines, the first that matches is reported.
//!
//! | word                  | selects                                                                 |
//! |-----------------------|-------------------------------------------------------------------------|
//! | `tag=GLOB[,GLOB...]`  | tags matching a glob (`*` any run, `?` one character)                   |
//! | `semver=release`      | full versions without pre-release: `v1.2.3`, `1.2.3`                    |
//! | `semver=prerelease`   | full versions with one: `v1.2.3-rc.1`  (`semver=any`: both)             |
//! | `pr=closed`           | `pr-N` / `pr-N-...` tags whose pull request N is closed                 |
//! | `untagged`            | versions without tags (`delete` only; `keep` is the default)            |
//! | `older-than=30d`      | condition: created more than 30 days before now (`s m h d w`)           |
//! | `last=N`              | `keep` only: the N newest images (with a tag the selectors take; referrer tags do not count) |
//!
//! The seed strategies:
//!
//! | line                                       | effect                                           |
//! |--------------------------------------------|--------------------------------------------------|
//! | `keep tag=latest,main,develop`             | protected tags                                   |
//! | `keep semver=release`                      | protect every release version                   |
//! | `keep last=10`                             | the 10 newest versions stay                      |
//! | `delete tag=main-*,develop-* older-than=30d` | branch tags older than 30 days                 |
//! | `delete tag=release-* older-than=90d`      | `release/*` branches (tagged `release-1.2`)      |
//! | `delete semver=prerelease older-than=90d`  | pre-releases older than 90 days                  |
//! | `delete pr=closed`                         | `pr-N` once pull request N is closed             |
//! | `delete untagged older-than=14d`           | untagged versions older than 14 days             |
//!
//! # Safety
//!
//! Whatever the rules say, nothing a kept version needs is deleted: its children (platform
//! manifests, attestation manifests), manifests whose `subject` is kept,
//! `sha256-<hex>.sig/.att/.sbom` tags of a kept digest, and its fallback index (the referrers
//! tag schema's `sha256-<hex>` tag, on registries without the referrers API) with every referrer
//! it lists. These referrer tags follow their subject: no rule selects them (`delete tag=*` and
//! `delete tag=sha256-*` do not take them while their subject is here), and `last=N` does not
//! count them. Signatures, attestations and the fallback index of a deleted version go with it,
//! and so do the referrers it lists unless something kept needs them. When the listing is incomplete or a manifest could not be read, no untagged
//! version is deleted. Deletions run referrers and indexes first, children last.
//!
//! # Ages
//!
//! `created_at` is the version's creation time: on GHCR the package version's `created_at`; on
//! other OCI registries the image config's `created` (for an index, the newest among its platform
//! images), because tags carry no time and distribution keeps none. A version whose age is unknown
//! never matches `older-than`.
//!
//! # Backends
//!
//! [`backend::Backend`] reads and deletes through the API that serves the registry
//! ([`backend::Apis`], the `registry-apis` input): [`github`] (GHCR, the GitHub Packages API),
//! [`hub`] (Docker Hub's API), [`oci`] (the distribution API of any other registry).

pub mod backend;
pub mod budget;
pub mod cache;
pub mod error;
pub mod github;
pub mod hub;
pub mod oci;
mod order;
pub mod plan;
#[cfg(test)]
mod plan_tests;
pub mod policy;
#[cfg(test)]
mod prop_tests;
pub mod run;

pub use plan::{Action, Capabilities, CleanupPlan, Decision, RuleRef, plan_cleanup};
pub use policy::{Policy, PolicyError};

pub use crate::oci::referrer::{cosign_subject, fallback_subject};
use crate::registry::Digest;

/// The subject a referrer tag follows: cosign's `sha256-<hex>.sig/.att/.sbom`, or the referrers
/// tag schema's `sha256-<hex>` (the fallback index listing the subject's referrers). Such a tag
/// is part of its subject, never a version of its own: it goes and stays with the subject.
pub fn referrer_subject(tag: &str) -> Option<Digest> {
    cosign_subject(tag).or_else(|| fallback_subject(tag))
}

/// One version of an image: a manifest or index with the tags that point at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub digest: Digest,
    /// Every tag pointing at this digest (empty: untagged).
    pub tags: Vec<String>,
    pub created_at: Option<jiff::Timestamp>,
    pub media_type: String,
    /// Manifests an index lists (platform images, attestation manifests).
    pub children: Vec<Digest>,
    /// The manifest this one refers to (signatures, SBOMs, attestations).
    pub subject: Option<Digest>,
    /// Why the manifest could not be read: its children and subject are unknown.
    pub unreadable: Option<String>,
}

impl Version {
    /// A readable version with nothing but a digest and tags (tests, backends fill the rest).
    pub fn new(digest: Digest, tags: &[&str]) -> Version {
        Version {
            digest,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            created_at: None,
            media_type: String::new(),
            children: Vec::new(),
            subject: None,
            unreadable: None,
        }
    }
}

/// Everything known about one image's versions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Inventory {
    /// The image, as the user named it (`registry/repository`).
    pub image: String,
    pub versions: Vec<Version>,
    /// Why the listing may miss versions (then nothing untagged is deleted).
    pub incomplete: Option<String>,
}
