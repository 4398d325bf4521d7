//! Report stage, workflow commands: annotations, masks and log groups as the stdout lines the
//! runner parses, escaped as @actions/core escapes them; and [`Untrusted`], for echoing event data
//! (branch names, PR titles) into the log without it being parsed as a command, and
//! [`UntrustedMessage`], for whole error messages that may quote such data.

use std::fmt::{self, Write as _};

/// Escapes a command's message as @actions/core's `escapeData` does: `%`, `\r`, `\n`.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a command property as @actions/core's `escapeProperty` does: `%`, `\r`, `\n`, `:`, `,`.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// How loudly an [`Annotation`] is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
    Notice,
    Debug,
}

impl Level {
    fn command(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Notice => "notice",
            Level::Debug => "debug",
        }
    }
}

/// One annotation; its `Display` is the whole command line (without the trailing newline), e.g.
/// `::error title=Publish failed::tag v1.2.3 already points at sha256:...`.
///
/// | title            | message   | line                           |
/// |------------------|-----------|--------------------------------|
/// | `None`           | `a\nb`    | `::warning::a%0Ab`             |
/// | `Some("x: y,z")` | `50%`     | `::error title=x%3A y%2Cz::50%25` |
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    pub level: Level,
    /// Omitted when `None` or empty, as @actions/core omits empty properties.
    pub title: Option<String>,
    pub message: String,
}

impl Annotation {
    pub fn new(level: Level, message: impl Into<String>) -> Self {
        Annotation {
            level,
            title: None,
            message: message.into(),
        }
    }
    pub fn error(message: impl Into<String>) -> Self {
        Self::new(Level::Error, message)
    }
    pub fn warning(message: impl Into<String>) -> Self {
        Self::new(Level::Warning, message)
    }
    pub fn notice(message: impl Into<String>) -> Self {
        Self::new(Level::Notice, message)
    }
    pub fn debug(message: impl Into<String>) -> Self {
        Self::new(Level::Debug, message)
    }
    pub fn with_title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }
}

impl fmt::Display for Annotation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "::{}", self.level.command())?;
        if let Some(title) = self.title.as_deref().filter(|t| !t.is_empty()) {
            write!(f, " title={}", escape_property(title))?;
        }
        write!(f, "::{}", escape_data(&self.message))
    }
}

/// `::add-mask::<secret>`: the runner replaces the value with `***` in all later log output.
pub fn add_mask(secret: &str) -> String {
    format!("::add-mask::{}", escape_data(secret))
}

/// `::group::<name>`: starts a foldable log group, ended by [`end_group`].
pub fn group(name: &str) -> String {
    format!("::group::{}", escape_data(name))
}

pub fn end_group() -> &'static str {
    "::endgroup::"
}

/// How many characters of an untrusted value are shown before it is cut.
pub const UNTRUSTED_MAX_CHARS: usize = 256;

/// A value from the event (branch name, PR title, label value) made safe for one log line.
///
/// The runner reads stdout line by line and runs `::cmd::` at the start of a line (after
/// whitespace) and the legacy `##[cmd]` anywhere in it. So the `Display` of this wrapper:
///
/// | input                 | shown                    | why                               |
/// |-----------------------|--------------------------|-----------------------------------|
/// | `a\nb`, `\r`, `\t`    | `a\nb`, `\r`, `\t`       | no raw line breaks or tabs        |
/// | `\u{1b}[31m`, U+2028  | `\u{1b}[31m`, `\u{2028}` | control, separator, bidi, invisible characters |
/// | `a\b`                 | `a\\b`                   | so escapes stay unambiguous       |
/// | `::set-output`        | `\u{3a}:set-output`      | a leading `:` (after blanks)      |
/// | `x ##[error]`         | `x ##\u{5b}error]`       | `[` right after `#`               |
/// | 300 chars             | 256 chars `…(+N bytes)`  | cut on a character boundary       |
///
/// "Blanks" and "right after" skip any character outside ASCII that is not alphanumeric, because
/// the runner compares prefixes culture-sensitively, where such characters may be ignored.
#[derive(Debug, Clone, Copy)]
pub struct Untrusted<'a>(pub &'a str);

impl fmt::Display for Untrusted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (shown, cut_bytes) = clip(self.0, UNTRUSTED_MAX_CHARS);
        write_neutralised(f, shown)?;
        if cut_bytes > 0 {
            write!(f, "…(+{cut_bytes} bytes)")?;
        }
        Ok(())
    }
}

