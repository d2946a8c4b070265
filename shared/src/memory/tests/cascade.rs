//! Markers, the purge primitives, and the cascade engine over the memory adapters.

use std::time::{Duration, Instant};

use serde_json::Map;

use super::*;
use crate::domain::cascade::object_prefix;
use crate::domain::data::DataDoc;
use crate::domain::files::{ObjectVersion, object_key};
use crate::ports::{
    BucketStore, CascadeStore, DataStore, FileStore, ItemSet, KeyPage, ObjectStore, PutSpec, Room,
};
use crate::service::cascade::{Budget, Outcome, process_marker, replay};

/// A deleted-to-be incarnation `id`/`generation` with everything an incarnation can own: data
/// (3 writes, 2 kept), `files` recorded files (their objects in `objects`; the first, when
/// there is one, replaced once: its old version kept in S3 and in the table), a grant never
/// used and its uploaded object (hidden since under a delete marker), a rejection, and one
/// deleted file (`gone.csv`, with a kept
/// version too) whose marker and object versions are still there. Returns the bucket as
/// stored.
async fn seed(
    store: &MemoryStore,
    objects: &MemoryObjects,
    id: &str,
    generation: &str,
    files: usize,
) -> Bucket {
    store
        .create(&bucket(id, generation, &["user:r"], &["user:w"]))
        .await
        .unwrap();
    for rev in 1..=3 {
        let doc = DataDoc {
            doc: Map::new(),
            revision: rev,
            modified: rev,
            modified_by: "user:w".into(),
        };
        store
            .put_data(id, generation, &doc, rev - 1, 2)
            .await
            .unwrap();
    }
    let mut grants: Vec<Grant> = (0..files)
        .map(|i| grant(&format!("u{i:04}"), &format!("f{i}.csv"), 5))
        .collect();
    grants.push(grant("unused", "late.csv", 5));
    grants.push(grant("gone0", "gone.csv", 5));
    store.put_grants(id, generation, &grants).await.unwrap();
    let upload = |g: &Grant| {
        let key = object_key(id, generation, &g.name);
        let meta = objects.put_bytes(&key, "text/csv", b"a,b\n1", Some(&g.upload_id));
        FileRecord {
            version_id: meta.version_id.unwrap(),
            ..record(&g.upload_id, &g.name, 5)
        }
    };
    for g in &grants {
        let r = upload(g);
        if g.upload_id != "unused" {
            store
                .record_upload(id, generation, &r, None, None, &Room::files(1000))
                .await
                .unwrap();
        }
    }
    // A replacement of the first file and of gone.csv (by upload `gone`, which names its
    // file's marker): the replaced versions are kept.
    let mut replacements = vec![grant("gone", "gone.csv", 5)];
    if files > 0 {
        replacements.push(grant("again", "f0.csv", 5));
    }
    let mut gone = None;
    store
        .put_grants(id, generation, &replacements)
        .await
        .unwrap();
    for g in &replacements {
        let previous = store
            .get_file(id, generation, &g.name)
            .await
            .unwrap()
            .unwrap();
        let r = upload(g);
        store
            .record_upload(
                id,
                generation,
                &r,
                Some(&previous),
                Some(&kept(&previous, 2)),
                &Room::files(1000),
            )
            .await
            .unwrap();
        if g.name == "gone.csv" {
            gone = Some(r);
        }
    }
    // The never-recorded upload deleted through its key (as an SFTP user would): a delete
    // marker over its version.
    let late = ObjectVersion::new(object_key(id, generation, "late.csv"), None);
    objects.delete(&late).await.unwrap();
    let rejection = Rejection {
        upload_id: "bad".into(),
        name: "bad.csv".into(),
        reason: "no grant".into(),
        at: 1,
    };
    store
        .put_rejection(id, generation, &rejection)
        .await
        .unwrap();
    let gone = gone.unwrap();
    let versions = objects.versions_with_prefix(&object_key(id, generation, "gone.csv"));
    store
        .delete_file(id, generation, &gone, versions, "user:w")
        .await
        .unwrap();
    store.get(id).await.unwrap().unwrap()
}

fn ample() -> Budget<'static> {
    Budget {
        until: Instant::now() + Duration::from_secs(600),
        after_delete_call: &|| {},
    }
}

