//! The bucket data document: PUT and the three PATCH kinds, its own ETag and preconditions,
//! bad inputs, kept revisions, and who may read and write it. Concurrent writers are in
//! `races.rs`.

use serde_json::json;

use crate::common::{CREATOR, Env};

#[tokio::test]
async fn empty_document_then_put_and_the_three_patches() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("d1", &json!({})).await;
    let path = "/v1/buckets/d1/data";
    let r = alice.get(path).await.expect(200);
    assert_eq!(r.json(), json!({"data": {}}));
    assert_eq!(r.header("etag").as_deref(), Some("\"0\""));
    let doc = json!({"data": {"a": {"x": 1, "y": 2}, "b": 1}});
    let r = alice.put(path, &doc).await.expect(200);
    assert_eq!(r.header("etag").as_deref(), Some("\"1\""));
    assert_eq!(r.json(), doc);
    // application/json: shallow merge (xyOps write_bucket_data).
    let change = json!({"data": {"a": {"x": 9}, "c": 3}});
    let r = alice
        .patch(path, "application/json", &change)
        .await
        .expect(200);
    assert_eq!(r.json()["data"], json!({"a": {"x": 9}, "b": 1, "c": 3}));
    assert_eq!(r.header("etag").as_deref(), Some("\"2\""));
    // RFC 7396: recursive, null removes.
    let change = json!({"data": {"a": {"z": 1}, "b": null}});
    let r = alice
        .patch(path, "application/merge-patch+json", &change)
        .await;
    assert_eq!(
        r.expect(200).json()["data"],
        json!({"a": {"x": 9, "z": 1}, "c": 3})
    );
    // RFC 6902 over {data}.
    let ops = json!([{"op": "add", "path": "/data/list", "value": [1]}, {"op": "remove", "path": "/data/c"}]);
    let r = alice
        .patch(path, "application/json-patch+json", &ops)
        .await
        .expect(200);
    assert_eq!(r.header("etag").as_deref(), Some("\"4\""));
    let current = json!({"a": {"x": 9, "z": 1}, "list": [1]});
    assert_eq!(r.json()["data"], current);
    // A patch that changes nothing keeps the revision, of every kind.
    let same = [
        ("application/json", json!({"data": {"list": [1]}})),
        (
            "application/merge-patch+json",
            json!({"data": {"a": {"x": 9}}}),
        ),
        (
            "application/json-patch+json",
            json!([{"op": "test", "path": "/data/list/0", "value": 1}]),
        ),
    ];
    for (ct, body) in same {
        let r = alice.patch(path, ct, &body).await.expect(200);
        assert_eq!(r.header("etag").as_deref(), Some("\"4\""), "{ct}");
        assert_eq!(r.json()["data"], current);
    }
    // A PUT of the same document is a new revision all the same.
    let r = alice.put(path, &json!({"data": current})).await.expect(200);
    assert_eq!(r.header("etag").as_deref(), Some("\"5\""));
    // The read answers what was written; the bucket itself is untouched by data writes.
    let r = alice.get(path).await.expect(200);
    assert_eq!(
        (r.json()["data"].clone(), r.header("etag")),
        (current, Some("\"5\"".into()))
    );
    let bucket = alice.get("/v1/buckets/d1").await.expect(200).json();
    assert_eq!(bucket["data"]["revision"], 1);
}

