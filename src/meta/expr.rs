//! Templates in tag attributes: the subset of Handlebars that docker/metadata-action documents.
//!
//! `{{name}}`, `{{{name}}}`, `{{name 'arg' key='value'}}`, `{{! comment}}`, `\{{` for a literal
//! `{{`, and `~` whitespace control. A name the scope does not know renders as an empty string, as
//! Handlebars does (`placeholders` finds such names so the run can warn about them); malformed
//! templates (an unclosed `{{`, a block helper) are errors.

/// A parse or evaluation error, with a message meant for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ExprError(pub String);

/// What a template can refer to: named values and helpers.
pub trait Scope {
    /// The value of `name` called with positional `args` and `hash` (`key='value'`) arguments, or
    /// `None` if the scope has no such name.
    fn value(
        &self,
        name: &str,
        args: &[String],
        hash: &[(String, String)],
    ) -> Result<Option<String>, ExprError>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Mustache {
        name: String,
        args: Vec<String>,
        hash: Vec<(String, String)>,
        /// Unquoted arguments (`YYYY` in `{{date YYYY}}`): Handlebars reads each as a name to
        /// look up, which is undefined here, so the helper gets no value for it.
        unquoted: Vec<String>,
    },
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

impl Template {
    pub fn parse(source: &str) -> Result<Self, ExprError> {
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut rest = source;
        while let Some(at) = rest.find("{{") {
            if rest[..at].ends_with('\\') {
                text.push_str(&rest[..at - 1]);
                text.push_str("{{");
                rest = &rest[at + 2..];
                continue;
            }
            text.push_str(&rest[..at]);
            let triple = rest[at..].starts_with("{{{");
            let (open, close) = if triple { ("{{{", "}}}") } else { ("{{", "}}") };
            let inner_start = at + open.len();
            let Some(len) = rest[inner_start..].find(close) else {
                return Err(ExprError(format!("unclosed `{open}` in `{source}`")));
            };
            let mut inner = &rest[inner_start..inner_start + len];
            rest = &rest[inner_start + len + close.len()..];
            if let Some(stripped) = inner.strip_prefix('~') {
                inner = stripped;
                let trimmed = text.trim_end().len();
                text.truncate(trimmed);
            }
            let trim_after = inner.ends_with('~');
            if trim_after {
                inner = &inner[..inner.len() - 1];
            }
            if let Some(part) = parse_mustache(inner.trim(), source)? {
                if !text.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut text)));
                }
                parts.push(part);
            }
            if trim_after {
                rest = rest.trim_start();
            }
        }
        text.push_str(rest);
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Template { parts })
    }

    /// True when the template is exactly `{{raw}}` (metadata-action's `isRawStatement`).
    pub fn is_raw_statement(&self) -> bool {
        matches!(self.parts.as_slice(), [Part::Mustache { name, .. }] if name == "raw")
    }

    /// The names the template refers to (`branch` and `date` in `{{branch}}-{{date 'YYYY'}}`),
    /// in order, repeats included; comments and escaped `\{{` are not names.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|part| match part {
            Part::Mustache { name, .. } => Some(name.as_str()),
            Part::Text(_) => None,
        })
    }

    /// Each expression's unquoted arguments, with its name: (`date`, `YYYY`) for `{{date YYYY}}`.
    pub fn unquoted_args(&self) -> impl Iterator<Item = (&str, &str)> {
        self.parts.iter().flat_map(|part| match part {
            Part::Mustache { name, unquoted, .. } => unquoted
                .iter()
                .map(|word| (name.as_str(), word.as_str()))
                .collect::<Vec<_>>(),
            Part::Text(_) => Vec::new(),
        })
    }

    pub fn render(&self, scope: &dyn Scope) -> Result<String, ExprError> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Mustache {
                    name, args, hash, ..
                } => out.push_str(&scope.value(name, args, hash)?.unwrap_or_default()),
            }
        }
        Ok(out)
    }
}

/// Parses and renders in one step.
pub fn render(source: &str, scope: &dyn Scope) -> Result<String, ExprError> {
    Template::parse(source)?.render(scope)
}

fn parse_mustache(inner: &str, source: &str) -> Result<Option<Part>, ExprError> {
    if inner.starts_with('!') {
        return Ok(None);
    }
    if let Some(c) = inner
        .chars()
        .next()
        .filter(|c| matches!(c, '#' | '/' | '^' | '>' | '&' | '*'))
    {
        return Err(ExprError(format!(
            "`{{{{{c}...}}}}` blocks and partials are not supported in `{source}`: use a plain expression like `{{{{branch}}}}`"
        )));
    }
    let tokens = tokenize(inner, source)?;
    let mut tokens = tokens.into_iter();
    let Some(Token::Word(name)) = tokens.next() else {
        return Err(ExprError(format!(
            "empty or invalid expression `{{{{{inner}}}}}` in `{source}`"
        )));
    };
    let mut args = Vec::new();
    let mut hash = Vec::new();
    let mut unquoted = Vec::new();
    // Positional arguments up to the first unquoted one: that one is undefined, so the helper
    // sees no value from it on (metadata-action's `{{commit_date YYYY-MM-DD}}` renders the
    // default format).
    let mut defined = true;
    for token in tokens {
        match token {
            Token::Literal(value) if defined => args.push(value),
            Token::Literal(_) => {}
            Token::Pair(key, value) => hash.push((key, value)),
            Token::Word(word) => {
                defined = false;
                unquoted.push(word);
            }
        }
    }
    Ok(Some(Part::Mustache {
        name,
        args,
        hash,
        unquoted,
    }))
}

