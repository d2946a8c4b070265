//! Cursor pagination: `_limit`, `after=<id>` (exclusive) and the opaque `_token`, valid 600 s.
//!
//! A `_token` is `<key id>.<payload>.<signature>`: the payload (base64url JSON: the last key of
//! the previous page and an expiry) signed with HMAC-SHA256 under a server key
//! ([`CursorKeys`]), so a client can neither forge a position nor extend its life. The current
//! key signs; it and the previous keys verify, so keys rotate without breaking the pages in
//! flight (for the 600 s they live).

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

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

/// Shortest accepted cursor secret, in bytes (HMAC-SHA256 wants at least 256 bits).
pub const MIN_CURSOR_SECRET_LEN: usize = 32;
const MAX_KEY_ID_LEN: usize = 32;

/// The keys that sign and verify page tokens: the first (current) signs, every one verifies.
#[derive(Clone, PartialEq, Eq)]
pub struct CursorKeys {
    keys: Vec<(String, Vec<u8>)>,
}

impl fmt::Debug for CursorKeys {
    /// Key ids only: secrets never reach a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("CursorKeys").field("ids", &ids).finish()
    }
}

impl CursorKeys {
    /// Reads `kid:secret[,kid:secret…]` (the `CURSOR_KEYS` setting), the current key first.
    /// Key ids are 1-32 of `[A-Za-z0-9_-]`, unique; secrets at least 32 bytes.
    pub fn parse(text: &str) -> Result<CursorKeys, String> {
        let mut keys: Vec<(String, Vec<u8>)> = Vec::new();
        for (i, entry) in text.split(',').map(str::trim).enumerate() {
            let n = i + 1;
            let (id, secret) = entry
                .split_once(':')
                .ok_or_else(|| format!("CURSOR_KEYS entry {n} must be <key id>:<secret>"))?;
            let id_ok = !id.is_empty()
                && id.len() <= MAX_KEY_ID_LEN
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !id_ok {
                return Err(format!(
                    "CURSOR_KEYS entry {n}: the key id must be 1 to {MAX_KEY_ID_LEN} of A-Z a-z 0-9 - _"
                ));
            }
            if secret.len() < MIN_CURSOR_SECRET_LEN {
                return Err(format!(
                    "CURSOR_KEYS key {id}: the secret must be at least {MIN_CURSOR_SECRET_LEN} bytes"
                ));
            }
            if keys.iter().any(|(k, _)| k == id) {
                return Err(format!("CURSOR_KEYS: key id {id} is given twice"));
            }
            keys.push((id.to_string(), secret.as_bytes().to_vec()));
        }
        Ok(CursorKeys { keys })
    }

    /// The id of the key that signs.
    pub fn current_id(&self) -> &str {
        &self.keys[0].0
    }

    fn mac(secret: &[u8], signed: &str) -> Hmac<Sha256> {
        // HMAC takes a key of any length.
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts any key");
        mac.update(signed.as_bytes());
        mac
    }

    fn sign(&self, payload: &str) -> String {
        let (id, secret) = &self.keys[0];
        let signed = format!("{id}.{payload}");
        let tag = Self::mac(secret, &signed).finalize().into_bytes();
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(tag))
    }

    /// The payload of a token signed by one of these keys (constant-time comparison).
    fn verify<'t>(&self, token: &'t str) -> Option<&'t str> {
        let mut parts = token.splitn(3, '.');
        let (id, payload, tag) = (parts.next()?, parts.next()?, parts.next()?);
        let (_, secret) = self.keys.iter().find(|(k, _)| k == id)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        Self::mac(secret, &format!("{id}.{payload}"))
            .verify_slice(&tag)
            .ok()?;
        Some(payload)
    }
}

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

