//! A bucket's history: entries recorded from the table's stream (`record_changes`, the activity
//! function), read newest first by whoever may read the bucket (`history`).

use serde_json::json;

use super::Services;
use super::error::Result;
use crate::domain::access::Identity;
use crate::domain::changes::Change;
use crate::domain::history::{
    HistoryEntry, HistoryFilter, Viewer, entry_id, entry_of, key_change, key_data_in,
};
use crate::domain::ids::BucketRef;
use crate::ports::{BucketStore, HistoryPage, HistoryStore};

/// Entries examined for one page at most: filters that match little never make a request
/// read a whole history (the page ends early, with a cursor to go on).
const MAX_EXAMINED: usize = 1000;

/// What recording a batch of changes did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    /// New entries.
    pub written: usize,
    /// Entries already there (a redelivered record).
    pub repeated: usize,
}

impl<S: BucketStore + HistoryStore, O> Services<S, O> {
    /// Records the entry of each change, in order; an error leaves the rest for the stream's
    /// redelivery (entries already written are not written twice).
    pub async fn record_changes(&self, changes: &[Change]) -> Result<Recorded> {
        let mut done = Recorded::default();
        for change in changes {
            let entries = match entry_of(change) {
                Some(entry) => vec![entry],
                None => self.key_entries(change).await?,
            };
            for entry in entries {
                if self
                    .store
                    .put_history(&entry, self.expiry_of(&entry))
                    .await?
                {
                    done.written += 1;
                } else {
                    done.repeated += 1;
                }
            }
        }
        Ok(done)
    }

    fn expiry_of(&self, entry: &HistoryEntry) -> i64 {
        let keep_secs = self.settings.history_retention_days as i64 * 24 * 3600;
        entry.last_modified / 1000 + keep_secs
    }

    /// A scoped key's entry in the history of each bucket its scope names that exists now,
    /// naming of its scope only that bucket (a reader of one learns nothing of the others).
    async fn key_entries(&self, change: &Change) -> Result<Vec<HistoryEntry>> {
        let Some((ids, entry)) = key_change(change) else {
            return Ok(vec![]);
        };
        let mut entries = Vec::new();
        for scoped in ids {
            let Some(bucket) = self.store.get(&scoped.id).await? else {
                continue;
            };
            // A key made for an earlier incarnation of the id is not this bucket's.
            if scoped.generation.is_some_and(|g| g != bucket.generation) {
                continue;
            }
            let mut e = entry.clone();
            e.id = entry_id(&format!("{}#{}", change.event_id, scoped.id));
            e.target = json!({ "data": key_data_in(&entry.target["data"], &scoped.id) });
            e.bucket_id = scoped.id;
            e.generation = bucket.generation;
            entries.push(e);
        }
        Ok(entries)
    }

    /// Up to `limit` entries of the bucket's history that pass `filter`, newest first, below
    /// `cursor` (the previous page's last sort key), each as the caller may see it (a writer
    /// of the bucket, or a reader: `HistoryEntry::seen_by`). Read permission on the bucket.
    pub async fn history(
        &self,
        identity: &Identity,
        bucket: &BucketRef,
        filter: &HistoryFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<HistoryPage> {
        let bucket = self.bucket_for(bucket, identity).await?;
        let viewer = if identity.may_write(&bucket) {
            Viewer::Writer
        } else {
            Viewer::Reader
        };
        let (above, mut below) = filter.range(cursor);
        if let (Some(a), Some(b)) = (&above, &below)
            && a >= b
        {
            // `_since` at or after `_before` (or a cursor at or above `_since`): an empty
            // range, answered as Kinto does (an empty page) without a read (the store's
            // range query refuses inverted bounds).
            return Ok(HistoryPage {
                entries: vec![],
                last: None,
            });
        }
        let mut entries: Vec<HistoryEntry> = Vec::new();
        let mut examined = 0;
        loop {
            let want = (limit - entries.len()).min(MAX_EXAMINED - examined).max(1);
            let page = self
                .store
                .history_page(
                    &bucket.id,
                    &bucket.generation,
                    above.as_deref(),
                    below.as_deref(),
                    want,
                )
                .await?;
            let read = page.entries.len();
            let mut consumed = 0;
            for entry in page.entries {
                consumed += 1;
                let key = entry.sort_key();
                let entry = entry.seen_by(viewer);
                if filter.admits(&entry) {
                    entries.push(entry);
                }
                below = Some(key);
                if entries.len() == limit {
                    break;
                }
            }
            examined += consumed;
            if consumed == read && page.last.is_none() {
                // Everything in range was read.
                return Ok(HistoryPage {
                    entries,
                    last: None,
                });
            }
            if entries.len() == limit || examined >= MAX_EXAMINED {
                return Ok(HistoryPage {
                    entries,
                    last: below,
                });
            }
        }
    }
}
