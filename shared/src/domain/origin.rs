//! Who a derived credential or standing grant acts for, and whether that still holds.
//!
//! An upload grant, a webhook and an SFTP user are made by a caller and go on acting after the
//! request that made them: a grant's upload lands later, a webhook sends the bucket's events,
//! an SFTP user logs in. Each keeps its `Origin` — the maker's user principal, the API key that
//! made it (if one did) and whether the maker wrote the bucket through the ACL or a global
//! privilege — and is honoured only while that origin may still write the bucket: re-checked
//! when it takes effect, never trusted from the time it was made.
//!
//! What can be re-checked: the bucket's ACL (with the maker's principals) and the key chain
//! (the key and the key that made it exist and have not expired; `service::keys`). What
//! cannot: a global privilege, which lives in the maker's tokens. A grant made through one is
//! honoured only for its URL's lifetime; a webhook or SFTP user made through one lives while its
//! key chain does (a signed-in privileged maker's cannot be re-checked: see docs/security.md).

use serde::{Deserialize, Serialize};

use super::access::{Identity, principals_of};
use super::bucket::Bucket;
use super::keys::key_principal;
use super::permissions::EVERYONE;

/// Who suspends what acts for an origin that may no longer write (as the history shows it).
pub const SUSPENDER: &str = "system.Buckets";

/// The maker of something that acts later.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// `user:<sub>` of the maker (a key's owner when a key made it); `system.Everyone` for an
    /// anonymous writer of a public bucket.
    pub principal: String,
    /// The API key that made it: it lives only while that key (and the key that made the key)
    /// does, and the key's own `key:<id>` counts among the maker's principals.
    #[serde(default)]
    pub via_key: Option<String>,
    /// The maker wrote the bucket through a global privilege (`edit_buckets`, `admin`), not
    /// its ACL, when it was made: the ACL cannot vouch for it later.
    #[serde(default)]
    pub by_privilege: bool,
}

impl Origin {
    /// The origin of what `identity` makes in `bucket` now (a caller that may write it).
    pub fn of(identity: &Identity, bucket: &Bucket) -> Origin {
        let principal = identity
            .user_principal()
            .unwrap_or_else(|| EVERYONE.to_string());
        let mut origin = Origin {
            principal,
            via_key: identity.key.as_ref().map(|k| k.id.clone()),
            by_privilege: false,
        };
        origin.by_privilege = !bucket.permissions.can_write(&origin.principals());
        origin
    }

    /// The origin an item made before origins were recorded implies from its `created_by`
    /// (`user:<sub>` or `key:<id>`): through the ACL.
    pub fn legacy(created_by: &str) -> Origin {
        match created_by.strip_prefix("key:") {
            Some(id) => Origin {
                principal: String::new(),
                via_key: Some(id.to_string()),
                by_privilege: false,
            },
            None => Origin {
                principal: created_by.to_string(),
                via_key: None,
                by_privilege: false,
            },
        }
    }

    /// The maker's principals as far as the ACL is concerned.
    pub fn principals(&self) -> Vec<String> {
        let mut out = principals_of(&self.principal);
        out.extend(self.via_key.as_deref().map(key_principal));
        out
    }

    /// The principal it acts as, as answers and the history show it: the key's `key:<id>`
    /// when a key made it, else the user's.
    pub fn acting(&self) -> String {
        match &self.via_key {
            Some(id) => key_principal(id),
            None => self.principal.clone(),
        }
    }

    /// Why the bucket's current ACL no longer lets the maker write, if it does not. An origin
    /// through a privilege is not judged by the ACL (the key chain still is, by the service).
    pub fn acl_problem(&self, bucket: &Bucket) -> Option<String> {
        if self.by_privilege || bucket.permissions.can_write(&self.principals()) {
            return None;
        }
        Some(format!(
            "{} may no longer write bucket {}",
            self.acting(),
            bucket.id
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::permissions::Permissions;

    fn bucket(write: &[&str]) -> Bucket {
        let mut b = Bucket::new_incarnation(
            "b1",
            "user:owner",
            Default::default(),
            Permissions::default(),
            1,
        );
        b.permissions.write = write.iter().map(|s| s.to_string()).collect();
        b
    }

    #[test]
    fn an_acl_origin_holds_while_the_acl_names_the_maker() {
        let b = bucket(&["user:alice"]);
        let alice = Origin::of(&Identity::user("alice", &[]), &b);
        assert!(!alice.by_privilege);
        assert_eq!(alice.acl_problem(&b), None);
        let removed = bucket(&["user:owner"]);
        assert!(alice.acl_problem(&removed).unwrap().contains("user:alice"));
    }

    #[test]
    fn a_privileged_origin_is_not_judged_by_the_acl() {
        let b = bucket(&["user:owner"]);
        let editor = Origin::of(&Identity::user("ed", &["edit_buckets"]), &b);
        assert!(editor.by_privilege);
        assert_eq!(editor.acl_problem(&b), None);
    }

    #[test]
    fn a_key_principal_in_the_acl_vouches_for_its_key() {
        let b = bucket(&["key:k1"]);
        let o = Origin {
            principal: "user:bob".into(),
            via_key: Some("k1".into()),
            by_privilege: false,
        };
        assert_eq!(o.acl_problem(&b), None);
        assert_eq!(o.acting(), "key:k1");
        assert_eq!(Origin::legacy("key:k1").via_key.as_deref(), Some("k1"));
        assert_eq!(Origin::legacy("user:x").principal, "user:x");
    }
}
