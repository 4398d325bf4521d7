//! The GitHub REST API, through octocrab's raw routes (`_get`, `_delete`) so that every response's
//! headers are seen: the primary rate-limit budget (`x-ratelimit-remaining` / `-reset`), secondary
//! limits (`retry-after`) and `Link` pagination. Bodies parse into octocrab's typed models.

use super::pace::{Budget, Pace, is_rate_limited, next_link};
use crate::cleanup::backend::BackendError;
use crate::secret::Secret;
use http_body_util::BodyExt;
use octocrab::Octocrab;
use octocrab::models::packages::PackageVersion;
use serde::de::DeserializeOwned;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Versions per page: the API's maximum.
pub const PER_PAGE: usize = 100;
/// Attempts per request (rate limits, 5xx, connection errors).
const ATTEMPTS: u32 = 5;
/// The longest wait for a rate limit before giving up with an error.
const MAX_WAIT: Duration = Duration::from_secs(15 * 60);

/// Who owns a package: the API's routes differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerKind {
    User,
    Organization,
}

impl OwnerKind {
    fn prefix(self) -> &'static str {
        match self {
            OwnerKind::User => "users",
            OwnerKind::Organization => "orgs",
        }
    }
}

/// A container package: `ghcr.io/<owner>/<name>`, `name` may contain `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub owner: String,
    pub name: String,
}

impl Package {
    /// The package of a repository path `owner/name[/more]`.
    pub fn from_repository(repository: &str) -> Option<Package> {
        let (owner, name) = repository.split_once('/')?;
        (!owner.is_empty() && !name.is_empty()).then(|| Package {
            owner: owner.to_string(),
            name: name.to_string(),
        })
    }

    fn route(&self, kind: OwnerKind) -> String {
        format!(
            "/{}/{}/packages/container/{}",
            kind.prefix(),
            encode(&self.owner),
            encode(&self.name)
        )
    }
}

/// Percent-encodes a path segment (`app/sub` -> `app%2Fsub`).
fn encode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A response read whole.
struct Response {
    status: u16,
    body: bytes::Bytes,
    next: Option<String>,
}

/// The GitHub API for one run.
pub struct GithubApi {
    crab: Octocrab,
    budget: Budget,
    pace: Pace,
    list_calls: AtomicU64,
    delete_calls: AtomicU64,
    /// `x-ratelimit-limit` as last announced (0: never).
    rate_limit: AtomicU64,
}

impl GithubApi {
    /// A client for the API at `base` (`https://api.github.com`, a GHES `/api/v3`, a loopback
    /// emulator) with `token`.
    pub fn new(base: &str, token: &Secret) -> Result<GithubApi, BackendError> {
        let crab = Octocrab::builder()
            .base_uri(base)
            .and_then(|b| {
                b.personal_token(token.expose().to_string())
                    .add_header(
                        http::header::ACCEPT,
                        "application/vnd.github+json".to_string(),
                    )
                    .add_header(
                        http::HeaderName::from_static("x-github-api-version"),
                        "2022-11-28".to_string(),
                    )
                    .build()
            })
            .map_err(|e| {
                BackendError::Other(format!("cannot reach the GitHub API at {base}: {e}"))
            })?;
        Ok(GithubApi {
            crab,
            budget: Budget::default(),
            pace: Pace::github_deletes(),
            list_calls: AtomicU64::new(0),
            delete_calls: AtomicU64::new(0),
            rate_limit: AtomicU64::new(0),
        })
    }

    /// Version-listing calls made so far.
    pub fn list_calls(&self) -> u64 {
        self.list_calls.load(Ordering::Relaxed)
    }

    /// The primary budget as the last response announced it.
    pub fn rate_limit(&self) -> Option<crate::cleanup::budget::RateLimit> {
        let (remaining, reset) = self.budget.seen()?;
        let limit = self.rate_limit.load(Ordering::Relaxed);
        Some(crate::cleanup::budget::RateLimit {
            remaining,
            limit: (limit > 0).then_some(limit),
            reset: jiff::Timestamp::from_second(reset as i64).ok(),
        })
    }

