//! The cascade over in-memory stores that keep to the services' limits and can be told to fail.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::*;
use crate::domain::cascade::Marker;
use crate::ports::MarkerPage;
use crate::ports::{FailedKey, ObjectMeta, ObjectPage, Presigned, PutSpec};
use crate::ports::{ItemSet, KeyPage};

#[derive(Default)]
struct Fake {
    objects: Mutex<BTreeSet<String>>,
    items: Mutex<BTreeSet<ItemKey>>,
    markers: Mutex<BTreeMap<String, Marker>>,
    /// Calls as the services would count them.
    seen: Mutex<Tally>,
    /// The next N DeleteObjects report their first key as failed.
    refuse_first_key: Mutex<u32>,
    /// The next N BatchWriteItems leave their last item unprocessed.
    leave_last_item: Mutex<u32>,
    /// Every DeleteObjects fails.
    s3_down: bool,
}

/// Up to `limit` of the sorted `all` after `after`, and the cursor of the next page (the last
/// key given) when more remain: how both services page.
fn page<'a, T: Clone + Ord + 'a>(
    all: impl Iterator<Item = &'a T>,
    after: Option<&T>,
    limit: usize,
) -> (Vec<T>, Option<T>) {
    let mut keys: Vec<T> = all
        .filter(|k| after.is_none_or(|a| *k > a))
        .take(limit + 1)
        .cloned()
        .collect();
    let more = keys.len() > limit;
    keys.truncate(limit);
    let next = more.then(|| keys.last().cloned()).flatten();
    (keys, next)
}

fn take(counter: &Mutex<u32>) -> bool {
    let mut c = counter.lock().unwrap();
    if *c > 0 {
        *c -= 1;
        true
    } else {
        false
    }
}

impl ObjectStore for Fake {
    async fn presign_put(&self, _: &PutSpec<'_>) -> Result<Presigned, StoreError> {
        unreachable!()
    }
    async fn presign_get(&self, _: &str, _: &str, _: u64) -> Result<Presigned, StoreError> {
        unreachable!()
    }
    async fn head(&self, _: &str) -> Result<Option<ObjectMeta>, StoreError> {
        unreachable!()
    }
    async fn delete(&self, _: &str) -> Result<(), StoreError> {
        unreachable!()
    }

    async fn list_keys(
        &self,
        prefix: &str,
        token: Option<String>,
        max: usize,
    ) -> Result<ObjectPage, StoreError> {
        assert!(max <= 1000, "ListObjectsV2 returns at most 1000 keys");
        self.seen.lock().unwrap().list_objects += 1;
        let objects = self.objects.lock().unwrap();
        let (keys, next) = page(
            objects.iter().filter(|k| k.starts_with(prefix)),
            token.as_ref(),
            max,
        );
        Ok(ObjectPage { keys, next })
    }

    async fn delete_keys(&self, keys: &[String]) -> Result<Vec<FailedKey>, StoreError> {
        assert!(keys.len() <= 1000, "DeleteObjects takes at most 1000 keys");
        self.seen.lock().unwrap().delete_objects += 1;
        if self.s3_down {
            return Err(StoreError::Other("AccessDenied".into()));
        }
        let refused = take(&self.refuse_first_key).then(|| keys[0].clone());
        let mut objects = self.objects.lock().unwrap();
        let mut failed = vec![];
        for k in keys {
            if Some(k) == refused.as_ref() {
                failed.push(FailedKey {
                    key: k.clone(),
                    code: "InternalError".into(),
                });
            } else {
                objects.remove(k);
            }
        }
        Ok(failed)
    }
}

