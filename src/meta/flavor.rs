//! The `flavor` input: global `latest`, `prefix` and `suffix` behaviour (metadata-action syntax).
//!
//! ```text
//! latest=auto            # auto (default) | true | false
//! prefix=foo-,onlatest=true
//! suffix=-slim
//! ```

use super::error::MetaError;
use crate::lines::{InputLine, split_attr, split_fields};

const INPUT: &str = "flavor";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LatestMode {
    /// `latest` follows the first rule that produced a tag (semver, pep440, match, ref/tag).
    #[default]
    Auto,
    True,
    False,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Flavor {
    pub latest: LatestMode,
    pub prefix: String,
    pub prefix_latest: bool,
    pub suffix: String,
    pub suffix_latest: bool,
}

impl Flavor {
    /// The `latest` flag a rule yields: its own opinion under `auto`, else the flavor's.
    pub fn latest_for(&self, rule_says: bool) -> bool {
        match self.latest {
            LatestMode::Auto => rule_says,
            LatestMode::True => true,
            LatestMode::False => false,
        }
    }
}

pub fn parse_flavor(lines: &[InputLine]) -> Result<Flavor, MetaError> {
    let mut flavor = Flavor::default();
    for line in lines {
        let err = |message: String| MetaError::line(INPUT, line, message);
        let mut onlatest_for: Option<&str> = None;
        for field in split_fields(&line.text).map_err(|e| err(e.to_string()))? {
            let (Some(key), value) = split_attr(&field) else {
                return Err(err(format!(
                    "`{field}` is not a `key=value` entry; expected latest=, prefix=, suffix= or onlatest="
                )));
            };
            match key.as_str() {
                "latest" => {
                    flavor.latest = match value {
                        "auto" => LatestMode::Auto,
                        "true" => LatestMode::True,
                        "false" => LatestMode::False,
                        _ => {
                            return Err(err(format!(
                                "invalid latest `{value}`; expected auto, true or false"
                            )));
                        }
                    }
                }
                "prefix" => {
                    flavor.prefix = value.to_string();
                    onlatest_for = Some("prefix");
                }
                "suffix" => {
                    flavor.suffix = value.to_string();
                    onlatest_for = Some("suffix");
                }
                "onlatest" => {
                    let on = match value {
                        "true" => true,
                        "false" => false,
                        _ => {
                            return Err(err(format!(
                                "invalid onlatest `{value}`; expected true or false"
                            )));
                        }
                    };
                    match onlatest_for {
                        Some("prefix") => flavor.prefix_latest = on,
                        Some(_) => flavor.suffix_latest = on,
                        None => {
                            return Err(err(
                                "`onlatest=` must follow `prefix=` or `suffix=` on the same line"
                                    .into(),
                            ));
                        }
                    }
                }
                other => {
                    return Err(err(format!(
                        "unknown flavor `{other}`; expected latest=, prefix=, suffix= or onlatest="
                    )));
                }
            }
        }
    }
    Ok(flavor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lines::input_lines;

    fn flavor(input: &str) -> Result<Flavor, String> {
        parse_flavor(&input_lines(input)).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults() {
        assert_eq!(flavor("").unwrap(), Flavor::default());
    }

    #[test]
    fn full_syntax() {
        let f = flavor("latest=false\nprefix=dev-,onlatest=true\nsuffix=-slim").unwrap();
        assert_eq!(
            f,
            Flavor {
                latest: LatestMode::False,
                prefix: "dev-".into(),
                prefix_latest: true,
                suffix: "-slim".into(),
                suffix_latest: false
            }
        );
        let f = flavor("suffix=-x,onlatest=true").unwrap();
        assert!(f.suffix_latest && !f.prefix_latest);
    }

    #[test]
    fn latest_for() {
        let auto = Flavor::default();
        assert!(auto.latest_for(true) && !auto.latest_for(false));
        let forced = Flavor {
            latest: LatestMode::True,
            ..Flavor::default()
        };
        assert!(forced.latest_for(false));
    }

    #[test]
    fn errors() {
        assert_eq!(
            flavor("latest=maybe").unwrap_err(),
            "input `flavor`, line 1: invalid latest `maybe`; expected auto, true or false"
        );
        assert!(
            flavor("\nfoo=bar")
                .unwrap_err()
                .starts_with("input `flavor`, line 2: unknown flavor `foo`")
        );
        assert!(
            flavor("latest")
                .unwrap_err()
                .contains("not a `key=value` entry")
        );
        assert!(
            flavor("prefix=a,onlatest=yes")
                .unwrap_err()
                .contains("invalid onlatest `yes`")
        );
        assert!(flavor("onlatest=true").unwrap_err().contains("must follow"));
    }
}
