//! The reconciliation pass: makes a bucket incarnation's records match its S3 objects again.
//! It records (or refuses) every object no record describes — an upload whose event was lost,
//! or a file written over SFTP (`direct_writes`), whose writes fire no event on the local
//! emulator — and removes every record whose object is gone (a file deleted over SFTP).
//!
//! Work is bounded: a page examines at most `max` keys (one ListObjectsV2, the records up to
//! the same name, one HEAD per key that differs); callers go on from `next`. Every step is
//! the upload processing's or the file deletion's, so running twice changes nothing more.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;

use super::Services;
use super::direct_writes::SFTP_UPLOADER;
use super::error::Result;
use super::uploads::Outcome;
use crate::domain::bucket::Bucket;
use crate::domain::cascade::object_prefix;
use crate::domain::files::{FileRecord, ObjectVersion, object_key, parse_object_key};
use crate::ports::{
    BucketStore, CascadeStore, CurrentObject, FileStore, ObjectStore, SftpBucket, SftpUserStore,
    WebhookStore,
};

/// Keys one page examines at most (a ListObjectsV2 page).
pub const PAGE_KEYS: usize = 1000;
/// Keys the scheduled pass examines at most per run, all buckets together.
pub const RUN_KEYS: usize = 20_000;
/// How long one call of the API may reconcile (its integration times out at 30 s).
pub const API_SECONDS: u64 = 20;
/// How long the scheduled pass runs at most (the function's timeout is 300 s).
const RUN_SECONDS: u64 = 240;
/// Registered buckets read per page by the scheduled pass.
const BUCKETS_PAGE: usize = 100;

/// What a pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Reconciled {
    /// Keys and records looked at.
    pub examined: u64,
    /// Objects recorded (lost events, SFTP uploads).
    pub recorded: u64,
    /// Objects refused and deleted (a rule broken; why is logged and kept as a rejection).
    pub refused: u64,
    /// Records removed because their object is gone.
    pub removed: u64,
    /// Where the next page starts (a file name), `None` when the bucket is done.
    pub next: Option<String>,
    /// The last name done (while the page runs).
    #[serde(skip)]
    last: Option<String>,
}

/// Where a page that did nothing goes on from: where it started.
fn after_or_empty(after: Option<&str>) -> String {
    after.unwrap_or_default().to_string()
}

impl Reconciled {
    fn add(&mut self, o: &Reconciled) {
        self.examined += o.examined;
        self.recorded += o.recorded;
        self.refused += o.refused;
        self.removed += o.removed;
    }

    fn count(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Recorded => self.recorded += 1,
            Outcome::Rejected(_) => self.refused += 1,
            _ => {}
        }
    }
}

