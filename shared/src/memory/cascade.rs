//! `CascadeStore` over the in-memory table: markers (`CASCADE`/`<id>#<gen>[#<upload id>]`)
//! and the purge of an incarnation's items, as `aws::dynamodb::cascade` does them.
//!
//! Paging follows DynamoDB's Query with a `Limit`: a page that reaches the limit reports a
//! continuation (`last`, `more`) even when nothing follows, so the caller's next page may come
//! back empty; a shorter page is the last one. A limit of 0 is refused, as DynamoDB refuses it.

use std::collections::BTreeSet;

use super::{
    ALL_PK, INCARNATION_PARTITIONS, Item, MARKER_PK, MAX_BATCH_WRITE, MAX_TRANSACTION_ITEMS,
    MemoryStore, SFTP_PK, bucket_key, index_pk, key, marker_item_key, part_pk,
};
use crate::domain::cascade::Marker;
use crate::domain::time::now_ms;
use crate::ports::{CascadeStore, ItemKey, ItemSet, KeyPage, MarkerPage, StoreError};

fn check_limit(limit: usize) -> Result<(), StoreError> {
    if limit == 0 {
        return Err(StoreError::Other(
            "ValidationException: a query limit must be at least 1".into(),
        ));
    }
    Ok(())
}

impl CascadeStore for MemoryStore {
    async fn get_marker(&self, key: &str) -> Result<Option<Marker>, StoreError> {
        let state = self.begin()?;
        Ok(state.read(&marker_item_key(key), Item::as_marker)?.cloned())
    }

    /// Sets the marker's passes and tally, and `updated` to now; a missing marker is not an
    /// error (another run finished it).
    async fn save_pass(&self, marker: &Marker) -> Result<(), StoreError> {
        let mut state = self.begin()?;
        if let Some(stored) = state.write(&marker_item_key(&marker.key), Item::as_marker_mut)? {
            stored.passes = marker.passes;
            stored.tally = marker.tally;
            stored.updated = now_ms();
        }
        Ok(())
    }

    async fn delete_marker(&self, key: &str) -> Result<(), StoreError> {
        self.begin()?.items.remove(&marker_item_key(key));
        Ok(())
    }

    /// Up to `limit` markers after `after` are read; of those, the keys of the ones last
    /// written before `idle_since` are returned. `more` when the read reached the limit.
    async fn list_markers(
        &self,
        after: Option<&str>,
        limit: usize,
        idle_since: Option<i64>,
    ) -> Result<MarkerPage, StoreError> {
        let state = self.begin()?;
        check_limit(limit)?;
        let mut read = 0;
        let mut last = None;
        let mut keys = Vec::new();
        for (k, item) in state.partition(MARKER_PK, after).take(limit) {
            read += 1;
            let updated = item.as_marker().map(|m| m.updated);
            if idle_since.is_none_or(|since| updated.is_none_or(|u| u < since)) {
                keys.push(k.sk.clone());
            }
            last = Some(k.sk.clone());
        }
        // As DynamoDB: a full page says more may follow.
        Ok(MarkerPage {
            keys,
            next: last.filter(|_| read == limit),
        })
    }

    /// Sets `updated` to now; `false` if the marker is gone.
    async fn touch_marker(&self, key: &str) -> Result<bool, StoreError> {
        let mut state = self.begin()?;
        match state.write(&marker_item_key(key), Item::as_marker_mut)? {
            Some(marker) => {
                marker.updated = now_ms();
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn incarnation_items(&self, id: &str, generation: &str) -> Vec<ItemSet> {
        let mut sets: Vec<ItemSet> = INCARNATION_PARTITIONS
            .iter()
            .map(|p| ItemSet {
                pk: part_pk(p, id, generation),
                sk_prefix: None,
            })
            .collect();
        // The markers of files deleted in this incarnation (their objects are under its prefix).
        sets.push(ItemSet {
            pk: MARKER_PK.into(),
            sk_prefix: Some(format!("{id}#{generation}#")),
        });
        // Its registration for the SFTP reconciliation pass.
        sets.push(ItemSet {
            pk: SFTP_PK.into(),
            sk_prefix: Some(format!("{id}#{generation}#")),
        });
        sets
    }

    /// Up to `limit` keys of `set` after `after` (exclusive); `last` is the last key given when
    /// the page is full.
    async fn item_keys(
        &self,
        set: &ItemSet,
        after: Option<ItemKey>,
        limit: usize,
    ) -> Result<KeyPage, StoreError> {
        let state = self.begin()?;
        check_limit(limit)?;
        // DynamoDB starts after the exclusive start key in the partition, whatever its prefix.
        let after_sk = after.as_ref().map(|a| a.sk.as_str());
        let keys: Vec<ItemKey> = state
            .partition(&set.pk, after_sk)
            .filter(|(k, _)| set.sk_prefix.as_ref().is_none_or(|p| k.sk.starts_with(p)))
            .take(limit)
            .map(|(k, _)| k.clone())
            .collect();
        let last = (keys.len() == limit)
            .then(|| keys.last().cloned())
            .flatten();
        Ok(KeyPage { keys, last })
    }

    /// Deletes the items (missing ones count as deleted); none is ever left unprocessed. More
    /// than 25 keys, or a key given twice, fail with `Other` as a BatchWriteItem would.
    async fn delete_items(&self, keys: &[ItemKey]) -> Result<Vec<ItemKey>, StoreError> {
        let mut state = self.begin()?;
        if keys.is_empty() {
            return Ok(vec![]);
        }
        if keys.len() > MAX_BATCH_WRITE {
            return Err(StoreError::Other(format!(
                "ValidationException: {} requests in one BatchWriteItem (at most {MAX_BATCH_WRITE})",
                keys.len()
            )));
        }
        if keys.iter().collect::<BTreeSet<_>>().len() < keys.len() {
            return Err(StoreError::Other(
                "ValidationException: a BatchWriteItem names one item twice".into(),
            ));
        }
        for k in keys {
            state.items.remove(k);
        }
        Ok(vec![])
    }

    /// Deletes the entries of `principals` and the `ALL` entry of `id`, in the adapter's
    /// transactions of up to 99 deletions, each conditional on no bucket `id` existing; the
    /// first that finds one stops, leaving the new bucket's entries. Returns the transactions
    /// tried.
    async fn delete_stale_index(&self, id: &str, principals: &[String]) -> Result<u64, StoreError> {
        let mut state = self.begin()?;
        let mut keys: Vec<ItemKey> = principals.iter().map(|p| key(index_pk(p), id)).collect();
        keys.push(key(ALL_PK, id));
        let exists = state.items.contains_key(&bucket_key(id));
        let mut calls = 0;
        for chunk in keys.chunks(MAX_TRANSACTION_ITEMS - 1) {
            calls += 1;
            if exists {
                break;
            }
            for k in chunk {
                state.items.remove(k);
            }
        }
        Ok(calls)
    }
}
