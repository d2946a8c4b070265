//! The identity provider's signing keys (a Cognito user pool, or an external OpenID Connect
//! issuer), fetched from its JWKS URL on first need and cached.
//!
//! Never fetched at init: a cold start must neither wait on the provider nor fail because of
//! it, and most requests (anonymous ones, dev tokens) need no key at all. Lambda runs at 128 MB
//! and every instance fetches on its own, so fetches are rare and bounded:
//!
//! - one fetch at a time (the state's lock is held across it: concurrent requests wait for it
//!   instead of fetching too);
//! - a `kid` the cached set lacks triggers a refetch at most once per [`UNKNOWN_KID_REFRESH`]
//!   (keys rotate rarely; random `kid`s from an attacker must not become a fetch storm);
//! - after a failed fetch, none before [`FAILURE_BACKOFF`];
//! - keys older than [`KEYS_MAX_AGE`] are refreshed on next need (a key the provider dropped
//!   stops being trusted), and kept when that refresh fails (the provider's outage does not
//!   become ours);
//! - the document is bounded ([`MAX_JWKS_BYTES`], [`MAX_JWKS_KEYS`]) and the fetch times out
//!   ([`FETCH_TIMEOUT`]).
//!
//! Outcomes: a key; [`LookupError::UnknownKid`] (a `401`: the set was fetched and the `kid` is not
//! in it); [`LookupError::Unavailable`] (a `503`: no key could be obtained, or the refresh the
//! `kid` called for failed) — never a `401` that hides an outage.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

/// Largest JWKS document read: Cognito's (two RSA keys) is under 1 KiB.
pub const MAX_JWKS_BYTES: usize = 64 * 1024;
/// Most keys in one document; providers publish two or three (current, next, previous).
pub const MAX_JWKS_KEYS: usize = 20;
/// A fetch that takes longer is abandoned (the API Gateway integration allows 30 s in all).
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(3);
/// The shortest interval between two fetches caused by an unknown `kid`.
pub const UNKNOWN_KID_REFRESH: Duration = Duration::from_secs(60);
/// No fetch this soon after a failed one.
pub const FAILURE_BACKOFF: Duration = Duration::from_secs(10);
/// Keys fetched this long ago are refreshed on next need.
pub const KEYS_MAX_AGE: Duration = Duration::from_secs(3600);

pub type FetchFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<u8>, String>> + Send + 'a>>;

/// Where the JWKS document comes from (the port): an HTTP GET of the configured URL in a
/// deployment (`aws::jwks`), a fake in tests.
pub trait JwksSource: Send + Sync {
    /// The raw document, or why it could not be had. Implementations bound what they read to
    /// a little over [`MAX_JWKS_BYTES`] and time out on their own too.
    fn fetch(&self) -> FetchFuture<'_>;
}

/// A verification key bound to its algorithm (a token cannot choose another for it).
#[derive(Clone)]
pub struct Key {
    pub kid: Option<String>,
    pub alg: Algorithm,
    pub key: DecodingKey,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupError {
    /// The set was fetched (recently) and has no key with this `kid` for this algorithm.
    UnknownKid,
    /// No key could be obtained; why (for the log).
    Unavailable(String),
}

#[derive(Default)]
struct State {
    keys: Vec<Key>,
    /// Last successful fetch.
    fetched_at: Option<Instant>,
    /// Last fetch, successful or not.
    attempted_at: Option<Instant>,
    /// Why the last fetch failed; `None` when it succeeded.
    failure: Option<String>,
}

type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

pub struct JwksCache {
    source: Arc<dyn JwksSource>,
    state: tokio::sync::Mutex<State>,
    clock: Clock,
}

impl JwksCache {
    pub fn new(source: Arc<dyn JwksSource>) -> JwksCache {
        Self::with_clock(source, Arc::new(Instant::now))
    }

    /// With a clock of the caller's (tests move time forward).
    pub fn with_clock(source: Arc<dyn JwksSource>, clock: Clock) -> JwksCache {
        JwksCache {
            source,
            state: tokio::sync::Mutex::new(State::default()),
            clock,
        }
    }

