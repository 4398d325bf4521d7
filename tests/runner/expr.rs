//! `${{ ... }}` in workflow values, evaluated as the runner does for the part of the expression
//! language that workflows and the README use: context paths (`github.ref`, `secrets.X`),
//! `'strings'`, `true`/`false`/`null`, `==` `!=` (strings compared case-insensitively), `!`, `&&`,
//! `||` (which yield an operand, not a boolean), parentheses, `startsWith`, `endsWith`,
//! `contains`. A context path the job does not define fails the test: a README example that
//! names something the harness does not give is a harness gap, not an empty string.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Null,
    Bool(bool),
    Str(String),
}

impl Value {
    fn truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Str(s) => !s.is_empty(),
        }
    }
    fn text(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Bool(b) => b.to_string(),
            Value::Str(s) => s.clone(),
        }
    }
}

/// Replaces every `${{ expr }}` in `text` with its value in `context` (dotted paths).
pub fn evaluate(text: &str, context: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find("}}")
            .unwrap_or_else(|| panic!("unterminated expression in {text:?}"))
            + start;
        let expr = &rest[start + 3..end];
        let mut parser = Parser {
            tokens: tokens(expr),
            at: 0,
            context,
        };
        let value = parser.or();
        assert!(
            parser.at == parser.tokens.len(),
            "cannot parse ${{{{{expr}}}}}"
        );
        out.push_str(&value.text());
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    Op(&'static str),
}

fn tokens(expr: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let chars: Vec<char> = expr.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' {
            let mut s = String::new();
            i += 1;
            loop {
                match (chars.get(i), chars.get(i + 1)) {
                    (Some('\''), Some('\'')) => {
                        s.push('\'');
                        i += 2;
                    }
                    (Some('\''), _) => break,
                    (Some(&c), _) => {
                        s.push(c);
                        i += 1;
                    }
                    (None, _) => panic!("unterminated string in {expr:?}"),
                }
            }
            i += 1;
            out.push(Token::Str(s));
        } else if let Some(op) = ["==", "!=", "&&", "||", "!", "(", ")", ","]
            .into_iter()
            .find(|op| chars[i..].starts_with(&op.chars().collect::<Vec<_>>()))
        {
            i += op.len();
            out.push(Token::Op(op));
        } else {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || matches!(chars[i], '.' | '_' | '-'))
            {
                i += 1;
            }
            assert!(i > start, "unexpected {c:?} in {expr:?}");
            out.push(Token::Word(chars[start..i].iter().collect()));
        }
    }
    out
}

struct Parser<'a> {
    tokens: Vec<Token>,
    at: usize,
    context: &'a BTreeMap<String, String>,
}

impl Parser<'_> {
    fn eat(&mut self, op: &str) -> bool {
        if matches!(self.tokens.get(self.at), Some(Token::Op(o)) if *o == op) {
            self.at += 1;
            true
        } else {
            false
        }
    }
    fn or(&mut self) -> Value {
        let mut left = self.and();
        while self.eat("||") {
            let right = self.and();
            left = if left.truthy() { left } else { right };
        }
        left
    }
    fn and(&mut self) -> Value {
        let mut left = self.equality();
        while self.eat("&&") {
            let right = self.equality();
            left = if left.truthy() { right } else { left };
        }
        left
    }
    fn equality(&mut self) -> Value {
        let left = self.unary();
        for (op, equal) in [("==", true), ("!=", false)] {
            if self.eat(op) {
                let right = self.unary();
                let same = left.text().to_lowercase() == right.text().to_lowercase()
                    && std::mem::discriminant(&left) == std::mem::discriminant(&right);
                return Value::Bool(same == equal);
            }
        }
        left
    }
    fn unary(&mut self) -> Value {
        if self.eat("!") {
            return Value::Bool(!self.unary().truthy());
        }
        self.primary()
    }
    fn primary(&mut self) -> Value {
        if self.eat("(") {
            let value = self.or();
            assert!(self.eat(")"), "missing )");
            return value;
        }
        let token = self.tokens.get(self.at).cloned().expect("an operand");
        self.at += 1;
        match token {
            Token::Str(s) => Value::Str(s),
            Token::Word(w) if w == "true" => Value::Bool(true),
            Token::Word(w) if w == "false" => Value::Bool(false),
            Token::Word(w) if w == "null" => Value::Null,
            Token::Word(w) if self.eat("(") => {
                let mut args = vec![self.or()];
                while self.eat(",") {
                    args.push(self.or());
                }
                assert!(self.eat(")"), "missing ) after {w}(");
                let (a, b) = match &args[..] {
                    [a, b] => (a.text().to_lowercase(), b.text().to_lowercase()),
                    _ => panic!("{w} takes two arguments"),
                };
                Value::Bool(match w.as_str() {
                    "startsWith" => a.starts_with(&b),
                    "endsWith" => a.ends_with(&b),
                    "contains" => a.contains(&b),
                    other => panic!("function {other} is not in the harness"),
                })
            }
            Token::Word(path) => Value::Str(
                self.context
                    .get(&path)
                    .unwrap_or_else(|| panic!("the job defines no `{path}`"))
                    .clone(),
            ),
            Token::Op(op) => panic!("unexpected {op}"),
        }
    }
}

#[test]
fn expressions_evaluate_as_the_runner_does() {
    let context: BTreeMap<String, String> = [
        ("github.event_name", "push"),
        ("github.ref", "refs/heads/develop"),
        ("github.repository", "Octo-Org/App"),
        ("vars.NAME", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let e = |text: &str| evaluate(text, &context);
    assert_eq!(
        e("ghcr.io/${{ github.repository }}"),
        "ghcr.io/Octo-Org/App"
    );
    assert_eq!(
        e("${{ github.event_name == 'push' && startsWith(github.ref, 'refs/heads/') }}"),
        "true"
    );
    assert_eq!(e("${{ github.event_name == 'PUSH' }}"), "true");
    assert_eq!(
        e("${{ github.event_name == 'push' && github.ref == 'refs/heads/main' }}"),
        "false"
    );
    assert_eq!(e("${{ vars.NAME || github.event_name }}"), "push");
    assert_eq!(e("${{ !(github.ref != 'x') }}"), "false");
    assert_eq!(e("a ${{ 'it''s' }} b"), "a it's b");
}
