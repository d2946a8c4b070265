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

/// `Verifier::identify`, run to completion (the configured keys never wait on anything).
fn identify(v: &Verifier, header: Option<&str>) -> Result<Identity, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
        .block_on(v.identify(header))
}

fn bearer(t: &str) -> String {
    format!("Bearer {t}")
}

#[test]
fn no_header_is_anonymous() {
    assert_eq!(
        identify(&verifier(None, None), None).unwrap(),
        Identity::anonymous()
    );
}

#[test]
fn valid_token_gives_sub_and_privileges() {
    let t = hs256(json!({"sub": "alice", "exp": now() + 60, "privileges": ["admin"]}));
    let id = identify(&verifier(None, None), Some(&bearer(&t))).unwrap();
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
        let err = identify(&v, Some(&bearer(&t))).unwrap_err();
        assert!(matches!(err, Error::Unauthenticated(_)), "{t}");
    }
    for header in ["Basic abc", "Bearer", "Bearer ", "token"] {
        assert!(
            matches!(
                identify(&v, Some(header)).unwrap_err(),
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
        let got = identify(&v, Some(&bearer(&t)));
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
        let got = identify(&v, Some(&bearer(&hs256(claims.clone()))));
        assert_eq!(got.is_ok(), ok, "{claims}: {got:?}");
        if let Err(e) = got {
            assert!(matches!(e, Error::Unauthenticated(_)), "{claims}");
        }
    }
    // The default is a day.
    let day = verifier(None, None);
    let week = hs256(json!({"sub": "a", "iat": n, "exp": n + 7 * 86_400}));
    assert!(identify(&day, Some(&bearer(&week))).is_err());
    let hours = hs256(json!({"sub": "a", "iat": n, "exp": n + 20 * 3600}));
    assert!(identify(&day, Some(&bearer(&hours))).is_ok());
}

#[test]
fn issuer_and_audience_when_configured() {
    let v = verifier(Some("iss1"), Some("aud1"));
    let ok = hs256(json!({"sub": "a", "exp": now() + 60, "iss": "iss1", "aud": "aud1"}));
    assert!(identify(&v, Some(&bearer(&ok))).is_ok());
    for claims in [
        json!({"sub": "a", "exp": now() + 60, "iss": "other", "aud": "aud1"}),
        json!({"sub": "a", "exp": now() + 60, "iss": "iss1", "aud": "other"}),
        json!({"sub": "a", "exp": now() + 60, "aud": "aud1"}),
    ] {
        assert!(matches!(
            identify(&v, Some(&bearer(&hs256(claims)))).unwrap_err(),
            Error::Unauthenticated(_)
        ));
    }
    // Without configuration, iss and aud are not checked.
    let any = hs256(json!({"sub": "a", "exp": now() + 60, "iss": "x", "aud": "y"}));
    assert!(identify(&verifier(None, None), Some(&bearer(&any))).is_ok());
}

#[test]
fn hs256_token_is_refused_when_only_public_keys_are_configured() {
    let v = Verifier::new(&AuthSettings::default()).unwrap();
    let t = hs256(json!({"sub": "a", "exp": now() + 60}));
    assert!(matches!(
        identify(&v, Some(&bearer(&t))).unwrap_err(),
        Error::Unauthenticated(_)
    ));
}

#[test]
fn bad_key_configuration_is_reported() {
    let bad_pem = AuthSettings {
        public_keys_pem: Some("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----".into()),
        ..Default::default()
    };
    assert!(Verifier::new(&bad_pem).is_err());
    let bad_jwks = AuthSettings {
        jwks: Some("{".into()),
        ..Default::default()
    };
    assert!(Verifier::new(&bad_jwks).is_err());
}

const RSA_PUBLIC: &str = include_str!("../../testdata/test-only-rsa-public.pem");
const RSA_PRIVATE: &str = include_str!("../../testdata/test-only-rsa-private.pem");
const EC_PUBLIC: &str = include_str!("../../testdata/test-only-ec-public.pem");
const EC_PRIVATE: &str = include_str!("../../testdata/test-only-ec-private.pem");

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
        identify(&v, Some(&bearer(&signed(Algorithm::RS256, &rsa, None))))
            .unwrap()
            .sub
            .as_deref(),
        Some("svc")
    );
    assert_eq!(
        identify(&v, Some(&bearer(&signed(Algorithm::ES256, &ec, None))))
            .unwrap()
            .sub
            .as_deref(),
        Some("svc")
    );
    // Algorithms the keys are not bound to are refused, even with a valid signature.
    assert!(matches!(
        identify(&v, Some(&bearer(&signed(Algorithm::RS512, &rsa, None)))).unwrap_err(),
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
        identify(&v, Some(&bearer(&forged))).unwrap_err(),
        Error::Unauthenticated(_)
    ));
    let forged = signed(
        Algorithm::HS256,
        &EncodingKey::from_secret(EC_PUBLIC.as_bytes()),
        None,
    );
    assert!(matches!(
        identify(&v, Some(&bearer(&forged))).unwrap_err(),
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
        identify(
            &v,
            Some(&bearer(&signed(Algorithm::RS256, &rsa, Some("k1"))))
        )
        .is_ok()
    );
    assert!(identify(&v, Some(&bearer(&signed(Algorithm::RS256, &rsa, None)))).is_ok());
    assert!(matches!(
        identify(
            &v,
            Some(&bearer(&signed(Algorithm::RS256, &rsa, Some("other"))))
        )
        .unwrap_err(),
        Error::Unauthenticated(_)
    ));
}

fn base64_url(v: &serde_json::Value) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}
