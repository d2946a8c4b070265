//! The table ports: buckets, files, data documents and cascade markers. The DynamoDB adapter
//! (`aws::dynamodb`) and the in-memory store (`memory`) implement them; nothing above them sees
//! an AWS type.

use std::future::Future;

use super::StoreError;
use crate::domain::bucket::Bucket;
use crate::domain::cascade::Marker;
use crate::domain::data::DataDoc;
pub use crate::domain::files::Rejection;
use crate::domain::files::{FileRecord, Grant, KeptVersion, ObjectVersion};
use crate::domain::keys::ApiKey;

/// Whose buckets a listing covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListScope {
    /// Every bucket (callers with a global privilege).
    All,
    /// Buckets whose ACL names one of these principals.
    Principals(Vec<String>),
}

/// One page of buckets, sorted by id.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketPage {
    pub buckets: Vec<Bucket>,
    pub has_more: bool,
    /// The last id this page looked at (the cursor of the next page), even when that bucket was
    /// not shown (gone meanwhile, or a stale index entry).
    pub last_key: Option<String>,
}

/// One page of API keys, sorted by id.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiKeyPage {
    pub keys: Vec<ApiKey>,
    pub has_more: bool,
    /// The last id this page looked at (the cursor of the next page).
    pub last_key: Option<String>,
}

/// API keys. Every request that presents a key reads it here, so the table that holds the
/// buckets holds the keys (`BucketStore` requires this port).
pub trait KeyStore: Send + Sync {
    /// The key with this id (strongly consistent: a revoked key is gone at once).
    fn get_key(&self, id: &str) -> impl Future<Output = Result<Option<ApiKey>, StoreError>> + Send;

    /// Writes a new key and its listing entries at once, and counts it among its owner's;
    /// `Conflict` if the id is taken or the owner already holds `keys::MAX_KEYS_PER_OWNER` keys
    /// (the count is checked in the write: the limit holds against concurrent creations), or
    /// the write lost a race to another on the count (try again).
    fn create_key(&self, key: &ApiKey) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Sets the title of key `id`, if it still exists; the key as it is then.
    fn rename_key(
        &self,
        id: &str,
        title: &str,
    ) -> impl Future<Output = Result<Option<ApiKey>, StoreError>> + Send;

    /// Removes the key and its listing entries, and frees its place in its owner's count;
    /// `Conflict` if it is gone already or the write lost a race to another on the count (the
    /// key is still there: try again).
    fn delete_key(&self, key: &ApiKey) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records a use of key `id` at `at`, unless one was recorded less than
    /// `keys::LAST_USED_EVERY_MS` before (then, and for a key gone meanwhile, nothing changes).
    fn touch_key(&self, id: &str, at: i64) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// How many keys `owner` holds: the count `create_key` checks, of the keys created and
    /// neither revoked nor removed by the table's TTL (an expired key counts until it is
    /// revoked or removed). The TTL removes keys without touching the count: once it reaches
    /// `keys::MAX_KEYS_PER_OWNER`, the keys it names that the TTL may have removed are read
    /// and those gone are forgotten, so the count is exact whenever it refuses.
    fn count_keys(&self, owner: &str) -> impl Future<Output = Result<usize, StoreError>> + Send;

    /// Up to `limit` keys of `owner` (a `user:` principal; every key for `None`) with ids
    /// after `after`, sorted by id.
    fn list_keys(
        &self,
        owner: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<ApiKeyPage, StoreError>> + Send;
}

pub trait BucketStore: KeyStore + Send + Sync {
    /// The live bucket with this id (strongly consistent).
    fn get(&self, id: &str) -> impl Future<Output = Result<Option<Bucket>, StoreError>> + Send;

