//! The SFTP ports: the bucket users as the table records them (`SftpUserStore`), and the
//! Transfer Family server that lets them in (`SftpDirectory`).

use std::future::Future;

use super::StoreError;
use crate::domain::sftp::{SessionRights, SftpUser};

/// A page of a bucket's SFTP users, by user name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SftpUserPage {
    pub users: Vec<SftpUser>,
    pub has_more: bool,
}

/// A bucket incarnation that has (or had) SFTP users: the reconciliation pass visits these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SftpBucket {
    pub id: String,
    pub generation: String,
}

pub trait SftpUserStore: Send + Sync {
    fn get_sftp_user(
        &self,
        id: &str,
        generation: &str,
        username: &str,
    ) -> impl Future<Output = Result<Option<SftpUser>, StoreError>> + Send;

    /// Up to `limit` users after `after`, by name.
    fn list_sftp_users(
        &self,
        id: &str,
        generation: &str,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<SftpUserPage, StoreError>> + Send;

    /// Records a new user and registers the incarnation among those the reconciliation pass
    /// visits. `Conflict` if the name is taken in the bucket, the incarnation is gone or
    /// already has `sftp::MAX_USERS_PER_BUCKET` users (counted in the write: the limit holds
    /// against concurrent creations), or the write lost a race to another on the count (try
    /// again).
    fn create_sftp_user(
        &self,
        id: &str,
        generation: &str,
        user: &SftpUser,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Replaces a user written at `previous_modified` (`Conflict` if it changed or is gone).
    fn update_sftp_user(
        &self,
        id: &str,
        generation: &str,
        user: &SftpUser,
        previous_modified: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Deletes a user, freeing its place under the limit; a missing one is not an error.
    /// `Conflict` if the write lost a race to another on the count (the user is still there:
    /// try again).
    fn delete_sftp_user(
        &self,
        id: &str,
        generation: &str,
        username: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Registered incarnations after `after` (`<id>#<generation>`), at most `limit`.
    fn list_sftp_buckets(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<SftpBucket>, StoreError>> + Send;

    /// Registers an incarnation again (a user was created while the pass forgot it).
    fn register_sftp_bucket(
        &self,
        bucket: &SftpBucket,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Forgets a registered incarnation (its bucket is gone, or it has no user left).
    fn unregister_sftp_bucket(
        &self,
        bucket: &SftpBucket,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// A Transfer user to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryUser {
    pub login: String,
    /// Logical `/` of the user (`domain::sftp::home_target`).
    pub home: String,
    /// What the user may do (`domain::sftp::SessionRights`; the directory turns it into its
    /// own terms, on AWS the session policy).
    pub rights: SessionRights,
    /// Key bodies to import with the user.
    pub keys: Vec<String>,
}

/// The Transfer Family server (service-managed users). Every method is one or a few calls.
pub trait SftpDirectory: Send + Sync {
    /// Creates the user with its keys; returns the ids Transfer gave the keys, in order.
    /// `Conflict` if the login exists.
    fn create_user(
        &self,
        user: &DirectoryUser,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// Replaces the user's rights (on AWS, its session policy); `Conflict` if there is no such
    /// user.
    fn set_policy(
        &self,
        login: &str,
        rights: &SessionRights,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Imports a key; returns its id.
    fn import_key(
        &self,
        login: &str,
        body: &str,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;

    /// Deletes a key; a missing one is not an error.
    fn delete_key(
        &self,
        login: &str,
        key_id: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The user's keys as Transfer holds them, `(key id, body)`; `None` if there is no such
    /// user.
    fn keys_of(
        &self,
        login: &str,
    ) -> impl Future<Output = Result<Option<Vec<(String, String)>>, StoreError>> + Send;

    /// The user's logical `/` target, `None` if there is no such user.
    fn home_of(
        &self,
        login: &str,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// Deletes the user (and so his keys: he can no longer connect); a missing one is not an
    /// error.
    fn delete_user(&self, login: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}
