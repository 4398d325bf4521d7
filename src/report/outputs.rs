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
mod tests {
    use super::*;
    use crate::report::fixtures::{hostile_values, sample_meta};
    use proptest::prelude::*;

    /// An independent reader of the file-command format, following the runner's rules: lines end
    /// at `\n`; `NAME=VALUE`, or `NAME<<DELIM` then the exact text up to the first line equal to
    /// `DELIM`. Errors where the runner would fail the step.
    fn parse_file_commands(text: &str) -> Result<Vec<(String, String)>, String> {
        let mut out = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            let (line, after) = rest.split_once('\n').unwrap_or((rest, ""));
            rest = after;
            if line.is_empty() {
                continue;
            }
            let eq = line.find('=');
            let heredoc = line.find("<<");
            match (eq, heredoc) {
                (Some(e), h) if h.is_none_or(|h| e < h) => {
                    if e == 0 {
                        return Err(format!("empty name: {line:?}"));
                    }
                    out.push((line[..e].to_owned(), line[e + 1..].to_owned()));
                }
                (_, Some(h)) => {
                    let (name, delim) = (&line[..h], &line[h + 2..]);
                    if name.is_empty() || delim.is_empty() {
                        return Err(format!("empty name or delimiter: {line:?}"));
                    }
                    let (mut scan, mut value_end) = (0, 0);
                    loop {
                        if scan >= rest.len() {
                            return Err(format!("delimiter {delim:?} not found"));
                        }
                        let nl = rest[scan..].find('\n').map(|n| scan + n);
                        let line_end = nl.unwrap_or(rest.len());
                        if &rest[scan..line_end] == delim {
                            out.push((name.to_owned(), rest[..value_end].to_owned()));
                            rest = &rest[nl.map_or(line_end, |n| n + 1)..];
                            break;
                        }
                        let Some(nl) = nl else {
                            return Err("EOF marker missing new line".into());
                        };
                        value_end = nl;
                        scan = nl + 1;
                    }
                }
                _ => return Err(format!("invalid line {line:?}")),
            }
        }
        Ok(out)
    }

    fn render(outputs: &Outputs) -> String {
        let mut buf = Vec::new();
        write_github_output(&mut buf, outputs).expect("in-memory write");
        String::from_utf8(buf).expect("utf-8")
    }

    fn pairs(outputs: &Outputs) -> Vec<(String, String)> {
        outputs
            .iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect()
    }

    #[test]
    fn test_parser_reads_the_runner_examples() {
        let text = "A=1\nB<<EOF\nx\n\ny\nEOF\nC<<EOF\nEOF\nD<<EOF\n\nEOF\n";
        let parsed = parse_file_commands(text).expect("valid");
        let expected = [("A", "1"), ("B", "x\n\ny"), ("C", ""), ("D", "")];
        let expected: Vec<_> = expected
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        assert_eq!(parsed, expected);
        assert!(parse_file_commands("A<<EOF\nx\n").is_err());
        assert!(parse_file_commands("A<<EOF\nx").is_err());
        assert!(parse_file_commands("<<EOF\nEOF\n").is_err());
        assert_eq!(
            parse_file_commands("A<<EOF\nx\nEOF"),
            Ok(vec![("A".into(), "x".into())])
        );
    }

    #[test]
    fn tag_outputs_follow_metadata_action() {
        let out = tag_outputs(&sample_meta(), &Separators::default());
        let names: Vec<&str> = out.iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "version",
                "tags",
                "tag-names",
                "labels",
                "annotations",
                "json"
            ]
        );
        assert_eq!(out.get("version"), Some("1.2.3"));
        assert_eq!(out.get("tag-names"), Some("v1.2.3\nv1.2\nv1\nlatest"));
        assert_eq!(
            out.get("annotations"),
            Some("manifest:org.opencontainers.image.title=app")
        );
        insta::assert_snapshot!(out.get("json").unwrap_or_default(), @r#"{"tags":["ghcr.io/octo/app:v1.2.3","ghcr.io/octo/app:v1.2","ghcr.io/octo/app:v1","ghcr.io/octo/app:latest","docker.io/octo/app:v1.2.3","docker.io/octo/app:v1.2","docker.io/octo/app:v1","docker.io/octo/app:latest"],"tag-names":["v1.2.3","v1.2","v1","latest"],"labels":{"org.opencontainers.image.description":"An app","org.opencontainers.image.licenses":"Apache-2.0","org.opencontainers.image.title":"app","org.opencontainers.image.version":"1.2.3"},"annotations":["manifest:org.opencontainers.image.title=app"]}"#);
    }

    #[test]
    fn separators_and_empty_meta() {
        let seps = Separators {
            tags: ",".into(),
            labels: ";".into(),
            annotations: " ".into(),
        };
        let out = tag_outputs(&sample_meta(), &seps);
        assert!(
            out.get("tags")
                .unwrap_or_default()
                .starts_with("ghcr.io/octo/app:v1.2.3,ghcr.io/octo/app:v1.2,")
        );
        assert_eq!(out.get("tag-names"), Some("v1.2.3,v1.2,v1,latest"));
        assert!(out.get("labels").unwrap_or_default().contains(";"));

        let empty = tag_outputs(&Meta::default(), &Separators::default());
        assert_eq!(empty.get("version"), Some(""));
        assert_eq!(empty.get("tags"), Some(""));
        assert_eq!(
            empty.get("json"),
            Some(r#"{"tags":[],"tag-names":[],"labels":{},"annotations":[]}"#)
        );
    }

    #[test]
    fn json_keeps_javascript_quirks() {
        let meta = Meta {
            labels: vec![
                ("b".into(), "1".into()),
                ("10".into(), "ten".into()),
                ("a".into(), "two\nlines".into()),
                ("2".into(), "two".into()),
                ("01".into(), "not an index".into()),
                ("k=x".into(), "y".into()),
                ("q".into(), "\u{1}\"\\".into()),
            ],
            ..Meta::default()
        };
        let out = tag_outputs(&meta, &Separators::default());
        insta::assert_snapshot!(out.get("json").unwrap_or_default(), @r#"{"tags":[],"tag-names":[],"labels":{"2":"two","10":"ten","b":"1","a":"two","01":"not an index","k":"x=y","q":"\u0001\"\\"},"annotations":[]}"#);
    }

    #[test]
    fn github_output_snapshot() {
        let out = tag_outputs(&sample_meta(), &Separators::default());
        let text = render(&out);
        insta::assert_snapshot!("github_output", text);
        assert_eq!(parse_file_commands(&text), Ok(pairs(&out)));
    }

    #[test]
    fn env_exports_use_metadata_action_names() {
        let out = tag_outputs(&sample_meta(), &Separators::default());
        let env = env_exports(&out);
        let names: Vec<&str> = env.iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "DOCKER_METADATA_OUTPUT_VERSION",
                "DOCKER_METADATA_OUTPUT_TAGS",
                "DOCKER_METADATA_OUTPUT_TAG_NAMES",
                "DOCKER_METADATA_OUTPUT_LABELS",
                "DOCKER_METADATA_OUTPUT_ANNOTATIONS",
                "DOCKER_METADATA_OUTPUT_JSON",
            ]
        );
        assert_eq!(env.get("DOCKER_METADATA_OUTPUT_JSON"), out.get("json"));
        let text = render(&env);
        assert_eq!(parse_file_commands(&text), Ok(pairs(&env)));
    }

    #[test]
    fn hostile_label_values_round_trip_exactly() {
        let mut meta = sample_meta();
        for (i, value) in hostile_values().into_iter().enumerate() {
            meta.labels.push((format!("evil.{i}"), value));
        }
        let out = tag_outputs(&meta, &Separators::default());
        let text = render(&out);
        let parsed = parse_file_commands(&text).expect("runner would accept the file");
        assert_eq!(parsed, pairs(&out));
        assert_eq!(parsed.len(), 6, "no extra outputs: {parsed:?}");
        assert!(!parsed.iter().any(|(n, _)| n == "x"));
    }

    #[test]
    fn hostile_values_as_their_own_outputs_round_trip() {
        let out: Outputs = hostile_values()
            .into_iter()
            .enumerate()
            .map(|(i, v)| (format!("out-{i}"), v))
            .collect();
        assert_eq!(parse_file_commands(&render(&out)), Ok(pairs(&out)));
    }

    #[test]
    fn invalid_names_are_refused_and_nothing_is_written() {
        for name in ["", "a b", "a<<b", "a=b", "x\ny", "ä"] {
            let mut out = Outputs::new();
            out.set("ok", "1");
            out.set(name, "v");
            let mut buf = Vec::new();
            let err = write_github_output(&mut buf, &out).expect_err(name);
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
            assert!(buf.is_empty());
        }
    }

    #[test]
    fn delimiter_is_deterministic_and_absent_from_the_value() {
        let d = delimiter("tags", "a\nb");
        assert_eq!(d, delimiter("tags", "a\nb"));
        assert_ne!(d, delimiter("labels", "a\nb"));
        assert!(d.starts_with("ghadelimiter_") && d.len() == "ghadelimiter_".len() + 32);
        let chosen = first_absent("xx D0 D1 yy", |n| format!("D{n}"));
        assert_eq!(chosen, "D2");
    }

    #[test]
    fn set_replaces_in_place() {
        let mut out = Outputs::new();
        out.set("a", "1");
        out.set("b", "2");
        out.set("a", "3");
        assert_eq!(
            pairs(&out),
            [("a".into(), "3".into()), ("b".into(), "2".into())]
        );
        assert_eq!(out.len(), 2);
        assert!(!out.is_empty());
    }

    fn value_strategy() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[\\n\\r=<a-zA-Z_%:]{0,40}",
            prop::collection::vec(
                prop_oneof![
                    Just("\n".to_owned()),
                    Just("\r\n".to_owned()),
                    Just("ghadelimiter_".to_owned()),
                    Just("<<EOF".to_owned()),
                    Just("EOF".to_owned()),
                    Just("::set-output name=x::y".to_owned()),
                    any::<String>(),
                ],
                0..12
            )
            .prop_map(|parts| parts.concat()),
        ]
    }

    proptest! {
        #[test]
        fn any_values_round_trip(
            entries in prop::collection::vec(("[A-Za-z0-9_-]{1,12}", value_strategy()), 0..8)
        ) {
            let out: Outputs = entries.into_iter().collect();
            let parsed = parse_file_commands(&render(&out));
            prop_assert_eq!(parsed, Ok(pairs(&out)));
        }
    }
}