#[tokio::test]
async fn a_bucket_cascade_leaves_nothing_of_its_incarnation() {
    let (store, objects) = (MemoryStore::new(), MemoryObjects::new());
    let doomed = seed(&store, &objects, "b1", "g1", 60).await;
    // Survivors: a bucket whose keys share the prefix, and a file marker of its own.
    let other = seed(&store, &objects, "b10", "g1", 2).await;
    store.delete(&doomed, 7).await.unwrap();
    // Re-created with the same id: a new incarnation, with a file.
    let again = seed(&store, &objects, "b1", "g2", 1).await;
    let own = store.incarnation_keys("b1", "g1");
    // Data: HEAD + 2 kept; 60 records, 64 grants (2 of replacements), 2 kept versions (f0's
    // and gone's); 1 rejection; the file marker; the bucket's.
    assert_eq!(own.len(), 3 + 60 + 64 + 2 + 1 + 1 + 1);
    assert!(own.contains(&k("CASCADE", "b1#g1#gone")));
    assert!(own.iter().any(|k| k.pk == "V#b1#g1"));
    // In S3: 62 keys (60 files, late.csv, gone.csv), 64 versions with the two replaced ones,
    // and late.csv's delete marker.
    assert_eq!(objects.versions_with_prefix("b1/g1/").len(), 65);
    let visible = |prefix: &str| {
        objects
            .keys()
            .into_iter()
            .filter(|k| k.starts_with(prefix))
            .count()
    };
    assert_eq!(visible("b1/g1/"), 61);
    let survivors = (
        store
            .keys()
            .into_iter()
            .filter(|k| !own.contains(k))
            .collect::<Vec<_>>(),
        objects.versions_with_prefix("b1/g2/"),
        objects.versions_with_prefix("b10/"),
    );

    let outcome = process_marker(&store, &objects, "b1#g1", &ample())
        .await
        .unwrap();
    let Outcome::Finished { passes, tally } = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(passes, 1);
    // Every version and delete marker.
    assert_eq!(tally.objects_deleted, 65);
    // Every item but the marker, which `process_marker` deletes itself.
    assert_eq!(tally.items_deleted, own.len() as u64 - 1);
    assert!(store.incarnation_keys("b1", "g1").is_empty());
    assert!(
        objects
            .versions_with_prefix(&object_prefix("b1", "g1"))
            .is_empty()
    );
    assert_eq!(
        (
            store.keys(),
            objects.versions_with_prefix("b1/g2/"),
            objects.versions_with_prefix("b10/")
        ),
        survivors
    );
    assert_eq!(store.get("b1").await.unwrap(), Some(again));
    assert_eq!(store.get("b10").await.unwrap(), Some(other));
    assert_eq!(
        process_marker(&store, &objects, "b1#g1", &ample())
            .await
            .unwrap(),
        Outcome::AlreadyDone
    );
}

#[tokio::test]
async fn a_file_cascade_deletes_the_objects_of_its_file_only() {
    let (store, objects) = (MemoryStore::new(), MemoryObjects::new());
    seed(&store, &objects, "b1", "g1", 2).await;
    let gone = object_key("b1", "g1", "gone.csv");
    let marked = objects.versions_with_prefix(&gone);
    // Its current version and its kept one.
    assert_eq!(marked.len(), 2);
    assert!(objects.contains(&gone));
    // gone.csv uploaded again meanwhile (after the file's deletion): a version the marker does
    // not name, which keeps its bytes.
    let reborn = objects.put_bytes(&gone, "text/csv", b"new", Some("u-new"));
    let others = objects.versions_with_prefix("b1/g1/f");
    let outcome = process_marker(&store, &objects, "b1#g1#gone", &ample())
        .await
        .unwrap();
    let Outcome::Finished { passes: 1, tally } = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(tally.objects_deleted, 2);
    assert!(marked.iter().all(|v| objects.get_version(v).is_none()));
    assert_eq!(
        objects.versions_with_prefix(&gone),
        [ObjectVersion::new(gone.clone(), reborn.version_id.clone())]
    );
    assert_eq!(
        objects.get(&gone).unwrap().body.as_deref(),
        Some(&b"new"[..])
    );
    // The other files keep every version (f0.csv's kept one too).
    assert_eq!(others.len(), 3);
    assert_eq!(objects.versions_with_prefix("b1/g1/f"), others);
    assert!(store.markers().is_empty());
}

#[tokio::test]
async fn incarnation_items_pages_and_batches_remove_everything_an_incarnation_owns() {
    let (store, objects) = (MemoryStore::new(), MemoryObjects::new());
    let doomed = seed(&store, &objects, "b1", "g1", 30).await;
    seed(&store, &objects, "b1x", "g1", 3).await;
    store.delete(&doomed, 1).await.unwrap();
    let before = store.item_count();
    let own = store.incarnation_keys("b1", "g1").len();
    let mut deleted = 0;
    for set in store.incarnation_items("b1", "g1") {
        let mut after = None;
        loop {
            let page = store.item_keys(&set, after, 7).await.unwrap();
            for batch in page.keys.chunks(25) {
                assert!(store.delete_items(batch).await.unwrap().is_empty());
                deleted += batch.len();
            }
            match page.last {
                Some(last) => after = Some(last),
                None => break,
            }
        }
    }
    assert_eq!(deleted, own - 1);
    assert_eq!(store.incarnation_keys("b1", "g1"), [k("CASCADE", "b1#g1")]);
    assert_eq!(store.item_count(), before - deleted);
    assert!(!store.keys_with_prefix("F#b1x#g1").is_empty());
}

