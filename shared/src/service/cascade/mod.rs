//! Delete cascades: removing everything under a deleted bucket incarnation (S3 objects under its
//! prefix, its data document and revisions, file records, grants, rejections, file markers and
//! any stale index entries), or the objects of one deleted file.
//!
//! A cascade is described by a durable **marker** item written in the same transaction as the
//! deletion itself (see `store::CascadeStore`). The marker's stream record triggers the cascade
//! function; each invocation runs one **pass** within a time budget. A pass that runs out of time
//! saves its progress on the marker, and that write is the trigger of the next pass, so a bucket
//! of any size finishes over as many invocations as it needs. A pass deletes what it lists, so a
//! pass that is killed at any step and redelivered simply lists what is left: every step is
//! idempotent. The marker is deleted last, once nothing is left.
//!
//! Calls are batched at the services' limits (DeleteObjects: 1000 keys, BatchWriteItem: 25
//! requests, carried across partitions so the count stays at the floor), run with bounded
//! parallelism, and partial failures (per-key S3 errors, unprocessed items) are retried with
//! backoff. Every port call is one AWS call, and each is counted in a [`Tally`].

use std::future::Future;
use std::time::{Duration, Instant};

use crate::domain::cascade::{Job, Tally, object_prefix};
use crate::ports::{CascadeStore, ItemKey, ObjectStore, ObjectVersion, StoreError};
use futures_util::future::{Either, select};
use futures_util::stream::{FuturesUnordered, StreamExt};

/// DeleteObjects takes at most 1000 keys.
pub const OBJECT_BATCH: usize = 1000;
/// BatchWriteItem takes at most 25 requests.
pub const ITEM_BATCH: usize = 25;
/// Keys read per Query page (DynamoDB also stops at 1 MB).
pub const QUERY_PAGE: usize = 1000;
/// Delete calls one cascade keeps in flight at once.
pub const PARALLEL_DELETES: usize = 4;
/// Attempts for a batch whose keys or items keep coming back unprocessed.
const BATCH_ATTEMPTS: u32 = 8;

/// How a pass ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// Nothing is left.
    Done,
    /// Out of time: another pass must follow.
    More,
}

/// What a pass may spend, and a hook after each successful delete call: the deployed function
/// passes one that does nothing; the end-to-end crash test (tests/tests/cascade.rs) runs the
/// cascade in its own process and stops it there, mid-way.
pub struct Budget<'a> {
    pub until: Instant,
    pub after_delete_call: &'a (dyn Fn() + Send + Sync),
}

impl Budget<'_> {
    fn spent(&self) -> bool {
        Instant::now() >= self.until
    }
}

/// Backoff before retry `attempt` (1-based): 50 ms doubling, at most ~3 s.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(50u64 << attempt.min(6))
}

/// Runs one pass of `job`, adding what it did to `tally`.
pub async fn run_pass<S: CascadeStore, O: ObjectStore>(
    store: &S,
    objects: &O,
    job: &Job,
    budget: &Budget<'_>,
    tally: &mut Tally,
) -> Result<Pass, StoreError> {
    match job {
        Job::Objects { objects: versions } => {
            let mut in_flight = InFlight::new();
            for chunk in versions.chunks(OBJECT_BATCH) {
                in_flight
                    .push(delete_objects(objects, chunk.to_vec(), budget), tally)
                    .await?;
            }
            in_flight.settle(0, tally).await?;
            Ok(Pass::Done)
        }
        Job::Bucket {
            id,
            generation,
            stale_index,
        } => {
            if purge_prefix(objects, &object_prefix(id, generation), budget, tally).await?
                == Pass::More
            {
                return Ok(Pass::More);
            }
            if purge_items(store, id, generation, budget, tally).await? == Pass::More {
                return Ok(Pass::More);
            }
            if !stale_index.is_empty() {
                tally.other_calls += store.delete_stale_index(id, stale_index).await?;
            }
            Ok(Pass::Done)
        }
    }
}

/// Deletes every object under `prefix`: pages are listed one after another while up to
/// `PARALLEL_DELETES` DeleteObjects calls run. A later pass lists from the start again.
async fn purge_prefix<O: ObjectStore>(
    objects: &O,
    prefix: &str,
    budget: &Budget<'_>,
    tally: &mut Tally,
) -> Result<Pass, StoreError> {
    let mut in_flight = InFlight::new();
    let mut token: Option<String> = None;
    // Every pass gets through at least one page, so even a tiny budget makes progress.
    loop {
        let listing = objects.list_versions(prefix, token.take(), OBJECT_BATCH);
        let page = in_flight.alongside(listing, tally).await?;
        tally.list_objects += 1;
        if !page.objects.is_empty() {
            in_flight
                .push(delete_objects(objects, page.objects, budget), tally)
                .await?;
        }
        match page.next {
            Some(next) => token = Some(next),
            None => break,
        }
        if budget.spent() {
            in_flight.settle(0, tally).await?;
            return Ok(Pass::More);
        }
    }
    in_flight.settle(0, tally).await?;
    Ok(Pass::Done)
}

