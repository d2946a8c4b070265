//! The contract on the real stack: the OpenAPI document served through API Gateway, HEAD on
//! GET routes (template routes included), redirects without a JSON type, a batch, and the one
//! URL rule for a file's permalink. (Every answer of every e2e test is also checked against
//! the document by the client.)

use buckets_e2e::{Caller, unique};
use serde_json::json;

#[test]
fn the_openapi_document_is_served_publicly() {
    let doc = Caller::anonymous().get("/v1/__api__").expect(200).json();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["servers"][0]["url"], json!(buckets_e2e::api_url()));
}

#[test]
fn head_answers_on_get_routes_and_redirects_carry_no_json_type() {
    let alice = Caller::user("alice", &["create_buckets"]);
    let id = unique("head-");
    alice.create_bucket(&id, &json!({}));
    let file = alice.upload(&id, "a.txt", b"abc", "text/plain");
    let permalink = file["permalink"].as_str().unwrap().to_string();
    let paths = [
        "/v1/".to_string(),
        format!("/v1/buckets/{id}"),
        format!("/v1/buckets/{id}/data"),
        format!("/v1/buckets/{id}/files"),
        format!("/v1/buckets/{id}/files/a.txt?json"),
    ];
    for path in &paths {
        let r = alice.send("HEAD", path, &[], None).expect(200);
        assert!(r.bytes.is_empty(), "{path}");
    }
    let r = Caller::anonymous().send("HEAD", &permalink, &[], None);
    assert_eq!(r.status, 302);
    let r = Caller::anonymous().get(&permalink).expect(302);
    assert!(r.bytes.is_empty());
    let ct = r.header("content-type").unwrap_or_default();
    assert!(!ct.contains("json"), "a redirect says {ct}");
    let r = Caller::anonymous().get("/buckets").expect(307);
    let ct = r.header("content-type").unwrap_or_default();
    assert!(!ct.contains("json"), "a redirect says {ct}");
}

#[test]
fn a_batch_answers_each_request() {
    let alice = Caller::user("alice", &["create_buckets"]);
    let id = unique("batch-");
    let body = json!({"requests": [
        {"method": "PUT", "path": format!("/buckets/{id}"), "body": {"data": {"title": "t"}}},
        {"method": "PUT", "path": format!("/buckets/{id}/data"), "body": {"data": {"k": 1}}},
        {"path": format!("/buckets/{id}/files")},
    ]});
    let out = alice.post("/v1/batch", &body).expect(200).json();
    let statuses: Vec<_> = out["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].clone())
        .collect();
    assert_eq!(statuses, vec![json!(201), json!(200), json!(400)], "{out}");
    let doc = alice
        .get(&format!("/v1/buckets/{id}/data"))
        .expect(200)
        .json();
    assert_eq!(doc["data"], json!({"k": 1}));
}
