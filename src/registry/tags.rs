//! Tag listing, following `Link: <...>; rel="next"` pagination; a repository that does not exist
//! yet has no tags.

use reqwest::Url;
use reqwest::header::LINK;
use serde::Deserialize;

use super::auth::{Action, Scopes};
use super::client::Client;
use super::error::{Error, Result, display_url};
use super::reference::Repository;

/// Pages followed at most (a registry looping its `Link` must not hang a run).
const MAX_PAGES: usize = 10_000;

#[derive(Deserialize)]
struct TagList {
    tags: Option<Vec<String>>,
}

impl Client {
    /// Every tag of a repository, in the registry's order, asking `page_size` per page when given.
    /// A repository the registry does not know yet (404) has none.
    pub async fn list_tags(
        &self,
        repo: &Repository,
        page_size: Option<usize>,
    ) -> Result<Vec<String>> {
        let scopes = Scopes::repo(&repo.repository, &[Action::Pull]);
        let first = format!("v2/{}/tags/list", repo.repository);
        let mut next: Option<Url> = None;
        let mut tags = Vec::new();
        for _ in 0..MAX_PAGES {
            let page = next.clone();
            let size = page_size.map(|n| n.to_string());
            let make = |http: &reqwest::Client, base: &Url| {
                let query = size.as_deref().map(|n| ("n", n));
                page_request(http, base, &first, page.as_ref(), query)
            };
            let sent = self.call(&repo.registry, &scopes, &make).await?;
            let status = sent.response.status().as_u16();
            if status == 404 && next.is_none() {
                return Ok(Vec::new());
            }
            if status != 200 {
                return Err(self
                    .status_error(&self.state(&repo.registry), "GET", sent)
                    .await);
            }
            let url = sent.response.url().clone();
            let headers = sent.response.headers().clone();
            let body = self
                .transport()
                .read_limited(sent.response, 16 * 1024 * 1024)
                .await?;
            let list: TagList = serde_json::from_slice(&body).map_err(|e| Error::Protocol {
                url: display_url(&url),
                message: format!("tag list is not the expected JSON: {e}"),
            })?;
            tags.extend(list.tags.unwrap_or_default());
            match next_page(&url, &headers)? {
                Some(resolved) if Some(&resolved) != next.as_ref() => next = Some(resolved),
                _ => return Ok(tags),
            }
        }
        Ok(tags)
    }
}

/// The request for one page of a paginated listing: `next` when the previous answer's `Link`
/// named one, else `first` against the registry's base, with `query` on it.
pub(super) fn page_request(
    http: &reqwest::Client,
    base: &Url,
    first: &str,
    next: Option<&Url>,
    query: Option<(&str, &str)>,
) -> reqwest::RequestBuilder {
    match next {
        Some(url) => http.get(url.clone()),
        None => {
            let request = http.get(base.join(first).unwrap_or_else(|_| base.clone()));
            match query {
                Some(pair) => request.query(&[pair]),
                None => request,
            }
        }
    }
}

/// The page a `Link: <...>; rel="next"` header of the answer from `url` names, resolved.
pub(super) fn next_page(url: &Url, headers: &reqwest::header::HeaderMap) -> Result<Option<Url>> {
    let Some(link) = headers
        .get_all(LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(next_link)
    else {
        return Ok(None);
    };
    url.join(&link).map(Some).map_err(|e| Error::Protocol {
        url: display_url(url),
        message: format!("Link `{link}` is not a URL: {e}"),
    })
}

/// The target of the `rel="next"` link in a `Link` header value.
pub(crate) fn next_link(value: &str) -> Option<String> {
    value.split(',').find_map(|part| {
        let (target, params) = part.trim().split_once(';')?;
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim().replace(' ', "");
            p == "rel=\"next\"" || p == "rel=next"
        });
        is_next.then(|| target.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::next_link;

    #[test]
    fn finds_next_links() {
        assert_eq!(
            next_link(r#"</v2/x/tags/list?last=b&n=2>; rel="next""#).as_deref(),
            Some("/v2/x/tags/list?last=b&n=2")
        );
        assert_eq!(
            next_link(r#"<https://r/a>; rel="prev", <https://r/b>; rel=next"#).as_deref(),
            Some("https://r/b")
        );
        assert_eq!(next_link(r#"<https://r/a>; rel="prev""#), None);
        assert_eq!(next_link("garbage"), None);
    }
}
