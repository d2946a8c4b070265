//! Data documents and their kept revisions.

use serde_json::json;

use super::*;
use crate::ports::{BucketStore, DataStore};

fn doc(revision: i64) -> DataDoc {
    let mut doc = Map::new();
    doc.insert("rev".into(), json!(revision));
    DataDoc {
        doc,
        revision,
        modified: revision * 10,
        modified_by: "user:w".into(),
    }
}

async fn live() -> MemoryStore {
    let store = MemoryStore::new();
    store
        .create(&bucket("b1", "g1", &[], &["user:w"]))
        .await
        .unwrap();
    store
}

#[tokio::test]
async fn a_write_holds_only_over_the_revision_it_read() {
    let store = live().await;
    assert_eq!(store.get_data("b1", "g1").await.unwrap(), None);
    // Not written yet: only previous = 0 holds.
    assert_eq!(
        store.put_data("b1", "g1", &doc(2), 1, 10).await,
        Err(StoreError::Conflict)
    );
    store.put_data("b1", "g1", &doc(1), 0, 10).await.unwrap();
    assert_eq!(
        store.put_data("b1", "g1", &doc(1), 0, 10).await,
        Err(StoreError::Conflict)
    );
    store.put_data("b1", "g1", &doc(2), 1, 10).await.unwrap();
    for stale in [0, 1, 3] {
        assert_eq!(
            store.put_data("b1", "g1", &doc(3), stale, 10).await,
            Err(StoreError::Conflict),
            "{stale}"
        );
    }
    assert_eq!(store.get_data("b1", "g1").await.unwrap(), Some(doc(2)));
    assert_eq!(
        store.get_data_revision("b1", "g1", 1).await.unwrap(),
        Some(doc(1))
    );
    // Not under another incarnation, nor once the bucket is gone.
    assert_eq!(
        store.put_data("b1", "g0", &doc(1), 0, 10).await,
        Err(StoreError::Conflict)
    );
    let b = store.get("b1").await.unwrap().unwrap();
    store.delete(&b, 1).await.unwrap();
    assert_eq!(
        store.put_data("b1", "g1", &doc(3), 2, 10).await,
        Err(StoreError::Conflict)
    );
    assert_eq!(store.get_data("b1", "g1").await.unwrap(), Some(doc(2)));
    assert!(store.keys_with_prefix("D#b1#g0").is_empty());
}

#[tokio::test]
async fn the_most_recent_revisions_are_kept() {
    let store = live().await;
    for rev in 1..=5 {
        store
            .put_data("b1", "g1", &doc(rev), rev - 1, 3)
            .await
            .unwrap();
    }
    assert_eq!(store.get_data("b1", "g1").await.unwrap(), Some(doc(5)));
    for rev in 1..=5 {
        let kept = store.get_data_revision("b1", "g1", rev).await.unwrap();
        assert_eq!(kept, (rev >= 3).then(|| doc(rev)), "{rev}");
    }
    assert_eq!(
        store.keys_with_prefix("D#b1#g1"),
        [
            k("D#b1#g1", "HEAD"),
            k("D#b1#g1", "R#00000000000000000003"),
            k("D#b1#g1", "R#00000000000000000004"),
            k("D#b1#g1", "R#00000000000000000005"),
        ]
    );
    // A write forgets one revision, `keep` older: lowering `keep` leaves the older ones (as
    // the adapter does).
    store.put_data("b1", "g1", &doc(6), 5, 1).await.unwrap();
    let kept: Vec<String> = store
        .keys_with_prefix("D#b1#g1")
        .into_iter()
        .map(|k| k.sk)
        .collect();
    assert_eq!(
        kept,
        [
            "HEAD",
            "R#00000000000000000003",
            "R#00000000000000000004",
            "R#00000000000000000006",
        ]
    );
}

#[tokio::test]
async fn keeping_no_revision_fails_as_dynamodb_refuses_the_transaction() {
    let store = live().await;
    let err = store.put_data("b1", "g1", &doc(1), 0, 0).await.unwrap_err();
    assert!(matches!(err, StoreError::Other(_)), "{err:?}");
    assert_eq!(store.get_data("b1", "g1").await.unwrap(), None);
}
