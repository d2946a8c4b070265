//! Listing (only readable buckets, cursor pages), the ACL and privileges, and
//! `DELETE /v1/buckets`.

use buckets_e2e::{Caller, unique};
use serde_json::{Value, json};

const CREATOR: &[&str] = &["create_buckets"];

/// Follows `Next-Page` from `first` until it is absent; returns every id seen and the page count.
fn walk(caller: &Caller, first: &str) -> (Vec<String>, usize) {
    let mut ids = vec![];
    let mut pages = 0;
    let mut next = Some(first.to_string());
    while let Some(url) = next {
        let r = caller.get(&url).expect(200);
        let body = r.json();
        pages += 1;
        ids.extend(
            body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b["id"].as_str().unwrap().to_string()),
        );
        next = r.header("next-page");
        assert_eq!(body["has_more"], json!(next.is_some()), "{body}");
        if let Some(n) = &next {
            assert!(n.starts_with("http") && n.contains("_token="), "{n}");
            assert!(
                body["next_uri"].as_str().unwrap().contains("_token="),
                "{body}"
            );
        } else {
            assert!(body["next_uri"].is_null(), "{body}");
        }
        assert!(pages < 1000, "pagination does not end");
    }
    (ids, pages)
}

fn mine(ids: &[String], prefix: &str) -> Vec<String> {
    ids.iter()
        .filter(|id| id.starts_with(prefix))
        .cloned()
        .collect()
}

