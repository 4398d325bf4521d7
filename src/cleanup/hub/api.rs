//! The HTTP half of the Docker Hub backend: log in (`POST /v2/auth/token`), list every tag of a
//! repository (following `next`), delete one tag. Every request is retried on 429 and 5xx (the
//! wait Hub asks for, capped) and on connection failures; a `401` (the short-lived token
//! expired) logs in again, once.
//!
//! Tags are deleted at `DELETE /v2/repositories/{namespace}/{repository}/tags/{tag}/`, the route
//! Docker's own `hub-tool` uses: the API reference lists only `GET`/`HEAD` under
//! `/v2/namespaces/.../tags/{tag}`.

use super::error::{HubError, Step};
use super::inventory::{HubRepository, HubTag, TagPage};
use super::throttle::RateLimitHeaders;
use crate::cleanup::backend::Deleted;
use crate::registry::RetryPolicy;
use reqwest::{Method, StatusCode, Url};
use std::time::SystemTime;

/// Tags asked for per page (Hub's maximum).
const PAGE_SIZE: &str = "100";
/// The most pages read (10,000 pages of 100 tags); a longer chain of `next` links is refused.
const MAX_PAGES: usize = 10_000;
/// The largest answer read.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// One login's view of Hub's API; the bearer token lives in `token` (shared by the backend's
/// gather and execute).
pub struct HubApi<'a> {
    pub http: &'a reqwest::Client,
    /// The API's base URL, ending in `/`.
    pub base: Url,
    /// The registry as the user named it (quoted in hints).
    pub registry: &'a str,
    pub username: &'a str,
    pub secret: &'a str,
    pub policy: &'a RetryPolicy,
    pub token: &'a tokio::sync::Mutex<Option<String>>,
}

/// An answer: status and body.
struct Answer {
    status: StatusCode,
    body: Vec<u8>,
}

/// `https://hub.docker.com` -> the base URL requests are joined to.
pub fn base_url(api: &str) -> Result<Url, HubError> {
    let bad = |message: String| HubError::BadUrl {
        url: api.to_string(),
        message,
    };
    let url =
        Url::parse(&format!("{}/", api.trim_end_matches('/'))).map_err(|e| bad(e.to_string()))?;
    if !matches!(url.scheme(), "https" | "http") || url.host().is_none() {
        return Err(bad("expected an http(s) URL with a host".into()));
    }
    Ok(url)
}

impl HubApi<'_> {
    /// Every tag of `repo`, all pages. A page that cannot be read fails the whole listing.
    pub async fn list_tags(&self, repo: &HubRepository) -> Result<Vec<HubTag>, HubError> {
        let step = Step::List(repo.to_string());
        let mut url = self.url(
            &step,
            &format!(
                "v2/namespaces/{}/repositories/{}/tags",
                repo.namespace, repo.repository
            ),
        )?;
        url.query_pairs_mut().append_pair("page_size", PAGE_SIZE);
        let mut tags = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        loop {
            if !seen.insert(url.to_string()) || seen.len() > MAX_PAGES {
                return Err(HubError::Protocol {
                    step,
                    message: "the `next` links repeat or do not end".into(),
                });
            }
            let answer = self.send(&step, Method::GET, &url).await?;
            if answer.status != StatusCode::OK {
                return Err(self.error(step, &answer));
            }
            let page: TagPage =
                serde_json::from_slice(&answer.body).map_err(|e| HubError::Protocol {
                    step: step.clone(),
                    message: format!("a page is not the documented JSON: {e}"),
                })?;
            tracing::debug!(repo = %repo, tags = page.results.len(), "read a page of tags");
            tags.extend(page.results);
            match page.next.filter(|n| !n.is_empty()) {
                None => return Ok(tags),
                Some(next) => {
                    url = next_page(&self.base, &next).map_err(|message| HubError::Protocol {
                        step: step.clone(),
                        message,
                    })?;
                }
            }
        }
    }

    /// Deletes `tag` of `repo`: `Done`, or `AlreadyGone` on 404.
    pub async fn delete_tag(&self, repo: &HubRepository, tag: &str) -> Result<Deleted, HubError> {
        let step = Step::Delete(repo.to_string(), tag.to_string());
        if !crate::registry::reference::is_tag(tag) {
            return Err(HubError::Protocol {
                step,
                message: "not a valid tag name".into(),
            });
        }
        let url = self.url(
            &step,
            &format!(
                "v2/repositories/{}/{}/tags/{tag}/",
                repo.namespace, repo.repository
            ),
        )?;
        let answer = self.send(&step, Method::DELETE, &url).await?;
        match answer.status.as_u16() {
            200..=299 => Ok(Deleted::Done),
            404 => Ok(Deleted::AlreadyGone),
            _ => Err(self.error(step, &answer)),
        }
    }

    /// A bearer token: the one held, else a fresh login.
    async fn bearer(&self) -> Result<String, HubError> {
        let mut token = self.token.lock().await;
        if let Some(t) = token.as_ref() {
            return Ok(t.clone());
        }
        let fresh = self.login().await?;
        *token = Some(fresh.clone());
        Ok(fresh)
    }

    async fn login(&self) -> Result<String, HubError> {
        let step = Step::Login;
        let url = self.url(&step, "v2/auth/token")?;
        let body = serde_json::json!({ "identifier": self.username, "secret": self.secret });
        let answer = self
            .transmit(&step, Method::POST, &url, Some(&body), None)
            .await?;
        if answer.status != StatusCode::OK {
            return Err(self.error(step, &answer));
        }
        #[derive(serde::Deserialize)]
        struct Token {
            access_token: String,
        }
        serde_json::from_slice::<Token>(&answer.body)
            .ok()
            .map(|t| t.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| HubError::Protocol {
                step,
                message: "no `access_token` in the answer".into(),
            })
    }

    /// Sends with the bearer token; a 401 (the short-lived token expired) drops the token and
    /// logs in again, once.
    async fn send(&self, step: &Step, method: Method, url: &Url) -> Result<Answer, HubError> {
        let token = self.bearer().await?;
        let answer = self
            .transmit(step, method.clone(), url, None, Some(&token))
            .await?;
        if answer.status != StatusCode::UNAUTHORIZED {
            return Ok(answer);
        }
        {
            let mut held = self.token.lock().await;
            if held.as_deref() == Some(token.as_str()) {
                *held = None;
            }
        }
        let token = self.bearer().await?;
        self.transmit(step, method, url, None, Some(&token)).await
    }

    /// Sends, retrying connection failures, 408, 429 and 5xx (waiting as Hub asks, capped).
    async fn transmit(
        &self,
        step: &Step,
        method: Method,
        url: &Url,
        json: Option<&serde_json::Value>,
        token: Option<&str>,
    ) -> Result<Answer, HubError> {
        let mut attempt = 1;
        loop {
            let last = attempt >= self.policy.max_attempts;
            let mut request = self.http.request(method.clone(), url.clone());
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            if let Some(json) = json {
                request = request.json(json);
            }
            let response = match request.send().await {
                Ok(r) => r,
                Err(e) if !last && (e.is_connect() || e.is_timeout()) => {
                    let wait = self.policy.backoff(attempt);
                    tracing::warn!(%step, attempt, error = %e, "Docker Hub unreachable, retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                    continue;
                }
                Err(e) => {
                    return Err(HubError::Transport {
                        step: step.clone(),
                        message: e.without_url().to_string(),
                    });
                }
            };
            let status = response.status();
            let headers = RateLimitHeaders::from_headers(response.headers());
            let body = read_limited(response, step).await?;
            let code = status.as_u16();
            if !last && crate::registry::retry::is_retryable_status(code) {
                let now = SystemTime::now();
                let asked = if code == 429 {
                    headers.wait(now)
                } else {
                    RateLimitHeaders {
                        retry_after: headers.retry_after,
                        ..RateLimitHeaders::default()
                    }
                    .wait(now)
                };
                let wait = self.policy.wait(attempt, asked);
                tracing::warn!(%step, attempt, status = code, wait_ms = wait.as_millis() as u64, "Docker Hub asked to retry");
                tokio::time::sleep(wait).await;
                attempt += 1;
                continue;
            }
            return Ok(Answer { status, body });
        }
    }

    fn url(&self, step: &Step, path: &str) -> Result<Url, HubError> {
        self.base.join(path).map_err(|e| HubError::Protocol {
            step: step.clone(),
            message: format!("cannot build the URL: {e}"),
        })
    }

    fn error(&self, step: Step, answer: &Answer) -> HubError {
        HubError::api(step, answer.status.as_u16(), &answer.body, self.registry)
    }
}

