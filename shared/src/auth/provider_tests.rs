//! The identity provider's tokens (Cognito-shaped, RS256 with a `kid`) against a fake JWKS
//! source that counts its fetches, fails, answers garbage or rotates keys, and a clock the
//! tests move.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

use super::jwks::{FetchFuture, JwksCache, JwksSource, MAX_JWKS_BYTES, MAX_JWKS_KEYS};
use super::*;

const RSA_PRIVATE: &str = include_str!("../../testdata/test-only-rsa-private.pem");
const RSA_PUBLIC: &str = include_str!("../../testdata/test-only-rsa-public.pem");
const RSA2_PRIVATE: &str = include_str!("../../testdata/test-only-rsa2-private.pem");
const ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_pool";
const CLIENT: &str = "client-1";
const DEV_SECRET: &str = "dev-secret";

/// What the fake answers; `fetches` counts the calls.
struct Fake {
    answer: Mutex<Result<Vec<u8>, String>>,
    fetches: AtomicUsize,
}

impl JwksSource for Fake {
    fn fetch(&self) -> FetchFuture<'_> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        let answer = self.answer.lock().unwrap().clone();
        Box::pin(async move { answer })
    }
}

struct Setup {
    verifier: Verifier,
    fake: Arc<Fake>,
    now: Arc<Mutex<Instant>>,
}

impl Setup {
    /// A verifier trusting the fake's keys for ISSUER / CLIENT, and HS256 dev tokens.
    fn new(answer: Result<Vec<u8>, String>) -> Setup {
        let fake = Arc::new(Fake {
            answer: Mutex::new(answer),
            fetches: AtomicUsize::new(0),
        });
        let now = Arc::new(Mutex::new(Instant::now()));
        let clock = {
            let now = now.clone();
            Arc::new(move || *now.lock().unwrap())
        };
        let settings = AuthSettings {
            hs256_secret: Some(DEV_SECRET.into()),
            jwks_issuer: Some(ISSUER.into()),
            jwks_audience: Some(CLIENT.into()),
            ..Default::default()
        };
        let cache = JwksCache::with_clock(fake.clone(), clock);
        let verifier = Verifier::with_jwks_cache(&settings, Some(cache)).unwrap();
        Setup {
            verifier,
            fake,
            now,
        }
    }

    fn identify(&self, token: &str) -> Result<Identity, Error> {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
            .block_on(self.verifier.identify(Some(&format!("Bearer {token}"))))
    }

    fn fetches(&self) -> usize {
        self.fake.fetches.load(Ordering::SeqCst)
    }

    fn advance(&self, secs: u64) {
        *self.now.lock().unwrap() += Duration::from_secs(secs);
    }

    fn answer(&self, answer: Result<Vec<u8>, String>) {
        *self.fake.answer.lock().unwrap() = answer;
    }
}

fn jwk(private_pem: &str, kid: &str) -> Value {
    let key = EncodingKey::from_rsa_pem(private_pem.as_bytes()).unwrap();
    let mut jwk = Jwk::from_encoding_key(&key, Algorithm::RS256).unwrap();
    jwk.common.key_id = Some(kid.into());
    serde_json::to_value(jwk).unwrap()
}

fn jwks(keys: &[Value]) -> Result<Vec<u8>, String> {
    Ok(json!({ "keys": keys }).to_string().into_bytes())
}

fn now() -> i64 {
    crate::domain::time::now_ms() / 1000
}

/// A Cognito ID token (`aud` = the client) signed by `private_pem` under `kid`.
fn id_claims() -> Value {
    json!({"sub": "7d1e-uuid", "iss": ISSUER, "aud": CLIENT, "token_use": "id",
           "iat": now(), "exp": now() + 3600, "cognito:groups": ["create_buckets", "staff"],
           "cognito:username": "dev"})
}

/// A Cognito access token: no `aud`, the client in `client_id`.
fn access_claims() -> Value {
    json!({"sub": "7d1e-uuid", "iss": ISSUER, "client_id": CLIENT, "token_use": "access",
           "iat": now(), "exp": now() + 3600, "cognito:groups": ["edit_buckets"]})
}

fn rs256(private_pem: &str, kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = kid.map(str::to_string);
    let key = EncodingKey::from_rsa_pem(private_pem.as_bytes()).unwrap();
    encode(&header, claims, &key).unwrap()
}

fn is_401(r: &Result<Identity, Error>) -> bool {
    matches!(r, Err(Error::Unauthenticated(_)))
}

fn is_503(r: &Result<Identity, Error>) -> bool {
    matches!(r, Err(Error::Unavailable(_)))
}

