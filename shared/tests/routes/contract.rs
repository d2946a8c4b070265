//! The contract a client relies on: the OpenAPI document served, HEAD, the batch endpoint,
//! validators that never hide a change, one shape per kind of answer, one URL rule. (Every
//! answer of every route test is also checked against the document by the harness.)

use serde_json::{Value, json};

use crate::common::*;

#[tokio::test]
async fn the_openapi_document_is_public_and_names_the_server_the_client_used() {
    let env = Env::new();
    let doc = env.anonymous().get("/v1/__api__").await.expect(200).json();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["servers"], json!([{"url": BASE_URL}]));
    for path in [
        "/v1/batch",
        "/v1/buckets/{id}/files",
        "/files/bucket/{id}/{hash}/{filename}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path}");
    }
    env.anonymous()
        .send("POST", "/v1/__api__", &[], None)
        .await
        .expect_error(405, 115);
}

#[tokio::test]
async fn head_is_get_without_the_body() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("h1", &json!({})).await;
    for path in [
        "/v1/",
        "/v1/buckets",
        "/v1/buckets/h1",
        "/v1/buckets/h1/data",
        "/v1/buckets/h1/files",
    ] {
        let get = alice.get(path).await.expect(200);
        let head = alice.send("HEAD", path, &[], None).await.expect(200);
        assert!(head.resp.body.is_none(), "{path}");
        assert_eq!(head.header("etag"), get.header("etag"), "{path}");
        assert!(
            head.header("content-type")
                .unwrap()
                .starts_with("application/json")
        );
    }
    alice
        .send("HEAD", "/v1/buckets/nope-h", &[], None)
        .await
        .expect(403);
}

#[tokio::test]
async fn a_304_never_hides_changed_counters_and_writes_compare_last_modified_only() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("c1", &json!({})).await;
    let first = alice.get("/v1/buckets/c1").await.expect(200);
    let tag = first.header("etag").unwrap();
    let lm = first.json()["data"]["last_modified"].clone();
    let inm = [("if-none-match", tag.as_str())];
    alice
        .send("GET", "/v1/buckets/c1", &inm, None)
        .await
        .expect(304);
    // An upload changes the counters, not last_modified: the old tag no longer matches.
    alice.upload("c1", "a.txt", b"abc", "text/plain").await;
    let after = alice
        .send("GET", "/v1/buckets/c1", &inm, None)
        .await
        .expect(200);
    assert_eq!(after.json()["data"]["file_count"], 1);
    assert_eq!(after.json()["data"]["last_modified"], lm);
    assert_ne!(after.header("etag").unwrap(), tag);
    // A bare Kinto `"<last_modified>"` is never a 304 (it does not name the counters) …
    let kinto = format!("\"{lm}\"");
    let r = alice
        .send("GET", "/v1/buckets/c1", &[("if-none-match", &kinto)], None)
        .await;
    r.expect(200);
    // … and both forms pass If-Match on writes made after the upload.
    let body = json!({"data": {"title": "t"}}).to_string();
    let h = [
        ("if-match", kinto.as_str()),
        ("content-type", "application/json"),
    ];
    let r = alice.send("PATCH", "/v1/buckets/c1", &h, Some(&body)).await;
    r.expect(200);
    let now = alice.get("/v1/buckets/c1").await.expect(200);
    let tag = now.header("etag").unwrap();
    let body = json!({"data": {"title": "u"}}).to_string();
    let h = [
        ("if-match", tag.as_str()),
        ("content-type", "application/json"),
    ];
    alice
        .send("PATCH", "/v1/buckets/c1", &h, Some(&body))
        .await
        .expect(200);
}

#[tokio::test]
async fn files_answer_last_modified_and_an_absolute_permalink() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("f1", &json!({})).await;
    let file = alice.upload("f1", "Notes.TXT", b"abc", "text/plain").await;
    assert_eq!(file["last_modified"], file["modified"]);
    let path = file["path"].as_str().unwrap();
    assert!(path.starts_with("files/bucket/f1/"), "{path}");
    assert_eq!(file["permalink"], json!(format!("{BASE_URL}/{path}")));
    let got = env
        .anonymous()
        .get(&link(file["permalink"].as_str().unwrap()))
        .await;
    assert_eq!(got.status(), 302);
    // Grants under `files` (as `store` answers them), `data` a deprecated alias.
    let r = alice
        .grant("f1", &[("b.txt", 1, "text/plain")])
        .await
        .expect(201)
        .json();
    assert_eq!(r["files"], r["data"]);
    assert_eq!(r["files"][0]["name"], "b.txt");
}

