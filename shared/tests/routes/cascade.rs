//! Deleting a bucket answers at once and leaves a durable cascade marker; the cascade
//! (`service::cascade::process_marker`, run here as the stream would trigger it) then removes
//! everything under that incarnation and nothing else. File deletions purge inline.

use serde_json::json;
use shared::domain::cascade::{Job, bucket_marker_key, object_prefix};
use shared::ports::StoreError;
use shared::service::uploads::Outcome;

use crate::common::{CREATOR, Env, ids};

/// A bucket with files (one of them replaced: its old version kept), 12 data revisions, a
/// deleted file, an upload whose event never came and a rejected upload; answers its
/// generation.
async fn filled(env: &Env, id: &str) -> String {
    let alice = env.user("alice", CREATOR);
    alice
        .create_bucket(id, &json!({"permissions": {"read": ["user:bob"]}}))
        .await;
    for name in ["a.csv", "b.csv", "c.txt", "gone.txt"] {
        alice.upload(id, name, name.as_bytes(), "text/plain").await;
    }
    alice
        .upload(id, "a.csv", b"a.csv, again", "text/plain")
        .await;
    assert_eq!(env.kept_versions(id, "a.csv").await.len(), 1);
    alice
        .delete(&format!("/v1/buckets/{id}/files/gone.txt"))
        .await
        .expect(200);
    for v in 1..=12 {
        alice
            .put(
                &format!("/v1/buckets/{id}/data"),
                &json!({"data": {"v": v}}),
            )
            .await
            .expect(200);
    }
    let r = alice
        .grant(
            id,
            &[
                ("inflight.txt", 2, "text/plain"),
                ("bad.txt", 3, "text/plain"),
            ],
        )
        .await;
    let grants = r.expect(201).json()["data"].clone();
    env.put_upload(&grants[0], b"in");
    let off = json!({"data": {"active": false}});
    alice
        .patch(&format!("/v1/buckets/{id}"), "application/json", &off)
        .await
        .expect(200);
    let bad = env.put_upload(&grants[1], b"bad");
    assert!(matches!(env.process(&bad).await, Outcome::Rejected(_)));
    assert_eq!(env.objects.get_version(&bad), None);
    let on = json!({"data": {"active": true}});
    alice
        .patch(&format!("/v1/buckets/{id}"), "application/json", &on)
        .await
        .expect(200);
    env.generation(id).await
}

/// The keys under `prefix` whose latest version is an object (what a listing of the bucket's
/// objects shows).
fn visible(env: &Env, prefix: &str) -> Vec<String> {
    let keys = env.objects.keys().into_iter();
    keys.filter(|k| k.starts_with(prefix)).collect()
}

/// Every table key that names bucket `id`, in any partition.
fn keys_naming(env: &Env, id: &str) -> Vec<String> {
    env.store
        .keys()
        .into_iter()
        // The id as a whole key segment (`B#<id>`, `F#<id>#<gen>`, a listing entry `<id>`, a
        // marker `<id>#<gen>…`), never as a substring of a random generation id.
        .filter(|k| {
            k.pk.split('#').nth(1) == Some(id) || k.sk == id || k.sk.split('#').next() == Some(id)
        })
        .map(|k| format!("{}/{}", k.pk, k.sk))
        .collect()
}

