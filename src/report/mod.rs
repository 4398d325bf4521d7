//! Results back to the workflow: `$GITHUB_OUTPUT`, `$GITHUB_STEP_SUMMARY` and workflow commands.
//!
//! Last stage of the data flow: `Meta` (and later the publish `Report`) -> [`outputs`] (named
//! values and the one file-command writer), [`summary`] (Markdown), [`commands`] (annotations,
//! masks, groups, and [`Untrusted`] for event data in log lines). Everything here renders into
//! memory or a caller-given writer; the caller opens the files and prints.

pub mod commands;
pub mod outputs;
pub mod summary;
pub mod verify;

pub use commands::{
    Annotation, Level, Untrusted, UntrustedMessage, add_mask, end_group, escape_data,
    escape_property, group,
};
pub use outputs::{Outputs, Separators, env_exports, tag_outputs, write_github_output};
pub use summary::{cell, code_span, md_escape, tag_summary};

/// Shared test data: a realistic `Meta` and values an attacker could put in labels or rules.
#[cfg(test)]
pub(crate) mod fixtures {
    use crate::meta::{ComputedTag, ImageName, Meta, TagKind, TagName};

    /// Two images, tags `v1.2.3`, `v1.2`, `v1`, `latest`, four labels, one annotation.
    pub(crate) fn sample_meta() -> Meta {
        let tag = |name: &str, kind, rule: &str| ComputedTag {
            name: TagName::new_unchecked(name.into()),
            kind,
            rule: rule.into(),
            version: Some("1.2.3".into()),
        };
        let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        Meta {
            version: Some("1.2.3".into()),
            images: vec![
                ImageName::new_unchecked("ghcr.io/octo/app".into()),
                ImageName::new_unchecked("docker.io/octo/app".into()),
            ],
            tags: vec![
                tag(
                    "v1.2.3",
                    TagKind::Release,
                    "type=semver,pattern=v{{version}}",
                ),
                tag(
                    "v1.2",
                    TagKind::Rolling,
                    "type=semver,pattern=v{{major}}.{{minor}}",
                ),
                tag("v1", TagKind::Rolling, "type=semver,pattern=v{{major}}"),
                tag("latest", TagKind::Rolling, "flavor latest=auto"),
            ],
            labels: vec![
                pair("org.opencontainers.image.description", "An app"),
                pair("org.opencontainers.image.licenses", "Apache-2.0"),
                pair("org.opencontainers.image.title", "app"),
                pair("org.opencontainers.image.version", "1.2.3"),
            ],
            annotations: vec![pair("org.opencontainers.image.title", "app")],
            annotation_levels: vec!["manifest".into()],
            warnings: vec!["type=sha: short SHA length 40 is above 12, using 12".into()],
            image_warnings: vec![],
        }
    }

    /// Values that try to forge outputs, commands, table cells or HTML.
    pub(crate) fn hostile_values() -> Vec<String> {
        [
            "x\n::set-output name=x::y",
            "x\nx=y",
            "x\nx<<EOF\ny\nEOF",
            "%0A::error::pwned%0D",
            "<<EOF",
            "EOF",
            "ghadelimiter_",
            "ghadelimiter_00000000000000000000000000000000",
            "line\r\nnext\r",
            "\r\n::add-mask::x\r\n",
            "a | b | c",
            "`code` ``` \\| \\",
            "<script>alert(1)</script>",
            "</details><img src=x onerror=alert(1)>",
            "\n\n| a | b |\n| --- | --- |",
            "##[set-output name=x;]y",
            "\u{1b}]8;;http://evil\u{7}link\u{1b}[0m\u{2028}\u{202e}",
            "",
            "\n",
            "trailing\n",
        ]
        .into_iter()
        .map(String::from)
        .chain([
            "é".repeat(10_000),
            format!("{}\n::error::late", "a".repeat(9_990)),
        ])
        .collect()
    }
}
pub mod cleanup;
pub mod publish;
