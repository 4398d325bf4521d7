//! moment.js `format()` tokens over a jiff `ZonedDateTime`, for `{{date '...'}}` and `{{commit_date '...'}}`.
//!
//! The compatibility target is what docker/metadata-action runs: moment 2.30.1 with
//! moment-timezone, English locale, `moment(date).tz(tz).format(pattern)`. A pattern is read the
//! way moment reads it:
//!
//! 1. localized formats are expanded to their en-US patterns (`L` -> `MM/DD/YYYY`, `LT` ->
//!    `h:mm A`, ...);
//! 2. the result is cut with moment's token regex, whose alternatives are tried in order (the
//!    first that matches wins, not the longest): `[...]` is literal text, a backslash makes the
//!    following *token* literal (`\YYYY` prints `YYYY`), a known token prints its value, anything
//!    else prints as is.
//!
//! | pattern                  | 2020-01-10T00:30:00.123Z in `Asia/Tokyo` |
//! |--------------------------|------------------------------------------|
//! | `YYYYMMDD-HHmmss`        | `20200110-093000`                        |
//! | `[Today is] dddd Do`     | `Today is Friday 10th`                   |
//! | `GGGG-[W]WW z Z`         | `2020-W02 JST +09:00`                    |
//!
//! moment's own quirks are kept, since metadata-action prints them:
//! - moment keeps milliseconds only: `SSSS` to `SSSSSSSSS` print them followed by zeros;
//! - `Y` pads to four digits like `YYYY` (they differ only after the year 9999);
//! - `w|` and `W|` are tokens moment has no value for (its regex reads `w[o|w]?`): printed as is;
//! - line breaks outside `[...]` are dropped, and so is a backslash with nothing to escape;
//! - an empty pattern is moment's default, `YYYY-MM-DDTHH:mm:ssZ` (`Z` literally at offset zero).
//!
//! Known differences, none reachable by a build clock: moment throws on a pattern made only of
//! line breaks (we print nothing); moment-timezone's data stops in 2499 (jiff follows the rules
//! on); moment's era (`N`, `y`) is blank for some hours around January 1st of the year 1.

use std::sync::OnceLock;

use jiff::ZonedDateTime;
use jiff::tz::{TimeZone, TimeZoneDatabase};

/// A `tz='...'` name the bundled time zone database does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown time zone `{name}`: use an IANA name such as `Europe/Paris` or `UTC`")]
pub struct UnknownTimeZone {
    pub name: String,
}

/// Resolves an IANA time zone name (`Europe/Paris`, `UTC`, `Asia/Tokyo`; case-insensitive, like
/// moment-timezone) with the time zone database bundled in the binary, never the host's
/// `/usr/share/zoneinfo`: the image runs `FROM scratch`, and tests should see the same data.
pub fn time_zone(name: &str) -> Result<TimeZone, UnknownTimeZone> {
    static BUNDLED: OnceLock<TimeZoneDatabase> = OnceLock::new();
    let unknown = || UnknownTimeZone {
        name: name.to_owned(),
    };
    // The two names jiff knows and moment-timezone does not: jiff's placeholder `Etc/Unknown`
    // and tzdb's `Factory` ("-00"), neither a place a build runs in.
    if ["Etc/Unknown", "Factory"]
        .iter()
        .any(|placeholder| name.eq_ignore_ascii_case(placeholder))
    {
        return Err(unknown());
    }
    BUNDLED
        .get_or_init(TimeZoneDatabase::bundled)
        .get(name)
        .map_err(|_| unknown())
}

