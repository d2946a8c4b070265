//! What the store did, as its stream reports it (`MemoryStore::take_changes`, the typed
//! changes the DynamoDB adapter decodes from its records), through the activity function's
//! work (`Services::on_activity`): the bucket's history and its webhooks' events follow the
//! routes' writes with no hand-built change.

use serde_json::{Value, json};

use crate::common::{CREATOR, Env};

const HOOK: &str = "https://hooks.example.com/in";

fn kinds(page: &Value) -> Vec<(String, String)> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|e| {
            (
                e["resource_name"].as_str().unwrap().to_string(),
                e["action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_routes_writes_become_history_entries_and_webhook_events() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice
        .create_bucket("b1", &json!({"data": {"title": "t1"}}))
        .await;
    let hook = json!({"url": HOOK, "events": ["bucket.updated", "data.updated",
                                              "file.uploaded", "file.deleted"]});
    alice
        .post("/v1/buckets/b1/webhooks", &hook)
        .await
        .expect(201);
    alice
        .patch(
            "/v1/buckets/b1",
            "application/json",
            &json!({"data": {"title": "t2"}}),
        )
        .await
        .expect(200);
    alice
        .put("/v1/buckets/b1/data", &json!({"data": {"stage": 1}}))
        .await
        .expect(200);
    alice.upload("b1", "a.csv", b"a,b\n", "text/csv").await;
    alice.delete("/v1/buckets/b1/files/a.csv").await.expect(200);

    let changes = env.store.take_changes();
    let services = &env.app.services;
    let done = services.on_activity(&env.queue, &changes).await.unwrap();
    // Redelivered, the batch makes nothing twice.
    let again = services.on_activity(&env.queue, &changes).await.unwrap();
    assert_eq!((again.written, again.repeated), (0, done.written));

    let page = alice.get("/v1/buckets/b1/history").await.expect(200).json();
    // As a set: entries are ordered by their item's time, and a bucket's write may carry a
    // time a millisecond ahead of the clock (`next_timestamp`), so a write right after it can
    // sort before it.
    let mut seen = kinds(&page);
    seen.sort();
    let mut wanted = [
        ("bucket", "create"),
        ("bucket", "update"),
        ("data", "create"),
        ("file", "create"),
        ("file", "delete"),
        ("webhook", "create"),
    ]
    .map(|(r, a)| (r.to_string(), a.to_string()));
    wanted.sort();
    assert_eq!(seen, wanted, "{page}");
    let entry = |resource: &str, action: &str| {
        page["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["resource_name"] == resource && e["action"] == action)
            .unwrap()
            .clone()
    };
    let deleted = entry("file", "delete");
    assert_eq!(deleted["target"]["data"]["name"], "a.csv");
    assert_eq!(deleted["user_id"], alice.principal());
    assert_eq!(entry("bucket", "update")["target"]["data"]["title"], "t2");

    env.drain_deliveries().await;
    let sent: Vec<String> = env
        .sender
        .requests()
        .iter()
        .map(|r| {
            serde_json::from_str::<Value>(&r.body).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        sent,
        [
            "bucket.updated",
            "data.updated",
            "file.uploaded",
            "file.deleted"
        ],
        "each event once, in the order of the writes"
    );
    assert_eq!(done.written, 6);
}
