//! What a caller made that acts later dies with the caller's right to make it: an upload grant
//! asked for by a key made by a key lands nothing once the maker is revoked; a webhook or SFTP
//! user whose maker was removed from the bucket's writers, or whose key was revoked, is
//! suspended (nothing delivered, no login) until a current writer's change takes it over.

use serde_json::{Value, json};
use shared::domain::bucket::Bucket;
use shared::domain::changes::{Change, Changed};
use shared::service::uploads::Outcome;
use shared::service::webhooks::Attempted;

use crate::common::{CREATOR, Env};
use crate::keys::new_key;

const HOOK: &str = "https://hooks.example.com/in";
const KEY_A: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMf9/y+h2QDwl4++5GUgOMcxgoJe7N68+cTjqPa2eSC6 a@host";

fn sftp_env() -> Env {
    Env::with(&[("SFTP_HOST", "127.0.0.1:2222"), ("FILES_BUCKET", "files")])
}

/// Bucket `b1` of alice with bob among its writers.
async fn shared_with_bob(env: &Env) {
    env.user("alice", CREATOR)
        .create_bucket(
            "b1",
            &json!({"permissions": {"write": ["user:alice", "user:bob"]}}),
        )
        .await;
}

/// Alice sets b1's writers to `write`, and the stream record of that change reaches the
/// activity function (the bucket's `acl` differs between the record's images).
async fn set_writers(env: &Env, write: Value) -> usize {
    let before = env.stored_bucket("b1").await;
    env.user("alice", CREATOR)
        .patch(
            "/v1/buckets/b1",
            "application/json",
            &json!({"permissions": {"write": write}}),
        )
        .await
        .expect(200);
    let after = env.stored_bucket("b1").await;
    let change = Change {
        event_id: format!("acl-{}", after.revision),
        sequence: "1".into(),
        seen_at: None,
        what: Changed::Bucket {
            old: Some(Box::new(before)),
            new: Some(Box::new(after)),
        },
    };
    env.app.services.judge_origins(&[change]).await.unwrap()
}

trait StoredBucket {
    async fn stored_bucket(&self, id: &str) -> Bucket;
}

impl StoredBucket for Env {
    async fn stored_bucket(&self, id: &str) -> Bucket {
        use shared::ports::BucketStore;
        self.store.get(id).await.unwrap().unwrap()
    }
}

/// The stream record of an upload to b1 (what makes a `file.uploaded` event).
async fn upload_record(env: &Env, name: &str, seq: i64) -> Change {
    let g = env.generation("b1").await;
    crate::common::file_upload("b1", &g, name, "user:alice", 1_000 + seq, seq)
}

/// Queues the events of `changes` and makes every attempt.
async fn deliver_all(env: &Env, changes: &[Change]) -> Vec<Attempted> {
    env.app
        .services
        .queue_events(&env.queue, changes)
        .await
        .unwrap();
    env.drain_deliveries().await
}

#[tokio::test]
async fn a_grant_of_a_key_made_by_a_key_lands_nothing_once_the_maker_is_revoked() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("b1", &json!({})).await;
    let (maker_id, maker) = new_key(
        &alice,
        json!({"title": "maker", "privileges": ["create_keys"]}),
    )
    .await;
    let (_, child) = new_key(&env.keyed(&maker), json!({"title": "child"})).await;
    let child = env.keyed(&child);
    let granted = child
        .grant("b1", &[("late.csv", 4, "text/csv")])
        .await
        .expect(201)
        .json();
    alice
        .delete(&format!("/v1/keys/{maker_id}"))
        .await
        .expect(200);
    let object = env.put_upload(&granted["files"][0], b"1,2\n");
    match env.process(&object).await {
        Outcome::Rejected(reason) => assert!(reason.contains("revoked"), "{reason}"),
        other => panic!("recorded through a revoked maker's child: {other:?}"),
    }
    let files = alice.get("/v1/buckets/b1/files").await.expect(200).json();
    assert_eq!(files["data"], json!([]));
}

