//! The tag engine: `Context` + tag inputs + `now` -> `Meta` (version, tags, labels, annotations).
//!
//! Pure: no I/O, no clock, no environment. Compatible with docker/metadata-action's documented
//! `images` / `tags` / `flavor` / `labels` / `annotations` syntax, plus safe tag sanitizing.

use std::fmt;

/// What a computed tag means for publishing: release tags are immutable, rolling tags only move
/// forward, everything else is simply set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TagKind {
    /// A full version (`v1.2.3`, `1.2.3`, `1.2.3-rc.1`): never overwritten with another digest.
    Release,
    /// Derived from a version (`v1.2`, `v1`, `latest`): moves only to a newer version.
    Rolling,
    /// Anything else (`main-abc1234`, `pr-7`, `edge`, `nightly`): set to whatever this run built.
    Floating,
}

impl fmt::Display for TagKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TagKind::Release => "release",
            TagKind::Rolling => "rolling",
            TagKind::Floating => "floating",
        })
    }
}

/// One tag name (without the image), valid for an OCI registry: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TagName(String);

impl TagName {
    /// Wraps a string already known to be a valid tag. Use `tag::sanitize` for anything else.
    pub(crate) fn new_unchecked(s: String) -> Self {
        TagName(s)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TagName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A tag the rules produced, with where it came from (for the step summary and the publish plan).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComputedTag {
    pub name: TagName,
    pub kind: TagKind,
    /// The rule that produced it, as the user wrote it (`type=semver,pattern={{major}}`), or
    /// `flavor latest=auto` for the `latest` tag.
    pub rule: String,
    /// The version it derives from, for release and rolling tags (`1.2.3` for `v1.2`), and the
    /// version a version-like floating tag names (`2.0` for a raw `2.0`).
    pub version: Option<String>,
}

/// An image name as given in `images` (lower-cased, validated), e.g. `ghcr.io/octo/app`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageName(String);

impl ImageName {
    pub(crate) fn new_unchecked(s: String) -> Self {
        ImageName(s)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ImageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The engine's result: everything the tag outputs, the summary and the publish plan need.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Meta {
    /// metadata-action's `version` output: the first tag produced (main version), if any.
    pub version: Option<String>,
    /// Enabled images, in input order.
    pub images: Vec<ImageName>,
    /// Tag names in output order (main, partials, latest), de-duplicated.
    pub tags: Vec<ComputedTag>,
    /// `key=value` labels, sorted by key, de-duplicated (later custom values win).
    pub labels: Vec<(String, String)>,
    /// `key=value` annotations before levels are applied, sorted like labels.
    pub annotations: Vec<(String, String)>,
    /// Annotation levels (`DOCKER_METADATA_ANNOTATIONS_LEVELS`, default `manifest`).
    pub annotation_levels: Vec<String>,
    /// Non-fatal problems (invalid version skipped, pattern did not match...), in order.
    pub warnings: Vec<String>,
    /// Non-fatal problems with `images` (an image listed twice), apart: they matter to every
    /// command, the others only where the computed tags are used.
    pub image_warnings: Vec<String>,
}

impl Meta {
    /// `image:tag` for every enabled image and tag (or just the tags when there is no image), in
    /// metadata-action's order: per image, all its tags.
    pub fn image_tags(&self) -> Vec<String> {
        if self.images.is_empty() {
            return self.tags.iter().map(|t| t.name.to_string()).collect();
        }
        self.images
            .iter()
            .flat_map(|image| self.tags.iter().map(move |t| format!("{image}:{}", t.name)))
            .collect()
    }

    /// Annotations with their level prefix (`manifest:org.opencontainers.image.title=app`).
    pub fn leveled_annotations(&self) -> Vec<String> {
        self.annotation_levels
            .iter()
            .flat_map(|level| {
                self.annotations
                    .iter()
                    .map(move |(k, v)| format!("{level}:{k}={v}"))
            })
            .collect()
    }
}

pub mod compute;
pub mod error;
pub mod expr;
pub mod flavor;
pub mod image;
pub mod labels;

pub mod moment;
pub mod placeholders;
mod produce;
pub mod rule;
pub mod scope;
pub mod switches;
pub mod tag;
pub mod version;

pub use compute::{TagInputs, compute};
pub use error::MetaError;
pub use switches::Switches;

#[cfg(test)]
mod tests;
