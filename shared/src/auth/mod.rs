//! JWT bearer authentication (jsonwebtoken). Two kinds of keys:
//!
//! - **configured** ones: an HS256 secret (development tokens), PEM public keys and/or an inline
//!   JWKS, with the optional `JWT_ISSUER` / `JWT_AUDIENCE`;
//! - the **identity provider**'s (a Cognito user pool, or an external OpenID Connect issuer):
//!   RS256/ES256 keys fetched from `JWT_JWKS_URL` on first need ([`jwks`]), for tokens whose
//!   `iss` is `JWT_JWKS_ISSUER` and whose `aud` (ID tokens) or `client_id` (Cognito access
//!   tokens, which have no `aud`) is `JWT_JWKS_AUDIENCE`. The JWKS URL comes from configuration,
//!   never from the token's `iss`.
//!
//! Each key is bound to its algorithm family, so a token cannot pick a weaker algorithm for a
//! key (no `none`, no HS256 with an RSA key). Cognito groups named after a privilege grant it.

pub mod jwks;

#[cfg(feature = "jwks-http")]
pub mod http;
/// The credential of an `Authorization: Bearer <credential>` value (a JWT or an API key
/// secret); `None` for another scheme or an empty credential.
pub fn bearer_credential(header: &str) -> Option<&str> {
    header
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, credential)| credential.trim())
        .filter(|credential| !credential.is_empty())
}

#[cfg(test)]
mod provider_tests;

use std::sync::Arc;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;

use crate::config::AuthSettings;
use crate::domain::access::Identity;
use crate::service::Error;

use jwks::{JwksCache, JwksSource, Key, LookupError};

/// Seconds of clock skew accepted on `exp` and `nbf`.
pub const LEEWAY_SECONDS: u64 = 5;
const MAX_SUB_LEN: usize = 200;
/// Longest token verified, in bytes, checked before any parsing: a JWT with its header,
/// the claims this API reads and an RS256/ES256 signature is well under 2 KiB; Cognito's
/// with many groups stays under 4 KiB. 8 KiB is twice that; longer is refused (401) unread.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// The Cognito groups that grant a privilege (named after it); other groups grant nothing.
pub const PRIVILEGE_GROUPS: &[&str] = &crate::domain::privileges::ALL;

pub struct Verifier {
    /// Configured keys, checked against `issuer` / `audience` when set.
    keys: Vec<Key>,
    issuer: Option<String>,
    audience: Option<String>,
    provider: Option<Provider>,
    max_lifetime_secs: u64,
}

