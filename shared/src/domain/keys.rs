//! API keys: what a key is, its secret, and the rules for creating and renaming one.
//!
//! A secret reads `bk_<id>_<43 characters>`: the id (public: it is the key's principal
//! `key:<id>` and its URL) makes the lookup one read by key; the 43 characters are 256 random
//! bits, base64url. Only a SHA-256 of the whole secret is stored. A fast hash is right here: a
//! slow password hash (bcrypt, Argon2) exists to make guessing a low-entropy password from its
//! hash expensive, and there is no guessing 256 random bits, so it would only cost CPU on every
//! request. The hash keeps a leaked table (a backup, a stream consumer) from holding usable
//! secrets.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::RuleError;
use super::fields::only_known;
use super::ids::{BucketRef, fill_random};
use super::privileges;

/// How every secret starts (so that secret scanners and people recognise one).
pub const SECRET_PREFIX: &str = "bk_";
/// Key ids: 16 lowercase hex characters (64 random bits; unique by a conditional write).
const ID_HEX_CHARS: usize = 16;
/// Random bytes in a secret: 256 bits.
const SECRET_BYTES: usize = 32;
/// base64url characters of `SECRET_BYTES` without padding.
const SECRET_CHARS: usize = 43;
pub const MAX_TITLE_CHARS: usize = 200;
/// Keys one user may hold: enough for every job and program of a person; a bound on what a
/// stolen session can mint. Counted in the transaction that creates a key (the store's count
/// holds it against concurrent creations).
pub const MAX_KEYS_PER_OWNER: usize = 100;
/// Buckets one key may be scoped to: a key for a job names a few; more is an ACL's job.
pub const MAX_SCOPE: usize = 20;
/// `last_used` is written at most this often per key, so a busy key costs no write per request.
pub const LAST_USED_EVERY_MS: i64 = 60_000;
/// The latest `expires_at` accepted: ten years from now.
const MAX_EXPIRY_MS: i64 = 10 * 366 * 24 * 3600 * 1000;

/// The privileges a key may carry (the token privileges plus `create_keys`).
pub const PRIVILEGES: [&str; 5] = privileges::ALL;

/// What a scoped key may do in one bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    Read,
    Write,
}

/// A bucket a scoped key reaches. The generation pins the incarnation the owner chose: once
/// that bucket is deleted, a bucket re-created with the same id is not reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopedBucket {
    pub id: String,
    pub generation: String,
    pub access: Access,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: String,
    pub title: String,
    /// The principal of the user the key acts for (`user:<sub>`).
    pub owner: String,
    pub privileges: Vec<String>,
    /// `None`: every bucket the owner reaches; else only these.
    pub buckets: Option<Vec<ScopedBucket>>,
    pub created: i64,
    pub expires_at: Option<i64>,
    pub last_used: Option<i64>,
    /// The key that made this one (`None`: made by a signed-in user). Such a key works only
    /// while its maker does: revoking a leaked key revokes what it made.
    pub created_by: Option<String>,
    /// Hex SHA-256 of the secret.
    pub secret_hash: String,
}

impl ApiKey {
    /// The principal ACLs name the key by.
    pub fn principal(&self) -> String {
        key_principal(&self.id)
    }

    /// What identifies the key to people (the secret's public start).
    pub fn prefix(&self) -> String {
        format!("{SECRET_PREFIX}{}", self.id)
    }

    /// The owner's `sub` (the owner principal without `user:`).
    pub fn owner_sub(&self) -> &str {
        self.owner.strip_prefix("user:").unwrap_or(&self.owner)
    }

    pub fn is_expired(&self, now_ms: i64) -> bool {
        self.expires_at.is_some_and(|at| now_ms >= at)
    }

    /// Whether this use should record `last_used` (at most once per `LAST_USED_EVERY_MS`).
    pub fn needs_touch(&self, now_ms: i64) -> bool {
        self.last_used
            .is_none_or(|at| now_ms - at >= LAST_USED_EVERY_MS)
    }

