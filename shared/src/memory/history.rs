//! `HistoryStore` over the in-memory table: `H#<id>#<gen>`, sort key `HistoryEntry::sort_key`,
//! with the adapter's condition (an existing sort key is not written again).

use super::{Item, MemoryStore, key, part_pk};
use crate::domain::history::HistoryEntry;
use crate::ports::{HistoryPage, HistoryStore, StoreError};

impl HistoryStore for MemoryStore {
    async fn put_history(
        &self,
        entry: &HistoryEntry,
        _expires_at: i64,
    ) -> Result<bool, StoreError> {
        let mut state = self.begin()?;
        let k = key(
            part_pk("H", &entry.bucket_id, &entry.generation),
            entry.sort_key(),
        );
        if state.items.contains_key(&k) {
            return Ok(false);
        }
        state.items.insert(k, Item::History(entry.clone()));
        Ok(true)
    }

    async fn history_page(
        &self,
        id: &str,
        generation: &str,
        above: Option<&str>,
        below: Option<&str>,
        limit: usize,
    ) -> Result<HistoryPage, StoreError> {
        if let (Some(a), Some(b)) = (above, below)
            && a > b
        {
            // As DynamoDB: "Invalid KeyConditionExpression: The BETWEEN operator requires
            // upper bound to be greater than or equal to lower bound" (the adapter's query is
            // `BETWEEN :above AND :below`).
            return Err(StoreError::Other(format!(
                "history_page: inverted range {a:?} .. {b:?}"
            )));
        }
        let state = self.begin()?;
        let pk = part_pk("H", id, generation);
        let mut in_range: Vec<(&String, &HistoryEntry)> = state
            .partition(&pk, above)
            .filter(|(k, _)| below.is_none_or(|b| k.sk.as_str() < b))
            .filter_map(|(k, item)| item.as_history().map(|e| (&k.sk, e)))
            .collect();
        in_range.reverse();
        let more = in_range.len() > limit;
        in_range.truncate(limit);
        Ok(HistoryPage {
            last: more
                .then(|| in_range.last().map(|(k, _)| k.to_string()))
                .flatten(),
            entries: in_range.into_iter().map(|(_, e)| e.clone()).collect(),
        })
    }
}
