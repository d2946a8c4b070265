//! File records, upload grants and rejections in the table:
//!
//! | item | pk | sk |
//! |---|---|---|
//! | file record | `F#<id>#<generation>` | `<name>` |
//! | upload grant (expires by TTL) | `U#<id>#<generation>` | `<upload id>` |
//! | upload rejection (expires by TTL) | `R#<id>#<generation>` | `<upload id>` |

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};

use super::{DynamoStore, Item, classify, n, s};
use crate::domain::cascade::{Job, Marker, file_marker_key};
use crate::domain::files::{FileRecord, Grant};
use crate::domain::time::now_ms;
use crate::ports::{FilePage, FileStore, Rejection, StoreError};

/// Grants and rejections stay readable this long after they stop mattering.
const GRANT_KEEP_SECS: i64 = 7 * 24 * 3600;
const REJECTION_KEEP_SECS: i64 = 30 * 24 * 3600;

fn key(prefix: &str, id: &str, generation: &str, sk: &str) -> Item {
    HashMap::from([
        ("pk".into(), s(format!("{prefix}#{id}#{generation}"))),
        ("sk".into(), s(sk)),
    ])
}

fn text(item: &Item, k: &str) -> Option<String> {
    match item.get(k) {
        Some(AttributeValue::S(v)) => Some(v.clone()),
        _ => None,
    }
}

fn num(item: &Item, k: &str) -> Option<i64> {
    match item.get(k) {
        Some(AttributeValue::N(v)) => v.parse().ok(),
        _ => None,
    }
}

fn need<T>(v: Option<T>, what: &str) -> Result<T, StoreError> {
    v.ok_or_else(|| StoreError::Other(format!("item lacks {what}")))
}

fn record_item(id: &str, generation: &str, r: &FileRecord) -> Item {
    let mut item = key("F", id, generation, &r.name);
    item.insert("size".into(), n(r.size as i64));
    item.insert("content_type".into(), s(&r.content_type));
    item.insert("etag".into(), s(&r.etag));
    if let Some(sha) = &r.sha256 {
        item.insert("sha256".into(), s(sha));
    }
    item.insert("modified".into(), n(r.modified));
    item.insert("uploaded_by".into(), s(&r.uploaded_by));
    item.insert("hash".into(), s(&r.hash));
    item.insert("object_key".into(), s(&r.object_key));
    item.insert("upload_id".into(), s(&r.upload_id));
    if let Some(prev) = &r.prev_key {
        item.insert("prev_key".into(), s(prev));
    }
    item
}

fn record_from(item: &Item) -> Result<FileRecord, StoreError> {
    Ok(FileRecord {
        name: need(text(item, "sk"), "sk")?,
        size: need(num(item, "size"), "size")?.max(0) as u64,
        content_type: need(text(item, "content_type"), "content_type")?,
        etag: text(item, "etag").unwrap_or_default(),
        sha256: text(item, "sha256"),
        modified: num(item, "modified").unwrap_or(0),
        uploaded_by: text(item, "uploaded_by").unwrap_or_default(),
        hash: need(text(item, "hash"), "hash")?,
        object_key: need(text(item, "object_key"), "object_key")?,
        upload_id: text(item, "upload_id").unwrap_or_default(),
        prev_key: text(item, "prev_key"),
    })
}

fn grant_item(id: &str, generation: &str, g: &Grant) -> Item {
    let mut item = key("U", id, generation, &g.upload_id);
    item.insert("name".into(), s(&g.name));
    item.insert("size".into(), n(g.size as i64));
    item.insert("content_type".into(), s(&g.content_type));
    if let Some(sha) = &g.sha256 {
        item.insert("sha256".into(), s(sha));
    }
    item.insert("uploaded_by".into(), s(&g.uploaded_by));
    item.insert("expires_at".into(), n(g.expires_at));
    item.insert("ttl".into(), n(g.expires_at / 1000 + GRANT_KEEP_SECS));
    item
}

fn grant_from(item: &Item) -> Result<Grant, StoreError> {
    Ok(Grant {
        upload_id: need(text(item, "sk"), "sk")?,
        name: need(text(item, "name"), "name")?,
        size: need(num(item, "size"), "size")?.max(0) as u64,
        content_type: need(text(item, "content_type"), "content_type")?,
        sha256: text(item, "sha256"),
        uploaded_by: text(item, "uploaded_by").unwrap_or_default(),
        expires_at: num(item, "expires_at").unwrap_or(0),
        recorded: matches!(item.get("recorded"), Some(AttributeValue::Bool(true))),
    })
}

impl DynamoStore {
    pub(super) async fn get_item(&self, key: Item) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        Ok(out.item)
    }
}

impl FileStore for DynamoStore {
    async fn get_file(
        &self,
        id: &str,
        generation: &str,
        name: &str,
    ) -> Result<Option<FileRecord>, StoreError> {
        self.get_item(key("F", id, generation, name))
            .await?
            .as_ref()
            .map(record_from)
            .transpose()
    }