    /// The key as the API shows it: never the secret or its hash.
    pub fn data(&self) -> Value {
        json!({
            "id": self.id,
            "title": self.title,
            "prefix": self.prefix(),
            "owner": self.owner,
            "principal": self.principal(),
            "privileges": self.privileges,
            "buckets": self.buckets.as_ref().map(|scope| scope
                .iter()
                .map(|b| json!({"id": b.id, "access": b.access}))
                .collect::<Vec<_>>()),
            "created": self.created,
            "created_by": self.created_by.as_deref().map(key_principal),
            "expires_at": self.expires_at,
            "last_used": self.last_used,
        })
    }
}

pub fn key_principal(id: &str) -> String {
    format!("key:{id}")
}

/// A new key's id and secret, and the hash to store.
pub struct NewSecret {
    pub id: String,
    pub secret: String,
    pub hash: String,
}

pub fn generate_secret() -> NewSecret {
    let mut id = [0u8; ID_HEX_CHARS / 2];
    fill_random(&mut id);
    let id = hex::encode(id);
    let mut random = [0u8; SECRET_BYTES];
    fill_random(&mut random);
    let secret = format!("{SECRET_PREFIX}{id}_{}", URL_SAFE_NO_PAD.encode(random));
    let hash = hash_secret(&secret);
    NewSecret { id, secret, hash }
}

/// Whether a credential is shaped like an API key secret (rather than a JWT).
pub fn looks_like_secret(credential: &str) -> bool {
    credential.starts_with(SECRET_PREFIX)
}

/// The key id a well-formed secret names; `None` for anything else (checked before any read).
pub fn secret_key_id(secret: &str) -> Option<&str> {
    let rest = secret.strip_prefix(SECRET_PREFIX)?;
    let (id, random) = rest.split_once('_')?;
    let id_ok = id.len() == ID_HEX_CHARS
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let random_ok = random.len() == SECRET_CHARS
        && random
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (id_ok && random_ok).then_some(id)
}

/// Whether `id` is shaped like a key id (a path segment `/v1/keys/{id}`).
pub fn is_key_id(id: &str) -> bool {
    id.len() == ID_HEX_CHARS
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Compares a presented secret with a stored hash in constant time (the comparison must not
/// tell an attacker how many leading characters of the hash he got right).
pub fn secret_matches(secret: &str, stored_hash: &str) -> bool {
    hash_secret(secret)
        .as_bytes()
        .ct_eq(stored_hash.as_bytes())
        .into()
}

/// A bucket the creator asks a key to be scoped to, before it is resolved to an incarnation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WantedScope {
    pub bucket: BucketRef,
    pub access: Access,
}

/// `POST /v1/keys`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewKey {
    pub title: String,
    pub privileges: Vec<String>,
    pub buckets: Option<Vec<WantedScope>>,
    pub expires_at: Option<i64>,
}

/// Reads the body of `POST /v1/keys` (`{"title", "privileges"?, "buckets"?, "expires_at"?}`,
/// optionally wrapped in `data`); `now_ms` bounds `expires_at`.
pub fn parse_new_key(body: Option<Value>, now_ms: i64) -> Result<NewKey, RuleError> {
    let fields = body_fields(body, &["title", "privileges", "buckets", "expires_at"])?;
    let title = parse_title(fields.get("title"))?;
    let privileges = match fields.get("privileges") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(list)) => {
            let mut out: Vec<String> = Vec::new();
            for (i, p) in list.iter().enumerate() {
                let p = p
                    .as_str()
                    .filter(|p| PRIVILEGES.contains(p))
                    .ok_or_else(|| {
                        RuleError::invalid(
                            format!("privileges[{i}]"),
                            format!("must be one of {}", PRIVILEGES.join(", ")),
                        )
                    })?;
                if !out.iter().any(|have| have == p) {
                    out.push(p.to_string());
                }
            }
            out
        }
        Some(_) => {
            return Err(RuleError::invalid(
                "privileges",
                "must be a list of strings",
            ));
        }
    };
    let buckets = match fields.get("buckets") {
        None | Some(Value::Null) => None,
        Some(Value::Array(list)) => Some(parse_scope(list)?),
        Some(_) => {
            return Err(RuleError::invalid(
                "buckets",
                "must be a list of {\"id\", \"access\"}",
            ));
        }
    };
    let expires_at = match fields.get("expires_at") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let at = v.as_i64().ok_or_else(|| {
                RuleError::invalid("expires_at", "must be a time in epoch milliseconds")
            })?;
            if at <= now_ms {
                return Err(RuleError::invalid(
                    "expires_at",
                    "must be in the future (milliseconds since the Unix epoch, not seconds)",
                ));
            }
            if at > now_ms + MAX_EXPIRY_MS {
                return Err(RuleError::invalid("expires_at", "must be within ten years"));
            }
            Some(at)
        }
    };
    Ok(NewKey {
        title,
        privileges,
        buckets,
        expires_at,
    })
}