#[tokio::test]
async fn a_deleted_bucket_leaves_a_marker_whose_cascade_leaves_nothing() {
    let env = Env::new();
    let generation = filled(&env, "c1").await;
    let prefix = object_prefix("c1", &generation);
    assert_eq!(
        visible(&env, &prefix).len(),
        4,
        "3 files and the in-flight upload"
    );
    assert_eq!(
        env.versions(&prefix).len(),
        5,
        "and a.csv's replaced version"
    );
    env.user("alice", CREATOR)
        .delete("/v1/buckets/c1")
        .await
        .expect(200);
    // The bucket is gone for everyone at once, with its listing entries...
    env.user("bob", &[])
        .get("/v1/buckets/c1")
        .await
        .expect_error(403, 121);
    env.user("root", &["admin"])
        .get("/v1/buckets/c1/files")
        .await
        .expect_error(404, 111);
    assert!(env.store.listing_keys().is_empty());
    // ...and its content waits for the cascade, which its marker describes.
    let markers = env.store.markers();
    assert_eq!(markers.len(), 1);
    assert_eq!(markers[0].key, bucket_marker_key("c1", &generation));
    assert!(
        matches!(&markers[0].job, Job::Bucket { id, generation: g, .. } if id == "c1" && *g == generation)
    );
    assert!(!env.store.incarnation_keys("c1", &generation).is_empty());
    assert_eq!(env.run_cascades().await, 1);
    assert_eq!(env.store.incarnation_keys("c1", &generation), vec![]);
    assert_eq!(env.versions(&prefix), []);
    assert_eq!(keys_naming(&env, "c1"), Vec::<String>::new());
    assert!(env.objects.is_empty() && env.store.item_count() == 0);
}

#[tokio::test]
async fn re_creating_a_bucket_while_its_old_cascade_waits_keeps_the_new_content() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    let old = filled(&env, "c2").await;
    alice.delete("/v1/buckets/c2").await.expect(200);
    // Same id, new incarnation, same file names, before the old cascade runs.
    alice.create_bucket("c2", &json!({})).await;
    let new = env.generation("c2").await;
    assert_ne!(new, old);
    let r = alice.get("/v1/buckets/c2/files").await.expect(200).json();
    assert_eq!(r["data"], json!([]), "nothing of the old incarnation shows");
    assert_eq!(
        alice.get("/v1/buckets/c2/data").await.expect(200).json(),
        json!({"data": {}})
    );
    alice.upload("c2", "a.csv", b"new a", "text/plain").await;
    alice
        .put("/v1/buckets/c2/data", &json!({"data": {"new": true}}))
        .await
        .expect(200);
    assert_eq!(env.run_cascades().await, 1);
    assert_eq!(env.store.incarnation_keys("c2", &old), vec![]);
    assert_eq!(env.versions(&object_prefix("c2", &old)), []);
    // The new incarnation is whole.
    let list = alice.get("/v1/buckets/c2/files").await.expect(200).json();
    assert_eq!(ids(&list, "name"), vec!["a.csv"]);
    let r = alice.get("/v1/buckets/c2/files/a.csv").await.expect(302);
    let (version, body) = env.download(&r.header("location").unwrap());
    assert_eq!(body, b"new a");
    assert_eq!(env.versions(&object_prefix("c2", &new)), [version]);
    assert_eq!(
        alice.get("/v1/buckets/c2/data").await.expect(200).json(),
        json!({"data": {"new": true}})
    );
    let listed = alice.get("/v1/buckets").await.expect(200).json();
    assert_eq!(ids(&listed, "id"), vec!["c2"]);
}

#[tokio::test]
async fn an_upload_after_the_delete_leaves_no_object_and_no_record() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("c3", &json!({})).await;
    let generation = env.generation("c3").await;
    let r = alice
        .grant(
            "c3",
            &[
                ("late.txt", 4, "text/plain"),
                ("later.txt", 5, "text/plain"),
            ],
        )
        .await;
    let grants = r.expect(201).json()["data"].clone();
    alice.delete("/v1/buckets/c3").await.expect(200);
    // The presigned URL still works at S3, before or after the cascade ran...
    let late = env.put_upload(&grants[0], b"late");
    env.run_cascades().await;
    let later = env.put_upload(&grants[1], b"later");
    // ...but nothing of it stays: the cascade removed the version written before it ran (its
    // event finds nothing), and the upload event removes what no live bucket owns, even once
    // the id is reused.
    assert_eq!(env.objects.get_version(&late), None);
    alice.create_bucket("c3", &json!({})).await;
    assert_eq!(env.process(&late).await, Outcome::Gone);
    let outcome = env.process(&later).await;
    assert!(
        matches!(&outcome, Outcome::Rejected(r) if r.contains("no longer exists")),
        "{outcome:?}"
    );
    assert_eq!(env.objects.get_version(&later), None);
    assert_eq!(env.versions(&object_prefix("c3", &generation)), []);
    assert_eq!(env.store.incarnation_keys("c3", &generation), vec![]);
    assert!(env.store.markers().is_empty());
    assert_eq!(
        alice.get("/v1/buckets/c3/files").await.expect(200).json()["data"],
        json!([])
    );
}

