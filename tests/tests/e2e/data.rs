//! The bucket data document: the three PATCH kinds, PUT, its own ETag and 412, the size limit,
//! kept revisions, and concurrent shallow merges that all land.

use buckets_e2e::{Caller, unique};
use serde_json::{Value, json};

fn bucket(owner: &Caller) -> String {
    let id = unique("d-");
    owner.create_bucket(&id, &json!({}));
    id
}

#[test]
fn empty_document_then_put_and_the_three_patches() {
    let alice = Caller::user("alice", &["create_buckets"]);
    let id = bucket(&alice);
    let path = format!("/v1/buckets/{id}/data");
    let r = alice.get(&path).expect(200);
    assert_eq!(r.json(), json!({"data": {}}));
    assert_eq!(r.header("etag").as_deref(), Some("\"0\""));
    let r = alice
        .put(&path, &json!({"data": {"a": {"x": 1, "y": 2}, "b": 1}}))
        .expect(200);
    assert_eq!(r.header("etag").as_deref(), Some("\"1\""));
    // application/json: shallow merge (xyOps write_bucket_data).
    let r = alice
        .patch(
            &path,
            "application/json",
            &json!({"data": {"a": {"x": 9}, "c": 3}}),
        )
        .expect(200)
        .json();
    assert_eq!(r["data"], json!({"a": {"x": 9}, "b": 1, "c": 3}));
    // RFC 7396: recursive, null removes.
    let r = alice
        .patch(
            &path,
            "application/merge-patch+json",
            &json!({"data": {"a": {"z": 1}, "b": null}}),
        )
        .expect(200)
        .json();
    assert_eq!(r["data"], json!({"a": {"x": 9, "z": 1}, "c": 3}));
    // RFC 6902 over {data}.
    let ops = json!([{"op": "add", "path": "/data/list", "value": [1]}, {"op": "remove", "path": "/data/c"}]);
    let r = alice.patch(&path, "application/json-patch+json", &ops);
    assert_eq!(r.header("etag").as_deref(), Some("\"4\""));
    assert_eq!(
        r.expect(200).json()["data"],
        json!({"a": {"x": 9, "z": 1}, "list": [1]})
    );
    // A patch that changes nothing keeps the revision.
    let r = alice.patch(&path, "application/json", &json!({"data": {"list": [1]}}));
    assert_eq!(r.header("etag").as_deref(), Some("\"4\""));
    // The bucket itself is untouched by data writes.
    assert_eq!(
        alice.get(&format!("/v1/buckets/{id}")).expect(200).json()["data"]["revision"],
        1
    );
}

#[test]
fn etag_preconditions_and_bad_inputs() {
    let alice = Caller::user("alice", &["create_buckets"]);
    let id = bucket(&alice);
    let path = format!("/v1/buckets/{id}/data");
    alice.put(&path, &json!({"data": {"v": 1}})).expect(200);
    alice
        .send(
            "PUT",
            &path,
            &[("If-Match", "\"0\"")],
            Some(r#"{"data":{"v":2}}"#),
        )
        .expect_error(412, 114);
    alice
        .send(
            "PATCH",
            &path,
            &[("If-Match", "\"1\"")],
            Some(r#"{"data":{"v":2}}"#),
        )
        .expect(200);
    alice
        .send("GET", &path, &[("If-None-Match", "\"2\"")], None)
        .expect(304);
    let err = alice
        .put(&path, &json!({"data": [1]}))
        .expect_error(400, 107);
    assert_eq!(err["details"][0]["name"], "data");
    alice
        .put(&path, &json!({"nothing": 1}))
        .expect_error(400, 107);
    alice
        .patch(&path, "text/plain", &json!({"data": {}}))
        .expect_error(415, 107);
    let big = "x".repeat(300 * 1024);
    let err = alice
        .put(&path, &json!({"data": {"big": big}}))
        .expect_error(413, 113);
    assert_eq!(err["details"][0]["name"], "data");
    let err = alice
        .get(&format!("{path}?revision=abc"))
        .expect_error(400, 107);
    assert_eq!(err["details"][0]["name"], "revision");
    assert_eq!(alice.get(&path).expect(200).json()["data"], json!({"v": 2}));
}

#[test]
fn older_revisions_stay_readable() {
    let alice = Caller::user("alice", &["create_buckets"]);
    let id = bucket(&alice);
    let path = format!("/v1/buckets/{id}/data");
    for v in 1..=12 {
        alice.put(&path, &json!({"data": {"v": v}})).expect(200);
    }
    assert_eq!(
        alice.get(&format!("{path}?revision=12")).expect(200).json()["data"]["v"],
        12
    );
    assert_eq!(
        alice.get(&format!("{path}?revision=5")).expect(200).json()["data"]["v"],
        5
    );
    // Ten revisions are kept by default: 3..=12.
    assert_eq!(
        alice.get(&format!("{path}?revision=3")).expect(200).json()["data"]["v"],
        3
    );
    alice
        .get(&format!("{path}?revision=2"))
        .expect_error(404, 111);
    alice
        .get(&format!("{path}?revision=99"))
        .expect_error(404, 111);
}

#[test]
fn twenty_concurrent_shallow_merges_all_land() {
    let alice = Caller::user("alice", &["create_buckets"]);
    let id = bucket(&alice);
    let path = format!("/v1/buckets/{id}/data");
    std::thread::scope(|s| {
        for i in 0..20 {
            let (alice, path) = (&alice, &path);
            s.spawn(move || {
                alice
                    .patch(
                        path,
                        "application/json",
                        &json!({"data": {format!("job{i}"): i}}),
                    )
                    .expect(200);
            });
        }
    });
    let doc = alice.get(&path).expect(200);
    assert_eq!(doc.header("etag").as_deref(), Some("\"20\""));
    let data: Value = doc.json()["data"].clone();
    for i in 0..20 {
        assert_eq!(data[format!("job{i}")], i, "job{i} lost: {data}");
    }
}

#[test]
fn read_to_read_write_to_write() {
    let alice = Caller::user("alice", &["create_buckets"]);
    let reader = Caller::user("reader", &[]);
    let id = unique("d-");
    alice.create_bucket(&id, &json!({"permissions": {"read": [reader.principal()]}}));
    let path = format!("/v1/buckets/{id}/data");
    reader.get(&path).expect(200);
    reader
        .patch(&path, "application/json", &json!({"data": {"x": 1}}))
        .expect_error(403, 121);
    Caller::user("stranger", &[])
        .get(&path)
        .expect_error(403, 121);
    Caller::anonymous().get(&path).expect_error(401, 104);
    Caller::user("editor", &["edit_buckets"])
        .patch(&path, "application/json", &json!({"data": {"x": 1}}))
        .expect(200);
    // The default bucket has a document too.
    reader
        .put("/v1/buckets/default/data", &json!({"data": {"mine": true}}))
        .expect(200);
    assert_eq!(
        reader.get("/v1/buckets/default/data").expect(200).json()["data"]["mine"],
        true
    );
}
