//! `/v1/buckets` and `/v1/buckets/{id}`: create, read, replace, patch, delete, the Kinto
//! precondition table and bad inputs.

use buckets_e2e::{Caller, unique};
use serde_json::{Value, json};

const CREATOR: &[&str] = &["create_buckets"];

/// A bucket's validator: `"<last_modified>-<file_count>-<total_bytes>"` (README, ETags).
fn etag(v: &Value) -> String {
    let d = &v["data"];
    format!(
        "\"{}-{}-{}\"",
        d["last_modified"], d["file_count"], d["total_bytes"]
    )
}

#[test]
fn post_creates_with_a_generated_id_and_server_fields() {
    let alice = Caller::user("alice", CREATOR);
    // Server fields are the server's: another value is refused naming it (hardening_inputs.rs);
    // sent as the server sets them, they are accepted.
    alice
        .post(
            "/v1/buckets",
            &json!({"data": {"title": "Reports", "revision": 77}}),
        )
        .expect_error(400, 107);
    let r = alice.post("/v1/buckets", &json!({"data": {"title": "Reports", "color": "blue", "revision": 1, "owner": alice.principal()}})).expect(201);
    let b = r.json();
    let id = b["data"]["id"].as_str().unwrap();
    assert!(
        id.len() == 11
            && id.starts_with('b')
            && id[1..]
                .chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase()),
        "{id}"
    );
    assert_eq!(b["data"]["title"], "Reports");
    assert_eq!(b["data"]["color"], "blue");
    assert_eq!(b["data"]["revision"], 1);
    assert_eq!(b["data"]["owner"], alice.principal());
    assert_eq!(b["data"]["active"], true);
    assert_eq!(b["data"]["file_count"], 0);
    assert_eq!(b["data"]["total_bytes"], 0);
    assert_eq!(b["data"]["created"], b["data"]["last_modified"]);
    assert!(
        b["permissions"]["write"]
            .as_array()
            .unwrap()
            .contains(&json!(alice.principal()))
    );
    assert_eq!(r.header("etag").unwrap(), etag(&b));
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    // And it reads back the same.
    let got = alice.get(&format!("/v1/buckets/{id}")).expect(200).json();
    assert_eq!(got, b);
}

#[test]
fn post_with_a_given_id_creates_then_answers_the_existing_bucket() {
    let alice = Caller::user("alice", CREATOR);
    let id = unique("given-");
    let first = alice
        .post("/v1/buckets", &json!({"data": {"id": id, "title": "one"}}))
        .expect(201)
        .json();
    let again = alice
        .post("/v1/buckets", &json!({"data": {"id": id, "title": "two"}}))
        .expect(200)
        .json();
    assert_eq!(again, first);
    // Someone who cannot read it gets 403, never the bucket.
    Caller::user("bob", CREATOR)
        .post("/v1/buckets", &json!({"data": {"id": id}}))
        .expect_error(403, 121);
}

#[test]
fn creating_needs_the_create_privilege() {
    let plain = Caller::user("plain", &[]);
    plain.post("/v1/buckets", &json!({})).expect_error(403, 121);
    plain
        .put(&format!("/v1/buckets/{}", unique("p")), &json!({}))
        .expect_error(403, 121);
    Caller::user("admin", &["admin"])
        .post("/v1/buckets", &json!({}))
        .expect(201);
}

#[test]
fn put_creates_then_replaces_and_bumps_revision() {
    let alice = Caller::user("alice", CREATOR);
    let id = unique("put-");
    let path = format!("/v1/buckets/{id}");
    let created = alice.create_bucket(&id, &json!({"data": {"title": "A", "notes": "n"}}));
    assert_eq!(created["data"]["id"], id.as_str());
    let replaced = alice
        .put(&path, &json!({"data": {"title": "B"}}))
        .expect(200)
        .json();
    assert_eq!(replaced["data"]["title"], "B");
    assert!(
        replaced["data"].get("notes").is_none(),
        "PUT replaces the attributes"
    );
    assert_eq!(replaced["data"]["revision"], 2);
    assert_eq!(replaced["data"]["created"], created["data"]["created"]);
    assert!(replaced["data"]["last_modified"].as_i64() > created["data"]["last_modified"].as_i64());
    // A PUT with permissions replaces them all (Kinto): lists it omits become empty, the
    // owner stays a writer; a PUT without permissions keeps them.
    alice
        .put(
            &path,
            &json!({"permissions": {"read": ["system.Authenticated"], "write": ["user:x"]}}),
        )
        .expect(200);
    let r = alice
        .put(&path, &json!({"permissions": {"write": ["user:y"]}}))
        .expect(200)
        .json();
    assert_eq!(r["permissions"]["read"], json!([]));
    assert!(
        r["permissions"]["write"]
            .as_array()
            .unwrap()
            .contains(&json!(alice.principal()))
    );
    assert!(
        !r["permissions"]["write"]
            .as_array()
            .unwrap()
            .contains(&json!("user:x"))
    );
    let r = alice
        .put(&path, &json!({"data": {"title": "C"}}))
        .expect(200)
        .json();
    assert!(
        r["permissions"]["write"]
            .as_array()
            .unwrap()
            .contains(&json!("user:y"))
    );
    // An id in the body that differs from the path.
    let err = alice
        .put(&path, &json!({"data": {"id": "other"}}))
        .expect_error(400, 107);
    assert_eq!(err["details"][0]["name"], "data.id");
}

