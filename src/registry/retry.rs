//! When and how long to wait before retrying a registry request: jittered exponential backoff,
//! `Retry-After` (seconds or HTTP date), and GHCR's `retry-after: 1.5ms` inside 429 bodies.

use std::hash::{BuildHasher, RandomState};
use std::time::{Duration, SystemTime};

/// How requests are retried. Every request (including manifest PUTs) goes through it.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in total, the first one included (1 = no retry).
    pub max_attempts: u32,
    /// The backoff before the first retry; doubled for each further one.
    pub initial_backoff: Duration,
    /// The longest backoff between two attempts.
    pub max_backoff: Duration,
    /// The longest wait a registry's `Retry-After` is honoured for; a longer one is capped.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 6,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1` after attempt `attempt` (1-based) failed: "equal
    /// jitter", a random duration in `[d/2, d]` where `d` doubles from `initial_backoff`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(20);
        let full = self
            .initial_backoff
            .saturating_mul(1u32 << exp)
            .min(self.max_backoff);
        let half = full / 2;
        let nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        let jitter = if nanos == 0 {
            0
        } else {
            random() % (nanos + 1)
        };
        half + Duration::from_nanos(jitter)
    }

    /// The wait before the next attempt: the registry's `Retry-After` when it gave one (capped),
    /// else the backoff.
    pub fn wait(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        match retry_after {
            Some(d) => d.min(self.max_retry_after),
            None => self.backoff(attempt),
        }
    }
}

/// Whether a status is worth retrying: 408, 429 and every 5xx.
pub fn is_retryable_status(status: u16) -> bool {
    status == 408 || status == 429 || (500..=599).contains(&status)
}

/// Parses a `Retry-After` header value: delta-seconds or an HTTP date (relative to `now`).
pub fn parse_retry_after_header(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = value.parse::<f64>()
        && secs.is_finite()
        && secs >= 0.0
    {
        return Some(Duration::from_secs_f64(secs));
    }
    let when = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    let now = now.duration_since(SystemTime::UNIX_EPOCH).ok()?.as_secs();
    let secs = u64::try_from(when.as_second()).unwrap_or(0);
    Some(Duration::from_secs(secs.saturating_sub(now)))
}

/// Finds a retry delay in a 429 body: a top-level JSON `retry-after` / `retry_after` number of
/// seconds, or GHCR's `"message": "retry-after: 880.092µs, allowed: 44000/minute"`.
pub fn parse_retry_after_body(body: &[u8]) -> Option<Duration> {
    let json: serde_json::Value = serde_json::from_slice(body).ok()?;
    for key in ["retry-after", "retry_after", "retryAfter"] {
        match json.get(key) {
            Some(serde_json::Value::Number(n)) => {
                return n
                    .as_f64()
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .map(Duration::from_secs_f64);
            }
            Some(serde_json::Value::String(s)) => return parse_go_duration(s.trim()),
            _ => {}
        }
    }
    let errors = json.get("errors")?.as_array()?;
    errors.iter().find_map(|e| {
        let message = e.get("message")?.as_str()?;
        let rest = &message[message.find("retry-after:")? + "retry-after:".len()..];
        let value = rest.trim_start().split([',', ' ']).next()?;
        parse_go_duration(value)
    })
}

/// Parses Go's `time.Duration` text (`1.5s`, `880.092µs`, `2m0s`, `10ms`).
pub fn parse_go_duration(text: &str) -> Option<Duration> {
    if text.is_empty() {
        return None;
    }
    let mut total = 0f64;
    let mut rest = text;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += number * scale;
    }
    // Whole nanoseconds: Go prints at most nanosecond precision. The cast saturates.
    (total.is_finite() && total >= 0.0).then(|| Duration::from_nanos(total.round() as u64))
}

/// A random number from the standard library's randomly seeded hasher (no RNG crate needed for
/// jitter).
fn random() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    RandomState::new().hash_one(COUNTER.fetch_add(1, Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped_with_jitter() {
        let p = RetryPolicy {
            max_attempts: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
            max_retry_after: Duration::from_secs(5),
        };
        for _ in 0..50 {
            let b1 = p.backoff(1);
            assert!(b1 >= Duration::from_millis(50) && b1 <= Duration::from_millis(100));
            let b3 = p.backoff(3);
            assert!(b3 >= Duration::from_millis(200) && b3 <= Duration::from_millis(400));
            let b9 = p.backoff(9);
            assert!(b9 >= Duration::from_millis(500) && b9 <= Duration::from_secs(1));
        }
        assert!(p.backoff(1000) <= Duration::from_secs(1));
        assert_eq!(
            p.wait(1, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
        assert_eq!(
            p.wait(1, Some(Duration::from_secs(60))),
            Duration::from_secs(5)
        );
    }

    #[test]
    fn retryable_statuses() {
        for s in [408, 429, 500, 502, 503, 504, 599] {
            assert!(is_retryable_status(s), "{s}");
        }
        for s in [200, 201, 202, 400, 401, 403, 404, 405, 409, 416] {
            assert!(!is_retryable_status(s), "{s}");
        }
    }

    #[test]
    fn retry_after_header_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // 1994-11-06 08:49:37Z
        assert_eq!(
            parse_retry_after_header("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after_header(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after_header("1.5", now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            parse_retry_after_header("Sun, 06 Nov 1994 08:49:47 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after_header("Sun, 06 Nov 1994 08:49:30 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after_header("soon", now), None);
        assert_eq!(parse_retry_after_header("-3", now), None);
    }

    #[test]
    fn retry_after_in_bodies() {
        let ghcr = br#"{"errors":[{"code":"TOOMANYREQUESTS","message":"retry-after: 880.092\u00b5s, allowed: 44000/minute"}]}"#;
        assert_eq!(
            parse_retry_after_body(ghcr),
            Some(Duration::from_nanos(880_092))
        );
        let ms = br#"{"errors":[{"code":"TOOMANYREQUESTS","message":"retry-after: 10.305464ms, allowed: 2000/minute"}]}"#;
        assert_eq!(
            parse_retry_after_body(ms),
            Some(Duration::from_nanos(10_305_464))
        );
        assert_eq!(
            parse_retry_after_body(br#"{"retry-after": 2}"#),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            parse_retry_after_body(br#"{"retry_after": 0.25}"#),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            parse_retry_after_body(br#"{"errors":[{"message":"slow down"}]}"#),
            None
        );
        assert_eq!(parse_retry_after_body(b"not json"), None);
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_go_duration("2m0s"), Some(Duration::from_secs(120)));
        assert_eq!(parse_go_duration("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_go_duration("100ns"), Some(Duration::from_nanos(100)));
        assert_eq!(parse_go_duration("3us"), Some(Duration::from_micros(3)));
        assert_eq!(parse_go_duration(""), None);
        assert_eq!(parse_go_duration("5"), None);
        assert_eq!(parse_go_duration("5 parsecs"), None);
    }
}
