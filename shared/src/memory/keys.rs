//! `KeyStore` over the in-memory table: the key item and its two listing entries (the owner's
//! and everyone's), written together as the adapter's transaction writes them.

use super::{Item, MemoryStore, key};
use crate::domain::keys::{ApiKey, LAST_USED_EVERY_MS};
use crate::ports::{ApiKeyPage, ItemKey, KeyStore, StoreError};

const KEYS_ALL_PK: &str = "KALL";

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
        if state.items.contains_key(&item_key) {
            return Err(StoreError::Conflict);
        }
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
        if state.items.remove(&key_item_key(&k.id)).is_none() {
            return Err(StoreError::Conflict);
        }
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

    async fn count_keys(&self, owner: &str, up_to: usize) -> Result<usize, StoreError> {
        let state = self.begin()?;
        Ok(state.partition(&owner_pk(owner), None).take(up_to).count())
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
