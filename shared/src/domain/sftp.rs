//! SFTP users of a bucket: usebuckets' "each bucket is an SFTP server for the people you share
//! it with", on one AWS Transfer Family server per deployment.
//!
//! A Transfer server knows one flat set of user names, so a bucket's user `alice` signs in as
//! the **login** `<bucket id>.alice`: bucket ids are unique and contain no `.`, user names
//! contain no `.`, so two buckets never collide and a login names exactly one bucket user
//! (nothing about another bucket's users can be learnt from a refused name). The user's home
//! is a logical directory: `/` is the bucket incarnation's files prefix (`<id>/<generation>/`),
//! so he sees the bucket's files by name and nothing else; a session policy (the scope-down
//! policy Transfer applies to every S3 call of the session) confines him to that prefix, and
//! to reading when his access is `read` or the bucket is inactive.

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::error::RuleError;
use super::keys::Access;
use super::origin::Origin;

/// SFTP users one bucket may have (each is a Transfer user; a server holds 10,000 at most).
pub const MAX_USERS_PER_BUCKET: usize = 20;
/// SSH keys one user may have (Transfer allows 50).
pub const MAX_KEYS_PER_USER: usize = 10;
/// Longest key line accepted, in bytes: a 4096-bit RSA key is ~750 bytes of base64; anything
/// much longer is not a key Transfer takes.
pub const MAX_KEY_LINE_BYTES: usize = 2048;
/// RSA moduli Transfer accepts, in bits.
const RSA_BITS: [usize; 3] = [2048, 3072, 4096];
/// User names: lowercase letters, digits, `_` and `-`, 3 to 32 characters, starting with a
/// letter or digit. No `.`: it separates the bucket from the user in the login.
const MAX_USERNAME: usize = 32;
const MIN_USERNAME: usize = 3;

/// Why `name` is not a user name, if it is not one.
pub fn username_problem(name: &str) -> Option<&'static str> {
    if name.len() < MIN_USERNAME || name.len() > MAX_USERNAME {
        return Some("must be 3 to 32 characters");
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit()) {
        return Some("must start with a lowercase letter or a digit");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
    {
        return Some("may contain only lowercase letters, digits, '_' and '-'");
    }
    None
}

/// The Transfer user name of bucket `bucket_id`'s user `username` (see the module doc).
pub fn login(bucket_id: &str, username: &str) -> String {
    format!("{bucket_id}.{username}")
}

/// One SSH public key of a user, as Transfer holds it (`id` is Transfer's key id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SshKey {
    pub id: String,
    /// `<type> <base64>`, the comment dropped (what Transfer compares).
    pub body: String,
    /// OpenSSH's `SHA256:<base64>` fingerprint.
    pub fingerprint: String,
    pub comment: String,
    pub added: i64,
}

/// A bucket's SFTP user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SftpUser {
    pub username: String,
    pub access: Access,
    pub keys: Vec<SshKey>,
    pub created: i64,
    pub created_by: String,
    pub last_modified: i64,
    /// Who the user logs in for: its creator, or the writer whose change took it over last
    /// (`None`: made before origins were recorded; `created_by` then stands for it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    /// Why it may not log in, when its origin may no longer write the bucket; a current
    /// writer's change takes it over and ends this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspended: Option<String>,
    /// Who made the last change (`system.Buckets` for a suspension); empty on items made
    /// before it was recorded.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub modified_by: String,
}

impl SftpUser {
    /// What a person sees change of a user (its history shows a change only when this
    /// differs): its access, its keys by body (not Transfer's ids for them), whether it is
    /// suspended and who it acts for.
    pub fn seen(&self) -> (Access, Vec<&str>, Option<&String>, Origin) {
        let bodies = self.keys.iter().map(|k| k.body.as_str()).collect();
        (self.access, bodies, self.suspended.as_ref(), self.origin())
    }

