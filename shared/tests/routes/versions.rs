//! File versions through the routes: kept versions listed in pages, restored as a new upload
//! (limits, counters, the current version kept in turn), refused restores leaving the file as
//! it was, and every bad input a 4xx naming it.

use serde_json::{Value, json};
use shared::ports::{FileStore, ObjectVersion};
use shared::service::uploads::Outcome;

use crate::common::{CREATOR, Env, link};

async fn versions(env: &Env, id: &str, name: &str, query: &str) -> Value {
    env.user("alice", CREATOR)
        .get(&format!("/v1/buckets/{id}/files/{name}/versions{query}"))
        .await
        .expect(200)
        .json()
}

async fn downloaded(env: &Env, id: &str, name: &str) -> Vec<u8> {
    let r = env
        .user("alice", CREATOR)
        .get(&format!("/v1/buckets/{id}/files/{name}"))
        .await
        .expect(302);
    env.download(&r.header("location").unwrap()).1
}

#[tokio::test]
async fn kept_versions_are_listed_in_pages_and_restored() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("b1", &json!({})).await;
    let first = alice.upload("b1", "a.txt", b"one", "text/plain").await;
    for body in [&b"two!"[..], b"three", b"four!!"] {
        alice.upload("b1", "a.txt", body, "text/plain").await;
    }
    let page = versions(&env, "b1", "a.txt", "?_limit=2").await;
    assert_eq!(page["data"].as_array().unwrap().len(), 2);
    assert_eq!(page["has_more"], true);
    let next = page["next_uri"].as_str().unwrap();
    let rest = alice.get(&link(next)).await.expect(200).json();
    assert_eq!(rest["data"].as_array().unwrap().len(), 1);
    assert_eq!(rest["has_more"], false);
    let all: Vec<Value> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rest["data"].as_array().unwrap())
        .cloned()
        .collect();
    let mut sizes: Vec<i64> = all.iter().map(|v| v["size"].as_i64().unwrap()).collect();
    sizes.sort();
    assert_eq!(
        sizes,
        [3, 4, 5],
        "the current version (6 bytes) is not a kept one"
    );
    let one = all.iter().find(|v| v["size"] == 3).unwrap();
    assert_eq!(one["last_modified"], first["last_modified"]);
    assert_eq!(one["sha256"], first["sha256"]);
    let retention = 7 * 24 * 3600 * 1000;
    assert_eq!(
        one["expires_at"].as_i64().unwrap() - one["replaced"].as_i64().unwrap(),
        retention
    );

    let version = one["version_id"].as_str().unwrap();
    let restored = alice
        .post(
            &format!("/v1/buckets/b1/files/a.txt/versions/{version}/restore"),
            &json!({}),
        )
        .await
        .expect(200)
        .json()["data"]
        .clone();
    assert_eq!(restored["size"], 3);
    assert_eq!(restored["path"], first["path"]);
    assert_eq!(downloaded(&env, "b1", "a.txt").await, b"one");
    let (files, bytes, _) = env.counters("b1").await;
    assert_eq!(
        (files, bytes),
        (1, 3),
        "counters count the current version only"
    );
    let after = versions(&env, "b1", "a.txt", "").await;
    assert_eq!(
        after["data"].as_array().unwrap().len(),
        4,
        "the 6-byte one is kept now"
    );
}

