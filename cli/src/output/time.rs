//! Times as the API keeps them (ms since the epoch, UTC) and as people write and read them:
//! `2026-12-07T11:53:54Z` in tables; `--since 2026-12-07`, `--since 2h` (two hours ago) or
//! plain milliseconds in options. Dates are the service's own rules (`rules::time`).

use std::time::{SystemTime, UNIX_EPOCH};

const MS_PER_DAY: i64 = 86_400_000;

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// `ms` as `YYYY-MM-DDTHH:MM:SSZ` (UTC).
pub fn format_ms(ms: i64) -> String {
    rules::time::rfc3339_seconds(ms)
}

/// A duration such as `90s`, `30m`, `2h`, `7d`, `2w`, in ms.
pub fn parse_duration(s: &str) -> Option<i64> {
    let unit = match s.chars().last()? {
        's' => 1000,
        'm' => 60_000,
        'h' => 3_600_000,
        'd' => MS_PER_DAY,
        'w' => 7 * MS_PER_DAY,
        _ => return None,
    };
    s[..s.len() - 1]
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .and_then(|n| n.checked_mul(unit))
}

/// A point in time, in ms: milliseconds since the epoch, a UTC date `YYYY-MM-DD`, a UTC time
/// `YYYY-MM-DDTHH:MM[:SS][Z]`, or (when `ago` is allowed) a duration before `now`.
pub fn parse_time(s: &str, now: i64, ago: bool) -> Result<i64, String> {
    let s = s.trim();
    let bad = || {
        let forms = if ago { ", a duration ago (2h, 7d)" } else { "" };
        format!(
            "{s:?} is not a time: give ms since the epoch, 2026-12-31, 2026-12-31T23:59:00Z{forms}"
        )
    };
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().map_err(|_| bad());
    }
    if ago && let Some(d) = parse_duration(s) {
        return Ok(now - d);
    }
    rules::time::parse_utc_ms(s).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_and_parse_in_utc() {
        assert_eq!(format_ms(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_ms(1_765_101_234_120), "2025-12-07T09:53:54Z");
        assert_eq!(format_ms(951_782_400_000), "2000-02-29T00:00:00Z");
        for t in [0, 951_782_400_000, 1_765_101_234_000, 4_102_444_799_000] {
            assert_eq!(parse_time(&format_ms(t), 0, false), Ok(t));
        }
        assert_eq!(parse_time("2000-02-29", 0, false), Ok(951_782_400_000));
        assert_eq!(parse_time("1970-01-01T01:02", 0, false), Ok(3_720_000));
        assert_eq!(parse_time("1765101234120", 0, false), Ok(1_765_101_234_120));
    }

    #[test]
    fn durations_count_back_from_now_only_where_allowed() {
        assert_eq!(
            parse_time("2h", 10_000_000, true),
            Ok(10_000_000 - 7_200_000)
        );
        assert_eq!(parse_duration("7d"), Some(7 * MS_PER_DAY));
        assert!(parse_time("2h", 10_000_000, false).is_err());
        for bad in [
            "",
            "yesterday",
            "2026-13-01",
            "2026-01-01T25:00",
            "12x",
            "-5m",
        ] {
            assert!(parse_time(bad, 0, true).is_err(), "{bad}");
        }
    }
}
