//! Signing deliveries (Standard Webhooks): secrets and the `webhook-signature` header.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::SECRET_PREFIX;

/// A new signing secret, `whsec_` and 32 random bytes in base64 (Standard Webhooks' form).
pub fn new_secret() -> String {
    let mut raw = [0u8; 32];
    crate::domain::ids::fill_random(&mut raw);
    format!("{SECRET_PREFIX}{}", BASE64.encode(raw))
}

/// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` with one `whsec_` secret.
pub fn signature(secret: &str, msg_id: &str, timestamp: i64, body: &str) -> String {
    let key = BASE64
        .decode(secret.trim_start_matches(SECRET_PREFIX))
        .unwrap_or_else(|_| secret.as_bytes().to_vec());
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(format!("{msg_id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()))
}

/// The `webhook-signature` header: one signature per secret, space-separated.
pub fn signature_header(secrets: &[&str], msg_id: &str, timestamp: i64, body: &str) -> String {
    secrets
        .iter()
        .map(|s| signature(s, msg_id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}