#[tokio::test]
async fn item_keys_page_as_a_dynamodb_query_with_a_limit() {
    let store = MemoryStore::new();
    store
        .create(&bucket("b1", "g1", &[], &["user:w"]))
        .await
        .unwrap();
    let grants: Vec<Grant> = (0..4)
        .map(|i| grant(&format!("u{i}"), "a.csv", 1))
        .collect();
    store.put_grants("b1", "g1", &grants).await.unwrap();
    let set = ItemSet {
        pk: "U#b1#g1".into(),
        sk_prefix: None,
    };
    let sks = |page: &KeyPage| page.keys.iter().map(|k| k.sk.clone()).collect::<Vec<_>>();
    let p1 = store.item_keys(&set, None, 2).await.unwrap();
    assert_eq!(
        (sks(&p1), p1.last.clone()),
        (strings(&["u0", "u1"]), Some(k("U#b1#g1", "u1")))
    );
    let p2 = store.item_keys(&set, p1.last, 2).await.unwrap();
    assert_eq!(sks(&p2), ["u2", "u3"]);
    // A full page reports a continuation even though nothing follows, as DynamoDB does.
    let p3 = store.item_keys(&set, p2.last, 2).await.unwrap();
    assert_eq!((p3.keys.len(), p3.last), (0, None));
    let err = store.item_keys(&set, None, 0).await.unwrap_err();
    assert!(matches!(err, StoreError::Other(_)));

    // A prefix set: the file markers of g1, not g10's nor the bucket's own marker.
    for sk in ["b1#g1", "b1#g1#u1", "b1#g1#u2", "b1#g10#u1", "b1#g2#u1"] {
        store.lock().items.insert(k("CASCADE", sk), Item::Index);
    }
    let sets = store.incarnation_items("b1", "g1");
    let markers = sets.iter().find(|s| s.pk == "CASCADE").unwrap();
    assert_eq!(markers.sk_prefix.as_deref(), Some("b1#g1#"));
    let page = store.item_keys(markers, None, 10).await.unwrap();
    assert_eq!(
        (sks(&page), page.last),
        (strings(&["b1#g1#u1", "b1#g1#u2"]), None)
    );
}

#[tokio::test]
async fn delete_items_refuses_what_a_batch_write_refuses() {
    let store = MemoryStore::new();
    let keys: Vec<ItemKey> = (0..26).map(|i| k("X", &format!("{i}"))).collect();
    assert!(matches!(
        store.delete_items(&keys).await,
        Err(StoreError::Other(_))
    ));
    let twice = [k("X", "1"), k("X", "1")];
    assert!(matches!(
        store.delete_items(&twice).await,
        Err(StoreError::Other(_))
    ));
    // Missing items count as deleted.
    assert_eq!(store.delete_items(&keys[..25]).await.unwrap(), vec![]);
    assert_eq!(store.delete_items(&[]).await.unwrap(), vec![]);
}

#[tokio::test]
async fn stale_index_removal_leaves_the_entries_of_a_re_created_bucket() {
    let store = MemoryStore::new();
    for pk in ["P#user:a", "P#user:b", "ALL"] {
        store.put_index_entry(pk, "b1");
    }
    store.put_index_entry("P#user:a", "b2");
    let principals = strings(&["user:a", "user:b"]);
    assert_eq!(
        store.delete_stale_index("b1", &principals).await.unwrap(),
        1
    );
    assert_eq!(store.keys(), [k("P#user:a", "b2")]);

    // The id is taken again: its entries are the new bucket's.
    store
        .create(&bucket("b1", "g2", &["user:a"], &["user:b"]))
        .await
        .unwrap();
    let before = store.keys();
    assert_eq!(
        store.delete_stale_index("b1", &principals).await.unwrap(),
        1
    );
    assert_eq!(store.keys(), before);

    // 150 principals and ALL: two transactions of at most 99 deletions.
    let many: Vec<String> = (0..150).map(|i| format!("user:{i:03}")).collect();
    for p in &many {
        store.put_index_entry(&format!("P#{p}"), "b3");
    }
    store.put_index_entry("ALL", "b3");
    assert_eq!(store.delete_stale_index("b3", &many).await.unwrap(), 2);
    assert!(store.keys().iter().all(|k| k.sk != "b3"));
}

