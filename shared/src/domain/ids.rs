//! Bucket ids: validation, generation (xyOps style), the per-user default bucket, and the
//! generation id that makes each incarnation of a bucket distinct.

use sha2::{Digest, Sha256};

use super::error::RuleError;

pub const MAX_ID_LEN: usize = 64;

/// The path alias of the caller's personal bucket; never a real id.
pub const DEFAULT_ALIAS: &str = "default";

const DEFAULT_PREFIX: &str = "default-";

/// A bucket as a route names it: the caller's personal bucket (`default`) or an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BucketRef {
    Default,
    Id(String),
}

impl BucketRef {
    /// Reads a path segment; an id that breaks the id rules is refused (field `id`).
    pub fn parse(segment: &str) -> Result<BucketRef, RuleError> {
        if segment == DEFAULT_ALIAS {
            return Ok(BucketRef::Default);
        }
        match id_problem(segment) {
            Some(problem) => Err(RuleError::invalid("id", problem)),
            None => Ok(BucketRef::Id(segment.to_string())),
        }
    }

    pub fn is_default(&self) -> bool {
        *self == BucketRef::Default
    }
}

/// Why an id is refused, for the error message.
pub fn id_problem(id: &str) -> Option<&'static str> {
    let mut chars = id.chars();
    let Some(first) = chars.next() else {
        return Some("must not be empty");
    };
    if id.len() > MAX_ID_LEN {
        return Some("must be at most 64 characters");
    }
    if !first.is_ascii_alphanumeric() {
        return Some("must start with a letter or digit");
    }
    if !chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Some("may contain only letters, digits, '_' and '-'");
    }
    None
}

/// True for ids a client may not choose: the alias and the shape of default-bucket ids
/// (so nobody can squat another user's personal bucket).
pub fn is_reserved(id: &str) -> bool {
    id == DEFAULT_ALIAS
        || id
            .strip_prefix(DEFAULT_PREFIX)
            .is_some_and(|rest| rest.len() == 32 && rest.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The stable id of a user's personal bucket.
pub fn default_bucket_id(user_principal: &str) -> String {
    let digest = Sha256::digest(user_principal.as_bytes());
    format!("{DEFAULT_PREFIX}{}", &hex::encode(digest)[..32])
}

/// A new bucket id: `b` + 10 base36 characters (as xyOps), from the OS random source.
pub fn generate_bucket_id() -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut raw = [0u8; 10];
    fill_random(&mut raw);
    let mut id = String::with_capacity(11);
    id.push('b');
    // 256 is not a multiple of 36; the bias is irrelevant for ids checked for collisions anyway.
    id.extend(raw.iter().map(|b| ALPHABET[(*b as usize) % 36] as char));
    id
}

/// A new generation id (64 random bits, hex): every incarnation of a bucket gets its own.
pub fn generate_generation() -> String {
    let mut raw = [0u8; 8];
    fill_random(&mut raw);
    hex::encode(raw)
}

pub(crate) fn fill_random(buf: &mut [u8]) {
    getrandom::fill(buf).expect("the OS random source is available");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_ids() {
        for id in ["a", "B1", "b0123456789", "x_y-z", &"a".repeat(64)] {
            assert_eq!(id_problem(id), None, "{id}");
        }
    }

    #[test]
    fn invalid_ids() {
        for id in ["", "_a", "-a", "a b", "a/b", "é", "a.b", &"a".repeat(65)] {
            assert!(id_problem(id).is_some(), "{id}");
        }
    }

    #[test]
    fn generated_ids_look_like_xyops_and_are_valid() {
        let id = generate_bucket_id();
        assert_eq!(id.len(), 11);
        assert!(id.starts_with('b'));
        assert_eq!(id_problem(&id), None);
        assert_ne!(generate_bucket_id(), generate_bucket_id());
    }

    #[test]
    fn default_ids_are_stable_valid_and_reserved() {
        let a = default_bucket_id("user:alice");
        assert_eq!(a, default_bucket_id("user:alice"));
        assert_ne!(a, default_bucket_id("user:bob"));
        assert_eq!(id_problem(&a), None);
        assert!(is_reserved(&a));
        assert!(is_reserved("default"));
        assert!(!is_reserved("default-bucket"));
        assert!(!is_reserved("mybucket"));
    }

    #[test]
    fn generations_differ() {
        assert_eq!(generate_generation().len(), 16);
        assert_ne!(generate_generation(), generate_generation());
    }
}
