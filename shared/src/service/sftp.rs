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

    /// After Transfer was changed from `user` as written and `bucket` as read: what changed
    /// meanwhile wins. The item deleted (a concurrent DELETE): the Transfer user goes. The item
    /// changed (a concurrent PATCH): Transfer is synced to it. The bucket's `active` flipped
    /// (its stream event may have found no Transfer user yet): the policy follows.
    async fn settle_directory_user<T: SftpDirectory>(
        &self,
        directory: &T,
        bucket: &Bucket,
        user: &SftpUser,
    ) -> Result<()> {
        let (id, generation) = (&bucket.id, &bucket.generation);
        let who = login(id, &user.username);
        let Some(stored) = self
            .store
            .get_sftp_user(id, generation, &user.username)
            .await?
        else {
            directory.delete_user(&who).await?;
            return Err(Error::not_found("SFTP user", user.username.as_str()));
        };
        let now = match self.store.get(id).await? {
            Some(b) if &b.generation == generation => b,
            // Deleted meanwhile: its cascade and the stream remove the user.
            _ => return Ok(()),
        };
        if stored.last_modified != user.last_modified {
            self.sync_directory_user(directory, &now, &stored).await?;
        } else if now.is_active() != bucket.is_active() {
            directory
                .set_policy(&who, &self.rights_for(&now, stored.access)?)
                .await?;
        }
        Ok(())
    }

    /// Creates the Transfer user. A login already there belongs to this bucket id (the same
    /// name in a deleted incarnation, or a creation that crashed half-way): it is replaced.
    /// One of another bucket (ids differing only in case, should Transfer compare names so)
    /// is left alone.
    async fn create_directory_user<T: SftpDirectory>(
        &self,
        directory: &T,
        id: &str,
        entry: &DirectoryUser,
    ) -> Result<()> {
        match directory.create_user(entry).await {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict) => {
                let files = self.sftp_required()?;
                // `/<files>/<id>/<generation>`: any generation of this bucket id.
                let ours = format!("{}/", home_target(files, id, "").trim_end_matches('/'));
                match directory.home_of(&entry.login).await? {
                    Some(home) if !home.starts_with(&ours) => Err(RuleError::invalid(
                        "username",
                        "is taken on the SFTP server by another bucket's user",
                    )
                    .into()),
                    _ => {
                        directory.delete_user(&entry.login).await?;
                        directory.create_user(entry).await?;
                        Ok(())
                    }
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The user with Transfer's key ids (informational: keys are matched by body), written
    /// when they changed; a lost race keeps the other writer's record.
    async fn record_key_ids<T: SftpDirectory>(
        &self,
        directory: &T,
        bucket: &Bucket,
        mut user: SftpUser,
    ) -> SftpUser {
        let Ok(Some(actual)) = directory.keys_of(&login(&bucket.id, &user.username)).await else {
            return user;
        };
        let mut changed = false;
        for key in &mut user.keys {
            if let Some((id, _)) = actual.iter().find(|(_, b)| key_body(b) == key.body)
                && &key.id != id
            {
                key.id = id.clone();
                changed = true;
            }
        }
        if changed {
            let previous = user.last_modified;
            user.last_modified = now_ms().max(previous + 1);
            if self
                .store
                .update_sftp_user(&bucket.id, &bucket.generation, &user, previous)
                .await
                .is_err()
            {
                user.last_modified = previous;
            }
        }
        user
    }

    /// Brings the Transfer user to `user` (its rights, exactly its keys), creating it if it
    /// is missing.
    async fn sync_directory_user<T: SftpDirectory>(
        &self,
        directory: &T,
        bucket: &Bucket,
        user: &SftpUser,
    ) -> Result<()> {
        let files = self.sftp_required()?;
        let who = login(&bucket.id, &user.username);
        let rights = self.rights_for(bucket, user.access)?;
        let Some(actual) = directory.keys_of(&who).await? else {
            let entry = DirectoryUser {
                login: who,
                home: home_target(files, &bucket.id, &bucket.generation),
                rights: rights.clone(),
                keys: user.login_keys(),
            };
            return self
                .create_directory_user(directory, &bucket.id, &entry)
                .await;
        };
        directory.set_policy(&who, &rights).await?;
        let wanted = user.login_keys();
        // Removed first: a suspended user's keys all go before anything else is done.
        for (key_id, body) in &actual {
            if !wanted.iter().any(|w| *w == key_body(body)) {
                directory.delete_key(&who, key_id).await?;
            }
        }
        for body in &wanted {
            if !actual.iter().any(|(_, b)| key_body(b) == *body) {
                directory.import_key(&who, body).await?;
            }
        }
        Ok(())
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

    /// Bucket `id` became active or inactive: its users' session policies follow (write only
    /// while active). Reads the bucket as it is now, so a late or repeated event is harmless.
    pub async fn sftp_bucket_activity<T: SftpDirectory>(
        &self,
        directory: &T,
        id: &str,
    ) -> Result<usize> {
        if self.sftp_files_bucket().is_none() {
            return Ok(0);
        }
        let Some(bucket) = self.store.get(id).await? else {
            return Ok(0);
        };
        let users = self.sftp_users_of(&bucket).await?;
        for user in &users {
            let rights = self.rights_for(&bucket, user.access)?;
            match directory
                .set_policy(&login(id, &user.username), &rights)
                .await
            {
                // Its Transfer user is not there (yet, or any more): nothing to confine.
                Ok(()) | Err(StoreError::Conflict) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(users.len())
    }

    /// Every user of the incarnation `bucket` (at most `MAX_USERS_PER_BUCKET`, read a page at
    /// a time should a count ever have let more in).
    pub(super) async fn sftp_users_of(&self, bucket: &Bucket) -> Result<Vec<SftpUser>> {
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self
                .store
                .list_sftp_users(
                    &bucket.id,
                    &bucket.generation,
                    after.as_deref(),
                    MAX_USERS_PER_BUCKET,
                )
                .await?;
            let more = page.has_more;
            after = page.users.last().map(|u| u.username.clone());
            all.extend(page.users);
            if !more || after.is_none() {
                return Ok(all);
            }
        }
    }

    /// A user item of incarnation `id`/`generation` was suspended (or otherwise changed by
    /// the service): its Transfer user follows the item as it is now (a suspended user keeps no
    /// key). A late or repeated record is harmless.
    pub async fn sftp_user_changed<T: SftpDirectory>(
        &self,
        directory: &T,
        id: &str,
        generation: &str,
        username: &str,
    ) -> Result<()> {
        if self.sftp_files_bucket().is_none() {
            return Ok(());
        }
        let Some(bucket) = self
            .store
            .get(id)
            .await?
            .filter(|b| b.generation == generation)
        else {
            return Ok(());
        };
        match self.store.get_sftp_user(id, generation, username).await? {
            Some(user) => self.sync_directory_user(directory, &bucket, &user).await,
            None => Ok(()),
        }
    }

    /// The scheduled pass's repair of suspensions: every suspended user of every registered
    /// incarnation gets its Transfer user brought to its item (no key). A suspension whose
    /// stream record was lost, or a change that crashed between its Transfer sync and its
    /// settling, can then leave keys in Transfer for one period at most. Returns how many
    /// suspended users were synced.
    pub async fn resync_suspended_users<T: SftpDirectory>(&self, directory: &T) -> Result<usize> {
        if self.sftp_files_bucket().is_none() {
            return Ok(0);
        }
        let mut synced = 0;
        let mut pages = super::reconcile::Registrations::default();
        loop {
            let page = pages.next(&self.store).await?;
            if page.is_empty() {
                return Ok(synced);
            }
            for registered in &page {
                let Some(bucket) = self
                    .store
                    .get(&registered.id)
                    .await?
                    .filter(|b| b.generation == registered.generation)
                else {
                    continue;
                };
                for user in self.sftp_users_of(&bucket).await? {
                    if user.suspended.is_some() {
                        self.sync_directory_user(directory, &bucket, &user).await?;
                        synced += 1;
                    }
                }
            }
        }
    }

    /// A user item of incarnation `id`/`generation` was removed (by the API, or by the
    /// bucket's delete cascade): its Transfer user goes, unless the name is a user again (a
    /// user re-created since) or the login now belongs to a newer incarnation's user (its home
    /// says which).
    pub async fn sftp_user_removed<T: SftpDirectory>(
        &self,
        directory: &T,
        id: &str,
        generation: &str,
        username: &str,
    ) -> Result<()> {
        let Some(files) = self.sftp_files_bucket() else {
            return Ok(());
        };
        if self
            .store
            .get_sftp_user(id, generation, username)
            .await?
            .is_some()
        {
            return Ok(());
        }
        let who = login(id, username);
        if directory.home_of(&who).await?.as_deref() == Some(&home_target(files, id, generation)) {
            directory.delete_user(&who).await?;
            tracing::info!(login = %who, "SFTP user removed");
        }
        Ok(())
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
