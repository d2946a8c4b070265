//! SHA-256 digests as the API takes and records them.
//!
//! Whole-object verification of a multipart upload uses S3's **composite** SHA-256
//! (`<base64 of the SHA-256 of the concatenated part digests>-<part count>`): S3 offers
//! full-object checksums of multipart uploads only for the CRC algorithms, and this project
//! uses SHA-256 everywhere (single PUTs, parts). A client computes it from the part digests it
//! already has.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

/// A SHA-256 digest in the form S3's checksum header takes (base64 of 32 bytes), from base64
/// or 64 hex digits; `None` when `value` is neither.
pub fn sha256_base64(value: &str) -> Option<String> {
    if value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return hex::decode(value).ok().map(|bytes| STANDARD.encode(bytes));
    }
    match STANDARD.decode(value) {
        Ok(bytes) if bytes.len() == 32 => Some(value.to_string()),
        _ => None,
    }
}

/// S3's composite SHA-256 of parts whose digests (base64) are given in part order:
/// `<base64(sha256(d1 ‖ d2 ‖ …))>-<N>`. `None` if a digest is not base64 of 32 bytes, or
/// there is none.
pub fn composite_sha256<'a>(part_digests: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut hasher = Sha256::new();
    let mut count = 0usize;
    for d in part_digests {
        let raw = STANDARD.decode(d).ok().filter(|r| r.len() == 32)?;
        hasher.update(&raw);
        count += 1;
    }
    (count > 0).then(|| format!("{}-{count}", STANDARD.encode(hasher.finalize())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_base64_give_the_same_digest() {
        let raw = Sha256::digest(b"x");
        let b64 = STANDARD.encode(raw);
        assert_eq!(sha256_base64(&hex::encode(raw)), Some(b64.clone()));
        assert_eq!(sha256_base64(&b64), Some(b64));
        assert_eq!(sha256_base64("nope"), None);
        assert_eq!(sha256_base64(&STANDARD.encode([0u8; 31])), None);
    }

    #[test]
    fn the_composite_is_the_digest_of_the_part_digests() {
        let parts = [Sha256::digest(b"a"), Sha256::digest(b"b")];
        let mut all = Vec::new();
        for p in &parts {
            all.extend_from_slice(p);
        }
        let b64: Vec<String> = parts.iter().map(|p| STANDARD.encode(p)).collect();
        assert_eq!(
            composite_sha256(b64.iter().map(String::as_str)),
            Some(format!("{}-2", STANDARD.encode(Sha256::digest(&all))))
        );
        assert_eq!(composite_sha256([]), None);
        assert_eq!(composite_sha256(["not base64"]), None);
    }
}
