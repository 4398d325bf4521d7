//! The pure planner: an image's [`Inventory`] + [`Policy`] + closed pull requests + `now` ->
//! [`CleanupPlan`]. No I/O, no clock: every decision is a value with the rule that made it.
//!
//! Order of reasoning: (1) each tag gets a verdict (a `keep` line wins over every `delete` line;
//! a referrer tag, cosign's `sha256-<hex>.sig/.att/.sbom` or the fallback index `sha256-<hex>`,
//! follows its subject); (2) roots of keeping: versions with a kept tag, the `keep last=N`
//! versions (images only: referrer tags are not counted), untagged versions no rule selects (all
//! untagged ones when the inventory is incomplete); (3) the kept closure: children (so a kept
//! fallback index keeps every referrer it lists), referrers (`subject`) and referrer tags of kept
//! versions, to a fixpoint; (4) everything else is deleted, referrers and indexes before what
//! they point at.

use super::order::parents_first;
use super::policy::{Policy, Rule, Selector, Verb};
use super::{Inventory, Version, referrer_subject};
use crate::registry::Digest;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

mod decide;

use decide::Facts;

/// What happens to a version or one of its tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Keep,
    /// The version (every tag on it) is deleted.
    Delete,
    /// This tag is removed; the version stays (registries that can remove one tag).
    Untag,
}

/// The policy line behind a decision.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RuleRef {
    pub line: usize,
    pub text: String,
}

impl From<&Rule> for RuleRef {
    fn from(rule: &Rule) -> Self {
        RuleRef {
            line: rule.line,
            text: rule.text.clone(),
        }
    }
}

/// One decision: for a tag of a version, or for an untagged version (`tag: None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub digest: Digest,
    pub tag: Option<String>,
    pub action: Action,
    pub rule: Option<RuleRef>,
    pub reason: String,
}

/// What the registry can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Capabilities {
    /// One tag of a multi-tag version can be removed (GHCR, Hub). The distribution API cannot:
    /// a DELETE by digest removes every tag, so there a version with a kept tag keeps them all.
    pub untag: bool,
}

/// The plan for one image.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CleanupPlan {
    pub image: String,
    pub decisions: Vec<Decision>,
    /// Digests to delete, in order: every referrer and index before what it points at.
    pub deletions: Vec<Digest>,
    /// Tags to remove from kept versions.
    pub untags: Vec<(Digest, String)>,
    /// Why untagged versions were spared (incomplete listing, unreadable manifests).
    pub fail_closed: Option<String>,
    /// The sizes of the groups of `deletions` that go together, in order (set by
    /// [`super::budget::fit`]; empty before).
    pub groups: Vec<usize>,
    /// Deletions over this run's budget, left for the next run.
    pub deferred: Vec<Digest>,
    /// Untags over this run's budget, left for the next run.
    pub deferred_untags: Vec<(Digest, String)>,
    /// How the plan met the run's budget (set by [`super::budget::fit`]).
    pub budget: Option<super::budget::BudgetNote>,
}

/// A tag's verdict before the graph is considered.
enum Verdict<'a> {
    Keep(Option<&'a Rule>, String),
    Delete(&'a Rule),
    /// A `sha256-<hex>.sig` style tag whose subject is in the inventory.
    Follow(usize),
}

/// Why a version a delete rule selects is kept: it is not old enough for the rule, or its age
/// is unknown (which never counts as old).
fn too_young(rule: &Rule, age: Option<i64>) -> String {
    let limit = rule.older_than.unwrap_or(0);
    if age.is_none() {
        return format!(
            "selected by line {}, but its creation time is unknown",
            rule.line
        );
    }
    let shown = [(7 * 86_400, "w"), (86_400, "d"), (3_600, "h"), (60, "m")]
        .into_iter()
        .find(|(unit, _)| limit % unit == 0 && limit >= *unit)
        .map_or(format!("{limit}s"), |(unit, name)| {
            format!("{}{name}", limit / unit)
        });
    format!("selected by line {}, but younger than {shown}", rule.line)
}

/// Plans the cleanup of one image.
pub fn plan_cleanup(
    inventory: &Inventory,
    policy: &Policy,
    closed_prs: &BTreeSet<u64>,
    capabilities: Capabilities,
    now: jiff::Timestamp,
) -> CleanupPlan {
    let planner = Planner {
        versions: &inventory.versions,
        index: inventory
            .versions
            .iter()
            .enumerate()
            .map(|(i, v)| (&v.digest, i))
            .collect(),
        policy,
        closed_prs,
        now,
    };
    let verdicts = planner.verdicts();
    let (mut kept, whole) = planner.keep_roots(&verdicts);
    let referenced = planner.referenced();
    let fail_closed = fail_closed_reason(inventory);
    planner.keep_untagged(&mut kept, &referenced, fail_closed.as_ref());
    planner.close(&mut kept, &verdicts);
    let mut plan = CleanupPlan {
        image: inventory.image.clone(),
        fail_closed,
        ..CleanupPlan::default()
    };
    let deleted: BTreeSet<usize> = (0..planner.versions.len())
        .filter(|i| !kept.contains_key(i))
        .collect();
    let facts = Facts {
        kept: &kept,
        whole: &whole,
        referenced: &referenced,
        deleted: &deleted,
        capabilities,
    };
    planner.decide(&mut plan, &verdicts, &facts);
    plan.deletions = parents_first(planner.versions, &planner.index, &deleted);
    plan
}

/// Why a version is kept: the rule (if one) and the reason.
type Kept = BTreeMap<usize, (Option<RuleRef>, String)>;

/// One image's planning: its versions by position, and what the decisions depend on.
struct Planner<'a> {
    versions: &'a [Version],
    index: BTreeMap<&'a Digest, usize>,
    policy: &'a Policy,
    closed_prs: &'a BTreeSet<u64>,
    now: jiff::Timestamp,
}

