//! File records, kept versions, grants and rejections.

use super::*;
use crate::domain::cascade::Job;
use crate::domain::files::ObjectVersion;
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
    let r = record("u1", "a.csv", 10);
    store
        .record_upload("b1", "g1", &r, None, None, &Room::files(100))
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
            .record_upload("b1", "g1", &r, None, None, &Room::files(100))
            .await,
        Err(StoreError::Conflict)
    );
    assert_eq!(counters(&store).await, (1, 10));
}

#[tokio::test]
async fn recording_needs_an_unspent_grant() {
    let store = seeded().await;
    let no_grant = record("nope", "a.csv", 10);
    assert_eq!(
        store
            .record_upload("b1", "g1", &no_grant, None, None, &Room::files(100))
            .await,
        Err(StoreError::Conflict)
    );
    let first = record("u1", "a.csv", 10);
    store
        .record_upload("b1", "g1", &first, None, None, &Room::files(100))
        .await
        .unwrap();
    // A replacement under the grant already spent (another version of its key).
    let again = FileRecord {
        version_id: "v-u1-again".into(),
        ..record("u1", "a.csv", 12)
    };
    assert_eq!(
        store
            .record_upload(
                "b1",
                "g1",
                &again,
                Some(&first),
                Some(&kept(&first, 2)),
                &Room::files(100)
            )
            .await,
        Err(StoreError::Conflict)
    );
    assert_eq!(
        store.get_file("b1", "g1", "a.csv").await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(counters(&store).await, (1, 10));
    // Nothing of the refused write is kept either.
    assert!(
        store
            .list_kept_versions("b1", "g1", &first, None, 10)
            .await
            .unwrap()
            .versions
            .is_empty()
    );
}

#[tokio::test]
async fn a_replacement_needs_the_previous_record_still_stored() {
    let store = seeded().await;
    let r1 = record("u1", "a.csv", 10);
    store
        .record_upload("b1", "g1", &r1, None, None, &Room::files(100))
        .await
        .unwrap();
    // A new name's condition fails once the name exists.
    let r2_as_new = record("u2", "a.csv", 4);
    assert_eq!(
        store
            .record_upload("b1", "g1", &r2_as_new, None, None, &Room::files(100))
            .await,
        Err(StoreError::Conflict)
    );
    let r2 = record("u2", "a.csv", 4);
    let kept_r1 = kept(&r1, 2);
    store
        .record_upload(
            "b1",
            "g1",
            &r2,
            Some(&r1),
            Some(&kept_r1),
            &Room::files(100),
        )
        .await
        .unwrap();
    assert_eq!(
        store.get_file("b1", "g1", "a.csv").await.unwrap(),
        Some(r2.clone())
    );
    // Bytes move by the difference (the kept version is not counted); the count stays.
    assert_eq!(counters(&store).await, (1, 4));
    // The replaced version is kept in the same write.
    let listed = store
        .list_kept_versions("b1", "g1", &r2, None, 10)
        .await
        .unwrap();
    assert_eq!(
        (listed.versions, listed.last),
        (vec![kept_r1.clone()], None)
    );
    assert_eq!(
        store
            .get_kept_version("b1", "g1", &r2, "v-u1")
            .await
            .unwrap(),
        Some(kept_r1.clone())
    );
    // r1 is no longer the stored record: nothing is written, its version not kept twice.
    let r3 = record("u3", "a.csv", 6);
    assert_eq!(
        store
            .record_upload(
                "b1",
                "g1",
                &r3,
                Some(&r1),
                Some(&kept(&r2, 3)),
                &Room::files(100)
            )
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
    assert_eq!(
        store
            .get_kept_version("b1", "g1", &r2, "v-u2")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .list_kept_versions("b1", "g1", &r2, None, 10)
            .await
            .unwrap()
            .versions,
        [kept_r1]
    );
}

#[tokio::test]
async fn kept_versions_are_listed_by_file_in_pages_and_read_one_by_one() {
    let store = seeded().await;
    // a.csv written five times: four versions kept.
    let mut current = record("u1", "a.csv", 10);
    store
        .record_upload("b1", "g1", &current, None, None, &Room::files(100))
        .await
        .unwrap();
    let mut all_kept = vec![];
    for i in 2..=5 {
        let next = record(&format!("u{i}"), "a.csv", i);
        let k = kept(&current, i as i64);
        store
            .record_upload(
                "b1",
                "g1",
                &next,
                Some(&current),
                Some(&k),
                &Room::files(100),
            )
            .await
            .unwrap();
        all_kept.push(k);
        current = next;
    }
    assert_eq!(counters(&store).await, (1, 5));
    // b.csv once: it has nothing kept, and a.csv's versions are not its.
    let b = record("ub", "b.csv", 7);
    store
        .record_upload("b1", "g1", &b, None, None, &Room::files(100))
        .await
        .unwrap();
    let versions = |p: &crate::ports::KeptPage| {
        p.versions
            .iter()
            .map(|k| k.record.version_id.clone())
            .collect::<Vec<_>>()
    };
    let p1 = store
        .list_kept_versions("b1", "g1", &current, None, 3)
        .await
        .unwrap();
    assert_eq!(versions(&p1), ["v-u1", "v-u2", "v-u3"]);
    assert_eq!(p1.versions, all_kept[..3]);
    assert_eq!(p1.last.as_deref(), Some("v-u3"));
    let p2 = store
        .list_kept_versions("b1", "g1", &current, p1.last.as_deref(), 3)
        .await
        .unwrap();
    assert_eq!((versions(&p2), p2.last), (strings(&["v-u4"]), None));
    // A page exactly full has no continuation.
    let p = store
        .list_kept_versions("b1", "g1", &current, None, 4)
        .await
        .unwrap();
    assert_eq!((p.versions.len(), p.last), (4, None));
    assert!(
        store
            .list_kept_versions("b1", "g1", &b, None, 10)
            .await
            .unwrap()
            .versions
            .is_empty()
    );
    assert_eq!(
        store
            .get_kept_version("b1", "g1", &current, "v-u2")
            .await
            .unwrap(),
        Some(all_kept[1].clone())
    );
    // Not a kept version: the current one, another file's, or none at all.
    for (file, version) in [(&current, "v-u5"), (&b, "v-u2"), (&current, "nope")] {
        assert_eq!(
            store
                .get_kept_version("b1", "g1", file, version)
                .await
                .unwrap(),
            None,
            "{version}"
        );
    }
    // A file of the same name with another permalink hash (deleted, then uploaded again)
    // has no history.
    let reborn = FileRecord {
        hash: "h2".into(),
        ..current.clone()
    };
    assert!(
        store
            .list_kept_versions("b1", "g1", &reborn, None, 10)
            .await
            .unwrap()
            .versions
            .is_empty()
    );
    assert_eq!(
        store
            .get_kept_version("b1", "g1", &reborn, "v-u2")
            .await
            .unwrap(),
        None
    );
    // Another incarnation holds nothing.
    assert!(
        store
            .list_kept_versions("b1", "g0", &current, None, 10)
            .await
            .unwrap()
            .versions
            .is_empty()
    );
}

#[tokio::test]
async fn the_file_limit_holds_only_for_new_names() {
    let store = seeded().await;
    let a = record("u1", "a.csv", 10);
    store
        .record_upload("b1", "g1", &a, None, None, &Room::files(1))
        .await
        .unwrap();
    let b = record("ub", "b.csv", 7);
    assert_eq!(
        store
            .record_upload("b1", "g1", &b, None, None, &Room::files(1))
            .await,
        Err(StoreError::Conflict)
    );
    let a2 = record("u2", "a.csv", 3);
    store
        .record_upload(
            "b1",
            "g1",
            &a2,
            Some(&a),
            Some(&kept(&a, 2)),
            &Room::files(1),
        )
        .await
        .unwrap();
    assert_eq!(counters(&store).await, (1, 3));
    store
        .record_upload("b1", "g1", &b, None, None, &Room::files(2))
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
    let a = record("u1", "a.csv", 10);
    assert_eq!(
        store
            .record_upload("b1", "g1", &a, None, None, &room(9))
            .await,
        Err(StoreError::Conflict)
    );
    store
        .record_upload("b1", "g1", &a, None, None, &room(10))
        .await
        .unwrap();
    // b.csv (7) does not fit beside it in 16, does in 17.
    let b = record("ub", "b.csv", 7);
    assert_eq!(
        store
            .record_upload("b1", "g1", &b, None, None, &room(16))
            .await,
        Err(StoreError::Conflict)
    );
    assert_eq!(counters(&store).await, (1, 10));
    // A replacement counts only its growth: 10 → 12 bytes needs 2 more.
    let a2 = record("u2", "a.csv", 12);
    assert_eq!(
        store
            .record_upload("b1", "g1", &a2, Some(&a), Some(&kept(&a, 2)), &room(11))
            .await,
        Err(StoreError::Conflict)
    );
    store
        .record_upload("b1", "g1", &a2, Some(&a), Some(&kept(&a, 2)), &room(12))
        .await
        .unwrap();
    // A shrinking replacement is never refused, even over a quota tightened below the content.
    let a3 = record("u3", "a.csv", 5);
    store
        .record_upload("b1", "g1", &a3, Some(&a2), Some(&kept(&a2, 3)), &room(1))
        .await
        .unwrap();
    // Kept versions do not count against the quota: only the current 5 bytes do.
    assert_eq!(counters(&store).await, (1, 5));
    assert_eq!(
        store
            .list_kept_versions("b1", "g1", &a3, None, 10)
            .await
            .unwrap()
            .versions,
        [kept(&a, 2), kept(&a2, 3)]
    );
    // A bucket written since the caller read its limits: a lost race, whatever the room.
    let old = store.get("b1").await.unwrap().unwrap();
    let new = old.next_revision(
        old.attrs.clone(),
        old.permissions.clone(),
        old.last_modified + 1,
    );
    store.update(&old, &new).await.unwrap();
    assert_eq!(
        store
            .record_upload("b1", "g1", &b, None, None, &room(1000))
            .await,
        Err(StoreError::Conflict)
    );
    let fresh = Room {
        revision: Some(new.revision),
        ..room(1000)
    };
    store
        .record_upload("b1", "g1", &b, None, None, &fresh)
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
    let r = record("u1", "a.csv", 10);
    assert_eq!(
        store
            .record_upload("b1", "g1", &r, None, None, &Room::files(100))
            .await,
        Err(StoreError::Conflict)
    );
    assert!(store.keys_with_prefix("F#").is_empty());
    assert_eq!(counters(&store).await, (0, 0));
}

#[tokio::test]
async fn deleting_a_file_moves_the_counters_and_leaves_the_marker_of_its_objects() {
    let store = seeded().await;
    let r1 = record("u1", "a.csv", 10);
    store
        .record_upload("b1", "g1", &r1, None, None, &Room::files(100))
        .await
        .unwrap();
    let r2 = record("u2", "a.csv", 4);
    store
        .record_upload(
            "b1",
            "g1",
            &r2,
            Some(&r1),
            Some(&kept(&r1, 2)),
            &Room::files(100),
        )
        .await
        .unwrap();
    let b = record("ub", "b.csv", 7);
    store
        .record_upload("b1", "g1", &b, None, None, &Room::files(100))
        .await
        .unwrap();
    assert_eq!(counters(&store).await, (2, 11));

    // The versions the caller names: the file's own and its kept one.
    let versions = vec![r2.object("b1", "g1"), r1.object("b1", "g1")];
    assert_eq!(
        versions,
        [
            ObjectVersion::new("b1/g1/a.csv", Some("v-u2".into())),
            ObjectVersion::new("b1/g1/a.csv", Some("v-u1".into())),
        ]
    );
    // Not the stored record (replaced since), or no record: nothing changes.
    assert_eq!(
        store
            .delete_file("b1", "g1", &r1, versions.clone(), "user:w")
            .await,
        Err(StoreError::Conflict)
    );
    let ghost = record("u5", "ghost.csv", 1);
    assert_eq!(
        store
            .delete_file("b1", "g1", &ghost, vec![ghost.object("b1", "g1")], "user:w")
            .await,
        Err(StoreError::Conflict)
    );
    // Another generation.
    assert_eq!(
        store
            .delete_file("b1", "g2", &r2, versions.clone(), "user:w")
            .await,
        Err(StoreError::Conflict)
    );
    assert!(store.markers().is_empty());
    assert_eq!(counters(&store).await, (2, 11));

    let before = crate::domain::time::now_ms();
    store
        .delete_file("b1", "g1", &r2, versions.clone(), "user:w")
        .await
        .unwrap();
    assert_eq!(store.get_file("b1", "g1", "a.csv").await.unwrap(), None);
    assert_eq!(counters(&store).await, (1, 7));
    let markers = store.markers();
    assert_eq!(markers.len(), 1);
    let marker = &markers[0];
    assert_eq!(marker.key, "b1#g1#u2");
    assert_eq!(marker.job, Job::Objects { objects: versions });
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
        let r = record(&format!("v{i}"), &format!("f{i}.csv"), 1);
        store
            .record_upload("b1", "g1", &r, None, None, &Room::files(100))
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
async fn deleting_grants_takes_them_back() {
    let store = seeded().await;
    let ids = ["u1".to_string(), "u2".to_string(), "missing".to_string()];
    store.delete_grants("b1", "g1", &ids).await.unwrap();
    assert_eq!(store.get_grant("b1", "g1", "u1").await.unwrap(), None);
    assert_eq!(store.get_grant("b1", "g1", "u2").await.unwrap(), None);
    assert!(store.get_grant("b1", "g1", "u3").await.unwrap().is_some());
}

#[tokio::test]
async fn a_grant_is_withdrawn_only_while_unspent() {
    let store = seeded().await;
    store
        .record_upload(
            "b1",
            "g1",
            &record("u1", "a.csv", 10),
            None,
            None,
            &Room::files(100),
        )
        .await
        .unwrap();
    // Spent: a file was recorded from it; it stays, and so does what its status says.
    assert_eq!(
        store.withdraw_grant("b1", "g1", "u1").await,
        Err(StoreError::Conflict)
    );
    assert!(store.get_grant("b1", "g1", "u1").await.unwrap().is_some());
    // Unspent: it goes; one already gone is no error.
    store.withdraw_grant("b1", "g1", "u2").await.unwrap();
    assert_eq!(store.get_grant("b1", "g1", "u2").await.unwrap(), None);
    store.withdraw_grant("b1", "g1", "u2").await.unwrap();
}
