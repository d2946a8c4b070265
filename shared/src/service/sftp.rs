//! A bucket's SFTP users (`domain::sftp`): managed by whoever may write the bucket. The table's
//! item is written before the Transfer user exists and deleted after it is gone, so a crash in
//! between leaves a user who cannot connect, never one who can but is not listed.

use super::Services;
use super::error::{Error, Result};
use crate::domain::access::Identity;
use crate::domain::bucket::Bucket;
use crate::domain::error::RuleError;
use crate::domain::ids::BucketRef;
use crate::domain::keys::Access;
use crate::domain::sftp::{
    MAX_USERS_PER_BUCKET, NewKey, NewUser, SftpUser, SshKey, UserPatch, home_target, login,
    session_policy,
};
use crate::domain::time::now_ms;
use crate::ports::{
    BucketStore, DirectoryUser, SftpDirectory, SftpUserPage, SftpUserStore, StoreError,
};

impl<S: BucketStore + SftpUserStore, O> Services<S, O> {
    /// The files bucket, when this deployment has an SFTP server.
    fn sftp_files_bucket(&self) -> Result<&str> {
        match (&self.settings.sftp_host, &self.settings.files_bucket) {
            (Some(_), Some(bucket)) => Ok(bucket),
            _ => Err(Error::Unavailable(
                "this deployment has no SFTP server (SftpEnabled is false)".into(),
            )),
        }
    }

    /// The session policy of `user` in `bucket` as it is now (write only while active).
    fn policy_for(&self, bucket: &Bucket, access: Access) -> Result<String> {
        let files = self.sftp_files_bucket()?;
        let write = access == Access::Write && bucket.is_active();
        Ok(session_policy(files, &bucket.id, &bucket.generation, write))
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
        let policy = self.policy_for(&bucket, new.access)?;
        let present = self
            .store
            .list_sftp_users(id, generation, None, MAX_USERS_PER_BUCKET)
            .await?;
        if present.users.len() >= MAX_USERS_PER_BUCKET {
            return Err(RuleError::invalid(
                "username",
                format!("the bucket already has {MAX_USERS_PER_BUCKET} SFTP users (the limit)"),
            )
            .into());
        }
        let now = now_ms();
        let mut user = SftpUser {
            username: new.username.clone(),
            access: new.access,
            keys: keys_added(&new.keys, now),
            created: now,
            created_by: identity.user_principal().unwrap_or_default(),
            last_modified: now,
        };
        match self.store.create_sftp_user(id, generation, &user).await {
            Err(StoreError::Conflict) => {
                return Err(RuleError::invalid(
                    "username",
                    format!("{} is already a user of this bucket", new.username),
                )
                .into());
            }
            other => other?,
        }
        let files = self.sftp_files_bucket()?;
        let entry = DirectoryUser {
            login: login(id, &user.username),
            home: home_target(files, id, generation),
            policy,
            keys: user.keys.iter().map(|k| k.body.clone()).collect(),
        };
        let created = match directory.create_user(&entry).await {
            // A Transfer user of a deleted incarnation whose cascade has not removed it yet.
            Err(StoreError::Conflict) => {
                directory.delete_user(&entry.login).await?;
                directory.create_user(&entry).await
            }
            other => other,
        };
        let ids = match created {
            Ok(ids) => ids,
            Err(e) => {
                let _ = self
                    .store
                    .delete_sftp_user(id, generation, &user.username)
                    .await;
                return Err(e.into());
            }
        };
        let previous = user.last_modified;
        for (key, key_id) in user.keys.iter_mut().zip(ids) {
            key.id = key_id;
        }
        user.last_modified = now_ms().max(previous + 1);
        self.store
            .update_sftp_user(id, generation, &user, previous)
            .await?;
        Ok((bucket, user))
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
        let (id, generation) = (&bucket.id, &bucket.generation);
        let who = login(id, username);
        let mut user = current.clone();
        if let Some(access) = patch.access
            && access != current.access
        {
            directory
                .set_policy(&who, &self.policy_for(&bucket, access)?)
                .await?;
            user.access = access;
        }
        if let Some(wanted) = patch.keys {
            let now = now_ms();
            let mut kept: Vec<SshKey> = Vec::with_capacity(wanted.len());
            for new in &wanted {
                match current.keys.iter().find(|k| k.body == new.body) {
                    Some(k) => kept.push(k.clone()),
                    None => {
                        let mut k = keys_added(std::slice::from_ref(new), now).remove(0);
                        k.id = directory.import_key(&who, &new.body).await?;
                        kept.push(k);
                    }
                }
            }
            for gone in current
                .keys
                .iter()
                .filter(|k| !wanted.iter().any(|w| w.body == k.body))
            {
                directory.delete_key(&who, &gone.id).await?;
            }
            user.keys = kept;
        }
        user.last_modified = now_ms().max(current.last_modified + 1);
        match self
            .store
            .update_sftp_user(id, generation, &user, current.last_modified)
            .await
        {
            Err(StoreError::Conflict) => Err(Error::Busy(
                "The user was changed concurrently; read it again and retry".into(),
            )),
            other => other.map(|()| (bucket, user)).map_err(Error::from),
        }
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
        self.store
            .delete_sftp_user(&bucket.id, &bucket.generation, &user.username)
            .await?;
        Ok(())
    }

    /// Bucket `id` became active or inactive: its users' session policies follow (write only
    /// while active). Reads the bucket as it is now, so a late or repeated event is harmless.
    pub async fn sftp_bucket_activity<T: SftpDirectory>(
        &self,
        directory: &T,
        id: &str,
    ) -> Result<usize> {
        let Some(bucket) = self.store.get(id).await? else {
            return Ok(0);
        };
        let users = self
            .store
            .list_sftp_users(id, &bucket.generation, None, MAX_USERS_PER_BUCKET)
            .await?;
        for user in &users.users {
            let policy = self.policy_for(&bucket, user.access)?;
            match directory
                .set_policy(&login(id, &user.username), &policy)
                .await
            {
                // Its Transfer user is not there (yet, or any more): nothing to confine.
                Ok(()) | Err(StoreError::Conflict) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(users.users.len())
    }

    /// A user item of incarnation `id`/`generation` was removed (by the API, or by the
    /// bucket's delete cascade): its Transfer user goes, unless the login now belongs to a
    /// newer incarnation's user (its home says which).
    pub async fn sftp_user_removed<T: SftpDirectory>(
        &self,
        directory: &T,
        id: &str,
        generation: &str,
        username: &str,
    ) -> Result<()> {
        let files = self.sftp_files_bucket()?;
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