/// Deletes every table item of the incarnation, partition by partition, in BatchWriteItems of
/// 25 filled across partitions.
async fn purge_items<S: CascadeStore>(
    store: &S,
    id: &str,
    generation: &str,
    budget: &Budget<'_>,
    tally: &mut Tally,
) -> Result<Pass, StoreError> {
    let mut in_flight = InFlight::new();
    let mut pending: Vec<ItemKey> = Vec::with_capacity(ITEM_BATCH);
    // A pass stops for time only once it has found something to delete, so each one progresses.
    let mut found = false;
    for set in store.incarnation_items(id, generation) {
        let mut after: Option<ItemKey> = None;
        loop {
            // Out of time: send what was listed and finish what is in flight.
            if found && budget.spent() {
                if !pending.is_empty() {
                    let batch = std::mem::take(&mut pending);
                    in_flight
                        .push(delete_items(store, batch, budget), tally)
                        .await?;
                }
                in_flight.settle(0, tally).await?;
                return Ok(Pass::More);
            }
            let query = store.item_keys(&set, after.take(), QUERY_PAGE);
            let page = in_flight.alongside(query, tally).await?;
            tally.query += 1;
            found |= !page.keys.is_empty();
            for key in page.keys {
                pending.push(key);
                if pending.len() == ITEM_BATCH {
                    let batch = std::mem::replace(&mut pending, Vec::with_capacity(ITEM_BATCH));
                    in_flight
                        .push(delete_items(store, batch, budget), tally)
                        .await?;
                }
            }
            match page.last {
                Some(last) => after = Some(last),
                None => break,
            }
        }
    }
    if !pending.is_empty() {
        in_flight
            .push(delete_items(store, pending, budget), tally)
            .await?;
    }
    in_flight.settle(0, tally).await?;
    Ok(Pass::Done)
}

type BatchResult = Result<Tally, (Tally, StoreError)>;

/// Delete calls in flight (at most `PARALLEL_DELETES`), kept running while the next page is
/// read. The first failure stops the pass, once the others in flight have ended (nothing runs
/// on unobserved).
struct InFlight<F> {
    calls: FuturesUnordered<F>,
    failure: Option<StoreError>,
}

impl<F: Future<Output = BatchResult>> InFlight<F> {
    fn new() -> Self {
        InFlight {
            calls: FuturesUnordered::new(),
            failure: None,
        }
    }

    fn record(&mut self, result: BatchResult, tally: &mut Tally) {
        match result {
            Ok(t) => tally.add(&t),
            Err((t, e)) => {
                tally.add(&t);
                self.failure.get_or_insert(e);
            }
        }
    }

    /// Adds a call, waiting while `PARALLEL_DELETES` already run.
    async fn push(&mut self, call: F, tally: &mut Tally) -> Result<(), StoreError> {
        self.calls.push(call);
        self.settle(PARALLEL_DELETES - 1, tally).await
    }

    /// Awaits `read` (a list or query page) while the calls in flight go on.
    async fn alongside<T>(&mut self, read: impl Future<Output = T>, tally: &mut Tally) -> T {
        let mut read = std::pin::pin!(read);
        loop {
            if self.calls.is_empty() {
                return read.await;
            }
            match select(read.as_mut(), self.calls.next()).await {
                Either::Left((out, _)) => return out,
                Either::Right((Some(result), _)) => self.record(result, tally),
                Either::Right((None, _)) => {}
            }
        }
    }

    /// Waits until at most `keep` calls remain (none after a failure), then reports the failure.
    async fn settle(&mut self, keep: usize, tally: &mut Tally) -> Result<(), StoreError> {
        while self.calls.len() > keep || (self.failure.is_some() && !self.calls.is_empty()) {
            match self.calls.next().await {
                Some(result) => self.record(result, tally),
                None => break,
            }
        }
        self.failure.take().map_or(Ok(()), Err)
    }
}

/// Which service a batch deletion goes to: where its calls and deletions are tallied.
#[derive(Clone, Copy)]
enum Batch {
    Objects,
    Items,
}

impl Batch {
    fn tally(self, t: &mut Tally, deleted: u64) {
        let (calls, done) = match self {
            Batch::Objects => (&mut t.delete_objects, &mut t.objects_deleted),
            Batch::Items => (&mut t.batch_write_item, &mut t.items_deleted),
        };
        *calls += 1;
        *done += deleted;
    }
}

