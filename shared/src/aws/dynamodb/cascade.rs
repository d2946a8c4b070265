//! Delete-cascade markers and item purging in the table:
//!
//! | item | pk | sk |
//! |---|---|---|
//! | pending cascade of a deleted bucket incarnation | `CASCADE` | `<id>#<generation>` |
//! | pending cascade of a deleted file's objects | `CASCADE` | `<id>#<generation>#<upload id>` |
//!
//! A marker is written in the transaction that deletes what it describes; its stream record
//! (INSERT, and MODIFY for each saved pass or replay) triggers the cascade function.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, DeleteRequest, Put, TransactWriteItem, WriteRequest,
};

use super::{ALL_PK, DynamoStore, Item, bucket_key, classify, index_key, index_pk, n, s};
use crate::domain::cascade::{Job, Marker, Tally};
use crate::domain::time::now_ms;
use crate::ports::{CascadeStore, ItemKey, ItemSet, KeyPage, StoreError};

pub(super) const MARKER_PK: &str = "CASCADE";

/// The partitions of a bucket incarnation (`<prefix>#<id>#<generation>`): data, file records,
/// grants, rejections.
const INCARNATION_PARTITIONS: [&str; 4] = ["D", "F", "U", "R"];

fn marker_key(key: &str) -> Item {
    index_key(MARKER_PK, key)
}

fn string_list(values: &[String]) -> AttributeValue {
    AttributeValue::L(values.iter().map(s).collect())
}

fn strings(item: &Item, k: &str) -> Vec<String> {
    match item.get(k) {
        Some(AttributeValue::L(list)) => {
            list.iter().filter_map(|v| v.as_s().ok().cloned()).collect()
        }
        _ => vec![],
    }
}

/// The marker item of `marker` (a new one: no passes yet).
pub(super) fn marker_item(marker: &Marker, deleted_at: i64) -> Item {
    let mut item = marker_key(&marker.key);
    item.insert("deleted_at".into(), n(deleted_at));
    item.insert("updated".into(), n(marker.updated));
    item.insert("passes".into(), n(marker.passes as i64));
    match &marker.job {
        Job::Bucket {
            id,
            generation,
            stale_index,
        } => {
            item.insert("kind".into(), s("bucket"));
            item.insert("id".into(), s(id));
            item.insert("gen".into(), s(generation));
            if !stale_index.is_empty() {
                item.insert("stale_index".into(), string_list(stale_index));
            }
        }
        Job::Objects { keys } => {
            item.insert("kind".into(), s("objects"));
            item.insert("keys".into(), string_list(keys));
        }
    }
    item
}

/// A Put of a new marker, for the transaction that deletes what it describes.
pub(super) fn put_marker(table: &str, marker: &Marker, deleted_at: i64) -> TransactWriteItem {
    TransactWriteItem::builder()
        .put(
            Put::builder()
                .table_name(table)
                .set_item(Some(marker_item(marker, deleted_at)))
                .build()
                .expect("table and item set"),
        )
        .build()
}