#[tokio::test]
async fn etag_preconditions_and_the_current_document_on_412() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("d2", &json!({})).await;
    let path = "/v1/buckets/d2/data";
    let body = Some(r#"{"data":{"v":2}}"#);
    // Before the first write the document is revision 0.
    alice
        .send("PUT", path, &[("If-Match", "\"1\"")], body)
        .await
        .expect_error(412, 114);
    let r = alice.send(
        "PUT",
        path,
        &[("If-Match", "\"0\"")],
        Some(r#"{"data":{"v":1}}"#),
    );
    r.await.expect(200);
    // A stale If-Match fails every write and shows the document as it is.
    for method in ["PUT", "PATCH"] {
        let err = alice
            .send(method, path, &[("If-Match", "\"0\"")], body)
            .await
            .expect_error(412, 114);
        assert_eq!(
            err["details"]["existing"],
            json!({"data": {"v": 1}}),
            "{method}"
        );
    }
    alice
        .send("PUT", path, &[("If-None-Match", "\"1\"")], body)
        .await
        .expect_error(412, 114);
    alice
        .send("PUT", path, &[("If-None-Match", "*")], body)
        .await
        .expect_error(412, 114);
    let r = alice
        .send("PATCH", path, &[("If-Match", "\"1\"")], body)
        .await
        .expect(200);
    assert_eq!(r.header("etag").as_deref(), Some("\"2\""));
    // Reads: 304 with the ETag when unchanged, 412 with the document when If-Match is stale.
    let r = alice
        .send("GET", path, &[("If-None-Match", "\"2\"")], None)
        .await
        .expect(304);
    assert_eq!(r.header("etag").as_deref(), Some("\"2\""));
    assert!(r.resp.body.is_none());
    alice
        .send("GET", path, &[("If-None-Match", "\"1\"")], None)
        .await
        .expect(200);
    let err = alice
        .send("GET", path, &[("If-Match", "\"1\"")], None)
        .await
        .expect_error(412, 114);
    assert_eq!(err["details"]["existing"], json!({"data": {"v": 2}}));
    alice
        .send("GET", path, &[("If-Match", "\"2\"")], None)
        .await
        .expect(200);
    alice
        .send("GET", path, &[("If-Match", "two")], None)
        .await
        .expect_invalid(400, "header", "If-Match");
    assert_eq!(
        alice.get(path).await.expect(200).json(),
        json!({"data": {"v": 2}})
    );
}

#[tokio::test]
async fn bad_data_inputs_are_4xx_naming_the_field() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("d3", &json!({})).await;
    let path = "/v1/buckets/d3/data";
    alice
        .put(path, &json!({"data": {"keep": true}}))
        .await
        .expect(200);
    let json_ct = [("content-type", "application/json")];
    let cases: Vec<(&str, &str, &str, u16, &str, &str)> = vec![
        (
            "PUT",
            "application/json",
            r#"{"data": [1]}"#,
            400,
            "body",
            "data",
        ),
        (
            "PUT",
            "application/json",
            r#"{"nothing": 1}"#,
            400,
            "body",
            "data",
        ),
        ("PUT", "application/json", "", 400, "body", "data"),
        ("PUT", "application/json", "{oops", 400, "body", "body"),
        (
            "PUT",
            "text/plain",
            r#"{"data": {}}"#,
            415,
            "header",
            "Content-Type",
        ),
        (
            "PATCH",
            "text/plain",
            r#"{"data": {}}"#,
            415,
            "header",
            "Content-Type",
        ),
        ("PATCH", "application/json", "", 400, "body", "data"),
        (
            "PATCH",
            "application/json",
            r#"{"data": "x"}"#,
            400,
            "body",
            "data",
        ),
        ("PATCH", "application/json", "[1]", 400, "body", "body"),
        (
            "PATCH",
            "application/merge-patch+json",
            r#"{"data": 3}"#,
            400,
            "body",
            "data",
        ),
        (
            "PATCH",
            "application/json-patch+json",
            r#"[{"op": "replace", "path": "/data", "value": [1]}]"#,
            400,
            "body",
            "data",
        ),
        (
            "PATCH",
            "application/json-patch+json",
            r#"[{"op": "bogus"}]"#,
            400,
            "body",
            "body",
        ),
        (
            "PUT",
            "application/json",
            r#"{"data": {}, "permissions": {"read": []}}"#,
            400,
            "body",
            "permissions",
        ),
        (
            "PATCH",
            "application/json",
            r#"{"permissions": {"read": []}}"#,
            400,
            "body",
            "permissions",
        ),
    ];
    for (method, ct, body, status, location, name) in cases {
        let r = alice
            .send(method, path, &[("content-type", ct)], Some(body))
            .await;
        r.expect_invalid(status, location, name);
    }
    for (query, name) in [
        ("revision=abc", "revision"),
        ("revision=0", "revision"),
        ("revision=-1", "revision"),
    ] {
        alice
            .get(&format!("{path}?{query}"))
            .await
            .expect_invalid(400, "querystring", name);
    }
    // Over DataMaxBytes (256 KiB by default): 413 naming data.
    let big = json!({"data": {"big": "x".repeat(300 * 1024)}});
    alice
        .put(path, &big)
        .await
        .expect_invalid(413, "body", "data");
    let r = alice
        .send("PATCH", path, &json_ct, Some(&big.to_string()))
        .await;
    r.expect_invalid(413, "body", "data");
    // Nothing of that was written.
    let r = alice.get(path).await.expect(200);
    assert_eq!(r.json(), json!({"data": {"keep": true}}));
    assert_eq!(r.header("etag").as_deref(), Some("\"1\""));
    // A bad bucket id is about the path.
    alice
        .get("/v1/buckets/no%20pe/data")
        .await
        .expect_invalid(400, "path", "id");
}

