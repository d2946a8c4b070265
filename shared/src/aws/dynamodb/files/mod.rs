//! File records, kept versions, upload grants and rejections (`F#`, `V#`, `U#` and `R#`
//! partitions of an incarnation; see `keys`).

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};

use super::item::ItemExt;
use super::keys::{self, Partition};
use super::{DynamoStore, Item, MAX_TRANSACTION_ITEMS, n, s};
use crate::domain::cascade::Marker;
use crate::domain::files::{FileRecord, Grant, KeptVersion, ObjectVersion};
use crate::domain::time::now_ms;
use crate::ports::{FilePage, FileStore, KeptPage, Rejection, Room, StoreError};

mod items;

use items::{grant_from, grant_item, kept_from, kept_item};
pub(super) use items::{record_from, record_item, rejection_from, rejection_item};

impl FileStore for DynamoStore {
    async fn get_file(
        &self,
        id: &str,
        generation: &str,
        name: &str,
    ) -> Result<Option<FileRecord>, StoreError> {
        self.get_item(Partition::Files.item(id, generation, name))
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
        let pk = Partition::Files.of(id, generation);
        let (items, stopped) = self.query_after(&pk, after, limit + 1, None).await?;
        let cut_short = stopped && items.len() <= limit;
        let has_more = items.len() > limit || cut_short;
        let looked_at = &items[..items.len().min(limit)];
        let last_key = looked_at.last().map(|i| i.string("sk")).transpose()?;
        // One unreadable record never fails the page: it is skipped and logged.
        let files = looked_at
            .iter()
            .filter_map(|item| match record_from(item) {
                Ok(record) => Some(record),
                Err(e) => {
                    tracing::error!(error = ?e, "unreadable file record skipped in a listing");
                    None
                }
            })
            .collect();
        Ok(FilePage {
            files,
            has_more,
            last_key,
        })
    }

    async fn existing_sizes(
        &self,
        id: &str,
        generation: &str,
        names: &[String],
    ) -> Result<Vec<(String, u64)>, StoreError> {
        // BatchGetItem refuses a key named twice.
        let mut unique: Vec<&String> = Vec::with_capacity(names.len());
        for name in names {
            if !unique.contains(&name) {
                unique.push(name);
            }
        }
        let keys = unique
            .into_iter()
            .map(|name| Partition::Files.item(id, generation, name))
            .collect();
        // Whole items: `size` is a reserved word, which a projection would have to alias, and
        // a record is a few hundred bytes.
        let items = self.batch_get_items(keys, None).await?;
        items
            .iter()
            .map(|i| Ok((i.string("sk")?, i.number("size")?.max(0) as u64)))
            .collect()
    }

