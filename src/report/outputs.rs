//! Report stage, step outputs: `Meta` -> named values ([`Outputs`]) -> file-command text appended to
//! `$GITHUB_OUTPUT` (and, as `DOCKER_METADATA_OUTPUT_*`, to `$GITHUB_ENV`).
//!
//! Outputs are data; [`write_github_output`] is the one writer of the file-command format, so
//! every value (hostile label values included) goes through the same tested delimiter logic.

use std::fmt::Write as _;
use std::io;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::meta::Meta;

/// Named step outputs, in the order they are written.
///
/// Setting a name twice keeps its first position and the last value: the runner keeps the last
/// value of a name anyway, so the file never needs to mention a name twice.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outputs(Vec<(String, String)>);

impl Outputs {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `name` to `value` (see the type's note on repeated names).
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let (name, value) = (name.into(), value.into());
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name, value)),
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<N: Into<String>, V: Into<String>> FromIterator<(N, V)> for Outputs {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(iter: I) -> Self {
        let mut outputs = Outputs::new();
        for (name, value) in iter {
            outputs.set(name, value);
        }
        outputs
    }
}

/// The `sep-tags`, `sep-labels` and `sep-annotations` inputs (metadata-action's default: `\n`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Separators {
    pub tags: String,
    pub labels: String,
    pub annotations: String,
}

impl Default for Separators {
    fn default() -> Self {
        Separators {
            tags: "\n".into(),
            labels: "\n".into(),
            annotations: "\n".into(),
        }
    }
}

/// docker/metadata-action's outputs, in its order: `version`, `tags`, `tag-names`, `labels`,
/// `annotations`, `json`.
pub fn tag_outputs(meta: &Meta, seps: &Separators) -> Outputs {
    let image_tags = meta.image_tags();
    let tag_names: Vec<String> = meta.tags.iter().map(|t| t.name.to_string()).collect();
    let labels: Vec<String> = meta
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let annotations = meta.leveled_annotations();

    let mut out = Outputs::new();
    out.set("version", meta.version.clone().unwrap_or_default());
    out.set("tags", image_tags.join(&seps.tags));
    out.set("tag-names", tag_names.join(&seps.tags));
    out.set("labels", labels.join(&seps.labels));
    out.set("annotations", annotations.join(&seps.annotations));
    out.set(
        "json",
        json_output(image_tags, tag_names, &labels, annotations),
    );
    out
}

/// The `json` output: the bytes of metadata-action's `JSON.stringify(meta.getJSON(levels))`, i.e.
/// `{"tags":[..],"tag-names":[..],"labels":{..},"annotations":[..]}` (current metadata-action
/// includes `tag-names`, in that position).
///
/// Its quirks are kept, because workflows read this with `fromJSON`: labels are re-split from
/// `key=value` text with `/([^=]*)=(.*)/` (the key ends at the first `=`, the value at the first
/// line break), and a JavaScript object lists integer-like keys first, in numeric order.
fn json_output(
    image_tags: Vec<String>,
    tag_names: Vec<String>,
    labels: &[String],
    annotations: Vec<String>,
) -> String {
    let mut label_map = Map::new();
    for label in labels {
        if let Some((key, rest)) = label.split_once('=') {
            let value = rest.split(['\n', '\r', '\u{2028}', '\u{2029}']).next();
            label_map.insert(key.to_owned(), Value::from(value.unwrap_or_default()));
        }
    }
    let mut root = Map::new();
    root.insert("tags".into(), Value::from(image_tags));
    root.insert("tag-names".into(), Value::from(tag_names));
    root.insert("labels".into(), Value::Object(js_key_order(label_map)));
    root.insert("annotations".into(), Value::from(annotations));
    // Serializing a map of strings cannot fail; fall back to the empty object all the same.
    serde_json::to_string(&Value::Object(root)).unwrap_or_else(|_| "{}".into())
}

