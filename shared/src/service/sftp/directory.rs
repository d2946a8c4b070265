//! The Transfer side of SFTP users: bringing the Transfer user to the table's item (its rights,
//! exactly its keys), and following what changes them (the bucket's activity, the item's stream
//! records, the scheduled resync of suspended users).

use super::*;

impl<S: BucketStore + SftpUserStore, O> Services<S, O> {
    /// After Transfer was changed from `user` as written and `bucket` as read: what changed
    /// meanwhile wins. The item deleted (a concurrent DELETE): the Transfer user goes. The item
    /// changed (a concurrent PATCH): Transfer is synced to it. The bucket's `active` flipped
    /// (its stream event may have found no Transfer user yet): the policy follows.
    pub(super) async fn settle_directory_user<T: SftpDirectory>(
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
    pub(super) async fn create_directory_user<T: SftpDirectory>(
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
    pub(super) async fn record_key_ids<T: SftpDirectory>(
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
    pub(super) async fn sync_directory_user<T: SftpDirectory>(
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
    pub(in crate::service) async fn sftp_users_of(&self, bucket: &Bucket) -> Result<Vec<SftpUser>> {
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
        let mut pages = crate::service::reconcile::Registrations::default();
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