#[tokio::test]
async fn a_removed_writers_webhook_is_suspended_until_a_writer_takes_it_over() {
    let env = Env::new();
    shared_with_bob(&env).await;
    let alice = env.user("alice", CREATOR);
    let bob = env.user("bob", &[]);
    let created = bob
        .post(
            "/v1/buckets/b1/webhooks",
            &json!({"url": HOOK, "events": ["file.uploaded"]}),
        )
        .await
        .expect(201)
        .json();
    let wid = created["data"]["id"].as_str().unwrap().to_string();
    assert_eq!(created["data"]["owner"], "user:bob");
    assert_eq!(created["data"]["suspended"], false);
    let path = format!("/v1/buckets/b1/webhooks/{wid}");

    assert_eq!(set_writers(&env, json!(["user:alice"])).await, 1);
    let read = alice.get(&path).await.expect(200).json();
    assert_eq!(read["data"]["suspended"], true);
    assert_eq!(read["data"]["created_by"], "user:bob");
    assert!(
        read["data"]["suspended_reason"]
            .as_str()
            .unwrap()
            .contains("user:bob"),
        "{read}"
    );
    // Nothing is queued or sent while it is suspended.
    let upload = upload_record(&env, "a.csv", 1).await;
    assert_eq!(deliver_all(&env, std::slice::from_ref(&upload)).await, []);
    assert!(env.sender.requests().is_empty());

    // A rotation (the removed writer knew the secret) changes the secret only.
    let rotated = alice
        .post(&format!("{path}/rotate"), &json!({}))
        .await
        .expect(200)
        .json();
    assert_eq!(rotated["data"]["suspended"], true, "{rotated}");
    // A takeover names where it sends (the removed writer chose the URL).
    let refused = alice
        .patch(
            &path,
            "application/json",
            &json!({"events": ["file.uploaded"]}),
        )
        .await
        .expect_error(400, 107);
    assert_eq!(refused["details"][0]["name"], "url", "{refused}");
    // A current writer's change takes it over: it sends for her from now on.
    let taken = alice
        .patch(&path, "application/json", &json!({"url": HOOK}))
        .await
        .expect(200)
        .json();
    assert_eq!(
        (
            taken["data"]["owner"].clone(),
            taken["data"]["suspended"].clone()
        ),
        (json!("user:alice"), json!(false))
    );
    let next = upload_record(&env, "b.csv", 2).await;
    assert_eq!(
        deliver_all(&env, &[next]).await,
        [Attempted::Delivered(200)]
    );
    assert_eq!(env.sender.requests().len(), 1);
}

#[tokio::test]
async fn an_attempt_checks_the_webhooks_origin_when_it_is_made() {
    let env = Env::new();
    shared_with_bob(&env).await;
    let bob = env.user("bob", &[]);
    bob.post(
        "/v1/buckets/b1/webhooks",
        &json!({"url": HOOK, "events": ["file.uploaded"]}),
    )
    .await
    .expect(201);
    // The event is queued while bob writes; he is removed before the attempt, and the
    // activity function has not judged the change yet (its record comes later).
    let upload = upload_record(&env, "a.csv", 1).await;
    env.app
        .services
        .queue_events(&env.queue, &[upload])
        .await
        .unwrap();
    env.user("alice", CREATOR)
        .patch(
            "/v1/buckets/b1",
            "application/json",
            &json!({"permissions": {"write": ["user:alice"]}}),
        )
        .await
        .expect(200);
    let outcomes = deliver_all(&env, &[]).await;
    assert_eq!(outcomes, [Attempted::Suspended]);
    assert!(env.sender.requests().is_empty(), "nothing was sent");
    let hooks = env
        .user("alice", CREATOR)
        .get("/v1/buckets/b1/webhooks")
        .await
        .expect(200)
        .json();
    assert_eq!(hooks["data"][0]["suspended"], true);
}

#[tokio::test]
async fn a_webhook_made_by_a_key_stops_when_the_key_is_revoked() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("b1", &json!({})).await;
    let (key_id, secret) = new_key(&alice, json!({"title": "ci"})).await;
    let created = env
        .keyed(&secret)
        .post(
            "/v1/buckets/b1/webhooks",
            &json!({"url": HOOK, "events": ["file.uploaded"]}),
        )
        .await
        .expect(201)
        .json();
    assert_eq!(created["data"]["owner"], format!("key:{key_id}"));
    let first = upload_record(&env, "a.csv", 1).await;
    assert_eq!(
        deliver_all(&env, &[first]).await,
        [Attempted::Delivered(200)]
    );
    alice
        .delete(&format!("/v1/keys/{key_id}"))
        .await
        .expect(200);
    let second = upload_record(&env, "b.csv", 2).await;
    assert_eq!(deliver_all(&env, &[second]).await, [Attempted::Suspended]);
    assert_eq!(env.sender.requests().len(), 1, "only the first was sent");
    let listed = alice
        .get("/v1/buckets/b1/webhooks")
        .await
        .expect(200)
        .json();
    assert!(
        listed["data"][0]["suspended_reason"]
            .as_str()
            .unwrap()
            .contains("revoked"),
        "{listed}"
    );
}