/// Reorders keys the way a JavaScript object enumerates them: array indices (`"0"`, `"7"`, ...,
/// below 2^32 - 1) first in ascending order, then the other keys in insertion order.
fn js_key_order(map: Map<String, Value>) -> Map<String, Value> {
    let (mut indices, others): (Vec<_>, Vec<_>) = map
        .into_iter()
        .partition(|(k, _)| js_array_index(k).is_some());
    indices.sort_by_key(|(k, _)| js_array_index(k));
    indices.into_iter().chain(others).collect()
}

fn js_array_index(key: &str) -> Option<u32> {
    let canonical =
        key == "0" || (!key.starts_with('0') && key.bytes().all(|b| b.is_ascii_digit()));
    key.parse::<u32>()
        .ok()
        .filter(|n| canonical && *n != u32::MAX)
}

/// Environment copies of outputs, as metadata-action exports them: `DOCKER_METADATA_OUTPUT_<NAME>`
/// (upper-cased, every non-word character as `_`). The caller skips them when
/// `DOCKER_METADATA_SET_OUTPUT_ENV` is false, and writes them to `$GITHUB_ENV` with
/// [`write_github_output`].
pub fn env_exports(outputs: &Outputs) -> Outputs {
    outputs
        .iter()
        .map(|(name, value)| {
            let suffix: String = name
                .chars()
                .map(|c| match c {
                    'a'..='z' | 'A'..='Z' | '0'..='9' | '_' => c.to_ascii_uppercase(),
                    _ => '_',
                })
                .collect();
            (format!("DOCKER_METADATA_OUTPUT_{suffix}"), value.to_owned())
        })
        .collect()
}

/// Whether `name` may be written as an output or environment name: `[A-Za-z0-9_-]+`.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Appends `outputs` in GitHub's file-command format, always in the heredoc form
/// `name<<DELIMITER\nvalue\nDELIMITER\n`, with a delimiter that does not occur in the value.
///
/// The text is rendered first and written with one `write_all`, so an invalid name (anything but
/// `[A-Za-z0-9_-]+`, an `InvalidInput` error) writes nothing. Deterministic: the delimiter is
/// derived from the name and value (see [`delimiter`]).
pub fn write_github_output<W: io::Write>(w: &mut W, outputs: &Outputs) -> io::Result<()> {
    let mut text = String::new();
    for (name, value) in outputs.iter() {
        if !is_valid_name(name) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid output name {name:?}: expected [A-Za-z0-9_-]+"),
            ));
        }
        let delimiter = delimiter(name, value);
        text.push_str(name);
        text.push_str("<<");
        text.push_str(&delimiter);
        text.push('\n');
        text.push_str(value);
        text.push('\n');
        text.push_str(&delimiter);
        text.push('\n');
    }
    w.write_all(text.as_bytes())
}

/// `ghadelimiter_` (as @actions/core spells it) + the first 32 hex digits of
/// sha256(name, NUL, value[, attempt]); the first attempt the value does not contain wins. The
/// value cannot aim at a hash of itself, so the first attempt is the one used in practice.
fn delimiter(name: &str, value: &str) -> String {
    first_absent(value, |attempt| {
        let mut hasher = Sha256::new();
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update(value.as_bytes());
        if attempt > 0 {
            hasher.update(attempt.to_be_bytes());
        }
        let mut delimiter = String::from("ghadelimiter_");
        for byte in &hasher.finalize()[..16] {
            let _ = write!(delimiter, "{byte:02x}");
        }
        delimiter
    })
}

/// The first `candidate(0)`, `candidate(1)`, ... that does not occur in `value`. A value holds
/// fewer distinct substrings than there are distinct candidates, so this ends.
fn first_absent(value: &str, mut candidate: impl FnMut(u64) -> String) -> String {
    let mut attempt = 0u64;
    loop {
        let delimiter = candidate(attempt);
        if !value.contains(&delimiter) {
            return delimiter;
        }
        attempt = attempt.wrapping_add(1);
    }
}

#[cfg(test)]
#[path = "outputs_tests.rs"]
mod tests;
