//! `KeyStore` over the in-memory table: the key item and its two listing entries (the owner's
//! and everyone's), written together as the adapter's transaction writes them, with the key's
//! id in its owner's count (`KC#<owner>`/`KEYS`, a set of ids, as the adapter's), which the
//! creation checks against the limit. [`MemoryStore::expire_keys`] removes expired keys as
//! DynamoDB's TTL does: without touching the count.

use std::collections::BTreeSet;

use super::{Item, MemoryStore, State, key};
use crate::domain::keys::{ApiKey, LAST_USED_EVERY_MS, MAX_KEYS_PER_OWNER};
use crate::ports::{ApiKeyPage, ItemKey, KeyStore, StoreError};

const KEYS_ALL_PK: &str = "KALL";

fn count_key(owner: &str) -> ItemKey {
    key(format!("KC#{owner}"), "KEYS")
}

impl State {
    /// The ids `owner`'s count names.
    fn counted_keys(&self, owner: &str) -> Result<BTreeSet<String>, StoreError> {
        Ok(self
            .read(&count_key(owner), Item::as_key_ids)?
            .cloned()
            .unwrap_or_default())
    }
}

impl MemoryStore {
    /// Test helper, DynamoDB's TTL: removes every key expired at `now_ms` (its item and listing
    /// entries), leaving its owner's count as it is; how many were removed.
    pub fn expire_keys(&self, now_ms: i64) -> usize {
        let mut state = self.lock();
        let expired: Vec<ApiKey> = state
            .items
            .values()
            .filter_map(Item::as_key)
            .filter(|k| k.is_expired(now_ms))
            .cloned()
            .collect();
        for k in &expired {
            state.items.remove(&key_item_key(&k.id));
            state.items.remove(&key(owner_pk(&k.owner), &k.id));
            state.items.remove(&key(KEYS_ALL_PK, &k.id));
        }
        expired.len()
    }
}

fn key_item_key(id: &str) -> ItemKey {
    key(format!("K#{id}"), "K")
}

fn owner_pk(owner: &str) -> String {
    format!("KO#{owner}")
}

impl KeyStore for MemoryStore {
    async fn get_key(&self, id: &str) -> Result<Option<ApiKey>, StoreError> {
        Ok(self
            .begin()?
            .read(&key_item_key(id), Item::as_key)?
            .cloned())
    }

    async fn create_key(&self, k: &ApiKey) -> Result<(), StoreError> {
        let mut state = self.begin()?;
        let item_key = key_item_key(&k.id);
        let mut counted = state.counted_keys(&k.owner)?;
        if state.items.contains_key(&item_key) || counted.len() >= MAX_KEYS_PER_OWNER {
            return Err(StoreError::Conflict);
        }
        counted.insert(k.id.clone());
        state
            .items
            .insert(count_key(&k.owner), Item::KeyIds(counted));
        state.items.insert(item_key, Item::Key(k.clone()));
        state
            .items
            .insert(key(owner_pk(&k.owner), &k.id), Item::Index);
        state.items.insert(key(KEYS_ALL_PK, &k.id), Item::Index);
        Ok(())
    }

    async fn rename_key(&self, id: &str, title: &str) -> Result<Option<ApiKey>, StoreError> {
        let mut state = self.begin()?;
        Ok(state.write(&key_item_key(id), Item::as_key_mut)?.map(|k| {
            k.title = title.to_string();
            k.clone()
        }))
    }

    async fn delete_key(&self, k: &ApiKey) -> Result<(), StoreError> {
        let mut state = self.begin()?;
        let mut counted = state.counted_keys(&k.owner)?;
        if state.items.remove(&key_item_key(&k.id)).is_none() {
            return Err(StoreError::Conflict);
        }
        counted.remove(&k.id);
        state
            .items
            .insert(count_key(&k.owner), Item::KeyIds(counted));
        state.items.remove(&key(owner_pk(&k.owner), &k.id));
        state.items.remove(&key(KEYS_ALL_PK, &k.id));
        Ok(())
    }

    async fn touch_key(&self, id: &str, at: i64) -> Result<(), StoreError> {
        let mut state = self.begin()?;
        if let Some(k) = state.write(&key_item_key(id), Item::as_key_mut)?
            && k.last_used
                .is_none_or(|last| at - last >= LAST_USED_EVERY_MS)
        {
            k.last_used = Some(at);
        }
        Ok(())
    }

    async fn count_keys(&self, owner: &str) -> Result<usize, StoreError> {
        let mut state = self.begin()?;
        let mut counted = state.counted_keys(owner)?;
        if counted.len() >= MAX_KEYS_PER_OWNER {
            // Full: the keys the TTL removed are forgotten (as the adapter does).
            counted.retain(|id| state.items.contains_key(&key_item_key(id)));
            state
                .items
                .insert(count_key(owner), Item::KeyIds(counted.clone()));
        }
        Ok(counted.len())
    }

    async fn list_keys(
        &self,
        owner: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<ApiKeyPage, StoreError> {
        let state = self.begin()?;
        let pk = owner.map_or_else(|| KEYS_ALL_PK.to_string(), owner_pk);
        let ids: Vec<String> = state
            .partition(&pk, after)
            .take(limit)
            .map(|(k, _)| k.sk.clone())
            .collect();
        let mut keys = Vec::with_capacity(ids.len());
        for id in &ids {
            keys.extend(state.read(&key_item_key(id), Item::as_key)?.cloned());
        }
        Ok(ApiKeyPage {
            keys,
            // As a DynamoDB query that filled its limit: more may follow.
            has_more: ids.len() == limit,
            last_key: ids.last().cloned(),
        })
    }
}
