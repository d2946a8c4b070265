//! Who may do what: the caller's identity (principals and xyOps privileges) against a bucket.

use super::permissions::{AUTHENTICATED, EVERYONE, Permissions};

/// Global privileges carried by the JWT (xyOps).
pub const CREATE_BUCKETS: &str = "create_buckets";
pub const EDIT_BUCKETS: &str = "edit_buckets";
pub const DELETE_BUCKETS: &str = "delete_buckets";
pub const ADMIN: &str = "admin";

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

/// The caller. Anonymous callers have no `sub`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    pub sub: Option<String>,
    pub privileges: Vec<String>,
}

impl Identity {
    pub fn anonymous() -> Self {
        Identity::default()
    }

    pub fn user(sub: &str, privileges: &[&str]) -> Self {
        Identity {
            sub: Some(sub.to_string()),
            privileges: privileges.iter().map(|p| p.to_string()).collect(),
        }
    }

    pub fn is_authenticated(&self) -> bool {
        self.sub.is_some()
    }

    /// `user:<sub>`, the principal that names this caller.
    pub fn user_principal(&self) -> Option<String> {
        self.sub.as_ref().map(|s| format!("user:{s}"))
    }

    /// `system.Everyone`, and when authenticated `system.Authenticated` and `user:<sub>`.
    pub fn principals(&self) -> Vec<String> {
        let mut out = vec![EVERYONE.to_string()];
        if let Some(user) = self.user_principal() {
            out.push(AUTHENTICATED.to_string());
            out.push(user);
        }
        out
    }

    /// The principals that name this caller alone: `user:<sub>` (an API key will add its own
    /// `key:<id>` here). Never `system.*`: what everyone may do is not the caller's own.
    /// Used where an action must be limited to what is the caller's (delete-all).
    pub fn own_principals(&self) -> Vec<String> {
        // API keys: push `key:<id>` here when a key authenticated the request.
        self.user_principal().into_iter().collect()
    }

    /// `admin` implies every privilege.
    pub fn has(&self, privilege: &str) -> bool {
        self.privileges.iter().any(|p| p == privilege || p == ADMIN)
    }

    pub fn may_create(&self) -> bool {
        self.is_authenticated() && self.has(CREATE_BUCKETS)
    }

    /// Whether a global privilege lets this caller read every bucket (and so list them all).
    pub fn reads_everything(&self) -> bool {
        self.is_authenticated() && (self.has(EDIT_BUCKETS) || self.has(DELETE_BUCKETS))
    }

    pub fn may_read(&self, acl: &Permissions) -> bool {
        self.reads_everything() || acl.can_read(&self.principals())
    }

    pub fn may_write(&self, acl: &Permissions) -> bool {
        (self.is_authenticated() && self.has(EDIT_BUCKETS)) || acl.can_write(&self.principals())
    }

    /// Whether this caller may change the ACL (`permissions`) of a bucket whose ACL is `acl`:
    /// only through `write` in that ACL itself, or as `admin`. `edit_buckets` and
    /// `delete_buckets` never turn into a grant the holder did not have (an editor adding
    /// himself to `write` could then delete the bucket).
    pub fn may_change_acl(&self, acl: &Permissions) -> bool {
        (self.is_authenticated() && self.privileges.iter().any(|p| p == ADMIN))
            || acl.can_write(&self.principals())
    }

    /// ACL `write` covers delete (Kinto); globally, only `delete_buckets` (xyOps keeps it apart
    /// from `edit_buckets`).
    pub fn may_delete(&self, acl: &Permissions) -> bool {
        (self.is_authenticated() && self.has(DELETE_BUCKETS)) || acl.can_write(&self.principals())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acl(read: &[&str], write: &[&str]) -> Permissions {
        Permissions {
            read: read.iter().map(|s| s.to_string()).collect(),
            write: write.iter().map(|s| s.to_string()).collect(),
        }
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
        assert!(writers.can_write(&principals_of("user:bob")));
        assert!(!writers.can_write(&principals_of(EVERYONE)));
    }

    #[test]
    fn own_principals_are_the_user_alone() {
        assert_eq!(
            Identity::user("a", &[ADMIN]).own_principals(),
            vec!["user:a"]
        );
        assert!(Identity::anonymous().own_principals().is_empty());
    }
}
