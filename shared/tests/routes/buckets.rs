//! `/v1/buckets` and `/v1/buckets/{id}`: create, read, replace, delete, the default bucket and
//! bad inputs. Preconditions and PATCH are in `bucket_patches.rs`, query strings in `paging.rs`.

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
async fn post_creates_with_a_generated_id_and_server_fields() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    // Server fields are the server's: a value other than the one it sets is refused, naming it.
    for (name, value) in [("revision", json!(77)), ("owner", json!("user:x"))] {
        let body = json!({"data": {"title": "Reports", name: value}});
        alice
            .post("/v1/buckets", &body)
            .await
            .expect_invalid(400, "body", &format!("data.{name}"));
    }
    let body = json!({"data": {"title": "Reports", "color": "blue", "revision": 1, "owner": alice.principal(), "file_count": 9}});
    let r = alice.post("/v1/buckets", &body).await.expect(201);
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
    // Server fields the client sent as the server sets them are not attributes; the counters
    // are the server's whatever the client sent.
    assert_eq!(b["data"]["revision"], 1);
    assert_eq!(b["data"]["owner"], alice.principal());
    assert_eq!(b["data"]["file_count"], 0);
    assert_eq!(b["data"]["total_bytes"], 0);
    assert_eq!(b["data"]["active"], true);
    assert_eq!(b["data"]["created"], b["data"]["last_modified"]);
    assert_eq!(
        b["permissions"],
        json!({"read": [], "write": [alice.principal()]})
    );
    assert_eq!(r.header("etag").unwrap(), etag(&b));
    assert!(r.header("last-modified").unwrap().ends_with(" GMT"));
    // It reads back the same, with the same headers.
    let got = alice.get(&format!("/v1/buckets/{id}")).await.expect(200);
    assert_eq!(got.json(), b);
    assert_eq!(got.header("etag"), r.header("etag"));
    assert_eq!(got.header("last-modified"), r.header("last-modified"));
    // Two POSTs make two buckets.
    let other = alice
        .post("/v1/buckets", &json!({}))
        .await
        .expect(201)
        .json();
    assert_ne!(other["data"]["id"], b["data"]["id"]);
}

#[tokio::test]
async fn post_with_a_given_id_creates_then_answers_the_existing_bucket() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    let body = json!({"data": {"id": "given", "title": "one"}});
    let first = alice.post("/v1/buckets", &body).await.expect(201).json();
    let body = json!({"data": {"id": "given", "title": "two"}});
    let again = alice.post("/v1/buckets", &body).await.expect(200).json();
    assert_eq!(again, first);
    // If-None-Match: * refuses an existing id, showing it.
    let star = [("If-None-Match", "*"), ("content-type", "application/json")];
    let err = alice
        .send(
            "POST",
            "/v1/buckets",
            &star,
            Some(r#"{"data":{"id":"given"}}"#),
        )
        .await
        .expect_error(412, 114);
    assert_eq!(err["details"]["existing"], first);
    // If-Match on an id that does not exist fails and creates nothing.
    let if_match = [("If-Match", "\"1\"")];
    alice
        .send(
            "POST",
            "/v1/buckets",
            &if_match,
            Some(r#"{"data":{"id":"new1"}}"#),
        )
        .await
        .expect_error(412, 114);
    alice.get("/v1/buckets/new1").await.expect_error(403, 121);
    // Someone who cannot read it gets 403, never the bucket.
    env.user("bob", CREATOR)
        .post("/v1/buckets", &json!({"data": {"id": "given"}}))
        .await
        .expect_error(403, 121);
}

#[tokio::test]
async fn creating_needs_the_create_privilege() {
    let env = Env::new();
    let plain = env.user("plain", &[]);
    let err = plain
        .post("/v1/buckets", &json!({}))
        .await
        .expect_error(403, 121);
    assert!(err["message"].as_str().unwrap().contains("create_buckets"));
    // An id the client names may exist: the refusal is the one an existing bucket the caller
    // may not read gets (the hardening issue changed this from the create_buckets message).
    let err = plain
        .put("/v1/buckets/p1", &json!({}))
        .await
        .expect_error(403, 121);
    assert_eq!(err["message"], "This user cannot access this resource.");
    for privileges in [&["edit_buckets"][..], &["delete_buckets"]] {
        env.user("priv", privileges)
            .put("/v1/buckets/p1", &json!({}))
            .await
            .expect_error(403, 121);
    }
    env.user("root", &["admin"])
        .post("/v1/buckets", &json!({}))
        .await
        .expect(201);
    env.user("maker", CREATOR)
        .put("/v1/buckets/p1", &json!({}))
        .await
        .expect(201);
}

#[tokio::test]
async fn put_creates_then_replaces_and_bumps_revision() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    let path = "/v1/buckets/put1";
    let created = alice
        .create_bucket("put1", &json!({"data": {"title": "A", "notes": "n"}}))
        .await;
    assert_eq!(created["data"]["id"], "put1");
    let r = alice
        .put(path, &json!({"data": {"title": "B"}}))
        .await
        .expect(200);
    let replaced = r.json();
    assert_eq!(r.header("etag").unwrap(), etag(&replaced));
    assert_eq!(replaced["data"]["title"], "B");
    assert!(
        replaced["data"].get("notes").is_none(),
        "PUT replaces the attributes"
    );
    assert_eq!(replaced["data"]["revision"], 2);
    assert_eq!(replaced["data"]["created"], created["data"]["created"]);
    assert!(replaced["data"]["last_modified"].as_i64() > created["data"]["last_modified"].as_i64());
    // Permissions given replace both lists (an omitted one becomes empty; the owner stays a
    // writer); none given keeps them.
    let acl = json!({"permissions": {"read": ["system.Authenticated"], "write": ["user:x"]}});
    alice.put(path, &acl).await.expect(200);
    let r = alice
        .put(path, &json!({"permissions": {"write": ["user:y"]}}))
        .await
        .expect(200)
        .json();
    assert_eq!(r["permissions"]["read"], json!([]));
    assert!(has(&r["permissions"]["write"], &alice.principal()));
    assert!(!has(&r["permissions"]["write"], "user:x"));
    let r = alice
        .put(path, &json!({"data": {"title": "C"}}))
        .await
        .expect(200)
        .json();
    assert!(has(&r["permissions"]["write"], "user:y"));
    assert_eq!(r["data"]["revision"], 5);
    // An id in the body must be the path's.
    alice
        .put(path, &json!({"data": {"id": "put1", "title": "D"}}))
        .await
        .expect(200);
    alice
        .put(path, &json!({"data": {"id": "other"}}))
        .await
        .expect_invalid(400, "body", "data.id");
}

