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
mod tests {
    use super::*;
    use crate::cleanup::plan_tests::digest;
    use crate::cleanup::{Capabilities, Policy, Version, plan_cleanup};

    const NOW: i64 = 1_800_000_000;
    const DAY: i64 = 86_400;

    /// Push `n`, `days` old: an index tagged `tag` with two platform images, and (when `signed`)
    /// a signature of the index.
    fn push(n: u64, days: i64, tag: &str, signed: bool) -> Vec<Version> {
        let at = jiff::Timestamp::from_second(NOW - days * DAY).ok();
        let mut index = Version::new(digest(n * 10), &[tag]);
        index.created_at = at;
        index.children = vec![digest(n * 10 + 1), digest(n * 10 + 2)];
        let mut out = vec![index];
        for c in 1..=2 {
            let mut child = Version::new(digest(n * 10 + c), &[]);
            child.created_at = at;
            out.push(child);
        }
        if signed {
            let tag = format!("sha256-{}.sig", digest(n * 10).hex());
            let mut sig = Version::new(digest(n * 10 + 5), &[tag.as_str()]);
            sig.created_at = at;
            out.push(sig);
        }
        out
    }

    fn planned(versions: Vec<Version>, untag: bool) -> (Inventory, CleanupPlan) {
        let inventory = Inventory {
            image: "ghcr.io/o/app".into(),
            versions,
            incomplete: None,
        };
        let policy =
            Policy::parse("keep tag=latest\nkeep semver=release\ndelete tag=main-* older-than=30d")
                .unwrap();
        let now = jiff::Timestamp::from_second(NOW).unwrap();
        let plan = plan_cleanup(
            &inventory,
            &policy,
            &Default::default(),
            Capabilities { untag },
            now,
        );
        (inventory, plan)
    }

    fn api(remaining: u64, limit: u64) -> Allowance {
        Allowance {
            api: Some(RateLimit {
                remaining,
                limit: Some(limit),
                reset: jiff::Timestamp::from_second(NOW + 1_800).ok(),
            }),
            now: jiff::Timestamp::from_second(NOW).unwrap(),
            ..Allowance::default()
        }
    }

    fn history() -> Vec<Version> {
        let mut versions = Vec::new();
        // Newest first, as GHCR lists them; 40-49 days old, every other one signed.
        for n in 0..10 {
            versions.extend(push(n, 40 + n as i64, &format!("main-{n}"), n % 2 == 0));
        }
        versions.extend(push(20, 100, "v1.0.0", true));
        versions
    }

    #[test]
    fn the_reserve_is_a_twentieth_of_the_limit_and_at_least_25() {
        let r = |remaining, limit| RateLimit {
            remaining,
            limit,
            reset: None,
        };
        assert_eq!(r(1_000, Some(1_000)).reserve(), 50);
        assert_eq!(r(4_000, Some(5_000)).reserve(), 250);
        assert_eq!(r(300, None).reserve(), 25);
        let now = jiff::Timestamp::from_second(NOW).unwrap();
        assert_eq!(r(30, Some(1_000)).spendable(now), 0);
        assert_eq!(r(960, Some(1_000)).spendable(now), 910);
    }

    #[test]
    fn a_budget_that_renews_within_the_wait_counts_once_renewed() {
        let at = |s: i64| jiff::Timestamp::from_second(s).unwrap();
        let api = RateLimit {
            remaining: 30,
            limit: Some(1_000),
            reset: Some(at(NOW + 120)),
        };
        let soon = Allowance {
            api: Some(api),
            now: at(NOW),
            ..Allowance::default()
        };
        assert_eq!(soon.renewal_wait(), Some(Duration::from_secs(120)));
        assert_eq!(soon.calls(), Some(950), "0 now, 950 after the reset");
        let later = Allowance {
            now: at(NOW - 3_600),
            ..soon
        };
        assert_eq!((later.renewal_wait(), later.calls()), (None, Some(0)));
        let short = Allowance {
            time: Some(Duration::from_secs(60)),
            ..soon
        };
        assert_eq!(short.renewal_wait(), None, "the time runs out first");
        let past = Allowance {
            now: at(NOW + 121),
            ..soon
        };
        assert_eq!(past.calls(), Some(950), "reset passed: renewed");
    }

    #[test]
    fn without_limits_everything_goes_oldest_group_first() {
        let (inventory, plan) = planned(history(), false);
        let all = plan.deletions.len();
        assert_eq!(all, 35, "10 pushes of 3, 5 signatures");
        let fitted = fit(plan, &inventory, &Allowance::default());
        assert_eq!(fitted.deletions.len(), all);
        assert!(fitted.deferred.is_empty());
        assert_eq!(fitted.groups, [3, 4, 3, 4, 3, 4, 3, 4, 3, 4]);
        // Push 9 is the oldest (49 days): its index first, its signature before it.
        assert_eq!(fitted.deletions[0], digest(90));
        assert_eq!(fitted.deletions[3], digest(85), "push 8's signature");
        assert_eq!(fitted.deletions[4], digest(80), "then push 8's index");
        let note = fitted.budget.as_ref().unwrap();
        assert_eq!((note.calls_needed, note.calls_planned), (35, 35));
        assert_eq!(note.limited_by, None);
    }

