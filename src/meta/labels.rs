//! OCI labels and annotations: the standard `org.opencontainers.image.*` set from the repository
//! and the run, overridden and extended by the `labels` / `annotations` inputs.

use super::error::MetaError;
use super::expr;
use super::scope::GlobalScope;
use crate::lines::InputLine;
use std::cmp::Ordering;
use std::collections::HashMap;

/// The standard pairs plus the custom lines (rendered with global expressions), de-duplicated
/// (a later value wins) and sorted by key the way JavaScript's `localeCompare` sorts them.
pub fn oci_pairs(
    scope: &GlobalScope<'_>,
    version: Option<&str>,
    custom: &[InputLine],
    input: &'static str,
) -> Result<Vec<(String, String)>, MetaError> {
    let ctx = scope.ctx;
    let mut pairs: Vec<(String, String)> = vec![
        (
            "org.opencontainers.image.title".into(),
            ctx.repo.name.clone(),
        ),
        (
            "org.opencontainers.image.description".into(),
            ctx.repo.description.clone(),
        ),
        (
            "org.opencontainers.image.url".into(),
            ctx.repo.html_url.clone(),
        ),
        (
            "org.opencontainers.image.source".into(),
            ctx.repo.html_url.clone(),
        ),
        (
            "org.opencontainers.image.version".into(),
            version.unwrap_or_default().to_string(),
        ),
        (
            "org.opencontainers.image.created".into(),
            iso_millis(scope.now),
        ),
        ("org.opencontainers.image.revision".into(), ctx.sha.clone()),
        (
            "org.opencontainers.image.licenses".into(),
            ctx.repo.license.clone(),
        ),
    ];
    for line in custom {
        let rendered =
            expr::render(&line.text, scope).map_err(|e| MetaError::line(input, line, e.0))?;
        if let Some((key, value)) = rendered.split_once('=') {
            pairs.push((key.to_string(), value.to_string()));
        }
    }
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut unique: Vec<(String, String)> = Vec::with_capacity(pairs.len());
    for (key, value) in pairs {
        // One label per line in the `labels` and `annotations` outputs: a line break in a value
        // (a repository description can hold one) would start a label of its own.
        let value = one_line(value);
        match index.get(&key) {
            Some(&at) => unique[at].1 = value,
            None => {
                index.insert(key.clone(), unique.len());
                unique.push((key, value));
            }
        }
    }
    unique.sort_by(|a, b| locale_compare(&a.0, &b.0));
    Ok(unique)
}

/// `value` with each line break (CR, LF, CRLF) turned into a space.
fn one_line(value: String) -> String {
    if !value.contains(['\r', '\n']) {
        return value;
    }
    value.replace("\r\n", " ").replace(['\r', '\n'], " ")
}

/// `Date.prototype.toISOString()`: UTC with milliseconds (`2020-01-10T00:30:00.000Z`).
pub fn iso_millis(at: jiff::Timestamp) -> String {
    let t = at.to_zoned_datetime(jiff::tz::TimeZone::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// An approximation of ICU's root collation (what `localeCompare` uses) for label keys:
/// punctuation before digits before letters, letters compared case-insensitively first, then
/// lower case before upper case.
pub fn locale_compare(a: &str, b: &str) -> Ordering {
    let primary = |s: &str| s.chars().map(collation_weight).collect::<Vec<_>>();
    primary(a).cmp(&primary(b)).then_with(|| {
        let tertiary = |s: &str| s.chars().map(|c| c.is_uppercase()).collect::<Vec<_>>();
        tertiary(a).cmp(&tertiary(b))
    })
}

fn collation_weight(c: char) -> (u8, u32) {
    const PUNCTUATION: &str = " _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$";
    if let Some(at) = PUNCTUATION.find(c) {
        (0, at as u32)
    } else if c.is_ascii_digit() {
        (1, c as u32)
    } else if c.is_alphabetic() {
        (2, c.to_lowercase().next().unwrap_or(c) as u32)
    } else {
        (3, c as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locale_order_matches_javascript_for_label_keys() {
        let mut keys = vec![
            "org.opencontainers.image.version",
            "Maintainer",
            "com.example-b",
            "com.example.a",
            "maintainer",
            "a1",
            "a_b",
            "org.opencontainers.image.created",
        ];
        keys.sort_by(|a, b| locale_compare(a, b));
        assert_eq!(
            keys,
            [
                "a_b",
                "a1",
                "com.example-b",
                "com.example.a",
                "maintainer",
                "Maintainer",
                "org.opencontainers.image.created",
                "org.opencontainers.image.version"
            ]
        );
    }

    #[test]
    fn iso_millis_is_javascript_to_iso_string() {
        let t: jiff::Timestamp = "2020-01-10T00:30:00.123456Z".parse().unwrap();
        assert_eq!(iso_millis(t), "2020-01-10T00:30:00.123Z");
    }
}
