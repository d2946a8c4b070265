//! The DynamoDB adapter of the bucket store. One table, keys `pk`/`sk`:
//!
//! | item | pk | sk |
//! |---|---|---|
//! | bucket | `B#<id>` | `B` |
//! | listing index, per principal in the ACL | `P#<principal>` | `<id>` |
//! | listing index of all buckets | `ALL` | `<id>` |
//! | pending cascade of a deleted incarnation | `CASCADE` | `<id>#<generation>` |
//!
//! A bucket and its index entries are written in one transaction, so listings never miss a
//! bucket a principal can read. When an ACL change needs more items than one transaction holds,
//! new entries are written before the bucket and stale ones removed after it; listings re-check
//! each bucket's ACL, so a stale entry is never shown.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, KeysAndAttributes, Put, TransactWriteItem, Update,
};

use crate::domain::bucket::Bucket;
use crate::domain::cascade::{Job, Marker, bucket_marker_key};
use crate::domain::permissions::Permissions;
use crate::ports::{BucketPage, BucketStore, ListScope, StoreError};

mod cascade;
mod data;
mod files;

/// DynamoDB's limit of items in one TransactWriteItems.
const MAX_TRANSACTION_ITEMS: usize = 100;
const MAX_BATCH_GET: usize = 100;

type Item = HashMap<String, AttributeValue>;

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: String) -> Self {
        DynamoStore { client, table }
    }
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn bucket_key(id: &str) -> Item {
    HashMap::from([("pk".into(), s(format!("B#{id}"))), ("sk".into(), s("B"))])
}

fn index_pk(principal: &str) -> String {
    format!("P#{principal}")
}

const ALL_PK: &str = "ALL";

fn index_key(pk: &str, id: &str) -> Item {
    HashMap::from([("pk".into(), s(pk)), ("sk".into(), s(id))])
}

fn to_item(b: &Bucket) -> Item {
    let mut item = bucket_key(&b.id);
    item.insert("id".into(), s(&b.id));
    item.insert("gen".into(), s(&b.generation));
    item.insert(
        "attrs".into(),
        s(serde_json::to_string(&b.attrs).unwrap_or_else(|_| "{}".into())),
    );
    item.insert(
        "acl".into(),
        s(serde_json::to_string(&b.permissions).unwrap_or_else(|_| "{}".into())),
    );
    item.insert("owner".into(), s(&b.owner));
    item.insert("created".into(), n(b.created));
    item.insert("last_modified".into(), n(b.last_modified));
    item.insert("revision".into(), n(b.revision));
    item.insert("file_count".into(), n(b.file_count));
    item.insert("total_bytes".into(), n(b.total_bytes));
    item
}

fn from_item(item: &Item) -> Result<Bucket, StoreError> {
    let text = |k: &str| -> Result<String, StoreError> {
        match item.get(k) {
            Some(AttributeValue::S(v)) => Ok(v.clone()),
            _ => Err(StoreError::Other(format!(
                "bucket item lacks string attribute {k}"
            ))),
        }
    };
    let num = |k: &str| -> Result<i64, StoreError> {
        match item.get(k) {
            Some(AttributeValue::N(v)) => v
                .parse()
                .map_err(|_| StoreError::Other(format!("bad number in {k}"))),
            None => Ok(0),
            _ => Err(StoreError::Other(format!(
                "bucket item attribute {k} is not a number"
            ))),
        }
    };
    let json_err =
        |e: serde_json::Error| StoreError::Other(format!("bad JSON in bucket item: {e}"));
    Ok(Bucket {
        id: text("id")?,
        generation: text("gen")?,
        attrs: serde_json::from_str(&text("attrs")?).map_err(json_err)?,
        permissions: serde_json::from_str::<Permissions>(&text("acl")?).map_err(json_err)?,
        owner: text("owner")?,
        created: num("created")?,
        last_modified: num("last_modified")?,
        revision: num("revision")?,
        file_count: num("file_count")?,
        total_bytes: num("total_bytes")?,
    })
}

/// Maps an SDK error: failed conditions are conflicts, throttling and transport trouble are
/// retryable, the rest is a fault.
fn classify<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    match &err {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or_default();
            match code {
                "ConditionalCheckFailedException" | "TransactionConflictException" => {
                    StoreError::Conflict
                }
                "ProvisionedThroughputExceededException"
                | "RequestLimitExceeded"
                | "ThrottlingException"
                | "InternalServerError"
                | "ServiceUnavailable"
                | "TransactionInProgressException" => {
                    StoreError::Unavailable(format!("{code}: {:?}", service.err().message()))
                }
                _ => StoreError::Other(format!("{code}: {:?}", service.err().message())),
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            StoreError::Unavailable(format!("{err:?}"))
        }
        _ => StoreError::Other(format!("{err:?}")),
    }
}