    /// The API's view; `host` is where to connect (the deployment's SFTP endpoint).
    pub fn to_json(&self, bucket_id: &str, host: Option<&str>) -> Value {
        json!({
            "username": self.username,
            "login": login(bucket_id, &self.username),
            "host": host,
            "access": self.access,
            "ssh_public_keys": self.keys.iter().map(|k| json!({
                "id": k.id,
                "key": k.body,
                "fingerprint": k.fingerprint,
                "comment": k.comment,
                "added": k.added,
            })).collect::<Vec<_>>(),
            "created": self.created,
            "created_by": self.created_by,
            "owner": self.origin().acting(),
            "suspended": self.suspended.is_some(),
            "suspended_reason": self.suspended,
            "last_modified": self.last_modified,
        })
    }

    /// The key bodies Transfer lets log in: none while suspended.
    pub fn login_keys(&self) -> Vec<String> {
        if self.suspended.is_some() {
            return Vec::new();
        }
        self.keys.iter().map(|k| k.body.clone()).collect()
    }

    /// Who it acts for (see `domain::origin`).
    pub fn origin(&self) -> Origin {
        self.origin
            .clone()
            .unwrap_or_else(|| Origin::legacy(&self.created_by))
    }
}

/// A key as given, checked: what to import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewKey {
    pub body: String,
    pub fingerprint: String,
    pub comment: String,
}

/// Parses one OpenSSH public key line (`<type> <base64> [comment]`): only the types and sizes
/// Transfer accepts (ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa of 2048, 3072 or 4096
/// bits). `field` names it in the error (`ssh_public_keys[2]`).
pub fn parse_key(line: &str, field: &str) -> Result<NewKey, RuleError> {
    let bad = |why: String| RuleError::invalid(field, why);
    if line.len() > MAX_KEY_LINE_BYTES {
        return Err(bad(format!(
            "is longer than {MAX_KEY_LINE_BYTES} bytes: not an SSH public key Transfer accepts"
        )));
    }
    let key = ssh_key::PublicKey::from_openssh(line.trim()).map_err(|_| {
        bad("is not an OpenSSH public key line (`ssh-ed25519 AAAA… comment`)".into())
    })?;
    use ssh_key::public::KeyData;
    match key.key_data() {
        KeyData::Ed25519(_) | KeyData::Ecdsa(_) => {}
        KeyData::Rsa(rsa) => {
            let n = rsa.n.as_positive_bytes().unwrap_or_default();
            let bits = n.len() * 8 - n.first().map_or(8, |b| b.leading_zeros() as usize);
            if !RSA_BITS.contains(&bits) {
                return Err(bad(format!(
                    "is a {bits}-bit RSA key: RSA keys must have 2048, 3072 or 4096 bits"
                )));
            }
        }
        _ => {
            return Err(bad(format!(
                "is an {} key: use ssh-ed25519, ecdsa-sha2-nistp256/384/521 or ssh-rsa",
                key.algorithm()
            )));
        }
    }
    let blob = key
        .to_bytes()
        .map_err(|_| bad("could not be encoded".into()))?;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&blob);
    Ok(NewKey {
        body: format!("{} {b64}", key.algorithm()),
        fingerprint: format!("SHA256:{}", STANDARD_NO_PAD.encode(Sha256::digest(&blob))),
        comment: key.comment().chars().take(100).collect(),
    })
}

/// Parses `ssh_public_keys` (a list of key lines, at least one, each once).
fn parse_keys(v: &Value) -> Result<Vec<NewKey>, RuleError> {
    let field = "ssh_public_keys";
    let list = v
        .as_array()
        .ok_or_else(|| RuleError::invalid(field, "must be a list of SSH public key lines"))?;
    if list.is_empty() || list.len() > MAX_KEYS_PER_USER {
        return Err(RuleError::invalid(
            field,
            format!("must hold 1 to {MAX_KEYS_PER_USER} keys"),
        ));
    }
    let mut keys: Vec<NewKey> = Vec::with_capacity(list.len());
    for (i, line) in list.iter().enumerate() {
        let at = format!("{field}[{i}]");
        let line = line
            .as_str()
            .ok_or_else(|| RuleError::invalid(&at, "must be a string"))?;
        let key = parse_key(line, &at)?;
        if keys.iter().any(|k| k.body == key.body) {
            return Err(RuleError::invalid(&at, "is listed twice"));
        }
        keys.push(key);
    }
    Ok(keys)
}