impl<S: BucketStore + FileStore + CascadeStore, O: ObjectStore> Services<S, O> {
    /// One page of `bucket`'s keys and records after name `after`, at most `max` of each, in
    /// name order; stops early (with `next`) once `deadline` has passed.
    pub async fn reconcile_page(
        &self,
        bucket: &Bucket,
        after: Option<&str>,
        max: usize,
        deadline: Option<Instant>,
    ) -> Result<Reconciled> {
        // "" is the start (as no `after`): no key of the bucket is empty.
        let after = after.filter(|a| !a.is_empty());
        let (id, generation) = (&bucket.id, &bucket.generation);
        let prefix = object_prefix(id, generation);
        let start_after = after.map(|a| format!("{prefix}{a}"));
        let max = max.clamp(1, PAGE_KEYS);
        let listed = self
            .objects
            .list_current(&prefix, start_after.as_deref(), max)
            .await?;
        let path = |key: &str| key[prefix.len()..].to_string();
        // The page covers names up to `upper` (everything when nothing is left to list).
        let mut upper: Option<String> = listed
            .truncated
            .then(|| listed.objects.last().map(|o| path(&o.key)))
            .flatten();
        let mut records: BTreeMap<String, FileRecord> = BTreeMap::new();
        let mut cursor = after.map(str::to_string);
        loop {
            let page = self
                .store
                .list_files(id, generation, cursor.as_deref(), max)
                .await?;
            let mut past_upper = false;
            for r in page.files {
                if upper.as_ref().is_some_and(|u| &r.name > u) {
                    past_upper = true;
                    break;
                }
                records.insert(r.name.clone(), r);
            }
            if past_upper || !page.has_more {
                break;
            }
            if records.len() >= max {
                // As many records as keys: the page ends at the last record read.
                upper = records.keys().next_back().cloned();
                break;
            }
            cursor = page.last_key;
        }
        let within = |p: &str| upper.as_deref().is_none_or(|u| p <= u);
        // Every name of the page, in order: its listed object, its record, or both.
        let mut names: BTreeMap<String, (Option<&CurrentObject>, Option<&FileRecord>)> =
            BTreeMap::new();
        for object in &listed.objects {
            let p = path(&object.key);
            if within(&p) {
                names.entry(p).or_default().0 = Some(object);
            }
        }
        for (name, record) in &records {
            names.entry(name.clone()).or_default().1 = Some(record);
        }
        let mut done = Reconciled::default();
        for (name, pair) in &names {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                // Out of time (the API's 30 s): the next page starts after the last name done.
                done.next = Some(done.last.clone().unwrap_or_else(|| after_or_empty(after)));
                return Ok(done);
            }
            done.examined += 1;
            match *pair {
                (Some(object), record) => {
                    let described =
                        record.is_some_and(|r| r.etag == object.etag && r.size == object.size);
                    if !described {
                        let outcome = self.reconcile_key(&object.key).await?;
                        done.count(&outcome);
                    }
                }
                (None, Some(record)) => {
                    let key = object_key(id, generation, name);
                    match self.objects.head(&ObjectVersion::new(&key, None)).await? {
                        None => {
                            self.remove_file(bucket, record, SFTP_UPLOADER).await?;
                            tracing::info!(key, "record of a deleted object removed");
                            done.removed += 1;
                        }
                        Some(meta)
                            if meta.version_id.as_deref() != Some(record.version_id.as_str()) =>
                        {
                            let outcome = self.reconcile_key(&key).await?;
                            done.count(&outcome);
                        }
                        Some(_) => {}
                    }
                }
                (None, None) => {}
            }
            done.last = Some(name.clone());
        }
        done.next = upper;
        done.last = None;
        Ok(done)
    }

    /// A delete marker was written on `key` (an SFTP user's delete): when the key has no
    /// object any more, its record goes; when an upload came after the marker, it is processed.
    /// Returns whether a record was removed.
    pub async fn object_removed(&self, key: &str) -> Result<bool> {
        let Some(parts) = parse_object_key(key) else {
            return Ok(false);
        };
        let bucket = match self.store.get(&parts.bucket_id).await? {
            Some(b) if b.generation == parts.generation => b,
            _ => return Ok(false),
        };
        let Some(record) = self
            .store
            .get_file(&bucket.id, &bucket.generation, &parts.name)
            .await?
        else {
            return Ok(false);
        };
        match self.objects.head(&ObjectVersion::new(key, None)).await? {
            None => {
                self.remove_file(&bucket, &record, SFTP_UPLOADER).await?;
                Ok(true)
            }
            Some(meta) if meta.version_id.as_deref() != Some(record.version_id.as_str()) => {
                self.reconcile_key(key).await?;
                Ok(false)
            }
            Some(_) => Ok(false),
        }
    }

    /// Processes `key`'s latest version as its event would have.
    async fn reconcile_key(&self, key: &str) -> Result<Outcome> {
        match self.objects.head(&ObjectVersion::new(key, None)).await? {
            None => Ok(Outcome::Gone),
            Some(meta) => {
                self.process_upload(key, meta.version_id.as_deref(), None)
                    .await
            }
        }
    }

    /// The whole of `bucket`, page after page, examining at most `budget` keys; `next` says
    /// where it stopped when the budget ran out.
    pub async fn reconcile_bucket(
        &self,
        bucket: &Bucket,
        budget: usize,
        deadline: Option<Instant>,
    ) -> Result<Reconciled> {
        let mut total = Reconciled::default();
        let mut after: Option<String> = None;
        loop {
            let left = budget.saturating_sub(total.examined as usize);
            let late = deadline.is_some_and(|d| Instant::now() >= d);
            if left == 0 || late {
                total.next = Some(after.unwrap_or_default());
                return Ok(total);
            }
            let page = self
                .reconcile_page(bucket, after.as_deref(), left.min(PAGE_KEYS), deadline)
                .await?;
            total.add(&page);
            match page.next {
                // A page that did nothing ran out of time: stop here.
                Some(next) if page.examined == 0 => {
                    total.next = Some(next);
                    return Ok(total);
                }
                Some(next) => after = Some(next),
                None => return Ok(total),
            }
        }
    }
}