/// A message of several lines that may quote untrusted text (an error naming a tag, a registry's
/// answer), shown whole: each `\n` (or `\r\n`) is a line break, and each line is neutralised as
/// [`Untrusted`] neutralises its one line, but nothing is cut.
///
/// | input                    | shown                          |
/// |--------------------------|--------------------------------|
/// | `refused:\na\r\nb`       | `refused:` / `a` / `b` (three lines) |
/// | `x\n::error::pwned`      | `x` / `\u{3a}:error::pwned`    |
/// | `a\rb`, `\u{1b}[31m`     | `a\rb`, `\u{1b}[31m`           |
/// | 300 chars                | 300 chars                      |
#[derive(Debug, Clone, Copy)]
pub struct UntrustedMessage<'a>(pub &'a str);

impl fmt::Display for UntrustedMessage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, line) in self.0.split('\n').enumerate() {
            if i > 0 {
                f.write_char('\n')?;
            }
            write_neutralised(f, line.strip_suffix('\r').unwrap_or(line))?;
        }
        Ok(())
    }
}

/// Writes `text` as one log line the runner cannot read a command from (see [`Untrusted`]).
fn write_neutralised(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    let mut at_line_start = true;
    let mut after_hash = false;
    for c in text.chars() {
        match c {
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            '\\' => f.write_str("\\\\")?,
            ':' if at_line_start => f.write_str("\\u{3a}")?,
            '[' if after_hash => f.write_str("\\u{5b}")?,
            c if is_invisible(c) => write!(f, "\\u{{{:x}}}", u32::from(c))?,
            c => f.write_char(c)?,
        }
        let skippable = !c.is_ascii() && !c.is_alphanumeric() && !is_invisible(c);
        if !skippable {
            at_line_start = at_line_start && c == ' ';
            after_hash = c == '#';
        }
    }
    Ok(())
}

/// Characters a reader cannot see or that move the cursor: controls (C0, DEL, C1), line and
/// paragraph separators, bidi controls, zero-width and other invisible formatting characters.
pub(crate) fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00ad}'
                | '\u{034f}'
                | '\u{061c}'
                | '\u{115f}'
                | '\u{1160}'
                | '\u{17b4}'
                | '\u{17b5}'
                | '\u{180b}'..='\u{180f}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}'
                | '\u{3164}'
                | '\u{feff}'
                | '\u{ffa0}'
                | '\u{fff9}'..='\u{fffb}'
                | '\u{1d173}'..='\u{1d17a}'
                | '\u{e0000}'..='\u{e007f}'
        )
}

