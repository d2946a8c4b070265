//! Buckets, their listing entries and their listing.

use super::*;
use crate::domain::cascade::Job;
use crate::ports::{BucketStore, ListScope};

#[tokio::test]
async fn create_writes_the_bucket_with_its_entries_and_refuses_a_taken_id() {
    let store = MemoryStore::new();
    let b = bucket("b1", "g1", &["user:r"], &["user:w"]);
    store.create(&b).await.unwrap();
    assert_eq!(
        store.keys(),
        [
            k("ALL", "b1"),
            k("B#b1", "B"),
            k("P#user:r", "b1"),
            k("P#user:w", "b1"),
        ]
    );
    assert_eq!(store.get("b1").await.unwrap(), Some(b.clone()));
    // Taken, whatever the generation; nothing changes.
    let again = bucket("b1", "g2", &["user:x"], &["user:w"]);
    assert_eq!(store.create(&again).await, Err(StoreError::Conflict));
    assert_eq!(store.get("b1").await.unwrap(), Some(b));
    assert!(!store.contains("P#user:x", "b1"));
}

#[tokio::test]
async fn update_moves_entries_and_keeps_the_stored_counters() {
    let store = MemoryStore::new();
    let mut old = bucket("b1", "g1", &["user:r"], &["user:w"]);
    old.file_count = 3;
    old.total_bytes = 30;
    store.create(&old).await.unwrap();
    let mut new = bucket("b1", "g1", &["user:x"], &["user:w"]);
    new.revision = 2;
    new.last_modified = 5;
    new.attrs.insert("title".into(), "T".into());
    store.update(&old, &new).await.unwrap();
    let stored = store.get("b1").await.unwrap().unwrap();
    assert_eq!((stored.revision, stored.last_modified), (2, 5));
    assert_eq!(stored.attrs["title"], "T");
    assert_eq!(stored.permissions, new.permissions);
    assert_eq!((stored.file_count, stored.total_bytes), (3, 30));
    assert!(!store.contains("P#user:r", "b1"));
    assert!(store.contains("P#user:x", "b1"));
    assert!(store.contains("P#user:w", "b1"));
    assert!(store.contains("ALL", "b1"));
}

#[tokio::test]
async fn update_and_delete_conflict_on_a_stale_revision_or_another_generation() {
    let store = MemoryStore::new();
    let b = bucket("b1", "g1", &[], &["user:w"]);
    store.create(&b).await.unwrap();
    let mut new = b.clone();
    new.revision = 2;
    new.permissions.read.push("user:r".into());
    store.update(&b, &new).await.unwrap();
    let before = store.keys();

    // `b` is revision 1, the store holds 2.
    let mut newer = b.clone();
    newer.revision = 3;
    assert_eq!(store.update(&b, &newer).await, Err(StoreError::Conflict));
    assert_eq!(store.delete(&b, 9).await, Err(StoreError::Conflict));
    // Right revision, another incarnation.
    let mut other = new.clone();
    other.generation = "g0".into();
    assert_eq!(
        store.update(&other, &newer).await,
        Err(StoreError::Conflict)
    );
    assert_eq!(store.delete(&other, 9).await, Err(StoreError::Conflict));
    // No such bucket.
    let ghost = bucket("b2", "g1", &[], &["user:w"]);
    assert_eq!(
        store.update(&ghost, &ghost).await,
        Err(StoreError::Conflict)
    );
    assert_eq!(store.delete(&ghost, 9).await, Err(StoreError::Conflict));

    assert_eq!(store.keys(), before);
    assert_eq!(store.get("b1").await.unwrap(), Some(new));
}

#[tokio::test]
async fn delete_removes_the_bucket_and_its_entries_and_leaves_its_marker() {
    let store = MemoryStore::new();
    let b = bucket("b1", "g1", &["user:r"], &["user:w"]);
    store.create(&b).await.unwrap();
    store
        .create(&bucket("b2", "g1", &[], &["user:w"]))
        .await
        .unwrap();
    store.delete(&b, 42).await.unwrap();
    assert_eq!(store.get("b1").await.unwrap(), None);
    assert!(store.keys_with_prefix("B#b1").is_empty());
    assert!(!store.contains("ALL", "b1"));
    assert!(!store.contains("P#user:r", "b1"));
    assert!(!store.contains("P#user:w", "b1"));
    assert!(store.contains("P#user:w", "b2"));
    let marker = store.get_marker_now("b1#g1").unwrap();
    assert_eq!(
        marker.job,
        Job::Bucket {
            id: "b1".into(),
            generation: "g1".into(),
            stale_index: vec![],
        }
    );
    assert_eq!((marker.passes, marker.updated), (0, 42));
    assert_eq!(store.markers(), [marker]);
}