impl CascadeStore for Fake {
    async fn get_marker(&self, key: &str) -> Result<Option<Marker>, StoreError> {
        Ok(self.markers.lock().unwrap().get(key).cloned())
    }
    async fn save_pass(&self, marker: &Marker) -> Result<(), StoreError> {
        if let Some(m) = self.markers.lock().unwrap().get_mut(&marker.key) {
            *m = marker.clone();
        }
        Ok(())
    }
    async fn delete_marker(&self, key: &str) -> Result<(), StoreError> {
        self.markers.lock().unwrap().remove(key);
        Ok(())
    }
    async fn list_markers(
        &self,
        after: Option<&str>,
        limit: usize,
        idle_since: Option<i64>,
    ) -> Result<MarkerPage, StoreError> {
        let markers = self.markers.lock().unwrap();
        let after = after.map(str::to_string);
        let (page_keys, next) = page(markers.keys(), after.as_ref(), limit);
        let keys = page_keys
            .into_iter()
            .filter(|k| idle_since.is_none_or(|since| markers[k].updated < since))
            .collect();
        Ok(MarkerPage { keys, next })
    }
    async fn touch_marker(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.markers.lock().unwrap().contains_key(key))
    }
    fn incarnation_items(&self, id: &str, generation: &str) -> Vec<ItemSet> {
        let mut sets: Vec<ItemSet> = ["D", "F", "U", "R"]
            .iter()
            .map(|p| ItemSet {
                pk: format!("{p}#{id}#{generation}"),
                sk_prefix: None,
            })
            .collect();
        sets.push(ItemSet {
            pk: "CASCADE".into(),
            sk_prefix: Some(format!("{id}#{generation}#")),
        });
        sets
    }
    async fn item_keys(
        &self,
        set: &ItemSet,
        after: Option<ItemKey>,
        limit: usize,
    ) -> Result<KeyPage, StoreError> {
        self.seen.lock().unwrap().query += 1;
        let items = self.items.lock().unwrap();
        let in_set = items.iter().filter(|k| {
            k.pk == set.pk && set.sk_prefix.as_ref().is_none_or(|p| k.sk.starts_with(p))
        });
        let (keys, last) = page(in_set, after.as_ref(), limit);
        Ok(KeyPage { keys, last })
    }
    async fn delete_items(&self, keys: &[ItemKey]) -> Result<Vec<ItemKey>, StoreError> {
        assert!(keys.len() <= 25, "BatchWriteItem takes at most 25 requests");
        self.seen.lock().unwrap().batch_write_item += 1;
        let leave = take(&self.leave_last_item)
            .then(|| keys.last().cloned())
            .flatten();
        let mut items = self.items.lock().unwrap();
        let mut unprocessed = vec![];
        for k in keys {
            if Some(k) == leave.as_ref() {
                unprocessed.push(k.clone());
            } else {
                items.remove(k);
            }
        }
        Ok(unprocessed)
    }
    async fn delete_stale_index(&self, id: &str, principals: &[String]) -> Result<u64, StoreError> {
        let mut items = self.items.lock().unwrap();
        for p in principals {
            items.remove(&key(&format!("P#{p}"), id));
        }
        Ok(1)
    }
}

fn key(pk: &str, sk: &str) -> ItemKey {
    ItemKey {
        pk: pk.into(),
        sk: sk.into(),
    }
}

/// A deleted incarnation `b1/g1` with `files` objects and records (and as many grants), 11 data
/// items, 3 rejections and 2 file markers; plus a live incarnation `b1/g2` and a bucket `b10`
/// whose keys share the prefix, which must survive.
fn seeded(files: usize) -> (Fake, usize) {
    let fake = Fake::default();
    {
        let mut objects = fake.objects.lock().unwrap();
        let mut items = fake.items.lock().unwrap();
        for i in 0..files {
            objects.insert(format!("b1/g1/u{i:07}/f{i}.csv"));
            items.insert(key("F#b1#g1", &format!("f{i}.csv")));
            items.insert(key("U#b1#g1", &format!("u{i:07}")));
        }
        for r in 0..11 {
            items.insert(key("D#b1#g1", &format!("R#{r:020}")));
        }
        for r in 0..3 {
            items.insert(key("R#b1#g1", &format!("r{r}")));
        }
        items.insert(key("CASCADE", "b1#g1#u1"));
        items.insert(key("CASCADE", "b1#g1#u2"));
        // Survivors.
        objects.insert("b1/g2/u1/new.csv".into());
        objects.insert("b10/g1/u1/other.csv".into());
        items.insert(key("F#b1#g2", "new.csv"));
        items.insert(key("F#b10#g1", "other.csv"));
        items.insert(key("CASCADE", "b1#g2#u9"));
        items.insert(key("CASCADE", "b10#g1"));
    }
    let doomed = 2 * files + 11 + 3 + 2;
    (fake, doomed)
}

fn bucket_job() -> Job {
    Job::Bucket {
        id: "b1".into(),
        generation: "g1".into(),
        stale_index: vec![],
    }
}

