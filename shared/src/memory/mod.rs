//! In-memory adapters of the storage ports, for tests: the services and every HTTP route run
//! against them in milliseconds, without AWS.
//!
//! [`MemoryStore`] implements `BucketStore`, `KeyStore`, `FileStore`, `DataStore` and `CascadeStore` over
//! one sorted map keyed exactly like the DynamoDB table (`aws::dynamodb`, the reference):
//!
//! | item | pk | sk |
//! |---|---|---|
//! | bucket | `B#<id>` | `B` |
//! | listing index, per principal in the ACL | `P#<principal>` | `<id>` |
//! | listing index of all buckets | `ALL` | `<id>` |
//! | pending cascade of a bucket incarnation / of a file's objects | `CASCADE` | `<id>#<gen>[#<upload id>]` |
//! | data document / kept revision | `D#<id>#<gen>` | `HEAD` / `R#<revision, 20 digits>` |
//! | file record | `F#<id>#<gen>` | `<name>` |
//! | upload grant | `U#<id>#<gen>` | `<upload id>` |
//! | upload rejection | `R#<id>#<gen>` | `<upload id>` |
//! | SFTP user | `S#<id>#<gen>` | `<user name>` |
//! | incarnation with SFTP users | `SFTP` | `<id>#<gen>#` |
//! | webhook | `W#<id>#<gen>` | `<webhook id>` |
//! | event sequence: the last, one event's | `WS#<id>#<gen>` | `SEQ`, `<event id>` |
//! | webhook delivery | `WD#<id>#<gen>` | `<webhook id>#<delivery id>` |
//! | API key | `K#<key id>` | `K` |
//! | listing index of a user's keys / of all keys | `KO#<owner>` / `KALL` | `<key id>` |
//! | ids of a user's keys (the limit's count) | `KC#<owner>` | `KEYS` |
//!
//! Each method holds one lock from start to end, so it is atomic as the adapter's transactions
//! are, and it checks the adapter's conditions before changing anything. Grants and rejections
//! never expire (there is no TTL). Pages end where DynamoDB's would: a query that fills its
//! `limit` reports a continuation even when nothing follows (see `cascade.rs`).
//!
//! [`MemoryObjects`] implements `ObjectStore`. Both are cheap handles: clones share the same
//! contents, so a test keeps one while an app or a service owns another.

use std::collections::BTreeSet;
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::domain::bucket::Bucket;
use crate::domain::cascade::{Marker, bucket_marker_key};
use crate::domain::data::DataDoc;
use crate::domain::files::{FileRecord, Grant, KeptVersion};
use crate::domain::history::HistoryEntry;
use crate::domain::keys::ApiKey;
use crate::domain::sftp::SftpUser;
use crate::domain::webhooks::{Delivery, Webhook};
use crate::ports::{ItemKey, Rejection, StoreError};
use faults::Faults;

mod buckets;
mod cascade;
mod data;
mod faults;
mod files;
mod history;
mod journal;
mod keys;
mod objects;
mod sftp;
mod webhooks;

#[cfg(test)]
mod tests;

pub use objects::{MemoryObjects, StoredObject};
pub use sftp::MemoryDirectory;
pub use webhooks::{MemoryQueue, MemorySender, SentRequest};

/// DynamoDB's limit of items in one TransactWriteItems (the adapter's chunking depends on it).
const MAX_TRANSACTION_ITEMS: usize = 100;
/// DynamoDB's limit of requests in one BatchWriteItem.
const MAX_BATCH_WRITE: usize = 25;
const ALL_PK: &str = "ALL";
const MARKER_PK: &str = "CASCADE";
/// The sort key of a bucket's current data document.
const DATA_HEAD: &str = "HEAD";
/// The partitions of a bucket incarnation: data, file records, grants, rejections, kept
/// versions, SFTP users.
const INCARNATION_PARTITIONS: [&str; 7] = ["D", "F", "U", "R", "V", "S", "H"];
/// The partition of incarnations with SFTP users (sort key `<id>#<generation>#`).
const SFTP_PK: &str = "SFTP";

/// What one table item holds.
#[derive(Debug, Clone, PartialEq)]
enum Item {
    Bucket(Bucket),
    /// A listing entry (`P#<principal>` or `ALL`; the sort key is the bucket id).
    Index,
    Marker(Marker),
    /// The current data document (`HEAD`) or a kept revision.
    Data(DataDoc),
    File(FileRecord),
    /// A replaced file version kept for the retention.
    Kept(KeptVersion),
    Grant(Grant),
    Rejection(Rejection),
    Key(ApiKey),
    SftpUser(SftpUser),
    History(HistoryEntry),
    Webhook(Webhook),
    Delivery(Delivery),
    /// A bucket's last event number (`WS#…`/`SEQ`) or one event's (`WS#…`/`<event id>`).
    Sequence(i64),
    /// The ids of an owner's keys (`KC#<owner>`/`KEYS`): the keys-per-owner limit's count.
    KeyIds(BTreeSet<String>),
}

