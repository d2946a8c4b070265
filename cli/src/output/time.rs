//! Times as the API keeps them (ms since the epoch, UTC) and as people write and read them:
//! `2026-12-07T11:53:54Z` in tables; `--since 2026-12-07`, `--since 2h` (two hours ago) or
//! plain milliseconds in options.

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
    let (days, rest) = (ms.div_euclid(MS_PER_DAY), ms.rem_euclid(MS_PER_DAY) / 1000);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
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
    parse_utc(s).ok_or_else(bad)
}

fn parse_utc(s: &str) -> Option<i64> {
    let s = s.strip_suffix('Z').unwrap_or(s);
    let (date, time) = match s.split_once(['T', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let num = |p: &str, len: usize| (p.len() == len).then(|| p.parse::<i64>().ok())?;
    let mut d = date.split('-');
    let (y, m, day) = (num(d.next()?, 4)?, num(d.next()?, 2)?, num(d.next()?, 2)?);
    if d.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    let mut secs = 0;
    if let Some(t) = time {
        let parts: Vec<&str> = t.split(':').collect();
        if !(2..=3).contains(&parts.len()) {
            return None;
        }
        let limits = [24, 60, 60];
        for (i, p) in parts.iter().enumerate() {
            let v = num(p, 2).filter(|v| *v < limits[i])?;
            secs += v * [3600, 60, 1][i];
        }
    }
    Some(days_from_civil(y, m, day) * MS_PER_DAY + secs * 1000)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
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
