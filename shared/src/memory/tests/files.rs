//! File records, grants and rejections.

use super::*;
use crate::domain::cascade::Job;
use crate::ports::{BucketStore, FileStore, Room};

/// A live `b1`/`g1` with unspent grants `u1`…`u5` for `a.csv` (10 bytes) and a grant `ub` for
/// `b.csv`.
async fn seeded() -> MemoryStore {
    let store = MemoryStore::new();
    store
        .create(&bucket("b1", "g1", &[], &["user:w"]))
        .await
        .unwrap();
    let mut grants: Vec<Grant> = (1..=5)
        .map(|i| grant(&format!("u{i}"), "a.csv", 10))
        .collect();
    grants.push(grant("ub", "b.csv", 7));
    store.put_grants("b1", "g1", &grants).await.unwrap();
    store
}

async fn counters(store: &MemoryStore) -> (i64, i64) {
    let b = store.get("b1").await.unwrap().unwrap();
    (b.file_count, b.total_bytes)
}

#[tokio::test]
async fn grants_and_rejections_are_kept_only_under_a_live_incarnation() {
    let store = seeded().await;
    let g = store.get_grant("b1", "g1", "u1").await.unwrap().unwrap();
    assert_eq!(g, grant("u1", "a.csv", 10));
    // A grant given as spent is stored unspent, as the adapter's item has no flag until the
    // upload is recorded.
    let spent = Grant {
        recorded: true,
        ..grant("u9", "c.csv", 1)
    };
    store.put_grants("b1", "g1", &[spent]).await.unwrap();
    assert!(
        !store
            .get_grant("b1", "g1", "u9")
            .await
            .unwrap()
            .unwrap()
            .recorded
    );
    // Another generation, or no bucket at all.
    let other = [grant("x", "a.csv", 1)];
    assert_eq!(
        store.put_grants("b1", "g0", &other).await,
        Err(StoreError::Conflict)
    );
    assert_eq!(
        store.put_grants("b2", "g1", &other).await,
        Err(StoreError::Conflict)
    );
    // No grants: no call, no check.
    store.put_grants("b2", "g1", &[]).await.unwrap();
    assert!(store.keys_with_prefix("U#b1#g0").is_empty());
    assert!(store.keys_with_prefix("U#b2").is_empty());

    let r = Rejection {
        upload_id: "u1".into(),
        name: "a.csv".into(),
        reason: "too big".into(),
        at: 5,
    };
    store.put_rejection("b1", "g1", &r).await.unwrap();
    assert_eq!(
        store.get_rejection("b1", "g1", "u1").await.unwrap(),
        Some(r.clone())
    );
    assert_eq!(
        store.put_rejection("b1", "g0", &r).await,
        Err(StoreError::Conflict)
    );
    assert_eq!(store.get_rejection("b1", "g0", "u1").await.unwrap(), None);
}

#[tokio::test]
async fn recording_a_new_name_spends_the_grant_and_counts_the_file() {
    let store = seeded().await;
    let r = record("b1", "g1", "u1", "a.csv", 10);
    store
        .record_upload("b1", "g1", &r, None, &Room::files(100))
        .await
        .unwrap();
    assert_eq!(
        store.get_file("b1", "g1", "a.csv").await.unwrap(),
        Some(r.clone())
    );
    assert!(
        store
            .get_grant("b1", "g1", "u1")
            .await
            .unwrap()
            .unwrap()
            .recorded
    );
    assert_eq!(counters(&store).await, (1, 10));
    // A repeat: the record exists and the grant is spent.
    assert_eq!(
        store
            .record_upload("b1", "g1", &r, None, &Room::files(100))
            .await,
        Err(StoreError::Conflict)
    );
    assert_eq!(counters(&store).await, (1, 10));
}