fn marker_from(item: &Item) -> Result<Marker, StoreError> {
    let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
    let key = text("sk").ok_or_else(|| StoreError::Other("marker lacks sk".into()))?;
    let job = match text("kind").as_deref() {
        Some("objects") => Job::Objects {
            keys: strings(item, "keys"),
        },
        _ => Job::Bucket {
            id: text("id").ok_or_else(|| StoreError::Other(format!("marker {key} lacks id")))?,
            generation: text("gen")
                .ok_or_else(|| StoreError::Other(format!("marker {key} lacks gen")))?,
            stale_index: strings(item, "stale_index"),
        },
    };
    let number = |k: &str| {
        item.get(k)
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let tally = text("tally")
        .and_then(|t| serde_json::from_str::<Tally>(&t).ok())
        .unwrap_or_default();
    Ok(Marker {
        key,
        job,
        passes: number("passes").max(0) as u64,
        tally,
        updated: number("updated"),
    })
}

fn item_key(item: &Item) -> Option<ItemKey> {
    Some(ItemKey {
        pk: item.get("pk")?.as_s().ok()?.clone(),
        sk: item.get("sk")?.as_s().ok()?.clone(),
    })
}

fn key_item(key: &ItemKey) -> Item {
    HashMap::from([("pk".into(), s(&key.pk)), ("sk".into(), s(&key.sk))])
}

impl CascadeStore for DynamoStore {
    async fn get_marker(&self, key: &str) -> Result<Option<Marker>, StoreError> {
        self.get_item(marker_key(key))
            .await?
            .as_ref()
            .map(marker_from)
            .transpose()
    }

    async fn save_pass(&self, marker: &Marker) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(marker_key(&marker.key)))
            .update_expression("SET passes = :p, tally = :t, updated = :now")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":now", n(now_ms()))
            .expression_attribute_values(":p", n(marker.passes as i64))
            .expression_attribute_values(
                ":t",
                s(serde_json::to_string(&marker.tally).unwrap_or_default()),
            )
            .send()
            .await;
        match result.map_err(classify) {
            // Gone: another run finished it.
            Ok(_) | Err(StoreError::Conflict) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn delete_marker(&self, key: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(marker_key(key)))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn list_markers(
        &self,
        after: Option<&str>,
        limit: usize,
        idle_since: Option<i64>,
    ) -> Result<(Vec<String>, bool), StoreError> {
        let (items, more) = self
            .query_after(MARKER_PK, after, limit, Some("sk, updated"))
            .await?;
        // Markers are few (each goes when its cascade ends), so they are filtered here rather
        // than with a FilterExpression (whose pages can come back empty).
        let idle = |i: &Item| {
            let updated = i
                .get("updated")
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse::<i64>().ok());
            idle_since.is_none_or(|since| updated.is_none_or(|u| u < since))
        };
        let keys = items
            .iter()
            .filter(|i| idle(i))
            .filter_map(|i| i.get("sk").and_then(|v| v.as_s().ok()).cloned())
            .collect();
        Ok((keys, more))
    }

    async fn touch_marker(&self, key: &str) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(marker_key(key)))
            .update_expression("SET replayed_at = :now, updated = :now")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":now", n(now_ms()))
            .send()
            .await;
        match result.map_err(classify) {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn incarnation_items(&self, id: &str, generation: &str) -> Vec<ItemSet> {
        let mut sets: Vec<ItemSet> = INCARNATION_PARTITIONS
            .iter()
            .map(|p| ItemSet {
                pk: format!("{p}#{id}#{generation}"),
                sk_prefix: None,
            })
            .collect();
        // The markers of files deleted in this incarnation (their objects are under its prefix).
        sets.push(ItemSet {
            pk: MARKER_PK.into(),
            sk_prefix: Some(format!("{id}#{generation}#")),
        });
        sets
    }

    async fn item_keys(
        &self,
        set: &ItemSet,
        after: Option<ItemKey>,
        limit: usize,
    ) -> Result<KeyPage, StoreError> {
        let mut q = self
            .client
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .projection_expression("pk, sk")
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .expression_attribute_values(":pk", s(&set.pk))
            .set_exclusive_start_key(after.as_ref().map(key_item));
        q = match &set.sk_prefix {
            Some(prefix) => q
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":prefix", s(prefix)),
            None => q.key_condition_expression("pk = :pk"),
        };
        let out = q.send().await.map_err(classify)?;
        Ok(KeyPage {
            keys: out.items().iter().filter_map(item_key).collect(),
            last: out.last_evaluated_key().and_then(item_key),
        })
    }

    async fn delete_items(&self, keys: &[ItemKey]) -> Result<Vec<ItemKey>, StoreError> {
        if keys.is_empty() {
            return Ok(vec![]);
        }
        let requests = keys
            .iter()
            .map(|k| {
                WriteRequest::builder()
                    .delete_request(
                        DeleteRequest::builder()
                            .set_key(Some(key_item(k)))
                            .build()
                            .expect("key set"),
                    )
                    .build()
            })
            .collect();
        let out = self
            .client
            .batch_write_item()
            .request_items(&self.table, requests)
            .send()
            .await
            .map_err(classify)?;
        Ok(out
            .unprocessed_items()
            .and_then(|u| u.get(&self.table))
            .map(|reqs| {
                reqs.iter()
                    .filter_map(|r| r.delete_request().and_then(|d| item_key(d.key())))
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn delete_stale_index(&self, id: &str, principals: &[String]) -> Result<u64, StoreError> {
        // Each transaction checks that no bucket with this id exists (a re-created bucket's
        // entries share these keys); 99 deletions + that check fill one transaction.
        let mut keys: Vec<Item> = principals
            .iter()
            .map(|p| index_key(&index_pk(p), id))
            .collect();
        keys.push(index_key(ALL_PK, id));
        let mut calls = 0;
        for chunk in keys.chunks(super::MAX_TRANSACTION_ITEMS - 1) {
            let absent = ConditionCheck::builder()
                .table_name(&self.table)
                .set_key(Some(bucket_key(id)))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .expect("table, key and condition set");
            let mut items = vec![TransactWriteItem::builder().condition_check(absent).build()];
            items.extend(chunk.iter().map(|k| {
                TransactWriteItem::builder()
                    .delete(
                        Delete::builder()
                            .table_name(&self.table)
                            .set_key(Some(k.clone()))
                            .build()
                            .expect("table and key set"),
                    )
                    .build()
            }));
            calls += 1;
            match self.transact(items).await {
                Ok(()) => {}
                // The bucket exists again: what is there is the new bucket's.
                Err(StoreError::Conflict) => return Ok(calls),
                Err(e) => return Err(e),
            }
        }
        Ok(calls)
    }
}