fn classify_transaction<R: std::fmt::Debug>(
    err: SdkError<TransactWriteItemsError, R>,
) -> StoreError {
    if let Some(TransactWriteItemsError::TransactionCanceledException(e)) = err.as_service_error() {
        let codes: Vec<&str> = e
            .cancellation_reasons()
            .iter()
            .filter_map(|r| r.code())
            .collect();
        if codes
            .iter()
            .any(|c| *c == "ConditionalCheckFailed" || *c == "TransactionConflict")
        {
            return StoreError::Conflict;
        }
        if codes
            .iter()
            .any(|c| *c == "ThrottlingError" || *c == "ProvisionedThroughputExceeded")
        {
            return StoreError::Unavailable(format!("transaction throttled: {codes:?}"));
        }
        return StoreError::Other(format!("transaction cancelled: {codes:?}"));
    }
    classify(err)
}

impl DynamoStore {
    fn put_index(&self, pk: &str, id: &str) -> TransactWriteItem {
        let mut item = index_key(pk, id);
        item.insert("bucket".into(), s(id));
        TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .build()
                    .expect("table and item set"),
            )
            .build()
    }

    fn delete_index(&self, pk: &str, id: &str) -> TransactWriteItem {
        TransactWriteItem::builder()
            .delete(
                Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(index_key(pk, id)))
                    .build()
                    .expect("table and key set"),
            )
            .build()
    }

    /// A transaction item that holds only while incarnation `generation` of bucket `id` is
    /// live: nothing is written under a deleted incarnation (its cascade would miss it).
    fn live_check(&self, id: &str, generation: &str) -> TransactWriteItem {
        TransactWriteItem::builder()
            .condition_check(
                ConditionCheck::builder()
                    .table_name(&self.table)
                    .set_key(Some(bucket_key(id)))
                    .condition_expression("gen = :gen")
                    .expression_attribute_values(":gen", s(generation))
                    .build()
                    .expect("table, key and condition set"),
            )
            .build()
    }

    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), StoreError> {
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map(|_| ())
            .map_err(classify_transaction)
    }

    /// Index writes that did not fit the bucket's transaction, in transactions of their own
    /// (each item is idempotent, so a retry of the whole request repairs a partial run).
    async fn transact_chunks(&self, items: Vec<TransactWriteItem>) -> Result<(), StoreError> {
        let mut items = items;
        while !items.is_empty() {
            let rest = items.split_off(items.len().min(MAX_TRANSACTION_ITEMS));
            self.transact(items).await?;
            items = rest;
        }
        Ok(())
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
        pk: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<String>, bool), StoreError> {
        let (items, cut_short) = self.query_after(pk, after, limit, Some("sk")).await?;
        let ids = items
            .iter()
            .filter_map(|i| match i.get("sk") {
                Some(AttributeValue::S(id)) => Some(id.clone()),
                _ => None,
            })
            .collect();
        Ok((ids, cut_short))
    }

    /// Up to `limit` items of partition `pk` with sort keys after `after`, in order (strongly
    /// consistent), and whether DynamoDB stopped with more to read.
    async fn query_after(
        &self,
        pk: &str,
        after: Option<&str>,
        limit: usize,
        projection: Option<&str>,
    ) -> Result<(Vec<Item>, bool), StoreError> {
        let mut q = self
            .client
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .set_projection_expression(projection.map(str::to_string))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .expression_attribute_values(":pk", s(pk));
        q = match after {
            Some(after) => q
                .key_condition_expression("pk = :pk AND sk > :after")
                .expression_attribute_values(":after", s(after)),
            None => q.key_condition_expression("pk = :pk"),
        };
        let out = q.send().await.map_err(classify)?;
        let more = out.last_evaluated_key.is_some();
        Ok((out.items.unwrap_or_default(), more))
    }

    /// Reads `keys` with strongly consistent BatchGetItems of at most 100 keys, retrying
    /// unprocessed keys with backoff. `projection` limits the attributes read.
    async fn batch_get_items(
        &self,
        keys: Vec<Item>,
        projection: Option<&str>,
    ) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(MAX_BATCH_GET) {
            let mut pending = chunk.to_vec();
            let mut attempt = 0u32;
            while !pending.is_empty() {
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(pending))
                    .consistent_read(true)
                    .set_projection_expression(projection.map(str::to_string))
                    .build()
                    .expect("keys set");
                let mut out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(classify)?;
                // Moved out, not cloned: a page of 100 buckets is most of a listing's work.
                if let Some(items) = out.responses.as_mut().and_then(|r| r.remove(&self.table)) {
                    found.extend(items);
                }
                pending = out
                    .unprocessed_keys
                    .as_mut()
                    .and_then(|u| u.remove(&self.table))
                    .map(|k| k.keys)
                    .unwrap_or_default();
                if !pending.is_empty() {
                    attempt += 1;
                    if attempt > 8 {
                        return Err(StoreError::Unavailable(
                            "BatchGetItem kept returning unprocessed keys".into(),
                        ));
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(10 << attempt.min(6)))
                        .await;
                }
            }
        }
        Ok(found)
    }

    async fn batch_get(&self, ids: &[String]) -> Result<Vec<Bucket>, StoreError> {
        let items = self
            .batch_get_items(ids.iter().map(|id| bucket_key(id)).collect(), None)
            .await?;
        let mut found = items.iter().map(from_item).collect::<Result<Vec<_>, _>>()?;
        found.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(found)
    }
}

