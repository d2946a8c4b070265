//! Who may do what: the caller's identity (principals and xyOps privileges) against a bucket.

use super::bucket::Bucket;
use super::keys::{Access, ApiKey, ScopedBucket, key_principal};
use super::permissions::{AUTHENTICATED, EVERYONE};

pub use super::privileges::{ADMIN, CREATE_BUCKETS, CREATE_KEYS, DELETE_BUCKETS, EDIT_BUCKETS};

/// The principals of the caller a recorded principal names (such as a grant's `uploaded_by`),
/// as far as the ACL is concerned: a `user:` also has `system.Authenticated`; everyone has
/// `system.Everyone`. Privileges are not known from a principal.
pub fn principals_of(principal: &str) -> Vec<String> {
    let mut out = vec![EVERYONE.to_string()];
    if principal.starts_with("user:") {
        out.push(AUTHENTICATED.to_string());
        out.push(principal.to_string());
    }
    out
}

/// The caller. Anonymous callers have no `sub`; a caller with an API key has its owner's `sub`,
/// the key's privileges, and the key (its principal and scope).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    pub sub: Option<String>,
    pub privileges: Vec<String>,
    pub key: Option<KeyGrant>,
}

/// What an API key adds to, and takes from, its owner's identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyGrant {
    pub id: String,
    /// `None`: every bucket the owner reaches; else only these incarnations.
    pub buckets: Option<Vec<ScopedBucket>>,
}

impl Identity {
    pub fn anonymous() -> Self {
        Identity::default()
    }

    pub fn user(sub: &str, privileges: &[&str]) -> Self {
        Identity {
            sub: Some(sub.to_string()),
            privileges: privileges.iter().map(|p| p.to_string()).collect(),
            key: None,
        }
    }

    /// The caller behind API key `key`: its owner, with the key's privileges and scope.
    pub fn of_key(key: &ApiKey) -> Self {
        Identity {
            sub: Some(key.owner_sub().to_string()),
            privileges: key.privileges.clone(),
            key: Some(KeyGrant {
                id: key.id.clone(),
                buckets: key.buckets.clone(),
            }),
        }
    }

    pub fn is_authenticated(&self) -> bool {
        self.sub.is_some()
    }

    /// `user:<sub>`, the principal that names this caller (a key's owner for a key).
    pub fn user_principal(&self) -> Option<String> {
        self.sub.as_ref().map(|s| format!("user:{s}"))
    }

    /// `key:<id>` when an API key authenticated the caller.
    pub fn key_principal(&self) -> Option<String> {
        self.key.as_ref().map(|k| key_principal(&k.id))
    }

    /// The principal that acts in a write, as the history shows it: the key's `key:<id>` when
    /// a key authenticated the caller, else `user:<sub>`, else `system.Everyone`.
    pub fn acting_principal(&self) -> String {
        self.key_principal()
            .or_else(|| self.user_principal())
            .unwrap_or_else(|| EVERYONE.to_string())
    }

    /// `system.Everyone`, and when authenticated `system.Authenticated`, `user:<sub>` and the
    /// key's `key:<id>`.
    pub fn principals(&self) -> Vec<String> {
        let mut out = vec![EVERYONE.to_string()];
        if let Some(user) = self.user_principal() {
            out.push(AUTHENTICATED.to_string());
            out.push(user);
            out.extend(self.key_principal());
        }
        out
    }

    /// The principals that name this caller alone: `user:<sub>` and a key's `key:<id>`. Never
    /// `system.*`: what everyone may do is not the caller's own. Used where an action must be
    /// limited to what is the caller's (delete-all).
    pub fn own_principals(&self) -> Vec<String> {
        let mut out: Vec<String> = self.user_principal().into_iter().collect();
        if self.sub.is_some() {
            out.extend(self.key_principal());
        }
        out
    }

    /// `admin` implies every privilege.
    pub fn has(&self, privilege: &str) -> bool {
        self.privileges.iter().any(|p| p == privilege || p == ADMIN)
    }

    /// Whether a key's scope limits this caller to some buckets.
    pub fn is_scoped(&self) -> bool {
        self.key.as_ref().is_some_and(|k| k.buckets.is_some())
    }

    /// Whether the caller's key scope lets `access` reach this incarnation of `bucket` (always,
    /// without a scope).
    pub fn scope_allows(&self, bucket: &Bucket, access: Access) -> bool {
        match self.key.as_ref().and_then(|k| k.buckets.as_ref()) {
            None => true,
            Some(scope) => scope.iter().any(|s| {
                s.id == bucket.id && s.generation == bucket.generation && s.access >= access
            }),
        }
    }