impl<'a> Planner<'a> {
    fn age(&self, v: &Version) -> Option<i64> {
        v.created_at.map(|c| self.now.as_second() - c.as_second())
    }

    fn older(&self, rule: &Rule, v: &Version) -> bool {
        match rule.older_than {
            None => true,
            Some(limit) => self.age(v).is_some_and(|a| a > limit),
        }
    }

    fn tag_matches(&self, rule: &Rule, tag: &str) -> bool {
        rule.selectors
            .iter()
            .all(|s| s.matches_tag(tag, self.closed_prs))
    }

    /// (1) Each tag's verdict: a `keep` line wins over every `delete` line; a cosign tag follows
    /// its subject.
    fn verdicts(&self) -> Vec<Vec<Verdict<'a>>> {
        self.versions
            .iter()
            .map(|v| v.tags.iter().map(|tag| self.verdict(v, tag)).collect())
            .collect()
    }

    fn verdict(&self, v: &Version, tag: &str) -> Verdict<'a> {
        if let Some(&i) = referrer_subject(tag).and_then(|d| self.index.get(&d)) {
            return Verdict::Follow(i);
        }
        let policy = self.policy;
        let selecting = |verb| {
            policy.rules.iter().find(|r| {
                r.verb == verb
                    && r.last.is_none()
                    && !r.selectors.is_empty()
                    && self.tag_matches(r, tag)
                    && self.older(r, v)
            })
        };
        if let Some(rule) = selecting(Verb::Keep) {
            Verdict::Keep(Some(rule), "protected by a keep rule".into())
        } else if let Some(rule) = selecting(Verb::Delete) {
            Verdict::Delete(rule)
        } else if let Some(rule) = policy
            .rules
            .iter()
            .find(|r| r.verb == Verb::Delete && !r.selectors.is_empty() && self.tag_matches(r, tag))
        {
            Verdict::Keep(Some(rule), too_young(rule, self.age(v)))
        } else {
            Verdict::Keep(None, "no rule selects it".into())
        }
    }

    /// (2) Roots of keeping, with why: the `keep last=N` versions (kept whole, every tag
    /// included) and versions with a kept tag.
    fn keep_roots(&self, verdicts: &[Vec<Verdict<'_>>]) -> (Kept, BTreeSet<usize>) {
        let versions = self.versions;
        let mut kept = Kept::new();
        let mut whole: BTreeSet<usize> = BTreeSet::new();
        for rule in self.policy.rules.iter().filter(|r| r.last.is_some()) {
            let n = rule.last.unwrap_or(0);
            let mut candidates: Vec<usize> = (0..versions.len())
                .filter(|&i| {
                    versions[i]
                        .tags
                        .iter()
                        .any(|t| referrer_subject(t).is_none() && self.tag_matches(rule, t))
                })
                .collect();
            candidates.sort_by(|&a, &b| {
                let key = |i: usize| std::cmp::Reverse(versions[i].created_at);
                key(a)
                    .cmp(&key(b))
                    .then_with(|| versions[a].digest.cmp(&versions[b].digest))
            });
            for &i in candidates.iter().take(n) {
                whole.insert(i);
                kept.entry(i)
                    .or_insert((Some(rule.into()), format!("one of the {n} newest versions")));
            }
        }
        for (i, tags) in verdicts.iter().enumerate() {
            if let Some((rule, reason)) = tags.iter().find_map(|v| match v {
                Verdict::Keep(rule, reason) => Some((rule.map(RuleRef::from), reason.clone())),
                _ => None,
            }) {
                kept.entry(i).or_insert((rule, reason));
            }
        }
        (kept, whole)
    }

    /// Versions another version lists or refers to.
    fn referenced(&self) -> BTreeSet<usize> {
        self.versions
            .iter()
            .flat_map(|v| v.children.iter().chain(v.subject.iter()))
            .filter_map(|d| self.index.get(d).copied())
            .collect()
    }

    /// A referrer whose subject is here follows it; one whose subject is gone is plain untagged.
    fn refers(&self, v: &Version) -> bool {
        v.subject
            .as_ref()
            .is_some_and(|d| self.index.contains_key(d))
    }

    fn untagged_rule(&self, v: &Version) -> Option<&'a Rule> {
        self.policy.rules.iter().find(|r| {
            r.verb == Verb::Delete && r.selectors.contains(&Selector::Untagged) && self.older(r, v)
        })
    }

    /// (2, untagged) Untagged versions no rule selects are roots of keeping too (all of them
    /// when the inventory is incomplete).
    fn keep_untagged(
        &self,
        kept: &mut Kept,
        referenced: &BTreeSet<usize>,
        fail_closed: Option<&String>,
    ) {
        for (i, v) in self
            .versions
            .iter()
            .enumerate()
            .filter(|(_, v)| v.tags.is_empty())
        {
            if let Some(why) = fail_closed {
                kept.entry(i).or_insert((None, why.clone()));
            } else if !self.refers(v) && !referenced.contains(&i) && self.untagged_rule(v).is_none()
            {
                let young =
                    self.policy.rules.iter().find(|r| {
                        r.verb == Verb::Delete && r.selectors.contains(&Selector::Untagged)
                    });
                kept.entry(i).or_insert(match young {
                    Some(rule) => (Some(rule.into()), too_young(rule, self.age(v))),
                    None => (None, "no rule selects it".into()),
                });
            }
        }
    }

    /// (3) The kept closure: what a kept version needs, and what refers to it, to a fixpoint.
    fn close(&self, kept: &mut Kept, verdicts: &[Vec<Verdict<'_>>]) {
        let versions = self.versions;
        let mut referrers: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (i, v) in versions.iter().enumerate() {
            let subjects = v.subject.iter().filter_map(|d| self.index.get(d).copied());
            let follows = verdicts[i].iter().filter_map(|t| match t {
                Verdict::Follow(s) => Some(*s),
                _ => None,
            });
            for s in subjects.chain(follows) {
                referrers.entry(s).or_default().push(i);
            }
        }
        let mut queue: VecDeque<usize> = kept.keys().copied().collect();
        while let Some(i) = queue.pop_front() {
            let name = describe(&versions[i]);
            let needs = versions[i]
                .children
                .iter()
                .filter_map(|d| self.index.get(d).copied())
                .map(|c| (c, format!("needed by kept {name}")));
            let refers = referrers
                .get(&i)
                .into_iter()
                .flatten()
                .map(|&r| (r, format!("refers to kept {name}")));
            for (j, reason) in needs.chain(refers).collect::<Vec<_>>() {
                if let std::collections::btree_map::Entry::Vacant(e) = kept.entry(j) {
                    e.insert((None, reason));
                    queue.push_back(j);
                }
            }
        }
    }
}

fn fail_closed_reason(inventory: &Inventory) -> Option<String> {
    if let Some(why) = &inventory.incomplete {
        return Some(format!(
            "listing incomplete ({why}): untagged versions are kept"
        ));
    }
    inventory
        .versions
        .iter()
        .find_map(|v| v.unreadable.as_ref().map(|why| (v, why)))
        .map(|(v, why)| {
            format!(
                "manifest {} could not be read ({why}): untagged versions are kept",
                describe(v)
            )
        })
}

/// `sha256:0123456789ab (main, latest)` or `sha256:0123456789ab`.
pub fn describe(v: &Version) -> String {
    let short: String = v.digest.to_string().chars().take(19).collect();
    if v.tags.is_empty() {
        short
    } else {
        format!("{short} ({})", v.tags.join(", "))
    }
}
