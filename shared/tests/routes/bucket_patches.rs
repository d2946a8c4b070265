//! Conditional writes of a bucket (the Kinto precondition table) and the three PATCH kinds.

use serde_json::{Value, json};

use crate::common::{CREATOR, Env};

/// A bucket's validator: `"<last_modified>-<file_count>-<total_bytes>"`.
fn etag(v: &Value) -> String {
    let d = &v["data"];
    format!(
        "\"{}-{}-{}\"",
        d["last_modified"], d["file_count"], d["total_bytes"]
    )
}

fn has(list: &Value, principal: &str) -> bool {
    list.as_array().unwrap().contains(&json!(principal))
}

#[tokio::test]
async fn kinto_precondition_table() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    let path = "/v1/buckets/pre1";
    let star = [("If-None-Match", "*")];
    // If-None-Match: * creates only when absent.
    let created = alice
        .send("PUT", path, &star, Some("{}"))
        .await
        .expect(201)
        .json();
    let err = alice
        .send("PUT", path, &star, Some("{}"))
        .await
        .expect_error(412, 114);
    assert_eq!(err["details"]["existing"], created);
    // If-Match needs it to exist; a failed conditional PUT creates nothing.
    let ghost = "/v1/buckets/ghost";
    for value in ["*", "\"123\""] {
        let err = alice
            .send("PUT", ghost, &[("If-Match", value)], Some("{}"))
            .await
            .expect_error(412, 114);
        assert!(err.get("details").is_none(), "nothing to show: {err}");
    }
    alice.get(ghost).await.expect_error(403, 121);
    // If-Match with the current ETag passes, a stale one fails on every write.
    let current = etag(&created);
    let m = [("If-Match", current.as_str())];
    let body = Some(r#"{"data":{"title":"x"}}"#);
    let updated = alice.send("PUT", path, &m, body).await.expect(200).json();
    for (method, body) in [("PUT", Some("{}")), ("PATCH", body), ("DELETE", None)] {
        let err = alice
            .send(method, path, &m, body)
            .await
            .expect_error(412, 114);
        assert_eq!(err["details"]["existing"], updated, "{method}");
    }
    // Quotes are optional, and If-Match: * passes on an existing bucket.
    let bare = updated["data"]["last_modified"].to_string();
    let r = alice.send("GET", path, &[("If-Match", &bare)], None).await;
    r.expect(200);
    alice
        .send("GET", path, &[("If-Match", "*")], None)
        .await
        .expect(200);
    // GET: If-None-Match with the current ETag → 304 with the ETag; stale → 200; If-Match stale
    // → 412.
    let now = etag(&updated);
    let r = alice
        .send("GET", path, &[("If-None-Match", &now)], None)
        .await
        .expect(304);
    assert_eq!(r.header("etag").unwrap(), now);
    assert!(r.header("last-modified").is_some());
    assert!(r.resp.body.is_none());
    alice
        .send("GET", path, &[("If-None-Match", &current)], None)
        .await
        .expect(200);
    alice
        .send("GET", path, &[("If-None-Match", "*")], None)
        .await
        .expect(200);
    let err = alice
        .send("GET", path, &[("If-Match", &current)], None)
        .await
        .expect_error(412, 114);
    assert_eq!(err["details"]["existing"], updated);
    // If-None-Match with the current ETag refuses a write.
    alice
        .send("PATCH", path, &[("If-None-Match", &now)], body)
        .await
        .expect_error(412, 114);
    // Malformed values are 400 naming the header.
    for (header, value) in [("If-Match", "yesterday"), ("If-None-Match", "\"12")] {
        alice
            .send("GET", path, &[(header, value)], None)
            .await
            .expect_invalid(400, "header", header);
    }
    alice
        .send("GET", path, &[("If-Match", "\u{e9}")], None)
        .await
        .expect_invalid(400, "header", "if-match");
    // Nothing of that changed it; DELETE with the current ETag passes.
    assert_eq!(alice.get(path).await.expect(200).json(), updated);
    alice
        .send("DELETE", path, &[("If-Match", &now)], None)
        .await
        .expect(200);
}