#[test]
fn id_and_access_tokens_verify_and_groups_grant_privileges() {
    let s = Setup::new(jwks(&[jwk(RSA_PRIVATE, "k1")]));
    // Nothing is fetched before a token needs it.
    assert_eq!(s.fetches(), 0);
    let id = s
        .identify(&rs256(RSA_PRIVATE, Some("k1"), &id_claims()))
        .unwrap();
    assert_eq!(id.sub.as_deref(), Some("7d1e-uuid"));
    // Only groups named after a privilege grant one.
    assert_eq!(id.privileges, vec!["create_buckets"]);
    let access = s
        .identify(&rs256(RSA_PRIVATE, Some("k1"), &access_claims()))
        .unwrap();
    assert_eq!(access.privileges, vec!["edit_buckets"]);
    // Fetched once, then cached.
    assert_eq!(s.fetches(), 1);
    // HS256 dev tokens keep working beside the provider, and fetch nothing.
    let dev = encode(
        &Header::new(Algorithm::HS256),
        &json!({"sub": "ci", "exp": now() + 60, "privileges": ["admin"]}),
        &EncodingKey::from_secret(DEV_SECRET.as_bytes()),
    )
    .unwrap();
    assert_eq!(s.identify(&dev).unwrap(), Identity::user("ci", &["admin"]));
    assert_eq!(s.fetches(), 1);
}

#[test]
fn tokens_of_another_issuer_audience_or_use_are_401() {
    let s = Setup::new(jwks(&[jwk(RSA_PRIVATE, "k1")]));
    let with = |base: Value, patch: Value| {
        let mut claims = base;
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                claims.as_object_mut().unwrap().remove(k);
            } else {
                claims[k] = v.clone();
            }
        }
        rs256(RSA_PRIVATE, Some("k1"), &claims)
    };
    let cases = [
        with(id_claims(), json!({"iss": "https://evil.example.com/"})),
        with(id_claims(), json!({"iss": null})),
        with(id_claims(), json!({"aud": "another-client"})),
        with(id_claims(), json!({"aud": ["another-client"]})),
        // A present aud decides, whatever client_id says.
        with(
            id_claims(),
            json!({"aud": "another-client", "client_id": CLIENT}),
        ),
        with(id_claims(), json!({"aud": null})),
        with(access_claims(), json!({"client_id": "another-client"})),
        with(access_claims(), json!({"token_use": "refresh"})),
        with(id_claims(), json!({"exp": now() - 60})),
        with(id_claims(), json!({"sub": null})),
    ];
    for t in &cases {
        assert!(is_401(&s.identify(t)), "{t}");
    }
    // An aud list naming the client is fine.
    assert!(
        s.identify(&with(id_claims(), json!({"aud": ["x", CLIENT]})))
            .is_ok()
    );
    // Signed by another key under the right kid: a bad signature.
    assert!(is_401(&s.identify(&rs256(
        RSA2_PRIVATE,
        Some("k1"),
        &id_claims()
    ))));
}

#[test]
fn algorithm_confusion_and_kidless_tokens_never_reach_the_provider() {
    let s = Setup::new(jwks(&[jwk(RSA_PRIVATE, "k1")]));
    // HS256 signed with the RSA public key's bytes (public knowledge) as the HMAC secret, with
    // the provider's kid.
    for secret in [RSA_PUBLIC.as_bytes(), RSA_PUBLIC.trim().as_bytes()] {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("k1".into());
        let forged = encode(&header, &id_claims(), &EncodingKey::from_secret(secret)).unwrap();
        assert!(is_401(&s.identify(&forged)));
    }
    // RS256 without a kid: the provider's keys are found by kid only.
    assert!(is_401(&s.identify(&rs256(RSA_PRIVATE, None, &id_claims()))));
    assert_eq!(s.fetches(), 0);
    // Even once the keys are cached, HS256 over the public key is refused.
    s.identify(&rs256(RSA_PRIVATE, Some("k1"), &id_claims()))
        .unwrap();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("k1".into());
    let forged = encode(
        &header,
        &id_claims(),
        &EncodingKey::from_secret(RSA_PUBLIC.as_bytes()),
    )
    .unwrap();
    assert!(is_401(&s.identify(&forged)));
}

#[test]
fn an_unknown_kid_refetches_at_most_once_a_minute_then_401() {
    let s = Setup::new(jwks(&[jwk(RSA_PRIVATE, "k1")]));
    s.identify(&rs256(RSA_PRIVATE, Some("k1"), &id_claims()))
        .unwrap();
    assert_eq!(s.fetches(), 1);
    let k2 = rs256(RSA2_PRIVATE, Some("k2"), &id_claims());
    // Within the minute of the last fetch: 401 without fetching, however often.
    for _ in 0..5 {
        assert!(is_401(&s.identify(&k2)));
    }
    assert_eq!(s.fetches(), 1);
    // A minute later: one refetch; the set still lacks k2: 401.
    s.advance(61);
    assert!(is_401(&s.identify(&k2)));
    assert!(is_401(&s.identify(&k2)));
    assert_eq!(s.fetches(), 2);
    // The provider rotates in k2: found at the next allowed refetch.
    s.answer(jwks(&[jwk(RSA_PRIVATE, "k1"), jwk(RSA2_PRIVATE, "k2")]));
    assert!(is_401(&s.identify(&k2)));
    s.advance(61);
    assert!(s.identify(&k2).is_ok());
    assert_eq!(s.fetches(), 3);
    // k1 still verifies from the cache.
    assert!(
        s.identify(&rs256(RSA_PRIVATE, Some("k1"), &id_claims()))
            .is_ok()
    );
    assert_eq!(s.fetches(), 3);
}