#[tokio::test]
async fn a_restore_is_held_to_the_buckets_limits_and_to_write_permission() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    let bob = env.user("bob", &[]);
    alice
        .create_bucket("b1", &json!({"permissions": {"read": [bob.principal()]}}))
        .await;
    alice
        .upload("b1", "a.txt", b"a longer first version", "text/plain")
        .await;
    alice.upload("b1", "a.txt", b"short", "text/plain").await;
    let kept = versions(&env, "b1", "a.txt", "").await;
    let version = kept["data"][0]["version_id"].as_str().unwrap().to_string();
    let restore = format!("/v1/buckets/b1/files/a.txt/versions/{version}/restore");

    // Readers list versions, never restore them.
    let listed = bob
        .get("/v1/buckets/b1/files/a.txt/versions")
        .await
        .expect(200)
        .json();
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    bob.post(&restore, &json!({})).await.expect_error(403, 121);

    // A limit tightened since: the restore is refused, naming the version, and nothing moves.
    alice
        .patch(
            "/v1/buckets/b1",
            "application/json",
            &json!({"data": {"limits": {"max_file_size": 10}}}),
        )
        .await
        .expect(200);
    let err = alice
        .post(&restore, &json!({}))
        .await
        .expect_error(413, 113);
    assert_eq!(err["details"][0]["name"], "version", "{err}");
    assert_eq!(err["details"][0]["location"], "path", "{err}");
    assert_eq!(downloaded(&env, "b1", "a.txt").await, b"short");
    assert_eq!(
        versions(&env, "b1", "a.txt", "").await["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Unknown versions and files, bad version ids: 404 / 400, never a 5xx.
    alice
        .post(
            "/v1/buckets/b1/files/a.txt/versions/v999/restore",
            &json!({}),
        )
        .await
        .expect_error(404, 111);
    alice
        .post(
            &format!("/v1/buckets/b1/files/nope.txt/versions/{version}/restore"),
            &json!({}),
        )
        .await
        .expect_error(404, 111);
    alice
        .get("/v1/buckets/b1/files/nope.txt/versions")
        .await
        .expect_error(404, 111);
    let err = alice
        .post(
            "/v1/buckets/b1/files/a.txt/versions/a%20b/restore",
            &json!({}),
        )
        .await
        .expect_error(400, 107);
    assert_eq!(err["details"][0]["name"], "version_id", "{err}");
    alice
        .get(&format!(
            "/v1/buckets/b1/files/a.txt/versions/{version}/restore"
        ))
        .await
        .expect_error(405, 115);
}

async fn grant(env: &Env, name: &str, size: usize) -> Value {
    env.user("alice", CREATOR)
        .grant("b1", &[(name, size, "text/plain")])
        .await
        .expect(201)
        .json()["files"][0]
        .clone()
}

/// The recorded version of `name` and the key's latest version (what S3 calls current).
async fn recorded_and_latest(env: &Env, name: &str) -> (Option<String>, Option<String>) {
    let generation = env.generation("b1").await;
    let rec = env.store.get_file("b1", &generation, name).await.unwrap();
    let latest = env
        .objects
        .get(&format!("b1/{generation}/{name}"))
        .and_then(|o| o.meta.version_id);
    (rec.map(|r| r.version_id), latest)
}

/// A file with more versions than one deletion marker names: they all go, by version id (no
/// delete marker), so an upload PUT before the delete and recorded after it stays the key's
/// latest version (a recorded version must never be noncurrent: the lifecycle expires those).
#[tokio::test]
async fn deleting_a_much_replaced_file_never_hides_a_racing_upload() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("b1", &json!({})).await;
    for i in 0..501 {
        alice
            .upload("b1", "busy.txt", format!("v{i}").as_bytes(), "text/plain")
            .await;
    }
    let generation = env.generation("b1").await;
    let key = format!("b1/{generation}/busy.txt");
    assert_eq!(env.versions(&key).len(), 501);
    let g = grant(&env, "busy.txt", 3).await;
    let pending = env.put_upload(&g, b"new");
    alice
        .delete("/v1/buckets/b1/files/busy.txt")
        .await
        .expect(200);
    assert_eq!(
        env.versions(&key),
        vec![pending.clone()],
        "every version of the deleted file went, by id; nothing else"
    );
    assert_eq!(env.process(&pending).await, Outcome::Recorded);
    let (rec, latest) = recorded_and_latest(&env, "busy.txt").await;
    assert_eq!(
        rec, latest,
        "recorded version is not S3-current: lifecycle will expire it"
    );
}

/// A deletion's marker run again (its inline pass failed; the stream or the hourly replay)
/// after the name was uploaded again leaves the new file as it is.
#[tokio::test]
async fn a_deletion_replayed_after_the_name_is_uploaded_again_spares_the_new_file() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("b1", &json!({})).await;
    for i in 0..501 {
        alice
            .upload("b1", "busy.txt", format!("v{i}").as_bytes(), "text/plain")
            .await;
    }
    // The inline pass fails (S3 refuses), leaving the marker to the cascade function: the
    // object calls of the delete are the DeleteObjects of the kept versions past the
    // marker's 500 (before the transaction), then the inline pass's DeleteObjects.
    env.objects
        .fail_call(1, shared::ports::StoreError::Other("s3 down".into()));
    alice
        .delete("/v1/buckets/b1/files/busy.txt")
        .await
        .expect(200);
    env.objects.clear_faults();
    alice.upload("b1", "busy.txt", b"fresh", "text/plain").await;
    assert_eq!(
        env.run_cascades().await,
        1,
        "the deletion's marker was left"
    );
    let (rec, latest) = recorded_and_latest(&env, "busy.txt").await;
    assert!(rec.is_some());
    assert_eq!(rec, latest, "the replayed marker hid the new file");
}

