//! Reading a moment.js pattern: localized formats expanded to their en-US patterns, then the
//! pattern cut into [`Piece`]s the way moment's token regex cuts it.

/// Expands moment's localized formats with the en-US definitions, as moment's `expandFormat`
/// does before tokenizing: `/(\[[^\[]*\])|(\\)?(LTS|LT|LL?L?L?|l{1,4})/g`, where brackets and
/// escaped names are left alone. The expansions contain no `L`, `l`, `[`, `]` or `\`, so one
/// pass reaches the fixed point moment loops towards.
pub(super) fn expand_localized(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(c) = rest.chars().next() {
        let taken = if let Some(len) = bracket_len(rest) {
            out.push_str(&rest[..len]);
            len
        } else if let Some(len) = rest.strip_prefix('\\').and_then(localized_len) {
            out.push_str(&rest[..1 + len]);
            1 + len
        } else if let Some(len) = localized_len(rest) {
            out.push_str(localized(&rest[..len]));
            len
        } else {
            out.push(c);
            c.len_utf8()
        };
        rest = &rest[taken..];
    }
    out
}

/// Length of the localized format name `rest` starts with: `LTS|LT|LL?L?L?|l{1,4}`.
fn localized_len(rest: &str) -> Option<usize> {
    match rest.chars().next()? {
        _ if rest.starts_with("LTS") => Some(3),
        _ if rest.starts_with("LT") => Some(2),
        c @ ('L' | 'l') => Some(run(rest, c).min(4)),
        _ => None,
    }
}

/// The en-US pattern of a localized format name (`localized_len` only yields these).
fn localized(name: &str) -> &'static str {
    match name {
        "LTS" => "h:mm:ss A",
        "LT" => "h:mm A",
        "L" => "MM/DD/YYYY",
        "LL" => "MMMM D, YYYY",
        "LLL" => "MMMM D, YYYY h:mm A",
        "LLLL" => "dddd, MMMM D, YYYY h:mm A",
        "l" => "M/D/YYYY",
        "ll" => "MMM D, YYYY",
        "lll" => "MMM D, YYYY h:mm A",
        _ => "ddd, MMM D, YYYY h:mm A",
    }
}

/// One piece of a pattern, as moment's token regex cuts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Piece<'p> {
    /// `[text]`: the text, printed as is.
    Bracketed(&'p str),
    /// A token after a backslash (`\YYYY` gives `YYYY`): printed without backslashes.
    Escaped(&'p str),
    /// A token, or any other single character.
    Token(&'p str),
}

/// The pieces of a pattern, in order: moment's
/// `/(\[[^\[]*\])|(\\)?([Hh]mm(ss)?|Mo|MM?M?M?|...|zz?|ZZ?|.)/g`.
pub(super) struct Pieces<'p> {
    rest: &'p str,
}

impl<'p> Pieces<'p> {
    pub(super) fn new(pattern: &'p str) -> Self {
        Pieces { rest: pattern }
    }
}

impl<'p> Iterator for Pieces<'p> {
    type Item = Piece<'p>;

    fn next(&mut self) -> Option<Piece<'p>> {
        loop {
            let rest = self.rest;
            let c = rest.chars().next()?;
            let (piece, taken) = if let Some(len) = bracket_len(rest) {
                (Piece::Bracketed(&rest[1..len - 1]), len)
            } else if let Some(len) = rest.strip_prefix('\\').and_then(token_len) {
                (Piece::Escaped(&rest[1..1 + len]), 1 + len)
            } else if let Some(len) = token_len(rest) {
                (Piece::Token(&rest[..len]), len)
            } else {
                // A line break: the regex's `.` does not match it, so moment drops it.
                self.rest = &rest[c.len_utf8()..];
                continue;
            };
            self.rest = &rest[taken..];
            return Some(piece);
        }
    }
}

/// Length of the `[...]` group `rest` starts with, if any: `\[[^\[]*\]` is greedy, so the group
/// ends at the last `]` before the next `[` (`[a]b]` is one group).
fn bracket_len(rest: &str) -> Option<usize> {
    let inner = rest.strip_prefix('[')?;
    let until_next_open = inner.find('[').unwrap_or(inner.len());
    let close = inner[..until_next_open].rfind(']')?;
    Some(close + 2)
}

/// Length of the token `rest` starts with, trying moment's alternatives in its order; `None` only
/// for an empty string or a line break (the regex's `.` does not match one).
fn token_len(rest: &str) -> Option<usize> {
    // Letters with a fixed continuation, listed before the plain runs in moment's regex.
    for compound in ["Hmmss", "hmmss", "Hmm", "hmm", "Mo", "Do", "DDDo"] {
        if rest.starts_with(compound) {
            return Some(compound.len());
        }
    }
    let first = rest.chars().next()?;
    let run = |max: usize| run(rest, first).min(max);
    // The letter, with one of `next` after it if there is one (`Qo?`, `w[o|w]?`).
    let then_one_of =
        |next: &[char]| 1 + usize::from(rest.get(1..).is_some_and(|after| after.starts_with(next)));
    let len = match first {
        'M' | 'D' => run(4),
        'd' | 'y' if run(4) >= 2 => run(4),
        'd' | 'y' | 'Q' => then_one_of(&['o']),
        'w' => then_one_of(&['o', '|', 'w']),
        'W' => then_one_of(&['o', '|', 'W']),
        'N' => run(5),
        // `YYYYYY|YYYYY|YYYY|YY`, `gg(ggg?)?`: a lone `Y` is the `Y` token, a lone `g` text.
        'Y' | 'g' | 'G' => match run(if first == 'Y' { 6 } else { 5 }) {
            2 | 3 => 2,
            n => n,
        },
        'h' | 'H' | 'k' | 'm' | 's' | 'z' | 'Z' => run(2),
        'S' => run(9),
        '\n' | '\r' | '\u{2028}' | '\u{2029}' => return None,
        other => other.len_utf8(),
    };
    Some(len)
}

/// How many times `c` repeats at the start of `rest`.
fn run(rest: &str, c: char) -> usize {
    rest.chars().take_while(|&x| x == c).count()
}
