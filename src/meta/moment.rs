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

mod pattern;
mod value;
mod week;

use pattern::{Piece, Pieces, expand_localized};
use value::value;

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

#[cfg(test)]
#[path = "moment_tests.rs"]
mod tests;