    /// Writes a new bucket and its index entries at once; `Conflict` if the id is taken.
    fn create(&self, bucket: &Bucket) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Replaces `old` by `new` (same id and generation) if `old` is still the stored revision,
    /// moving index entries for principals added or removed; `Conflict` otherwise.
    fn update(
        &self,
        old: &Bucket,
        new: &Bucket,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Removes the bucket and its index entries if `bucket` is still the stored revision, and
    /// leaves a durable record that its content must be cascaded; `Conflict` otherwise.
    fn delete(
        &self,
        bucket: &Bucket,
        deleted_at: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Up to `limit` buckets in `scope` with ids after `after`, sorted by id.
    fn list(
        &self,
        scope: &ListScope,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<BucketPage, StoreError>> + Send;
}

/// One page of file records, sorted by name.
#[derive(Debug, Clone, PartialEq)]
pub struct FilePage {
    pub files: Vec<FileRecord>,
    pub has_more: bool,
    /// The last name this page looked at (the cursor of the next page), even when that record
    /// was not shown (an unreadable item, skipped and logged).
    pub last_key: Option<String>,
}

/// One page of a file's kept versions, by version id; `last` is where the next page starts
/// (`None`: no more).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptPage {
    pub versions: Vec<KeptVersion>,
    pub last: Option<String>,
}

/// The room `FileStore::record_upload` checks on the bucket item, in the same conditional write
/// that moves its counters: so the limits hold however many uploads race.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Room {
    /// A new name is recorded only while the bucket holds fewer files.
    pub max_files: u64,
    /// Growth of `total_bytes` must end at most here (`None`: no quota). A write that does not
    /// grow it is never refused (see `Limits::bytes_fit`).
    pub max_bytes: Option<u64>,
    /// The bucket revision whose limits were read (`None`: any). Limits live in the bucket's
    /// attributes and every change of them is a new revision, so this makes a limit tightened
    /// between the caller's read and the write a lost race: the caller reads again.
    pub revision: Option<i64>,
}

impl Room {
    /// Only a file count (any revision, no quota).
    pub fn files(max_files: u64) -> Room {
        Room {
            max_files,
            max_bytes: None,
            revision: None,
        }
    }

    /// The most `total_bytes` may be before a write that grows it by `delta`: `None` (no
    /// bound) when there is no quota or the write does not grow the bucket. Both stores
    /// condition on `total_bytes <= this`, as DynamoDB conditions have no arithmetic.
    pub fn bytes_room(&self, delta: i64) -> Option<i64> {
        match self.max_bytes {
            Some(max) if delta > 0 => Some(i64::try_from(max).unwrap_or(i64::MAX) - delta),
            _ => None,
        }
    }
}

/// The file records, upload grants and rejections of a bucket incarnation (`id` + generation).
pub trait FileStore: Send + Sync {
    fn get_file(
        &self,
        bucket_id: &str,
        generation: &str,
        name: &str,
    ) -> impl Future<Output = Result<Option<FileRecord>, StoreError>> + Send;