/// The identity provider: its fetched keys and what its tokens must say.
struct Provider {
    keys: JwksCache,
    issuer: String,
    audience: String,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    privileges: Vec<String>,
    #[serde(default, rename = "cognito:groups")]
    groups: Vec<String>,
    /// Required (checked by the validation); numeric seconds.
    exp: f64,
    #[serde(default)]
    iat: Option<f64>,
    #[serde(default)]
    aud: Option<Audience>,
    /// Cognito access tokens name their app client here (they have no `aud`).
    #[serde(default)]
    client_id: Option<String>,
    /// Cognito: `id` or `access`.
    #[serde(default)]
    token_use: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Verifier {
    /// Builds the key set; with `JWT_JWKS_URL`, the provider's keys come from an HTTP GET of it
    /// (feature `jwks-http`). A key or setting that cannot be used is a deployment error,
    /// reported at init. Nothing is fetched here.
    pub fn new(settings: &AuthSettings) -> Result<Verifier, String> {
        let source: Option<Arc<dyn JwksSource>> = match &settings.jwks_url {
            None => None,
            #[cfg(feature = "jwks-http")]
            Some(url) => Some(Arc::new(http::HttpJwks::new(url)?)),
            #[cfg(not(feature = "jwks-http"))]
            Some(_) => {
                return Err(
                    "JWT_JWKS_URL is set but this build cannot fetch (feature jwks-http)".into(),
                );
            }
        };
        Self::with_jwks_source(settings, source)
    }

    /// As [`Verifier::new`], the provider's keys coming from `source` (tests inject a fake).
    pub fn with_jwks_source(
        settings: &AuthSettings,
        source: Option<Arc<dyn JwksSource>>,
    ) -> Result<Verifier, String> {
        Self::with_jwks_cache(settings, source.map(JwksCache::new))
    }

    /// As [`Verifier::with_jwks_source`], with the cache given (tests give it their clock).
    pub fn with_jwks_cache(
        settings: &AuthSettings,
        cache: Option<JwksCache>,
    ) -> Result<Verifier, String> {
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
                let alg = jwks::jwk_algorithm(jwk)
                    .ok_or("JWT_JWKS: only RSA (RS256) and EC P-256 (ES256) keys are supported")?;
                let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("JWT_JWKS key: {e}"))?;
                keys.push(Key {
                    kid: jwk.common.key_id.clone(),
                    alg,
                    key,
                });
            }
        }
        let provider = match cache {
            None => None,
            // An issuer's keys sign tokens for every application it serves: without the
            // audience, a token issued to another application would be accepted here.
            Some(keys) => Some(Provider {
                keys,
                issuer: settings
                    .jwks_issuer
                    .clone()
                    .ok_or("JWT_JWKS_URL needs JWT_JWKS_ISSUER (the iss of its tokens)")?,
                audience: settings.jwks_audience.clone().ok_or(
                    "JWT_JWKS_URL needs JWT_JWKS_AUDIENCE (the app client id its tokens name)",
                )?,
            }),
        };
        Ok(Verifier {
            keys,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            provider,
            max_lifetime_secs: settings.max_token_lifetime_secs,
        })
    }

    /// The caller behind an `Authorization` header value: anonymous without one, 401 for any
    /// header that is not a valid bearer token, 503 when the identity provider's keys cannot
    /// be obtained.
    pub async fn identify(&self, authorization: Option<&str>) -> Result<Identity, Error> {
        let Some(header) = authorization else {
            return Ok(Identity::anonymous());
        };
        let token = bearer_credential(header)
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
            match self.verify(token, key, self.issuer.as_deref(), self.audience.as_deref()) {
                Ok(identity) => return Ok(identity),
                Err(e) => last_error = e,
            }
        }
        // Only an asymmetric token with a kid may cause a fetch: an HS256 token (algorithm
        // confusion) or one without a kid never reaches the provider's key set.
        let (Some(provider), Some(kid), Algorithm::RS256 | Algorithm::ES256) =
            (&self.provider, header.kid.as_deref(), header.alg)
        else {
            return Err(last_error);
        };
        let key = match provider.keys.key(kid, header.alg).await {
            Ok(key) => key,
            Err(LookupError::UnknownKid) => {
                return Err(unauthorized(
                    "the token's key (kid) is not one of the identity provider's",
                ));
            }
            Err(LookupError::Unavailable(why)) => {
                tracing::warn!(error = %why, "identity provider keys unavailable");
                return Err(Error::Unavailable(
                    "The identity provider's signing keys cannot be obtained right now; retry shortly."
                        .into(),
                ));
            }
        };
        self.verify(
            token,
            &key,
            Some(&provider.issuer),
            Some(&provider.audience),
        )
    }

    /// Signature, time, issuer, audience, lifetime, then the identity.
    fn verify(
        &self,
        token: &str,
        key: &Key,
        issuer: Option<&str>,
        audience: Option<&str>,
    ) -> Result<Identity, Error> {
        let claims = decode::<Claims>(token, &key.key, &validation(key.alg, issuer))
            .map_err(|e| unauthorized(describe(&e)))?
            .claims;
        if let Some(audience) = audience {
            check_audience(&claims, audience)?;
        }
        if claims
            .token_use
            .as_deref()
            .is_some_and(|u| u != "id" && u != "access")
        {
            return Err(unauthorized(
                "the token is neither an ID nor an access token",
            ));
        }
        self.check_lifetime(&claims)?;
        identity_from(claims)
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
}

fn validation(alg: Algorithm, issuer: Option<&str>) -> Validation {
    let mut v = Validation::new(alg);
    v.leeway = LEEWAY_SECONDS;
    v.validate_exp = true;
    // A token not valid yet is refused (same leeway as `exp`).
    v.validate_nbf = true;
    let mut required = vec!["exp", "sub"];
    match issuer {
        Some(iss) => {
            v.set_issuer(&[iss]);
            required.push("iss");
        }
        None => v.iss = None,
    }
    // The audience is checked by `check_audience`: Cognito access tokens carry it as
    // `client_id`, which jsonwebtoken does not know.
    v.validate_aud = false;
    v.set_required_spec_claims(&required);
    v
}

/// `aud` (a string or a list) must name the audience; a token without `aud` may name it in
/// `client_id` instead (Cognito access tokens). A present `aud` that does not match is refused
/// whatever `client_id` says.
fn check_audience(claims: &Claims, audience: &str) -> Result<(), Error> {
    let ok = match &claims.aud {
        Some(Audience::One(aud)) => aud == audience,
        Some(Audience::Many(auds)) => auds.iter().any(|a| a == audience),
        None => claims.client_id.as_deref() == Some(audience),
    };
    if ok {
        Ok(())
    } else {
        Err(unauthorized("the token's audience is not accepted"))
    }
}

/// The identity: `sub`, and the privileges of the `privileges` claim plus those the Cognito
/// groups grant.
fn identity_from(claims: Claims) -> Result<Identity, Error> {
    let sub = claims.sub;
    if sub.is_empty() || sub.len() > MAX_SUB_LEN || sub.chars().any(char::is_control) {
        return Err(unauthorized(
            "the token's sub must be 1 to 200 printable characters",
        ));
    }
    let mut privileges = claims.privileges;
    for group in claims.groups {
        if PRIVILEGE_GROUPS.contains(&group.as_str()) && !privileges.contains(&group) {
            privileges.push(group);
        }
    }
    Ok(Identity {
        sub: Some(sub),
        privileges,
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
mod tests;