    /// A scoped key creates no bucket: it could not reach what it created.
    pub fn may_create(&self) -> bool {
        self.is_authenticated() && self.has(CREATE_BUCKETS) && !self.is_scoped()
    }

    /// Whether a global privilege lets this caller read every bucket (and so list them all).
    /// A scoped key never does.
    pub fn reads_everything(&self) -> bool {
        self.is_authenticated()
            && (self.has(EDIT_BUCKETS) || self.has(DELETE_BUCKETS))
            && !self.is_scoped()
    }

    pub fn may_read(&self, bucket: &Bucket) -> bool {
        self.scope_allows(bucket, Access::Read)
            && ((self.is_authenticated() && (self.has(EDIT_BUCKETS) || self.has(DELETE_BUCKETS)))
                || bucket.permissions.can_read(&self.principals()))
    }

    pub fn may_write(&self, bucket: &Bucket) -> bool {
        self.scope_allows(bucket, Access::Write)
            && ((self.is_authenticated() && self.has(EDIT_BUCKETS))
                || bucket.permissions.can_write(&self.principals()))
    }

    /// Whether this caller may change the ACL (`permissions`) of `bucket`: only through
    /// `write` in that ACL itself, or as `admin`. `edit_buckets` and `delete_buckets` never
    /// turn into a grant the holder did not have (an editor adding himself to `write` could
    /// then delete the bucket).
    pub fn may_change_acl(&self, bucket: &Bucket) -> bool {
        self.scope_allows(bucket, Access::Write)
            && ((self.is_authenticated() && self.privileges.iter().any(|p| p == ADMIN))
                || bucket.permissions.can_write(&self.principals()))
    }