    /// Whether `owner` is a user or an organisation (`GET /users/{owner}`).
    pub async fn owner_kind(&self, owner: &str) -> Result<OwnerKind, BackendError> {
        let what = format!("GET /users/{owner}");
        let response = self
            .send(Method::Get, &format!("/users/{}", encode(owner)))
            .await?;
        let profile: octocrab::models::UserProfile = parse(&what, &response)?;
        Ok(if profile.r#type == "Organization" {
            OwnerKind::Organization
        } else {
            OwnerKind::User
        })
    }

    /// Every active version of `package`, all pages (newest first, as the API lists them).
    pub async fn list_versions(
        &self,
        kind: OwnerKind,
        package: &Package,
    ) -> Result<Vec<PackageVersion>, BackendError> {
        let mut versions = Vec::new();
        let mut uri = format!(
            "{}/versions?per_page={PER_PAGE}&state=active",
            package.route(kind)
        );
        loop {
            self.list_calls.fetch_add(1, Ordering::Relaxed);
            let what = format!("listing the versions of {}", package.name);
            let response = self.send(Method::Get, &uri).await?;
            let page: Vec<PackageVersion> = parse(&what, &response)?;
            versions.extend(page);
            match response.next {
                Some(next) => uri = next,
                None => return Ok(versions),
            }
        }
    }

    /// The id of `digest` among the newest versions (the first page), if it is there.
    pub async fn find_recent_version(
        &self,
        kind: OwnerKind,
        package: &Package,
        digest: &crate::registry::Digest,
    ) -> Result<Option<u64>, BackendError> {
        let what = format!("listing the newest versions of {}", package.name);
        let uri = format!(
            "{}/versions?per_page={PER_PAGE}&state=active",
            package.route(kind)
        );
        self.list_calls.fetch_add(1, Ordering::Relaxed);
        let response = self.send(Method::Get, &uri).await?;
        let page: Vec<PackageVersion> = parse(&what, &response)?;
        let name = digest.to_string();
        Ok(page.iter().find(|v| v.name == name).map(|v| *v.id))
    }

    /// Deletes one version, paced (at most 180 deletions a minute). `Ok(false)`: already gone.
    pub async fn delete_version(
        &self,
        kind: OwnerKind,
        package: &Package,
        id: u64,
    ) -> Result<bool, BackendError> {
        self.delete_calls.fetch_add(1, Ordering::Relaxed);
        let what = format!("deleting version {id} of {}", package.name);
        let response = self
            .send(
                Method::Delete,
                &format!("{}/versions/{id}", package.route(kind)),
            )
            .await?;
        match response.status {
            200..=299 => Ok(true),
            404 => Ok(false),
            _ => Err(api_error(&what, &response)),
        }
    }

    /// The state of pull request `number` of `repository` (`owner/name`): `true` when closed.
    pub async fn pull_request_closed(
        &self,
        repository: &str,
        number: u64,
    ) -> Result<bool, BackendError> {
        let what = format!("GET /repos/{repository}/pulls/{number}");
        let response = self
            .send(Method::Get, &format!("/repos/{repository}/pulls/{number}"))
            .await?;
        let pull: octocrab::models::pulls::PullRequest = parse(&what, &response)?;
        Ok(matches!(
            pull.state,
            Some(octocrab::models::IssueState::Closed)
        ))
    }

    /// Sends one request; waits out rate limits and retries 5xx and connection errors. Each
    /// attempt at a deletion takes its place in the deletions' pace, held until its answer is
    /// read (the server counts a refused one too, as far as the pace knows).
    async fn send(&self, method: Method, uri: &str) -> Result<Response, BackendError> {
        let mut attempt = 1;
        loop {
            self.budget.wait(MAX_WAIT).await?;
            let slot = match method {
                Method::Delete => Some(self.pace.wait().await),
                Method::Get => None,
            };
            let sent = match method {
                Method::Get => self.crab._get(uri).await,
                Method::Delete => self.crab._delete(uri, None::<&()>).await,
            };
            let answer = match sent {
                Ok(response) => {
                    let (parts, body) = response.into_parts();
                    let body = body
                        .collect()
                        .await
                        .map(|b| b.to_bytes())
                        .map_err(|e| e.to_string());
                    Ok((parts, body))
                }
                Err(e) => Err(e.to_string()),
            };
            drop(slot);
            let failure = match answer {
                Ok((parts, body)) => {
                    self.budget.update(&parts.headers);
                    if let Some(limit) = parts
                        .headers
                        .get("x-ratelimit-limit")
                        .and_then(|v| v.to_str().ok()?.trim().parse().ok())
                    {
                        self.rate_limit.store(limit, Ordering::Relaxed);
                    }
                    let status = parts.status.as_u16();
                    match body {
                        Ok(body) if is_rate_limited(status, &parts.headers, &body) => {
                            let wait = self.budget.retry_wait(&parts.headers);
                            if attempt >= ATTEMPTS || wait > MAX_WAIT {
                                return Ok(Response {
                                    status,
                                    body,
                                    next: None,
                                });
                            }
                            tracing::warn!(
                                status,
                                wait_ms = wait.as_millis() as u64,
                                "GitHub API rate limit: waiting"
                            );
                            tokio::time::sleep(wait).await;
                            attempt += 1;
                            continue;
                        }
                        Ok(body) if status < 500 => {
                            return Ok(Response {
                                status,
                                next: next_link(&parts.headers),
                                body,
                            });
                        }
                        Ok(_) => format!("status {status}"),
                        Err(e) => e,
                    }
                }
                Err(e) => e,
            };
            if attempt >= ATTEMPTS {
                return Err(BackendError::Other(format!(
                    "the GitHub API failed {attempt} times for {uri}: {failure}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(200 << attempt.min(6))).await;
            attempt += 1;
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Method {
    Get,
    Delete,
}

fn parse<T: DeserializeOwned>(what: &str, response: &Response) -> Result<T, BackendError> {
    if !(200..300).contains(&response.status) {
        return Err(api_error(what, response));
    }
    serde_json::from_slice(&response.body).map_err(|e| BackendError::Api {
        api: "GitHub API",
        what: what.to_string(),
        status: response.status,
        message: format!("unexpected response: {e}"),
        hint: None,
    })
}

/// An error response, with the fix for the usual causes.
fn api_error(what: &str, response: &Response) -> BackendError {
    let message = serde_json::from_slice::<serde_json::Value>(&response.body)
        .ok()
        .and_then(|v| v.get("message")?.as_str().map(str::to_string))
        .unwrap_or_else(|| {
            String::from_utf8_lossy(&response.body)
                .chars()
                .take(200)
                .collect()
        });
    let hint = match response.status {
        401 => Some("`github-token` is missing or expired: pass `${{ github.token }}` or a PAT with read:packages and delete:packages".to_string()),
        403 => Some("the token may not delete this package: give the workflow `permissions: packages: write` and the repository Admin access in the package's settings (Manage Actions access), or use a PAT (classic) with delete:packages".to_string()),
        404 => Some("no such package for this owner, or the token cannot see it: check the image name and the package's Actions access".to_string()),
        _ => None,
    };
    BackendError::Api {
        api: "GitHub API",
        what: what.to_string(),
        status: response.status,
        message,
        hint,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_come_from_the_repository_path() {
        let p = Package::from_repository("octo-org/app/api").unwrap();
        assert_eq!((p.owner.as_str(), p.name.as_str()), ("octo-org", "app/api"));
        assert_eq!(
            p.route(OwnerKind::Organization),
            "/orgs/octo-org/packages/container/app%2Fapi"
        );
        assert_eq!(
            p.route(OwnerKind::User),
            "/users/octo-org/packages/container/app%2Fapi"
        );
        assert_eq!(Package::from_repository("app"), None);
    }
}
