//! A bucket's SFTP users (`domain::sftp`): managed by whoever may write the bucket.
//!
//! The table's item is the truth; the Transfer user follows it. A user's item is written (while
//! the incarnation lives) before the Transfer user exists and deleted after it is gone, so a
//! crash in between leaves a listed user who cannot connect, never one who can but is not
//! listed. A change is written to the item first (conditionally: concurrent changes conflict
//! before anything reaches Transfer), then Transfer is brought to it from what Transfer holds
//! (its keys, listed, not remembered), so a change repeated after any failure repairs it.
//!
//! The limit of users per bucket is a count the store moves in the transaction that writes or
//! deletes the item (checked there: creations sent at once cannot pass it together); being
//! one write with the item, it adds no step that a crash could leave half-done.

mod directory;

use super::Services;
use super::error::{Error, Result};
use super::retry::{WRITE_ATTEMPTS, on_conflict};
use crate::domain::access::Identity;
use crate::domain::bucket::Bucket;
use crate::domain::error::RuleError;
use crate::domain::ids::BucketRef;
use crate::domain::keys::Access;
use crate::domain::origin::Origin;
use crate::domain::sftp::{
    MAX_USERS_PER_BUCKET, NewKey, NewUser, SessionRights, SftpUser, SshKey, UserPatch, home_target,
    login,
};
use crate::domain::time::now_ms;
use crate::ports::{
    BucketStore, DirectoryUser, SftpDirectory, SftpUserPage, SftpUserStore, StoreError,
};

