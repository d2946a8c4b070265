//! `SftpUserStore` over the in-memory table, and [`MemoryDirectory`], an in-memory Transfer
//! server for tests (logins, their home, policy and keys).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::{Item, MemoryStore, SFTP_PK, key, part_pk};
use crate::domain::sftp::{MAX_USERS_PER_BUCKET, SessionRights, SftpUser};
use crate::ports::{
    DirectoryUser, SftpBucket, SftpDirectory, SftpUserPage, SftpUserStore, StoreError,
};

impl SftpUserStore for MemoryStore {
    async fn get_sftp_user(
        &self,
        id: &str,
        generation: &str,
        username: &str,
    ) -> Result<Option<SftpUser>, StoreError> {
        let state = self.begin()?;
        let k = key(part_pk("S", id, generation), username);
        Ok(state.read(&k, Item::as_sftp_user)?.cloned())
    }

    async fn list_sftp_users(
        &self,
        id: &str,
        generation: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<SftpUserPage, StoreError> {
        let page = {
            let state = self.begin()?;
            let pk = part_pk("S", id, generation);
            let mut users = Vec::new();
            for (k, item) in state.partition(&pk, after) {
                if users.len() == limit {
                    break;
                }
                let user = item
                    .as_sftp_user()
                    .ok_or_else(|| super::mismatch(k, item.kind()))?;
                users.push(user.clone());
            }
            // As DynamoDB: a full page reports a continuation.
            let has_more = users.len() == limit;
            SftpUserPage { users, has_more }
        };
        // It gives way once, as a query would, so that concurrent requests interleave around
        // it (the creation's early check reads here).
        tokio::task::yield_now().await;
        Ok(page)
    }

    async fn create_sftp_user(
        &self,
        id: &str,
        generation: &str,
        user: &SftpUser,
    ) -> Result<(), StoreError> {
        let mut state = self.begin()?;
        let pk = part_pk("S", id, generation);
        let k = key(&pk, &user.username);
        // The adapter's count is of this partition, moved in the same transaction.
        if state.items.contains_key(&k)
            || !state.live(id, generation)?
            || state.partition(&pk, None).count() >= MAX_USERS_PER_BUCKET
        {
            return Err(StoreError::Conflict);
        }
        state.items.insert(k, Item::SftpUser(user.clone()));
        state
            .items
            .insert(key(SFTP_PK, format!("{id}#{generation}#")), Item::Index);
        Ok(())
    }

    async fn update_sftp_user(
        &self,
        id: &str,
        generation: &str,
        user: &SftpUser,
        previous_modified: i64,
    ) -> Result<(), StoreError> {
        let mut state = self.begin()?;
        let k = key(part_pk("S", id, generation), &user.username);
        match state.write(&k, Item::as_sftp_user_mut)? {
            Some(current) if current.last_modified == previous_modified => {
                *current = user.clone();
                Ok(())
            }
            _ => Err(StoreError::Conflict),
        }
    }

    async fn delete_sftp_user(
        &self,
        id: &str,
        generation: &str,
        username: &str,
    ) -> Result<(), StoreError> {
        let mut state = self.begin()?;
        state
            .items
            .remove(&key(part_pk("S", id, generation), username));
        Ok(())
    }

    async fn list_sftp_buckets(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<SftpBucket>, StoreError> {
        let state = self.begin()?;
        Ok(state
            .partition(SFTP_PK, after)
            .take(limit)
            .filter_map(|(k, _)| {
                let (id, generation) = k.sk.trim_end_matches('#').split_once('#')?;
                Some(SftpBucket {
                    id: id.into(),
                    generation: generation.into(),
                })
            })
            .collect())
    }

    async fn register_sftp_bucket(&self, bucket: &SftpBucket) -> Result<(), StoreError> {
        let mut state = self.begin()?;
        state.items.insert(
            key(SFTP_PK, format!("{}#{}#", bucket.id, bucket.generation)),
            Item::Index,
        );
        Ok(())
    }

    async fn unregister_sftp_bucket(&self, bucket: &SftpBucket) -> Result<(), StoreError> {
        let mut state = self.begin()?;
        state.items.remove(&key(
            SFTP_PK,
            format!("{}#{}#", bucket.id, bucket.generation),
        ));
        Ok(())
    }
}

/// A Transfer user as [`MemoryDirectory`] holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryEntry {
    pub home: String,
    pub rights: SessionRights,
    /// (key id, body)
    pub keys: Vec<(String, String)>,
}

/// An in-memory Transfer server. Clones share the same users.
#[derive(Debug, Clone, Default)]
pub struct MemoryDirectory {
    users: Arc<Mutex<(BTreeMap<String, DirectoryEntry>, u64)>>,
}

impl MemoryDirectory {
    pub fn new() -> MemoryDirectory {
        MemoryDirectory::default()
    }

    fn lock(&self) -> MutexGuard<'_, (BTreeMap<String, DirectoryEntry>, u64)> {
        self.users.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The user `login`, if it exists (test helper).
    pub fn user(&self, login: &str) -> Option<DirectoryEntry> {
        self.lock().0.get(login).cloned()
    }

    /// Every login (test helper).
    pub fn logins(&self) -> Vec<String> {
        self.lock().0.keys().cloned().collect()
    }
}

fn next_key_id(counter: &mut u64) -> String {
    *counter += 1;
    format!("key-{:017}", *counter)
}

impl SftpDirectory for MemoryDirectory {
    async fn create_user(&self, user: &DirectoryUser) -> Result<Vec<String>, StoreError> {
        let mut guard = self.lock();
        let (users, counter) = &mut *guard;
        if users.contains_key(&user.login) {
            return Err(StoreError::Conflict);
        }
        let keys: Vec<(String, String)> = user
            .keys
            .iter()
            .map(|body| (next_key_id(counter), body.clone()))
            .collect();
        let ids = keys.iter().map(|(id, _)| id.clone()).collect();
        users.insert(
            user.login.clone(),
            DirectoryEntry {
                home: user.home.clone(),
                rights: user.rights.clone(),
                keys,
            },
        );
        Ok(ids)
    }

    async fn set_policy(&self, login: &str, rights: &SessionRights) -> Result<(), StoreError> {
        match self.lock().0.get_mut(login) {
            Some(u) => {
                u.rights = rights.clone();
                Ok(())
            }
            None => Err(StoreError::Conflict),
        }
    }

    async fn import_key(&self, login: &str, body: &str) -> Result<String, StoreError> {
        let mut guard = self.lock();
        let (users, counter) = &mut *guard;
        let id = next_key_id(counter);
        match users.get_mut(login) {
            Some(u) => {
                u.keys.push((id.clone(), body.to_string()));
                Ok(id)
            }
            None => Err(StoreError::Conflict),
        }
    }

    async fn delete_key(&self, login: &str, key_id: &str) -> Result<(), StoreError> {
        if let Some(u) = self.lock().0.get_mut(login) {
            u.keys.retain(|(id, _)| id != key_id);
        }
        Ok(())
    }

    async fn keys_of(&self, login: &str) -> Result<Option<Vec<(String, String)>>, StoreError> {
        Ok(self.lock().0.get(login).map(|u| u.keys.clone()))
    }

    async fn home_of(&self, login: &str) -> Result<Option<String>, StoreError> {
        Ok(self.lock().0.get(login).map(|u| u.home.clone()))
    }

    async fn delete_user(&self, login: &str) -> Result<(), StoreError> {
        self.lock().0.remove(login);
        Ok(())
    }
}
