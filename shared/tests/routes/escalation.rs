//! Global privileges never turn into grants, and `DELETE /v1/buckets` deletes only what is the
//! caller's own (hardening): an `edit_buckets` holder may edit attributes but not the ACL, a
//! `delete_buckets` holder may delete but not write, and the `system.*` principals are nobody's.

use std::time::Duration;

use serde_json::{Value, json};
use shared::domain::access::Identity;

use crate::common::{CREATOR, Env};

const ACL: &str = "/v1/buckets/acl";

/// `acl`, owned by alice, readable by bob; answers its permissions.
async fn alices_bucket(env: &Env) -> Value {
    let alice = env.user("alice", CREATOR);
    let body = json!({"data": {"title": "t"}, "permissions": {"read": ["user:bob"]}});
    alice.create_bucket("acl", &body).await["permissions"].clone()
}

async fn permissions(env: &Env) -> Value {
    let root = env.user("root", &["admin"]);
    root.get(ACL).await.expect(200).json()["permissions"].clone()
}

#[tokio::test]
async fn an_editor_cannot_grant_himself_write_in_any_way() {
    let env = Env::new();
    let before = alices_bucket(&env).await;
    let editor = env.user("ed", &["edit_buckets"]);
    let me = json!(["user:ed"]);
    let attempts: Vec<(&str, Value)> = vec![
        ("PUT", json!({"permissions": {"write": me}})),
        (
            "PUT",
            json!({"data": {"title": "x"}, "permissions": {"read": me}}),
        ),
        (
            "PUT",
            json!({"permissions": {"write": ["system.Authenticated"]}}),
        ),
        ("application/json", json!({"permissions": {"write": me}})),
        ("application/json", json!({"permissions": {"read": []}})),
        (
            "application/merge-patch+json",
            json!({"permissions": {"write": me}}),
        ),
        (
            "application/json-patch+json",
            json!([{"op": "add", "path": "/permissions/write/user:ed", "value": true}]),
        ),
        (
            "application/json-patch+json",
            json!([{"op": "replace", "path": "/permissions/write", "value": ["system.Everyone"]}]),
        ),
    ];
    for (how, body) in attempts {
        let r = if how == "PUT" {
            editor.put(ACL, &body).await
        } else {
            editor.patch(ACL, how, &body).await
        };
        r.expect_error(403, 121);
        assert_eq!(permissions(&env).await, before, "{how} {body}");
    }
    // So the delete that would follow stays refused.
    editor.delete(ACL).await.expect_error(403, 121);
    // POST naming the existing id answers it as it is and changes nothing.
    let r = editor
        .post(
            "/v1/buckets",
            &json!({"data": {"id": "acl"}, "permissions": {"write": me}}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(r["permissions"], before);
    assert_eq!(permissions(&env).await, before);
}

#[tokio::test]
async fn an_editor_still_edits_attributes() {
    let env = Env::new();
    let before = alices_bucket(&env).await;
    let editor = env.user("ed", &["edit_buckets"]);
    editor
        .patch(ACL, "application/json", &json!({"data": {"title": "new"}}))
        .await
        .expect(200);
    // A PUT without permissions keeps them; one repeating them unchanged is no ACL change.
    editor
        .put(ACL, &json!({"data": {"a": 1}}))
        .await
        .expect(200);
    editor
        .put(ACL, &json!({"data": {"a": 2}, "permissions": before}))
        .await
        .expect(200);
    // Removing only the owner is no change (the owner always stays a writer).
    let drop_owner = json!([{"op": "remove", "path": "/permissions/write/user:alice"}]);
    editor
        .patch(ACL, "application/json-patch+json", &drop_owner)
        .await
        .expect(200);
    // And a server field named `owner` in the data is refused: nobody becomes the owner.
    editor
        .put(ACL, &json!({"data": {"owner": "user:ed"}}))
        .await
        .expect_invalid(400, "body", "data.owner");
    let r = editor
        .put(ACL, &json!({"data": {"owner": "user:alice"}}))
        .await
        .expect(200)
        .json();
    assert_eq!(r["data"]["owner"], "user:alice");
    assert_eq!(permissions(&env).await, before);
    editor.delete(ACL).await.expect_error(403, 121);
}

#[tokio::test]
async fn acl_changes_need_write_through_the_acl_or_admin() {
    let env = Env::new();
    alices_bucket(&env).await;
    // Two privileges together are still no grant.
    let both = env.user("ed", &["edit_buckets", "delete_buckets", "create_buckets"]);
    both.patch(
        ACL,
        "application/json",
        &json!({"permissions": {"write": ["user:ed"]}}),
    )
    .await
    .expect_error(403, 121);
    // A reader is not a writer.
    env.user("bob", &[])
        .patch(
            ACL,
            "application/json",
            &json!({"permissions": {"write": ["user:bob"]}}),
        )
        .await
        .expect_error(403, 121);
    // A writer through the ACL may (Kinto), and so may admin.
    let alice = env.user("alice", CREATOR);
    alice
        .patch(
            ACL,
            "application/json",
            &json!({"permissions": {"write": ["user:carol"]}}),
        )
        .await
        .expect(200);
    env.user("carol", &[])
        .patch(
            ACL,
            "application/json",
            &json!({"permissions": {"read": ["user:dan"]}}),
        )
        .await
        .expect(200);
    let r = env
        .user("root", &["admin"])
        .patch(
            ACL,
            "application/json",
            &json!({"permissions": {"write": ["user:ed"]}}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(r["permissions"]["write"], json!(["user:alice", "user:ed"]));
    // Write through `system.Authenticated` is write through the ACL.
    alice
        .create_bucket(
            "open",
            &json!({"permissions": {"write": ["system.Authenticated"]}}),
        )
        .await;
    env.user("x", &[])
        .patch(
            "/v1/buckets/open",
            "application/json",
            &json!({"permissions": {"read": ["user:y"]}}),
        )
        .await
        .expect(200);
}

#[tokio::test]
async fn a_deleter_cannot_write() {
    let env = Env::new();
    let before = alices_bucket(&env).await;
    let deleter = env.user("del", &["delete_buckets"]);
    deleter
        .put(ACL, &json!({"permissions": {"write": ["user:del"]}}))
        .await
        .expect_error(403, 121);
    deleter
        .patch(
            ACL,
            "application/json",
            &json!({"permissions": {"write": ["user:del"]}}),
        )
        .await
        .expect_error(403, 121);
    deleter
        .patch(ACL, "application/json", &json!({"data": {"title": "x"}}))
        .await
        .expect_error(403, 121);
    deleter
        .put(&format!("{ACL}/data"), &json!({"data": {"x": 1}}))
        .await
        .expect_error(403, 121);
    deleter
        .post(
            &format!("{ACL}/store"),
            &json!({"sync": "data", "data": {"x": 1}}),
        )
        .await
        .expect_error(403, 121);
    let files = json!({"files": [{"name": "a.txt", "size": 1, "content_type": "text/plain"}]});
    deleter
        .post(&format!("{ACL}/files"), &files)
        .await
        .expect_error(403, 121);
    assert_eq!(permissions(&env).await, before);
    // It may delete, as the privilege says.
    deleter.delete(ACL).await.expect(200);
}

fn tombstone_ids(body: &Value) -> Vec<String> {
    let mut ids: Vec<String> = body["data"]
        .as_array()
        .expect("tombstones")
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn delete_all_spares_buckets_open_to_everyone_or_the_authenticated() {
    let env = Env::new();
    let bob = env.user("bob", CREATOR);
    for (id, who) in [
        ("open-auth", "system.Authenticated"),
        ("open-all", "system.Everyone"),
    ] {
        bob.create_bucket(id, &json!({"permissions": {"write": [who], "read": [who]}}))
            .await;
    }
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("mine", &json!({})).await;
    // Plain, and with every privilege: only alice's own bucket goes.
    for privileges in [&[][..], &["edit_buckets"], &["delete_buckets"], &["admin"]] {
        let caller = env.user("alice", privileges);
        let r = caller.delete("/v1/buckets").await.expect(200).json();
        let want: Vec<String> = if privileges.is_empty() {
            vec!["mine".into()]
        } else {
            vec![]
        };
        assert_eq!(tombstone_ids(&r), want, "{privileges:?}");
    }
    // Also the anonymous-writable bucket survives an anonymous delete-all (401) and a user's.
    env.anonymous()
        .delete("/v1/buckets")
        .await
        .expect_error(401, 104);
    env.user("carol", &[])
        .delete("/v1/buckets")
        .await
        .expect(200);
    bob.get("/v1/buckets/open-auth").await.expect(200);
    bob.get("/v1/buckets/open-all").await.expect(200);
    // Their owner's own delete-all takes them.
    let r = bob.delete("/v1/buckets").await.expect(200).json();
    assert_eq!(tombstone_ids(&r), vec!["open-all", "open-auth"]);
}

#[tokio::test]
async fn delete_all_answers_within_its_budget_and_says_how_to_continue() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    for i in 0..5 {
        alice.create_bucket(&format!("t{i}"), &json!({})).await;
    }
    env.user("bob", CREATOR)
        .create_bucket("t2x", &json!({"permissions": {"read": ["system.Everyone"], "write": ["system.Authenticated"]}}))
        .await;
    let services = &env.app.services;
    let who = Identity::user("alice", CREATOR);
    // A spent budget still deletes one bucket per call (progress), then stops with has_more.
    let mut after = None;
    let mut deleted = vec![];
    for call in 0.. {
        assert!(call < 10, "does not end");
        let r = services
            .delete_all_buckets_within(&who, after.clone(), None, Duration::ZERO)
            .await
            .expect("a delete-all");
        assert!(r.tombstones.len() <= 1, "{r:?}");
        deleted.extend(
            r.tombstones
                .iter()
                .map(|t| t["id"].as_str().unwrap().to_string()),
        );
        assert_eq!(r.has_more, r.next_after.is_some());
        if !r.has_more {
            break;
        }
        after = r.next_after;
    }
    assert_eq!(deleted, vec!["t0", "t1", "t2", "t3", "t4"]);
    env.user("bob", &[])
        .get("/v1/buckets/t2x")
        .await
        .expect(200);
}