#[tokio::test]
async fn a_deletion_too_large_for_one_transaction_names_its_principals() {
    let store = MemoryStore::new();
    // 3 items + one per principal: 97 principals fit DynamoDB's 100, 98 do not.
    for (id, n) in [("fits", 97), ("staged", 98)] {
        let readers: Vec<String> = (1..n).map(|i| format!("user:{i:03}")).collect();
        let readers: Vec<&str> = readers.iter().map(String::as_str).collect();
        let b = bucket(id, "g", &readers, &["user:w"]);
        assert_eq!(b.permissions.all_principals().len(), n);
        store.create(&b).await.unwrap();
        store.delete(&b, 1).await.unwrap();
        let Job::Bucket { stale_index, .. } = store.get_marker_now(&format!("{id}#g")).unwrap().job
        else {
            panic!("not a bucket job");
        };
        let expected = if n > 97 {
            b.permissions.all_principals()
        } else {
            vec![]
        };
        assert_eq!(stale_index, expected, "{id}");
    }
    // Either way nothing is left behind here.
    assert!(store.keys_with_prefix("P#").is_empty());
    assert!(store.keys_with_prefix("ALL").is_empty());
}

fn ids(page: &crate::ports::BucketPage) -> Vec<&str> {
    page.buckets.iter().map(|b| b.id.as_str()).collect()
}

#[tokio::test]
async fn listing_pages_by_id_over_all_buckets_or_the_callers_principals() {
    let store = MemoryStore::new();
    for (id, read, write) in [
        ("b1", &["user:a"][..], &["user:w"][..]),
        ("b2", &[], &["user:b"]),
        ("b3", &["user:a", "user:b"], &["user:w"]),
        ("b4", &[], &["user:w"]),
        ("b5", &["user:a"], &["user:w"]),
    ] {
        store.create(&bucket(id, "g", read, write)).await.unwrap();
    }
    let all = ListScope::All;
    let page = store.list(&all, None, 2).await.unwrap();
    assert_eq!((ids(&page), page.has_more), (vec!["b1", "b2"], true));
    assert_eq!(page.last_key.as_deref(), Some("b2"));
    let page = store.list(&all, Some("b2"), 2).await.unwrap();
    assert_eq!((ids(&page), page.has_more), (vec!["b3", "b4"], true));
    let page = store.list(&all, Some("b4"), 2).await.unwrap();
    assert_eq!((ids(&page), page.has_more), (vec!["b5"], false));
    assert_eq!(page.last_key.as_deref(), Some("b5"));
    let page = store.list(&all, Some("b5"), 2).await.unwrap();
    assert_eq!(
        (ids(&page), page.has_more, page.last_key.clone()),
        (vec![], false, None)
    );

    // The union of the principals' entries, each bucket once.
    let ab = ListScope::Principals(strings(&["user:a", "user:b"]));
    let page = store.list(&ab, None, 3).await.unwrap();
    assert_eq!((ids(&page), page.has_more), (vec!["b1", "b2", "b3"], true));
    let page = store.list(&ab, Some("b3"), 3).await.unwrap();
    assert_eq!((ids(&page), page.has_more), (vec!["b5"], false));
    let w = ListScope::Principals(strings(&["user:w"]));
    assert_eq!(
        ids(&store.list(&w, None, 10).await.unwrap()),
        ["b1", "b3", "b4", "b5"]
    );
    let nobody = ListScope::Principals(vec![]);
    let page = store.list(&nobody, None, 10).await.unwrap();
    assert_eq!(
        (ids(&page), page.has_more, page.last_key.clone()),
        (vec![], false, None)
    );
}

#[tokio::test]
async fn a_bucket_is_listed_for_a_principal_only_while_its_acl_names_it() {
    let store = MemoryStore::new();
    let a = ListScope::Principals(strings(&["user:a"]));
    let v1 = bucket("b1", "g", &["user:a"], &["user:w"]);
    store.create(&v1).await.unwrap();
    assert_eq!(ids(&store.list(&a, None, 10).await.unwrap()), ["b1"]);
    let mut v2 = bucket("b1", "g", &[], &["user:w"]);
    v2.revision = 2;
    store.update(&v1, &v2).await.unwrap();
    assert!(store.list(&a, None, 10).await.unwrap().buckets.is_empty());
    let mut v3 = bucket("b1", "g", &[], &["user:w", "user:a"]);
    v3.revision = 3;
    store.update(&v2, &v3).await.unwrap();
    assert_eq!(ids(&store.list(&a, None, 10).await.unwrap()), ["b1"]);

    // A stale entry (left by a crash in a staged write) is looked at but not shown: the
    // cursor moves past it.
    store.put_index_entry("P#user:z", "b1");
    store.put_index_entry("ALL", "gone");
    let page = store
        .list(&ListScope::Principals(strings(&["user:z"])), None, 10)
        .await
        .unwrap();
    assert_eq!((ids(&page), page.has_more), (vec![], false));
    assert_eq!(page.last_key.as_deref(), Some("b1"));
    let page = store.list(&ListScope::All, Some("b1"), 1).await.unwrap();
    assert_eq!((ids(&page), page.has_more), (vec![], false));
    assert_eq!(page.last_key.as_deref(), Some("gone"));
}

impl MemoryStore {
    /// The marker with this key, read directly.
    fn get_marker_now(&self, marker_key: &str) -> Option<crate::domain::cascade::Marker> {
        self.markers().into_iter().find(|m| m.key == marker_key)
    }
}