#[tokio::test]
async fn delete_all_buckets_answers_a_list_like_every_list() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("d1", &json!({})).await;
    alice.create_bucket("d2", &json!({})).await;
    let page = alice.delete("/v1/buckets?_limit=1").await.expect(200);
    let body = page.json();
    assert_eq!(body["has_more"], true);
    assert_eq!(body["data"][0]["id"], "d1");
    let next = link(body["next_uri"].as_str().unwrap());
    assert!(page.header("next-page").is_some());
    let rest = alice.delete(&next).await.expect(200).json();
    assert_eq!(rest["data"][0]["id"], "d2");
    assert_eq!(
        (rest["has_more"].clone(), rest["next_uri"].clone()),
        (json!(false), Value::Null)
    );
}

#[tokio::test]
async fn a_missing_field_is_required() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("m1", &json!({})).await;
    let body = json!({"files": [{"name": "a.txt", "content_type": "text/plain"}]});
    let err = alice
        .post("/v1/buckets/m1/files", &body)
        .await
        .expect_error(400, 107);
    assert_eq!(err["details"][0]["name"], "files[0].size", "{err}");
    assert_eq!(err["details"][0]["description"], "is required", "{err}");
    let h = [("content-type", "application/json")];
    let err = alice
        .send("PATCH", "/v1/buckets/m1", &h, None)
        .await
        .expect_error(400, 107);
    assert_eq!(err["details"][0]["description"], "is required");
}

async fn batch(caller: &Caller<'_>, body: Value) -> Value {
    caller.post("/v1/batch", &body).await.expect(200).json()["responses"].clone()
}

#[tokio::test]
async fn batch_answers_each_request_with_its_own_status_and_the_callers_identity() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    let bob = env.user("bob", &[]);
    alice.create_bucket("x1", &json!({})).await;
    let out = batch(
        &alice,
        json!({
            "defaults": {"method": "PUT", "headers": {"If-None-Match": "*"}},
            "requests": [
                {"path": "/buckets/x2", "body": {"data": {"title": "dflt"}}},
                {"path": "/v1/buckets/x3", "body": {"data": {"title": "own"}}},
                {"method": "GET", "path": "/buckets/x1"},
                {"method": "PATCH", "path": "/buckets/x1/data", "body": {"k": 1}},
                {"method": "GET", "path": "/buckets/nope-x", "body": null},
                {"method": "POST", "path": "/buckets/x1/files", "body": {"files": []}},
                {"method": "HEAD", "path": "/buckets/x1"},
            ],
        }),
    )
    .await;
    let statuses: Vec<_> = out
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].clone())
        .collect();
    assert_eq!(
        statuses,
        json!([201, 201, 200, 412, 403, 400, 200])
            .as_array()
            .unwrap()
            .clone(),
        "{out}"
    );
    assert_eq!(out[0]["path"], "/v1/buckets/x2");
    assert_eq!(out[0]["body"]["data"]["title"], "dflt");
    assert_eq!(out[1]["body"]["data"]["title"], "own");
    // The defaults apply to every request: If-None-Match: * refuses the existing document.
    assert_eq!(out[3]["body"]["errno"], 114);
    assert_eq!(out[5]["body"]["details"][0]["name"], "requests[5].path");
    assert!(out[2]["headers"]["ETag"].is_string(), "{out}");
    assert_eq!(out[6]["body"], "");
    // Bob's sub-requests are Bob's: he may not read Alice's bucket.
    let out = batch(&bob, json!({"requests": [{"path": "/buckets/x1"}]})).await;
    assert_eq!(out[0]["status"], 403);
    // An anonymous sub-request is anonymous.
    let out = batch(
        &env.anonymous(),
        json!({"requests": [{"path": "/buckets/x1"}]}),
    )
    .await;
    assert_eq!(out[0]["status"], 401);
}

#[tokio::test]
async fn batch_refuses_bad_batches_as_a_whole() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    let too_many: Vec<Value> = (0..26).map(|_| json!({"path": "/"})).collect();
    for (body, name) in [
        (json!({}), "requests"),
        (json!({"requests": []}), "requests"),
        (json!({"requests": too_many}), "requests"),
        (json!({"requests": [{"method": "GET"}]}), "requests[0].path"),
        (json!({"requests": [{"path": "x"}]}), "requests[0].path"),
        (
            json!({"requests": [{"path": "/batch"}]}),
            "requests[0].path",
        ),
        (
            json!({"requests": [{"path": "/", "method": "TRACE"}]}),
            "requests[0].method",
        ),
    ] {
        let err = alice.post("/v1/batch", &body).await.expect_error(400, 107);
        assert_eq!(err["details"][0]["name"], name, "{body}: {err}");
    }
    let info = alice.get("/v1/").await.expect(200).json();
    assert_eq!(info["settings"]["batch_max_requests"], 25);
}