/// `<type> <base64>` of a key line (what Transfer compares; it may keep a comment).
fn key_body(line: &str) -> String {
    line.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

impl<S: BucketStore + SftpUserStore, O> Services<S, O> {
    /// The files bucket, when this deployment has an SFTP server.
    fn sftp_files_bucket(&self) -> Option<&str> {
        match (&self.settings.sftp_host, &self.settings.files_bucket) {
            (Some(_), Some(bucket)) => Some(bucket),
            _ => None,
        }
    }

    fn sftp_required(&self) -> Result<&str> {
        self.sftp_files_bucket().ok_or_else(|| {
            Error::Unavailable("this deployment has no SFTP server (SftpEnabled is false)".into())
        })
    }

    /// The rights of a user with `access` in `bucket` as it is now (write only while active).
    fn rights_for(&self, bucket: &Bucket, access: Access) -> Result<SessionRights> {
        let files = self.sftp_required()?;
        Ok(SessionRights::of(
            files,
            &bucket.id,
            &bucket.generation,
            access,
            bucket.is_active(),
        ))
    }

    pub async fn list_sftp_users(
        &self,
        identity: &Identity,
        bucket: &BucketRef,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Bucket, SftpUserPage)> {
        let bucket = self.writable(bucket, identity).await?;
        let page = self
            .store
            .list_sftp_users(&bucket.id, &bucket.generation, after, limit)
            .await?;
        Ok((bucket, page))
    }

    pub async fn get_sftp_user(
        &self,
        identity: &Identity,
        bucket: &BucketRef,
        username: &str,
    ) -> Result<(Bucket, SftpUser)> {
        let bucket = self.writable(bucket, identity).await?;
        let user = self
            .store
            .get_sftp_user(&bucket.id, &bucket.generation, username)
            .await?
            .ok_or_else(|| Error::not_found("SFTP user", username))?;
        Ok((bucket, user))
    }

    pub async fn create_sftp_user<T: SftpDirectory>(
        &self,
        directory: &T,
        identity: &Identity,
        bucket: &BucketRef,
        new: NewUser,
    ) -> Result<(Bucket, SftpUser)> {
        let bucket = self.writable(bucket, identity).await?;
        let (id, generation) = (&bucket.id, &bucket.generation);
        let files = self.sftp_required()?;
        // The early refusal; the store's count, checked in the write, is what holds.
        self.refuse_if_full_of_users(&bucket).await?;
        let now = now_ms();
        let user = SftpUser {
            username: new.username.clone(),
            access: new.access,
            keys: keys_added(&new.keys, now),
            created: now,
            created_by: identity.user_principal().unwrap_or_default(),
            last_modified: now,
            origin: Some(Origin::of(identity, &bucket)),
            suspended: None,
            modified_by: identity.acting_principal(),
        };
        on_conflict(
            WRITE_ATTEMPTS,
            "The bucket's users were changed concurrently; retry",
            || async {
                match self.store.create_sftp_user(id, generation, &user).await {
                    Err(StoreError::Conflict) => {
                        match self.store.get(id).await? {
                            Some(b) if &b.generation == generation => {}
                            _ => return Err(Error::not_found("bucket", id.as_str())),
                        }
                        if self
                            .store
                            .get_sftp_user(id, generation, &user.username)
                            .await?
                            .is_some()
                        {
                            return Err(RuleError::invalid(
                                "username",
                                format!("{} is already a user of this bucket", user.username),
                            )
                            .into());
                        }
                        // Full: creations raced past the early check.
                        self.refuse_if_full_of_users(&bucket).await?;
                        // Else the write lost a race on the count to another: again.
                        Err(StoreError::Conflict.into())
                    }
                    other => Ok(other?),
                }
            },
        )
        .await?;
        let entry = DirectoryUser {
            login: login(id, &user.username),
            home: home_target(files, id, generation),
            rights: self.rights_for(&bucket, user.access)?,
            keys: user.login_keys(),
        };
        match self.create_directory_user(directory, id, &entry).await {
            Ok(()) => {}
            Err(e) => {
                // Neither may outlive a failed creation (best effort: the item alone cannot
                // connect; a Transfer user alone is deleted by the next creation of the name).
                let _ = directory.delete_user(&entry.login).await;
                let _ = self.forget_sftp_user(id, generation, &user.username).await;
                return Err(e);
            }
        }
        self.settle_directory_user(directory, &bucket, &user)
            .await?;
        Ok((
            bucket.clone(),
            self.record_key_ids(directory, &bucket, user).await,
        ))
    }

    /// Refuses a new user when the bucket has `MAX_USERS_PER_BUCKET` already.
    async fn refuse_if_full_of_users(&self, bucket: &Bucket) -> Result<()> {
        let present = self
            .store
            .list_sftp_users(&bucket.id, &bucket.generation, None, MAX_USERS_PER_BUCKET)
            .await?;
        if present.users.len() >= MAX_USERS_PER_BUCKET {
            return Err(RuleError::invalid(
                "username",
                format!("the bucket already has {MAX_USERS_PER_BUCKET} SFTP users (the limit)"),
            )
            .into());
        }
        Ok(())
    }

    /// Deletes a user's item (and its place under the limit), again while the write loses a
    /// race on the count.
    async fn forget_sftp_user(&self, id: &str, generation: &str, username: &str) -> Result<()> {
        on_conflict(
            WRITE_ATTEMPTS,
            "The bucket's users were changed concurrently; retry",
            || async {
                Ok(self
                    .store
                    .delete_sftp_user(id, generation, username)
                    .await?)
            },
        )
        .await
    }

    pub async fn update_sftp_user<T: SftpDirectory>(
        &self,
        directory: &T,
        identity: &Identity,
        bucket: &BucketRef,
        username: &str,
        patch: UserPatch,
    ) -> Result<(Bucket, SftpUser)> {
        let (bucket, current) = self.get_sftp_user(identity, bucket, username).await?;
        if current.suspended.is_some() && patch.keys.is_none() {
            // Its keys are its suspended maker's to hold: the writer taking it over names
            // those it keeps.
            return Err(RuleError::invalid(
                "ssh_public_keys",
                "the user is suspended: a takeover names the keys that may log in",
            )
            .into());
        }
        let mut user = current.clone();
        if let Some(access) = patch.access {
            user.access = access;
        }
        if let Some(wanted) = patch.keys {
            let now = now_ms();
            user.keys = wanted
                .iter()
                .map(
                    |new| match current.keys.iter().find(|k| k.body == new.body) {
                        Some(kept) => kept.clone(),
                        None => keys_added(std::slice::from_ref(new), now).remove(0),
                    },
                )
                .collect();
        }
        user.last_modified = now_ms().max(current.last_modified + 1);
        // A current writer's change takes the user over: it logs in for that writer from now
        // on, and a suspended one resumes.
        user.origin = Some(Origin::of(identity, &bucket));
        user.suspended = None;
        user.modified_by = identity.acting_principal();
        match self
            .store
            .update_sftp_user(&bucket.id, &bucket.generation, &user, current.last_modified)
            .await
        {
            Err(StoreError::Conflict) => {
                return Err(Error::Busy(
                    "The user was changed concurrently; read it again and retry".into(),
                ));
            }
            other => other?,
        }
        // Also when nothing changed: a change repeated after a failure repairs Transfer.
        self.sync_directory_user(directory, &bucket, &user).await?;
        self.settle_directory_user(directory, &bucket, &user)
            .await?;
        let user = self.record_key_ids(directory, &bucket, user).await;
        Ok((bucket, user))
    }

    pub async fn delete_sftp_user<T: SftpDirectory>(
        &self,
        directory: &T,
        identity: &Identity,
        bucket: &BucketRef,
        username: &str,
    ) -> Result<()> {
        let (bucket, user) = self.get_sftp_user(identity, bucket, username).await?;
        // Access ends first.
        directory
            .delete_user(&login(&bucket.id, &user.username))
            .await?;
        self.forget_sftp_user(&bucket.id, &bucket.generation, &user.username)
            .await
    }
}

/// Keys as newly added (Transfer's ids are filled in once it gave them).
fn keys_added(keys: &[NewKey], now: i64) -> Vec<SshKey> {
    keys.iter()
        .map(|k| SshKey {
            id: String::new(),
            body: k.body.clone(),
            fingerprint: k.fingerprint.clone(),
            comment: k.comment.clone(),
            added: now,
        })
        .collect()
}
