//! Report stage, step summary: `Meta` -> GitHub-flavoured Markdown appended to
//! `$GITHUB_STEP_SUMMARY`.
//!
//! Rule texts, label keys and values, versions and warnings come from users or the repository, so
//! each goes through [`md_escape`] or [`code_span`] (and [`cell`] inside a table): a hostile value
//! cannot end a table row, add a column, open a block, or inject HTML.

use std::fmt::Write as _;

use crate::meta::Meta;
use crate::report::commands::{clip, is_invisible};

/// How many characters of one value the summary shows before cutting it.
pub const SUMMARY_MAX_CHARS: usize = 1024;

/// The tag computation as Markdown: version, one table row per tag (kind and the rule that made
/// it), the full `image:tag` references, labels in a collapsed block, warnings.
pub fn tag_summary(meta: &Meta) -> String {
    let mut md = String::from("### Image tags\n\n");
    match meta.version.as_deref().filter(|v| !v.is_empty()) {
        Some(version) => {
            let _ = writeln!(md, "**Version:** {}\n", code_span(version));
        }
        None => md.push_str("**Version:** _none_\n\n"),
    }

    if meta.tags.is_empty() {
        md.push_str("No tags were computed.\n\n");
    } else {
        md.push_str("| Tag | Kind | Rule |\n| --- | --- | --- |\n");
        for tag in &meta.tags {
            let _ = writeln!(
                md,
                "| {} | {} | {} |",
                cell(&code_span(tag.name.as_str())),
                tag.kind,
                cell(&code_span(&tag.rule)),
            );
        }
        md.push('\n');
        if !meta.images.is_empty() {
            md.push_str("**References:**\n\n");
            md.push_str(&code_block(&meta.image_tags()));
            md.push('\n');
        }
    }

    if !meta.labels.is_empty() {
        let _ = writeln!(
            md,
            "<details>\n<summary>Labels ({})</summary>\n\n| Label | Value |\n| --- | --- |",
            meta.labels.len()
        );
        for (key, value) in &meta.labels {
            let _ = writeln!(
                md,
                "| {} | {} |",
                cell(&code_span(key)),
                cell(&md_escape(value))
            );
        }
        md.push_str("\n</details>\n\n");
    }

    md.push_str(&warnings(meta.image_warnings.iter().chain(&meta.warnings)));
    md
}

/// The `images` warnings alone, for a command that does not use the computed tags.
pub fn image_warnings(meta: &Meta) -> String {
    warnings(&meta.image_warnings)
}

fn warnings<'a>(warnings: impl IntoIterator<Item = &'a String>) -> String {
    let mut md = String::new();
    for warning in warnings {
        if md.is_empty() {
            md.push_str("**Warnings:**\n\n");
        }
        let _ = writeln!(md, "- {}", md_escape(warning));
    }
    if !md.is_empty() {
        md.push('\n');
    }
    md
}

/// `s` as inline Markdown text that renders literally, on one line and without HTML:
///
/// | input                     | output                          |
/// |---------------------------|---------------------------------|
/// | `&`, `<`, `>`, `\|`, `$`  | `&amp;` `&lt;` `&gt;` `&#124;` `&#36;` |
/// | `` \ ` * _ [ ] ~ # ``     | backslash-escaped               |
/// | `a\nb`, `a\r\nb`          | `a<br>b`                        |
/// | control, invisible chars  | U+FFFD                          |
/// | leading `-`, `+`, `=`, `1.`, spaces | escaped, so no list, heading or code block starts |
/// | `https://x.io/my_app`     | `<https://x.io/my_app>`         |
///
/// URLs become autolinks because GFM would link them anyway and then show any backslash
/// escape inside them literally; an autolink's text is taken as it is. Values longer than
/// [`SUMMARY_MAX_CHARS`] are cut with `…(+N bytes)`.
pub fn md_escape(s: &str) -> String {
    let (shown, cut_bytes) = clip(s, SUMMARY_MAX_CHARS);
    let mut out = String::with_capacity(shown.len() + 8);
    let mut leading = true;
    let mut prev: Option<char> = None;
    let mut i = 0;
    while let Some(c) = shown[i..].chars().next() {
        let rest = &shown[i..];
        let url = if prev.is_none_or(|p| !p.is_alphanumeric()) {
            url_len(rest)
        } else {
            0
        };
        if url > 0 {
            out.push('<');
            out.push_str(&rest[..url]);
            out.push('>');
            i += url;
            prev = rest[..url].chars().next_back();
            leading = false;
            continue;
        }
        let mut width = c.len_utf8();
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' => out.push_str("&#124;"),
            '$' => out.push_str("&#36;"),
            ' ' if leading => out.push_str("&#32;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '~' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '-' | '+' | '=' if leading => {
                out.push('\\');
                out.push(c);
            }
            '.' | ')'
                if leading_ordinal(&out)
                    && rest[1..].chars().next().is_none_or(char::is_whitespace) =>
            {
                out.push('\\');
                out.push(c);
            }
            '\r' | '\n' | '\u{2028}' | '\u{2029}' => {
                if rest.starts_with("\r\n") {
                    width = 2;
                }
                out.push_str("<br>");
            }
            c if is_invisible(c) => out.push('\u{fffd}'),
            c => out.push(c),
        }
        leading = leading && c == ' ';
        prev = Some(c);
        i += width;
    }
    if cut_bytes > 0 {
        let _ = write!(out, "…(+{cut_bytes} bytes)");
    }
    out
}