#[tokio::test]
async fn patch_application_json_merges_top_level() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    let path = "/v1/buckets/pj";
    let body = json!({"data": {"title": "T", "meta": {"a": 1, "b": 2}}});
    alice.create_bucket("pj", &body).await;
    let same = json!({"data": {"title": "T", "active": true}});
    let r = alice
        .patch(path, "application/json", &same)
        .await
        .expect(200)
        .json();
    assert_eq!(
        r["data"]["revision"], 1,
        "an identical patch is not a change"
    );
    // A server field may be echoed as read (revision 1), not changed.
    alice
        .patch(path, "application/json", &json!({"data": {"revision": 40}}))
        .await
        .expect_invalid(400, "body", "data.revision");
    let change = json!({"data": {"meta": {"a": 9}, "icon": "star", "revision": 1}});
    let resp = alice
        .patch(path, "application/json; charset=utf-8", &change)
        .await;
    let r = resp.expect(200);
    let patched = r.json();
    assert_eq!(r.header("etag").unwrap(), etag(&patched));
    assert_eq!(
        patched["data"]["meta"],
        json!({"a": 9}),
        "top-level keys are replaced"
    );
    assert_eq!(patched["data"]["title"], "T");
    assert_eq!(patched["data"]["icon"], "star");
    assert_eq!(patched["data"]["revision"], 2);
    // A patch that changes nothing keeps the revision and the ETag; null clears a text field.
    let same = json!({"data": {"icon": "star"}});
    let r = alice
        .patch(path, "application/json", &same)
        .await
        .expect(200)
        .json();
    assert_eq!(r, patched);
    let r = alice
        .patch(path, "application/json", &json!({"data": {"title": null}}))
        .await
        .expect(200)
        .json();
    assert!(r["data"].get("title").is_none(), "{r}");
    // Without a Content-Type it is this kind too; without a body it is a 400.
    let r = alice
        .send("PATCH", path, &[], Some(r#"{"data":{"x":1}}"#))
        .await;
    assert_eq!(r.expect(200).json()["data"]["x"], 1);
    alice
        .send("PATCH", path, &[], None)
        .await
        .expect_invalid(400, "body", "body");
    alice
        .patch(path, "application/json", &json!({"data": [1]}))
        .await
        .expect_invalid(400, "body", "data");
}

#[tokio::test]
async fn patch_merge_patch_is_rfc7396() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    let path = "/v1/buckets/mp";
    let acl = json!({"read": ["user:r"], "write": ["user:w"]});
    let body = json!({"data": {"title": "T", "meta": {"a": 1, "b": 2}}, "permissions": acl});
    alice.create_bucket("mp", &body).await;
    let change = json!({"data": {"meta": {"a": 9, "b": null}, "title": null}, "permissions": {"read": null}});
    let r = alice
        .patch(path, "application/merge-patch+json", &change)
        .await
        .expect(200)
        .json();
    assert_eq!(r["data"]["meta"], json!({"a": 9}));
    assert!(r["data"].get("title").is_none(), "null removes: {r}");
    assert_eq!(
        r["permissions"]["read"],
        json!([]),
        "a removed list is empty"
    );
    assert!(
        has(&r["permissions"]["write"], "user:w"),
        "lists not named stay"
    );
}

#[tokio::test]
async fn patch_json_patch_edits_data_and_permissions() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    let bob = env.user("bob", &[]);
    let path = "/v1/buckets/jp";
    alice
        .create_bucket("jp", &json!({"data": {"tags": ["x"]}}))
        .await;
    bob.get(path).await.expect_error(403, 121);
    let read_bob = format!("/permissions/read/{}", bob.principal());
    let ops = json!([
        {"op": "add", "path": "/data/tags/-", "value": "y"},
        {"op": "add", "path": read_bob, "value": true},
    ]);
    let ct = "application/json-patch+json";
    let r = alice.patch(path, ct, &ops).await.expect(200).json();
    assert_eq!(r["data"]["tags"], json!(["x", "y"]));
    assert!(has(&r["permissions"]["read"], &bob.principal()));
    bob.get(path).await.expect(200);
    // Removing the principal takes the access away again.
    let ops = json!([{"op": "remove", "path": read_bob}]);
    alice.patch(path, ct, &ops).await.expect(200);
    bob.get(path).await.expect_error(403, 121);
    // A failing test op, a bad path or a non-array body is a 400 naming the body; nothing is
    // written.
    let before = alice.get(path).await.expect(200).json();
    let failing = [
        json!([{"op": "add", "path": "/data/z", "value": 1}, {"op": "test", "path": "/data/tags/0", "value": "nope"}]),
        json!([{"op": "remove", "path": "/data/missing"}]),
        json!({"op": "add"}),
    ];
    for ops in failing {
        alice
            .patch(path, ct, &ops)
            .await
            .expect_invalid(400, "body", "body");
    }
    assert_eq!(alice.get(path).await.expect(200).json(), before);
    // The owner cannot be removed from write.
    let ops =
        json!([{"op": "remove", "path": format!("/permissions/write/{}", alice.principal())}]);
    let r = alice.patch(path, ct, &ops).await.expect(200).json();
    assert!(has(&r["permissions"]["write"], &alice.principal()));
}

#[tokio::test]
async fn other_content_types_are_415() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("ct", &json!({})).await;
    alice
        .patch("/v1/buckets/ct", "text/plain", &json!({"data": {}}))
        .await
        .expect_invalid(415, "header", "Content-Type");
    let xml = [("Content-Type", "application/xml")];
    for (method, path) in [("PUT", "/v1/buckets/ct"), ("POST", "/v1/buckets")] {
        alice
            .send(method, path, &xml, Some("<a/>"))
            .await
            .expect_invalid(415, "header", "Content-Type");
    }
}