/// The first `max_chars` characters of `s`, and how many bytes were left out.
pub(crate) fn clip(s: &str, max_chars: usize) -> (&str, usize) {
    match s.char_indices().nth(max_chars) {
        Some((end, _)) => (&s[..end], s.len() - end),
        None => (s, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::hostile_values;
    use proptest::prelude::*;

    fn untrusted(s: &str) -> String {
        Untrusted(s).to_string()
    }

    #[test]
    fn escaping_matches_actions_core() {
        assert_eq!(escape_data("50%\r\n:,"), "50%25%0D%0A:,");
        assert_eq!(escape_property("50%\r\n:,"), "50%25%0D%0A%3A%2C");
        assert_eq!(escape_data("%0A"), "%250A");
    }

    #[test]
    fn annotations_render_as_commands() {
        insta::assert_snapshot!(Annotation::warning("a\nb").to_string(), @"::warning::a%0Ab");
        insta::assert_snapshot!(
            Annotation::error("50%").with_title("x: y,z").to_string(),
            @"::error title=x%3A y%2Cz::50%25"
        );
        insta::assert_snapshot!(Annotation::notice("n").with_title("").to_string(), @"::notice::n");
        insta::assert_snapshot!(Annotation::debug("d").to_string(), @"::debug::d");
        insta::assert_snapshot!(add_mask("p%ss\nword"), @"::add-mask::p%25ss%0Aword");
        insta::assert_snapshot!(group("Tags: v1\r\n"), @"::group::Tags: v1%0D%0A");
        assert_eq!(end_group(), "::endgroup::");
    }

    #[test]
    fn hostile_annotations_stay_on_one_line() {
        for value in hostile_values() {
            let line = Annotation::error(format!("rule {value} failed"))
                .with_title(value.clone())
                .to_string();
            assert!(!line.contains(['\n', '\r']), "{line:?}");
            assert_eq!(line.lines().count(), 1);
            let title = escape_property(&value);
            assert!(!title.contains(':'), "{title:?}");
            let head = if title.is_empty() {
                "::error::".to_owned()
            } else {
                format!("::error title={title}::")
            };
            assert!(line.starts_with(&head), "{line:?}");
        }
    }

    #[test]
    fn untrusted_examples() {
        insta::assert_snapshot!(untrusted("feature/x"), @"feature/x");
        insta::assert_snapshot!(untrusted("a\nb\r\tc\\n"), @r"a\nb\r\tc\\n");
        insta::assert_snapshot!(untrusted("\u{1b}[31mred\u{2028}\u{202e}\u{85}"), @r"\u{1b}[31mred\u{2028}\u{202e}\u{85}");
        insta::assert_snapshot!(untrusted("::set-output name=x::y"), @r"\u{3a}:set-output name=x::y");
        assert_eq!(
            untrusted(" \u{3000}\u{2192}::add-mask::x"),
            " \u{3000}\u{2192}\\u{3a}:add-mask::x"
        );
        assert_eq!(untrusted(" \u{200b}::x"), " \\u{200b}::x");
        insta::assert_snapshot!(untrusted("Fix a::b ##[error]x #[y] #\u{ad}[z]"), @r"Fix a::b ##\u{5b}error]x #\u{5b}y] #\u{ad}[z]");
        insta::assert_snapshot!(untrusted("x\n::error::pwned"), @r"x\n::error::pwned");
        insta::assert_snapshot!(untrusted(""), @"");
    }

    #[test]
    fn untrusted_cuts_long_values_on_a_char_boundary() {
        let long = "é".repeat(300);
        let shown = untrusted(&long);
        assert_eq!(shown, format!("{}…(+88 bytes)", "é".repeat(256)));
        assert_eq!(untrusted(&"x".repeat(256)), "x".repeat(256));
        assert!(untrusted(&"y".repeat(10_000)).ends_with("…(+9744 bytes)"));
    }

    #[test]
    fn hostile_values_never_break_a_log_line() {
        for value in hostile_values() {
            let shown = untrusted(&value);
            assert!(!shown.contains(['\n', '\r']), "{shown:?}");
            assert!(!shown.trim_start().starts_with("::"), "{shown:?}");
            assert!(!shown.contains("##["), "{shown:?}");
        }
    }

    fn message(s: &str) -> String {
        UntrustedMessage(s).to_string()
    }

    #[test]
    fn untrusted_messages_keep_their_lines_and_length() {
        let second = format!("127.0.0.1:5502/octo/app:v0.2.0: {}", "x".repeat(300));
        let text =
            format!("refused, nothing was written:\n127.0.0.1:5501/octo/app:v0.2.0: a\n{second}");
        let shown = message(&text);
        assert_eq!(shown, text, "nothing cut, real line breaks");
        insta::assert_snapshot!(message("a\r\nb\rc\td\n"), @r"
        a
        b\rc\td
        ");
        insta::assert_snapshot!(message("x\n::error::pwned\n  ##[warning]y\n\u{1b}[31m"), @r"
        x
        \u{3a}:error::pwned
          ##\u{5b}warning]y
        \u{1b}[31m
        ");
    }

    #[test]
    fn hostile_messages_never_start_a_command() {
        for value in hostile_values() {
            for line in message(&value).split('\n') {
                assert!(!line.contains('\r'), "{line:?}");
                assert!(!line.trim_start().starts_with(':'), "{line:?}");
                assert!(!line.contains("##["), "{line:?}");
                assert!(!line.contains("…(+"), "not cut: {line:?}");
            }
        }
    }

    proptest! {
        #[test]
        fn untrusted_output_is_one_safe_line(s in any::<String>()) {
            let shown = untrusted(&s);
            prop_assert!(!shown.contains(['\n', '\r']));
            prop_assert!(!shown.chars().any(is_invisible));
            prop_assert!(!shown.trim_start().starts_with(':'));
            prop_assert!(!shown.contains("##["));
            prop_assert!(shown.chars().count() <= 10 * UNTRUSTED_MAX_CHARS + 32);
        }

        #[test]
        fn untrusted_message_lines_are_safe_and_whole(s in any::<String>()) {
            let shown = message(&s);
            prop_assert_eq!(shown.split('\n').count(), s.split('\n').count());
            for line in shown.split('\n') {
                prop_assert!(!line.contains('\r'));
                prop_assert!(!line.chars().any(is_invisible));
                prop_assert!(!line.trim_start().starts_with(':'));
                prop_assert!(!line.contains("##["));
            }
            prop_assert!(shown.chars().count() >= s.chars().count() - s.matches("\r\n").count());
        }

        #[test]
        fn annotation_is_one_line(title in any::<String>(), message in any::<String>()) {
            let line = Annotation::warning(message).with_title(title).to_string();
            prop_assert!(!line.contains(['\n', '\r']));
        }
    }
}