#[tokio::test]
async fn recording_needs_an_unspent_grant() {
    let store = seeded().await;
    let no_grant = record("b1", "g1", "nope", "a.csv", 10);
    assert_eq!(
        store
            .record_upload("b1", "g1", &no_grant, None, &Room::files(100))
            .await,
        Err(StoreError::Conflict)
    );
    let first = record("b1", "g1", "u1", "a.csv", 10);
    store
        .record_upload("b1", "g1", &first, None, &Room::files(100))
        .await
        .unwrap();
    // A replacement under the grant already spent.
    let again = record("b1", "g1", "u1", "a.csv", 12);
    assert_eq!(
        store
            .record_upload("b1", "g1", &again, Some(&first), &Room::files(100))
            .await,
        Err(StoreError::Conflict)
    );
    assert_eq!(
        store.get_file("b1", "g1", "a.csv").await.unwrap(),
        Some(first)
    );
    assert_eq!(counters(&store).await, (1, 10));
}

#[tokio::test]
async fn a_replacement_needs_the_previous_record_still_stored() {
    let store = seeded().await;
    let r1 = record("b1", "g1", "u1", "a.csv", 10);
    store
        .record_upload("b1", "g1", &r1, None, &Room::files(100))
        .await
        .unwrap();
    // A new name's condition fails once the name exists.
    let r2_as_new = record("b1", "g1", "u2", "a.csv", 4);
    assert_eq!(
        store
            .record_upload("b1", "g1", &r2_as_new, None, &Room::files(100))
            .await,
        Err(StoreError::Conflict)
    );
    let r2 = FileRecord {
        prev_key: Some(r1.object_key.clone()),
        ..record("b1", "g1", "u2", "a.csv", 4)
    };
    store
        .record_upload("b1", "g1", &r2, Some(&r1), &Room::files(100))
        .await
        .unwrap();
    // Bytes move by the difference; the count stays.
    assert_eq!(counters(&store).await, (1, 4));
    // r1 is no longer the stored record.
    let r3 = record("b1", "g1", "u3", "a.csv", 6);
    assert_eq!(
        store
            .record_upload("b1", "g1", &r3, Some(&r1), &Room::files(100))
            .await,
        Err(StoreError::Conflict)
    );
    assert!(
        !store
            .get_grant("b1", "g1", "u3")
            .await
            .unwrap()
            .unwrap()
            .recorded
    );
    // The replaced object is forgotten once gone.
    store.clear_prev_key("b1", "g1", "a.csv").await.unwrap();
    let stored = store.get_file("b1", "g1", "a.csv").await.unwrap().unwrap();
    assert_eq!(
        stored,
        FileRecord {
            prev_key: None,
            ..r2
        }
    );
    // No record: nothing to clear, no error.
    store.clear_prev_key("b1", "g1", "zzz").await.unwrap();
}

#[tokio::test]
async fn the_file_limit_holds_only_for_new_names() {
    let store = seeded().await;
    let a = record("b1", "g1", "u1", "a.csv", 10);
    store
        .record_upload("b1", "g1", &a, None, &Room::files(1))
        .await
        .unwrap();
    let b = record("b1", "g1", "ub", "b.csv", 7);
    assert_eq!(
        store
            .record_upload("b1", "g1", &b, None, &Room::files(1))
            .await,
        Err(StoreError::Conflict)
    );
    let a2 = record("b1", "g1", "u2", "a.csv", 3);
    store
        .record_upload("b1", "g1", &a2, Some(&a), &Room::files(1))
        .await
        .unwrap();
    assert_eq!(counters(&store).await, (1, 3));
    store
        .record_upload("b1", "g1", &b, None, &Room::files(2))
        .await
        .unwrap();
    assert_eq!(counters(&store).await, (2, 10));
}

