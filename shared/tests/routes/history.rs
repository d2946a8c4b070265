//! A bucket's history (`GET /v1/buckets/{id}/history`, the activity function): entries newest
//! first, Kinto's filters, pages, read permission, and one entry per stream record however often
//! it is delivered. The entries are recorded as the stream handler records them
//! (`Services::record_changes`), from stream records shaped as the table's items.

use serde_json::{Value, json};
use shared::domain::history::Change;

use crate::common::{CREATOR, Env, file_upload, link};

/// The stream record of a write of bucket `id` (revision `revision`, by `by`, at `ms`).
fn bucket_write(env: &Env, id: &str, generation: &str, revision: i64, by: &str, ms: i64) -> Change {
    let _ = env;
    let image = |rev: i64| {
        json!({"id": id, "gen": generation, "attrs": json!({"title": format!("r{rev}")}).to_string(),
               "acl": json!({"write": [by]}).to_string(), "owner": "user:alice",
               "last_modified": ms, "revision": rev, "by": by})
        .as_object()
        .cloned()
    };
    Change {
        event_id: format!("{id}-{revision}"),
        sequence: format!("{}", 1000 + revision),
        event_name: if revision == 1 { "INSERT" } else { "MODIFY" }.into(),
        pk: format!("B#{id}"),
        sk: "B".into(),
        old: (revision > 1).then(|| image(revision - 1)).flatten(),
        new: image(revision),
        approximate_ms: None,
    }
}

fn actions(page: &Value) -> Vec<(String, String)> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["resource_name"].as_str().unwrap().to_string(),
                e["action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn history_is_newest_first_filtered_paged_and_readable_by_readers_only() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice
        .create_bucket("b1", &json!({"permissions": {"read": ["user:bob"]}}))
        .await;
    let generation = env.generation("b1").await;
    let mut changes = vec![
        bucket_write(&env, "b1", &generation, 1, "user:alice", 1_000),
        bucket_write(&env, "b1", &generation, 2, "key:k1", 2_000),
    ];
    for i in 0..5 {
        changes.push(file_upload(
            "b1",
            &generation,
            &format!("f{i}.csv"),
            "user:bob",
            3_000 + i,
            10 + i,
        ));
    }
    let services = &env.app.services;
    let done = services.record_changes(&changes).await.unwrap();
    assert_eq!((done.written, done.repeated), (7, 0));
    // The stream delivers a batch again: nothing new.
    let again = services.record_changes(&changes).await.unwrap();
    assert_eq!((again.written, again.repeated), (0, 7));

    let all = alice.get("/v1/buckets/b1/history").await.expect(200).json();
    assert_eq!(all["data"].as_array().unwrap().len(), 7);
    assert_eq!(all["data"][0]["uri"], "/buckets/b1/files/f4%2Ecsv");
    assert_eq!(all["data"][6]["action"], "create");
    assert_eq!(all["data"][6]["resource_name"], "bucket");
    assert_eq!(all["data"][5]["user_id"], "key:k1");
    assert_eq!(all["data"][5]["target"]["data"]["title"], "r2");
    let times: Vec<i64> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["last_modified"].as_i64().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");

    // Filters (Kinto's names).
    let buckets = alice
        .get("/v1/buckets/b1/history?resource_name=bucket")
        .await
        .expect(200)
        .json();
    assert_eq!(
        actions(&buckets),
        [
            ("bucket".into(), "update".into()),
            ("bucket".into(), "create".into())
        ]
    );
    let by_key = alice
        .get("/v1/buckets/b1/history?user_id=key:k1")
        .await
        .expect(200)
        .json();
    assert_eq!(by_key["data"].as_array().unwrap().len(), 1);
    let window = alice
        .get("/v1/buckets/b1/history?_since=1000&_before=3002")
        .await
        .expect(200)
        .json();
    assert_eq!(window["data"].as_array().unwrap().len(), 3); // 2000, 3000, 3001

    // Pages of 3 with the filter kept, until the end.
    let mut seen = vec![];
    let mut next = Some("/v1/buckets/b1/history?_limit=3&resource_name=file".to_string());
    while let Some(path) = next {
        let r = alice.get(&path).await.expect(200);
        let header = r.header("next-page");
        let page = r.json();
        for e in page["data"].as_array().unwrap() {
            seen.push(e["uri"].as_str().unwrap().to_string());
        }
        next = header.map(|h| link(&h));
        assert_eq!(page["has_more"], next.is_some());
    }
    assert_eq!(seen.len(), 5);
    assert_eq!(seen[0], "/buckets/b1/files/f4%2Ecsv");
    assert_eq!(seen[4], "/buckets/b1/files/f0%2Ecsv");

    // Readers read it; others get 403 (never 404), anonymous 401.
    env.user("bob", &[])
        .get("/v1/buckets/b1/history")
        .await
        .expect(200);
    env.user("eve", &[])
        .get("/v1/buckets/b1/history")
        .await
        .expect_error(403, 121);
    env.anonymous()
        .get("/v1/buckets/b1/history")
        .await
        .expect_error(401, 104);
    env.user("eve", &[])
        .get("/v1/buckets/nope/history")
        .await
        .expect_error(403, 121);
}

#[tokio::test]
async fn bad_history_queries_name_their_field() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("b1", &json!({})).await;
    for (query, name) in [
        ("_since=yesterday", "_since"),
        ("_before=-5", "_before"),
        ("action=drop", "action"),
        ("resource_name=record", "resource_name"),
        ("_sort=last_modified", "_sort"),
        ("_limit=0", "_limit"),
        ("_token=forged", "_token"),
    ] {
        alice
            .get(&format!("/v1/buckets/b1/history?{query}"))
            .await
            .expect_invalid(400, "querystring", name);
    }
    alice
        .post("/v1/buckets/b1/history", &json!({}))
        .await
        .expect_error(405, 115);
    // A bucket with no history yet: an empty page.
    let empty = alice.get("/v1/buckets/b1/history").await.expect(200).json();
    assert_eq!(empty["data"], json!([]));
}