fn ample() -> Budget<'static> {
    Budget {
        until: Instant::now() + Duration::from_secs(600),
        after_delete_call: &|| {},
    }
}

fn survivors(fake: &Fake) -> (Vec<String>, Vec<ItemKey>) {
    (
        fake.objects.lock().unwrap().iter().cloned().collect(),
        fake.items.lock().unwrap().iter().cloned().collect(),
    )
}

fn assert_only_survivors_left(fake: &Fake) {
    let (objects, items) = survivors(fake);
    assert_eq!(objects, ["b1/g2/u1/new.csv", "b10/g1/u1/other.csv"]);
    assert_eq!(
        items,
        [
            key("CASCADE", "b1#g2#u9"),
            key("CASCADE", "b10#g1"),
            key("F#b1#g2", "new.csv"),
            key("F#b10#g1", "other.csv"),
        ]
    );
}

/// One pass of the seeded bucket's cascade with time to spare: it must finish, leave only the
/// survivors and have deleted every object and item of the incarnation.
async fn complete_pass(fake: &Fake, objects: u64, items: usize) -> Tally {
    let mut tally = Tally::default();
    let pass = run_pass(fake, fake, &bucket_job(), &ample(), &mut tally)
        .await
        .unwrap();
    assert_eq!(pass, Pass::Done);
    assert_only_survivors_left(fake);
    assert_eq!(tally.objects_deleted, objects);
    assert_eq!(tally.items_deleted, items as u64);
    tally
}

#[tokio::test]
async fn a_bucket_cascade_removes_its_incarnation_at_the_call_floor() {
    let (fake, doomed) = seeded(2_500);
    let tally = complete_pass(&fake, 2_500, doomed).await;
    // ceil(n/1000) DeleteObjects and ceil(n/25) BatchWriteItems (batches filled across
    // partitions); list and query pages: 3 object pages, F and U three pages each, D, R and
    // the file markers one each.
    assert_eq!(tally.delete_objects, 3);
    assert_eq!(tally.batch_write_item, doomed.div_ceil(25) as u64);
    assert_eq!(tally.list_objects, 3);
    assert_eq!(tally.query, 9);
    // The tally is what the services saw.
    let seen = *fake.seen.lock().unwrap();
    assert_eq!(
        (
            seen.list_objects,
            seen.delete_objects,
            seen.query,
            seen.batch_write_item
        ),
        (
            tally.list_objects,
            tally.delete_objects,
            tally.query,
            tally.batch_write_item
        )
    );
}

#[tokio::test]
async fn partial_batch_failures_are_retried_until_nothing_is_left() {
    let (fake, doomed) = seeded(1_200);
    *fake.refuse_first_key.lock().unwrap() = 2;
    *fake.leave_last_item.lock().unwrap() = 3;
    let tally = complete_pass(&fake, 1_200, doomed).await;
    // The floor plus one call per retried batch.
    assert_eq!(tally.delete_objects, 2 + 2);
    assert_eq!(tally.batch_write_item, doomed.div_ceil(25) as u64 + 3);
}

#[tokio::test]
async fn a_failure_retries_cannot_fix_fails_the_pass_and_keeps_the_marker() {
    let (mut fake, _) = seeded(10);
    fake.s3_down = true;
    fake.markers.lock().unwrap().insert(
        "b1#g1".into(),
        Marker {
            key: "b1#g1".into(),
            job: bucket_job(),
            passes: 0,
            tally: Tally::default(),
            updated: 0,
        },
    );
    let err = process_marker(&fake, &fake, "b1#g1", &ample())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Other(_)), "{err:?}");
    assert!(fake.markers.lock().unwrap().contains_key("b1#g1"));
}