/// The byte quota and the revision are conditions of the same write as the counters (the
/// adapter's `total_bytes <= :room AND revision = :rev`).
#[tokio::test]
async fn the_byte_quota_and_the_revision_hold_in_the_recording_write() {
    let store = seeded().await;
    let revision = store.get("b1").await.unwrap().unwrap().revision;
    let room = |max_bytes: u64| Room {
        max_files: 100,
        max_bytes: Some(max_bytes),
        revision: Some(revision),
    };
    // a.csv (10 bytes) into a quota of 9: refused; of 10: recorded.
    let a = record("b1", "g1", "u1", "a.csv", 10);
    assert_eq!(
        store.record_upload("b1", "g1", &a, None, &room(9)).await,
        Err(StoreError::Conflict)
    );
    store
        .record_upload("b1", "g1", &a, None, &room(10))
        .await
        .unwrap();
    // b.csv (7) does not fit beside it in 16, does in 17.
    let b = record("b1", "g1", "ub", "b.csv", 7);
    assert_eq!(
        store.record_upload("b1", "g1", &b, None, &room(16)).await,
        Err(StoreError::Conflict)
    );
    assert_eq!(counters(&store).await, (1, 10));
    // A replacement counts only its growth: 10 → 12 bytes needs 2 more.
    let a2 = record("b1", "g1", "u2", "a.csv", 12);
    assert_eq!(
        store
            .record_upload("b1", "g1", &a2, Some(&a), &room(11))
            .await,
        Err(StoreError::Conflict)
    );
    store
        .record_upload("b1", "g1", &a2, Some(&a), &room(12))
        .await
        .unwrap();
    // A shrinking replacement is never refused, even over a quota tightened below the content.
    let a3 = record("b1", "g1", "u3", "a.csv", 5);
    store
        .record_upload("b1", "g1", &a3, Some(&a2), &room(1))
        .await
        .unwrap();
    assert_eq!(counters(&store).await, (1, 5));
    // A bucket written since the caller read its limits: a lost race, whatever the room.
    let old = store.get("b1").await.unwrap().unwrap();
    let new = old.next_revision(
        old.attrs.clone(),
        old.permissions.clone(),
        old.last_modified + 1,
    );
    store.update(&old, &new).await.unwrap();
    assert_eq!(
        store.record_upload("b1", "g1", &b, None, &room(1000)).await,
        Err(StoreError::Conflict)
    );
    let fresh = Room {
        revision: Some(new.revision),
        ..room(1000)
    };
    store
        .record_upload("b1", "g1", &b, None, &fresh)
        .await
        .unwrap();
    assert_eq!(counters(&store).await, (2, 12));
}

#[tokio::test]
async fn recording_needs_the_same_live_generation() {
    let store = seeded().await;
    let old = store.get("b1").await.unwrap().unwrap();
    store.delete(&old, 1).await.unwrap();
    store
        .create(&bucket("b1", "g2", &[], &["user:w"]))
        .await
        .unwrap();
    // The grant of g1 is still there (its cascade has not run): the bucket condition fails.
    let r = record("b1", "g1", "u1", "a.csv", 10);
    assert_eq!(
        store
            .record_upload("b1", "g1", &r, None, &Room::files(100))
            .await,
        Err(StoreError::Conflict)
    );
    assert!(store.keys_with_prefix("F#").is_empty());
    assert_eq!(counters(&store).await, (0, 0));
}

#[tokio::test]
async fn deleting_a_file_moves_the_counters_and_leaves_the_marker_of_its_objects() {
    let store = seeded().await;
    let r1 = record("b1", "g1", "u1", "a.csv", 10);
    store
        .record_upload("b1", "g1", &r1, None, &Room::files(100))
        .await
        .unwrap();
    let r2 = FileRecord {
        prev_key: Some(r1.object_key.clone()),
        ..record("b1", "g1", "u2", "a.csv", 4)
    };
    store
        .record_upload("b1", "g1", &r2, Some(&r1), &Room::files(100))
        .await
        .unwrap();
    let b = record("b1", "g1", "ub", "b.csv", 7);
    store
        .record_upload("b1", "g1", &b, None, &Room::files(100))
        .await
        .unwrap();
    assert_eq!(counters(&store).await, (2, 11));

    // Not the stored record (replaced since), or no record: nothing changes.
    assert_eq!(
        store.delete_file("b1", "g1", &r1).await,
        Err(StoreError::Conflict)
    );
    let ghost = record("b1", "g1", "u5", "ghost.csv", 1);
    assert_eq!(
        store.delete_file("b1", "g1", &ghost).await,
        Err(StoreError::Conflict)
    );
    assert!(store.markers().is_empty());

    let before = crate::domain::time::now_ms();
    store.delete_file("b1", "g1", &r2).await.unwrap();
    assert_eq!(store.get_file("b1", "g1", "a.csv").await.unwrap(), None);
    assert_eq!(counters(&store).await, (1, 7));
    let markers = store.markers();
    assert_eq!(markers.len(), 1);
    let marker = &markers[0];
    assert_eq!(marker.key, "b1#g1#u2");
    assert_eq!(
        marker.job,
        Job::Objects {
            keys: vec![r2.object_key.clone(), r1.object_key.clone()],
        }
    );
    assert_eq!(marker.passes, 0);
    assert!(marker.updated >= before);
}

