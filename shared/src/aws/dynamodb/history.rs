//! History entries (the `H#` partition of an incarnation; see `keys`): one item per entry, its
//! sort key `HistoryEntry::sort_key`, the entry as JSON, and `ttl` (the retention).

use aws_sdk_dynamodb::types::AttributeValue;

use super::call::classify;
use super::item::ItemExt;
use super::keys::Partition;
use super::{DynamoStore, Item, json, n, s};
use crate::domain::history::HistoryEntry;
use crate::ports::{HistoryPage, HistoryStore, StoreError};

fn sort_key_of(item: &Item) -> Option<String> {
    match item.get("sk") {
        Some(AttributeValue::S(sk)) => Some(sk.clone()),
        _ => None,
    }
}

impl HistoryStore for DynamoStore {
    async fn put_history(&self, entry: &HistoryEntry, expires_at: i64) -> Result<bool, StoreError> {
        let mut item =
            Partition::History.item(&entry.bucket_id, &entry.generation, &entry.sort_key());
        item.insert("entry".into(), json(entry));
        item.insert("ttl".into(), n(expires_at));
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            // The same stream record makes the same sort key: a redelivery writes nothing.
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match put.map_err(classify) {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn history_page(
        &self,
        id: &str,
        generation: &str,
        above: Option<&str>,
        below: Option<&str>,
        limit: usize,
    ) -> Result<HistoryPage, StoreError> {
        let pk = Partition::History.of(id, generation);
        // Key conditions take one comparison or an inclusive BETWEEN: the bounds themselves
        // (a cursor is the last entry shown) are dropped below, so read two more.
        let q = self.query(&pk, limit + 2, None).scan_index_forward(false);
        let q = match (above, below) {
            (Some(a), Some(b)) => q
                .key_condition_expression("pk = :pk AND sk BETWEEN :above AND :below")
                .expression_attribute_values(":above", s(a))
                .expression_attribute_values(":below", s(b)),
            (Some(a), None) => q
                .key_condition_expression("pk = :pk AND sk > :above")
                .expression_attribute_values(":above", s(a)),
            (None, Some(b)) => q
                .key_condition_expression("pk = :pk AND sk < :below")
                .expression_attribute_values(":below", s(b)),
            (None, None) => q.key_condition_expression("pk = :pk"),
        };
        let out = q.send().await.map_err(classify)?;
        let unread = out.last_evaluated_key.as_ref().and_then(sort_key_of);
        let mut entries = Vec::new();
        let mut keys = Vec::new();
        for item in out.items.unwrap_or_default() {
            let sk = sort_key_of(&item).unwrap_or_default();
            if Some(sk.as_str()) == above || Some(sk.as_str()) == below {
                continue;
            }
            entries.push(item.json::<HistoryEntry>("entry")?);
            keys.push(sk);
        }
        let more = entries.len() > limit || unread.is_some();
        entries.truncate(limit);
        keys.truncate(limit);
        let last = more.then(|| keys.last().cloned().or(unread)).flatten();
        Ok(HistoryPage { entries, last })
    }
}