/// Reads `_limit`, `_token` (verified with `keys`) and `after` from the query. `_token` wins
/// over `after`.
pub fn page_request(
    limit: Option<&str>,
    token: Option<&str>,
    after: Option<&str>,
    keys: &CursorKeys,
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
        (Some(token), _) => Some(decode_token(keys, token, now_ms)?),
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

/// The token that continues after `last_id`, signed with the current key.
pub fn encode_token(keys: &CursorKeys, last_id: &str, now_ms: i64) -> String {
    let token = Token {
        a: last_id.to_string(),
        e: now_ms + TOKEN_TTL_MS,
    };
    keys.sign(&URL_SAFE_NO_PAD.encode(serde_json::to_vec(&token).unwrap_or_default()))
}

fn decode_token(keys: &CursorKeys, raw: &str, now_ms: i64) -> Result<String, RuleError> {
    let bad = |why: &str| RuleError::invalid("_token", why.to_string());
    if raw.len() > MAX_TOKEN_LEN {
        return Err(bad("is not a valid page token"));
    }
    // Forged, tampered, truncated or signed by a key this deployment does not hold: the
    // payload is not even read.
    let payload = keys
        .verify(raw)
        .ok_or_else(|| bad("is not a valid page token"))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| bad("is not a valid page token"))?;
    let token: Token =
        serde_json::from_slice(&bytes).map_err(|_| bad("is not a valid page token"))?;
    if token.a.is_empty() {
        return Err(bad("is not a valid page token"));
    }
    // Signed by us, so `e` was set to at most TTL ahead; a longer one (a key shared with a
    // misconfigured signer) is refused all the same.
    if token.e < now_ms || token.e > now_ms + TOKEN_TTL_MS {
        return Err(bad("has expired; list again from the first page"));
    }
    Ok(token.a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::error::RuleKind;

    const SECRET: &str = "unit-test-cursor-secret-0123456789abcdef";

    fn keys() -> CursorKeys {
        CursorKeys::parse(&format!("k1:{SECRET}")).unwrap()
    }

    fn field_of(token: &str, keys: &CursorKeys, now: i64) -> Option<String> {
        page_request(None, Some(token), None, keys, now)
            .err()
            .map(|e| e.field)
    }

    #[test]
    fn forged_tampered_and_unknown_key_tokens_are_400() {
        let k = keys();
        let good = encode_token(&k, "b1", 0);
        assert_eq!(field_of(&good, &k, 0), None);
        // An unsigned payload as the old tokens were: forged.
        let payload = URL_SAFE_NO_PAD.encode(br#"{"a":"zzz","e":9999999999999}"#);
        // Tampered: another position, or a later expiry, under the old signature.
        let (head, tag) = good.rsplit_once('.').unwrap();
        let (kid, _) = head.split_once('.').unwrap();
        let tampered = format!("{kid}.{payload}.{tag}");
        // Signed with a secret we do not hold, under our key id and under another.
        let stranger = CursorKeys::parse(&format!("k1:{}", "x".repeat(40))).unwrap();
        let other_id = CursorKeys::parse(&format!("k9:{SECRET}")).unwrap();
        // A signature cut short, or flipped.
        let short = &good[..good.len() - 2];
        let mut flipped = good.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).unwrap();
        for bad in [
            payload.clone(),
            format!("k1.{payload}."),
            format!("k1.{payload}"),
            tampered,
            encode_token(&stranger, "b1", 0),
            encode_token(&other_id, "b1", 0),
            short.to_string(),
            flipped,
        ] {
            assert_eq!(field_of(&bad, &k, 0).as_deref(), Some("_token"), "{bad}");
        }
    }

    #[test]
    fn tokens_expire_and_cannot_be_made_to_live_longer() {
        let k = keys();
        let t = encode_token(&k, "b1", 0);
        assert_eq!(field_of(&t, &k, TOKEN_TTL_MS), None);
        assert_eq!(
            field_of(&t, &k, TOKEN_TTL_MS + 1).as_deref(),
            Some("_token")
        );
        // A token from the future (a clock far ahead, or a signer misused) is not honoured.
        let future = encode_token(&k, "b1", 10 * TOKEN_TTL_MS);
        assert_eq!(field_of(&future, &k, 0).as_deref(), Some("_token"));
    }

    #[test]
    fn previous_keys_verify_and_the_current_key_signs() {
        let old = CursorKeys::parse(&format!("old:{SECRET}")).unwrap();
        let rotated = CursorKeys::parse(&format!("new:{}, old:{SECRET}", "n".repeat(32))).unwrap();
        assert_eq!(rotated.current_id(), "new");
        let in_flight = encode_token(&old, "b7", 0);
        assert_eq!(field_of(&in_flight, &rotated, 0), None);
        let fresh = encode_token(&rotated, "b7", 0);
        assert!(fresh.starts_with("new."), "{fresh}");
        // Once the old key is dropped its tokens are refused.
        assert_eq!(field_of(&in_flight, &keys(), 0).as_deref(), Some("_token"));
    }

    #[test]
    fn key_settings_are_checked() {
        for bad in [
            "",
            "nosecret",
            "k1:short",
            &format!(":{SECRET}"),
            &format!("k.1:{SECRET}"),
            &format!("k1:{SECRET},k1:{SECRET}"),
            &format!("{}:{SECRET}", "k".repeat(33)),
        ] {
            assert!(CursorKeys::parse(bad).is_err(), "{bad}");
        }
        let debug = format!("{:?}", keys());
        assert!(!debug.contains(SECRET), "{debug}");
    }

    #[test]
    fn defaults_and_bounds() {
        assert_eq!(
            page_request(None, None, None, &keys(), 0).unwrap(),
            PageRequest {
                after: None,
                limit: 100
            }
        );
        assert_eq!(
            page_request(Some("1000"), None, None, &keys(), 0)
                .unwrap()
                .limit,
            1000
        );
        for bad in ["0", "1001", "-1", "x", ""] {
            let err = page_request(Some(bad), None, None, &keys(), 0).unwrap_err();
            assert_eq!(err.field, "_limit");
        }
    }

    #[test]
    fn token_round_trips_and_expires() {
        let t = encode_token(&keys(), "b123", 1_000);
        assert_eq!(
            page_request(None, Some(&t), None, &keys(), 1_000)
                .unwrap()
                .after
                .as_deref(),
            Some("b123")
        );
        let err =
            page_request(None, Some(&t), None, &keys(), 1_000 + TOKEN_TTL_MS + 1).unwrap_err();
        assert_eq!(err.field, "_token");
    }

    #[test]
    fn garbage_tokens_are_400() {
        for bad in ["", "!!!", "e30", "bm90IGpzb24"] {
            let err = page_request(None, Some(bad), None, &keys(), 0).unwrap_err();
            assert_eq!(err.kind, RuleKind::Invalid, "{bad}");
        }
    }

    #[test]
    fn after_is_passed_through() {
        assert_eq!(
            page_request(None, None, Some("b5"), &keys(), 0)
                .unwrap()
                .after
                .as_deref(),
            Some("b5")
        );
        assert!(page_request(None, None, Some(""), &keys(), 0).is_err());
        let long = "a".repeat(2000);
        let err = page_request(None, None, Some(&long), &keys(), 0).unwrap_err();
        assert_eq!(err.field, "after");
        let err = page_request(
            None,
            Some(&encode_token(&keys(), &long, 0)),
            None,
            &keys(),
            0,
        )
        .unwrap_err();
        assert_eq!(err.field, "_token");
    }

    #[test]
    fn overlong_tokens_are_not_decoded() {
        let long = "A".repeat(MAX_TOKEN_LEN + 1);
        let err = page_request(None, Some(&long), None, &keys(), 0).unwrap_err();
        assert_eq!(err.field, "_token");
        let huge = "A".repeat(1 << 20);
        assert_eq!(
            page_request(None, Some(&huge), None, &keys(), 0)
                .unwrap_err()
                .field,
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
