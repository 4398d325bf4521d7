//! How fast the GitHub API may be called: the primary budget its headers announce
//! (`x-ratelimit-remaining`, `x-ratelimit-reset`), secondary limits (`retry-after`, a 403 or 429
//! that says so), and a pace for deletions (GitHub's secondary limit allows 900 points a minute,
//! 5 a DELETE: 180 deletions in any 60 s, counted as they reach the server).

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

/// At most `limit` calls in any `window`, as the server counts them. The server stamps a call
/// when it arrives, somewhere between its release here and its answer, so a call counts from its
/// release (in flight) and then until `window` after its answer: a later call is released only
/// when the server can no longer count the earlier one in the same window, however long either
/// took on the way.
#[derive(Debug)]
pub struct Pace {
    limit: usize,
    window: Duration,
    calls: std::sync::Mutex<Calls>,
    answered: tokio::sync::Notify,
}

/// The calls that still count: those in flight, and when each recent one was answered (oldest
/// first).
#[derive(Debug, Default)]
struct Calls {
    in_flight: usize,
    answered: VecDeque<Instant>,
}

/// A call let through by [`Pace::wait`]; dropping it (once the answer is read) stamps its end.
#[derive(Debug)]
pub struct Slot<'a> {
    pace: &'a Pace,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut calls = self.pace.calls.lock().unwrap_or_else(|p| p.into_inner());
        calls.in_flight -= 1;
        calls.answered.push_back(Instant::now());
        drop(calls);
        self.pace.answered.notify_waiters();
    }
}

impl Pace {
    pub fn new(limit: usize, window: Duration) -> Pace {
        Pace {
            limit: limit.max(1),
            window,
            calls: std::sync::Mutex::new(Calls::default()),
            answered: tokio::sync::Notify::new(),
        }
    }

    /// GitHub's limit for deletions: 180 in 60 s, with a second's margin for the server's clock.
    pub fn github_deletes() -> Pace {
        Pace::new(180, Duration::from_secs(61))
    }

    /// Waits until one more call fits in the window; the call counts until its [`Slot`] is
    /// dropped, and a window after that.
    pub async fn wait(&self) -> Slot<'_> {
        loop {
            let answered = self.answered.notified();
            tokio::pin!(answered);
            answered.as_mut().enable();
            let free_at = {
                let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                while calls
                    .answered
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= self.window)
                {
                    calls.answered.pop_front();
                }
                if calls.in_flight + calls.answered.len() < self.limit {
                    calls.in_flight += 1;
                    return Slot { pace: self };
                }
                calls.answered.front().map(|t| *t + self.window)
            };
            match free_at {
                Some(at) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {}
                        () = &mut answered => {}
                    }
                }
                // Every call that counts is still in flight: the first answer starts the clock.
                None => answered.await,
            }
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

    /// The most calls within any 60 s of `arrivals` (sorted).
    fn most_in_a_minute(arrivals: &[Duration]) -> usize {
        let mut first = 0;
        let mut most = 0;
        for (last, at) in arrivals.iter().enumerate() {
            while *at - arrivals[first] >= Duration::from_secs(60) {
                first += 1;
            }
            most = most.max(last + 1 - first);
        }
        most
    }

    /// One call through `pace`: it reaches the server `to_server` after its release and is
    /// answered `back` after that. Returns (release, arrival) since `start`.
    async fn call(
        pace: &Pace,
        start: Instant,
        to_server: Duration,
        back: Duration,
    ) -> (Duration, Duration) {
        let slot = pace.wait().await;
        let released = start.elapsed();
        tokio::time::sleep(to_server).await;
        let arrived = start.elapsed();
        tokio::time::sleep(back).await;
        drop(slot);
        (released, arrived)
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_of_deletions_never_exceeds_180_in_any_minute_as_the_server_counts() {
        let pace = Pace::github_deletes();
        let start = Instant::now();
        let calls = (0..400).map(|_| {
            call(
                &pace,
                start,
                Duration::from_millis(50),
                Duration::from_millis(50),
            )
        });
        let mut times = futures_util::future::join_all(calls).await;
        times.sort();
        let arrivals: Vec<Duration> = {
            let mut a: Vec<Duration> = times.iter().map(|t| t.1).collect();
            a.sort();
            a
        };
        assert_eq!(most_in_a_minute(&arrivals), 180);
        // The first 180 go at once; the next wait for the first answers and a window (with its
        // margin); 400 need two more windows, no more.
        assert_eq!(times[179].0, Duration::ZERO);
        assert!(
            times[180].0 >= Duration::from_millis(61_100),
            "{:?}",
            times[180]
        );
        assert!(times[399].0 < Duration::from_secs(123), "{:?}", times[399]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_first_call_and_a_fast_181st_stay_in_separate_minutes() {
        // Released 60 s apart, the first reaching the server late and the 181st at once: counted
        // from their releases, the server would see both within one minute.
        let pace = Pace::github_deletes();
        let start = Instant::now();
        let mut arrivals = Vec::new();
        for i in 0..400u64 {
            let to_server = Duration::from_millis(if i == 0 { 900 } else { i % 7 });
            let (_, arrived) = call(&pace, start, to_server, Duration::from_millis(20)).await;
            arrivals.push(arrived);
        }
        assert!(
            most_in_a_minute(&arrivals) <= 180,
            "{}",
            most_in_a_minute(&arrivals)
        );
        assert!(
            *arrivals.last().expect("calls") < Duration::from_secs(2 * 61 + 30),
            "{:?}",
            arrivals.last()
        );
    }
}