/// Length of the `http://` or `https://` URL that `s` starts with (0 if none): up to whitespace,
/// `<`, `>`, an invisible character or something an autolink would decode as an entity (`&lt;`),
/// less trailing punctuation (as GFM's autolinks do).
fn url_len(s: &str) -> usize {
    let scheme = ["http://", "https://"].into_iter().find(|scheme| {
        s.get(..scheme.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(scheme))
    });
    let Some(scheme) = scheme else { return 0 };
    let end = s
        .char_indices()
        .find(|&(i, c)| {
            c.is_whitespace() || c == '<' || c == '>' || is_invisible(c) || entity_at(&s[i..])
        })
        .map_or(s.len(), |(i, _)| i);
    let url =
        s[..end].trim_end_matches(['.', ',', ':', ';', '!', '?', ')', '\'', '"', '*', '_', '~']);
    if url.len() > scheme.len() {
        url.len()
    } else {
        0
    }
}

/// Whether `s` starts with an entity reference such as `&amp;` or `&#36;`.
fn entity_at(s: &str) -> bool {
    let Some(body) = s.strip_prefix('&') else {
        return false;
    };
    let body = body.strip_prefix('#').unwrap_or(body);
    let name = body.bytes().take_while(u8::is_ascii_alphanumeric).count();
    name > 0 && body.as_bytes().get(name) == Some(&b';')
}

/// Whether `out` so far is only digits (up to 9, after escaped leading spaces), so that a `.` or
/// `)` now, followed by a blank, would start an ordered list.
fn leading_ordinal(out: &str) -> bool {
    let digits = out.trim_start_matches("&#32;");
    !digits.is_empty() && digits.len() <= 9 && digits.bytes().all(|b| b.is_ascii_digit())
}

/// `s` as a code span: a fence longer than any run of backticks inside, padded with a space when
/// the text starts or ends with a backtick or a space; line breaks become spaces, control and
/// invisible characters U+FFFD. Empty text gives an empty string (a code span cannot be empty).
/// Cut like [`md_escape`]. Inside a table, pass the result through [`cell`].
pub fn code_span(s: &str) -> String {
    let (shown, cut_bytes) = clip(s, SUMMARY_MAX_CHARS);
    let text: String = shown
        .chars()
        .map(|c| match c {
            '\r' | '\n' | '\u{2028}' | '\u{2029}' => ' ',
            c if is_invisible(c) => '\u{fffd}',
            c => c,
        })
        .collect();
    if text.is_empty() {
        return String::new();
    }
    let fence = "`".repeat(longest_backtick_run(&text) + 1);
    let pad = text.starts_with('`')
        || text.ends_with('`')
        || (text.starts_with(' ') && text.ends_with(' ') && text.bytes().any(|b| b != b' '));
    let pad = if pad { " " } else { "" };
    let cut = if cut_bytes > 0 {
        format!("…(+{cut_bytes} bytes)")
    } else {
        String::new()
    };
    format!("{fence}{pad}{text}{pad}{fence}{cut}")
}

