//! `BucketStore` over the in-memory table: the bucket item and its listing entries, written
//! together under the same conditions as `aws::dynamodb`.

use std::collections::BTreeSet;

use super::{
    ALL_PK, Item, MARKER_PK, MAX_TRANSACTION_ITEMS, MemoryStore, bucket_key, index_pk, key,
};
use crate::domain::bucket::Bucket;
use crate::domain::cascade::Marker;
use crate::ports::{BucketPage, BucketStore, ListScope, StoreError};

impl BucketStore for MemoryStore {
    async fn get(&self, id: &str) -> Result<Option<Bucket>, StoreError> {
        Ok(self.begin()?.bucket(id)?.cloned())
    }

    /// `Conflict` if a bucket with this id exists (any generation).
    async fn create(&self, bucket: &Bucket) -> Result<(), StoreError> {
        let mut state = self.begin()?;
        let k = bucket_key(&bucket.id);
        if state.items.contains_key(&k) {
            return Err(StoreError::Conflict);
        }
        state.items.insert(k, Item::Bucket(bucket.clone()));
        state.items.insert(key(ALL_PK, &bucket.id), Item::Index);
        for p in bucket.permissions.all_principals() {
            state
                .items
                .insert(key(index_pk(&p), &bucket.id), Item::Index);
        }
        Ok(())
    }

    /// Sets `new`'s attributes, ACL, revision and `last_modified` on the stored bucket if its
    /// revision and generation are still `old`'s (the file counters stay the stored ones), and
    /// moves the entries of principals added or removed between `old` and `new`.
    async fn update(&self, old: &Bucket, new: &Bucket) -> Result<(), StoreError> {
        let mut state = self.begin()?;
        let stored = state
            .write(&bucket_key(&new.id), Item::as_bucket_mut)?
            .ok_or(StoreError::Conflict)?;
        if stored.revision != old.revision || stored.generation != old.generation {
            return Err(StoreError::Conflict);
        }
        stored.attrs = new.attrs.clone();
        stored.permissions = new.permissions.clone();
        stored.revision = new.revision;
        stored.last_modified = new.last_modified;
        let old_set: BTreeSet<String> = old.permissions.all_principals().into_iter().collect();
        let new_set: BTreeSet<String> = new.permissions.all_principals().into_iter().collect();
        for p in new_set.difference(&old_set) {
            state.items.insert(key(index_pk(p), &new.id), Item::Index);
        }
        for p in old_set.difference(&new_set) {
            state.items.remove(&key(index_pk(p), &new.id));
        }
        Ok(())
    }

    /// Removes the bucket (same revision and generation, else `Conflict`) and the entries of
    /// `bucket`'s principals and `ALL`, and writes the marker of its cascade. As in the adapter,
    /// the marker names the principals (`stale_index`) when the deletion is too large for one
    /// DynamoDB transaction, although here nothing is ever left behind.
    async fn delete(&self, bucket: &Bucket, deleted_at: i64) -> Result<(), StoreError> {
        let mut state = self.begin()?;
        let k = bucket_key(&bucket.id);
        match state.read(&k, Item::as_bucket)? {
            Some(b) if b.revision == bucket.revision && b.generation == bucket.generation => {}
            _ => return Err(StoreError::Conflict),
        }
        state.items.remove(&k);
        let principals = bucket.permissions.all_principals();
        let staged = 3 + principals.len() > MAX_TRANSACTION_ITEMS;
        let stale_index = if staged { principals.clone() } else { vec![] };
        let marker = Marker::for_bucket(&bucket.id, &bucket.generation, stale_index, deleted_at);
        state
            .items
            .insert(key(MARKER_PK, &marker.key), Item::Marker(marker));
        state.items.remove(&key(ALL_PK, &bucket.id));
        for p in &principals {
            state.items.remove(&key(index_pk(p), &bucket.id));
        }
        Ok(())
    }

    /// The adapter's merge of one query per partition (`ALL`, or `P#<principal>` for each
    /// principal): the first `limit` ids after `after` in their union. `has_more` when more ids
    /// follow; `last_key` is the last id looked at, even when its bucket is not shown (gone,
    /// or a stale entry whose bucket's ACL no longer names any of the principals).
    async fn list(
        &self,
        scope: &ListScope,
        after: Option<&str>,
        limit: usize,
    ) -> Result<BucketPage, StoreError> {
        let state = self.begin()?;
        let (partitions, principals): (Vec<String>, Option<&Vec<String>>) = match scope {
            ListScope::All => (vec![ALL_PK.to_string()], None),
            ListScope::Principals(ps) => (ps.iter().map(|p| index_pk(p)).collect(), Some(ps)),
        };
        let mut ids = BTreeSet::new();
        for pk in &partitions {
            ids.extend(
                state
                    .partition(pk, after)
                    .take(limit.saturating_add(1))
                    .map(|(k, _)| k.sk.clone()),
            );
        }
        let mut candidates: Vec<String> = ids.into_iter().collect();
        let has_more = candidates.len() > limit;
        candidates.truncate(limit);
        let last_key = candidates.last().cloned();
        let mut buckets = Vec::with_capacity(candidates.len());
        for id in &candidates {
            if let Some(b) = state.bucket(id)? {
                buckets.push(b.clone());
            }
        }
        if let Some(principals) = principals {
            buckets.retain(|b| b.permissions.can_read(principals));
        }
        Ok(BucketPage {
            buckets,
            has_more,
            last_key,
        })
    }
}
