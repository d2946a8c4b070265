//! JWT bearer authentication (jsonwebtoken). Keys come from configuration only: an HS256
//! secret, PEM public keys and/or an inline JWKS. Each key is bound to its algorithm family, so
//! a token cannot pick a weaker algorithm for a key (no `none`, no HS256 with an RSA key).

use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;

use crate::config::AuthSettings;
use crate::domain::access::Identity;
use crate::service::Error;

/// Seconds of clock skew accepted on `exp` and `nbf`.
pub const LEEWAY_SECONDS: u64 = 5;
const MAX_SUB_LEN: usize = 200;
/// Longest token verified, in bytes, checked before any parsing: a JWT with its header,
/// the claims this API reads and an RS256/ES256 signature is well under 2 KiB; Cognito's
/// with many groups stays under 4 KiB. 8 KiB is twice that; longer is refused (401) unread.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

struct Key {
    kid: Option<String>,
    alg: Algorithm,
    key: DecodingKey,
}

pub struct Verifier {
    keys: Vec<Key>,
    issuer: Option<String>,
    audience: Option<String>,
    max_lifetime_secs: u64,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    privileges: Vec<String>,
    /// Required (checked by the validation); numeric seconds.
    exp: f64,
    #[serde(default)]
    iat: Option<f64>,
}

impl Verifier {
    /// Builds the key set. A key that cannot be read is a deployment error, reported at init.
    pub fn new(settings: &AuthSettings) -> Result<Verifier, String> {
        let mut keys = Vec::new();
        if let Some(secret) = &settings.hs256_secret {
            keys.push(Key {
                kid: None,
                alg: Algorithm::HS256,
                key: DecodingKey::from_secret(secret.as_bytes()),
            });
        }
        if let Some(pems) = &settings.public_keys_pem {
            for (i, pem) in split_pem_blocks(pems).into_iter().enumerate() {
                keys.push(
                    pem_key(&pem).map_err(|e| format!("JWT_PUBLIC_KEYS block {}: {e}", i + 1))?,
                );
            }
        }
        if let Some(jwks) = &settings.jwks {
            let set: JwkSet = serde_json::from_str(jwks)
                .map_err(|e| format!("JWT_JWKS is not a JWKS document: {e}"))?;
            for jwk in &set.keys {
                let alg =
                    match &jwk.algorithm {
                        AlgorithmParameters::RSA(_) => Algorithm::RS256,
                        AlgorithmParameters::EllipticCurve(_) => Algorithm::ES256,
                        _ => return Err(
                            "JWT_JWKS: only RSA (RS256) and EC P-256 (ES256) keys are supported"
                                .into(),
                        ),
                    };
                let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("JWT_JWKS key: {e}"))?;
                keys.push(Key {
                    kid: jwk.common.key_id.clone(),
                    alg,
                    key,
                });
            }
        }
        Ok(Verifier {
            keys,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            max_lifetime_secs: settings.max_token_lifetime_secs,
        })
    }

    /// The caller behind an `Authorization` header value: anonymous without one, 401 for any
    /// header that is not a valid bearer token.
    pub fn identify(&self, authorization: Option<&str>) -> Result<Identity, Error> {
        let Some(header) = authorization else {
            return Ok(Identity::anonymous());
        };
        let token = header
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|token| !token.is_empty())
            .ok_or_else(|| unauthorized("the Authorization header must be 'Bearer <JWT>'"))?;
        if token.len() > MAX_TOKEN_BYTES {
            return Err(unauthorized(
                "the token is longer than any token this API issues or accepts",
            ));
        }
        let header = decode_header(token)
            .map_err(|_| unauthorized("the token is malformed or its algorithm is not accepted"))?;
        let candidates = self
            .keys
            .iter()
            .filter(|k| k.alg == header.alg)
            .filter(|k| match (&header.kid, &k.kid) {
                (Some(want), Some(have)) => want == have,
                _ => true,
            });
        let mut last_error = unauthorized("no key accepts tokens signed with this algorithm");
        for key in candidates {
            match decode::<Claims>(token, &key.key, &self.validation(key.alg)) {
                Ok(data) => {
                    self.check_lifetime(&data.claims)?;
                    return identity_from(data.claims);
                }
                Err(e) => last_error = unauthorized(describe(&e)),
            }
        }
        Err(last_error)
    }

    /// A token may live at most `MAX_TOKEN_LIFETIME` seconds: `exp - iat`, counted from now
    /// when `iat` is missing or in the future (a future `iat` would otherwise stretch a token
    /// valid from now on). A stolen long-lived token is refused rather than honoured for ever.
    fn check_lifetime(&self, claims: &Claims) -> Result<(), Error> {
        let now = crate::domain::time::now_ms() as f64 / 1000.0;
        let from = claims.iat.map_or(now, |iat| iat.min(now));
        let lifetime = claims.exp - from;
        if !lifetime.is_finite() || lifetime > (self.max_lifetime_secs + LEEWAY_SECONDS) as f64 {
            return Err(unauthorized(
                "the token lives longer than this deployment accepts (MAX_TOKEN_LIFETIME)",
            ));
        }
        Ok(())
    }

    fn validation(&self, alg: Algorithm) -> Validation {
        let mut v = Validation::new(alg);
        v.leeway = LEEWAY_SECONDS;
        v.validate_exp = true;
        // A token not valid yet is refused (same leeway as `exp`).
        v.validate_nbf = true;
        let mut required = vec!["exp", "sub"];
        match &self.issuer {
            Some(iss) => {
                v.set_issuer(&[iss]);
                required.push("iss");
            }
            None => v.iss = None,
        }
        match &self.audience {
            Some(aud) => {
                v.set_audience(&[aud]);
                required.push("aud");
            }
            None => v.validate_aud = false,
        }
        v.set_required_spec_claims(&required);
        v
    }
}

