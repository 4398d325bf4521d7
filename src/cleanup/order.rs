//! The deletion side of a plan: which deleted version each one goes with, and the order that
//! deletes every index and referrer before what it points at.

use super::{Version, referrer_subject};
use crate::registry::Digest;
use std::collections::{BTreeMap, BTreeSet};

/// For each deleted version, a deleted version it goes with: the index listing it, or the subject
/// of a referrer (by its `subject` field or its referrer tag).
pub(super) fn parents(
    versions: &[Version],
    index: &BTreeMap<&Digest, usize>,
    deleted: &BTreeSet<usize>,
) -> BTreeMap<usize, usize> {
    let mut parent = BTreeMap::new();
    for &p in deleted {
        for c in versions[p].children.iter().filter_map(|d| index.get(d)) {
            parent.entry(*c).or_insert(p);
        }
        let subjects = versions[p]
            .subject
            .iter()
            .cloned()
            .chain(versions[p].tags.iter().filter_map(|t| referrer_subject(t)));
        for s in subjects.filter_map(|d| index.get(&d).copied()) {
            parent.entry(p).or_insert(s);
        }
    }
    parent
}

/// Kahn's order over the deleted versions: a version comes after every deleted version that
/// points at it (index -> child, referrer -> subject, signature or fallback index tag -> subject).
pub(super) fn parents_first(
    versions: &[Version],
    index: &BTreeMap<&Digest, usize>,
    deleted: &BTreeSet<usize>,
) -> Vec<Digest> {
    let mut edges: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    let mut indegree: BTreeMap<usize, usize> = deleted.iter().map(|&i| (i, 0)).collect();
    for &i in deleted {
        let v = &versions[i];
        let targets = v
            .children
            .iter()
            .chain(v.subject.iter())
            .cloned()
            .chain(v.tags.iter().filter_map(|t| referrer_subject(t)))
            .filter_map(|d| index.get(&d).copied())
            .filter(|j| deleted.contains(j) && *j != i);
        for j in targets {
            if edges.entry(i).or_default().insert(j) {
                *indegree.entry(j).or_default() += 1;
            }
        }
    }
    let mut ready: BTreeSet<(Digest, usize)> = indegree
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(&i, _)| (versions[i].digest.clone(), i))
        .collect();
    let mut order = Vec::with_capacity(deleted.len());
    while let Some((digest, i)) = ready.pop_first() {
        order.push(digest);
        for &j in edges.get(&i).into_iter().flatten() {
            if let Some(n) = indegree.get_mut(&j) {
                *n -= 1;
                if *n == 0 {
                    ready.insert((versions[j].digest.clone(), j));
                }
            }
        }
    }
    order
}
