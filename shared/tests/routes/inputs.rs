//! Inputs a route does not know are refused, never ignored: every fixed-shape body (and every
//! fixed-shape object nested in one) answers 400 naming a field it does not know, before it
//! does anything; a bucket's server-managed names are accepted only as the server has them.
//! And inputs that reached a 5xx: an empty history range is an empty page.

use serde_json::{Value, json};
use shared::ports::BucketStore;

use crate::common::{CREATOR, Env, file_upload, link};

const HOOK: &str = "https://hooks.example.com/in";
const KEY_A: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMf9/y+h2QDwl4++5GUgOMcxgoJe7N68+cTjqPa2eSC6 a@host";

fn sftp_env() -> Env {
    Env::with(&[
        ("SFTP_HOST", "127.0.0.1:2222"),
        ("FILES_BUCKET", "files"),
        ("MULTIPART_THRESHOLD", "5242880"),
        ("MULTIPART_PART_SIZE", "5242880"),
    ])
}

fn names(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap_or_else(|| panic!("a listing: {page}"))
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn empty_with_a_glob_deletes_nothing_and_names_the_glob() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("e1", &json!({})).await;
    alice.upload("e1", "tmp-1.log", b"one", "text/plain").await;
    alice.upload("e1", "keep.csv", b"a,b", "text/csv").await;
    alice
        .put("/v1/buckets/e1/data", &json!({"data": {"k": 1}}))
        .await
        .expect(200);
    let before = env.counters("e1").await;
    // A client of a newer contract asks to empty only the temporary files: refused, whole.
    let err = alice
        .post(
            "/v1/buckets/e1/empty",
            &json!({"files": true, "glob": "tmp-*.log"}),
        )
        .await
        .expect_invalid(400, "body", "glob");
    assert_eq!(
        err["message"],
        "glob in body: is not a field of this request (its fields: files, data)"
    );
    alice
        .post(
            "/v1/buckets/e1/empty",
            &json!({"data": true, "only": ["k"]}),
        )
        .await
        .expect_invalid(400, "body", "only");
    let files = alice.get("/v1/buckets/e1/files").await.expect(200).json();
    assert_eq!(names(&files), ["keep.csv", "tmp-1.log"]);
    assert_eq!(env.counters("e1").await, before);
    let doc = alice.get("/v1/buckets/e1/data").await.expect(200).json();
    assert_eq!(doc["data"], json!({"k": 1}));
    // The fields it knows still work.
    let done = alice
        .post("/v1/buckets/e1/empty", &json!({"files": true}))
        .await
        .expect(200)
        .json();
    assert_eq!(done["data"]["files_deleted"], 2);
}

