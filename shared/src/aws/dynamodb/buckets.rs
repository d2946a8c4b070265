//! Buckets and their listing index.
//!
//! A bucket and its index entries are written in one transaction, so listings never miss a
//! bucket a principal can read. When an ACL change needs more items than one transaction holds,
//! new entries are written before the bucket and stale ones removed after it; listings re-check
//! each bucket's ACL, so a stale entry is never shown.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update,
};

use super::item::ItemExt;
use super::keys::{self, ALL_LISTING};
use super::{DynamoStore, Item, MAX_TRANSACTION_ITEMS, json, n, s};
use crate::domain::bucket::Bucket;
use crate::domain::cascade::Marker;
use crate::ports::{BucketPage, BucketStore, ListScope, StoreError};

pub(super) fn to_item(b: &Bucket) -> Item {
    let mut item = keys::bucket(&b.id);
    item.insert("id".into(), s(&b.id));
    item.insert("gen".into(), s(&b.generation));
    item.insert("attrs".into(), json(&b.attrs));
    // `active` also on its own: the stream filter of the sftp function matches its changes
    // (the session policies of the bucket's SFTP users follow it).
    item.insert("active".into(), AttributeValue::Bool(b.is_active()));
    item.insert("acl".into(), json(&b.permissions));
    item.insert("owner".into(), s(&b.owner));
    item.insert("by".into(), s(&b.modified_by));
    item.insert("created".into(), n(b.created));
    item.insert("last_modified".into(), n(b.last_modified));
    item.insert("revision".into(), n(b.revision));
    item.insert("file_count".into(), n(b.file_count));
    item.insert("total_bytes".into(), n(b.total_bytes));
    item
}

pub(super) fn from_item(item: &Item) -> Result<Bucket, StoreError> {
    // An absent number reads as 0, as ADD (which keeps the file counters) takes it.
    let number = |k: &str| item.opt_number(k).map(Option::unwrap_or_default);
    // Attributes that cannot be read (written before `MAX_JSON_DEPTH` bounded them, nested
    // deeper than the reader goes) must not lock the bucket: it reads without them, logged,
    // so that its owner can still read, rewrite or delete it; the next write replaces them.
    let attrs = item.json("attrs").unwrap_or_else(|e| {
        tracing::error!(error = ?e, "unreadable bucket attributes read as empty");
        Default::default()
    });
    Ok(Bucket {
        id: item.string("id")?,
        generation: item.string("gen")?,
        attrs,
        permissions: item.json("acl")?,
        owner: item.string("owner")?,
        // Items written before `by` was kept: their owner stands in.
        modified_by: item.opt_string("by")?.unwrap_or(item.string("owner")?),
        created: number("created")?,
        last_modified: number("last_modified")?,
        revision: number("revision")?,
        file_count: number("file_count")?,
        total_bytes: number("total_bytes")?,
    })
}

impl DynamoStore {
    /// A transaction item that holds only while incarnation `generation` of bucket `id` is
    /// live: nothing is written under a deleted incarnation (its cascade would miss it).
    pub(super) fn live_check(&self, id: &str, generation: &str) -> TransactWriteItem {
        TransactWriteItem::builder()
            .condition_check(
                ConditionCheck::builder()
                    .table_name(&self.table)
                    .set_key(Some(keys::bucket(id)))
                    .condition_expression("gen = :gen")
                    .expression_attribute_values(":gen", s(generation))
                    .build()
                    .expect("table, key and condition set"),
            )
            .build()
    }

    fn put_index(&self, listing: &str, id: &str) -> TransactWriteItem {
        let mut item = keys::listing_entry(listing, id);
        item.insert("bucket".into(), s(id));
        self.put_tx(item)
    }

    fn delete_index(&self, listing: &str, id: &str) -> TransactWriteItem {
        self.delete_tx(keys::listing_entry(listing, id))
    }

    /// Writes `main` (the bucket change, which carries the condition) with `before` and `after`
    /// index items: all in one transaction when they fit; else `before`, then `main`, then
    /// `after`, so that a crash leaves extra entries (filtered on read), never missing ones.
    async fn write_with_index(
        &self,
        main: Vec<TransactWriteItem>,
        before: Vec<TransactWriteItem>,
        after: Vec<TransactWriteItem>,
    ) -> Result<(), StoreError> {
        if main.len() + before.len() + after.len() <= MAX_TRANSACTION_ITEMS {
            let mut all = main;
            all.extend(before);
            all.extend(after);
            return self.transact(all).await;
        }
        self.transact_chunks(before).await?;
        self.transact(main).await?;
        self.transact_chunks(after).await
    }

