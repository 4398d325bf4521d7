//! How fast the GitHub API may be called: the primary budget its headers announce
//! (`x-ratelimit-remaining`, `x-ratelimit-reset`), secondary limits (`retry-after`, a 403 or 429
//! that says so), and a pace for deletions (GitHub asks for at most 180 content-creating or
//! deleting requests a minute).

use crate::cleanup::backend::BackendError;
use http::HeaderMap;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// The primary rate limit, as the last response announced it.
#[derive(Debug, Default)]
pub struct Budget {
    /// (remaining, reset as Unix seconds).
    last: Mutex<Option<(u64, u64)>>,
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Budget {
    /// Records the budget a response announced.
    pub fn update(&self, headers: &HeaderMap) {
        if let (Some(remaining), Some(reset)) = (
            header_u64(headers, "x-ratelimit-remaining"),
            header_u64(headers, "x-ratelimit-reset"),
        ) {
            *self.last.lock().expect("budget lock") = Some((remaining, reset));
        }
    }

    /// The budget as last announced: (remaining, reset as Unix seconds).
    pub fn seen(&self) -> Option<(u64, u64)> {
        *self.last.lock().expect("budget lock")
    }

    /// How long until the budget resets, when it is spent.
    fn exhausted_for(&self) -> Option<Duration> {
        let (remaining, reset) = (*self.last.lock().expect("budget lock"))?;
        let now = unix_now();
        (remaining == 0 && reset >= now).then(|| Duration::from_secs(reset - now + 1))
    }

    /// Waits for the budget to reset when it is spent; an error when that is more than `max` away.
    pub async fn wait(&self, max: Duration) -> Result<(), BackendError> {
        let Some(wait) = self.exhausted_for() else {
            return Ok(());
        };
        if wait > max {
            return Err(BackendError::Other(format!(
                "the GitHub API rate limit is spent for {} more minutes; nothing more was asked (re-run after it resets, or use a token with its own budget)",
                wait.as_secs().div_ceil(60)
            )));
        }
        tracing::warn!(
            wait_s = wait.as_secs(),
            "GitHub API rate limit spent: waiting for its reset"
        );
        tokio::time::sleep(wait).await;
        *self.last.lock().expect("budget lock") = None;
        Ok(())
    }

    /// How long to wait after a rate-limited response: `retry-after`, else until the reset when
    /// the budget is spent, else a minute (GitHub's advice for secondary limits).
    pub fn retry_wait(&self, headers: &HeaderMap) -> Duration {
        if let Some(seconds) = header_u64(headers, "retry-after") {
            return Duration::from_secs(seconds);
        }
        self.exhausted_for()
            .unwrap_or_else(|| Duration::from_secs(60))
    }
}

/// Whether a response is a rate limit (primary or secondary) rather than a refusal.
pub fn is_rate_limited(status: u16, headers: &HeaderMap, body: &[u8]) -> bool {
    match status {
        429 => true,
        403 => {
            headers.contains_key("retry-after")
                || header_u64(headers, "x-ratelimit-remaining") == Some(0)
                || String::from_utf8_lossy(body)
                    .to_ascii_lowercase()
                    .contains("rate limit")
        }
        _ => false,
    }
}

/// The `rel="next"` URL of a `Link` header.
pub fn next_link(headers: &HeaderMap) -> Option<String> {
    let link = headers.get(http::header::LINK)?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| {
                let p = p.trim();
                p == "rel=\"next\"" || p == "rel=next"
            })
            .then(|| {
                url.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            })
    })
}

/// At most `limit` calls in any `window`.
#[derive(Debug)]
pub struct Pace {
    limit: usize,
    window: Duration,
    recent: tokio::sync::Mutex<VecDeque<Instant>>,
}

impl Pace {
    pub fn new(limit: usize, window: Duration) -> Pace {
        Pace {
            limit: limit.max(1),
            window,
            recent: tokio::sync::Mutex::new(VecDeque::new()),
        }
    }

    /// GitHub's limit for deletions: 180 a minute.
    pub fn github_deletes() -> Pace {
        Pace::new(180, Duration::from_secs(60))
    }