#[tokio::test]
async fn every_fixed_shape_body_refuses_a_field_it_does_not_know() {
    let env = sftp_env();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("b1", &json!({})).await;
    alice.upload("b1", "a.txt", b"one", "text/plain").await;
    let hook = alice
        .post(
            "/v1/buckets/b1/webhooks",
            &json!({"url": HOOK, "events": ["file.uploaded"]}),
        )
        .await
        .expect(201)
        .json();
    let wid = hook["data"]["id"].as_str().unwrap().to_string();
    let key = alice
        .post("/v1/keys", &json!({"title": "ci"}))
        .await
        .expect(201)
        .json();
    let kid = key["data"]["id"].as_str().unwrap().to_string();
    alice
        .post(
            "/v1/buckets/b1/users",
            &json!({"username": "partner", "ssh_public_keys": [KEY_A]}),
        )
        .await
        .expect(201);
    let big = alice
        .grant(
            "b1",
            &[("big.bin", 6 * 1024 * 1024, "application/octet-stream")],
        )
        .await
        .expect(201)
        .json();
    let uploads = link(big["files"][0]["status_uri"].as_str().unwrap());

    let file = json!({"name": "n.csv", "size": 3, "content_type": "text/csv"});
    let extra = |mut v: Value, k: &str| {
        v[k] = json!(1);
        v
    };
    let hooks = "/v1/buckets/b1/webhooks";
    let hook_path = format!("{hooks}/{wid}");
    let did = "dl_0000000000001_0123456789abcdef";
    let restore = "/v1/buckets/b1/files/a.txt/versions/v1/restore";
    let cases: Vec<(&str, String, Value, &str)> = vec![
        // Grants: the body and each file.
        (
            "POST",
            "/v1/buckets/b1/files".into(),
            json!({"files": [file], "expires_at": 1}),
            "expires_at",
        ),
        (
            "POST",
            "/v1/buckets/b1/files".into(),
            json!({"files": [file, extra(file.clone(), "expires_at")]}),
            "files[1].expires_at",
        ),
        // Jobs.
        (
            "POST",
            "/v1/buckets/b1/fetch".into(),
            json!({"sync": "data", "since": 5}),
            "since",
        ),
        (
            "POST",
            "/v1/buckets/b1/store".into(),
            json!({"sync": "files", "files": [file], "overwrite": false}),
            "overwrite",
        ),
        (
            "POST",
            "/v1/buckets/b1/store".into(),
            json!({"sync": "files", "files": [extra(file.clone(), "mode")]}),
            "files[0].mode",
        ),
        (
            "POST",
            "/v1/buckets/b1/empty".into(),
            json!({"files": true, "glob": "*"}),
            "glob",
        ),
        // Keys: the body, its `data` form, each scope entry, the rename.
        (
            "POST",
            "/v1/keys".into(),
            json!({"title": "x", "lifetime": 60}),
            "lifetime",
        ),
        (
            "POST",
            "/v1/keys".into(),
            json!({"data": {"title": "x", "lifetime": 60}}),
            "data.lifetime",
        ),
        (
            "POST",
            "/v1/keys".into(),
            json!({"title": "x", "buckets": [{"id": "b1", "access": "read", "prefix": "in/"}]}),
            "buckets[0].prefix",
        ),
        (
            "PATCH",
            format!("/v1/keys/{kid}"),
            json!({"title": "y", "privileges": ["admin"]}),
            "privileges",
        ),
        // Webhooks.
        (
            "POST",
            hooks.into(),
            json!({"url": HOOK, "events": ["file.uploaded"], "headers": {"x": "y"}}),
            "headers",
        ),
        (
            "PATCH",
            hook_path.clone(),
            json!({"active": false, "retries": 0}),
            "retries",
        ),
        (
            "POST",
            format!("{hook_path}/rotate"),
            json!({"keep_old": false}),
            "keep_old",
        ),
        (
            "POST",
            format!("{hook_path}/ping"),
            json!({"event": "file.deleted"}),
            "event",
        ),
        (
            "POST",
            format!("{hook_path}/deliveries/{did}/redeliver"),
            json!({"url": HOOK}),
            "url",
        ),
        // SFTP users and reconciliation.
        (
            "POST",
            "/v1/buckets/b1/users".into(),
            json!({"username": "other", "ssh_public_keys": [KEY_A], "home": "/"}),
            "home",
        ),
        (
            "PATCH",
            "/v1/buckets/b1/users/partner".into(),
            json!({"access": "write", "password": "x"}),
            "password",
        ),
        (
            "POST",
            "/v1/buckets/b1/reconcile".into(),
            json!({"after": null, "dry_run": true}),
            "dry_run",
        ),
        // Multipart: part URLs (the body and each part) and complete.
        (
            "POST",
            format!("{uploads}/parts"),
            json!({"parts": [{"number": 1, "sha256": "x"}], "size": 5}),
            "size",
        ),
        (
            "POST",
            format!("{uploads}/parts"),
            json!({"parts": [{"number": 1, "sha256": "x", "md5": "y"}]}),
            "parts[0].md5",
        ),
        (
            "POST",
            format!("{uploads}/complete"),
            json!({"sha256": "x", "parts": []}),
            "parts",
        ),
        // Restore takes no fields.
        ("POST", restore.into(), json!({"as": "b.txt"}), "as"),
        // Batch: the body, `defaults`, each request.
        (
            "POST",
            "/v1/batch".into(),
            json!({"requests": [{"path": "/buckets"}], "atomic": true}),
            "atomic",
        ),
        (
            "POST",
            "/v1/batch".into(),
            json!({"defaults": {"method": "GET", "retries": 2}, "requests": [{"path": "/buckets"}]}),
            "defaults.retries",
        ),
        (
            "POST",
            "/v1/batch".into(),
            json!({"requests": [{"path": "/buckets"}, {"path": "/buckets", "bdy": {}}]}),
            "requests[1].bdy",
        ),
        // Buckets: the body, its permissions, its limits; the data envelope.
        (
            "PUT",
            "/v1/buckets/b1".into(),
            json!({"data": {}, "perms": {}}),
            "perms",
        ),
        (
            "PUT",
            "/v1/buckets/b1".into(),
            json!({"permissions": {"read": [], "admin": []}}),
            "permissions.admin",
        ),
        (
            "PUT",
            "/v1/buckets/b1".into(),
            json!({"data": {"limits": {"max_files": 5, "max_depth": 2}}}),
            "data.limits.max_depth",
        ),
        (
            "PUT",
            "/v1/buckets/b1/data".into(),
            json!({"data": {}, "revision": 3}),
            "revision",
        ),
        (
            "PATCH",
            "/v1/buckets/b1".into(),
            json!({"data": {"title": "t"}, "title": "t"}),
            "title",
        ),
    ];
    for (method, path, body, field) in cases {
        let r = alice
            .send(
                method,
                &path,
                &[("content-type", "application/json")],
                Some(&body.to_string()),
            )
            .await;
        r.expect_invalid(400, "body", field);
    }
    // Nothing was done: no second webhook, key or user, no new grant, the bucket unchanged.
    let listed = alice.get(hooks).await.expect(200).json();
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    assert_eq!(listed["data"][0]["active"], true);
    let keys = alice.get("/v1/keys").await.expect(200).json();
    assert_eq!(keys["data"].as_array().unwrap().len(), 1);
    assert_eq!(keys["data"][0]["title"], "ci");
    let users = alice.get("/v1/buckets/b1/users").await.expect(200).json();
    assert_eq!(users["data"].as_array().unwrap().len(), 1);
    assert_eq!(users["data"][0]["access"], "read");
    let (files, _, revision) = env.counters("b1").await;
    assert_eq!((files, revision), (1, 1));
    let b = alice.get("/v1/buckets/b1").await.expect(200).json();
    assert_eq!(b["data"]["revision"], 1);
    assert!(b["data"].get("limits").is_none());
    // A route that takes no fields still takes `{}` or nothing; a non-object body is refused.
    alice
        .post(&format!("{hook_path}/rotate"), &json!({}))
        .await
        .expect(200);
    alice
        .send("POST", &format!("{hook_path}/ping"), &[], None)
        .await
        .expect(202);
    alice
        .post(&format!("{hook_path}/rotate"), &json!(["x"]))
        .await
        .expect_invalid(400, "body", "body");
}

