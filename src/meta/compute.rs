//! The tag engine proper: rules in priority order -> main version, partial tags, `latest`.
//!
//! Follows docker/metadata-action's `getVersion`: each enabled rule may produce one tag; the first
//! tag is the version, the rest are de-duplicated partials; the first rule that produces a tag
//! decides `latest` (under `flavor latest=auto`). Each tag also gets a `TagKind` for publishing.

use super::error::MetaError;
use super::flavor::{Flavor, LatestMode, parse_flavor};
use super::image::parse_images_once;
use super::labels::oci_pairs;
use super::placeholders::unknown_placeholders;
use super::produce::render_with;
use super::rule::{TagRule, parse_rules};
use super::scope::GlobalScope;
use super::switches::Switches;
use super::tag::{replace_invalid, to_tag_name};
use super::{ComputedTag, Meta, TagKind};
use crate::context::Context;
use crate::lines::InputLine;

/// The list inputs of the tag engine, split into lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagInputs {
    pub images: Vec<InputLine>,
    pub tags: Vec<InputLine>,
    pub flavor: Vec<InputLine>,
    pub labels: Vec<InputLine>,
    pub annotations: Vec<InputLine>,
}

/// Computes the tags, labels and annotations of this run. Pure: `now` is passed in.
pub fn compute(
    ctx: &Context,
    inputs: &TagInputs,
    switches: &Switches,
    now: jiff::Timestamp,
) -> Result<Meta, MetaError> {
    let (images, repeated) = parse_images_once(&inputs.images)?;
    let rules = parse_rules(&inputs.tags)?;
    let flavor = parse_flavor(&inputs.flavor)?;
    let scope = GlobalScope {
        ctx,
        now,
        short_sha_length: switches.short_sha_length,
    };
    let mut run = Run {
        scope: &scope,
        flavor: &flavor,
        tags: Vec::new(),
        latest: None,
        warnings: unknown_placeholders(&rules, inputs)
            .iter()
            .map(ToString::to_string)
            .collect(),
    };
    for rule in &rules {
        let enabled = run.render(&rule.enable, rule)?;
        match enabled.as_str() {
            "true" => run.apply(rule)?,
            "false" => {}
            other => {
                return Err(MetaError::line(
                    "tags",
                    &rule.line,
                    format!("invalid enable `{other}`: expected true or false (after expressions)"),
                ));
            }
        }
    }
    let version = run.tags.first().map(|t| t.name.to_string());
    if run.latest == Some(true) {
        run.push_latest();
    }
    run.attach_version_to_rolling_tags();
    let mut warnings = run.warnings;
    if version.is_none() {
        warnings.push("No image version was generated: no tag rule matched this event. Check the `tags` input.".into());
    }
    let labels = oci_pairs(&scope, version.as_deref(), &inputs.labels, "labels")?;
    let annotations = oci_pairs(
        &scope,
        version.as_deref(),
        &inputs.annotations,
        "annotations",
    )?;
    Ok(Meta {
        version,
        images,
        tags: run.tags,
        labels,
        annotations,
        annotation_levels: switches.annotation_levels.clone(),
        warnings,
        image_warnings: repeated.iter().map(ToString::to_string).collect(),
    })
}

/// A tag a rule produced, before sanitizing.
pub(super) struct Produced {
    pub(super) value: String,
    pub(super) kind: TagKind,
    pub(super) version: Option<String>,
    /// The rule's opinion on `latest` under `flavor latest=auto`.
    pub(super) latest: bool,
}

pub(super) struct Run<'a> {
    pub(super) scope: &'a GlobalScope<'a>,
    pub(super) flavor: &'a Flavor,
    pub(super) tags: Vec<ComputedTag>,
    pub(super) latest: Option<bool>,
    pub(super) warnings: Vec<String>,
}

impl Run<'_> {
    pub(super) fn render(&self, template: &str, rule: &TagRule) -> Result<String, MetaError> {
        render_with(template, self.scope, rule)
    }

    fn apply(&mut self, rule: &TagRule) -> Result<(), MetaError> {
        let Some(produced) = self.produce(rule)? else {
            return Ok(());
        };
        let prefix = match &rule.prefix {
            Some(p) => self.render(p, rule)?,
            None if !self.flavor.prefix.is_empty() => self.render(&self.flavor.prefix, rule)?,
            None => String::new(),
        };
        let suffix = match &rule.suffix {
            Some(s) => self.render(s, rule)?,
            None if !self.flavor.suffix.is_empty() => self.render(&self.flavor.suffix, rule)?,
            None => String::new(),
        };
        let value = format!("{prefix}{}{suffix}", produced.value);
        if value.is_empty() {
            return Ok(());
        }
        let Some(name) = to_tag_name(&value) else {
            self.warnings.push(format!(
                "tag `{value}` from `{}` has no valid characters left and was skipped",
                rule.line.text
            ));
            return Ok(());
        };
        let compatible = replace_invalid(&value);
        if name.as_str() != compatible {
            self.warnings.push(format!(
                "tag `{compatible}` from `{}` is not a valid registry tag; using `{name}`",
                rule.line.text
            ));
        }
        if !self.tags.iter().any(|t| t.name == name) {
            self.tags.push(ComputedTag {
                name,
                kind: produced.kind,
                rule: rule.line.text.clone(),
                version: produced.version,
            });
        }
        if self.latest.is_none() {
            self.latest = Some(self.flavor.latest_for(produced.latest));
        }
        Ok(())
    }

    fn push_latest(&mut self) {
        let f = self.flavor;
        let prefix = if f.prefix_latest {
            f.prefix.as_str()
        } else {
            ""
        };
        let suffix = if f.suffix_latest {
            f.suffix.as_str()
        } else {
            ""
        };
        let Some(name) = to_tag_name(&format!("{prefix}latest{suffix}")) else {
            return;
        };
        if self.tags.iter().any(|t| t.name == name) {
            return;
        }
        let mode = match f.latest {
            LatestMode::Auto => "auto",
            LatestMode::True => "true",
            LatestMode::False => "false",
        };
        self.tags.push(ComputedTag {
            name,
            kind: TagKind::Rolling,
            rule: format!("flavor latest={mode}"),
            version: None, // the run's version, given by `attach_version_to_rolling_tags`
        });
    }

    /// A `latest` (from the flavor or `type=raw,value=latest`) follows the version this run
    /// publishes, if it publishes one; without one it is simply set.
    fn attach_version_to_rolling_tags(&mut self) {
        let version = self.tags.iter().find_map(|t| t.version.clone());
        for tag in &mut self.tags {
            if tag.kind == TagKind::Rolling && tag.version.is_none() {
                tag.version = version.clone();
            }
        }
    }
}