/// One batch deletion (`call` deletes the keys it is given and returns those it could not),
/// retrying what was left, and the whole call when the service was unavailable, with backoff.
async fn delete_batch<K: Clone, F, Fut>(
    batch: Batch,
    mut keys: Vec<K>,
    call: F,
    budget: &Budget<'_>,
) -> Result<Tally, (Tally, StoreError)>
where
    F: Fn(Vec<K>) -> Fut,
    Fut: Future<Output = Result<Vec<K>, StoreError>>,
{
    let mut t = Tally::default();
    for attempt in 1..=BATCH_ATTEMPTS {
        let asked = keys.len() as u64;
        match call(keys.clone()).await {
            Ok(left) => {
                batch.tally(&mut t, asked - left.len() as u64);
                (budget.after_delete_call)();
                if left.is_empty() {
                    return Ok(t);
                }
                keys = left;
            }
            Err(StoreError::Unavailable(why)) if attempt < BATCH_ATTEMPTS => {
                batch.tally(&mut t, 0);
                tracing::warn!(why, attempt, "batch deletion unavailable; retrying it");
            }
            Err(e) => {
                batch.tally(&mut t, 0);
                return Err((t, e));
            }
        }
        tokio::time::sleep(backoff(attempt)).await;
    }
    Err((
        t,
        StoreError::Unavailable(format!(
            "{} keys could not be deleted after {BATCH_ATTEMPTS} attempts",
            keys.len()
        )),
    ))
}

/// One DeleteObjects batch (of versions), retrying those S3 reports as failed.
async fn delete_objects<O: ObjectStore>(
    objects: &O,
    versions: Vec<ObjectVersion>,
    budget: &Budget<'_>,
) -> Result<Tally, (Tally, StoreError)> {
    let call = |versions: Vec<ObjectVersion>| async move {
        let failed = objects.delete_versions(&versions).await?;
        if let Some(first) = failed.first() {
            tracing::warn!(failed = failed.len(), ?first, "S3 refused some deletions");
        }
        Ok(failed.into_iter().map(|f| f.object).collect())
    };
    delete_batch(Batch::Objects, versions, call, budget).await
}

/// One BatchWriteItem of deletions, retrying unprocessed items.
async fn delete_items<S: CascadeStore>(
    store: &S,
    keys: Vec<ItemKey>,
    budget: &Budget<'_>,
) -> Result<Tally, (Tally, StoreError)> {
    let call = |keys: Vec<ItemKey>| async move { store.delete_items(&keys).await };
    delete_batch(Batch::Items, keys, call, budget).await
}

/// What became of one marker in an invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Finished: nothing is left and the marker is gone. `tally` covers every pass.
    Finished { passes: u64, tally: Tally },
    /// Out of time: progress saved, the next pass follows.
    Continued { passes: u64 },
    /// The marker was already gone (a repeated or late trigger).
    AlreadyDone,
}

/// Runs one pass of the cascade `marker_key` names: on `Done` the marker goes, on `More` the
/// pass is saved (which triggers the next). Errors leave the marker as it was, to be retried.
pub async fn process_marker<S: CascadeStore, O: ObjectStore>(
    store: &S,
    objects: &O,
    marker_key: &str,
    budget: &Budget<'_>,
) -> Result<Outcome, StoreError> {
    let Some(mut marker) = store.get_marker(marker_key).await? else {
        return Ok(Outcome::AlreadyDone);
    };
    let mut pass = Tally {
        other_calls: 1,
        ..Tally::default()
    };
    let result = run_pass(store, objects, &marker.job, budget, &mut pass).await?;
    marker.passes += 1;
    pass.other_calls += 1;
    marker.tally.add(&pass);
    match result {
        Pass::Done => {
            store.delete_marker(marker_key).await?;
            Ok(Outcome::Finished {
                passes: marker.passes,
                tally: marker.tally,
            })
        }
        Pass::More => {
            store.save_pass(&marker).await?;
            Ok(Outcome::Continued {
                passes: marker.passes,
            })
        }
    }
}

/// Re-triggers pending cascades: each marker not written since `idle_since` (ms; `None`: every
/// marker) is touched, which the stream delivers again. An operator replays all after failures
/// went to the dead-letter queue; the hourly sweep replays those idle for an hour (their
/// stream records were dead-lettered or outlived the stream's 24 h). Returns how many.
pub async fn replay<S: CascadeStore>(
    store: &S,
    idle_since: Option<i64>,
) -> Result<u64, StoreError> {
    let mut touched = 0;
    let mut after: Option<String> = None;
    loop {
        let page = store
            .list_markers(after.as_deref(), 100, idle_since)
            .await?;
        for key in &page.keys {
            if store.touch_marker(key).await? {
                touched += 1;
            }
        }
        // The cursor is the last marker read, idle or not, so a page with none idle goes on.
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(touched),
        }
    }
}

#[cfg(test)]
mod tests;
