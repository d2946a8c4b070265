//! File versions through the routes: kept versions listed in pages, restored as a new upload
//! (limits, counters, the current version kept in turn), refused restores leaving the file as
//! it was, and every bad input a 4xx naming it.

use serde_json::{Value, json};

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

/// A file replaced more often than one deletion marker can name: the versions it names go,
/// and a delete marker hides the rest (noncurrent, for the lifecycle to expire): the key
/// never shows a deleted file again.
#[tokio::test]
async fn deleting_a_file_with_more_versions_than_a_marker_names_hides_the_rest() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("b1", &json!({})).await;
    for i in 0..502 {
        let body = format!("v{i}");
        alice
            .upload("b1", "busy.txt", body.as_bytes(), "text/plain")
            .await;
    }
    let generation = env.generation("b1").await;
    let key = format!("b1/{generation}/busy.txt");
    assert_eq!(env.versions(&key).len(), 502);
    alice
        .delete("/v1/buckets/b1/files/busy.txt")
        .await
        .expect(200);
    // 500 named (the current one and 499 kept), 2 left behind a delete marker.
    assert_eq!(env.versions(&key).len(), 3);
    assert!(!env.objects.contains(&key), "the key shows no file");
}