#[tokio::test]
async fn a_cascade_out_of_time_continues_in_later_passes_until_done() {
    let (fake, doomed) = seeded(2_500);
    fake.markers.lock().unwrap().insert(
        "b1#g1".into(),
        Marker {
            key: "b1#g1".into(),
            job: bucket_job(),
            passes: 0,
            tally: Tally::default(),
            updated: 0,
        },
    );
    // No time at all: each pass gets through one page.
    let spent = Budget {
        until: Instant::now(),
        after_delete_call: &|| {},
    };
    let mut invocations = 0;
    let (passes, tally) = loop {
        invocations += 1;
        assert!(invocations < 100, "the cascade does not progress");
        match process_marker(&fake, &fake, "b1#g1", &spent).await.unwrap() {
            Outcome::Continued { passes } => {
                assert_eq!(passes, invocations);
                assert_eq!(fake.markers.lock().unwrap()["b1#g1"].passes, passes);
            }
            Outcome::Finished { passes, tally } => break (passes, tally),
            Outcome::AlreadyDone => panic!("the marker went early"),
        }
    };
    assert!(passes > 3, "{passes}");
    assert_eq!(passes, invocations);
    assert_only_survivors_left(&fake);
    assert!(fake.markers.lock().unwrap().is_empty());
    // The tally adds up over all passes.
    assert_eq!(tally.objects_deleted, 2_500);
    assert_eq!(tally.items_deleted, doomed as u64);
    assert_eq!(tally.other_calls, 2 * passes);
    // A repeated trigger after the end does nothing.
    assert_eq!(
        process_marker(&fake, &fake, "b1#g1", &ample())
            .await
            .unwrap(),
        Outcome::AlreadyDone
    );
}

#[tokio::test]
async fn an_objects_job_deletes_exactly_its_keys() {
    let (fake, _) = seeded(3);
    let job = Job::Objects {
        keys: vec!["b1/g1/u0000001/f1.csv".into(), "b1/g1/gone".into()],
    };
    let mut tally = Tally::default();
    assert_eq!(
        run_pass(&fake, &fake, &job, &ample(), &mut tally)
            .await
            .unwrap(),
        Pass::Done
    );
    let (objects, _) = survivors(&fake);
    assert!(!objects.contains(&"b1/g1/u0000001/f1.csv".to_string()));
    assert!(objects.contains(&"b1/g1/u0000000/f0.csv".to_string()));
    assert_eq!(tally.delete_objects, 1);
}

#[tokio::test]
async fn stale_index_entries_are_removed_after_the_content() {
    let (fake, _) = seeded(1);
    fake.items.lock().unwrap().insert(key("P#user:a", "b1"));
    let job = Job::Bucket {
        id: "b1".into(),
        generation: "g1".into(),
        stale_index: vec!["user:a".into()],
    };
    let mut tally = Tally::default();
    run_pass(&fake, &fake, &job, &ample(), &mut tally)
        .await
        .unwrap();
    assert_only_survivors_left(&fake);
    assert_eq!(tally.other_calls, 1);
}

#[tokio::test]
async fn the_fault_hook_sees_every_delete_call() {
    let (fake, doomed) = seeded(1_500);
    let calls = std::sync::atomic::AtomicU64::new(0);
    let hook = || {
        calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    };
    let budget = Budget {
        until: Instant::now() + Duration::from_secs(600),
        after_delete_call: &hook,
    };
    let mut tally = Tally::default();
    run_pass(&fake, &fake, &bucket_job(), &budget, &mut tally)
        .await
        .unwrap();
    assert_eq!(
        calls.load(std::sync::atomic::Ordering::SeqCst),
        2 + doomed.div_ceil(25) as u64
    );
}

#[tokio::test]
async fn replay_touches_pending_markers_or_only_the_idle_ones() {
    let fake = Fake::default();
    add_markers(&fake, 250, |i| i % 5 == 0);
    assert_eq!(replay(&fake, None).await.unwrap(), 250);
    assert_eq!(replay(&fake, Some(5_000)).await.unwrap(), 50);
}

#[tokio::test]
async fn the_sweep_reaches_idle_markers_behind_pages_of_busy_ones() {
    let fake = Fake::default();
    // The first 150 were written just now; only the last 50 are idle.
    add_markers(&fake, 200, |i| i >= 150);
    assert_eq!(replay(&fake, Some(5_000)).await.unwrap(), 50);
}

/// `n` pending markers; those `idle(i)` picks were last written long ago (1 s), the others
/// just now (9 s).
fn add_markers(fake: &Fake, n: usize, idle: impl Fn(usize) -> bool) {
    for i in 0..n {
        let k = format!("b{i:03}#g");
        fake.markers.lock().unwrap().insert(
            k.clone(),
            Marker {
                key: k,
                job: bucket_job(),
                passes: 0,
                tally: Tally::default(),
                updated: if idle(i) { 1_000 } else { 9_000 },
            },
        );
    }
}