#[tokio::test]
async fn delete_all_cascades_each_deleted_bucket_and_spares_the_others() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    let bob = env.user("bob", CREATOR);
    alice.create_bucket("a1", &json!({})).await;
    alice.upload("a1", "x.txt", b"x", "text/plain").await;
    alice.create_bucket("a2", &json!({})).await;
    alice
        .put("/v1/buckets/a2/data", &json!({"data": {"k": 1}}))
        .await
        .expect(200);
    let reads = json!({"permissions": {"read": [alice.principal()]}});
    bob.create_bucket("b1", &reads).await;
    bob.upload("b1", "keep.txt", b"keep", "text/plain").await;
    let r = alice.delete("/v1/buckets").await.expect(200).json();
    assert_eq!(r["data"].as_array().unwrap().len(), 2);
    assert_eq!(env.store.markers().len(), 2);
    assert_eq!(env.run_cascades().await, 2);
    assert!(keys_naming(&env, "a1").is_empty() && keys_naming(&env, "a2").is_empty());
    // Bob's readable bucket keeps its file and everything under it.
    let list = bob.get("/v1/buckets/b1/files").await.expect(200).json();
    assert_eq!(ids(&list, "name"), vec!["keep.txt"]);
    assert_eq!(env.objects.len(), 1);
}

#[tokio::test]
async fn a_failed_cascade_keeps_its_marker_and_finishes_when_run_again() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    let generation = filled(&env, "c4").await;
    alice.delete("/v1/buckets/c4").await.expect(200);
    let key = bucket_marker_key("c4", &generation);
    env.objects
        .fail_next(1, StoreError::Other("S3 is down".into()));
    let budget = shared::service::cascade::Budget {
        until: std::time::Instant::now() + std::time::Duration::from_secs(60),
        after_delete_call: &|| {},
    };
    let failed =
        shared::service::cascade::process_marker(&env.store, &env.objects, &key, &budget).await;
    assert!(failed.is_err(), "{failed:?}");
    assert_eq!(
        env.store.markers().len(),
        1,
        "the cascade is pending, not lost"
    );
    assert_eq!(env.run_cascades().await, 1);
    assert!(env.store.incarnation_keys("c4", &generation).is_empty() && env.objects.is_empty());
}

#[tokio::test]
async fn a_file_whose_objects_could_not_go_at_once_is_finished_by_the_cascade() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("c5", &json!({})).await;
    alice.upload("c5", "a.txt", b"a", "text/plain").await;
    alice.upload("c5", "a.txt", b"A", "text/plain").await;
    let generation = env.generation("c5").await;
    let mut versions = env.versions(&object_prefix("c5", &generation));
    assert_eq!(versions.len(), 2, "the file's version and its kept one");
    env.objects
        .fail_next(1, StoreError::Other("S3 is down".into()));
    // The file is deleted all the same; its object versions are left to the cascade.
    alice.delete("/v1/buckets/c5/files/a.txt").await.expect(200);
    alice
        .get("/v1/buckets/c5/files/a.txt")
        .await
        .expect_error(404, 111);
    assert_eq!((env.objects.len(), env.store.markers().len()), (2, 1));
    let markers = env.store.markers();
    let Job::Objects { objects } = &markers[0].job else {
        panic!("{:?}", markers[0].job);
    };
    // The current version first, then the kept one.
    versions.reverse();
    assert_eq!(objects, &versions);
    assert_eq!(env.run_cascades().await, 1);
    assert!(env.objects.is_empty() && env.store.markers().is_empty());
    alice.get("/v1/buckets/c5").await.expect(200);
}
