//! The OCI 1.1 referrers API (distribution-spec v1.1, "Listing Referrers"):
//! `GET /v2/<name>/referrers/<digest>` answers an image index of the subject's referrers, one
//! descriptor each (`artifactType` and annotations pulled up), paginated by `Link`. A registry
//! without the API answers 404, the spec's signal for clients to use the referrers tag schema
//! instead; the client asks once per registry and remembers the answer for the run.

use reqwest::Url;
use reqwest::header::CONTENT_TYPE;

use super::auth::{Action, Scopes};
use super::client::{Client, RegistryState};
use super::error::{Error, Result, display_url};
use super::reference::Repository;
use super::tags::{next_page, page_request};
use crate::oci::Digest;
use crate::oci::media::OCI_INDEX;
use crate::oci::referrer::{self, Entry};

/// Pages followed at most (a registry looping its `Link` must not hang a run).
const MAX_PAGES: usize = 1_000;

/// A listing page's largest body.
const MAX_PAGE_BYTES: usize = 16 * 1024 * 1024;

/// The header an API registry sets when it applied the `artifactType` filter itself.
const FILTERS_APPLIED: &str = "oci-filters-applied";

/// Whether the registry has the referrers API, as far as this run knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferrersApi {
    Unknown,
    Present,
    Absent,
}

impl Client {
    /// The referrers of `subject` in `repo` through the referrers API, in the registry's order,
    /// every page followed; `None` when the registry has no API (its 404, or a first answer that
    /// is not an image index, remembered for the registry: later calls send nothing). With
    /// `artifact_types`, only referrers of those types: one type is asked of the registry
    /// (`?artifactType=`), and the listing is filtered here too unless the registry says it
    /// applied the filter (`OCI-Filters-Applied: artifactType`).
    pub async fn list_referrers(
        &self,
        repo: &Repository,
        subject: &Digest,
        artifact_types: &[String],
    ) -> Result<Option<Vec<Entry>>> {
        let state = self.state(&repo.registry);
        // While the API is unknown, one listing at a time: the first is the probe, and those
        // waiting for it then know the answer.
        let _probing = match self.referrers_api(&repo.registry) {
            ReferrersApi::Unknown => Some(state.referrers_probe.lock().await),
            _ => None,
        };
        if self.referrers_api(&repo.registry) == ReferrersApi::Absent {
            return Ok(None);
        }
        let scopes = Scopes::repo(&repo.repository, &[Action::Pull]);
        let first = format!("v2/{}/referrers/{subject}", repo.repository);
        let asked = match artifact_types {
            [one] => Some(one.as_str()),
            _ => None,
        };
        let mut next: Option<Url> = None;
        let mut entries = Vec::new();
        for _ in 0..MAX_PAGES {
            let page = next.clone();
            let make = |http: &reqwest::Client, base: &Url| {
                let query = asked.map(|t| ("artifactType", t));
                page_request(http, base, &first, page.as_ref(), query)
            };
            let sent = self.call(&repo.registry, &scopes, &make).await?;
            let status = sent.response.status().as_u16();
            let is_index = sent
                .response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.split(';').next().unwrap_or(v).trim() == OCI_INDEX);
            if next.is_none() && (status == 404 || (status == 200 && !is_index)) {
                remember(&state, ReferrersApi::Absent);
                return Ok(None);
            }
            if status != 200 {
                return Err(self.status_error(&state, "GET", sent).await);
            }
            remember(&state, ReferrersApi::Present);
            let url = sent.response.url().clone();
            let headers = sent.response.headers().clone();
            let body = self
                .transport()
                .read_limited(sent.response, MAX_PAGE_BYTES)
                .await?;
            let listed = referrer::entries(&body).map_err(|e| Error::Protocol {
                url: display_url(&url),
                message: format!("referrers listing: {e}"),
            })?;
            entries.extend(filtered(listed, artifact_types, filters_applied(&headers)));
            match next_page(&url, &headers)? {
                Some(resolved) if Some(&resolved) != next.as_ref() => next = Some(resolved),
                _ => return Ok(Some(entries)),
            }
        }
        Ok(Some(entries))
    }

    /// What this run learnt of `registry`'s referrers API so far.
    pub fn referrers_api(&self, registry: &str) -> ReferrersApi {
        *self
            .state(registry)
            .referrers_api
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
}

fn remember(state: &RegistryState, api: ReferrersApi) {
    *state
        .referrers_api
        .lock()
        .unwrap_or_else(|p| p.into_inner()) = api;
}

/// Whether the registry says it applied the `artifactType` filter.
fn filters_applied(headers: &reqwest::header::HeaderMap) -> bool {
    headers
        .get_all(FILTERS_APPLIED)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|f| f.trim() == "artifactType")
}

/// `listed` reduced to `artifact_types` (all when empty), unless the registry filtered already
/// for the one type asked.
fn filtered(listed: Vec<Entry>, artifact_types: &[String], applied: bool) -> Vec<Entry> {
    if applied && artifact_types.len() == 1 {
        return listed;
    }
    of_types(listed, artifact_types)
}

/// The entries of `listed` whose `artifactType` is one of `artifact_types`; all when it is empty.
pub fn of_types(listed: Vec<Entry>, artifact_types: &[String]) -> Vec<Entry> {
    if artifact_types.is_empty() {
        return listed;
    }
    listed
        .into_iter()
        .filter(|e| {
            e.json
                .get("artifactType")
                .and_then(|t| t.as_str())
                .is_some_and(|t| artifact_types.iter().any(|a| a == t))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seed: &str, artifact_type: Option<&str>) -> Entry {
        let digest = Digest::sha256(seed.as_bytes());
        let mut json = serde_json::json!({"digest": digest.to_string(), "size": 1});
        if let Some(t) = artifact_type {
            json["artifactType"] = t.into();
        }
        Entry { digest, json }
    }

    #[test]
    fn a_listing_is_filtered_here_unless_the_registry_applied_the_filter() {
        let listed = vec![
            entry("sig", Some("x/sig")),
            entry("sbom", Some("x/sbom")),
            entry("untyped", None),
        ];
        let sig = vec!["x/sig".to_owned()];
        let kept = |types: &[String], applied| {
            filtered(listed.clone(), types, applied)
                .into_iter()
                .map(|e| e.digest)
                .collect::<Vec<_>>()
        };
        assert_eq!(kept(&[], false).len(), 3);
        assert_eq!(kept(&sig, false), vec![listed[0].digest.clone()]);
        // The registry's word is taken for the one type it was asked.
        assert_eq!(kept(&sig, true).len(), 3);
        let two = vec!["x/sig".to_owned(), "x/sbom".to_owned()];
        assert_eq!(kept(&two, true).len(), 2);
    }

    #[test]
    fn the_filters_header_may_list_several() {
        let mut headers = reqwest::header::HeaderMap::new();
        assert!(!filters_applied(&headers));
        headers.insert(FILTERS_APPLIED, "annotation, artifactType".parse().unwrap());
        assert!(filters_applied(&headers));
    }
}