    async fn query_index(
        &self,
        listing: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<String>, bool), StoreError> {
        let (items, cut_short) = self.query_after(listing, after, limit, Some("sk")).await?;
        let ids = items
            .iter()
            .map(|i| i.string("sk"))
            .collect::<Result<_, _>>()?;
        Ok((ids, cut_short))
    }

    async fn batch_get(&self, ids: &[String]) -> Result<Vec<Bucket>, StoreError> {
        let items = self
            .batch_get_items(ids.iter().map(|id| keys::bucket(id)).collect(), None)
            .await?;
        // One unreadable bucket never fails a page for every caller: skipped and logged.
        let mut found: Vec<Bucket> = items
            .iter()
            .filter_map(|item| match from_item(item) {
                Ok(bucket) => Some(bucket),
                Err(e) => {
                    tracing::error!(error = ?e, "unreadable bucket skipped in a listing");
                    None
                }
            })
            .collect();
        found.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(found)
    }
}

impl BucketStore for DynamoStore {
    async fn get(&self, id: &str) -> Result<Option<Bucket>, StoreError> {
        self.get_item(keys::bucket(id))
            .await?
            .as_ref()
            .map(from_item)
            .transpose()
    }

    async fn create(&self, bucket: &Bucket) -> Result<(), StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(to_item(bucket)))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .expect("table and item set");
        let main = vec![
            TransactWriteItem::builder().put(put).build(),
            self.put_index(ALL_LISTING, &bucket.id),
        ];
        let before = bucket
            .permissions
            .all_principals()
            .iter()
            .map(|p| self.put_index(&keys::principal_listing(p), &bucket.id))
            .collect();
        self.write_with_index(main, before, vec![]).await
    }

    async fn update(&self, old: &Bucket, new: &Bucket) -> Result<(), StoreError> {
        // Update, not Put: the file counters on the item are not ours to overwrite.
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(keys::bucket(&new.id)))
            .update_expression(
                "SET attrs = :attrs, active = :active, acl = :acl, revision = :rev, \
                 last_modified = :lm, #by = :by",
            )
            .condition_expression("revision = :old_rev AND gen = :gen")
            .expression_attribute_values(":attrs", json(&new.attrs))
            .expression_attribute_values(":active", AttributeValue::Bool(new.is_active()))
            .expression_attribute_values(":acl", json(&new.permissions))
            .expression_attribute_values(":rev", n(new.revision))
            .expression_attribute_values(":lm", n(new.last_modified))
            // Who made this revision: the history's `user_id` of the update (`by` is a
            // reserved word of DynamoDB's expressions).
            .expression_attribute_names("#by", "by")
            .expression_attribute_values(":by", s(&new.modified_by))
            .expression_attribute_values(":old_rev", n(old.revision))
            .expression_attribute_values(":gen", s(&old.generation))
            .build()
            .expect("table, key and expression set");
        let old_set: BTreeSet<String> = old.permissions.all_principals().into_iter().collect();
        let new_set: BTreeSet<String> = new.permissions.all_principals().into_iter().collect();
        let added = new_set
            .difference(&old_set)
            .map(|p| self.put_index(&keys::principal_listing(p), &new.id))
            .collect();
        let removed = old_set
            .difference(&new_set)
            .map(|p| self.delete_index(&keys::principal_listing(p), &new.id))
            .collect();
        self.write_with_index(
            vec![TransactWriteItem::builder().update(update).build()],
            added,
            removed,
        )
        .await
    }

    async fn delete(&self, bucket: &Bucket, deleted_at: i64) -> Result<(), StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(keys::bucket(&bucket.id)))
            .condition_expression("revision = :rev AND gen = :gen")
            .expression_attribute_values(":rev", n(bucket.revision))
            .expression_attribute_values(":gen", s(&bucket.generation))
            .build()
            .expect("table, key and condition set");
        let principals = bucket.permissions.all_principals();
        // Deletion, marker and the ALL entry: 3 items, then one per principal. When they do not
        // fit one transaction the principals' entries are removed after the bucket, and a crash
        // in between would leave them: the marker then names them for the cascade.
        let staged = 3 + principals.len() > MAX_TRANSACTION_ITEMS;
        let stale_index = if staged { principals.clone() } else { vec![] };
        let marker = Marker::for_bucket(&bucket.id, &bucket.generation, stale_index, deleted_at);
        let main = vec![
            TransactWriteItem::builder().delete(delete).build(),
            self.put_marker(&marker, deleted_at),
            self.delete_index(ALL_LISTING, &bucket.id),
        ];
        let after = principals
            .iter()
            .map(|p| self.delete_index(&keys::principal_listing(p), &bucket.id))
            .collect();
        self.write_with_index(main, vec![], after).await
    }

    async fn list(
        &self,
        scope: &ListScope,
        after: Option<&str>,
        limit: usize,
    ) -> Result<BucketPage, StoreError> {
        let (listings, principals): (Vec<String>, Option<&Vec<String>>) = match scope {
            ListScope::All => (vec![ALL_LISTING.to_string()], None),
            ListScope::Principals(ps) => (
                ps.iter().map(|p| keys::principal_listing(p)).collect(),
                Some(ps),
            ),
        };
        // One query per partition, merged: each gives its first limit+1 ids after `after`, so
        // the union holds the first limit+1 ids overall, unless a partition stopped early (1 MB),
        // in which case nothing beyond its last id is certain.
        let queries = listings
            .iter()
            .map(|pk| self.query_index(pk, after, limit + 1));
        let results = futures_util::future::try_join_all(queries).await?;
        let mut ids = BTreeSet::new();
        let mut frontier: Option<String> = None;
        for (part_ids, truncated) in results {
            if truncated
                && part_ids.len() <= limit
                && let Some(last) = part_ids.last()
                && frontier.as_ref().is_none_or(|f| last < f)
            {
                frontier = Some(last.clone());
            }
            ids.extend(part_ids);
        }
        let mut candidates: Vec<String> = ids
            .into_iter()
            .filter(|id| frontier.as_ref().is_none_or(|f| id <= f))
            .collect();
        let has_more = candidates.len() > limit || frontier.is_some();
        candidates.truncate(limit);
        let last_key = candidates.last().cloned();
        let mut buckets = self.batch_get(&candidates).await?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::permissions::Permissions;
    use serde_json::{Map, json};

    fn sample() -> Bucket {
        let mut attrs = Map::new();
        attrs.insert("title".into(), json!("T"));
        Bucket {
            id: "b1".into(),
            generation: "g1".into(),
            attrs,
            permissions: Permissions {
                read: vec!["system.Everyone".into()],
                write: vec!["user:a".into()],
            },
            owner: "user:a".into(),
            modified_by: "user:a".into(),
            created: 1,
            last_modified: 2,
            revision: 3,
            file_count: 4,
            total_bytes: 5,
        }
    }

    #[test]
    fn items_round_trip() {
        let b = sample();
        let item = to_item(&b);
        assert_eq!(item["pk"], s("B#b1"));
        assert_eq!(from_item(&item).unwrap(), b);
    }

    #[test]
    fn unreadable_attributes_do_not_lock_the_bucket() {
        let b = sample();
        let deep = |levels: usize| format!("{}1{}", "{\"a\":".repeat(levels), "}".repeat(levels));
        // Legacy attributes deeper than serde_json's default limit still read.
        let mut item = to_item(&b);
        item.insert("attrs".into(), s(deep(300)));
        let read = from_item(&item).unwrap();
        assert_eq!(super::super::item::READ_MAX_DEPTH, 512);
        assert!(read.attrs.contains_key("a"));
        // Deeper than the reader goes, or not JSON: the bucket reads without them.
        for bad in [deep(100_000), "{".to_string()] {
            item.insert("attrs".into(), s(bad.clone()));
            let read = from_item(&item).unwrap();
            assert!(read.attrs.is_empty());
            assert_eq!(read.permissions, b.permissions);
        }
    }

    #[test]
    fn absent_numbers_read_as_zero() {
        let b = Bucket {
            created: 0,
            last_modified: 0,
            revision: 0,
            file_count: 0,
            total_bytes: 0,
            ..sample()
        };
        let mut item = to_item(&b);
        for k in [
            "created",
            "last_modified",
            "revision",
            "file_count",
            "total_bytes",
        ] {
            item.remove(k);
        }
        assert_eq!(from_item(&item).unwrap(), b);
        item.remove("owner");
        assert!(from_item(&item).is_err(), "strings are required");
    }
}