#[tokio::test]
async fn the_last_ten_revisions_stay_readable() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("d4", &json!({})).await;
    let path = "/v1/buckets/d4/data";
    for v in 1..=12 {
        alice
            .put(path, &json!({"data": {"v": v}}))
            .await
            .expect(200);
    }
    for v in 3..=12 {
        let r = alice.get(&format!("{path}?revision={v}")).await.expect(200);
        assert_eq!(r.json(), json!({"data": {"v": v}}));
        assert_eq!(r.header("etag"), Some(format!("\"{v}\"")));
    }
    for gone in [1, 2, 13, 99] {
        let err = alice
            .get(&format!("{path}?revision={gone}"))
            .await
            .expect_error(404, 111);
        assert_eq!(err["details"]["resource_name"], "revision");
    }
    // Revisions are per incarnation: a re-created bucket starts again.
    alice.delete("/v1/buckets/d4").await.expect(200);
    alice.create_bucket("d4", &json!({})).await;
    let r = alice.get(path).await.expect(200);
    assert_eq!(
        (r.json(), r.header("etag")),
        (json!({"data": {}}), Some("\"0\"".into()))
    );
    alice
        .get(&format!("{path}?revision=12"))
        .await
        .expect_error(404, 111);
}

#[tokio::test]
async fn read_permission_reads_write_permission_writes() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    let reader = env.user("reader", &[]);
    let acl = json!({"permissions": {"read": [reader.principal()]}});
    alice.create_bucket("d5", &acl).await;
    let path = "/v1/buckets/d5/data";
    let change = json!({"data": {"x": 1}});
    alice
        .put(path, &json!({"data": {"v": 1}}))
        .await
        .expect(200);
    reader.get(path).await.expect(200);
    reader.get(&format!("{path}?revision=1")).await.expect(200);
    reader
        .patch(path, "application/json", &change)
        .await
        .expect_error(403, 121);
    reader.put(path, &change).await.expect_error(403, 121);
    // Refusals are the same for a bucket that does not exist.
    let stranger = env.user("stranger", &[]);
    for p in [path, "/v1/buckets/none/data"] {
        stranger.get(p).await.expect_error(403, 121);
        stranger
            .get(&format!("{p}?revision=1"))
            .await
            .expect_error(403, 121);
        env.anonymous().get(p).await.expect_error(401, 104);
    }
    env.user("editor", &["edit_buckets"])
        .patch(path, "application/json", &change)
        .await
        .expect(200);
    env.user("deleter", &["delete_buckets"])
        .patch(path, "application/json", &change)
        .await
        .expect_error(403, 121);
    assert_eq!(
        reader.get(path).await.expect(200).json(),
        json!({"data": {"v": 1, "x": 1}})
    );
    // The default bucket has a document too, created on first use.
    let mine = json!({"data": {"mine": true}});
    reader
        .put("/v1/buckets/default/data", &mine)
        .await
        .expect(200);
    assert_eq!(
        reader
            .get("/v1/buckets/default/data")
            .await
            .expect(200)
            .json(),
        mine
    );
    let fresh = env.user("fresh", &[]);
    assert_eq!(
        fresh
            .get("/v1/buckets/default/data")
            .await
            .expect(200)
            .json(),
        json!({"data": {}})
    );
}