fn identity_from(claims: Claims) -> Result<Identity, Error> {
    let sub = claims.sub;
    if sub.is_empty() || sub.len() > MAX_SUB_LEN || sub.chars().any(char::is_control) {
        return Err(unauthorized(
            "the token's sub must be 1 to 200 printable characters",
        ));
    }
    Ok(Identity {
        sub: Some(sub),
        privileges: claims.privileges,
        key: None,
    })
}

fn describe(e: &jsonwebtoken::errors::Error) -> &'static str {
    use jsonwebtoken::errors::ErrorKind::*;
    match e.kind() {
        ExpiredSignature => "the token has expired",
        InvalidSignature => "the token's signature is invalid",
        InvalidIssuer => "the token's issuer is not accepted",
        InvalidAudience => "the token's audience is not accepted",
        MissingRequiredClaim(_) => "the token lacks a required claim (sub, exp)",
        ImmatureSignature => "the token is not valid yet",
        _ => "the token is invalid",
    }
}

fn unauthorized(why: &str) -> Error {
    Error::Unauthenticated(format!(
        "Please authenticate yourself to use this endpoint: {why}."
    ))
}

fn pem_key(pem: &str) -> Result<Key, String> {
    if let Ok(key) = DecodingKey::from_rsa_pem(pem.as_bytes()) {
        return Ok(Key {
            kid: None,
            alg: Algorithm::RS256,
            key,
        });
    }
    DecodingKey::from_ec_pem(pem.as_bytes())
        .map(|key| Key {
            kid: None,
            alg: Algorithm::ES256,
            key,
        })
        .map_err(|e| format!("not an RSA or EC public key in PEM: {e}"))
}

