//! One check of every registry: gather the selected tags' states, then assess each tag
//! (pure) into its report.

use super::gather::gather;
use super::referrers::ReferrerReads;
use super::tags::Selection;
use super::{TagReport, TagState, VerifyError, assess};
use crate::registry::{Client, Repository};
use std::collections::BTreeMap;

/// One check's result.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checked {
    /// Every selected tag's report, in order.
    pub reports: Vec<TagReport>,
    /// The requests the referrer comparison sent, per registry.
    pub referrer_reads: ReferrerReads,
}

/// The report of every selected tag across `repos` (the primary first); with `referrers` (the
/// artifact types to compare, all when empty) their referrers are compared too.
pub async fn check(
    client: &Client,
    repos: &[Repository],
    selection: &Selection,
    referrers: Option<&[String]>,
) -> Result<Checked, VerifyError> {
    let observation = gather(client, repos, selection, referrers).await?;
    let referrer_reads = observation.referrer_reads.clone();
    let Some((primary_states, other_states)) = observation.states.split_first() else {
        return Ok(Checked::default());
    };
    let reports = observation
        .tags
        .into_iter()
        .map(|tag| {
            let state = |states: &BTreeMap<String, TagState>| {
                states.get(&tag.name).cloned().unwrap_or_default()
            };
            let primary = state(primary_states);
            let others: Vec<(Repository, TagState)> = repos
                .iter()
                .skip(1)
                .zip(other_states)
                .map(|(r, s)| (r.clone(), state(s)))
                .collect();
            assess(tag, (&repos[0], &primary), &others)
        })
        .collect();
    Ok(Checked {
        reports,
        referrer_reads,
    })
}