/// Two uploads of a name whose events carry the same time: S3's order (not the upload ids)
/// decides which is the file, so the recorded version is the key's latest.
#[tokio::test]
async fn s3s_order_decides_between_uploads_of_one_name() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("b1", &json!({})).await;
    let g1 = grant(&env, "a.txt", 1).await;
    let g2 = grant(&env, "a.txt", 1).await;
    let (lo, hi) = if g1["upload_id"].as_str() < g2["upload_id"].as_str() {
        (g1, g2)
    } else {
        (g2, g1)
    };
    // S3 stores `hi` first and `lo` last (lo is S3-latest); both events carry the same ms.
    let v_hi = env.put_upload(&hi, b"h");
    let v_lo = env.put_upload(&lo, b"l");
    let t = shared::domain::time::now_ms();
    let s = &env.app.services;
    assert_eq!(
        s.process_upload(&v_lo.key, v_lo.version_id.as_deref(), Some(t))
            .await
            .unwrap(),
        Outcome::Recorded
    );
    assert_eq!(
        s.process_upload(&v_hi.key, v_hi.version_id.as_deref(), Some(t))
            .await
            .unwrap(),
        Outcome::Superseded,
        "S3 holds it as the older: deleted, whatever the upload ids say"
    );
    let (rec, latest) = recorded_and_latest(&env, "a.txt").await;
    assert_eq!(rec, latest, "the recorded version is S3's latest");
    assert_eq!(rec, v_lo.version_id);
}

/// A late (or replayed) event of a kept version, after its grant expired and went, changes
/// nothing: the version stays restorable.
#[tokio::test]
async fn a_late_event_of_a_kept_version_keeps_it() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("b1", &json!({})).await;
    let g = grant(&env, "a.txt", 3).await;
    let v1 = env.put_upload(&g, b"one");
    assert_eq!(env.process(&v1).await, Outcome::Recorded);
    alice.upload("b1", "a.txt", b"two", "text/plain").await;
    let generation = env.generation("b1").await;
    env.store
        .delete_grants(
            "b1",
            &generation,
            &[g["upload_id"].as_str().unwrap().to_string()],
        )
        .await
        .unwrap(); // the grant's TTL (7 days) passed
    let out = env.process(&v1).await; // DLQ replay of the old event
    assert_eq!(
        out,
        Outcome::Duplicate,
        "a kept version's late event must change nothing"
    );
}

/// Restoring a listed version whose S3 version is gone (the lifecycle ran; its item lives a
/// day longer) is a 404 naming the version; restoring the bytes the file holds already is
/// a no-op.
#[tokio::test]
async fn a_gone_version_is_404_and_restoring_the_current_bytes_changes_nothing() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("b1", &json!({})).await;
    alice.upload("b1", "a.txt", b"one", "text/plain").await;
    alice.upload("b1", "a.txt", b"two", "text/plain").await;
    let kept = env.kept_versions("b1", "a.txt").await;
    let generation = env.generation("b1").await;
    let v = kept[0].record.version_id.clone();
    env.objects
        .get_version(&ObjectVersion::new(
            format!("b1/{generation}/a.txt"),
            Some(v.clone()),
        ))
        .unwrap();
    use shared::ports::ObjectStore;
    env.objects
        .delete(&ObjectVersion::new(
            format!("b1/{generation}/a.txt"),
            Some(v.clone()),
        ))
        .await
        .unwrap();
    let r = alice
        .post(
            &format!("/v1/buckets/b1/files/a.txt/versions/{v}/restore"),
            &json!({}),
        )
        .await;
    r.expect_error(404, 111);

    // Same bytes as the current file: answered as it is, nothing copied or kept.
    alice.upload("b1", "b.txt", b"same", "text/plain").await;
    alice.upload("b1", "b.txt", b"diff", "text/plain").await;
    let current = alice.upload("b1", "b.txt", b"same", "text/plain").await;
    let key = format!("b1/{generation}/b.txt");
    let (versions_before, kept_before) = (
        env.versions(&key).len(),
        env.kept_versions("b1", "b.txt").await.len(),
    );
    let same = env
        .kept_versions("b1", "b.txt")
        .await
        .into_iter()
        .find(|k| k.record.etag == current["etag"])
        .expect("the first upload is kept")
        .record
        .version_id;
    let r = alice
        .post(
            &format!("/v1/buckets/b1/files/b.txt/versions/{same}/restore"),
            &json!({}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(r["data"], current);
    assert_eq!(env.versions(&key).len(), versions_before);
    assert_eq!(env.kept_versions("b1", "b.txt").await.len(), kept_before);
}