#[tokio::test]
async fn server_fields_of_a_bucket_are_accepted_as_read_and_refused_otherwise() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice
        .create_bucket("s1", &json!({"data": {"title": "A"}}))
        .await;
    let read = alice.get("/v1/buckets/s1").await.expect(200).json()["data"].clone();
    // A Kinto client PUTs what it GETs: every server field echoed as read is accepted.
    let mut echo = read.clone();
    echo["title"] = json!("B");
    let put = alice
        .put("/v1/buckets/s1", &json!({"data": echo}))
        .await
        .expect(200)
        .json();
    assert_eq!(put["data"]["title"], "B");
    assert_eq!(put["data"]["revision"], 2);
    let read = put["data"].clone();
    // A value other than the server's is refused, naming it; nothing is written.
    for (name, value) in [
        ("id", json!("other")),
        ("last_modified", json!(1)),
        ("created", json!(1)),
        ("revision", json!(99)),
        ("owner", json!("user:mallory")),
        ("file_count", json!(-1)),
        ("total_bytes", json!("lots")),
        ("host", json!("sftp.example.com")),
    ] {
        let mut data = read.clone();
        data[name] = value;
        let field = format!("data.{name}");
        alice
            .put("/v1/buckets/s1", &json!({ "data": data }))
            .await
            .expect_invalid(400, "body", &field);
        let merge = json!({"data": {name: data[name].clone()}});
        alice
            .patch("/v1/buckets/s1", "application/json", &merge)
            .await
            .expect_invalid(400, "body", &field);
    }
    let patch = json!([{"op": "replace", "path": "/data/last_modified", "value": 5}]);
    alice
        .patch("/v1/buckets/s1", "application/json-patch+json", &patch)
        .await
        .expect_invalid(400, "body", "data.last_modified");
    let now = alice.get("/v1/buckets/s1").await.expect(200).json()["data"].clone();
    assert_eq!(now, read, "nothing was written");
    // The counters move with uploads between a client's read and its write: any count is
    // accepted (and is not stored: the server keeps them).
    let mut stale = read.clone();
    stale["file_count"] = json!(7);
    stale["total_bytes"] = json!(70);
    let put = alice
        .put("/v1/buckets/s1", &json!({"data": stale}))
        .await
        .expect(200)
        .json();
    assert_eq!(
        (&put["data"]["file_count"], &put["data"]["total_bytes"]),
        (&json!(0), &json!(0))
    );
    // A create cannot choose its owner, times or revision.
    for (name, value) in [
        ("owner", json!("user:bob")),
        ("created", json!(1)),
        ("last_modified", json!(1)),
        ("revision", json!(5)),
    ] {
        let field = format!("data.{name}");
        alice
            .put("/v1/buckets/s2", &json!({"data": {name: value}}))
            .await
            .expect_invalid(400, "body", &field);
        alice
            .post("/v1/buckets", &json!({"data": {"id": "s2", name: value}}))
            .await
            .expect_invalid(400, "body", &field);
    }
    assert!(env.store.get("s2").await.unwrap().is_none());
    alice
        .put(
            "/v1/buckets/s2",
            &json!({"data": {"owner": alice.principal(), "revision": 1}}),
        )
        .await
        .expect(201);
    // A caller who may not write gets the refusal he would get anyway: nothing about values.
    env.user("eve", &[])
        .put("/v1/buckets/s1", &json!({"data": {"owner": "user:eve"}}))
        .await
        .expect_error(403, 121);
}

