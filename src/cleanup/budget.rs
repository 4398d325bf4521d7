//! The budget of one cleanup run: a [`CleanupPlan`] + the [`Inventory`] + an [`Allowance`] (the
//! API calls left, as the API's `x-ratelimit-*` headers announce them, less a reserve; the time
//! left of `cleanup-time-budget`) -> [`fit`] (pure) -> the plan of this run, with what waits for
//! the next one in `deferred`.
//!
//! Deletions go in *groups*: the versions that go together (an index, its platform images and
//! attestations, the signatures of any of them), so a stop between groups never leaves part of a
//! deleted image behind, where a policy without `delete untagged` would keep it for ever. No group
//! holds anything kept (the planner keeps a kept version's whole graph), so no stop breaks a kept
//! image. Untags go first (a stale tag on a release is what users see), then groups oldest first:
//! the backlog drains in age order, so what waits now is the oldest next time and nothing waits
//! for ever behind newer deletions. A group bigger than what is left waits; later, smaller ones
//! still go. Each run plans from the registry again, so nothing deferred is lost or done twice.

use super::{CleanupPlan, Inventory, referrer_subject};
use crate::registry::Digest;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// API calls a deletion costs: its `DELETE`.
pub const DELETE_CALLS: u64 = 1;
/// API calls an untag costs: the listing that finds the placeholder version, and its `DELETE`.
pub const UNTAG_CALLS: u64 = 2;

/// The primary rate limit as the API last announced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// `x-ratelimit-remaining`.
    pub remaining: u64,
    /// `x-ratelimit-limit`, when announced.
    pub limit: Option<u64>,
    /// `x-ratelimit-reset`, when announced.
    pub reset: Option<jiff::Timestamp>,
}

impl RateLimit {
    /// Calls left untouched for whatever else shares the budget (other steps and jobs of the
    /// repository, retries): a twentieth of the limit, at least 25 (50 of a `GITHUB_TOKEN`'s
    /// 1,000 an hour, 250 of a personal token's 5,000).
    pub fn reserve(&self) -> u64 {
        (self.limit.unwrap_or(self.remaining) / 20).max(25)
    }

    /// Calls this run may spend at `now`: what is left, or once the reset has passed, a renewed
    /// budget (until a response says otherwise).
    pub fn spendable(&self, now: jiff::Timestamp) -> u64 {
        match self.renews_in(now) {
            Some(Duration::ZERO) => self.renewed(),
            _ => self.remaining.saturating_sub(self.reserve()),
        }
    }

    /// Calls a renewed budget brings.
    fn renewed(&self) -> u64 {
        self.limit
            .unwrap_or(self.remaining)
            .saturating_sub(self.reserve())
    }

    /// How long until the budget renews (zero: it has).
    pub fn renews_in(&self, now: jiff::Timestamp) -> Option<Duration> {
        let reset = self.reset?;
        Some(Duration::from_secs(
            (reset.as_second() - now.as_second()).max(0) as u64,
        ))
    }
}

/// The longest a run waits for the API budget to renew (the API client's own limit too).
pub const MAX_RENEWAL_WAIT: Duration = Duration::from_secs(15 * 60);

/// What a run may still spend on deleting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Allowance {
    /// The API's primary budget (`None`: the API announces none).
    pub api: Option<RateLimit>,
    /// Time left of the time budget (`None`: no limit).
    pub time: Option<Duration>,
    /// The most deletions the API takes a minute (GitHub: 180), for what fits in `time`
    /// (`None`: unknown; the time is then only checked while deleting).
    pub per_minute: Option<u64>,
    /// When the allowance holds (the rate limit's reset is a wall-clock time).
    pub now: jiff::Timestamp,
}

impl Allowance {
    /// When the budget renews soon enough to wait for (within [`MAX_RENEWAL_WAIT`] and the time
    /// left), how long that is.
    pub fn renewal_wait(&self) -> Option<Duration> {
        let wait = self.api?.renews_in(self.now)?;
        (wait > Duration::ZERO && wait <= MAX_RENEWAL_WAIT && self.time.is_none_or(|t| wait < t))
            .then_some(wait)
    }