macro_rules! accessors {
    ($($variant:ident: $ty:ty => $get:ident, $get_mut:ident;)*) => {
        impl Item {
            $(
                fn $get(&self) -> Option<&$ty> {
                    match self {
                        Item::$variant(v) => Some(v),
                        _ => None,
                    }
                }

                #[allow(dead_code)]
                fn $get_mut(&mut self) -> Option<&mut $ty> {
                    match self {
                        Item::$variant(v) => Some(v),
                        _ => None,
                    }
                }
            )*
        }
    };
}

accessors! {
    Bucket: Bucket => as_bucket, as_bucket_mut;
    Marker: Marker => as_marker, as_marker_mut;
    Data: DataDoc => as_data, as_data_mut;
    File: FileRecord => as_file, as_file_mut;
    Kept: KeptVersion => as_kept, as_kept_mut;
    Grant: Grant => as_grant, as_grant_mut;
    Rejection: Rejection => as_rejection, as_rejection_mut;
    Key: ApiKey => as_key, as_key_mut;
    SftpUser: SftpUser => as_sftp_user, as_sftp_user_mut;
    History: HistoryEntry => as_history, as_history_mut;
    Webhook: Webhook => as_webhook, as_webhook_mut;
    Delivery: Delivery => as_delivery, as_delivery_mut;
    KeyIds: BTreeSet<String> => as_key_ids, as_key_ids_mut;
}

impl Item {
    fn kind(&self) -> &'static str {
        match self {
            Item::Bucket(_) => "bucket",
            Item::Index => "index entry",
            Item::Marker(_) => "cascade marker",
            Item::Data(_) => "data document",
            Item::File(_) => "file record",
            Item::Kept(_) => "kept file version",
            Item::Grant(_) => "upload grant",
            Item::Rejection(_) => "upload rejection",
            Item::Key(_) => "API key",
            Item::SftpUser(_) => "SFTP user",
            Item::History(_) => "history entry",
            Item::Webhook(_) => "webhook",
            Item::Delivery(_) => "webhook delivery",
            Item::Sequence(_) => "event sequence",
            Item::KeyIds(_) => "key count",
        }
    }
}

fn key(pk: impl Into<String>, sk: impl Into<String>) -> ItemKey {
    ItemKey {
        pk: pk.into(),
        sk: sk.into(),
    }
}

fn bucket_key(id: &str) -> ItemKey {
    key(format!("B#{id}"), "B")
}

fn index_pk(principal: &str) -> String {
    format!("P#{principal}")
}

/// The partition `<prefix>#<id>#<generation>` of an incarnation (`D`, `F`, `U`, `R` or `V`).
fn part_pk(prefix: &str, id: &str, generation: &str) -> String {
    format!("{prefix}#{id}#{generation}")
}

fn marker_item_key(marker_key: &str) -> ItemKey {
    key(MARKER_PK, marker_key)
}

fn mismatch(k: &ItemKey, kind: &str) -> StoreError {
    StoreError::Other(format!("item {}/{} holds a {kind}", k.pk, k.sk))
}

/// The table and the faults still to inject.
#[derive(Debug, Default)]
struct State {
    items: journal::Table,
    faults: Faults,
}

impl State {
    /// The item at `k` as a `T` (`pick` says which kind), `None` when absent.
    fn read<T>(
        &self,
        k: &ItemKey,
        pick: fn(&Item) -> Option<&T>,
    ) -> Result<Option<&T>, StoreError> {
        match self.items.get(k) {
            None => Ok(None),
            Some(item) => pick(item).map(Some).ok_or_else(|| mismatch(k, item.kind())),
        }
    }

    fn write<T>(
        &mut self,
        k: &ItemKey,
        pick: fn(&mut Item) -> Option<&mut T>,
    ) -> Result<Option<&mut T>, StoreError> {
        match self.items.get_mut(k) {
            None => Ok(None),
            Some(item) => {
                let kind = item.kind();
                pick(item).map(Some).ok_or_else(|| mismatch(k, kind))
            }
        }
    }

    fn bucket(&self, id: &str) -> Result<Option<&Bucket>, StoreError> {
        self.read(&bucket_key(id), Item::as_bucket)
    }

    /// The adapter's `live_check`: incarnation `generation` of bucket `id` is live.
    fn live(&self, id: &str, generation: &str) -> Result<bool, StoreError> {
        Ok(self.bucket(id)?.is_some_and(|b| b.generation == generation))
    }

    /// The items of partition `pk` with sort keys after `after`, in sort key order.
    fn partition<'a>(
        &'a self,
        pk: &'a str,
        after: Option<&str>,
    ) -> impl Iterator<Item = (&'a ItemKey, &'a Item)> + 'a {
        let start = match after {
            Some(after) => Bound::Excluded(key(pk, after)),
            None => Bound::Included(key(pk, "")),
        };
        self.items
            .range((start, Bound::Unbounded))
            .take_while(move |(k, _)| k.pk == pk)
    }
}

/// The in-memory table: see the module documentation.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
}