#[tokio::test]
async fn host_is_echoed_where_the_deployment_has_sftp() {
    let env = sftp_env();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("h1", &json!({})).await;
    let read = alice.get("/v1/buckets/h1").await.expect(200).json()["data"].clone();
    assert_eq!(read["host"], "127.0.0.1:2222");
    alice
        .put("/v1/buckets/h1", &json!({ "data": read }))
        .await
        .expect(200);
    alice
        .patch(
            "/v1/buckets/h1",
            "application/json",
            &json!({"data": {"host": "elsewhere:22"}}),
        )
        .await
        .expect_invalid(400, "body", "data.host");
}

#[tokio::test]
async fn an_empty_history_range_is_an_empty_page() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("r1", &json!({})).await;
    let generation = env.generation("r1").await;
    let changes: Vec<_> = (0..3)
        .map(|i| {
            file_upload(
                "r1",
                &generation,
                &format!("f{i}.csv"),
                "user:alice",
                4_000 + i,
                10 + i,
            )
        })
        .collect();
    env.app.services.record_changes(&changes).await.unwrap();
    for query in [
        "_since=5&_before=3",
        "_since=4001&_before=4001",
        "_since=4002&_before=4000",
        "_since=9999999999&_before=0",
        // A cursor at or below `_since` is an empty range too.
        "_since=4001&after=0000000004000%23",
    ] {
        let path = format!("/v1/buckets/r1/history?{query}");
        let page = alice.get(&path).await.expect(200).json();
        assert_eq!(page["data"], json!([]), "{query}");
        assert_eq!(page["has_more"], false, "{query}");
        let head = alice.send("HEAD", &path, &[], None).await.expect(200);
        assert!(head.resp.body.is_none());
    }
    // A range that holds entries still answers them.
    let page = alice
        .get("/v1/buckets/r1/history?_since=4000&_before=4002")
        .await
        .expect(200)
        .json();
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
}
