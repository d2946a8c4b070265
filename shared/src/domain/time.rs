//! Timestamps are milliseconds since the Unix epoch, as in Kinto.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in ms since the epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The next `last_modified` for an object: now, but strictly after the previous value, so that
/// the ETag changes on every write even within one millisecond or under clock skew.
pub fn next_timestamp(previous: Option<i64>, now: i64) -> i64 {
    match previous {
        Some(p) if p >= now => p + 1,
        _ => now,
    }
}

/// RFC 7231 date for the `Last-Modified` header.
pub fn http_date(ms: i64) -> String {
    let secs = u64::try_from(ms / 1000).unwrap_or(0);
    httpdate::fmt_http_date(UNIX_EPOCH + std::time::Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_timestamp_strictly_increases() {
        assert_eq!(next_timestamp(None, 10), 10);
        assert_eq!(next_timestamp(Some(5), 10), 10);
        assert_eq!(next_timestamp(Some(10), 10), 11);
        assert_eq!(next_timestamp(Some(20), 10), 21);
    }

    #[test]
    fn http_date_formats_seconds() {
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(1_500), "Thu, 01 Jan 1970 00:00:01 GMT");
    }
}