impl BucketStore for DynamoStore {
    async fn get(&self, id: &str) -> Result<Option<Bucket>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(bucket_key(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        out.item().map(from_item).transpose()
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
            self.put_index(ALL_PK, &bucket.id),
        ];
        let before = bucket
            .permissions
            .all_principals()
            .iter()
            .map(|p| self.put_index(&index_pk(p), &bucket.id))
            .collect();
        self.write_with_index(main, before, vec![]).await
    }

    async fn update(&self, old: &Bucket, new: &Bucket) -> Result<(), StoreError> {
        // Update, not Put: the file counters on the item are not ours to overwrite.
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(bucket_key(&new.id)))
            .update_expression(
                "SET attrs = :attrs, acl = :acl, revision = :rev, last_modified = :lm",
            )
            .condition_expression("revision = :old_rev AND gen = :gen")
            .expression_attribute_values(
                ":attrs",
                s(serde_json::to_string(&new.attrs).unwrap_or_else(|_| "{}".into())),
            )
            .expression_attribute_values(
                ":acl",
                s(serde_json::to_string(&new.permissions).unwrap_or_else(|_| "{}".into())),
            )
            .expression_attribute_values(":rev", n(new.revision))
            .expression_attribute_values(":lm", n(new.last_modified))
            .expression_attribute_values(":old_rev", n(old.revision))
            .expression_attribute_values(":gen", s(&old.generation))
            .build()
            .expect("table, key and expression set");
        let old_set: BTreeSet<String> = old.permissions.all_principals().into_iter().collect();
        let new_set: BTreeSet<String> = new.permissions.all_principals().into_iter().collect();
        let added = new_set
            .difference(&old_set)
            .map(|p| self.put_index(&index_pk(p), &new.id))
            .collect();
        let removed = old_set
            .difference(&new_set)
            .map(|p| self.delete_index(&index_pk(p), &new.id))
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
            .set_key(Some(bucket_key(&bucket.id)))
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
        let marker = Marker {
            key: bucket_marker_key(&bucket.id, &bucket.generation),
            job: Job::Bucket {
                id: bucket.id.clone(),
                generation: bucket.generation.clone(),
                stale_index: if staged { principals.clone() } else { vec![] },
            },
            passes: 0,
            tally: Default::default(),
            updated: deleted_at,
        };
        let main = vec![
            TransactWriteItem::builder().delete(delete).build(),
            cascade::put_marker(&self.table, &marker, deleted_at),
            self.delete_index(ALL_PK, &bucket.id),
        ];
        let after = principals
            .iter()
            .map(|p| self.delete_index(&index_pk(p), &bucket.id))
            .collect();
        self.write_with_index(main, vec![], after).await
    }

    async fn list(
        &self,
        scope: &ListScope,
        after: Option<&str>,
        limit: usize,
    ) -> Result<BucketPage, StoreError> {
        let (partitions, principals): (Vec<String>, Option<&Vec<String>>) = match scope {
            ListScope::All => (vec![ALL_PK.to_string()], None),
            ListScope::Principals(ps) => (ps.iter().map(|p| index_pk(p)).collect(), Some(ps)),
        };
        // One query per partition, merged: each gives its first limit+1 ids after `after`, so
        // the union holds the first limit+1 ids overall, unless a partition stopped early (1 MB),
        // in which case nothing beyond its last id is certain.
        let queries = partitions
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
    use serde_json::{Map, json};

    #[test]
    fn items_round_trip() {
        let mut attrs = Map::new();
        attrs.insert("title".into(), json!("T"));
        let b = Bucket {
            id: "b1".into(),
            generation: "g1".into(),
            attrs,
            permissions: Permissions {
                read: vec!["system.Everyone".into()],
                write: vec!["user:a".into()],
            },
            owner: "user:a".into(),
            created: 1,
            last_modified: 2,
            revision: 3,
            file_count: 4,
            total_bytes: 5,
        };
        let item = to_item(&b);
        assert_eq!(item["pk"], s("B#b1"));
        assert_eq!(from_item(&item).unwrap(), b);
    }
}