#[tokio::test]
async fn files_are_listed_by_name_in_pages() {
    let store = seeded().await;
    let mut grants = vec![];
    for i in 0..5 {
        grants.push(grant(&format!("v{i}"), &format!("f{i}.csv"), 1));
    }
    store.put_grants("b1", "g1", &grants).await.unwrap();
    for i in [3, 0, 4, 1, 2] {
        let r = record("b1", "g1", &format!("v{i}"), &format!("f{i}.csv"), 1);
        store
            .record_upload("b1", "g1", &r, None, &Room::files(100))
            .await
            .unwrap();
    }
    let names =
        |p: &crate::ports::FilePage| p.files.iter().map(|f| f.name.clone()).collect::<Vec<_>>();
    let page = store.list_files("b1", "g1", None, 2).await.unwrap();
    assert_eq!(
        (names(&page), page.has_more),
        (strings(&["f0.csv", "f1.csv"]), true)
    );
    let page = store
        .list_files("b1", "g1", Some("f1.csv"), 2)
        .await
        .unwrap();
    assert_eq!(
        (names(&page), page.has_more),
        (strings(&["f2.csv", "f3.csv"]), true)
    );
    let page = store
        .list_files("b1", "g1", Some("f3.csv"), 2)
        .await
        .unwrap();
    assert_eq!((names(&page), page.has_more), (strings(&["f4.csv"]), false));
    // Another incarnation holds nothing.
    assert!(
        store
            .list_files("b1", "g0", None, 2)
            .await
            .unwrap()
            .files
            .is_empty()
    );

    let asked = strings(&["f4.csv", "x.csv", "f0.csv", "f4.csv"]);
    assert_eq!(
        store.existing_sizes("b1", "g1", &asked).await.unwrap(),
        [("f4.csv".to_string(), 1), ("f0.csv".to_string(), 1)]
    );
}

#[tokio::test]
async fn rerecording_needs_the_same_stored_object_and_moves_the_bytes() {
    let store = seeded().await;
    let r = record("b1", "g1", "u1", "a.csv", 10);
    store
        .record_upload("b1", "g1", &r, None, &Room::files(100))
        .await
        .unwrap();
    let new = FileRecord {
        size: 12,
        etag: "e2".into(),
        ..r.clone()
    };
    store.rerecord_upload("b1", "g1", &r, &new).await.unwrap();
    assert_eq!(
        store.get_file("b1", "g1", "a.csv").await.unwrap(),
        Some(new.clone())
    );
    assert_eq!(counters(&store).await, (1, 12));
    // Stale: the stored record is no longer `r` (another etag), or another upload's.
    assert_eq!(
        store.rerecord_upload("b1", "g1", &r, &new).await,
        Err(StoreError::Conflict)
    );
    let other = FileRecord {
        upload_id: "u2".into(),
        ..new.clone()
    };
    assert_eq!(
        store.rerecord_upload("b1", "g1", &other, &new).await,
        Err(StoreError::Conflict)
    );
    // Another generation.
    assert_eq!(
        store.rerecord_upload("b1", "g2", &new, &new).await,
        Err(StoreError::Conflict)
    );
    assert_eq!(counters(&store).await, (1, 12));
}

#[tokio::test]
async fn deleting_grants_takes_them_back() {
    let store = seeded().await;
    let ids = ["u1".to_string(), "u2".to_string(), "missing".to_string()];
    store.delete_grants("b1", "g1", &ids).await.unwrap();
    assert_eq!(store.get_grant("b1", "g1", "u1").await.unwrap(), None);
    assert_eq!(store.get_grant("b1", "g1", "u2").await.unwrap(), None);
    assert!(store.get_grant("b1", "g1", "u3").await.unwrap().is_some());
}