#[test]
fn listing_pages_through_every_readable_bucket_in_id_order() {
    let alice = Caller::user("alice", CREATOR);
    let prefix = unique("pg");
    let mut created: Vec<String> = (0..7).map(|i| format!("{prefix}-{i}")).collect();
    for id in &created {
        alice.create_bucket(id, &json!({}));
    }
    created.sort();
    let (ids, pages) = walk(&alice, "/v1/buckets?_limit=2");
    assert!(
        pages >= 4,
        "7 buckets in pages of 2 take at least 4 pages, got {pages}"
    );
    assert_eq!(mine(&ids, &prefix), created);
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(ids, sorted, "sorted by id, no duplicates");
    // next_uri (relative) leads to the same second page as Next-Page.
    let r = alice.get("/v1/buckets?_limit=2").expect(200);
    let rel = r.json()["next_uri"].as_str().unwrap().to_string();
    let by_header = alice
        .get(&r.header("next-page").unwrap())
        .expect(200)
        .json();
    let host_end = alice.base.find("://").map(|i| i + 3).unwrap();
    let host = &alice.base[..host_end
        + alice.base[host_end..]
            .find('/')
            .unwrap_or(alice.base.len() - host_end)];
    let by_uri = alice.get(&format!("{host}{rel}")).expect(200).json();
    assert_eq!(by_header["data"], by_uri["data"]);
    // after=<id> is exclusive.
    let after = alice
        .get(&format!("/v1/buckets?after={}&_limit=1000", created[2]))
        .expect(200)
        .json();
    let after_ids: Vec<String> = after["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(mine(&after_ids, &prefix), created[3..].to_vec());
}

#[test]
fn each_user_lists_only_what_they_can_read() {
    let alice = Caller::user("alice", CREATOR);
    let bob = Caller::user("bob", CREATOR);
    let prefix = unique("ls");
    let a_private = format!("{prefix}-a1");
    let a_shared = format!("{prefix}-a2");
    let b_own = format!("{prefix}-b1");
    alice.create_bucket(&a_private, &json!({}));
    alice.create_bucket(
        &a_shared,
        &json!({"permissions": {"read": [bob.principal()]}}),
    );
    bob.create_bucket(&b_own, &json!({}));
    let (alice_ids, _) = walk(&alice, "/v1/buckets?_limit=1000");
    let (bob_ids, _) = walk(&bob, "/v1/buckets?_limit=1000");
    assert_eq!(
        mine(&alice_ids, &prefix),
        vec![a_private.clone(), a_shared.clone()]
    );
    assert_eq!(
        mine(&bob_ids, &prefix),
        vec![a_shared.clone(), b_own.clone()]
    );
    // Unsharing removes it from bob's list at once.
    alice
        .patch(
            &format!("/v1/buckets/{a_shared}"),
            "application/json",
            &json!({"permissions": {"read": []}}),
        )
        .expect(200);
    let (bob_ids, _) = walk(&bob, "/v1/buckets?_limit=1000");
    assert_eq!(mine(&bob_ids, &prefix), vec![b_own.clone()]);
    // A global privilege lists everything.
    let (editor_ids, _) = walk(
        &Caller::user("ed", &["edit_buckets"]),
        "/v1/buckets?_limit=1000",
    );
    assert_eq!(mine(&editor_ids, &prefix), vec![a_private, a_shared, b_own]);
}

#[test]
fn system_principals_open_a_bucket_to_everyone_or_to_the_authenticated() {
    let alice = Caller::user("alice", CREATOR);
    let public = unique("pub-");
    let members = unique("mem-");
    alice.create_bucket(
        &public,
        &json!({"permissions": {"read": ["system.Everyone"]}}),
    );
    alice.create_bucket(
        &members,
        &json!({"permissions": {"read": ["system.Authenticated"]}}),
    );
    let anon = Caller::anonymous();
    anon.get(&format!("/v1/buckets/{public}")).expect(200);
    anon.get(&format!("/v1/buckets/{members}"))
        .expect_error(401, 104);
    let stranger = Caller::user("stranger", &[]);
    stranger.get(&format!("/v1/buckets/{members}")).expect(200);
    let listed: Vec<Value> = anon.get("/v1/buckets?_limit=1000").expect(200).json()["data"]
        .as_array()
        .unwrap()
        .clone();
    assert!(listed.iter().any(|b| b["id"] == public.as_str()));
    assert!(!listed.iter().any(|b| b["id"] == members.as_str()));
    // Readers cannot write.
    stranger
        .patch(
            &format!("/v1/buckets/{members}"),
            "application/json",
            &json!({"data": {"x": 1}}),
        )
        .expect_error(403, 121);
}

#[test]
fn forbidden_never_leaks_existence() {
    let alice = Caller::user("alice", CREATOR);
    let bob = Caller::user("bob", &[]);
    let id = unique("secret-");
    alice.create_bucket(&id, &json!({}));
    let exists = bob.get(&format!("/v1/buckets/{id}")).expect_error(403, 121);
    let missing = bob
        .get(&format!("/v1/buckets/{}", unique("nothing-")))
        .expect_error(403, 121);
    assert_eq!(exists["message"], missing["message"]);
    bob.patch(
        &format!("/v1/buckets/{id}"),
        "application/json",
        &json!({"data": {}}),
    )
    .expect_error(403, 121);
    bob.delete(&format!("/v1/buckets/{id}"))
        .expect_error(403, 121);
    bob.put(&format!("/v1/buckets/{id}"), &json!({}))
        .expect_error(403, 121);
}

#[test]
fn writers_and_privileges() {
    let alice = Caller::user("alice", CREATOR);
    let bob = Caller::user("bob", &[]);
    let id = unique("w-");
    let path = format!("/v1/buckets/{id}");
    alice.create_bucket(&id, &json!({"permissions": {"write": [bob.principal()]}}));
    let r = bob
        .patch(&path, "application/json", &json!({"data": {"by": "bob"}}))
        .expect(200)
        .json();
    assert!(
        r["permissions"]["write"]
            .as_array()
            .unwrap()
            .contains(&json!(alice.principal())),
        "creator stays a writer"
    );
    let editor = Caller::user("editor", &["edit_buckets"]);
    editor
        .patch(
            &path,
            "application/json",
            &json!({"data": {"by": "editor"}}),
        )
        .expect(200);
    editor.delete(&path).expect_error(403, 121);
    let deleter = Caller::user("deleter", &["delete_buckets"]);
    deleter.get(&path).expect(200);
    deleter
        .patch(&path, "application/json", &json!({"data": {"x": 1}}))
        .expect_error(403, 121);
    deleter.delete(&path).expect(200);
}

#[test]
fn delete_all_removes_only_the_callers_writable_buckets() {
    let alice = Caller::user("alice", CREATOR);
    let bob = Caller::user("bob", CREATOR);
    let prefix = unique("da");
    let a1 = format!("{prefix}-a1");
    let a2 = format!("{prefix}-a2");
    let b_read = format!("{prefix}-b1");
    let b_write = format!("{prefix}-b2");
    alice.create_bucket(&a1, &json!({}));
    alice.create_bucket(&a2, &json!({}));
    bob.create_bucket(
        &b_read,
        &json!({"permissions": {"read": [alice.principal()]}}),
    );
    bob.create_bucket(
        &b_write,
        &json!({"permissions": {"write": [alice.principal()]}}),
    );
    let r = alice.delete("/v1/buckets").expect(200).json();
    let mut deleted: Vec<String> = r["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            assert_eq!(t["deleted"], true);
            t["id"].as_str().unwrap().to_string()
        })
        .collect();
    deleted.sort();
    assert_eq!(
        mine(&deleted, &prefix),
        vec![a1.clone(), a2.clone(), b_write.clone()]
    );
    bob.get(&format!("/v1/buckets/{b_read}")).expect(200);
    bob.get(&format!("/v1/buckets/{b_write}"))
        .expect_error(403, 121);
    let (alice_ids, _) = walk(&alice, "/v1/buckets?_limit=1000");
    assert_eq!(mine(&alice_ids, &prefix), vec![b_read]);
    // An editor's privilege does not widen it: only its own principals count.
    let ed = Caller::user("ed", &["edit_buckets"]);
    ed.delete("/v1/buckets").expect(200);
    bob.get(&format!("/v1/buckets/{prefix}-b1")).expect(200);
}