    /// The key for a token's `kid` and algorithm, fetching the set when the rules above allow.
    pub async fn key(&self, kid: &str, alg: Algorithm) -> Result<Key, LookupError> {
        let mut state = self.state.lock().await;
        let now = (self.clock)();
        let since = |t: Option<Instant>| t.map(|t| now.saturating_duration_since(t));
        let cached = find(&state.keys, kid, alg);
        let attempt_age = since(state.attempted_at);
        let backed_off = attempt_age.is_none_or(|age| age >= FAILURE_BACKOFF);
        let should_fetch = match &cached {
            // Fresh: the common case, no fetch.
            Some(_) if since(state.fetched_at).is_some_and(|age| age < KEYS_MAX_AGE) => false,
            // Stale: refresh, unless a fetch just failed (then the old key serves).
            Some(_) => backed_off,
            // Nothing ever fetched, or the last fetch failed: retry after the back-off.
            None if state.keys.is_empty() => backed_off,
            // A kid the set lacks: at most one refetch a minute.
            None => attempt_age.is_none_or(|age| age >= UNKNOWN_KID_REFRESH),
        };
        if !should_fetch {
            if let Some(key) = cached {
                return Ok(key);
            }
        } else {
            state.attempted_at = Some(now);
            match self.fetch().await {
                Ok(keys) => {
                    state.keys = keys;
                    state.fetched_at = Some(now);
                    state.failure = None;
                }
                Err(why) => {
                    tracing::warn!(error = %why, "JWKS fetch failed");
                    state.failure = Some(why);
                }
            }
        }
        match &state.failure {
            // Fetched: the new set alone decides (a key the provider dropped is dropped here).
            None => {
                if let Some(key) = find(&state.keys, kid, alg) {
                    return Ok(key);
                }
            }
            // A failed refresh of a stale key: the key we had still serves.
            Some(_) => {
                if let Some(key) = cached {
                    return Ok(key);
                }
            }
        }
        match &state.failure {
            Some(why) => Err(LookupError::Unavailable(why.clone())),
            None if state.keys.is_empty() => {
                Err(LookupError::Unavailable("no key set fetched yet".into()))
            }
            None => Err(LookupError::UnknownKid),
        }
    }

    async fn fetch(&self) -> Result<Vec<Key>, String> {
        let bytes = tokio::time::timeout(FETCH_TIMEOUT, self.source.fetch())
            .await
            .map_err(|_| format!("no answer within {FETCH_TIMEOUT:?}"))??;
        parse(&bytes)
    }
}

fn find(keys: &[Key], kid: &str, alg: Algorithm) -> Option<Key> {
    keys.iter()
        .find(|k| k.alg == alg && k.kid.as_deref() == Some(kid))
        .cloned()
}

/// The usable keys of a fetched JWKS document: signing keys with a `kid` (fetched keys are
/// found by it), RSA (RS256) or EC (ES256). Others are skipped; a document with none, too big,
/// with too many keys or not JSON is refused.
pub fn parse(bytes: &[u8]) -> Result<Vec<Key>, String> {
    if bytes.len() > MAX_JWKS_BYTES {
        return Err(format!(
            "the JWKS document is larger than {MAX_JWKS_BYTES} bytes"
        ));
    }
    #[derive(Deserialize)]
    struct Document {
        keys: Vec<serde_json::Value>,
    }
    let doc: Document = serde_json::from_slice(bytes)
        .map_err(|e| format!("the answer is not a JWKS document: {e}"))?;
    if doc.keys.len() > MAX_JWKS_KEYS {
        return Err(format!(
            "the JWKS document has {} keys, more than {MAX_JWKS_KEYS}",
            doc.keys.len()
        ));
    }
    let keys: Vec<Key> = doc
        .keys
        .into_iter()
        // One key this version cannot read (a new key type) does not spoil the others.
        .filter_map(|v| serde_json::from_value::<Jwk>(v).ok())
        .filter(|jwk| jwk.common.key_id.is_some())
        .filter(|jwk| !matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)))
        .filter_map(|jwk| {
            let alg = jwk_algorithm(&jwk)?;
            let key = DecodingKey::from_jwk(&jwk).ok()?;
            Some(Key {
                kid: jwk.common.key_id.clone(),
                alg,
                key,
            })
        })
        .collect();
    if keys.is_empty() {
        return Err("the JWKS document has no RS256 or ES256 signing key with a kid".into());
    }
    Ok(keys)
}

/// The one algorithm a JWK verifies: RS256 for RSA, ES256 for EC; `None` for other key types or
/// a key whose own `alg` says otherwise.
pub fn jwk_algorithm(jwk: &Jwk) -> Option<Algorithm> {
    let (alg, named) = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => (Algorithm::RS256, KeyAlgorithm::RS256),
        AlgorithmParameters::EllipticCurve(_) => (Algorithm::ES256, KeyAlgorithm::ES256),
        _ => return None,
    };
    match jwk.common.key_algorithm {
        None => Some(alg),
        Some(a) if a == named => Some(alg),
        Some(_) => None,
    }
}
