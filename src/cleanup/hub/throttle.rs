//! How long Docker Hub asks to wait before a retry. Hub's API reference: a `429` carries
//! `X-Retry-After` (the unix time the API may be called again); every answer carries
//! `X-RateLimit-Reset` (the unix time the per-minute allowance resets). A standard `Retry-After`
//! (seconds or an HTTP date) is honoured first. The caller caps the wait.

use crate::registry::retry::parse_retry_after_header;
use std::time::{Duration, SystemTime};

/// The rate-limit headers of one answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RateLimitHeaders {
    pub retry_after: Option<String>,
    pub x_retry_after: Option<String>,
    pub x_ratelimit_reset: Option<String>,
}

impl RateLimitHeaders {
    pub fn from_headers(headers: &reqwest::header::HeaderMap) -> RateLimitHeaders {
        let get = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        RateLimitHeaders {
            retry_after: get("retry-after"),
            x_retry_after: get("x-retry-after"),
            x_ratelimit_reset: get("x-ratelimit-reset"),
        }
    }

    /// The wait these headers ask for at `now`; `None` when they ask for none (then: backoff).
    pub fn wait(&self, now: SystemTime) -> Option<Duration> {
        if let Some(d) = self
            .retry_after
            .as_deref()
            .and_then(|v| parse_retry_after_header(v, now))
        {
            return Some(d);
        }
        [&self.x_retry_after, &self.x_ratelimit_reset]
            .into_iter()
            .flatten()
            .find_map(|v| until_unix_time(v, now))
    }
}

/// The time from `now` until the unix time `value` (zero when it has passed).
fn until_unix_time(value: &str, now: SystemTime) -> Option<Duration> {
    let at: u64 = value.trim().parse().ok()?;
    let now = now.duration_since(SystemTime::UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(at.saturating_sub(now)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000;

    fn wait(r: Option<&str>, x: Option<&str>, reset: Option<&str>) -> Option<Duration> {
        RateLimitHeaders {
            retry_after: r.map(Into::into),
            x_retry_after: x.map(Into::into),
            x_ratelimit_reset: reset.map(Into::into),
        }
        .wait(SystemTime::UNIX_EPOCH + Duration::from_secs(NOW))
    }

    #[test]
    fn retry_after_then_hub_s_unix_times() {
        let s = Duration::from_secs;
        assert_eq!(wait(Some("3"), Some("1700000060"), None), Some(s(3)));
        assert_eq!(
            wait(None, Some("1700000060"), Some("1700000009")),
            Some(s(60))
        );
        assert_eq!(wait(None, None, Some("1700000009")), Some(s(9)));
        // A reset already passed: retry at once.
        assert_eq!(wait(None, None, Some("1600000000")), Some(s(0)));
        assert_eq!(wait(Some("soon"), Some("later"), None), None);
        assert_eq!(wait(None, None, None), None);
    }

    #[test]
    fn headers_are_read_by_name() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("X-Retry-After", "1700000005".parse().unwrap());
        h.insert("X-RateLimit-Reset", "1700000060".parse().unwrap());
        let headers = RateLimitHeaders::from_headers(&h);
        assert_eq!(headers.x_retry_after.as_deref(), Some("1700000005"));
        assert_eq!(
            headers.wait(SystemTime::UNIX_EPOCH + Duration::from_secs(NOW)),
            Some(Duration::from_secs(5))
        );
    }
}