/// Formats `time` with a moment.js `format()` pattern (see the module documentation). An empty
/// pattern means moment's default, ISO 8601 to the second: `2020-01-10T09:30:00+09:00`, with `Z`
/// for a zero offset.
pub fn format(time: &ZonedDateTime, pattern: &str) -> String {
    let pattern = match pattern {
        "" if time.offset().seconds() == 0 => "YYYY-MM-DDTHH:mm:ss[Z]",
        "" => "YYYY-MM-DDTHH:mm:ssZ",
        pattern => pattern,
    };
    let mut out = String::new();
    for piece in Pieces::new(&expand_localized(pattern)) {
        match piece {
            Piece::Bracketed(text) => out.push_str(text),
            Piece::Escaped(token) => out.extend(token.chars().filter(|&c| c != '\\')),
            Piece::Token(token) => match value(time, token) {
                Some(value) => out.push_str(&value),
                // moment strips backslashes from text it does not know: only a lone `\` has one.
                None if token == "\\" => {}
                None => out.push_str(token),
            },
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Reading the pattern

/// Expands moment's localized formats with the en-US definitions, as moment's `expandFormat`
/// does before tokenizing: `/(\[[^\[]*\])|(\\)?(LTS|LT|LL?L?L?|l{1,4})/g`, where brackets and
/// escaped names are left alone. The expansions contain no `L`, `l`, `[`, `]` or `\`, so one
/// pass reaches the fixed point moment loops towards.
fn expand_localized(pattern: &str) -> String {
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
enum Piece<'p> {
    /// `[text]`: the text, printed as is.
    Bracketed(&'p str),
    /// A token after a backslash (`\YYYY` gives `YYYY`): printed without backslashes.
    Escaped(&'p str),
    /// A token, or any other single character.
    Token(&'p str),
}

/// The pieces of a pattern, in order: moment's
/// `/(\[[^\[]*\])|(\\)?([Hh]mm(ss)?|Mo|MM?M?M?|...|zz?|ZZ?|.)/g`.
struct Pieces<'p> {
    rest: &'p str,
}

impl<'p> Pieces<'p> {
    fn new(pattern: &'p str) -> Self {
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

// ---------------------------------------------------------------------------------------------
// Token values

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const WEEKDAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// The value of a formatting token, or `None` for text moment has no token for. Each group of
/// tokens below knows only its own.
fn value(time: &ZonedDateTime, token: &str) -> Option<String> {
    calendar_value(time, token)
        .or_else(|| week_value(time, token))
        .or_else(|| year_value(time, token))
        .or_else(|| clock_value(time, token))
        .or_else(|| zone_value(time, token))
}

/// Month, quarter, day of month, day of year, day of week.
fn calendar_value(time: &ZonedDateTime, token: &str) -> Option<String> {
    let month = usize::from(time.month().unsigned_abs()); // 1..=12
    let weekday = usize::from(time.weekday().to_sunday_zero_offset().unsigned_abs()); // 0..=6
    let value = match token {
        // Month
        "M" => month.to_string(),
        "Mo" => ordinal(month as i64),
        "MM" => zero_fill(month as i64, 2),
        "MMM" => MONTHS[month - 1][..3].to_owned(),
        "MMMM" => MONTHS[month - 1].to_owned(),
        // Quarter
        "Q" => month.div_ceil(3).to_string(),
        "Qo" => ordinal(month.div_ceil(3) as i64),
        // Day of month, day of year
        "D" => time.day().to_string(),
        "Do" => ordinal(time.day().into()),
        "DD" => zero_fill(time.day().into(), 2),
        "DDD" => time.day_of_year().to_string(),
        "DDDo" => ordinal(time.day_of_year().into()),
        "DDDD" => zero_fill(time.day_of_year().into(), 3),
        // Day of week (the en locale's week starts on Sunday, so `e` is `d`)
        "d" | "e" => weekday.to_string(),
        "do" => ordinal(weekday as i64),
        "dd" => WEEKDAYS[weekday][..2].to_owned(),
        "ddd" => WEEKDAYS[weekday][..3].to_owned(),
        "dddd" => WEEKDAYS[weekday].to_owned(),
        "E" => time.weekday().to_monday_one_offset().to_string(),
        _ => return None,
    };
    Some(value)
}

/// Week of year and week-year, in the en locale's weeks (`w`, `g`) and ISO weeks (`W`, `G`).
fn week_value(time: &ZonedDateTime, token: &str) -> Option<String> {
    let value = match token {
        "w" => week_of_year(time, EN_WEEK).week.to_string(),
        "wo" => ordinal(week_of_year(time, EN_WEEK).week),
        "ww" => zero_fill(week_of_year(time, EN_WEEK).week, 2),
        "W" => week_of_year(time, ISO_WEEK).week.to_string(),
        "Wo" => ordinal(week_of_year(time, ISO_WEEK).week),
        "WW" => zero_fill(week_of_year(time, ISO_WEEK).week, 2),
        "gg" => zero_fill(week_of_year(time, EN_WEEK).year % 100, 2),
        "gggg" => zero_fill(week_of_year(time, EN_WEEK).year, 4),
        "ggggg" => zero_fill(week_of_year(time, EN_WEEK).year, 5),
        "GG" => zero_fill(week_of_year(time, ISO_WEEK).year % 100, 2),
        "GGGG" => zero_fill(week_of_year(time, ISO_WEEK).year, 4),
        "GGGGG" => zero_fill(week_of_year(time, ISO_WEEK).year, 5),
        _ => return None,
    };
    Some(value)
}

/// Year and era.
fn year_value(time: &ZonedDateTime, token: &str) -> Option<String> {
    let year = i64::from(time.year());
    let (era_abbr, era_name, era_year) = if year >= 1 {
        ("AD", "Anno Domini", year)
    } else {
        ("BC", "Before Christ", 1 - year)
    };
    let value = match token {
        "Y" | "YYYY" => zero_fill(year, 4),
        "YY" => zero_fill(year % 100, 2),
        "YYYYY" => zero_fill(year, 5),
        "YYYYYY" => signed_zero_fill(year, 6),
        "N" | "NN" | "NNN" | "NNNNN" => era_abbr.to_owned(),
        "NNNN" => era_name.to_owned(),
        "y" => era_year.to_string(),
        "yo" => ordinal(era_year),
        "yy" => zero_fill(era_year, 2),
        "yyy" => zero_fill(era_year, 3),
        "yyyy" => zero_fill(era_year, 4),
        _ => return None,
    };
    Some(value)
}

/// AM/PM, hour, minute, second and fraction of a second.
fn clock_value(time: &ZonedDateTime, token: &str) -> Option<String> {
    let hour = i64::from(time.hour());
    let hour12 = if hour % 12 == 0 { 12 } else { hour % 12 };
    let minute = i64::from(time.minute());
    let second = i64::from(time.second());
    let milli = i64::from(time.millisecond());
    let value = match token {
        "A" => (if hour > 11 { "PM" } else { "AM" }).to_owned(),
        "a" => (if hour > 11 { "pm" } else { "am" }).to_owned(),
        "H" => hour.to_string(),
        "HH" => zero_fill(hour, 2),
        "h" => hour12.to_string(),
        "hh" => zero_fill(hour12, 2),
        "k" => (if hour == 0 { 24 } else { hour }).to_string(),
        "kk" => zero_fill(if hour == 0 { 24 } else { hour }, 2),
        "Hmm" => format!("{hour}{}", zero_fill(minute, 2)),
        "Hmmss" => format!("{hour}{}{}", zero_fill(minute, 2), zero_fill(second, 2)),
        "hmm" => format!("{hour12}{}", zero_fill(minute, 2)),
        "hmmss" => format!("{hour12}{}{}", zero_fill(minute, 2), zero_fill(second, 2)),
        "m" => minute.to_string(),
        "mm" => zero_fill(minute, 2),
        "s" => second.to_string(),
        "ss" => zero_fill(second, 2),
        // Fraction of a second: moment only has milliseconds.
        "S" => (milli / 100).to_string(),
        "SS" => zero_fill(milli / 10, 2),
        "SSS" => zero_fill(milli, 3),
        "SSSS" | "SSSSS" | "SSSSSS" | "SSSSSSS" | "SSSSSSSS" | "SSSSSSSSS" => {
            format!("{}{}", zero_fill(milli, 3), "0".repeat(token.len() - 3))
        }
        _ => return None,
    };
    Some(value)
}

/// Time zone abbreviation and offset, Unix time.
fn zone_value(time: &ZonedDateTime, token: &str) -> Option<String> {
    let value = match token {
        "z" | "zz" => time
            .time_zone()
            .to_offset_info(time.timestamp())
            .abbreviation()
            .to_owned(),
        "Z" => utc_offset(time, ":"),
        "ZZ" => utc_offset(time, ""),
        // Unix time: moment floors to whole milliseconds.
        "X" => unix_millis(time).div_euclid(1000).to_string(),
        "x" => unix_millis(time).to_string(),
        _ => return None,
    };
    Some(value)
}

/// moment's `zeroFill` without a forced sign: at least `width` digits, `-` before negatives.
fn zero_fill(n: i64, width: usize) -> String {
    let sign = if n < 0 { "-" } else { "" };
    format!("{sign}{:0width$}", n.unsigned_abs())
}

/// moment's `zeroFill` with a forced sign, for `YYYYYY` (`+002020`).
fn signed_zero_fill(n: i64, width: usize) -> String {
    let sign = if n < 0 { "-" } else { "+" };
    format!("{sign}{:0width$}", n.unsigned_abs())
}

/// The en locale's ordinal: `1st 2nd 3rd 4th ... 11th 12th 13th ... 21st 22nd 23rd ... 111th`.
fn ordinal(n: i64) -> String {
    let suffix = if (n % 100) / 10 == 1 {
        "th"
    } else {
        match n % 10 {
            1 => "st",
            2 => "nd",
            3 => "rd",
            _ => "th",
        }
    };
    format!("{n}{suffix}")
}

/// `+09:00` (`Z`) or `+0900` (`ZZ`): whole minutes, as moment truncates sub-minute offsets.
fn utc_offset(time: &ZonedDateTime, separator: &str) -> String {
    let seconds = time.offset().seconds();
    let sign = if seconds < 0 { '-' } else { '+' };
    let minutes = seconds.unsigned_abs() / 60;
    format!("{sign}{:02}{separator}{:02}", minutes / 60, minutes % 60)
}

/// Milliseconds since the Unix epoch, floored like a JavaScript `Date`.
fn unix_millis(time: &ZonedDateTime) -> i128 {
    time.timestamp().as_nanosecond().div_euclid(1_000_000)
}

// ---------------------------------------------------------------------------------------------
// Weeks

/// A week numbering in moment's terms: the first day of the week (`dow`, Sunday = 0) and `doy`,
/// which makes January `7 + dow - doy` the day always in week 1.
#[derive(Debug, Clone, Copy)]
struct WeekRule {
    dow: i64,
    doy: i64,
}

/// The en locale: weeks start on Sunday, week 1 holds January 1st.
const EN_WEEK: WeekRule = WeekRule { dow: 0, doy: 6 };
/// ISO 8601: weeks start on Monday, week 1 holds January 4th.
const ISO_WEEK: WeekRule = WeekRule { dow: 1, doy: 4 };

/// A week number and the week-year it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Week {
    week: i64,
    year: i64,
}

/// moment's `weekOfYear`, computed from the date's year, day of year and the weekday of January
/// 1st (so no other date has to be built, and the year 9999 cannot overflow).
fn week_of_year(time: &ZonedDateTime, rule: WeekRule) -> Week {
    let year = i64::from(time.year());
    let day_of_year = i64::from(time.day_of_year());
    let weekday = i64::from(time.weekday().to_sunday_zero_offset());
    let jan1 = (weekday - (day_of_year - 1)).rem_euclid(7);
    let week = (day_of_year - first_week_offset(jan1, rule) - 1).div_euclid(7) + 1;
    if week < 1 {
        let jan1_before = (jan1 - days_in_year(year - 1)).rem_euclid(7);
        Week {
            week: week + weeks_in_year(year - 1, jan1_before, rule),
            year: year - 1,
        }
    } else if week > weeks_in_year(year, jan1, rule) {
        Week {
            week: week - weeks_in_year(year, jan1, rule),
            year: year + 1,
        }
    } else {
        Week { week, year }
    }
}

/// Days from January 1st to the start of week 1 (negative when week 1 starts in December).
fn first_week_offset(jan1: i64, rule: WeekRule) -> i64 {
    let first_week_day = 7 + rule.dow - rule.doy;
    let first_week_day_weekday = (jan1 + first_week_day - 1).rem_euclid(7);
    let local_weekday = (7 + first_week_day_weekday - rule.dow).rem_euclid(7);
    -local_weekday + first_week_day - 1
}

fn weeks_in_year(year: i64, jan1: i64, rule: WeekRule) -> i64 {
    let days = days_in_year(year);
    let jan1_after = (jan1 + days).rem_euclid(7);
    (days - first_week_offset(jan1, rule) + first_week_offset(jan1_after, rule)) / 7
}

fn days_in_year(year: i64) -> i64 {
    if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 {
        366
    } else {
        365
    }
}

#[cfg(test)]
#[path = "moment_tests.rs"]
mod tests;