    #[test]
    fn a_tight_budget_takes_whole_groups_and_defers_the_rest() {
        let (inventory, plan) = planned(history(), false);
        // 60 left, 50 in reserve: 10 calls, so groups of 3 (push 9), 4 (push 8), 3 (push 7).
        let fitted = fit(plan, &inventory, &api(60, 1_000));
        assert_eq!(fitted.groups, [3, 4, 3]);
        assert_eq!(fitted.deletions.len(), 10);
        assert_eq!(fitted.deferred.len(), 25);
        let note = fitted.budget.as_ref().unwrap();
        assert_eq!(note.limited_by, Some(Limit::Api));
        assert_eq!(
            note.to_string(),
            "API budget 60 left of 1,000, resets 08:30 UTC, 50 kept in reserve: the plan needs 35 API calls, 10 go now (the rest waits for the next run: the API budget)"
        );
        // Every group is whole on each side: no deleted index leaves a child behind.
        for v in &inventory.versions {
            let now = fitted.deletions.contains(&v.digest);
            for c in &v.children {
                if fitted.deletions.contains(c) || fitted.deferred.contains(c) {
                    assert_eq!(
                        fitted.deletions.contains(c),
                        now,
                        "{c} split from {}",
                        v.digest
                    );
                }
            }
        }
        // Nothing kept is in either list.
        let release = digest(200);
        assert!(!fitted.deletions.contains(&release) && !fitted.deferred.contains(&release));
    }

    #[test]
    fn a_group_too_big_for_what_is_left_waits_and_smaller_ones_go() {
        let (inventory, plan) = planned(history(), false);
        // 5 calls: push 9 (3) goes, push 8 (4) does not fit in 2, push 7 (3) does not either.
        let fitted = fit(plan, &inventory, &api(55, 1_000));
        assert_eq!(fitted.groups, [3]);
        let (inventory, plan) = planned(history(), false);
        // 7 calls: push 9 (3) and push 8 (4); 0 left.
        let fitted = fit(plan, &inventory, &api(57, 1_000));
        assert_eq!(fitted.groups, [3, 4]);
        let (inventory, plan) = planned(history(), false);
        // 6 calls: push 9 (3), push 8 (4) waits, push 7 (3) goes.
        let fitted = fit(plan, &inventory, &api(56, 1_000));
        assert_eq!(fitted.groups, [3, 3]);
        assert_eq!(fitted.deletions[3], digest(70));
        // Push 8 waits whole: its signature, its index, then the children.
        assert_eq!(&fitted.deferred[..2], &[digest(85), digest(80)]);
        let mut children = fitted.deferred[2..4].to_vec();
        children.sort();
        let mut expected = vec![digest(81), digest(82)];
        expected.sort();
        assert_eq!(children, expected);
    }

    #[test]
    fn the_time_budget_limits_at_the_api_pace() {
        let (inventory, plan) = planned(history(), false);
        let allowance = Allowance {
            time: Some(Duration::from_secs(3)),
            per_minute: Some(180),
            ..api(1_000, 1_000)
        };
        assert_eq!(allowance.calls(), Some(9));
        let fitted = fit(plan, &inventory, &allowance);
        assert_eq!(fitted.groups, [3, 4]);
        let note = fitted.budget.as_ref().unwrap();
        assert_eq!(note.limited_by, Some(Limit::Time));
        assert!(
            note.to_string()
                .contains("time left 3s at 180 deletions a minute"),
            "{note}"
        );
        // Without a known pace the time is only checked while deleting.
        let unpaced = Allowance {
            time: Some(Duration::from_secs(3)),
            ..Allowance::default()
        };
        assert_eq!(unpaced.calls(), None);
    }

    #[test]
    fn untags_go_first_at_two_calls_each() {
        let mut versions = history();
        versions[0].tags.push("latest".into());
        let (inventory, plan) = planned(versions, true);
        assert_eq!(plan.untags, [(digest(0), "main-0".to_string())]);
        let fitted = fit(plan, &inventory, &api(56, 1_000));
        assert_eq!(fitted.untags.len(), 1);
        assert_eq!(fitted.groups, [3], "4 calls left after the untag");
        let (inventory, plan) = planned(
            {
                let mut v = history();
                v[0].tags.push("latest".into());
                v
            },
            true,
        );
        let fitted = fit(plan, &inventory, &api(51, 1_000));
        assert!(fitted.untags.is_empty());
        assert_eq!(fitted.deferred_untags.len(), 1);
    }

    #[test]
    fn a_stop_while_deleting_defers_the_groups_not_reached() {
        let (inventory, plan) = planned(history(), false);
        let mut fitted = fit(plan, &inventory, &Allowance::default());
        let first_two: Vec<Digest> = fitted.deletions[..7].to_vec();
        defer_from(&mut fitted, 2, false, Limit::Time);
        assert_eq!(fitted.deletions, first_two);
        assert_eq!(fitted.groups, [3, 4]);
        assert_eq!(fitted.deferred.len(), 28);
        let note = fitted.budget.as_ref().unwrap();
        assert_eq!(
            (note.calls_planned, note.limited_by),
            (7, Some(Limit::Time))
        );
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