    fn list_files(
        &self,
        bucket_id: &str,
        generation: &str,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<FilePage, StoreError>> + Send;

    /// Names among `names` that have a record, each once with the size of its file (a grant
    /// replacing a file frees its bytes under the bucket's quota).
    fn existing_sizes(
        &self,
        bucket_id: &str,
        generation: &str,
        names: &[String],
    ) -> impl Future<Output = Result<Vec<(String, u64)>, StoreError>> + Send;

    fn put_grants(
        &self,
        bucket_id: &str,
        generation: &str,
        grants: &[Grant],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn get_grant(
        &self,
        bucket_id: &str,
        generation: &str,
        upload_id: &str,
    ) -> impl Future<Output = Result<Option<Grant>, StoreError>> + Send;

    /// Removes the grants `upload_ids` (those already gone are no error): takes back grants
    /// whose presigned URLs were never handed out, when the request that issued them fails.
    fn delete_grants(
        &self,
        bucket_id: &str,
        generation: &str,
        upload_ids: &[String],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Removes the grant `upload_id` only while it is unspent (no file recorded from it):
    /// `Conflict` once it is spent; a grant already gone is no error.
    fn withdraw_grant(
        &self,
        bucket_id: &str,
        generation: &str,
        upload_id: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records `record` in one transaction: replaces `previous` (which must still be the stored
    /// record, or none must exist) and keeps `kept` (the replaced version, for the retention),
    /// marks the grant recorded (it must be unspent), and moves the
    /// bucket's counters; all only while the bucket (same generation) has room (`Room`: a new
    /// name only while it holds fewer than `max_files`; growth by `record.size -
    /// previous.size` bytes only while `total_bytes` stays within `max_bytes`; still the
    /// revision whose limits the caller read). `Conflict` if any condition fails.
    fn record_upload(
        &self,
        bucket_id: &str,
        generation: &str,
        record: &FileRecord,
        previous: Option<&FileRecord>,
        kept: Option<&KeptVersion>,
        room: &Room,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Up to `limit` kept versions of `file` (of its name and permalink hash: not those of a
    /// deleted predecessor), by version id after `after`.
    fn list_kept_versions(
        &self,
        bucket_id: &str,
        generation: &str,
        file: &FileRecord,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<KeptPage, StoreError>> + Send;

    /// The kept version `version_id` of `file`, if it is one.
    fn get_kept_version(
        &self,
        bucket_id: &str,
        generation: &str,
        file: &FileRecord,
        version_id: &str,
    ) -> impl Future<Output = Result<Option<KeptVersion>, StoreError>> + Send;

    /// Removes `record` (if it is still the stored one), takes it off the bucket's counters and
    /// leaves the marker of a cascade of `objects` (its versions; `cascade::file_marker_key`),
    /// all in one transaction: the objects go even if the caller dies before removing them.
    /// The marker names the file and `by`, who deleted it (the bucket's history reads them off
    /// its stream record).
    fn delete_file(
        &self,
        bucket_id: &str,
        generation: &str,
        record: &FileRecord,
        objects: Vec<ObjectVersion>,
        by: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Keeps why an upload was refused; `Conflict` when the incarnation is gone (nobody could
    /// read the reason, and it would outlive the cascade).
    fn put_rejection(
        &self,
        bucket_id: &str,
        generation: &str,
        rejection: &Rejection,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn get_rejection(
        &self,
        bucket_id: &str,
        generation: &str,
        upload_id: &str,
    ) -> impl Future<Output = Result<Option<Rejection>, StoreError>> + Send;
}

/// The data document of a bucket incarnation and its kept revisions.
pub trait DataStore: Send + Sync {
    /// The current document (`None` when never written).
    fn get_data(
        &self,
        bucket_id: &str,
        generation: &str,
    ) -> impl Future<Output = Result<Option<DataDoc>, StoreError>> + Send;

    /// A kept revision.
    fn get_data_revision(
        &self,
        bucket_id: &str,
        generation: &str,
        revision: i64,
    ) -> impl Future<Output = Result<Option<DataDoc>, StoreError>> + Send;

    /// Writes `new` (revision = previous + 1) if the stored revision is still `previous` (0 =
    /// never written), keeps it as a revision and forgets the one `keep` revisions older, all
    /// in one transaction; `Conflict` if another writer came first.
    fn put_data(
        &self,
        bucket_id: &str,
        generation: &str,
        new: &DataDoc,
        previous: i64,
        keep: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The key of one table item, as the cascade lists and deletes them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ItemKey {
    pub pk: String,
    pub sk: String,
}

/// A set of items a bucket incarnation owns: a partition, or the part of one whose sort keys
/// start with `sk_prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemSet {
    pub pk: String,
    pub sk_prefix: Option<String>,
}

/// One page of item keys; `last` is where the next page starts (`None`: no more).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPage {
    pub keys: Vec<ItemKey>,
    pub last: Option<ItemKey>,
}

/// A page of pending cascade markers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkerPage {
    pub keys: Vec<String>,
    /// The last marker read, where the next page starts; `None` at the end.
    pub next: Option<String>,
}

/// The table side of delete cascades (`service::cascade`). Each method is one AWS call, except
/// where it says otherwise.
pub trait CascadeStore: Send + Sync {
    /// The pending cascade with this marker key; `None` once it has finished.
    fn get_marker(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<Marker>, StoreError>> + Send;

    /// Saves a finished pass (count and tally) on the marker, if it still exists. The write is
    /// what triggers the next pass.
    fn save_pass(&self, marker: &Marker) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn delete_marker(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Keys of pending cascades among the `limit` after `after` (only those last written
    /// before `idle_since`, ms, when given), and where the next page starts: the last key
    /// read, idle or not (`None`: no more).
    fn list_markers(
        &self,
        after: Option<&str>,
        limit: usize,
        idle_since: Option<i64>,
    ) -> impl Future<Output = Result<MarkerPage, StoreError>> + Send;

    /// Rewrites the marker so that its trigger fires again; `false` if it is gone.
    fn touch_marker(&self, key: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Every set of items a bucket incarnation owns (no call: the table layout).
    fn incarnation_items(&self, id: &str, generation: &str) -> Vec<ItemSet>;

    /// Up to `limit` keys of `set` after `after`.
    fn item_keys(
        &self,
        set: &ItemSet,
        after: Option<ItemKey>,
        limit: usize,
    ) -> impl Future<Output = Result<KeyPage, StoreError>> + Send;

    /// Deletes up to 25 items in one batch; returns those left unprocessed.
    fn delete_items(
        &self,
        keys: &[ItemKey],
    ) -> impl Future<Output = Result<Vec<ItemKey>, StoreError>> + Send;

    /// Removes the listing entries of `principals` for bucket `id`, unless a bucket with that id
    /// exists again (its entries are its own then). Returns the calls made.
    fn delete_stale_index(
        &self,
        id: &str,
        principals: &[String],
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}
