//! Tag names: metadata-action's sanitizing plus what registries also require.
//!
//! | candidate            | tag                                   | why                               |
//! |----------------------|---------------------------------------|-----------------------------------|
//! | `feature/login`      | `feature-login`                       | invalid runs become `-` (as metadata-action) |
//! | `-rc`                | `rc`                                  | a tag may not start with `.` or `-` |
//! | 200 × `a`            | 117 × `a` + `-` + 10 hex of its SHA-256 | at most 128 characters, still unique |
//! | `---`                | none                                  | nothing valid is left             |

use super::TagName;
use sha2::{Digest, Sha256};

/// The longest tag a registry accepts.
pub const MAX_TAG_LEN: usize = 128;
const HASH_LEN: usize = 10;

/// metadata-action's `sanitizeTag`: each run of characters outside `[A-Za-z0-9._-]` becomes `-`.
pub fn replace_invalid(candidate: &str) -> String {
    let mut out = String::with_capacity(candidate.len());
    let mut in_run = false;
    for c in candidate.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
            out.push(c);
            in_run = false;
        } else if !in_run {
            out.push('-');
            in_run = true;
        }
    }
    out
}

/// A valid tag for `candidate`, or `None` when nothing valid is left.
pub fn to_tag_name(candidate: &str) -> Option<TagName> {
    let replaced = replace_invalid(candidate);
    let trimmed = replaced.trim_start_matches(['.', '-']);
    if trimmed.is_empty() {
        return None;
    }
    if trimmed.len() <= MAX_TAG_LEN {
        return Some(TagName::new_unchecked(trimmed.to_string()));
    }
    let hash = Sha256::digest(candidate.as_bytes());
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    let keep = MAX_TAG_LEN - HASH_LEN - 1;
    Some(TagName::new_unchecked(format!(
        "{}-{}",
        &trimmed[..keep],
        &hex[..HASH_LEN]
    )))
}

/// True when `s` is a valid tag as it stands.
pub fn is_valid(s: &str) -> bool {
    to_tag_name(s).is_some_and(|t| t.as_str() == s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn invalid_runs_become_one_dash() {
        assert_eq!(replace_invalid("feature/login"), "feature-login");
        assert_eq!(replace_invalid("a//b c+d"), "a-b-c-d");
        assert_eq!(replace_invalid("v1.2.3+build"), "v1.2.3-build");
        assert_eq!(replace_invalid("ünïcode"), "-n-code");
    }

    #[test]
    fn leading_dots_and_dashes_are_dropped() {
        assert_eq!(to_tag_name("-rc").unwrap().as_str(), "rc");
        assert_eq!(to_tag_name("..x").unwrap().as_str(), "x");
        assert_eq!(to_tag_name("/main").unwrap().as_str(), "main");
        assert!(to_tag_name("---").is_none());
        assert!(to_tag_name("").is_none());
    }

    #[test]
    fn long_tags_are_shortened_uniquely() {
        let a = to_tag_name(&"a".repeat(200)).unwrap();
        let b = to_tag_name(&format!("{}b", "a".repeat(199))).unwrap();
        assert_eq!(a.as_str().len(), MAX_TAG_LEN);
        assert_ne!(a, b);
        assert!(a.as_str().starts_with(&"a".repeat(117)));
        assert_eq!(
            to_tag_name(&"x".repeat(128)).unwrap().as_str(),
            "x".repeat(128)
        );
    }

    proptest! {
        #[test]
        fn every_result_is_a_valid_registry_tag(s in any::<String>()) {
            if let Some(tag) = to_tag_name(&s) {
                let t = tag.as_str();
                prop_assert!(t.len() <= MAX_TAG_LEN);
                prop_assert!(t.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')));
                prop_assert!(!t.starts_with(['.', '-']));
                prop_assert!(is_valid(t));
            }
        }
    }
}
