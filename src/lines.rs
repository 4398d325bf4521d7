//! Input lists: multi-line inputs (`tags`, `images`, ...) -> numbered lines -> CSV fields -> attributes.
//!
//! Each non-empty line is one entry; a line whose first non-blank character is `#` is a comment.
//! Fields are comma-separated; a field may be double-quoted (`"pattern=\d{1,3},x"`), as may the
//! value after `key=` (`pattern="a,b"`), with `""` for a literal quote. Unlike docker/metadata-action,
//! a quoted comma is never re-split, which is what its documentation promises.

use std::fmt;

/// One entry of a multi-line input, with its 1-based line number for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputLine {
    pub number: usize,
    pub text: String,
}

impl fmt::Display for InputLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {} `{}`", self.number, self.text)
    }
}

/// Splits a multi-line input into its entries: trimmed, without blank lines and `#` comments.
pub fn input_lines(raw: &str) -> Vec<InputLine> {
    raw.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let text = line.trim();
            (!text.is_empty() && !text.starts_with('#')).then(|| InputLine {
                number: i + 1,
                text: text.to_string(),
            })
        })
        .collect()
}

/// A quote that was opened and never closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unterminated double quote starting at column {column}")]
pub struct UnterminatedQuote {
    pub column: usize,
}

/// Splits one entry into its comma-separated fields, honouring double quotes. Fields are trimmed.
pub fn split_fields(line: &str) -> Result<Vec<String>, UnterminatedQuote> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.char_indices().peekable();
    let mut quote_start: Option<usize> = None;
    while let Some((i, c)) = chars.next() {
        match (quote_start, c) {
            (Some(_), '"') => {
                if chars.peek().is_some_and(|&(_, next)| next == '"') {
                    chars.next();
                    field.push('"');
                } else {
                    quote_start = None;
                }
            }
            (Some(_), c) => field.push(c),
            (None, '"') if opens_quote(&field) => quote_start = Some(i),
            (None, ',') => fields.push(std::mem::take(&mut field).trim().to_string()),
            (None, c) => field.push(c),
        }
    }
    if let Some(start) = quote_start {
        return Err(UnterminatedQuote { column: start + 1 });
    }
    fields.push(field.trim().to_string());
    Ok(fields)
}

/// A quote opens a quoted section at the start of a field or right after its first `=`.
fn opens_quote(field_so_far: &str) -> bool {
    let before = field_so_far.trim_start();
    before.is_empty() || (before.ends_with('=') && before.matches('=').count() == 1)
}

/// Splits a field at its first `=` into a lower-cased key and a trimmed value. A field without
/// `=` (or starting with one) has no key.
pub fn split_attr(field: &str) -> (Option<String>, &str) {
    match field.find('=') {
        Some(at) if at > 0 => (
            Some(field[..at].trim().to_ascii_lowercase()),
            field[at + 1..].trim(),
        ),
        _ => (None, field.trim()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_skip_blanks_and_comments_and_keep_numbers() {
        let lines =
            input_lines("\n  type=ref,event=pr \n# comment\n  # indented comment\nfoo#bar\r\n");
        assert_eq!(
            lines,
            vec![
                InputLine {
                    number: 2,
                    text: "type=ref,event=pr".into()
                },
                InputLine {
                    number: 5,
                    text: "foo#bar".into()
                },
            ]
        );
    }

    #[test]
    fn fields_split_on_commas_and_trim() {
        assert_eq!(
            split_fields("type=raw, value=foo ,x").unwrap(),
            ["type=raw", "value=foo", "x"]
        );
        assert_eq!(split_fields("").unwrap(), [""]);
    }

    #[test]
    fn quoted_field_keeps_its_commas() {
        let fields =
            split_fields(r#"type=match,"pattern=\d{1,3}.\d{1,3}.\d{1,3}",group=0"#).unwrap();
        assert_eq!(
            fields,
            ["type=match", r"pattern=\d{1,3}.\d{1,3}.\d{1,3}", "group=0"]
        );
    }

    #[test]
    fn quoted_value_after_key_keeps_its_commas() {
        let fields = split_fields(r#"type=match,pattern="v(\d{1,3})",group=1"#).unwrap();
        assert_eq!(fields, ["type=match", r"pattern=v(\d{1,3})", "group=1"]);
    }

    #[test]
    fn doubled_quote_is_a_literal_quote() {
        assert_eq!(split_fields(r#""value=a""b""#).unwrap(), [r#"value=a"b"#]);
    }

    #[test]
    fn quote_inside_a_value_is_literal() {
        assert_eq!(split_fields(r#"value=a"b"#).unwrap(), [r#"value=a"b"#]);
    }

    #[test]
    fn unterminated_quote_is_an_error_with_its_column() {
        assert_eq!(
            split_fields(r#"type=raw,"value=x"#),
            Err(UnterminatedQuote { column: 10 })
        );
    }

    #[test]
    fn attrs_split_at_the_first_equals() {
        assert_eq!(split_attr("Pattern = a=b"), (Some("pattern".into()), "a=b"));
        assert_eq!(split_attr("foo"), (None, "foo"));
        assert_eq!(split_attr("=foo"), (None, "=foo"));
        assert_eq!(split_attr("prefix="), (Some("prefix".into()), ""));
    }
}
