//! Delete-cascade markers (the `CASCADE` partition; see `keys`) and item purging.
//!
//! A marker is written in the transaction that deletes what it describes; its stream record
//! (INSERT, and MODIFY for each saved pass or replay) triggers the cascade function.

use aws_sdk_dynamodb::types::{ConditionCheck, DeleteRequest, TransactWriteItem, WriteRequest};

use super::call::classify;
use super::item::ItemExt;
use super::keys::{self, ALL_LISTING, MARKERS};
use super::{DynamoStore, Item, MAX_TRANSACTION_ITEMS, n, s, string_list};
use crate::domain::cascade::{Job, Marker, Tally};
use crate::domain::time::now_ms;
use crate::ports::{CascadeStore, ItemKey, ItemSet, KeyPage, MarkerPage, StoreError};

/// The marker item of `marker` (a new one: no passes yet).
fn marker_item(marker: &Marker, deleted_at: i64) -> Item {
    let mut item = keys::marker(&marker.key);
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
        Job::Objects { objects } => {
            item.insert("kind".into(), s("objects"));
            // One JSON list of {key, version_id}: a version id is meaningless apart from its key.
            let json = serde_json::to_string(objects).expect("plain strings serialize");
            item.insert("objects".into(), s(&json));
        }
    }
    item
}

/// Progress (passes, tally, updated) reads as none when absent, and a tally that does not parse
/// restarts the count: they are statistics, and must not stop the cascade from ending.
pub(super) fn marker_from(item: &Item) -> Result<Marker, StoreError> {
    let job = match item.opt_string("kind")?.as_deref() {
        Some("objects") => Job::Objects {
            objects: serde_json::from_str(&item.string("objects")?).map_err(|e| {
                StoreError::Other(format!("a file marker's objects do not parse: {e}"))
            })?,
        },
        _ => Job::Bucket {
            id: item.string("id")?,
            generation: item.string("gen")?,
            stale_index: item.strings("stale_index")?,
        },
    };
    let tally = item
        .opt_string("tally")?
        .and_then(|t| serde_json::from_str::<Tally>(&t).ok())
        .unwrap_or_default();
    Ok(Marker {
        key: item.string("sk")?,
        job,
        passes: item.opt_number("passes")?.unwrap_or_default().max(0) as u64,
        tally,
        updated: item.opt_number("updated")?.unwrap_or_default(),
    })
}

fn item_key(item: &Item) -> Result<ItemKey, StoreError> {
    Ok(ItemKey {
        pk: item.string("pk")?,
        sk: item.string("sk")?,
    })
}

impl DynamoStore {
    /// A Put of a new marker, for the transaction that deletes what it describes.
    pub(super) fn put_marker(&self, marker: &Marker, deleted_at: i64) -> TransactWriteItem {
        self.put_tx(marker_item(marker, deleted_at))
    }

    /// The item of a new marker, for a writer that adds attributes to it.
    pub(super) fn marker_item(&self, marker: &Marker, deleted_at: i64) -> Item {
        marker_item(marker, deleted_at)
    }
}

impl CascadeStore for DynamoStore {
    async fn get_marker(&self, key: &str) -> Result<Option<Marker>, StoreError> {
        self.get_item(keys::marker(key))
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
            .set_key(Some(keys::marker(&marker.key)))
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
            .set_key(Some(keys::marker(key)))
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
    ) -> Result<MarkerPage, StoreError> {
        let (items, more) = self
            .query_after(MARKERS, after, limit, Some("sk, updated"))
            .await?;
        // Markers are few (each goes when its cascade ends), so they are filtered here rather
        // than with a FilterExpression (whose pages can come back empty). A marker without
        // `updated` predates the attribute, and counts as idle.
        let mut keys = Vec::with_capacity(items.len());
        let mut last = None;
        for item in &items {
            let key = item.string("sk")?;
            let updated = item.opt_number("updated")?;
            if idle_since.is_none_or(|since| updated.is_none_or(|u| u < since)) {
                keys.push(key.clone());
            }
            last = Some(key);
        }
        Ok(MarkerPage {
            keys,
            next: last.filter(|_| more),
        })
    }

