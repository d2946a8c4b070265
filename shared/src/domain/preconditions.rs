//! `If-Match` / `If-None-Match` exactly as Kinto treats them. ETags are quoted timestamps (or
//! revisions); `*` means "any version".

use super::error::RuleError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    Any,
    Version(i64),
}

/// Parses one header value: `*`, `"123"` (quotes optional, as Kinto). Anything else → 400.
pub fn parse(header: &str, value: Option<&str>) -> Result<Option<Condition>, RuleError> {
    let Some(raw) = value else { return Ok(None) };
    let raw = raw.trim();
    if raw == "*" {
        return Ok(Some(Condition::Any));
    }
    let inner = raw.strip_prefix("W/").unwrap_or(raw);
    let inner = inner
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(inner);
    // A bucket's validator also names its counters (`"<last_modified>-<file_count>-<bytes>"`):
    // a condition compares the version part only (writes do not race uploads).
    let version = match inner.split_once('-') {
        Some((v, rest)) if !rest.is_empty() && rest.split('-').all(is_digits) => v,
        _ => inner,
    };
    version
        .parse::<i64>()
        .map(|v| Some(Condition::Version(v)))
        .map_err(|_| {
            RuleError::invalid(
                header,
                "must be * or a quoted ETag such as \"1700000000000\"",
            )
        })
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// The request's two conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Preconditions {
    pub if_match: Option<Condition>,
    pub if_none_match: Option<Condition>,
}

/// What a read should answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOutcome {
    Proceed,
    NotModified,
    PreconditionFailed,
}

impl Preconditions {
    pub fn parse(if_match: Option<&str>, if_none_match: Option<&str>) -> Result<Self, RuleError> {
        Ok(Preconditions {
            if_match: parse("If-Match", if_match)?,
            if_none_match: parse("If-None-Match", if_none_match)?,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.if_match.is_none() && self.if_none_match.is_none()
    }

    /// Before a write (PUT, PATCH, DELETE, POST): `current` is the version that exists, if any.
    pub fn allows_write(&self, current: Option<i64>) -> bool {
        let match_ok = match self.if_match {
            None => true,
            Some(Condition::Any) => current.is_some(),
            Some(Condition::Version(v)) => current == Some(v),
        };
        let none_match_ok = match self.if_none_match {
            None => true,
            Some(Condition::Any) => current.is_none(),
            Some(Condition::Version(v)) => current != Some(v),
        };
        match_ok && none_match_ok
    }

    /// Before a read of an existing object: `If-Match` that differs → 412; `If-None-Match`
    /// equal to the current version → 304.
    pub fn on_read(&self, current: i64) -> ReadOutcome {
        match (self.if_match, self.if_none_match) {
            (Some(Condition::Version(v)), _) if v != current => ReadOutcome::PreconditionFailed,
            (_, Some(Condition::Version(v))) if v == current => ReadOutcome::NotModified,
            _ => ReadOutcome::Proceed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(m: Option<&str>, n: Option<&str>) -> Preconditions {
        Preconditions::parse(m, n).unwrap()
    }

    #[test]
    fn parsing() {
        assert_eq!(parse("If-Match", Some("*")).unwrap(), Some(Condition::Any));
        assert_eq!(
            parse("If-Match", Some("\"12\"")).unwrap(),
            Some(Condition::Version(12))
        );
        assert_eq!(
            parse("If-Match", Some("12")).unwrap(),
            Some(Condition::Version(12))
        );
        assert_eq!(
            parse("If-Match", Some("\"12-3-400\"")).unwrap(),
            Some(Condition::Version(12))
        );
        assert_eq!(parse("If-Match", None).unwrap(), None);
        for bad in ["abc", "\"\"", "\"1", "1.5", "\"12-\"", "\"12-a\""] {
            let err = parse("If-Match", Some(bad)).unwrap_err();
            assert_eq!(err.field, "If-Match", "{bad}");
        }
    }

    /// The Kinto table: (If-Match, If-None-Match, exists-with-version, allowed).
    #[test]
    fn write_table() {
        let cases = [
            (None, None, None, true),
            (None, None, Some(5), true),
            (Some("*"), None, None, false),
            (Some("*"), None, Some(5), true),
            (Some("\"5\""), None, Some(5), true),
            (Some("\"4\""), None, Some(5), false),
            (Some("\"5\""), None, None, false),
            (None, Some("*"), None, true),
            (None, Some("*"), Some(5), false),
            (None, Some("\"5\""), Some(5), false),
            (None, Some("\"4\""), Some(5), true),
            (None, Some("\"4\""), None, true),
        ];
        for (m, n, current, allowed) in cases {
            assert_eq!(
                p(m, n).allows_write(current),
                allowed,
                "{m:?} {n:?} {current:?}"
            );
        }
    }

    #[test]
    fn read_table() {
        assert_eq!(p(None, Some("\"5\"")).on_read(5), ReadOutcome::NotModified);
        assert_eq!(p(None, Some("\"4\"")).on_read(5), ReadOutcome::Proceed);
        assert_eq!(p(None, Some("*")).on_read(5), ReadOutcome::Proceed);
        assert_eq!(
            p(Some("\"4\""), None).on_read(5),
            ReadOutcome::PreconditionFailed
        );
        assert_eq!(
            p(Some("\"4\""), Some("\"5\"")).on_read(5),
            ReadOutcome::PreconditionFailed
        );
        assert_eq!(p(Some("\"5\""), None).on_read(5), ReadOutcome::Proceed);
        assert_eq!(p(Some("*"), None).on_read(5), ReadOutcome::Proceed);
    }
}