    /// API calls within the API budget: what is left now, and a renewed budget when the run
    /// will wait for it.
    fn api_calls(&self) -> Option<u64> {
        let api = self.api?;
        let renewal = self.renewal_wait().map_or(0, |_| api.renewed());
        Some(api.spendable(self.now) + renewal)
    }

    /// API calls that fit in the time left at the API's pace.
    fn time_calls(&self) -> Option<u64> {
        let (time, per_minute) = (self.time?, self.per_minute?);
        Some((time.as_secs() * per_minute) / 60)
    }

    /// The calls this run may make: the smaller of the two limits (`None`: unlimited).
    pub fn calls(&self) -> Option<u64> {
        match (self.api_calls(), self.time_calls()) {
            (Some(a), Some(t)) => Some(a.min(t)),
            (a, t) => a.or(t),
        }
    }

    /// What limits the run more.
    fn tighter(&self) -> Limit {
        match (self.api_calls(), self.time_calls()) {
            (Some(a), Some(t)) if t < a => Limit::Time,
            (None, Some(_)) => Limit::Time,
            _ => Limit::Api,
        }
    }
}

/// What stopped a run before the end of its plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Limit {
    /// The API's rate-limit budget (less its reserve).
    Api,
    /// `cleanup-time-budget`.
    Time,
}

/// How the plan met the budget: shown in the dry run, the log and the step summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetNote {
    pub allowance: Allowance,
    /// API calls the whole plan needs.
    pub calls_needed: u64,
    /// API calls of the steps that go this run.
    pub calls_planned: u64,
    /// Set when some steps wait for the next run.
    pub limited_by: Option<Limit>,
}

/// `1234567` -> `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl fmt::Display for BudgetNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = &self.allowance;
        let mut parts = Vec::new();
        if let Some(r) = a.api {
            let limit = r
                .limit
                .map_or(String::new(), |l| format!(" of {}", thousands(l)));
            let reset = r.reset.map_or(String::new(), |t| {
                format!(", resets {}", t.strftime("%H:%M UTC"))
            });
            let renewal = a.renewal_wait().map_or(String::new(), |w| {
                format!(" (renewed in {}s, waited for)", w.as_secs())
            });
            parts.push(format!(
                "API budget {} left{limit}{reset}{renewal}, {} kept in reserve",
                thousands(r.remaining),
                thousands(r.reserve())
            ));
        }
        if let Some(t) = a.time {
            let pace = a
                .per_minute
                .map_or(String::new(), |p| format!(" at {p} deletions a minute"));
            parts.push(format!("time left {}s{pace}", t.as_secs()));
        }
        if parts.is_empty() {
            parts.push("no API or time limit".into());
        }
        write!(
            f,
            "{}: the plan needs {} API calls, {} go now",
            parts.join("; "),
            thousands(self.calls_needed),
            thousands(self.calls_planned)
        )?;
        if let Some(limit) = self.limited_by {
            let by = match limit {
                Limit::Api => "the API budget",
                Limit::Time => "the time budget",
            };
            write!(f, " (the rest waits for the next run: {by})")?;
        }
        Ok(())
    }
}