impl MemoryStore {
    /// An empty table.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A test that panicked with the lock held leaves a table that is still consistent
        // (conditions are checked before anything changes).
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The table for one port call, or the next injected fault.
    fn begin(&self) -> Result<MutexGuard<'_, State>, StoreError> {
        let mut state = self.lock();
        // The previous call's changes are its own, as each write is its own stream record.
        state.items.flush();
        state.faults.next()?;
        Ok(state)
    }

    // --- Test helpers (not part of the ports) ---

    /// What the store changed since the last call, as the stream reports it (the typed
    /// changes the DynamoDB adapter decodes): for `Services::on_activity` and the SFTP
    /// function's `on_sftp_changes`.
    pub fn take_changes(&self) -> Vec<crate::domain::changes::Change> {
        self.lock().items.take_changes()
    }

    /// The next `calls` port calls fail with `error` and change nothing (`Unavailable` to test
    /// retries and 503s, `Conflict` to test lost races). `incarnation_items` is not a call.
    pub fn fail_next(&self, calls: usize, error: StoreError) {
        self.lock().faults.fail_next(calls, error);
    }

    /// The call after the next `skip` ones fails with `error` (they pass), to fail one step in
    /// the middle of a use case.
    pub fn fail_call(&self, skip: usize, error: StoreError) {
        self.lock().faults.fail_call(skip, error);
    }

    /// Whether injected faults (or calls `fail_call` lets through first) are still waiting:
    /// `false` once the failing call happened.
    pub fn faults_pending(&self) -> bool {
        self.lock().faults.pending()
    }

    /// Forgets the faults still waiting.
    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// How many items the table holds.
    pub fn item_count(&self) -> usize {
        self.lock().items.len()
    }

    /// Every item key, sorted by partition then sort key.
    pub fn keys(&self) -> Vec<ItemKey> {
        self.lock().items.keys().cloned().collect()
    }

    /// The keys of the items whose partition key starts with `pk_prefix` (`"F#b1#"`: every
    /// file record of bucket `b1`; `"P#"`: every listing entry; `"CASCADE"`: every marker).
    pub fn keys_with_prefix(&self, pk_prefix: &str) -> Vec<ItemKey> {
        self.lock()
            .items
            .keys()
            .filter(|k| k.pk.starts_with(pk_prefix))
            .cloned()
            .collect()
    }

    /// The keys of the upload grants of bucket `id` (every bucket: `None`), any incarnation.
    pub fn grant_keys(&self, id: Option<&str>) -> Vec<ItemKey> {
        self.keys_with_prefix(&match id {
            Some(id) => format!("U#{id}#"),
            None => "U#".into(),
        })
    }

    /// The keys of the listing entries (per principal and of all buckets).
    pub fn listing_keys(&self) -> Vec<ItemKey> {
        let mut keys = self.keys_with_prefix("P#");
        keys.extend(self.keys_with_prefix(ALL_PK));
        keys
    }

    /// Writes a principal's listing entry of bucket `id` without its bucket: what a crash
    /// between the adapter's staged index writes leaves.
    pub fn put_listing_entry(&self, principal: &str, id: &str) {
        self.put_index_entry(&index_pk(principal), id);
    }

    /// Whether an item with this key exists.
    pub fn contains(&self, pk: &str, sk: &str) -> bool {
        self.lock().items.contains_key(&key(pk, sk))
    }

    /// Every key a bucket incarnation owns: its data, file records, grants, rejections, the
    /// markers of its deleted files, and its own cascade marker. Empty once its cascade ended.
    pub fn incarnation_keys(&self, id: &str, generation: &str) -> Vec<ItemKey> {
        let own_marker = bucket_marker_key(id, generation);
        let file_markers = format!("{own_marker}#");
        self.lock()
            .items
            .keys()
            .filter(|k| {
                INCARNATION_PARTITIONS
                    .iter()
                    .any(|p| k.pk == part_pk(p, id, generation))
                    || (k.pk == MARKER_PK
                        && (k.sk == own_marker || k.sk.starts_with(&file_markers)))
                    || (k.pk == SFTP_PK && k.sk == file_markers)
            })
            .cloned()
            .collect()
    }

    /// Every pending cascade marker, by key.
    pub fn markers(&self) -> Vec<Marker> {
        let state = self.lock();
        state
            .partition(MARKER_PK, None)
            .filter_map(|(_, item)| item.as_marker().cloned())
            .collect()
    }

    /// Sets when the marker was last written (ms), to age it for the idle sweep; `false` if it
    /// does not exist.
    pub fn set_marker_updated(&self, marker_key: &str, updated: i64) -> bool {
        let mut state = self.lock();
        match state.write(&marker_item_key(marker_key), Item::as_marker_mut) {
            Ok(Some(marker)) => {
                marker.updated = updated;
                true
            }
            _ => false,
        }
    }

    /// Writes a listing entry of bucket `id` in partition `pk` (`"P#<principal>"` or `"ALL"`)
    /// without its bucket: what a crash between the adapter's staged index writes leaves.
    pub fn put_index_entry(&self, pk: &str, id: &str) {
        self.lock().items.insert(key(pk, id), Item::Index);
    }
}
