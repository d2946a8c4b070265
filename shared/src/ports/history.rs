//! The history port: entries of a bucket incarnation's history (`domain::history`), written
//! from the table's stream and read newest first.

use std::future::Future;

use super::StoreError;
use crate::domain::history::HistoryEntry;

/// One page of entries, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryPage {
    pub entries: Vec<HistoryEntry>,
    /// The sort key of the last entry read when more may follow (the next page is below it).
    pub last: Option<String>,
}

pub trait HistoryStore: Send + Sync {
    /// Writes `entry` unless an entry with its sort key exists (a redelivered stream record):
    /// `false` then. It expires at `expires_at` (seconds since the epoch, the table's TTL).
    fn put_history(
        &self,
        entry: &HistoryEntry,
        expires_at: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Up to `limit` entries of incarnation `id`/`generation` with sort keys strictly between
    /// `above` and `below` (each optional), newest first. When both are given, `above` must be
    /// below `below`: DynamoDB refuses a `BETWEEN` whose bounds are inverted (a
    /// `ValidationException`, a 500), so the caller answers an empty range without a read
    /// (the memory store refuses inverted bounds as DynamoDB does).
    fn history_page(
        &self,
        id: &str,
        generation: &str,
        above: Option<&str>,
        below: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<HistoryPage, StoreError>> + Send;
}