enum Token {
    Word(String),
    Literal(String),
    Pair(String, String),
}

fn tokenize(inner: &str, source: &str) -> Result<Vec<Token>, ExprError> {
    let mut tokens = Vec::new();
    let mut rest = inner.trim_start();
    while !rest.is_empty() {
        if let Some(quote) = rest.chars().next().filter(|c| *c == '\'' || *c == '"') {
            let (literal, after) = quoted(rest, quote, source)?;
            tokens.push(Token::Literal(literal));
            rest = after.trim_start();
            continue;
        }
        let end = rest
            .find(|c: char| c.is_whitespace() || c == '=')
            .unwrap_or(rest.len());
        let word = &rest[..end];
        let after = &rest[end..];
        if let Some(value_src) = after.strip_prefix('=') {
            let (value, after) = match value_src.chars().next() {
                Some(q @ ('\'' | '"')) => quoted(value_src, q, source)?,
                _ => {
                    let end = value_src
                        .find(char::is_whitespace)
                        .unwrap_or(value_src.len());
                    (value_src[..end].to_string(), &value_src[end..])
                }
            };
            tokens.push(Token::Pair(word.to_string(), value));
            rest = after.trim_start();
        } else {
            let is_literal = word.parse::<f64>().is_ok() || word == "true" || word == "false";
            tokens.push(if is_literal {
                Token::Literal(word.to_string())
            } else {
                Token::Word(word.to_string())
            });
            rest = after.trim_start();
        }
    }
    Ok(tokens)
}

fn quoted<'a>(s: &'a str, quote: char, source: &str) -> Result<(String, &'a str), ExprError> {
    let body = &s[1..];
    match body.find(quote) {
        Some(end) => Ok((body[..end].to_string(), &body[end + 1..])),
        None => Err(ExprError(format!(
            "unterminated {quote}string{quote} in `{source}`"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct TestScope;

    impl Scope for TestScope {
        fn value(
            &self,
            name: &str,
            args: &[String],
            hash: &[(String, String)],
        ) -> Result<Option<String>, ExprError> {
            Ok(match name {
                "branch" => Some("main".into()),
                "echo" => Some(format!("{args:?}{hash:?}")),
                "fail" => return Err(ExprError("boom".into())),
                _ => None,
            })
        }
    }

    fn r(s: &str) -> String {
        render(s, &TestScope).unwrap()
    }

    #[test]
    fn renders_text_and_values() {
        assert_eq!(r("plain"), "plain");
        assert_eq!(r("{{branch}}-x"), "main-x");
        assert_eq!(r("{{ branch }}"), "main");
        assert_eq!(r("{{{branch}}}"), "main");
        assert_eq!(r(""), "");
    }

    #[test]
    fn unknown_names_render_empty() {
        assert_eq!(r("a{{nope}}b"), "ab");
    }

    #[test]
    fn arguments_and_hash_pairs() {
        assert_eq!(
            r("{{echo 'YYYY MM' tz='Asia/Tokyo'}}"),
            r#"["YYYY MM"][("tz", "Asia/Tokyo")]"#
        );
        assert_eq!(r(r#"{{echo "a" 3 x=y}}"#), r#"["a", "3"][("x", "y")]"#);
    }

    #[test]
    fn comments_escapes_and_whitespace_control() {
        assert_eq!(r("a{{! note }}b"), "ab");
        assert_eq!(r(r"\{{branch}}"), "{{branch}}");
        assert_eq!(r("a  {{~branch~}}  b"), "amainb");
    }

    #[test]
    fn errors_are_reported() {
        assert!(
            render("{{branch", &TestScope)
                .unwrap_err()
                .0
                .contains("unclosed")
        );
        assert!(
            render("{{#if x}}y{{/if}}", &TestScope)
                .unwrap_err()
                .0
                .contains("not supported")
        );
        // An unquoted argument is an undefined name (Handlebars): no value from it on.
        assert_eq!(render("{{echo YYYY 'x'}}", &TestScope).unwrap(), "[][]");
        assert_eq!(
            render("{{echo 'a' YYYY tz='UTC'}}", &TestScope).unwrap(),
            "[\"a\"][(\"tz\", \"UTC\")]"
        );
        let template = Template::parse("{{echo YYYY-MM-DD}}-{{branch}}").unwrap();
        assert_eq!(
            template.unquoted_args().collect::<Vec<_>>(),
            [("echo", "YYYY-MM-DD")]
        );
        assert!(
            render("{{echo 'x}}", &TestScope)
                .unwrap_err()
                .0
                .contains("unterminated")
        );
        assert_eq!(render("{{fail}}", &TestScope).unwrap_err().0, "boom");
    }

    #[test]
    fn names_in_order_without_comments_or_escapes() {
        let template =
            Template::parse(r"{{branch}}-{{! note }}\{{x}}{{ date 'YYYY' tz='UTC' }}{{{branch}}}")
                .unwrap();
        assert_eq!(
            template.names().collect::<Vec<_>>(),
            ["branch", "date", "branch"]
        );
    }

    #[test]
    fn raw_statement_detection() {
        assert!(Template::parse("{{raw}}").unwrap().is_raw_statement());
        assert!(Template::parse("{{ raw }}").unwrap().is_raw_statement());
        assert!(!Template::parse("v{{raw}}").unwrap().is_raw_statement());
        assert!(!Template::parse("{{version}}").unwrap().is_raw_statement());
    }
}
