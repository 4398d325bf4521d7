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