fn parse_access(v: &Value) -> Result<Access, RuleError> {
    serde_json::from_value(v.clone())
        .map_err(|_| RuleError::invalid("access", "must be \"read\" or \"write\""))
}

fn body_object(body: &Value) -> Result<&Map<String, Value>, RuleError> {
    body.as_object()
        .ok_or_else(|| RuleError::invalid("body", "must be a JSON object"))
}

fn refuse_unknown(obj: &Map<String, Value>, known: &[&str]) -> Result<(), RuleError> {
    super::fields::only_known(obj, "", known)
}

/// A user to create: `{"username", "ssh_public_keys": [...], "access"?}` (access defaults to
/// `read`: writing is asked for).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub username: String,
    pub access: Access,
    pub keys: Vec<NewKey>,
}

pub fn parse_new_user(body: &Value) -> Result<NewUser, RuleError> {
    let obj = body_object(body)?;
    refuse_unknown(obj, &["username", "ssh_public_keys", "access"])?;
    let username = obj
        .get("username")
        .and_then(Value::as_str)
        .ok_or_else(|| RuleError::invalid("username", "is required (a string)"))?;
    if let Some(why) = username_problem(username) {
        return Err(RuleError::invalid("username", why));
    }
    let keys = parse_keys(obj.get("ssh_public_keys").unwrap_or(&Value::Null))?;
    let access = match obj.get("access") {
        None => Access::Read,
        Some(v) => parse_access(v)?,
    };
    Ok(NewUser {
        username: username.to_string(),
        access,
        keys,
    })
}

/// A change to a user: `access`, and/or `ssh_public_keys` (the whole new set: keys kept stay,
/// new ones are added, missing ones removed).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserPatch {
    pub access: Option<Access>,
    pub keys: Option<Vec<NewKey>>,
}

pub fn parse_user_patch(body: &Value) -> Result<UserPatch, RuleError> {
    let obj = body_object(body)?;
    refuse_unknown(obj, &["username", "ssh_public_keys", "access"])?;
    if let Some(name) = obj.get("username")
        && !name.is_string()
    {
        return Err(RuleError::invalid(
            "username",
            "must be a string (it cannot be changed)",
        ));
    }
    Ok(UserPatch {
        access: obj.get("access").map(parse_access).transpose()?,
        keys: obj.get("ssh_public_keys").map(parse_keys).transpose()?,
    })
}

/// Where a user of incarnation `id`/`generation` lands: his logical `/`, as Transfer's
/// `HomeDirectoryMappings` target (`/<files bucket>/<id>/<generation>`).
pub fn home_target(files_bucket: &str, id: &str, generation: &str) -> String {
    format!("/{files_bucket}/{id}/{generation}")
}

/// What a user of incarnation `id`/`generation` may do in the files bucket: list and read
/// under the incarnation's prefix; put and delete there too when `write` (write access on an
/// active bucket), never copy. The SFTP directory turns it into its own terms (on AWS, the
/// Transfer user's IAM session policy: `aws::transfer::session_policy`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRights {
    pub files_bucket: String,
    pub id: String,
    pub generation: String,
    pub write: bool,
}