/// The incarnations registered for the scheduled pass, a page at a time in key order (an
/// empty page: no more).
#[derive(Default)]
pub(super) struct Registrations {
    after: Option<String>,
    done: bool,
}

impl Registrations {
    pub(super) async fn next<S: SftpUserStore>(&mut self, store: &S) -> Result<Vec<SftpBucket>> {
        if self.done {
            return Ok(Vec::new());
        }
        let page = store
            .list_sftp_buckets(self.after.as_deref(), BUCKETS_PAGE)
            .await?;
        self.done = page.len() < BUCKETS_PAGE;
        if let Some(last) = page.last() {
            self.after = Some(format!("{}#{}#", last.id, last.generation));
        }
        Ok(page)
    }
}

impl<S: BucketStore + FileStore + CascadeStore + SftpUserStore + WebhookStore, O: ObjectStore>
    Services<S, O>
{
    /// Judges the origins of every registered incarnation's SFTP users (no S3: a query per
    /// bucket), so that a user whose maker's key was revoked or expired stops within one
    /// period, however large the buckets before it are.
    async fn judge_registered(&self, deadline: Instant) -> Result<()> {
        let mut pages = Registrations::default();
        loop {
            let page = pages.next(&self.store).await?;
            if page.is_empty() {
                return Ok(());
            }
            for registered in &page {
                if Instant::now() >= deadline {
                    tracing::warn!(
                        "judging SFTP users' origins ran out of time; the next run goes on"
                    );
                    return Ok(());
                }
                if let Some(bucket) = self
                    .store
                    .get(&registered.id)
                    .await?
                    .filter(|b| b.generation == registered.generation)
                {
                    self.judge_sftp_origins(&bucket).await?;
                }
            }
        }
    }

    /// The scheduled pass: every incarnation that has SFTP users (whose writes may fire no
    /// event), at most `RUN_KEYS` keys in all (a bucket visited counts as one). Registrations
    /// of deleted buckets, and of buckets with no user left, are dropped.
    pub async fn reconcile_registered(&self) -> Result<Reconciled> {
        let deadline = Instant::now() + std::time::Duration::from_secs(RUN_SECONDS);
        // First, and over every registration: the budget below may stop before the last.
        self.judge_registered(deadline).await?;
        let mut total = Reconciled::default();
        let mut pages = Registrations::default();
        loop {
            let page = pages.next(&self.store).await?;
            if page.is_empty() {
                return Ok(total);
            }
            for registered in &page {
                let left = RUN_KEYS.saturating_sub(total.examined as usize);
                if left == 0 || Instant::now() >= deadline {
                    tracing::warn!("reconciliation budget spent; the next run goes on");
                    return Ok(total);
                }
                // Each visit costs at least one unit of the budget, so the registrations a run
                // reads are bounded too.
                total.examined += 1;
                match self.store.get(&registered.id).await? {
                    Some(bucket) if bucket.generation == registered.generation => {
                        let users = self
                            .store
                            .list_sftp_users(&bucket.id, &bucket.generation, None, 1)
                            .await?;
                        let done = self.reconcile_bucket(&bucket, left, Some(deadline)).await?;
                        total.add(&done);
                        // No SFTP user left to write: after this last pass, no more visits
                        // (a new user registers the bucket again; one created meanwhile puts
                        // the registration back).
                        if users.users.is_empty() && done.next.is_none() {
                            self.store.unregister_sftp_bucket(registered).await?;
                            let again = self
                                .store
                                .list_sftp_users(&bucket.id, &bucket.generation, None, 1)
                                .await?;
                            if !again.users.is_empty() {
                                self.store.register_sftp_bucket(registered).await?;
                            }
                        }
                    }
                    _ => self.store.unregister_sftp_bucket(registered).await?,
                }
            }
        }
    }
}