#[test]
fn kinto_precondition_table() {
    let alice = Caller::user("alice", CREATOR);
    let id = unique("pre-");
    let path = format!("/v1/buckets/{id}");
    let star = [("If-None-Match", "*")];
    // If-None-Match: * creates only when absent.
    let created = alice
        .send("PUT", &path, &star, Some("{}"))
        .expect(201)
        .json();
    let err = alice
        .send("PUT", &path, &star, Some("{}"))
        .expect_error(412, 114);
    assert_eq!(err["details"]["existing"]["data"]["id"], id.as_str());
    // If-Match: * needs it to exist.
    let ghost = format!("/v1/buckets/{}", unique("ghost-"));
    alice
        .send("PUT", &ghost, &[("If-Match", "*")], Some("{}"))
        .expect_error(412, 114);
    alice
        .send("PUT", &ghost, &[("If-Match", "\"123\"")], Some("{}"))
        .expect_error(412, 114);
    // If-Match with the current ETag passes, a stale one fails.
    let current = etag(&created);
    let updated = alice
        .send(
            "PUT",
            &path,
            &[("If-Match", &current)],
            Some(r#"{"data":{"title":"x"}}"#),
        )
        .expect(200)
        .json();
    alice
        .send("PUT", &path, &[("If-Match", &current)], Some("{}"))
        .expect_error(412, 114);
    alice
        .send(
            "PATCH",
            &path,
            &[("If-Match", &current)],
            Some(r#"{"data":{"a":1}}"#),
        )
        .expect_error(412, 114);
    alice
        .send("DELETE", &path, &[("If-Match", &current)], None)
        .expect_error(412, 114);
    // GET: If-None-Match with the current ETag → 304; stale → 200; If-Match stale → 412.
    let now = etag(&updated);
    let r = alice
        .send("GET", &path, &[("If-None-Match", &now)], None)
        .expect(304);
    assert_eq!(r.header("etag").unwrap(), now);
    assert!(r.text.is_empty());
    alice
        .send("GET", &path, &[("If-None-Match", &current)], None)
        .expect(200);
    alice
        .send("GET", &path, &[("If-Match", &current)], None)
        .expect_error(412, 114);
    alice
        .send("GET", &path, &[("If-Match", &now)], None)
        .expect(200);
    // If-None-Match with the current ETag refuses a write.
    alice
        .send(
            "PATCH",
            &path,
            &[("If-None-Match", &now)],
            Some(r#"{"data":{"a":1}}"#),
        )
        .expect_error(412, 114);
    // Malformed header values are 400 naming the header.
    let err = alice
        .send("GET", &path, &[("If-Match", "yesterday")], None)
        .expect_error(400, 107);
    assert_eq!(err["details"][0]["name"], "If-Match");
    // Last-Modified is an HTTP date.
    let r = alice.get(&path).expect(200);
    assert!(r.header("last-modified").unwrap().ends_with("GMT"));
    // DELETE with the current ETag passes.
    alice
        .send("DELETE", &path, &[("If-Match", &now)], None)
        .expect(200);
}

#[test]
fn patch_application_json_merges_top_level() {
    let alice = Caller::user("alice", CREATOR);
    let id = unique("pj-");
    let path = format!("/v1/buckets/{id}");
    alice.create_bucket(
        &id,
        &json!({"data": {"title": "T", "meta": {"a": 1, "b": 2}}}),
    );
    let same = alice
        .patch(
            &path,
            "application/json",
            &json!({"data": {"title": "T", "active": true}}),
        )
        .expect(200)
        .json();
    assert_eq!(
        same["data"]["revision"], 1,
        "an identical patch is not a change"
    );
    let r = alice
        .patch(
            &path,
            "application/json",
            &json!({"data": {"meta": {"a": 9}, "icon": "star"}}),
        )
        .expect(200)
        .json();
    assert_eq!(
        r["data"]["meta"],
        json!({"a": 9}),
        "application/json replaces top-level keys"
    );
    assert_eq!(r["data"]["title"], "T");
    assert_eq!(r["data"]["icon"], "star");
    assert_eq!(r["data"]["revision"], 2);
    // A patch that changes nothing does not bump the revision.
    let same = alice
        .patch(
            &path,
            "application/json",
            &json!({"data": {"icon": "star"}}),
        )
        .expect(200)
        .json();
    assert_eq!(same["data"]["revision"], 2);
    assert_eq!(same["data"]["last_modified"], r["data"]["last_modified"]);
}

#[test]
fn patch_merge_patch_is_rfc7396() {
    let alice = Caller::user("alice", CREATOR);
    let id = unique("mp-");
    let path = format!("/v1/buckets/{id}");
    alice.create_bucket(
        &id,
        &json!({"data": {"title": "T", "meta": {"a": 1, "b": 2}}}),
    );
    let r = alice
        .patch(
            &path,
            "application/merge-patch+json",
            &json!({"data": {"meta": {"a": 9, "b": null}, "title": null}}),
        )
        .expect(200)
        .json();
    assert_eq!(r["data"]["meta"], json!({"a": 9}));
    assert!(r["data"].get("title").is_none(), "null removes: {r}");
}

#[test]
fn patch_json_patch_edits_data_and_permissions() {
    let alice = Caller::user("alice", CREATOR);
    let bob = Caller::user("bob", &[]);
    let id = unique("jp-");
    let path = format!("/v1/buckets/{id}");
    alice.create_bucket(&id, &json!({"data": {"tags": ["x"]}}));
    bob.get(&path).expect_error(403, 121);
    let ops = json!([
        {"op": "add", "path": "/data/tags/-", "value": "y"},
        {"op": "add", "path": format!("/permissions/read/{}", bob.principal()), "value": true},
    ]);
    let r = alice
        .patch(&path, "application/json-patch+json", &ops)
        .expect(200)
        .json();
    assert_eq!(r["data"]["tags"], json!(["x", "y"]));
    assert!(
        r["permissions"]["read"]
            .as_array()
            .unwrap()
            .contains(&json!(bob.principal()))
    );
    bob.get(&path).expect(200);
    // Removing the principal takes the access away again.
    let ops = json!([{"op": "remove", "path": format!("/permissions/read/{}", bob.principal())}]);
    alice
        .patch(&path, "application/json-patch+json", &ops)
        .expect(200);
    bob.get(&path).expect_error(403, 121);
    // A failing test op or bad path is a 400, nothing written.
    let before = alice.get(&path).expect(200).json();
    let ops = json!([{"op": "add", "path": "/data/z", "value": 1}, {"op": "test", "path": "/data/tags/0", "value": "nope"}]);
    alice
        .patch(&path, "application/json-patch+json", &ops)
        .expect_error(400, 107);
    assert_eq!(alice.get(&path).expect(200).json(), before);
    // The owner cannot be removed from write.
    let ops =
        json!([{"op": "remove", "path": format!("/permissions/write/{}", alice.principal())}]);
    let r = alice
        .patch(&path, "application/json-patch+json", &ops)
        .expect(200)
        .json();
    assert!(
        r["permissions"]["write"]
            .as_array()
            .unwrap()
            .contains(&json!(alice.principal()))
    );
}

#[test]
fn patch_with_another_content_type_is_415() {
    let alice = Caller::user("alice", CREATOR);
    let id = unique("ct-");
    alice.create_bucket(&id, &json!({}));
    let err = alice
        .patch(
            &format!("/v1/buckets/{id}"),
            "text/plain",
            &json!({"data": {}}),
        )
        .expect_error(415, 107);
    assert_eq!(err["details"][0]["name"], "Content-Type");
    alice
        .send(
            "PUT",
            &format!("/v1/buckets/{id}"),
            &[("Content-Type", "application/xml")],
            Some("<a/>"),
        )
        .expect_error(415, 107);
}

#[test]
fn delete_returns_a_tombstone_and_the_bucket_is_gone_for_everyone() {
    let alice = Caller::user("alice", CREATOR);
    let admin = Caller::user("admin", &["admin"]);
    let id = unique("del-");
    let path = format!("/v1/buckets/{id}");
    alice.create_bucket(
        &id,
        &json!({"permissions": {"read": ["system.Authenticated"]}}),
    );
    let t = alice.delete(&path).expect(200).json();
    assert_eq!(t["data"]["id"], id.as_str());
    assert_eq!(t["data"]["deleted"], true);
    assert!(t["data"]["last_modified"].is_i64());
    alice.get(&path).expect_error(403, 121);
    admin.get(&path).expect_error(404, 111);
    alice.delete(&path).expect_error(403, 121);
    // The same id can be created again, as a new bucket.
    let again = alice.create_bucket(&id, &json!({}));
    assert_eq!(again["data"]["revision"], 1);
}

#[test]
fn default_bucket_is_personal_and_works_like_any_other() {
    let alice = Caller::user("alice", &[]);
    let bob = Caller::user("bob", &[]);
    let a = alice.get("/v1/buckets/default").expect(200).json();
    let id = a["data"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        alice.get("/v1/buckets/default").expect(200).json()["data"]["id"],
        id.as_str(),
        "stable"
    );
    assert_ne!(
        bob.get("/v1/buckets/default").expect(200).json()["data"]["id"],
        id.as_str()
    );
    let patched = alice
        .patch(
            "/v1/buckets/default",
            "application/json",
            &json!({"data": {"title": "Mine"}}),
        )
        .expect(200)
        .json();
    assert_eq!(patched["data"]["title"], "Mine");
    assert_eq!(
        alice.get(&format!("/v1/buckets/{id}")).expect(200).json()["data"]["title"],
        "Mine"
    );
    bob.get(&format!("/v1/buckets/{id}")).expect_error(403, 121);
    // Nobody else may claim a personal bucket's id.
    Caller::user("carol", &["admin"])
        .put(&format!("/v1/buckets/{}", unique("default-")), &json!({}))
        .expect(201);
    let squat = format!("/v1/buckets/default-{}", "0".repeat(32));
    Caller::user("carol", &["admin"])
        .put(&squat, &json!({}))
        .expect_error(400, 107);
}

#[test]
fn bad_inputs_are_4xx_naming_the_field() {
    let alice = Caller::user("alice", CREATOR);
    let cases: Vec<(&str, String, Option<&str>, u16, &str)> = vec![
        ("POST", "/v1/buckets".into(), Some("{not json"), 400, "body"),
        ("POST", "/v1/buckets".into(), Some("[1,2]"), 400, "body"),
        (
            "POST",
            "/v1/buckets".into(),
            Some(r#"{"data": "x"}"#),
            400,
            "data",
        ),
        (
            "POST",
            "/v1/buckets".into(),
            Some(r#"{"data": {"id": "bad id!"}}"#),
            400,
            "data.id",
        ),
        (
            "POST",
            "/v1/buckets".into(),
            Some(r#"{"data": {"id": 7}}"#),
            400,
            "data.id",
        ),
        (
            "POST",
            "/v1/buckets".into(),
            Some(r#"{"data": {"title": 5}}"#),
            400,
            "data.title",
        ),
        (
            "POST",
            "/v1/buckets".into(),
            Some(r#"{"data": {"active": "no"}}"#),
            400,
            "data.active",
        ),
        (
            "POST",
            "/v1/buckets".into(),
            Some(r#"{"permissions": {"read": "x"}}"#),
            400,
            "permissions.read",
        ),
        (
            "POST",
            "/v1/buckets".into(),
            Some(r#"{"permissions": {"own": []}}"#),
            400,
            "permissions.own",
        ),
        ("GET", "/v1/buckets/bad%20id".into(), None, 400, "id"),
        (
            "GET",
            format!("/v1/buckets/{}", "a".repeat(65)),
            None,
            400,
            "id",
        ),
        ("GET", "/v1/buckets?_limit=0".into(), None, 400, "_limit"),
        ("GET", "/v1/buckets?_limit=1001".into(), None, 400, "_limit"),
        ("GET", "/v1/buckets?_limit=ten".into(), None, 400, "_limit"),
        (
            "GET",
            "/v1/buckets?_token=garbage".into(),
            None,
            400,
            "_token",
        ),
        (
            "GET",
            format!("/v1/buckets?after={}", "a".repeat(2000)),
            None,
            400,
            "after",
        ),
    ];
    for (method, path, body, status, field) in cases {
        let err = alice
            .send(method, &path, &[], body)
            .expect_error(status, 107);
        assert_eq!(err["details"][0]["name"], field, "{method} {path}: {err}");
    }
    let many: Vec<String> = (0..101).map(|i| format!("user:{i}")).collect();
    let err = alice
        .post("/v1/buckets", &json!({"permissions": {"read": many}}))
        .expect_error(400, 107);
    assert_eq!(err["details"][0]["name"], "permissions.read");
    let big = "x".repeat(70 * 1024);
    let err = alice
        .post("/v1/buckets", &json!({"data": {"blob": big}}))
        .expect_error(413, 113);
    assert_eq!(err["details"][0]["name"], "data");
}