impl SessionRights {
    /// The rights of a user with `access` in incarnation `id`/`generation` of a bucket that is
    /// `active` or not: writes only with write access on an active bucket.
    pub fn of(
        files_bucket: &str,
        id: &str,
        generation: &str,
        access: Access,
        active: bool,
    ) -> Self {
        SessionRights {
            files_bucket: files_bucket.to_string(),
            id: id.to_string(),
            generation: generation.to_string(),
            write: access == Access::Write && active,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED25519: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMf9/y+h2QDwl4++5GUgOMcxgoJe7N68+cTjqPa2eSC6 me@host";

    #[test]
    fn a_key_line_is_parsed_normalized_and_fingerprinted() {
        let key = parse_key(ED25519, "ssh_public_keys[0]").unwrap();
        assert!(key.body.starts_with("ssh-ed25519 AAAAC3"));
        assert!(!key.body.contains("me@host"));
        assert_eq!(key.comment, "me@host");
        assert!(key.fingerprint.starts_with("SHA256:"));
        // What `ssh-keygen -lf` prints for it.
        assert_eq!(
            key.fingerprint,
            "SHA256:Mn2LKM0Mz541j3F/2zy1n2Wr0l6WAg9/iuqEkpMTngg"
        );
    }

    #[test]
    fn bad_keys_are_refused_naming_the_key() {
        for (line, why) in [
            ("ssh-ed25519 not-base64!", "not an OpenSSH public key"),
            ("hello", "not an OpenSSH public key"),
            (&"x".repeat(3000), "longer than"),
        ] {
            let err = parse_key(line, "ssh_public_keys[1]").unwrap_err();
            assert_eq!(err.field, "ssh_public_keys[1]");
            assert!(err.to_string().contains(why), "{err}");
        }
    }

    #[test]
    fn a_small_rsa_key_is_refused_with_its_size() {
        // A 1024-bit RSA key.
        let rsa1024 = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDbGi8EyjU8U+/XPwbnq1hoZIiwSUmsgUHBp+6l5aOKjKcvMxRBqikdalSzb/doUy1lAqXXYMyT6WfhCGWTbYD+5s9JkQk9ygDEyP32DKN41R75xfuV7lsJA83laYUYURiSU3cKafu5dwCvvtTTtfcbnGSZupyky67DieMSCvJn/Q== x";
        let err = parse_key(rsa1024, "ssh_public_keys[0]").unwrap_err();
        assert!(err.to_string().contains("1024-bit"), "{err}");
    }

    #[test]
    fn usernames_are_bounded_and_have_no_dot() {
        assert_eq!(username_problem("alice"), None);
        assert_eq!(username_problem("ci-job_2"), None);
        assert!(username_problem("al").is_some());
        assert!(username_problem("a.b.c").is_some());
        assert!(username_problem("Alice").is_some());
        assert!(username_problem(&"a".repeat(33)).is_some());
        assert!(username_problem("-abc").is_some());
    }

    #[test]
    fn the_login_names_the_bucket_and_the_user() {
        assert_eq!(login("reports-2026", "alice"), "reports-2026.alice");
    }

    #[test]
    fn a_new_user_needs_a_name_and_keys_and_reads_by_default() {
        let u =
            parse_new_user(&json!({"username": "alice", "ssh_public_keys": [ED25519]})).unwrap();
        assert_eq!(u.access, Access::Read);
        let err = parse_new_user(&json!({"username": "alice", "ssh_public_keys": []})).unwrap_err();
        assert_eq!(err.field, "ssh_public_keys");
        let err =
            parse_new_user(&json!({"username": "alice", "ssh_public_keys": [ED25519, ED25519]}))
                .unwrap_err();
        assert_eq!(err.field, "ssh_public_keys[1]");
        let err = parse_new_user(
            &json!({"username": "alice", "ssh_public_keys": [ED25519], "access": "admin"}),
        )
        .unwrap_err();
        assert_eq!(err.field, "access");
        let err = parse_new_user(
            &json!({"username": "alice", "ssh_public_keys": [ED25519], "home": "/"}),
        )
        .unwrap_err();
        assert_eq!(err.field, "home");
    }
}