#[test]
fn an_unreachable_jwks_is_503_and_retried_only_after_a_back_off() {
    let s = Setup::new(Err("connection refused".into()));
    let t = rs256(RSA_PRIVATE, Some("k1"), &id_claims());
    assert!(is_503(&s.identify(&t)));
    assert!(is_503(&s.identify(&t)));
    assert_eq!(s.fetches(), 1, "no retry on every request");
    s.advance(11);
    assert!(is_503(&s.identify(&t)));
    assert_eq!(s.fetches(), 2);
    // The provider is back: the next fetch after the back-off succeeds.
    s.answer(jwks(&[jwk(RSA_PRIVATE, "k1")]));
    assert!(is_503(&s.identify(&t)));
    s.advance(11);
    assert!(s.identify(&t).is_ok());
    assert_eq!(s.fetches(), 3);
}

#[test]
fn a_garbage_or_oversized_jwks_is_503() {
    let rsa = jwk(RSA_PRIVATE, "k1");
    let mut too_big = jwk(RSA_PRIVATE, "k1");
    too_big["x-padding"] = json!("a".repeat(MAX_JWKS_BYTES));
    let mut no_kid = jwk(RSA_PRIVATE, "k1");
    no_kid.as_object_mut().unwrap().remove("kid");
    let mut encryption = jwk(RSA_PRIVATE, "k1");
    encryption["use"] = json!("enc");
    let answers = [
        Ok(b"<html>502 Bad Gateway</html>".to_vec()),
        Ok(Vec::new()),
        Ok(b"{\"keys\": \"no\"}".to_vec()),
        jwks(&[]),
        jwks(&[too_big]),
        jwks(&vec![rsa.clone(); MAX_JWKS_KEYS + 1]),
        jwks(&[json!({"kty": "oct", "kid": "k1", "k": "c2VjcmV0"})]),
        jwks(&[json!({"kty": "RSA", "kid": "k1", "n": "!!", "e": "AQAB"})]),
        jwks(&[no_kid]),
        jwks(&[encryption]),
    ];
    for answer in answers {
        let shown = format!(
            "{:.80?}",
            answer.as_ref().map(|b| String::from_utf8_lossy(b))
        );
        let s = Setup::new(answer);
        let got = s.identify(&rs256(RSA_PRIVATE, Some("k1"), &id_claims()));
        assert!(is_503(&got), "{shown}: {got:?}");
    }
    // One unreadable key among good ones does not spoil the set.
    let s = Setup::new(jwks(&[json!({"kty": "OKP?", "kid": "x"}), rsa]));
    assert!(
        s.identify(&rs256(RSA_PRIVATE, Some("k1"), &id_claims()))
            .is_ok()
    );
}

#[test]
fn stale_keys_are_refreshed_and_kept_when_the_refresh_fails() {
    let s = Setup::new(jwks(&[jwk(RSA_PRIVATE, "k1")]));
    let t = rs256(RSA_PRIVATE, Some("k1"), &id_claims());
    s.identify(&t).unwrap();
    s.advance(3601);
    s.answer(Err("timeout".into()));
    // The refresh fails: the key we have still serves (the provider's outage is not ours).
    assert!(s.identify(&t).is_ok());
    assert!(s.identify(&t).is_ok());
    assert_eq!(s.fetches(), 2);
    // The provider dropped k1: after the back-off, the refresh drops it here too.
    s.answer(jwks(&[jwk(RSA2_PRIVATE, "k2")]));
    s.advance(11);
    assert!(is_401(&s.identify(&t)));
    assert_eq!(s.fetches(), 3);
}

#[test]
fn a_jwks_url_needs_its_issuer_and_audience() {
    let fake: Arc<dyn JwksSource> = Arc::new(Fake {
        answer: Mutex::new(Err("unused".into())),
        fetches: AtomicUsize::new(0),
    });
    for settings in [
        AuthSettings {
            jwks_audience: Some(CLIENT.into()),
            ..Default::default()
        },
        AuthSettings {
            jwks_issuer: Some(ISSUER.into()),
            ..Default::default()
        },
    ] {
        assert!(Verifier::with_jwks_source(&settings, Some(fake.clone())).is_err());
    }
}
