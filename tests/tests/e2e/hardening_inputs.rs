//! Inputs on the deployed stack: a field a route does not know is refused (400 naming it),
//! never ignored — an empty with a `glob` deletes nothing; a grant or key with an `expires_at`
//! it does not take is refused; a bucket's server fields are echoed or refused — and an empty
//! history range (`_since` at or after `_before`) is an empty page, not a DynamoDB error.

use buckets_e2e::{Caller, unique};
use serde_json::{Value, json};

const CREATOR: &[&str] = &["create_buckets"];

/// The field a 400 names.
fn named(body: &Value) -> &str {
    body["details"][0]["name"].as_str().unwrap_or_default()
}

fn file_names(caller: &Caller, id: &str) -> Vec<String> {
    let page = caller
        .get(&format!("/v1/buckets/{id}/files"))
        .expect(200)
        .json();
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn empty_with_a_glob_keeps_every_file() {
    let alice = Caller::user("alice", CREATOR);
    let id = unique("in-");
    alice.create_bucket(&id, &json!({}));
    alice.upload(&id, "tmp-1.log", b"one", "text/plain");
    alice.upload(&id, "keep.csv", b"a,b\n", "text/csv");
    let err = alice
        .post(
            &format!("/v1/buckets/{id}/empty"),
            &json!({"files": true, "glob": "tmp-*.log"}),
        )
        .expect_error(400, 107);
    assert_eq!(named(&err), "glob", "{err}");
    assert_eq!(err["details"][0]["location"], "body", "{err}");
    assert_eq!(file_names(&alice, &id), ["keep.csv", "tmp-1.log"]);
    let b = alice.get(&format!("/v1/buckets/{id}")).expect(200).json();
    assert_eq!(b["data"]["file_count"], 2);
}

#[test]
fn a_grant_or_key_with_a_field_it_does_not_take_is_refused() {
    let alice = Caller::user("alice", CREATOR);
    let id = unique("in-");
    alice.create_bucket(&id, &json!({}));
    let file = json!({"name": "a.csv", "size": 3, "content_type": "text/csv"});
    let err = alice
        .post(
            &format!("/v1/buckets/{id}/files"),
            &json!({"files": [file], "expires_at": 1}),
        )
        .expect_error(400, 107);
    assert_eq!(named(&err), "expires_at", "{err}");
    let mut nested = file.clone();
    nested["expires_at"] = json!(1);
    let err = alice
        .post(
            &format!("/v1/buckets/{id}/files"),
            &json!({"files": [file, nested]}),
        )
        .expect_error(400, 107);
    assert_eq!(named(&err), "files[1].expires_at", "{err}");
    let err = alice
        .post(
            "/v1/keys",
            &json!({"title": "ci", "buckets": [{"id": id, "access": "read", "prefix": "in/"}]}),
        )
        .expect_error(400, 107);
    assert_eq!(named(&err), "buckets[0].prefix", "{err}");
    // Nothing was granted or made.
    assert!(file_names(&alice, &id).is_empty());
    let keys = alice.get("/v1/keys").expect(200).json();
    assert!(
        keys["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["title"] != "ci"),
        "{keys}"
    );
}

#[test]
fn a_bucket_put_back_as_read_is_accepted_and_a_changed_server_field_refused() {
    let alice = Caller::user("alice", CREATOR);
    let id = unique("in-");
    alice.create_bucket(&id, &json!({"data": {"title": "A"}}));
    let path = format!("/v1/buckets/{id}");
    let mut data = alice.get(&path).expect(200).json()["data"].clone();
    data["title"] = json!("B");
    let put = alice
        .put(&path, &json!({ "data": data }))
        .expect(200)
        .json();
    assert_eq!(put["data"]["title"], "B");
    let mut data = put["data"].clone();
    data["owner"] = json!("user:mallory");
    let err = alice
        .put(&path, &json!({ "data": data }))
        .expect_error(400, 107);
    assert_eq!(named(&err), "data.owner", "{err}");
    assert_eq!(
        alice.get(&path).expect(200).json()["data"]["owner"],
        alice.principal()
    );
}

#[test]
fn an_inverted_history_range_is_an_empty_page() {
    let alice = Caller::user("alice", CREATOR);
    let id = unique("in-");
    alice.create_bucket(&id, &json!({}));
    for query in [
        "_since=5&_before=3",
        "_since=1000&_before=1000",
        "_since=4294967295000&_before=0",
    ] {
        let path = format!("/v1/buckets/{id}/history?{query}");
        let page = alice.get(&path).expect(200).json();
        assert_eq!(page["data"], json!([]), "{query}");
        assert_eq!(page["has_more"], false, "{query}");
        alice.send("HEAD", &path, &[], None).expect(200);
    }
}
