//! Step (4) of the planner: every tag and untagged version gets its [`Decision`], from what
//! steps (1) to (3) found (the [`Facts`]) and what the registry can do; a tag the policy deletes
//! from a kept version becomes an untag where the registry can remove one tag.

use super::{
    Action, Capabilities, CleanupPlan, Decision, Kept, Planner, RuleRef, Verdict, describe,
};
use crate::cleanup::Version;
use crate::cleanup::order::parents;
use std::collections::{BTreeMap, BTreeSet};

/// A decision before it is placed: the action, the rule behind it, the reason.
type Outcome = (Action, Option<RuleRef>, String);

/// What step (4) decides from: the kept versions (with why), those kept whole by `last=N`,
/// versions something lists or refers to, the deleted ones, and what the registry can do.
pub(super) struct Facts<'f> {
    pub(super) kept: &'f Kept,
    pub(super) whole: &'f BTreeSet<usize>,
    pub(super) referenced: &'f BTreeSet<usize>,
    pub(super) deleted: &'f BTreeSet<usize>,
    pub(super) capabilities: Capabilities,
}

impl Planner<'_> {
    /// (4) Decisions and untags: everything not kept is deleted.
    pub(super) fn decide(
        &self,
        plan: &mut CleanupPlan,
        verdicts: &[Vec<Verdict<'_>>],
        facts: &Facts<'_>,
    ) {
        let parent_of = parents(self.versions, &self.index, facts.deleted);
        for (i, v) in self.versions.iter().enumerate() {
            if v.tags.is_empty() {
                let (action, rule, reason) = self.untagged_decision(i, v, facts, &parent_of);
                plan.decisions.push(Decision {
                    digest: v.digest.clone(),
                    tag: None,
                    action,
                    rule,
                    reason,
                });
                continue;
            }
            for (tag, verdict) in v.tags.iter().zip(&verdicts[i]) {
                let (action, rule, reason) = self.tag_decision(i, verdict, facts);
                if action == Action::Untag {
                    plan.untags.push((v.digest.clone(), tag.clone()));
                }
                plan.decisions.push(Decision {
                    digest: v.digest.clone(),
                    tag: Some(tag.clone()),
                    action,
                    rule,
                    reason,
                });
            }
        }
    }

    /// An untagged version: kept with its reason, deleted by `delete untagged`, or gone with
    /// the deleted version that lists it or that it refers to.
    fn untagged_decision(
        &self,
        i: usize,
        v: &Version,
        facts: &Facts<'_>,
        parent_of: &BTreeMap<usize, usize>,
    ) -> Outcome {
        match facts.kept.get(&i) {
            Some((rule, reason)) => (Action::Keep, rule.clone(), reason.clone()),
            None => match self.untagged_rule(v) {
                Some(rule) if !facts.referenced.contains(&i) && !self.refers(v) => {
                    (Action::Delete, Some(rule.into()), "untagged".to_string())
                }
                _ => (
                    Action::Delete,
                    None,
                    parent_of.get(&i).map_or_else(
                        || "goes with its deleted parent".into(),
                        |&p| format!("goes with deleted {}", describe(&self.versions[p])),
                    ),
                ),
            },
        }
    }

    /// One tag of version `i`: its verdict, met with whether the version is kept and whether
    /// this registry can remove one tag of a kept version.
    fn tag_decision(&self, i: usize, verdict: &Verdict<'_>, facts: &Facts<'_>) -> Outcome {
        let v = &self.versions[i];
        let whole = facts.whole.contains(&i);
        match (verdict, facts.kept.get(&i)) {
            (Verdict::Keep(rule, reason), _) => {
                (Action::Keep, rule.map(RuleRef::from), reason.clone())
            }
            (Verdict::Delete(rule), None) => (
                Action::Delete,
                Some(RuleRef::from(*rule)),
                self.age(v).map_or_else(
                    || "selected".into(),
                    |a| format!("selected (age {}d)", a / 86_400),
                ),
            ),
            (Verdict::Delete(rule), Some(_)) if facts.capabilities.untag && !whole => (
                Action::Untag,
                Some(RuleRef::from(*rule)),
                "the version is kept".into(),
            ),
            (Verdict::Delete(rule), Some((keeper, why))) => (
                Action::Keep,
                keeper.clone().or_else(|| Some(RuleRef::from(*rule))),
                if whole {
                    format!("selected by line {}, but {why}", rule.line)
                } else {
                    format!(
                        "selected by line {}, but the version is kept ({why}) and this registry removes only whole versions",
                        rule.line
                    )
                },
            ),
            (Verdict::Follow(_), Some((rule, why))) => (Action::Keep, rule.clone(), why.clone()),
            (Verdict::Follow(s), None) => (
                Action::Delete,
                None,
                format!(
                    "orphaned: goes with deleted {}",
                    describe(&self.versions[*s])
                ),
            ),
        }
    }
}