#[tokio::test]
async fn markers_are_listed_saved_touched_and_deleted() {
    let store = MemoryStore::new();
    for i in 1..=4 {
        let b = bucket(&format!("b{i}"), "g", &[], &["user:w"]);
        store.create(&b).await.unwrap();
        store.delete(&b, i * 1000).await.unwrap();
    }
    let page = store.list_markers(None, 2, None).await.unwrap();
    assert_eq!(page.keys, strings(&["b1#g", "b2#g"]));
    assert_eq!(page.next.as_deref(), Some("b2#g"));
    let page = store.list_markers(Some("b2#g"), 2, None).await.unwrap();
    assert_eq!(page.keys, strings(&["b3#g", "b4#g"]));
    let page = store.list_markers(Some("b4#g"), 2, None).await.unwrap();
    assert_eq!((page.keys.len(), page.next), (0, None));
    // Only those last written before 2500 ms; the limit counts the markers read, and the
    // next page starts after the last one read, idle or not.
    let page = store.list_markers(None, 3, Some(2_500)).await.unwrap();
    assert_eq!(page.keys, strings(&["b1#g", "b2#g"]));
    assert_eq!(page.next.as_deref(), Some("b3#g"));

    let mut m = store.get_marker("b1#g").await.unwrap().unwrap();
    m.passes = 3;
    m.tally.items_deleted = 9;
    store.save_pass(&m).await.unwrap();
    let saved = store.get_marker("b1#g").await.unwrap().unwrap();
    assert_eq!((saved.passes, saved.tally), (3, m.tally));
    assert!(saved.updated > 1_000);
    assert!(store.set_marker_updated("b1#g", 5));
    assert!(store.touch_marker("b1#g").await.unwrap());
    assert!(store.get_marker("b1#g").await.unwrap().unwrap().updated > 5);

    store.delete_marker("b1#g").await.unwrap();
    assert_eq!(store.get_marker("b1#g").await.unwrap(), None);
    assert!(!store.touch_marker("b1#g").await.unwrap());
    // Saving a finished cascade does not bring its marker back.
    store.save_pass(&m).await.unwrap();
    assert_eq!(store.get_marker("b1#g").await.unwrap(), None);
    store.delete_marker("b1#g").await.unwrap();
}

#[tokio::test]
async fn replay_touches_the_idle_markers() {
    let store = MemoryStore::new();
    for i in 1..=3 {
        let b = bucket(&format!("b{i}"), "g", &[], &["user:w"]);
        store.create(&b).await.unwrap();
        store
            .delete(&b, crate::domain::time::now_ms())
            .await
            .unwrap();
    }
    assert!(store.set_marker_updated("b2#g", 1_000));
    assert_eq!(replay(&store, Some(2_000)).await.unwrap(), 1);
    assert!(store.markers().iter().all(|m| m.updated > 2_000));
    assert_eq!(replay(&store, None).await.unwrap(), 3);
}

#[tokio::test]
async fn injected_faults_fail_the_next_calls_and_change_nothing() {
    let (store, objects) = (MemoryStore::new(), MemoryObjects::new());
    let down = StoreError::Unavailable("down".into());
    store.fail_next(2, down.clone());
    let b = bucket("b1", "g", &[], &["user:w"]);
    assert_eq!(store.create(&b).await, Err(down.clone()));
    assert_eq!(store.get("b1").await, Err(down.clone()));
    assert_eq!(store.item_count(), 0);
    store.create(&b).await.unwrap();
    store.delete(&b, 1).await.unwrap();

    objects.put_bytes("b1/g/a.csv", "text/csv", b"x", Some("u"));
    objects.fail_next(1, down.clone());
    let spec = PutSpec {
        key: "k",
        upload_id: "u",
        size: 1,
        content_type: "text/csv",
        sha256_base64: None,
        expires_in_secs: 1,
    };
    assert_eq!(objects.presign_put(&spec).await, Err(down.clone()));
    // The cascade fails and keeps its marker, then succeeds on the retry.
    objects.fail_next(1, StoreError::Other("AccessDenied".into()));
    assert!(
        process_marker(&store, &objects, "b1#g", &ample())
            .await
            .is_err()
    );
    assert_eq!(store.markers().len(), 1);
    assert!(matches!(
        process_marker(&store, &objects, "b1#g", &ample()).await,
        Ok(Outcome::Finished { .. })
    ));
    assert!(objects.is_empty());
}
