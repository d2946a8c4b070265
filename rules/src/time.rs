//! Times as the API keeps them (milliseconds since the Unix epoch, UTC) written and read as
//! people and other systems use them (RFC 3339 in UTC), on the `time` crate: a webhook
//! payload's `timestamp`, the CLI's tables and its `--since 2026-12-07` options.

use time::format_description::FormatItem;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time};

const WITH_MILLIS: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
const WITH_SECONDS: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
const DATE: &[FormatItem<'static>] = format_description!("[year]-[month]-[day]");
const HOUR_MINUTE: &[FormatItem<'static>] = format_description!("[hour]:[minute]");
const HOUR_MINUTE_SECOND: &[FormatItem<'static>] = format_description!("[hour]:[minute]:[second]");

fn at(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `2026-12-07T11:53:54.120Z`: RFC 3339 in UTC with milliseconds (times before the epoch, or
/// past year 9999, are written as the epoch: no time the API keeps is either).
pub fn rfc3339_millis(ms: i64) -> String {
    at(ms.max(0)).format(WITH_MILLIS).unwrap_or_default()
}

/// `2026-12-07T11:53:54Z`: RFC 3339 in UTC to the second, for people.
pub fn rfc3339_seconds(ms: i64) -> String {
    at(ms).format(WITH_SECONDS).unwrap_or_default()
}

/// A UTC date `YYYY-MM-DD` (its midnight) or date and time `YYYY-MM-DDTHH:MM[:SS][Z]` (`T` or a
/// space between them), in milliseconds; `None` for anything else, an impossible date
/// (`2026-02-30`) included.
pub fn parse_utc_ms(s: &str) -> Option<i64> {
    let s = s.strip_suffix('Z').unwrap_or(s);
    let (date, time) = match s.split_once(['T', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let date = Date::parse(date, DATE).ok()?;
    let time = match time {
        None => Time::MIDNIGHT,
        Some(t) if t.len() == 5 => Time::parse(t, HOUR_MINUTE).ok()?,
        Some(t) => Time::parse(t, HOUR_MINUTE_SECOND).ok()?,
    };
    let nanos = PrimitiveDateTime::new(date, time)
        .assume_utc()
        .unix_timestamp_nanos();
    i64::try_from(nanos / 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_in_utc() {
        assert_eq!(rfc3339_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339_millis(1_614_265_330_123),
            "2021-02-25T15:02:10.123Z"
        );
        assert_eq!(rfc3339_seconds(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_seconds(1_796_644_434_120), "2026-12-07T11:53:54Z");
    }

    #[test]
    fn dates_and_times_are_read_in_utc_and_impossible_ones_refused() {
        for t in [0, 951_782_400_000, 1_765_101_234_000, 4_102_444_799_000] {
            assert_eq!(parse_utc_ms(&rfc3339_seconds(t)), Some(t));
        }
        assert_eq!(parse_utc_ms("2000-02-29"), Some(951_782_400_000));
        assert_eq!(parse_utc_ms("1970-01-01T01:02"), Some(3_720_000));
        assert_eq!(parse_utc_ms("1970-01-01 00:00:05Z"), Some(5_000));
        for bad in [
            "",
            "2026-13-01",
            "2026-02-30",
            "2026-01-01T25:00",
            "2026-1-1",
            "noon",
        ] {
            assert_eq!(parse_utc_ms(bad), None, "{bad}");
        }
    }
}
