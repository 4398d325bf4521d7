//! docker/metadata-action's `DOCKER_METADATA_*` environment switches, parsed and validated.

use super::error::MetaError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Switches {
    /// `DOCKER_METADATA_SHORT_SHA_LENGTH` (default 7).
    pub short_sha_length: usize,
    /// `DOCKER_METADATA_ANNOTATIONS_LEVELS` (default `manifest`).
    pub annotation_levels: Vec<String>,
    /// `DOCKER_METADATA_PR_HEAD_SHA`: use the PR head commit instead of the merge commit.
    pub pr_head_sha: bool,
    /// `DOCKER_METADATA_SET_OUTPUT_ENV` (default true): also export `DOCKER_METADATA_OUTPUT_*`.
    pub set_output_env: bool,
}

impl Default for Switches {
    fn default() -> Self {
        Switches {
            short_sha_length: 7,
            annotation_levels: vec!["manifest".into()],
            pr_head_sha: false,
            set_output_env: true,
        }
    }
}

impl Switches {
    /// Reads the switches through `var` (an environment lookup); empty counts as unset.
    pub fn parse(var: impl Fn(&str) -> Option<String>) -> Result<Self, MetaError> {
        let get = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let mut switches = Switches::default();
        if let Some(len) = get("DOCKER_METADATA_SHORT_SHA_LENGTH") {
            switches.short_sha_length = len.trim().parse().map_err(|_| MetaError::Switch {
                name: "DOCKER_METADATA_SHORT_SHA_LENGTH",
                message: format!("`{len}` is not a number of characters; expected e.g. 12"),
            })?;
        }
        if let Some(levels) = get("DOCKER_METADATA_ANNOTATIONS_LEVELS") {
            switches.annotation_levels = levels
                .split(',')
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect();
        }
        if let Some(v) = get("DOCKER_METADATA_PR_HEAD_SHA") {
            switches.pr_head_sha = v.to_ascii_lowercase().contains("true");
        }
        if let Some(v) = get("DOCKER_METADATA_SET_OUTPUT_ENV") {
            switches.set_output_env = match v.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => true,
                "false" | "0" | "no" | "off" => false,
                _ => {
                    return Err(MetaError::Switch {
                        name: "DOCKER_METADATA_SET_OUTPUT_ENV",
                        message: format!("`{v}` is not a boolean; expected true or false"),
                    });
                }
            };
        }
        Ok(switches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(pairs: &[(&str, &str)]) -> Result<Switches, String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Switches::parse(|k| map.get(k).cloned()).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_and_values() {
        assert_eq!(parse(&[]).unwrap(), Switches::default());
        let s = parse(&[
            ("DOCKER_METADATA_SHORT_SHA_LENGTH", "12"),
            ("DOCKER_METADATA_ANNOTATIONS_LEVELS", "manifest, index"),
            ("DOCKER_METADATA_PR_HEAD_SHA", "True"),
            ("DOCKER_METADATA_SET_OUTPUT_ENV", "false"),
        ])
        .unwrap();
        assert_eq!(s.short_sha_length, 12);
        assert_eq!(s.annotation_levels, ["manifest", "index"]);
        assert!(s.pr_head_sha && !s.set_output_env);
    }

    #[test]
    fn invalid_values_name_the_variable() {
        assert_eq!(
            parse(&[("DOCKER_METADATA_SHORT_SHA_LENGTH", "abc")]).unwrap_err(),
            "environment variable `DOCKER_METADATA_SHORT_SHA_LENGTH`: `abc` is not a number of characters; expected e.g. 12"
        );
        assert!(
            parse(&[("DOCKER_METADATA_SET_OUTPUT_ENV", "maybe")])
                .unwrap_err()
                .contains("not a boolean")
        );
    }
}