#[tokio::test]
async fn a_removed_writers_sftp_user_cannot_log_in_until_a_writer_takes_it_over() {
    let env = sftp_env();
    shared_with_bob(&env).await;
    let alice = env.user("alice", CREATOR);
    let bob = env.user("bob", &[]);
    let created = bob
        .post(
            "/v1/buckets/b1/users",
            &json!({"username": "partner", "access": "write", "ssh_public_keys": [KEY_A]}),
        )
        .await
        .expect(201)
        .json();
    assert_eq!(created["data"]["owner"], "user:bob");
    let login = created["data"]["login"].as_str().unwrap().to_string();
    assert_eq!(env.directory.user(&login).unwrap().keys.len(), 1);

    assert_eq!(set_writers(&env, json!(["user:alice"])).await, 1);
    // The SFTP function follows the suspended item's stream record.
    let g = env.generation("b1").await;
    env.app
        .services
        .sftp_user_changed(&env.directory, "b1", &g, "partner")
        .await
        .unwrap();
    assert!(
        env.directory.user(&login).unwrap().keys.is_empty(),
        "a suspended user keeps no key: no login"
    );
    let read = alice
        .get("/v1/buckets/b1/users/partner")
        .await
        .expect(200)
        .json();
    assert_eq!(read["data"]["suspended"], true);

    // A takeover names the keys that may log in (the removed maker's are among the old ones).
    let refused = alice
        .patch(
            "/v1/buckets/b1/users/partner",
            "application/json",
            &json!({"access": "read"}),
        )
        .await
        .expect_error(400, 107);
    assert_eq!(refused["details"][0]["name"], "ssh_public_keys");
    assert!(env.directory.user(&login).unwrap().keys.is_empty());
    let taken = alice
        .patch(
            "/v1/buckets/b1/users/partner",
            "application/json",
            &json!({"ssh_public_keys": [KEY_A]}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(taken["data"]["suspended"], false);
    assert_eq!(taken["data"]["owner"], "user:alice");
    assert_eq!(env.directory.user(&login).unwrap().keys.len(), 1);
}

#[tokio::test]
async fn the_reconciliation_suspends_an_sftp_user_whose_key_was_revoked() {
    let env = sftp_env();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("b1", &json!({})).await;
    let (key_id, secret) = new_key(&alice, json!({"title": "ops"})).await;
    env.keyed(&secret)
        .post(
            "/v1/buckets/b1/users",
            &json!({"username": "partner", "access": "read", "ssh_public_keys": [KEY_A]}),
        )
        .await
        .expect(201);
    env.app.services.reconcile_registered().await.unwrap();
    let read = alice
        .get("/v1/buckets/b1/users/partner")
        .await
        .expect(200)
        .json();
    assert_eq!(read["data"]["suspended"], false, "the key still works");
    alice
        .delete(&format!("/v1/keys/{key_id}"))
        .await
        .expect(200);
    env.app.services.reconcile_registered().await.unwrap();
    let read = alice
        .get("/v1/buckets/b1/users/partner")
        .await
        .expect(200)
        .json();
    assert_eq!(read["data"]["suspended"], true);
}

#[tokio::test]
async fn a_write_refuses_a_query_parameter_it_does_not_take() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("keep", &json!({})).await;
    alice.create_bucket("scratch", &json!({})).await;
    alice.upload("keep", "a.csv", b"1\n", "text/csv").await;
    // A filter meant for a delete is never dropped with the delete done on everything.
    for (method, path, body) in [
        ("DELETE", "/v1/buckets?id=scratch", None),
        (
            "POST",
            "/v1/buckets/keep/empty?glob=tmp-*",
            Some(r#"{"files": true}"#),
        ),
        ("DELETE", "/v1/buckets/keep/files/a.csv?version_id=v1", None),
        (
            "POST",
            "/v1/buckets/keep/fetch?glob=x",
            Some(r#"{"sync": "files"}"#),
        ),
    ] {
        let headers = [("content-type", "application/json")];
        let err = alice
            .send(method, path, &headers, body)
            .await
            .expect_error(400, 107);
        let name = path.split('?').nth(1).unwrap().split('=').next().unwrap();
        assert_eq!(err["details"][0]["name"], name, "{path}: {err}");
        assert_eq!(err["details"][0]["location"], "querystring");
    }
    alice.get("/v1/buckets/scratch").await.expect(200);
    let files = alice.get("/v1/buckets/keep/files").await.expect(200).json();
    assert_eq!(files["data"].as_array().unwrap().len(), 1);
    // The pages of DELETE /v1/buckets are still taken.
    alice.delete("/v1/buckets?_limit=1").await.expect(200);
}

#[tokio::test]
async fn a_key_listings_owner_must_be_a_principal() {
    let env = Env::new();
    let admin = env.user("root", &["admin"]);
    let long = "u".repeat(3000);
    let err = admin
        .get(&format!("/v1/keys?owner=user:{long}"))
        .await
        .expect_error(400, 107);
    assert_eq!(err["details"][0]["name"], "owner");
}

#[tokio::test]
async fn the_scheduled_pass_takes_a_suspended_users_keys_left_in_transfer() {
    let env = sftp_env();
    shared_with_bob(&env).await;
    let created = env
        .user("bob", &[])
        .post(
            "/v1/buckets/b1/users",
            &json!({"username": "partner", "access": "read", "ssh_public_keys": [KEY_A]}),
        )
        .await
        .expect(201)
        .json();
    let login = created["data"]["login"].as_str().unwrap().to_string();
    // Suspended, but its stream record never reached the SFTP function (lost, dead-lettered).
    assert_eq!(set_writers(&env, json!(["user:alice"])).await, 1);
    assert_eq!(env.directory.user(&login).unwrap().keys.len(), 1);
    let synced = env
        .app
        .services
        .resync_suspended_users(&env.directory)
        .await
        .unwrap();
    assert_eq!(synced, 1);
    assert!(env.directory.user(&login).unwrap().keys.is_empty());
}