    /// Waits until one more call fits in the window, and counts it.
    pub async fn wait(&self) {
        let mut recent = self.recent.lock().await;
        loop {
            let now = Instant::now();
            while recent
                .front()
                .is_some_and(|t| now.duration_since(*t) >= self.window)
            {
                recent.pop_front();
            }
            if recent.len() < self.limit {
                recent.push_back(now);
                return;
            }
            let oldest = *recent.front().expect("a full window has a first call");
            tokio::time::sleep_until(oldest + self.window).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn the_next_link_is_found_among_others() {
        let h = headers(&[(
            "link",
            "<https://api.github.com/x?page=1>; rel=\"prev\", <https://api.github.com/x?page=3>; rel=\"next\", <https://api.github.com/x?page=9>; rel=\"last\"",
        )]);
        assert_eq!(
            next_link(&h).as_deref(),
            Some("https://api.github.com/x?page=3")
        );
        let last = headers(&[("link", "<https://a/x?page=1>; rel=\"first\"")]);
        assert_eq!(next_link(&last), None);
        assert_eq!(next_link(&HeaderMap::new()), None);
    }

    #[test]
    fn rate_limits_are_told_from_refusals() {
        assert!(is_rate_limited(429, &HeaderMap::new(), b""));
        assert!(is_rate_limited(
            403,
            &headers(&[("retry-after", "30")]),
            b""
        ));
        assert!(is_rate_limited(
            403,
            &headers(&[("x-ratelimit-remaining", "0")]),
            b""
        ));
        assert!(is_rate_limited(
            403,
            &HeaderMap::new(),
            br#"{"message":"You have exceeded a secondary rate limit."}"#
        ));
        assert!(!is_rate_limited(
            403,
            &headers(&[("x-ratelimit-remaining", "4999")]),
            br#"{"message":"Resource not accessible by integration"}"#
        ));
        assert!(!is_rate_limited(404, &HeaderMap::new(), b""));
    }

    #[test]
    fn the_wait_follows_retry_after_then_the_reset() {
        let budget = Budget::default();
        assert_eq!(
            budget.retry_wait(&headers(&[("retry-after", "7")])),
            Duration::from_secs(7)
        );
        assert_eq!(
            budget.retry_wait(&HeaderMap::new()),
            Duration::from_secs(60)
        );
        let reset = (unix_now() + 30).to_string();
        budget.update(&headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", reset.as_str()),
        ]));
        let wait = budget.retry_wait(&HeaderMap::new());
        assert!(
            wait > Duration::from_secs(28) && wait <= Duration::from_secs(32),
            "{wait:?}"
        );
    }

    #[tokio::test]
    async fn a_spent_budget_far_from_its_reset_is_an_error() {
        let budget = Budget::default();
        let reset = (unix_now() + 3_600).to_string();
        budget.update(&headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", reset.as_str()),
        ]));
        let e = budget.wait(Duration::from_secs(60)).await.unwrap_err();
        assert!(e.to_string().contains("rate limit is spent"), "{e}");
        let fresh = Budget::default();
        fresh.update(&headers(&[
            ("x-ratelimit-remaining", "12"),
            ("x-ratelimit-reset", reset.as_str()),
        ]));
        assert!(fresh.wait(Duration::from_secs(60)).await.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn deletions_never_exceed_180_in_any_minute() {
        let pace = Pace::github_deletes();
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..400 {
            pace.wait().await;
            times.push(Instant::now().duration_since(start));
        }
        for (i, t) in times.iter().enumerate() {
            let in_window = times[i..]
                .iter()
                .take_while(|u| **u < *t + Duration::from_secs(60))
                .count();
            assert!(
                in_window <= 180,
                "{in_window} calls within a minute from call {i}"
            );
        }
        // The first 180 go at once; 400 need two more windows, no more.
        assert_eq!(times[179], Duration::ZERO);
        assert!(times[180] >= Duration::from_secs(60));
        assert!(times[399] < Duration::from_secs(121), "{:?}", times[399]);
    }
}