    async fn touch_marker(&self, key: &str) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::marker(key)))
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
        keys::incarnation_items(id, generation)
    }

    async fn item_keys(
        &self,
        set: &ItemSet,
        after: Option<ItemKey>,
        limit: usize,
    ) -> Result<KeyPage, StoreError> {
        let q = self
            .query(&set.pk, limit, Some("pk, sk"))
            .set_exclusive_start_key(after.map(|k| keys::key(k.pk, k.sk)));
        let q = match &set.sk_prefix {
            Some(prefix) => q
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":prefix", s(prefix)),
            None => q.key_condition_expression("pk = :pk"),
        };
        let out = q.send().await.map_err(classify)?;
        Ok(KeyPage {
            keys: out.items().iter().map(item_key).collect::<Result<_, _>>()?,
            last: out.last_evaluated_key().map(item_key).transpose()?,
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
                            .set_key(Some(keys::key(&k.pk, &k.sk)))
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
        out.unprocessed_items()
            .and_then(|u| u.get(&self.table))
            .into_iter()
            .flatten()
            .filter_map(|r| r.delete_request())
            .map(|d| item_key(d.key()))
            .collect()
    }

    async fn delete_stale_index(&self, id: &str, principals: &[String]) -> Result<u64, StoreError> {
        // Each transaction checks that no bucket with this id exists (a re-created bucket's
        // entries share these keys); 99 deletions + that check fill one transaction.
        let mut entries: Vec<Item> = principals
            .iter()
            .map(|p| keys::listing_entry(&keys::principal_listing(p), id))
            .collect();
        entries.push(keys::listing_entry(ALL_LISTING, id));
        let mut calls = 0;
        for chunk in entries.chunks(MAX_TRANSACTION_ITEMS - 1) {
            let absent = ConditionCheck::builder()
                .table_name(&self.table)
                .set_key(Some(keys::bucket(id)))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .expect("table, key and condition set");
            let mut items = vec![TransactWriteItem::builder().condition_check(absent).build()];
            items.extend(chunk.iter().map(|k| self.delete_tx(k.clone())));
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

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::config::{BehaviorVersion, Config};

    use super::*;
    use crate::domain::files::ObjectVersion;

    #[test]
    fn marker_items_round_trip() {
        let bucket = Marker {
            key: "b1#g1".into(),
            job: Job::Bucket {
                id: "b1".into(),
                generation: "g1".into(),
                stale_index: vec!["user:a".into(), "user:b".into()],
            },
            passes: 0,
            tally: Tally::default(),
            updated: 7,
        };
        let objects = Marker {
            key: "b1#g1#u1".into(),
            job: Job::Objects {
                objects: vec![
                    ObjectVersion::new("b1/g1/a", Some("v1".into())),
                    ObjectVersion::new("b1/g1/b", None),
                ],
            },
            ..bucket.clone()
        };
        for marker in [bucket, objects] {
            let item = marker_item(&marker, 5);
            assert_eq!(marker_from(&item).unwrap(), marker);
        }
    }

    #[test]
    fn absent_progress_reads_as_none_yet() {
        let mut item = keys::marker("b1#g1");
        item.insert("id".into(), s("b1"));
        item.insert("gen".into(), s("g1"));
        let marker = marker_from(&item).unwrap();
        assert_eq!((marker.passes, marker.updated), (0, 0));
        assert_eq!(marker.tally, Tally::default());
        item.remove("gen");
        assert!(
            marker_from(&item).is_err(),
            "a bucket marker names its incarnation"
        );
    }

    #[test]
    fn the_cascade_purges_what_the_registry_lists() {
        let client = aws_sdk_dynamodb::Client::from_conf(
            Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .build(),
        );
        let store = DynamoStore::new(client, "table".into());
        assert_eq!(
            store.incarnation_items("b1", "g1"),
            keys::incarnation_items("b1", "g1")
        );
    }
}
