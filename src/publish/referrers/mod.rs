//! The image's referrers (signatures, attestations, SBOMs) travel with it: [`discover`] finds
//! them in the source (a registry's OCI 1.1 referrers API where it has it, else the referrers
//! tag schema's `sha256-<hex>` index, of the image and of each child, and cosign's legacy
//! `.sig`/`.att`/`.sbom` tags; what a layout's `index.json` lists, see `layout`; recursively),
//! [`observe`] looks at
//! what each target holds of them, [`plan`] decides (pure: the dry run prints it) and [`copy`]
//! writes them: blobs, manifests byte-for-byte, legacy tags, then each fallback index merged
//! (never overwritten). The executor runs [`copy`] after the image's manifests and before any
//! tag of the image moves.

mod copy;
mod discover;
mod layout;
pub mod listing;
mod observe;
mod plan;

pub(super) use copy::copy_all;
pub use copy::{ReferrerContent, ReferrerReport, TypeCounts, copy};
pub use discover::{DiscoverError, discover};
pub use observe::{Held, observe};
pub use plan::{IndexUpdate, ReferrerPlan, ReferrerStep, plan};

use super::plan::Descriptor;
use crate::oci::referrer::Referrers;
use std::collections::BTreeSet;

/// Requests in flight per target while observing or copying referrers.
const CONCURRENCY: usize = 8;

/// Every manifest of every referrer, each once, children before parents, referrers in the
/// order found.
fn all_manifests(found: &Referrers) -> impl Iterator<Item = Descriptor> + '_ {
    let mut seen = BTreeSet::new();
    found
        .order
        .iter()
        .filter_map(|r| found.graphs.get(r))
        .flat_map(|g| g.manifests.iter().map(|n| n.manifest.descriptor()))
        .filter(move |d| seen.insert(d.digest.clone()))
}

#[cfg(test)]
mod tests;
