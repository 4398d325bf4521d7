//! Week numbers as moment computes them: the en locale's weeks (`w`, `gggg`) and ISO 8601's
//! (`W`, `GGGG`), each with the week-year a week belongs to.

use jiff::ZonedDateTime;

/// A week numbering in moment's terms: the first day of the week (`dow`, Sunday = 0) and `doy`,
/// which makes January `7 + dow - doy` the day always in week 1.
#[derive(Debug, Clone, Copy)]
pub(super) struct WeekRule {
    dow: i64,
    doy: i64,
}

/// The en locale: weeks start on Sunday, week 1 holds January 1st.
pub(super) const EN_WEEK: WeekRule = WeekRule { dow: 0, doy: 6 };
/// ISO 8601: weeks start on Monday, week 1 holds January 4th.
pub(super) const ISO_WEEK: WeekRule = WeekRule { dow: 1, doy: 4 };

/// A week number and the week-year it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Week {
    pub(super) week: i64,
    pub(super) year: i64,
}

/// moment's `weekOfYear`, computed from the date's year, day of year and the weekday of January
/// 1st (so no other date has to be built, and the year 9999 cannot overflow).
pub(super) fn week_of_year(time: &ZonedDateTime, rule: WeekRule) -> Week {
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