fn longest_backtick_run(s: &str) -> usize {
    s.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// Inline Markdown made safe for a table cell: every `|` becomes `\|`. GFM splits rows on
/// unescaped pipes before parsing inlines and then drops the backslash of each `\|`, even inside
/// code spans, so the cell shows exactly the inline content.
pub fn cell(inline: &str) -> String {
    inline.replace('|', "\\|")
}

/// A fenced code block with one line per entry (entries are cleaned like code spans).
pub fn code_block(lines: &[String]) -> String {
    let body: Vec<String> = lines
        .iter()
        .map(|l| {
            l.chars()
                .map(|c| if is_invisible(c) { '\u{fffd}' } else { c })
                .collect()
        })
        .collect();
    let longest = body
        .iter()
        .map(|l| longest_backtick_run(l))
        .max()
        .unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}text\n{}\n{fence}\n", body.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::{ComputedTag, TagKind, TagName};
    use crate::report::fixtures::{hostile_values, sample_meta};

    #[test]
    fn summary_snapshot() {
        insta::assert_snapshot!("tag_summary", tag_summary(&sample_meta()));
    }

    #[test]
    fn summary_without_tags_or_version() {
        insta::assert_snapshot!(tag_summary(&Meta::default()), @r"
        ### Image tags

        **Version:** _none_

        No tags were computed.
        ");
    }

    #[test]
    fn summary_with_hostile_values_snapshot() {
        let mut meta = sample_meta();
        meta.tags.push(ComputedTag {
            name: TagName::new_unchecked("pr-7".into()),
            kind: TagKind::Floating,
            rule: "type=raw,value=`x` | <script>alert(1)</script>\n| a | b |".into(),
            version: None,
        });
        meta.labels.push((
            "evil|key\n".into(),
            "x\n\n| a | b |\r\n<img src=x onerror=alert(1)> **bold** [l](http://e) $m$ &amp;"
                .into(),
        ));
        meta.warnings.push("# heading\n- item".into());
        insta::assert_snapshot!("tag_summary_hostile", tag_summary(&meta));
    }

    #[test]
    fn md_escape_examples() {
        insta::assert_snapshot!(md_escape("a|b<c>&d"), @"a&#124;b&lt;c&gt;&amp;d");
        insta::assert_snapshot!(md_escape(r"\`*_[]~#$"), @r"\\\`\*\_\[\]\~\#&#36;");
        insta::assert_snapshot!(md_escape("a\nb\r\nc\rd"), @"a<br>b<br>c<br>d");
        insta::assert_snapshot!(md_escape("- x"), @r"\- x");
        insta::assert_snapshot!(md_escape("  12. x 3. y"), @r"&#32;&#32;12\. x 3. y");
        insta::assert_snapshot!(md_escape("1) x"), @r"1\) x");
        insta::assert_snapshot!(md_escape("7."), @r"7\.");
        insta::assert_snapshot!(md_escape("1.2.3"), @"1.2.3");
        insta::assert_snapshot!(md_escape("v1.2.3-rc.1"), @"v1.2.3-rc.1");
        insta::assert_snapshot!(md_escape("\u{1b}[0m\u{202e}"), @r"�\[0m�");
        insta::assert_snapshot!(md_escape("https://github.com/octo/my_app"), @"<https://github.com/octo/my_app>");
        insta::assert_snapshot!(
            md_escape("see (HTTPS://x.io/a_b|c), not x_https://y.io or http://"),
            @r"see (<HTTPS://x.io/a_b|c>), not x\_<https://y.io> or http://"
        );
        insta::assert_snapshot!(md_escape("http://e\u{1b}<x>"), @"<http://e>�&lt;x&gt;");
        insta::assert_snapshot!(md_escape("http://e/?a=1&b=2&lt;"), @"<http://e/?a=1&b=2>&amp;lt;");
    }

    #[test]
    fn code_span_examples() {
        insta::assert_snapshot!(code_span("type=semver,pattern={{version}}"), @"`type=semver,pattern={{version}}`");
        insta::assert_snapshot!(code_span("a`b"), @"``a`b``");
        insta::assert_snapshot!(code_span("`a``"), @"``` `a`` ```");
        insta::assert_snapshot!(code_span(" a "), @"`  a  `");
        insta::assert_snapshot!(code_span("a\nb"), @"`a b`");
        assert_eq!(code_span(""), "");
        insta::assert_snapshot!(cell(&code_span("a|b")), @r"`a\|b`");
    }

    /// The same meta with `value` as a tag rule, a label key and value, and a warning.
    fn meta_with(value: &str) -> Meta {
        let mut meta = sample_meta();
        meta.labels = vec![(value.to_owned(), value.to_owned())];
        meta.tags[0].rule = value.to_owned();
        meta.warnings = vec![value.to_owned()];
        meta
    }

    /// Per line: the number of pipes GFM sees as cell separators (not preceded by `\`).
    fn table_shape(md: &str) -> Vec<usize> {
        md.lines()
            .map(|line| {
                let b = line.as_bytes();
                (0..b.len())
                    .filter(|&i| b[i] == b'|' && (i == 0 || b[i - 1] != b'\\'))
                    .count()
            })
            .collect()
    }

    #[test]
    fn hostile_values_cannot_break_the_table() {
        let benign = table_shape(&tag_summary(&meta_with("x")));
        for value in hostile_values() {
            let md = tag_summary(&meta_with(&value));
            assert_eq!(table_shape(&md), benign, "{md}");
            assert!(!md.contains('\r'), "{md}");
            let mut text = md_escape(&value).replace("<br>", "");
            while let Some(start) = text.find("<http") {
                let end = text[start..]
                    .find('>')
                    .map_or(text.len(), |e| start + e + 1);
                let link = text[start + 1..end - 1].to_owned();
                assert!(!link.contains(char::is_whitespace), "{link:?}");
                text.replace_range(start..end, "");
            }
            assert!(!text.contains(['<', '>', '|']), "{text}");
        }
    }

    #[test]
    fn long_values_are_cut() {
        let long = "a".repeat(10_000);
        let escaped = md_escape(&long);
        assert_eq!(escaped, format!("{}…(+8976 bytes)", "a".repeat(1024)));
        assert!(code_span(&long).ends_with("`…(+8976 bytes)"));
    }
}