/// Splits concatenated PEM documents into blocks.
fn split_pem_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("-----BEGIN") {
            current.clear();
        }
        current.push_str(line);
        current.push('\n');
        if line.starts_with("-----END") {
            blocks.push(std::mem::take(&mut current));
        }
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header, encode};
    use serde_json::json;

    const SECRET: &str = "test-secret";

    fn verifier(issuer: Option<&str>, audience: Option<&str>) -> Verifier {
        Verifier::new(&AuthSettings {
            hs256_secret: Some(SECRET.into()),
            issuer: issuer.map(str::to_string),
            audience: audience.map(str::to_string),
            ..Default::default()
        })
        .unwrap()
    }

    fn now() -> i64 {
        crate::domain::time::now_ms() / 1000
    }

    fn hs256(claims: serde_json::Value) -> String {
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap()
    }

    fn bearer(t: &str) -> String {
        format!("Bearer {t}")
    }

    #[test]
    fn no_header_is_anonymous() {
        assert_eq!(
            verifier(None, None).identify(None).unwrap(),
            Identity::anonymous()
        );
    }

    #[test]
    fn valid_token_gives_sub_and_privileges() {
        let t = hs256(json!({"sub": "alice", "exp": now() + 60, "privileges": ["admin"]}));
        let id = verifier(None, None).identify(Some(&bearer(&t))).unwrap();
        assert_eq!(id, Identity::user("alice", &["admin"]));
    }

    #[test]
    fn refusals_are_401() {
        let v = verifier(None, None);
        let wrong_key = encode(
            &Header::new(Algorithm::HS256),
            &json!({"sub": "a", "exp": now() + 60}),
            &EncodingKey::from_secret(b"other"),
        )
        .unwrap();
        // alg: none, hand-made.
        let none = format!(
            "{}.{}.",
            base64_url(&json!({"alg": "none", "typ": "JWT"})),
            base64_url(&json!({"sub": "a", "exp": now() + 60}))
        );
        let cases = [
            hs256(json!({"sub": "a", "exp": now() - 60})),
            hs256(json!({"sub": "a"})),
            hs256(json!({"exp": now() + 60})),
            hs256(json!({"sub": "", "exp": now() + 60})),
            hs256(json!({"sub": "a", "exp": now() + 60, "privileges": "admin"})),
            wrong_key,
            none,
            "not.a.jwt".into(),
        ];
        for t in cases {
            let err = v.identify(Some(&bearer(&t))).unwrap_err();
            assert!(matches!(err, Error::Unauthenticated(_)), "{t}");
        }
        for header in ["Basic abc", "Bearer", "Bearer ", "token"] {
            assert!(
                matches!(
                    v.identify(Some(header)).unwrap_err(),
                    Error::Unauthenticated(_)
                ),
                "{header}"
            );
        }
    }

    #[test]
    fn nbf_is_honoured_with_the_exp_leeway() {
        let v = verifier(None, None);
        for (nbf, ok) in [
            (now() - 600, true),
            (now(), true),
            (now() + LEEWAY_SECONDS as i64 - 2, true),
            (now() + 60, false),
            (now() + 86_000, false),
        ] {
            let t = hs256(json!({"sub": "a", "exp": now() + 600, "nbf": nbf}));
            let got = v.identify(Some(&bearer(&t)));
            assert_eq!(got.is_ok(), ok, "nbf {nbf} vs now {}: {got:?}", now());
            if let Err(e) = got {
                assert!(
                    matches!(e, Error::Unauthenticated(ref m) if m.contains("not valid yet")),
                    "{e:?}"
                );
            }
        }
    }

    #[test]
    fn tokens_living_longer_than_the_maximum_are_refused() {
        let v = Verifier::new(&AuthSettings {
            hs256_secret: Some(SECRET.into()),
            max_token_lifetime_secs: 3600,
            ..Default::default()
        })
        .unwrap();
        let n = now();
        for (claims, ok) in [
            (json!({"sub": "a", "iat": n, "exp": n + 3600}), true),
            (json!({"sub": "a", "exp": n + 3000}), true),
            // Issued long ago, expiring soon: its whole life counts.
            (json!({"sub": "a", "iat": n - 7200, "exp": n + 60}), false),
            (json!({"sub": "a", "iat": n, "exp": n + 3700}), false),
            // No iat: counted from now.
            (json!({"sub": "a", "exp": n + 100 * 86_400}), false),
            // An iat in the future does not stretch it.
            (
                json!({"sub": "a", "iat": n + 86_400, "exp": n + 86_400 + 60}),
                false,
            ),
            (json!({"sub": "a", "iat": n, "exp": 1e300}), false),
        ] {
            let got = v.identify(Some(&bearer(&hs256(claims.clone()))));
            assert_eq!(got.is_ok(), ok, "{claims}: {got:?}");
            if let Err(e) = got {
                assert!(matches!(e, Error::Unauthenticated(_)), "{claims}");
            }
        }
        // The default is a day.
        let day = verifier(None, None);
        let week = hs256(json!({"sub": "a", "iat": n, "exp": n + 7 * 86_400}));
        assert!(day.identify(Some(&bearer(&week))).is_err());
        let hours = hs256(json!({"sub": "a", "iat": n, "exp": n + 20 * 3600}));
        assert!(day.identify(Some(&bearer(&hours))).is_ok());
    }

    #[test]
    fn issuer_and_audience_when_configured() {
        let v = verifier(Some("iss1"), Some("aud1"));
        let ok = hs256(json!({"sub": "a", "exp": now() + 60, "iss": "iss1", "aud": "aud1"}));
        assert!(v.identify(Some(&bearer(&ok))).is_ok());
        for claims in [
            json!({"sub": "a", "exp": now() + 60, "iss": "other", "aud": "aud1"}),
            json!({"sub": "a", "exp": now() + 60, "iss": "iss1", "aud": "other"}),
            json!({"sub": "a", "exp": now() + 60, "aud": "aud1"}),
        ] {
            assert!(matches!(
                v.identify(Some(&bearer(&hs256(claims)))).unwrap_err(),
                Error::Unauthenticated(_)
            ));
        }
        // Without configuration, iss and aud are not checked.
        let any = hs256(json!({"sub": "a", "exp": now() + 60, "iss": "x", "aud": "y"}));
        assert!(verifier(None, None).identify(Some(&bearer(&any))).is_ok());
    }

    #[test]
    fn hs256_token_is_refused_when_only_public_keys_are_configured() {
        let v = Verifier::new(&AuthSettings::default()).unwrap();
        let t = hs256(json!({"sub": "a", "exp": now() + 60}));
        assert!(matches!(
            v.identify(Some(&bearer(&t))).unwrap_err(),
            Error::Unauthenticated(_)
        ));
    }

    #[test]
    fn bad_key_configuration_is_reported() {
        let bad_pem = AuthSettings {
            public_keys_pem: Some(
                "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----".into(),
            ),
            ..Default::default()
        };
        assert!(Verifier::new(&bad_pem).is_err());
        let bad_jwks = AuthSettings {
            jwks: Some("{".into()),
            ..Default::default()
        };
        assert!(Verifier::new(&bad_jwks).is_err());
    }

    const RSA_PUBLIC: &str = include_str!("../testdata/test-only-rsa-public.pem");
    const RSA_PRIVATE: &str = include_str!("../testdata/test-only-rsa-private.pem");
    const EC_PUBLIC: &str = include_str!("../testdata/test-only-ec-public.pem");
    const EC_PRIVATE: &str = include_str!("../testdata/test-only-ec-private.pem");

    fn public_keys_verifier() -> Verifier {
        Verifier::new(&AuthSettings {
            public_keys_pem: Some(format!("{RSA_PUBLIC}{EC_PUBLIC}")),
            ..Default::default()
        })
        .unwrap()
    }

    fn signed(alg: Algorithm, key: &EncodingKey, kid: Option<&str>) -> String {
        let mut header = Header::new(alg);
        header.kid = kid.map(str::to_string);
        encode(&header, &json!({"sub": "svc", "exp": now() + 60}), key).unwrap()
    }

    #[test]
    fn rs256_and_es256_with_pem_public_keys() {
        let v = public_keys_verifier();
        let rsa = EncodingKey::from_rsa_pem(RSA_PRIVATE.as_bytes()).unwrap();
        let ec = EncodingKey::from_ec_pem(EC_PRIVATE.as_bytes()).unwrap();
        assert_eq!(
            v.identify(Some(&bearer(&signed(Algorithm::RS256, &rsa, None))))
                .unwrap()
                .sub
                .as_deref(),
            Some("svc")
        );
        assert_eq!(
            v.identify(Some(&bearer(&signed(Algorithm::ES256, &ec, None))))
                .unwrap()
                .sub
                .as_deref(),
            Some("svc")
        );
        // Algorithms the keys are not bound to are refused, even with a valid signature.
        assert!(matches!(
            v.identify(Some(&bearer(&signed(Algorithm::RS512, &rsa, None))))
                .unwrap_err(),
            Error::Unauthenticated(_)
        ));
    }

    #[test]
    fn hs256_signed_with_the_public_key_as_secret_is_refused() {
        // The classic algorithm-confusion attack: the RSA public key (public knowledge) used as
        // an HMAC secret.
        let v = public_keys_verifier();
        let forged = signed(
            Algorithm::HS256,
            &EncodingKey::from_secret(RSA_PUBLIC.as_bytes()),
            None,
        );
        assert!(matches!(
            v.identify(Some(&bearer(&forged))).unwrap_err(),
            Error::Unauthenticated(_)
        ));
        let forged = signed(
            Algorithm::HS256,
            &EncodingKey::from_secret(EC_PUBLIC.as_bytes()),
            None,
        );
        assert!(matches!(
            v.identify(Some(&bearer(&forged))).unwrap_err(),
            Error::Unauthenticated(_)
        ));
    }

    #[test]
    fn jwks_keys_match_by_kid() {
        let rsa = EncodingKey::from_rsa_pem(RSA_PRIVATE.as_bytes()).unwrap();
        let mut jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(&rsa, Algorithm::RS256).unwrap();
        jwk.common.key_id = Some("k1".into());
        let jwks = serde_json::to_string(&json!({"keys": [jwk]})).unwrap();
        let v = Verifier::new(&AuthSettings {
            jwks: Some(jwks),
            ..Default::default()
        })
        .unwrap();
        assert!(
            v.identify(Some(&bearer(&signed(Algorithm::RS256, &rsa, Some("k1")))))
                .is_ok()
        );
        assert!(
            v.identify(Some(&bearer(&signed(Algorithm::RS256, &rsa, None))))
                .is_ok()
        );
        assert!(matches!(
            v.identify(Some(&bearer(&signed(
                Algorithm::RS256,
                &rsa,
                Some("other")
            ))))
            .unwrap_err(),
            Error::Unauthenticated(_)
        ));
    }

    fn base64_url(v: &serde_json::Value) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    }
}