/// The deletions of `plan` in groups that go together, each in the plan's order (parents
/// first), the groups oldest first (by their oldest version; unknown ages last, then by digest).
pub fn groups(plan: &CleanupPlan, inventory: &Inventory) -> Vec<Vec<Digest>> {
    let position: BTreeMap<&Digest, usize> = plan
        .deletions
        .iter()
        .enumerate()
        .map(|(i, d)| (d, i))
        .collect();
    // Union-find over the deletions, joined along every edge between two of them.
    let mut root: Vec<usize> = (0..plan.deletions.len()).collect();
    fn find(root: &mut [usize], mut i: usize) -> usize {
        while root[i] != i {
            root[i] = root[root[i]];
            i = root[i];
        }
        i
    }
    for v in &inventory.versions {
        let Some(&i) = position.get(&v.digest) else {
            continue;
        };
        let edges = v
            .children
            .iter()
            .cloned()
            .chain(v.subject.iter().cloned())
            .chain(v.tags.iter().filter_map(|t| referrer_subject(t)));
        for d in edges {
            if let Some(&j) = position.get(&d) {
                let (a, b) = (find(&mut root, i), find(&mut root, j));
                root[a.max(b)] = a.min(b);
            }
        }
    }
    let created: BTreeMap<&Digest, jiff::Timestamp> = inventory
        .versions
        .iter()
        .filter_map(|v| Some((&v.digest, v.created_at?)))
        .collect();
    let mut by_root: BTreeMap<usize, Vec<Digest>> = BTreeMap::new();
    for i in 0..plan.deletions.len() {
        let r = find(&mut root, i);
        by_root
            .entry(r)
            .or_default()
            .push(plan.deletions[i].clone());
    }
    let mut groups: Vec<Vec<Digest>> = by_root.into_values().collect();
    groups.sort_by_cached_key(|g| {
        let oldest = g.iter().filter_map(|d| created.get(d)).min().copied();
        (oldest.is_none(), oldest, g.iter().min().cloned())
    });
    groups
}

/// The plan this run can carry out within `allowance`: untags first, then whole groups oldest
/// first while they fit; the rest moves to `deferred` / `deferred_untags`. `groups` of the
/// result gives the group sizes, in the order of `deletions`.
pub fn fit(mut plan: CleanupPlan, inventory: &Inventory, allowance: &Allowance) -> CleanupPlan {
    let all_groups = groups(&plan, inventory);
    let calls_needed =
        plan.untags.len() as u64 * UNTAG_CALLS + plan.deletions.len() as u64 * DELETE_CALLS;
    let mut left = allowance.calls().unwrap_or(u64::MAX);
    let mut untags = Vec::new();
    for untag in std::mem::take(&mut plan.untags) {
        if left >= UNTAG_CALLS {
            left -= UNTAG_CALLS;
            untags.push(untag);
        } else {
            plan.deferred_untags.push(untag);
        }
    }
    plan.untags = untags;
    plan.deletions.clear();
    plan.groups.clear();
    for group in all_groups {
        let cost = group.len() as u64 * DELETE_CALLS;
        if left >= cost {
            left -= cost;
            plan.groups.push(group.len());
            plan.deletions.extend(group);
        } else {
            plan.deferred.extend(group);
        }
    }
    let waits = !plan.deferred.is_empty() || !plan.deferred_untags.is_empty();
    plan.budget = Some(BudgetNote {
        allowance: *allowance,
        calls_needed,
        calls_planned: plan.untags.len() as u64 * UNTAG_CALLS
            + plan.deletions.len() as u64 * DELETE_CALLS,
        limited_by: waits.then(|| allowance.tighter()),
    });
    plan
}

/// Moves every step of `plan` from deletion group `from` on (and the untags when `untags`) to
/// the deferred lists: what a run stopped by its budget did not reach.
pub fn defer_from(plan: &mut CleanupPlan, from: usize, untags: bool, limit: Limit) {
    let start: usize = plan.groups.iter().take(from).sum();
    let rest = plan.deletions.split_off(start.min(plan.deletions.len()));
    plan.groups.truncate(from);
    let mut deferred = rest;
    deferred.append(&mut plan.deferred);
    plan.deferred = deferred;
    if untags {
        let mut deferred = std::mem::take(&mut plan.untags);
        deferred.append(&mut plan.deferred_untags);
        plan.deferred_untags = deferred;
    }
    if let Some(note) = &mut plan.budget {
        note.calls_planned =
            plan.untags.len() as u64 * UNTAG_CALLS + plan.deletions.len() as u64 * DELETE_CALLS;
        note.limited_by = Some(limit);
    }
}

#[cfg(test)]
#[path = "budget_tests.rs"]
mod tests;