    /// ACL `write` covers delete (Kinto); globally, only `delete_buckets` (xyOps keeps it apart
    /// from `edit_buckets`).
    pub fn may_delete(&self, bucket: &Bucket) -> bool {
        self.scope_allows(bucket, Access::Write)
            && ((self.is_authenticated() && self.has(DELETE_BUCKETS))
                || bucket.permissions.can_write(&self.principals()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::permissions::Permissions;

    /// A bucket whose ACL is `read`/`write` (nothing else of it matters here).
    fn acl(read: &[&str], write: &[&str]) -> Bucket {
        let mut b = Bucket::new_incarnation(
            "b1",
            "user:alice",
            Default::default(),
            Permissions::default(),
            0,
        );
        // Exactly this ACL (the constructor makes the owner a writer).
        b.permissions = Permissions {
            read: read.iter().map(|s| s.to_string()).collect(),
            write: write.iter().map(|s| s.to_string()).collect(),
        };
        b.generation = "g1".into();
        b
    }

    #[test]
    fn principals_of_anonymous_and_users() {
        assert_eq!(Identity::anonymous().principals(), vec![EVERYONE]);
        assert_eq!(
            Identity::user("alice", &[]).principals(),
            vec![EVERYONE, AUTHENTICATED, "user:alice"]
        );
    }

    #[test]
    fn acl_decides_for_plain_users() {
        let a = acl(&["user:bob"], &["user:alice"]);
        let alice = Identity::user("alice", &[]);
        let bob = Identity::user("bob", &[]);
        let carol = Identity::user("carol", &[]);
        assert!(alice.may_read(&a) && alice.may_write(&a) && alice.may_delete(&a));
        assert!(bob.may_read(&a) && !bob.may_write(&a) && !bob.may_delete(&a));
        assert!(!carol.may_read(&a));
    }

    #[test]
    fn everyone_and_authenticated_principals() {
        let public = acl(&[EVERYONE], &["user:alice"]);
        assert!(Identity::anonymous().may_read(&public));
        let members = acl(&[AUTHENTICATED], &["user:alice"]);
        assert!(!Identity::anonymous().may_read(&members));
        assert!(Identity::user("x", &[]).may_read(&members));
    }

    #[test]
    fn privileges() {
        let a = acl(&[], &["user:alice"]);
        let editor = Identity::user("e", &[EDIT_BUCKETS]);
        assert!(editor.may_read(&a) && editor.may_write(&a) && !editor.may_delete(&a));
        let deleter = Identity::user("d", &[DELETE_BUCKETS]);
        assert!(deleter.may_read(&a) && !deleter.may_write(&a) && deleter.may_delete(&a));
        let admin = Identity::user("r", &[ADMIN]);
        assert!(
            admin.may_read(&a) && admin.may_write(&a) && admin.may_delete(&a) && admin.may_create()
        );
        assert!(!Identity::user("x", &[]).may_create());
        assert!(Identity::user("x", &[CREATE_BUCKETS]).may_create());
    }

    #[test]
    fn global_privileges_never_change_an_acl() {
        let a = acl(&["user:bob"], &["user:alice"]);
        for privileges in [
            &[EDIT_BUCKETS][..],
            &[DELETE_BUCKETS],
            &[CREATE_BUCKETS],
            &[EDIT_BUCKETS, DELETE_BUCKETS, CREATE_BUCKETS],
        ] {
            let holder = Identity::user("e", privileges);
            assert!(!holder.may_change_acl(&a), "{privileges:?}");
        }
        // A reader is not a writer.
        assert!(!Identity::user("bob", &[]).may_change_acl(&a));
        assert!(Identity::user("alice", &[]).may_change_acl(&a));
        assert!(Identity::user("r", &[ADMIN]).may_change_acl(&a));
        // Through the ACL, whichever of the caller's principals it names.
        let open = acl(&[], &[AUTHENTICATED]);
        assert!(Identity::user("x", &[]).may_change_acl(&open));
        assert!(!Identity::anonymous().may_change_acl(&open));
        // An anonymous "admin" claim means nothing.
        let anon_admin = Identity {
            sub: None,
            privileges: vec![ADMIN.into()],
            key: None,
        };
        assert!(!anon_admin.may_change_acl(&a));
    }

    #[test]
    fn principals_of_a_recorded_principal() {
        assert_eq!(
            principals_of("user:bob"),
            vec![EVERYONE, AUTHENTICATED, "user:bob"]
        );
        assert_eq!(principals_of(EVERYONE), vec![EVERYONE]);
        // Naming a system principal gives nothing more than it is.
        assert_eq!(principals_of(AUTHENTICATED), vec![EVERYONE]);
        let writers = acl(&[], &[AUTHENTICATED]);
        assert!(writers.permissions.can_write(&principals_of("user:bob")));
        assert!(!writers.permissions.can_write(&principals_of(EVERYONE)));
    }

    #[test]
    fn own_principals_are_the_user_alone() {
        assert_eq!(
            Identity::user("a", &[ADMIN]).own_principals(),
            vec!["user:a"]
        );
        assert!(Identity::anonymous().own_principals().is_empty());
    }

    fn key(privileges: &[&str], buckets: Option<Vec<ScopedBucket>>) -> Identity {
        Identity::of_key(&ApiKey {
            id: "0123456789abcdef".into(),
            title: "job".into(),
            owner: "user:alice".into(),
            privileges: privileges.iter().map(|p| p.to_string()).collect(),
            buckets,
            created: 0,
            expires_at: None,
            last_used: None,
            created_by: None,
            secret_hash: String::new(),
        })
    }

    fn scope(id: &str, generation: &str, access: Access) -> ScopedBucket {
        ScopedBucket {
            id: id.into(),
            generation: generation.into(),
            access,
        }
    }

    #[test]
    fn a_key_acts_as_its_owner_plus_its_own_principal() {
        let k = key(&[], None);
        assert_eq!(
            k.principals(),
            vec![
                EVERYONE,
                AUTHENTICATED,
                "user:alice",
                "key:0123456789abcdef"
            ]
        );
        assert_eq!(
            k.own_principals(),
            vec!["user:alice", "key:0123456789abcdef"]
        );
        // Shared with the key alone: the key reaches it, its owner does not.
        let for_the_key = acl(&["key:0123456789abcdef"], &[]);
        assert!(k.may_read(&for_the_key) && !k.may_write(&for_the_key));
        assert!(!Identity::user("alice", &[]).may_read(&for_the_key));
        // The owner's buckets.
        let owned = acl(&[], &["user:alice"]);
        assert!(k.may_write(&owned) && k.may_delete(&owned) && k.may_change_acl(&owned));
        assert!(!k.may_create() && key(&[CREATE_BUCKETS], None).may_create());
    }

    #[test]
    fn a_scope_restricts_a_key_to_its_incarnations_and_access() {
        let owned = acl(&[], &["user:alice"]);
        let reader = key(&[ADMIN], Some(vec![scope("b1", "g1", Access::Read)]));
        assert!(reader.may_read(&owned));
        assert!(!reader.may_write(&owned) && !reader.may_delete(&owned));
        assert!(!reader.may_change_acl(&owned));
        assert!(!reader.reads_everything() && !reader.may_create());
        let writer = key(&[], Some(vec![scope("b1", "g1", Access::Write)]));
        assert!(writer.may_write(&owned) && writer.may_read(&owned));
        // Another bucket, or the same id re-created (another generation): out of scope.
        let mut other = owned.clone();
        other.id = "b2".into();
        assert!(!writer.may_read(&other));
        let mut recreated = owned.clone();
        recreated.generation = "g2".into();
        assert!(!writer.may_read(&recreated));
        // A scope never adds to the ACL.
        let strangers = acl(&["user:bob"], &["user:bob"]);
        assert!(!writer.may_read(&strangers));
    }
}
