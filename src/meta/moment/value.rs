//! What each moment.js token prints for a `ZonedDateTime` (en locale), or `None` for text
//! moment has no token for.

use jiff::ZonedDateTime;

use super::week::{EN_WEEK, ISO_WEEK, week_of_year};

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
pub(super) fn value(time: &ZonedDateTime, token: &str) -> Option<String> {
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