#[tokio::test]
async fn delete_returns_a_tombstone_and_the_bucket_is_gone_for_everyone() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    let admin = env.user("admin", &["admin"]);
    let path = "/v1/buckets/del1";
    let acl = json!({"permissions": {"read": ["system.Authenticated"]}});
    let created = alice.create_bucket("del1", &acl).await;
    let t = alice.delete(path).await.expect(200).json();
    assert_eq!(t["data"]["id"], "del1");
    assert_eq!(t["data"]["deleted"], true);
    assert!(t["data"]["last_modified"].as_i64() > created["data"]["last_modified"].as_i64());
    alice.get(path).await.expect_error(403, 121);
    admin.get(path).await.expect_error(404, 111);
    alice.delete(path).await.expect_error(403, 121);
    let listed = admin.get("/v1/buckets").await.expect(200).json();
    assert_eq!(listed["data"], json!([]));
    // The same id can be created again, as a new bucket.
    let again = alice.create_bucket("del1", &json!({})).await;
    assert_eq!(again["data"]["revision"], 1);
    assert_eq!(again["permissions"]["read"], json!([]));
}

#[tokio::test]
async fn default_bucket_is_personal_and_works_like_any_other() {
    let env = Env::new();
    let alice = env.user("alice", &[]);
    let bob = env.user("bob", &[]);
    let a = alice.get("/v1/buckets/default").await.expect(200).json();
    let id = a["data"]["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("default-") && id.len() == 40, "{id}");
    assert_eq!(a["data"]["owner"], alice.principal());
    let again = alice.get("/v1/buckets/default").await.expect(200).json();
    assert_eq!(again, a, "stable, created once");
    let b = bob.get("/v1/buckets/default").await.expect(200).json();
    assert_ne!(b["data"]["id"], id.as_str());
    let title = json!({"data": {"title": "Mine"}});
    let patched = alice
        .patch("/v1/buckets/default", "application/json", &title)
        .await
        .expect(200)
        .json();
    assert_eq!(patched["data"]["title"], "Mine");
    let by_id = alice
        .get(&format!("/v1/buckets/{id}"))
        .await
        .expect(200)
        .json();
    assert_eq!(by_id, patched);
    bob.get(&format!("/v1/buckets/{id}"))
        .await
        .expect_error(403, 121);
    // Deleted, it is created afresh on next use.
    alice.delete("/v1/buckets/default").await.expect(200);
    let fresh = alice.get("/v1/buckets/default").await.expect(200).json();
    assert_eq!(
        (
            fresh["data"]["id"].as_str(),
            fresh["data"]["revision"].as_i64()
        ),
        (Some(id.as_str()), Some(1))
    );
    assert!(fresh["data"].get("title").is_none());
    // PUT to the alias creates it without any privilege.
    let carol = env.user("carol", &[]);
    carol
        .put("/v1/buckets/default", &json!({"data": {"title": "C"}}))
        .await
        .expect(201);
    // Nobody may claim a personal bucket's id, an admin neither; other ids are free.
    let root = env.user("root", &["admin"]);
    root.put("/v1/buckets/default-bucket", &json!({}))
        .await
        .expect(201);
    let squat = format!("default-{}", "0".repeat(32));
    root.put(&format!("/v1/buckets/{squat}"), &json!({}))
        .await
        .expect_invalid(400, "path", "id");
    root.post("/v1/buckets", &json!({"data": {"id": squat}}))
        .await
        .expect_invalid(400, "body", "data.id");
    root.post("/v1/buckets", &json!({"data": {"id": "default"}}))
        .await
        .expect_invalid(400, "body", "data.id");
    // The owner may use their personal bucket's real id.
    let dave = env.user("dave", &[]);
    let dave_id = dave.get("/v1/").await.expect(200).json()["user"]["bucket"].clone();
    let dave_path = format!("/v1/buckets/{}", dave_id.as_str().unwrap());
    dave.put(&dave_path, &json!({})).await.expect(201);
}

#[tokio::test]
async fn bad_bucket_inputs_are_4xx_naming_the_field() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    let long = "a".repeat(65);
    let cases: Vec<(&str, String, &str, &str, &str)> = vec![
        ("POST", "/v1/buckets".into(), "{not json", "body", "body"),
        ("POST", "/v1/buckets".into(), "[1,2]", "body", "body"),
        (
            "POST",
            "/v1/buckets".into(),
            r#"{"data": "x"}"#,
            "body",
            "data",
        ),
        (
            "POST",
            "/v1/buckets".into(),
            r#"{"data": {"id": "bad id!"}}"#,
            "body",
            "data.id",
        ),
        (
            "POST",
            "/v1/buckets".into(),
            r#"{"data": {"id": 7}}"#,
            "body",
            "data.id",
        ),
        (
            "POST",
            "/v1/buckets".into(),
            r#"{"data": {"title": 5}}"#,
            "body",
            "data.title",
        ),
        (
            "POST",
            "/v1/buckets".into(),
            r#"{"data": {"active": "no"}}"#,
            "body",
            "data.active",
        ),
        (
            "POST",
            "/v1/buckets".into(),
            r#"{"permissions": []}"#,
            "body",
            "permissions",
        ),
        (
            "POST",
            "/v1/buckets".into(),
            r#"{"permissions": {"read": "x"}}"#,
            "body",
            "permissions.read",
        ),
        (
            "POST",
            "/v1/buckets".into(),
            r#"{"permissions": {"write": [""]}}"#,
            "body",
            "permissions.write",
        ),
        (
            "POST",
            "/v1/buckets".into(),
            r#"{"permissions": {"own": []}}"#,
            "body",
            "permissions.own",
        ),
        (
            "PUT",
            "/v1/buckets/b1".into(),
            r#"{"data": {"notes": []}}"#,
            "body",
            "data.notes",
        ),
        ("GET", "/v1/buckets/bad%20id".into(), "", "path", "id"),
        ("GET", "/v1/buckets/_under".into(), "", "path", "id"),
        ("PUT", format!("/v1/buckets/{long}"), "{}", "path", "id"),
    ];
    for (method, path, body, location, field) in cases {
        let ct = [("content-type", "application/json")];
        let r = alice.send(method, &path, &ct, Some(body)).await;
        r.expect_invalid(400, location, field);
    }
    let many: Vec<String> = (0..101).map(|i| format!("user:{i}")).collect();
    alice
        .post("/v1/buckets", &json!({"permissions": {"read": many}}))
        .await
        .expect_invalid(400, "body", "permissions.read");
    let big = "x".repeat(70 * 1024);
    alice
        .post("/v1/buckets", &json!({"data": {"blob": big}}))
        .await
        .expect_invalid(413, "body", "data");
    let huge = format!(
        "{{\"data\": {{\"blob\": \"{}\"}}}}",
        "x".repeat(1024 * 1024)
    );
    alice
        .send("POST", "/v1/buckets", &[], Some(&huge))
        .await
        .expect_invalid(413, "body", "body");
    // None of them created anything.
    assert_eq!(
        alice.get("/v1/buckets").await.expect(200).json()["data"],
        json!([])
    );
}