/// The `next` link of a page, refused unless it is on the API's own origin (the bearer token
/// goes with it).
fn next_page(base: &Url, next: &str) -> Result<Url, String> {
    let url = base
        .join(next)
        .map_err(|e| format!("`next` is not a URL: {e}"))?;
    if url.origin() != base.origin() {
        return Err("`next` points away from the API's host; not followed".into());
    }
    Ok(url)
}

/// Reads a body, refusing one longer than [`MAX_BODY`].
async fn read_limited(mut response: reqwest::Response, step: &Step) -> Result<Vec<u8>, HubError> {
    let too_long = || HubError::Protocol {
        step: step.clone(),
        message: format!("answer longer than {MAX_BODY} bytes"),
    };
    if response
        .content_length()
        .is_some_and(|n| n > MAX_BODY as u64)
    {
        return Err(too_long());
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) if body.len() + chunk.len() > MAX_BODY => return Err(too_long()),
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) => return Ok(body),
            Err(e) => {
                return Err(HubError::Transport {
                    step: step.clone(),
                    message: e.without_url().to_string(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_url_becomes_a_base_for_joining() {
        let base = base_url("https://hub.docker.com").unwrap();
        assert_eq!(
            base.join("v2/auth/token").unwrap().as_str(),
            "https://hub.docker.com/v2/auth/token"
        );
        let prefixed = base_url("http://127.0.0.1:6001/hub/").unwrap();
        assert_eq!(
            prefixed.join("v2/auth/token").unwrap().as_str(),
            "http://127.0.0.1:6001/hub/v2/auth/token"
        );
        assert!(base_url("ftp://x").is_err());
        assert!(base_url("not a url").is_err());
    }

    #[test]
    fn next_links_stay_on_the_api_s_origin() {
        let base = base_url("https://hub.docker.com").unwrap();
        let next =
            "https://hub.docker.com/v2/namespaces/u/repositories/a/tags?page=2&page_size=100";
        assert_eq!(next_page(&base, next).unwrap().as_str(), next);
        assert_eq!(
            next_page(&base, "/v2/x?page=3").unwrap().as_str(),
            "https://hub.docker.com/v2/x?page=3"
        );
        for away in [
            "https://evil.example/v2/x",
            "http://hub.docker.com/v2/x",
            "https://hub.docker.com:444/v2/x",
        ] {
            let e = next_page(&base, away).unwrap_err();
            assert!(e.contains("points away"), "{away}: {e}");
        }
    }
}