    async fn put_grants(
        &self,
        id: &str,
        generation: &str,
        grants: &[Grant],
    ) -> Result<(), StoreError> {
        // No grant under a deleted incarnation: its cascade may have passed already.
        for chunk in grants.chunks(MAX_TRANSACTION_ITEMS - 1) {
            let mut items = vec![self.live_check(id, generation)];
            items.extend(
                chunk
                    .iter()
                    .map(|g| self.put_tx(grant_item(id, generation, g))),
            );
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
        self.get_item(Partition::Grants.item(id, generation, upload_id))
            .await?
            .as_ref()
            .map(grant_from)
            .transpose()
    }

    async fn delete_grants(
        &self,
        id: &str,
        generation: &str,
        upload_ids: &[String],
    ) -> Result<(), StoreError> {
        // Unconditional deletes: a grant already gone is what was wanted.
        let items = upload_ids
            .iter()
            .map(|u| self.delete_tx(Partition::Grants.item(id, generation, u)))
            .collect();
        self.transact_chunks(items).await
    }

    async fn withdraw_grant(
        &self,
        id: &str,
        generation: &str,
        upload_id: &str,
    ) -> Result<(), StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(Partition::Grants.item(id, generation, upload_id)))
            .condition_expression("attribute_not_exists(recorded) OR recorded = :no")
            .expression_attribute_values(":no", AttributeValue::Bool(false))
            .build()
            .expect("table, key and condition set");
        self.transact(vec![TransactWriteItem::builder().delete(delete).build()])
            .await
    }

    async fn record_upload(
        &self,
        id: &str,
        generation: &str,
        record: &FileRecord,
        previous: Option<&FileRecord>,
        kept: Option<&KeptVersion>,
        room: &Room,
    ) -> Result<(), StoreError> {
        let mut put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(record_item(id, generation, record)));
        put = match previous {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some(prev) => put
                .condition_expression("version_id = :prev")
                .expression_attribute_values(":prev", s(&prev.version_id)),
        };
        let grant = Partition::Grants.item(id, generation, &record.upload_id);
        let spend = Update::builder()
            .table_name(&self.table)
            .set_key(Some(grant))
            .update_expression("SET recorded = :yes")
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(recorded) OR recorded = :no)",
            )
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .expression_attribute_values(":no", AttributeValue::Bool(false))
            .build()
            .expect("table, key and expression set");
        // The room is checked on the bucket item in the same transaction that moves its
        // counters: however many uploads race, the bucket never ends past its file count or
        // byte quota (`Room`). Conditions have no arithmetic, so the quota is `total_bytes <=
        // max_bytes - delta`, computed here (`Room::bytes_room`, as the memory store).
        let delta = record.size as i64 - previous.map_or(0, |p| p.size as i64);
        let mut condition = String::from("gen = :gen");
        let mut counters = Update::builder()
            .table_name(&self.table)
            .set_key(Some(keys::bucket(id)))
            .expression_attribute_values(":gen", s(generation));
        counters = match previous {
            None => {
                condition.push_str(" AND file_count < :max");
                counters
                    .update_expression("ADD file_count :one, total_bytes :delta")
                    .expression_attribute_values(":one", n(1))
                    .expression_attribute_values(
                        ":max",
                        n(i64::try_from(room.max_files).unwrap_or(i64::MAX)),
                    )
            }
            Some(_) => counters.update_expression("ADD total_bytes :delta"),
        }
        .expression_attribute_values(":delta", n(delta));
        if let Some(bytes_room) = room.bytes_room(delta) {
            condition.push_str(" AND total_bytes <= :room");
            counters = counters.expression_attribute_values(":room", n(bytes_room));
        }
        if let Some(revision) = room.revision {
            condition.push_str(" AND revision = :rev");
            counters = counters.expression_attribute_values(":rev", n(revision));
        }
        let counters = counters.condition_expression(condition);
        let mut items = vec![
            TransactWriteItem::builder()
                .put(put.build().expect("table and item set"))
                .build(),
            TransactWriteItem::builder().update(spend).build(),
            TransactWriteItem::builder()
                .update(counters.build().expect("table, key and expression set"))
                .build(),
        ];
        // The replaced version is kept in the same write: no version is ever unaccounted for.
        items.extend(kept.map(|k| self.put_tx(kept_item(id, generation, k))));
        self.transact(items).await
    }

    async fn list_kept_versions(
        &self,
        id: &str,
        generation: &str,
        file: &FileRecord,
        after: Option<&str>,
        limit: usize,
    ) -> Result<KeptPage, StoreError> {
        let pk = Partition::KeptVersions.of(id, generation);
        let prefix = keys::kept_versions_of(&file.name, &file.hash);
        let start = match after {
            Some(version) => keys::kept_version(&file.name, &file.hash, version),
            None => prefix.clone(),
        };
        // The file's versions are contiguous after `start`: read one more than a page and stop
        // at the first item of another file.
        let (items, stopped) = self.query_after(&pk, Some(&start), limit + 1, None).await?;
        let mine: Vec<&Item> = items
            .iter()
            .take_while(|i| i.string("sk").is_ok_and(|sk| sk.starts_with(&prefix)))
            .collect();
        let has_more = mine.len() > limit || (stopped && mine.len() == items.len());
        let versions = mine
            .iter()
            .take(limit)
            .filter_map(|item| match kept_from(item) {
                Ok(k) => Some(k),
                Err(e) => {
                    tracing::error!(error = ?e, "unreadable kept version skipped in a listing");
                    None
                }
            })
            .collect::<Vec<_>>();
        let last = has_more
            .then(|| versions.last().map(|k| k.record.version_id.clone()))
            .flatten();
        Ok(KeptPage { versions, last })
    }

    async fn get_kept_version(
        &self,
        id: &str,
        generation: &str,
        file: &FileRecord,
        version_id: &str,
    ) -> Result<Option<KeptVersion>, StoreError> {
        let sk = keys::kept_version(&file.name, &file.hash, version_id);
        self.get_item(Partition::KeptVersions.item(id, generation, &sk))
            .await?
            .as_ref()
            .map(kept_from)
            .transpose()
    }

    async fn delete_file(
        &self,
        id: &str,
        generation: &str,
        record: &FileRecord,
        objects: Vec<ObjectVersion>,
        by: &str,
    ) -> Result<(), StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(Partition::Files.item(id, generation, &record.name)))
            .condition_expression("version_id = :version")
            .expression_attribute_values(":version", s(&record.version_id))
            .build()
            .expect("table, key and condition set");
        let counters = Update::builder()
            .table_name(&self.table)
            .set_key(Some(keys::bucket(id)))
            .update_expression("ADD file_count :minus_one, total_bytes :minus_size")
            .condition_expression("gen = :gen")
            .expression_attribute_values(":gen", s(generation))
            .expression_attribute_values(":minus_one", n(-1))
            .expression_attribute_values(":minus_size", n(-(record.size as i64)))
            .build()
            .expect("table, key and expression set");
        let marker = Marker::for_file(id, generation, record, objects, now_ms());
        let mut marker_item = self.marker_item(&marker, marker.updated);
        // For the bucket's history (`domain::history`): which file, deleted by whom.
        marker_item.insert("name".into(), s(&record.name));
        marker_item.insert("by".into(), s(by));
        self.transact(vec![
            TransactWriteItem::builder().delete(delete).build(),
            TransactWriteItem::builder().update(counters).build(),
            self.put_tx(marker_item),
        ])
        .await
    }

    async fn put_rejection(
        &self,
        id: &str,
        generation: &str,
        r: &Rejection,
    ) -> Result<(), StoreError> {
        self.transact(vec![
            self.live_check(id, generation),
            self.put_tx(rejection_item(id, generation, r)),
        ])
        .await
    }

    async fn get_rejection(
        &self,
        id: &str,
        generation: &str,
        upload_id: &str,
    ) -> Result<Option<Rejection>, StoreError> {
        self.get_item(Partition::Rejections.item(id, generation, upload_id))
            .await?
            .map(|item| rejection_from(upload_id, &item))
            .transpose()
    }
}
