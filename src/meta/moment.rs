//! moment.js `format()` tokens over a jiff `Zoned` time (temporary minimal version; replaced by the full one).

#[derive(Debug, thiserror::Error)]
#[error("unknown time zone `{0}`: use an IANA name such as `Europe/Paris` or `UTC`")]
pub struct UnknownTimeZone(pub String);

pub fn time_zone(name: &str) -> Result<jiff::tz::TimeZone, UnknownTimeZone> {
    jiff::tz::TimeZone::get(name).map_err(|_| UnknownTimeZone(name.to_string()))
}

pub fn format(time: &jiff::ZonedDateTime, pattern: &str) -> String {
    pattern
        .replace("YYYY", &format!("{:04}", time.year()))
        .replace("MM", &format!("{:02}", time.month()))
        .replace("DD", &format!("{:02}", time.day()))
}
