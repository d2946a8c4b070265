//! Cursor pagination: `_limit`, `after=<id>` (exclusive) and the opaque `_token`, valid 600 s.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::error::RuleError;

pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1000;
pub const TOKEN_TTL_MS: i64 = 600_000;
/// The most JSON one answer may carry, in bytes: Lambda refuses responses over 6 MB (the
/// payload, headers and the gateway's encoding included), so an answer keeps well clear of
/// it. A listing page ends early (with its link to the next page) rather than pass it.
pub const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;

/// How many of `sizes` (the JSON sizes of a page's items, in order) fit in `budget` bytes:
/// at least one, so that every page makes progress (a single item is far below the budget).
pub fn items_within(sizes: impl IntoIterator<Item = usize>, budget: usize) -> usize {
    let mut total = 0usize;
    let mut count = 0;
    for size in sizes {
        // +1: the comma between items.
        total = total.saturating_add(size + 1);
        if total > budget && count > 0 {
            break;
        }
        count += 1;
    }
    count
}
/// Longest listing key (bucket ids are at most 64, file names at most 255 characters).
const MAX_KEY_LEN: usize = 255;
/// Longest `_token` read: a token holds one key (at most `MAX_KEY_LEN`) and an expiry, about
/// 400 characters of base64 once JSON-escaped; anything longer was not made here and is not
/// decoded at all.
const MAX_TOKEN_LEN: usize = 1024;

/// Where a page starts and how long it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub after: Option<String>,
    pub limit: usize,
}

#[derive(Serialize, Deserialize)]
struct Token {
    /// The last id of the previous page.
    a: String,
    /// Expiry, ms since the epoch.
    e: i64,
}

/// Reads `_limit`, `_token` and `after` from the query. `_token` wins over `after`.
pub fn page_request(
    limit: Option<&str>,
    token: Option<&str>,
    after: Option<&str>,
    now_ms: i64,
) -> Result<PageRequest, RuleError> {
    let limit = match limit {
        None => DEFAULT_LIMIT,
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                return Err(RuleError::invalid(
                    "_limit",
                    format!("must be an integer between 1 and {MAX_LIMIT}"),
                ));
            }
        },
    };
    let after = match (token, after) {
        (Some(token), _) => Some(decode_token(token, now_ms)?),
        (None, Some("")) => {
            return Err(RuleError::invalid("after", "must not be empty"));
        }
        (None, after) => after.map(str::to_string),
    };
    if let Some(key) = &after
        && (key.len() > MAX_KEY_LEN || key.chars().any(char::is_control))
    {
        let name = if token.is_some() { "_token" } else { "after" };
        return Err(RuleError::invalid(name, "is not a key of this listing"));
    }
    Ok(PageRequest { after, limit })
}

/// The token that continues after `last_id`.
pub fn encode_token(last_id: &str, now_ms: i64) -> String {
    let token = Token {
        a: last_id.to_string(),
        e: now_ms + TOKEN_TTL_MS,
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&token).unwrap_or_default())
}

fn decode_token(raw: &str, now_ms: i64) -> Result<String, RuleError> {
    let bad = |why: &str| RuleError::invalid("_token", why.to_string());
    if raw.len() > MAX_TOKEN_LEN {
        return Err(bad("is not a valid page token"));
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(raw.trim_end_matches('='))
        .map_err(|_| bad("is not a valid page token"))?;
    let token: Token =
        serde_json::from_slice(&bytes).map_err(|_| bad("is not a valid page token"))?;
    if token.a.is_empty() {
        return Err(bad("is not a valid page token"));
    }
    if token.e < now_ms {
        return Err(bad("has expired; list again from the first page"));
    }
    Ok(token.a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::error::RuleKind;

    #[test]
    fn defaults_and_bounds() {
        assert_eq!(
            page_request(None, None, None, 0).unwrap(),
            PageRequest {
                after: None,
                limit: 100
            }
        );
        assert_eq!(
            page_request(Some("1000"), None, None, 0).unwrap().limit,
            1000
        );
        for bad in ["0", "1001", "-1", "x", ""] {
            let err = page_request(Some(bad), None, None, 0).unwrap_err();
            assert_eq!(err.field, "_limit");
        }
    }

    #[test]
    fn token_round_trips_and_expires() {
        let t = encode_token("b123", 1_000);
        assert_eq!(
            page_request(None, Some(&t), None, 1_000)
                .unwrap()
                .after
                .as_deref(),
            Some("b123")
        );
        let err = page_request(None, Some(&t), None, 1_000 + TOKEN_TTL_MS + 1).unwrap_err();
        assert_eq!(err.field, "_token");
    }

    #[test]
    fn garbage_tokens_are_400() {
        for bad in ["", "!!!", "e30", "bm90IGpzb24"] {
            let err = page_request(None, Some(bad), None, 0).unwrap_err();
            assert_eq!(err.kind, RuleKind::Invalid, "{bad}");
        }
    }

    #[test]
    fn after_is_passed_through() {
        assert_eq!(
            page_request(None, None, Some("b5"), 0)
                .unwrap()
                .after
                .as_deref(),
            Some("b5")
        );
        assert!(page_request(None, None, Some(""), 0).is_err());
        let long = "a".repeat(2000);
        let err = page_request(None, None, Some(&long), 0).unwrap_err();
        assert_eq!(err.field, "after");
        let err = page_request(None, Some(&encode_token(&long, 0)), None, 0).unwrap_err();
        assert_eq!(err.field, "_token");
    }

    #[test]
    fn overlong_tokens_are_not_decoded() {
        let long = "A".repeat(MAX_TOKEN_LEN + 1);
        let err = page_request(None, Some(&long), None, 0).unwrap_err();
        assert_eq!(err.field, "_token");
        let huge = "A".repeat(1 << 20);
        assert_eq!(
            page_request(None, Some(&huge), None, 0).unwrap_err().field,
            "_token"
        );
    }

    #[test]
    fn pages_fit_their_byte_budget() {
        assert_eq!(items_within([10, 10, 10], 100), 3);
        assert_eq!(items_within([40, 40, 40], 100), 2);
        // Always one, however large.
        assert_eq!(items_within([1000, 1], 100), 1);
        assert_eq!(items_within(std::iter::empty(), 100), 0);
    }
}
