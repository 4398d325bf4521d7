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

/// The value of a formatting token, or `None` for text moment has no token for.
fn value(time: &ZonedDateTime, token: &str) -> Option<String> {
    let year = i64::from(time.year());
    let month = usize::from(time.month().unsigned_abs()); // 1..=12
    let weekday = usize::from(time.weekday().to_sunday_zero_offset().unsigned_abs()); // 0..=6
    let hour = i64::from(time.hour());
    let hour12 = if hour % 12 == 0 { 12 } else { hour % 12 };
    let minute = i64::from(time.minute());
    let second = i64::from(time.second());
    let milli = i64::from(time.millisecond());
    let (era_abbr, era_name, era_year) = if year >= 1 {
        ("AD", "Anno Domini", year)
    } else {
        ("BC", "Before Christ", 1 - year)
    };
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
        // Week of year, week-year
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
        // Year, era
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
        // AM/PM, hour, minute, second
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
        // Time zone
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
mod tests {
    //! Expected strings were produced by metadata-action's own formatter (moment 2.30.1 with
    //! moment-timezone 0.6, `moment(date).tz(tz).format(pattern)`) and pasted here.

    use super::*;

    /// metadata-action's test date, with nanoseconds moment never sees.
    const TEST_DATE: &str = "2020-01-10T00:30:00.123456789Z";

    fn at(instant: &str, zone: &str) -> ZonedDateTime {
        let timestamp: jiff::Timestamp = instant.parse().expect("test instant");
        timestamp.to_zoned_datetime(time_zone(zone).expect("test zone"))
    }

    fn check(cases: &[(&str, &str, &str, &str)]) {
        for &(instant, zone, pattern, expected) in cases {
            assert_eq!(
                format(&at(instant, zone), pattern),
                expected,
                "{pattern:?} at {instant} in {zone}"
            );
        }
    }

    #[test]
    fn module_documentation_examples() {
        check(&[
            (
                TEST_DATE,
                "Asia/Tokyo",
                "YYYYMMDD-HHmmss",
                "20200110-093000",
            ),
            (
                TEST_DATE,
                "Asia/Tokyo",
                "[Today is] dddd Do",
                "Today is Friday 10th",
            ),
            (
                TEST_DATE,
                "Asia/Tokyo",
                "GGGG-[W]WW z Z",
                "2020-W02 JST +09:00",
            ),
        ]);
    }

    #[test]
    fn every_token_at_the_test_date_in_four_zones() {
        let groups = [
            "M Mo MM MMM MMMM Q Qo",
            "D Do DD DDD DDDo DDDD",
            "d do dd ddd dddd e E",
            "w wo ww W Wo WW gg gggg ggggg GG GGGG GGGGG",
            "Y YY YYYY YYYYY YYYYYY N NN NNN NNNN NNNNN y yo yy yyy yyyy",
            "A a H HH h hh k kk m mm s ss Hmm Hmmss hmm hmmss",
            "S SS SSS SSSS SSSSS SSSSSS SSSSSSS SSSSSSSS SSSSSSSSS",
            "Z ZZ z zz X x",
        ];
        let expected: [(&str, [&str; 8]); 4] = [
            (
                "UTC",
                [
                    "1 1st 01 Jan January 1 1st",
                    "10 10th 10 10 10th 010",
                    "5 5th Fr Fri Friday 5 5",
                    "2 2nd 02 2 2nd 02 20 2020 02020 20 2020 02020",
                    "2020 20 2020 02020 +002020 AD AD AD Anno Domini AD 2020 2020th 2020 2020 2020",
                    "AM am 0 00 12 12 24 24 30 30 0 00 030 03000 1230 123000",
                    "1 12 123 1230 12300 123000 1230000 12300000 123000000",
                    "+00:00 +0000 UTC UTC 1578616200 1578616200123",
                ],
            ),
            (
                "Europe/Paris",
                [
                    "1 1st 01 Jan January 1 1st",
                    "10 10th 10 10 10th 010",
                    "5 5th Fr Fri Friday 5 5",
                    "2 2nd 02 2 2nd 02 20 2020 02020 20 2020 02020",
                    "2020 20 2020 02020 +002020 AD AD AD Anno Domini AD 2020 2020th 2020 2020 2020",
                    "AM am 1 01 1 01 1 01 30 30 0 00 130 13000 130 13000",
                    "1 12 123 1230 12300 123000 1230000 12300000 123000000",
                    "+01:00 +0100 CET CET 1578616200 1578616200123",
                ],
            ),
            (
                "Asia/Tokyo",
                [
                    "1 1st 01 Jan January 1 1st",
                    "10 10th 10 10 10th 010",
                    "5 5th Fr Fri Friday 5 5",
                    "2 2nd 02 2 2nd 02 20 2020 02020 20 2020 02020",
                    "2020 20 2020 02020 +002020 AD AD AD Anno Domini AD 2020 2020th 2020 2020 2020",
                    "AM am 9 09 9 09 9 09 30 30 0 00 930 93000 930 93000",
                    "1 12 123 1230 12300 123000 1230000 12300000 123000000",
                    "+09:00 +0900 JST JST 1578616200 1578616200123",
                ],
            ),
            (
                "America/New_York",
                [
                    "1 1st 01 Jan January 1 1st",
                    "9 9th 09 9 9th 009",
                    "4 4th Th Thu Thursday 4 4",
                    "2 2nd 02 2 2nd 02 20 2020 02020 20 2020 02020",
                    "2020 20 2020 02020 +002020 AD AD AD Anno Domini AD 2020 2020th 2020 2020 2020",
                    "PM pm 19 19 7 07 19 19 30 30 0 00 1930 193000 730 73000",
                    "1 12 123 1230 12300 123000 1230000 12300000 123000000",
                    "-05:00 -0500 EST EST 1578616200 1578616200123",
                ],
            ),
        ];
        for (zone, values) in expected {
            for (pattern, value) in groups.iter().zip(values) {
                check(&[(TEST_DATE, zone, pattern, value)]);
            }
        }
    }

    #[test]
    fn summer_time_transitions_and_odd_offsets() {
        let iso = "YYYY-MM-DDTHH:mm:ss.SSSZ z";
        let summer = "2021-07-04T15:45:09.005Z";
        check(&[
            (summer, "UTC", iso, "2021-07-04T15:45:09.005+00:00 UTC"),
            (
                summer,
                "Europe/Paris",
                iso,
                "2021-07-04T17:45:09.005+02:00 CEST",
            ),
            (
                summer,
                "America/New_York",
                iso,
                "2021-07-04T11:45:09.005-04:00 EDT",
            ),
            (
                summer,
                "Asia/Tokyo",
                iso,
                "2021-07-05T00:45:09.005+09:00 JST",
            ),
            // New York springs forward at 02:00 and falls back at 02:00.
            (
                "2021-03-14T06:59:59.999Z",
                "America/New_York",
                iso,
                "2021-03-14T01:59:59.999-05:00 EST",
            ),
            (
                "2021-03-14T07:00:00.000Z",
                "America/New_York",
                iso,
                "2021-03-14T03:00:00.000-04:00 EDT",
            ),
            (
                "2021-11-07T05:30:00.000Z",
                "America/New_York",
                iso,
                "2021-11-07T01:30:00.000-04:00 EDT",
            ),
            (
                "2021-11-07T06:30:00.000Z",
                "America/New_York",
                iso,
                "2021-11-07T01:30:00.000-05:00 EST",
            ),
            (
                "2021-03-28T00:59:59.000Z",
                "Europe/Paris",
                iso,
                "2021-03-28T01:59:59.000+01:00 CET",
            ),
            (
                "2021-03-28T01:00:00.000Z",
                "Europe/Paris",
                iso,
                "2021-03-28T03:00:00.000+02:00 CEST",
            ),
            // Half and quarter hours, numeric abbreviations, POSIX-style sign.
            (
                summer,
                "Asia/Kolkata",
                iso,
                "2021-07-04T21:15:09.005+05:30 IST",
            ),
            (
                summer,
                "America/St_Johns",
                iso,
                "2021-07-04T13:15:09.005-02:30 NDT",
            ),
            (
                "2021-01-04T15:45:09.005Z",
                "America/St_Johns",
                iso,
                "2021-01-04T12:15:09.005-03:30 NST",
            ),
            (
                summer,
                "Asia/Kathmandu",
                iso,
                "2021-07-04T21:30:09.005+05:45 +0545",
            ),
            (
                summer,
                "Etc/GMT+5",
                iso,
                "2021-07-04T10:45:09.005-05:00 -05",
            ),
            (
                summer,
                "America/Sao_Paulo",
                iso,
                "2021-07-04T12:45:09.005-03:00 -03",
            ),
        ]);
    }

    #[test]
    fn sub_minute_offsets_are_truncated_to_minutes() {
        let timestamp: jiff::Timestamp = TEST_DATE.parse().expect("test instant");
        for (seconds, expected) in [(1050, "+00:17 +0017"), (-1050, "-00:17 -0017")] {
            let offset = jiff::tz::Offset::from_seconds(seconds).expect("test offset");
            let time = timestamp.to_zoned_datetime(TimeZone::fixed(offset));
            assert_eq!(format(&time, "Z ZZ"), expected);
        }
    }

    #[test]
    fn twelve_hour_clock_around_midnight_and_noon() {
        let clock = "H h hh k kk A a Hmm hmm hmmss";
        for (time, expected) in [
            ("00:00:00", "0 12 12 24 24 AM am 000 1200 120000"),
            ("00:05:09", "0 12 12 24 24 AM am 005 1205 120509"),
            ("01:00:00", "1 1 01 1 01 AM am 100 100 10000"),
            ("11:59:59", "11 11 11 11 11 AM am 1159 1159 115959"),
            ("12:00:00", "12 12 12 12 12 PM pm 1200 1200 120000"),
            ("12:30:05", "12 12 12 12 12 PM pm 1230 1230 123005"),
            ("13:07:00", "13 1 01 13 13 PM pm 1307 107 10700"),
            ("23:59:59", "23 11 11 23 23 PM pm 2359 1159 115959"),
        ] {
            check(&[(&format!("2020-01-10T{time}Z"), "UTC", clock, expected)]);
        }
    }

    #[test]
    fn week_years_across_new_year() {
        let pattern = "YYYY-MM-DD dd | w wo ww gg gggg | W Wo WW GG GGGG | e E";
        for (day, expected) in [
            (
                "2015-12-31",
                "2015-12-31 Th | 1 1st 01 16 2016 | 53 53rd 53 15 2015 | 4 4",
            ),
            (
                "2016-01-01",
                "2016-01-01 Fr | 1 1st 01 16 2016 | 53 53rd 53 15 2015 | 5 5",
            ),
            (
                "2016-01-03",
                "2016-01-03 Su | 2 2nd 02 16 2016 | 53 53rd 53 15 2015 | 0 7",
            ),
            (
                "2016-01-04",
                "2016-01-04 Mo | 2 2nd 02 16 2016 | 1 1st 01 16 2016 | 1 1",
            ),
            (
                "2018-12-29",
                "2018-12-29 Sa | 52 52nd 52 18 2018 | 52 52nd 52 18 2018 | 6 6",
            ),
            (
                "2018-12-30",
                "2018-12-30 Su | 1 1st 01 19 2019 | 52 52nd 52 18 2018 | 0 7",
            ),
            (
                "2018-12-31",
                "2018-12-31 Mo | 1 1st 01 19 2019 | 1 1st 01 19 2019 | 1 1",
            ),
            (
                "2019-01-01",
                "2019-01-01 Tu | 1 1st 01 19 2019 | 1 1st 01 19 2019 | 2 2",
            ),
            (
                "2020-12-26",
                "2020-12-26 Sa | 52 52nd 52 20 2020 | 52 52nd 52 20 2020 | 6 6",
            ),
            (
                "2020-12-27",
                "2020-12-27 Su | 1 1st 01 21 2021 | 52 52nd 52 20 2020 | 0 7",
            ),
            (
                "2020-12-31",
                "2020-12-31 Th | 1 1st 01 21 2021 | 53 53rd 53 20 2020 | 4 4",
            ),
            (
                "2021-01-01",
                "2021-01-01 Fr | 1 1st 01 21 2021 | 53 53rd 53 20 2020 | 5 5",
            ),
            (
                "2021-01-03",
                "2021-01-03 Su | 2 2nd 02 21 2021 | 53 53rd 53 20 2020 | 0 7",
            ),
            (
                "2021-01-04",
                "2021-01-04 Mo | 2 2nd 02 21 2021 | 1 1st 01 21 2021 | 1 1",
            ),
            (
                "2022-01-01",
                "2022-01-01 Sa | 1 1st 01 22 2022 | 52 52nd 52 21 2021 | 6 6",
            ),
            (
                "2022-01-02",
                "2022-01-02 Su | 2 2nd 02 22 2022 | 52 52nd 52 21 2021 | 0 7",
            ),
            (
                "2022-12-31",
                "2022-12-31 Sa | 53 53rd 53 22 2022 | 52 52nd 52 22 2022 | 6 6",
            ),
            (
                "2023-01-01",
                "2023-01-01 Su | 1 1st 01 23 2023 | 52 52nd 52 22 2022 | 0 7",
            ),
            (
                "2023-12-31",
                "2023-12-31 Su | 1 1st 01 24 2024 | 52 52nd 52 23 2023 | 0 7",
            ),
            (
                "2024-01-01",
                "2024-01-01 Mo | 1 1st 01 24 2024 | 1 1st 01 24 2024 | 1 1",
            ),
            (
                "2024-12-28",
                "2024-12-28 Sa | 52 52nd 52 24 2024 | 52 52nd 52 24 2024 | 6 6",
            ),
            (
                "2024-12-29",
                "2024-12-29 Su | 1 1st 01 25 2025 | 52 52nd 52 24 2024 | 0 7",
            ),
            (
                "2024-12-31",
                "2024-12-31 Tu | 1 1st 01 25 2025 | 1 1st 01 25 2025 | 2 2",
            ),
            (
                "2026-12-31",
                "2026-12-31 Th | 1 1st 01 27 2027 | 53 53rd 53 26 2026 | 4 4",
            ),
            (
                "2027-01-01",
                "2027-01-01 Fr | 1 1st 01 27 2027 | 53 53rd 53 26 2026 | 5 5",
            ),
            (
                "2027-01-03",
                "2027-01-03 Su | 2 2nd 02 27 2027 | 53 53rd 53 26 2026 | 0 7",
            ),
            (
                "2027-01-04",
                "2027-01-04 Mo | 2 2nd 02 27 2027 | 1 1st 01 27 2027 | 1 1",
            ),
        ] {
            check(&[(&format!("{day}T12:00:00Z"), "UTC", pattern, expected)]);
        }
    }

    #[test]
    fn iso_weeks_agree_with_jiff_for_every_day_of_33_years() {
        let mut time = at("1999-01-01T12:00:00Z", "UTC");
        while time.year() < 2032 {
            let iso = time.iso_week_date();
            let expected = format!("{} {:04}", iso.week(), iso.year());
            assert_eq!(format(&time, "W GGGG"), expected, "{time}");
            time = time.tomorrow().expect("within jiff's range");
        }
    }

    #[test]
    fn ordinals() {
        let days: Vec<String> = (1..=31)
            .map(|day| format(&at(&format!("2020-01-{day:02}T12:00:00Z"), "UTC"), "Do"))
            .collect();
        assert_eq!(
            days.join(" "),
            "1st 2nd 3rd 4th 5th 6th 7th 8th 9th 10th 11th 12th 13th 14th 15th 16th 17th 18th \
             19th 20th 21st 22nd 23rd 24th 25th 26th 27th 28th 29th 30th 31st"
        );
        let days_of_year: Vec<String> = [
            1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 101, 102, 103, 111, 112, 113, 121, 122, 123, 366,
        ]
        .into_iter()
        .map(|n| {
            let time = at("2020-01-01T12:00:00Z", "UTC")
                .checked_add(jiff::Span::new().days(n - 1))
                .expect("within 2020");
            format(&time, "DDDo")
        })
        .collect();
        assert_eq!(
            days_of_year.join(" "),
            "1st 2nd 3rd 4th 11th 12th 13th 21st 22nd 23rd 101st 102nd 103rd 111th 112th 113th \
             121st 122nd 123rd 366th"
        );
    }

    #[test]
    fn patterns_are_cut_like_moment_cuts_them() {
        for (pattern, expected) in [
            // Typical tag patterns.
            ("YYYYMMDD-HHmmss", "20200110-003000"),
            ("YYYY-MM-DD[T]HH:mm:ss[Z]", "2020-01-10T00:30:00Z"),
            ("[Today is] dddd", "Today is Friday"),
            // First alternative wins, then the rest of the run is cut again.
            ("MMMMM", "January1"),
            ("DDDDD", "01010"),
            ("YYY", "202020"),
            ("YYYYYYY", "+0020202020"),
            ("ggg", "20g"),
            ("GGG", "20G"),
            ("dddddd", "FridayFr"),
            ("SSSSSSSSSS", "1230000001"),
            ("HHmm", "0030"),
            ("eHHmm", "50030"),
            ("MMo DDo ddo", "01o 10o Fro"),
            ("Mo Do do Qo wo Wo yo", "1st 10th 5th 1st 2nd 2nd 2020th"),
            ("w| W| wo|", "w| W| 2nd|"),
            // Brackets: greedy up to the last `]` before the next `[`.
            ("[", "["),
            ("]", "]"),
            ("[[YYYY]", "[YYYY"),
            ("[a]YYYY]", "a]YYYY"),
            ("[a] [b] YYYY", "a b 2020"),
            ("[]YYYY", "2020"),
            ("[YYYY", "[2020"),
            ("YYYY]", "2020]"),
            ("[a\nb]", "a\nb"),
            // A backslash escapes a whole token; alone, it vanishes.
            ("\\YYYY", "YYYY"),
            ("\\Do \\d", "Do d"),
            ("\\[YYYY]", "[2020]"),
            ("YYYY\\", "2020"),
            ("\\\\YYYY", "2020"),
            ("\\\n", ""),
            // Line breaks outside brackets are dropped; other text is kept, letters included.
            ("YYYY\nMM\r\n", "202001"),
            ("sha-YYYY", "012am-2020"),
            ("nightly-YYYYMMDD", "nig12t1/10/20202020-20200110"),
            ("v1.2.3 build", "v1.2.3 bui1/10/20205"),
            ("日付 YYYY é", "日付 2020 é"),
            // Localized formats, en-US.
            ("L", "01/10/2020"),
            ("LL", "January 10, 2020"),
            ("LLL", "January 10, 2020 12:30 AM"),
            ("LLLL", "Friday, January 10, 2020 12:30 AM"),
            ("LLLLL", "Friday, January 10, 2020 12:30 AM01/10/2020"),
            ("l", "1/10/2020"),
            ("ll", "Jan 10, 2020"),
            ("lll", "Jan 10, 2020 12:30 AM"),
            ("llll", "Fri, Jan 10, 2020 12:30 AM"),
            ("LT", "12:30 AM"),
            ("LTS", "12:30:00 AM"),
            ("LTSS", "12:30:00 AM1"),
            ("[L] \\L \\LTS [LT]", "L L LT1 LT"),
            ("\\[L]", "[L]"),
        ] {
            check(&[(TEST_DATE, "UTC", pattern, expected)]);
        }
    }

    #[test]
    fn empty_pattern_is_moments_default_format() {
        check(&[
            (TEST_DATE, "UTC", "", "2020-01-10T00:30:00Z"),
            (TEST_DATE, "Europe/London", "", "2020-01-10T00:30:00Z"),
            (TEST_DATE, "Europe/Paris", "", "2020-01-10T01:30:00+01:00"),
            (TEST_DATE, "Etc/GMT+5", "", "2020-01-09T19:30:00-05:00"),
        ]);
    }

    #[test]
    fn unix_time_floors_before_1970() {
        let pattern = "X x YYYY-MM-DD HH:mm:ss.SSS";
        check(&[
            (
                "1969-12-31T23:59:59.500Z",
                "UTC",
                pattern,
                "-1 -500 1969-12-31 23:59:59.500",
            ),
            (
                "1960-06-01T10:20:30.040Z",
                "UTC",
                pattern,
                "-302449170 -302449169960 1960-06-01 10:20:30.040",
            ),
        ]);
    }

    #[test]
    fn time_zone_resolves_iana_names_case_insensitively() {
        for (name, iana) in [
            ("UTC", "UTC"),
            ("utc", "UTC"),
            ("Europe/Paris", "Europe/Paris"),
            ("asia/TOKYO", "Asia/Tokyo"),
            ("America/New_York", "America/New_York"),
            ("US/Eastern", "US/Eastern"),
            ("Etc/GMT+5", "Etc/GMT+5"),
        ] {
            let zone = time_zone(name).expect(name);
            assert_eq!(zone.iana_name(), Some(iana), "{name}");
        }
    }

    #[test]
    fn unknown_time_zone_is_an_error_naming_it() {
        let error = time_zone("Mars/Base").expect_err("no such zone");
        assert_eq!(error.name, "Mars/Base");
        assert_eq!(
            error.to_string(),
            "unknown time zone `Mars/Base`: use an IANA name such as `Europe/Paris` or `UTC`"
        );
        for name in [
            "",
            " UTC",
            "Etc/Unknown",
            "etc/unknown",
            "Factory",
            "/etc/localtime",
            "+09:00",
            "JST",
        ] {
            assert_eq!(
                time_zone(name),
                Err(UnknownTimeZone {
                    name: name.to_owned()
                }),
                "{name:?}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn any_pattern_formats_without_panicking(pattern in "\\PC*", seconds in -9_000_000_000i64..9_000_000_000) {
            let timestamp = jiff::Timestamp::from_second(seconds).expect("within range");
            for zone in ["UTC", "Pacific/Kiritimati", "America/St_Johns"] {
                let zone = time_zone(zone).expect("known zone");
                format(&timestamp.to_zoned_datetime(zone), &pattern);
            }
        }

        #[test]
        fn bracketed_text_is_printed_as_is(text in "[^\\[\\]]*") {
            let time = at(TEST_DATE, "Asia/Tokyo");
            proptest::prop_assert_eq!(format(&time, &format!("[{text}]")), text);
        }
    }
}