/// Reads the body of `PATCH /v1/keys/{id}`: the title is the one thing that changes.
pub fn parse_key_patch(body: Option<Value>) -> Result<String, RuleError> {
    let fields = body_fields(body, &["title"])?;
    parse_title(fields.get("title"))
}

/// The fields of a body (or of its `data`), refusing any field not in `allowed`.
fn body_fields(body: Option<Value>, allowed: &[&str]) -> Result<Map<String, Value>, RuleError> {
    let mut object = match body {
        Some(Value::Object(o)) => o,
        None => return Err(RuleError::invalid("body", "must be a JSON object")),
        Some(_) => return Err(RuleError::invalid("body", "must be a JSON object")),
    };
    let (fields, at) = match object.remove("data") {
        Some(Value::Object(data)) if object.is_empty() => (data, "data"),
        Some(_) => {
            return Err(RuleError::invalid(
                "data",
                "must be an object and the only field",
            ));
        }
        None => (object, ""),
    };
    only_known(&fields, at, allowed)?;
    Ok(fields)
}

fn parse_title(value: Option<&Value>) -> Result<String, RuleError> {
    let title = value
        .and_then(Value::as_str)
        .map(str::trim)
        .ok_or_else(|| RuleError::invalid("title", "is required: a string"))?;
    if title.is_empty() || title.chars().any(char::is_control) {
        return Err(RuleError::invalid(
            "title",
            "must be printable text, not empty",
        ));
    }
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(RuleError::too_large(
            "title",
            format!("is longer than {MAX_TITLE_CHARS} characters"),
        ));
    }
    Ok(title.to_string())
}

fn parse_scope(list: &[Value]) -> Result<Vec<WantedScope>, RuleError> {
    if list.len() > MAX_SCOPE {
        return Err(RuleError::too_large(
            "buckets",
            format!("names more than {MAX_SCOPE} buckets"),
        ));
    }
    let mut out: Vec<WantedScope> = Vec::with_capacity(list.len());
    for (i, entry) in list.iter().enumerate() {
        let field = |name: &str| format!("buckets[{i}].{name}");
        let obj = entry.as_object().ok_or_else(|| {
            RuleError::invalid(format!("buckets[{i}]"), "must be {\"id\", \"access\"}")
        })?;
        only_known(obj, &format!("buckets[{i}]"), &["id", "access"])?;
        let id = obj
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| RuleError::invalid(field("id"), "is required: a bucket id"))?;
        let bucket = BucketRef::parse(id).map_err(|e| e.renamed(field("id")))?;
        let access = match obj.get("access").and_then(Value::as_str) {
            Some("read") => Access::Read,
            Some("write") => Access::Write,
            _ => {
                return Err(RuleError::invalid(
                    field("access"),
                    "must be \"read\" or \"write\"",
                ));
            }
        };
        if out.iter().any(|w| w.bucket == bucket) {
            return Err(RuleError::invalid(field("id"), "names a bucket twice"));
        }
        out.push(WantedScope { bucket, access });
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
