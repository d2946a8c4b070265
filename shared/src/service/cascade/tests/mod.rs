//! The cascade over in-memory stores that keep to the services' limits and can be told to fail.

use std::time::{Duration, Instant};

use super::*;

mod fake;
use crate::domain::cascade::Marker;
use fake::{Fake, key};

/// A deleted incarnation `b1/g1` with `files` objects and records (and as many grants), 11 data
/// items, 3 rejections and 2 file markers; plus a live incarnation `b1/g2` and a bucket `b10`
/// whose keys share the prefix, which must survive.
fn seeded(files: usize) -> (Fake, usize) {
    let fake = Fake::default();
    {
        let mut objects = fake.objects.lock().unwrap();
        let mut items = fake.items.lock().unwrap();
        for i in 0..files {
            objects.insert(format!("b1/g1/f{i:07}.csv"));
            items.insert(key("files:b1#g1", &format!("f{i:07}.csv")));
            items.insert(key("grants:b1#g1", &format!("u{i:07}")));
        }
        for r in 0..11 {
            items.insert(key("data:b1#g1", &format!("rev{r:020}")));
        }
        for r in 0..3 {
            items.insert(key("rejections:b1#g1", &format!("r{r}")));
        }
        items.insert(key("markers", "b1#g1#u1"));
        items.insert(key("markers", "b1#g1#u2"));
        // Survivors.
        objects.insert("b1/g2/new.csv".into());
        objects.insert("b10/g1/other.csv".into());
        items.insert(key("files:b1#g2", "new.csv"));
        items.insert(key("files:b10#g1", "other.csv"));
        items.insert(key("markers", "b1#g2#u9"));
        items.insert(key("markers", "b10#g1"));
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
    assert_eq!(objects, ["b1/g2/new.csv", "b10/g1/other.csv"]);
    assert_eq!(
        items,
        [
            key("files:b1#g2", "new.csv"),
            key("files:b10#g1", "other.csv"),
            key("markers", "b1#g2#u9"),
            key("markers", "b10#g1"),
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
        objects: vec![
            ObjectVersion::new("b1/g1/f0000001.csv", None),
            ObjectVersion::new("b1/g1/gone", None),
        ],
    };
    let mut tally = Tally::default();
    assert_eq!(
        run_pass(&fake, &fake, &job, &ample(), &mut tally)
            .await
            .unwrap(),
        Pass::Done
    );
    let (objects, _) = survivors(&fake);
    assert!(!objects.contains(&"b1/g1/f0000001.csv".to_string()));
    assert!(objects.contains(&"b1/g1/f0000000.csv".to_string()));
    assert!(objects.contains(&"b1/g1/f0000002.csv".to_string()));
    assert_eq!(tally.delete_objects, 1);
}

#[tokio::test]
async fn stale_index_entries_are_removed_after_the_content() {
    let (fake, _) = seeded(1);
    fake.items
        .lock()
        .unwrap()
        .insert(key("listing:user:a", "b1"));
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