    async fn list_files(
        &self,
        id: &str,
        generation: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<FilePage, StoreError> {
        let pk = format!("F#{id}#{generation}");
        let (items, stopped) = self.query_after(&pk, after, limit + 1, None).await?;
        let mut files = items
            .iter()
            .map(record_from)
            .collect::<Result<Vec<_>, _>>()?;
        let cut_short = stopped && files.len() <= limit;
        let has_more = files.len() > limit || cut_short;
        files.truncate(limit);
        Ok(FilePage { files, has_more })
    }

    async fn existing_names(
        &self,
        id: &str,
        generation: &str,
        names: &[String],
    ) -> Result<Vec<String>, StoreError> {
        let keys = names
            .iter()
            .map(|name| key("F", id, generation, name))
            .collect();
        let items = self.batch_get_items(keys, Some("sk")).await?;
        Ok(items.iter().filter_map(|i| text(i, "sk")).collect())
    }

    async fn put_grants(
        &self,
        id: &str,
        generation: &str,
        grants: &[Grant],
    ) -> Result<(), StoreError> {
        // No grant under a deleted incarnation: its cascade may have passed already.
        for chunk in grants.chunks(super::MAX_TRANSACTION_ITEMS - 1) {
            let mut items = vec![self.live_check(id, generation)];
            items.extend(chunk.iter().map(|g| {
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(grant_item(id, generation, g)))
                    .build()
                    .expect("table and item set");
                TransactWriteItem::builder().put(put).build()
            }));
            self.transact(items).await?;
        }
        Ok(())
    }

    async fn get_grant(
        &self,
        id: &str,
        generation: &str,
        upload_id: &str,
    ) -> Result<Option<Grant>, StoreError> {
        self.get_item(key("U", id, generation, upload_id))
            .await?
            .as_ref()
            .map(grant_from)
            .transpose()
    }

    async fn record_upload(
        &self,
        id: &str,
        generation: &str,
        record: &FileRecord,
        previous: Option<&FileRecord>,
        max_files: u64,
    ) -> Result<(), StoreError> {
        let mut put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(record_item(id, generation, record)));
        put = match previous {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some(prev) => put
                .condition_expression("object_key = :prev")
                .expression_attribute_values(":prev", s(&prev.object_key)),
        };
        let spend = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key("U", id, generation, &record.upload_id)))
            .update_expression("SET recorded = :yes")
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(recorded) OR recorded = :no)",
            )
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .expression_attribute_values(":no", AttributeValue::Bool(false))
            .build()
            .expect("table, key and expression set");
        let mut counters = Update::builder()
            .table_name(&self.table)
            .set_key(Some(super::bucket_key(id)))
            .expression_attribute_values(":gen", s(generation));
        counters = match previous {
            None => counters
                .update_expression("ADD file_count :one, total_bytes :size")
                .condition_expression("gen = :gen AND file_count < :max")
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":size", n(record.size as i64))
                .expression_attribute_values(
                    ":max",
                    n(i64::try_from(max_files).unwrap_or(i64::MAX)),
                ),
            Some(prev) => counters
                .update_expression("ADD total_bytes :delta")
                .condition_expression("gen = :gen")
                .expression_attribute_values(":delta", n(record.size as i64 - prev.size as i64)),
        };
        self.transact(vec![
            TransactWriteItem::builder()
                .put(put.build().expect("table and item set"))
                .build(),
            TransactWriteItem::builder().update(spend).build(),
            TransactWriteItem::builder()
                .update(counters.build().expect("table, key and expression set"))
                .build(),
        ])
        .await
    }

    async fn clear_prev_key(
        &self,
        id: &str,
        generation: &str,
        name: &str,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key("F", id, generation, name)))
            .update_expression("REMOVE prev_key")
            .condition_expression("attribute_exists(pk)")
            .send()
            .await;
        match result.map_err(classify) {
            Ok(_) | Err(StoreError::Conflict) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn delete_file(
        &self,
        id: &str,
        generation: &str,
        record: &FileRecord,
    ) -> Result<(), StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key("F", id, generation, &record.name)))
            .condition_expression("object_key = :key")
            .expression_attribute_values(":key", s(&record.object_key))
            .build()
            .expect("table, key and condition set");
        let counters = Update::builder()
            .table_name(&self.table)
            .set_key(Some(super::bucket_key(id)))
            .update_expression("ADD file_count :minus_one, total_bytes :minus_size")
            .condition_expression("gen = :gen")
            .expression_attribute_values(":gen", s(generation))
            .expression_attribute_values(":minus_one", n(-1))
            .expression_attribute_values(":minus_size", n(-(record.size as i64)))
            .build()
            .expect("table, key and expression set");
        let marker = Marker {
            key: file_marker_key(id, generation, &record.upload_id),
            job: Job::Objects {
                keys: std::iter::once(&record.object_key)
                    .chain(record.prev_key.as_ref())
                    .cloned()
                    .collect(),
            },
            passes: 0,
            tally: Default::default(),
            updated: now_ms(),
        };
        self.transact(vec![
            TransactWriteItem::builder().delete(delete).build(),
            TransactWriteItem::builder().update(counters).build(),
            super::cascade::put_marker(&self.table, &marker, marker.updated),
        ])
        .await
    }

    async fn put_rejection(
        &self,
        id: &str,
        generation: &str,
        r: &Rejection,
    ) -> Result<(), StoreError> {
        let mut item = key("R", id, generation, &r.upload_id);
        item.insert("name".into(), s(&r.name));
        item.insert("reason".into(), s(&r.reason));
        item.insert("at".into(), n(r.at));
        item.insert("ttl".into(), n(r.at / 1000 + REJECTION_KEEP_SECS));
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()
            .expect("table and item set");
        self.transact(vec![
            self.live_check(id, generation),
            TransactWriteItem::builder().put(put).build(),
        ])
        .await
    }

    async fn get_rejection(
        &self,
        id: &str,
        generation: &str,
        upload_id: &str,
    ) -> Result<Option<Rejection>, StoreError> {
        Ok(self
            .get_item(key("R", id, generation, upload_id))
            .await?
            .map(|item| Rejection {
                upload_id: upload_id.to_string(),
                name: text(&item, "name").unwrap_or_default(),
                reason: text(&item, "reason").unwrap_or_default(),
                at: num(&item, "at").unwrap_or(0),
            }))
    }
}
