//! API keys: the lifecycle (`/v1/keys`), what a key may do (its owner's reach, never more than
//! its creator held, narrowed by its scope, plus its own `key:<id>` principal), revocation at
//! once, and the one `401` for every key that is not good.

use serde_json::{Value, json};
use shared::domain::keys::MAX_KEYS_PER_OWNER;
use shared::domain::time::now_ms;
use shared::ports::StoreError;

use shared::service::uploads::Outcome;

use crate::answers::ids;
use crate::common::{CREATOR, Env};

/// Creates a key as `caller` with `body`; answers `(key id, secret)`.
pub async fn new_key(caller: &crate::common::Caller<'_>, body: Value) -> (String, String) {
    let r = caller.post("/v1/keys", &body).await.expect(201);
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    let created = r.json();
    let secret = created["secret"].as_str().expect("a secret").to_string();
    let id = created["data"]["id"].as_str().expect("an id").to_string();
    assert!(secret.starts_with(&format!("bk_{id}_")), "{secret}");
    (id, secret)
}

#[tokio::test]
async fn a_key_lives_is_listed_renamed_and_revoked_at_once() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("b1", &json!({})).await;
    let (id, secret) = new_key(&alice, json!({"title": "nightly job"})).await;

    // Shown without its secret or any hash, everywhere.
    let listed = alice.get("/v1/keys").await.expect(200).json();
    assert_eq!(ids(&listed, "id"), vec![id.clone()]);
    let shown = &listed["data"][0];
    assert_eq!(shown["title"], "nightly job");
    assert_eq!(shown["owner"], "user:alice");
    assert_eq!(shown["prefix"], format!("bk_{id}"));
    assert_eq!(shown["last_used"], Value::Null);
    let text = listed.to_string();
    assert!(
        !text.contains(&secret[20..]) && !text.contains("hash"),
        "{text}"
    );

    // It acts as alice, plus its own principal.
    let key = env.keyed(&secret);
    key.get("/v1/buckets/b1").await.expect(200);
    let me = key.get("/v1/").await.expect(200).json();
    assert_eq!(me["user"]["id"], "user:alice");
    let principals = me["user"]["principals"].to_string();
    assert!(principals.contains(&format!("key:{id}")), "{principals}");
    // X-API-Key works the same.
    env.anonymous()
        .send("GET", "/v1/buckets/b1", &[("x-api-key", &secret)], None)
        .await
        .expect(200);

    // `last_used` is recorded, then not rewritten within the minute.
    let first = alice
        .get(&format!("/v1/keys/{id}"))
        .await
        .expect(200)
        .json()["data"]["last_used"]
        .clone();
    assert!(first.as_i64().is_some_and(|t| t <= now_ms()), "{first}");
    key.get("/v1/buckets/b1").await.expect(200);
    let again = alice
        .get(&format!("/v1/keys/{id}"))
        .await
        .expect(200)
        .json()["data"]["last_used"]
        .clone();
    assert_eq!(first, again);

    let renamed = alice
        .patch(
            &format!("/v1/keys/{id}"),
            "application/json",
            &json!({"title": "weekly"}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(renamed["data"]["title"], "weekly");

    let revoked = alice
        .delete(&format!("/v1/keys/{id}"))
        .await
        .expect(200)
        .json();
    assert_eq!(revoked["data"]["deleted"], true);
    key.get("/v1/buckets/b1").await.expect_error(401, 104);
    alice
        .get(&format!("/v1/keys/{id}"))
        .await
        .expect_error(404, 111);
    alice
        .delete(&format!("/v1/keys/{id}"))
        .await
        .expect_error(404, 111);
}

#[tokio::test]
async fn unknown_revoked_expired_tampered_and_malformed_keys_get_the_same_401() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    let (revoked_id, revoked) = new_key(&alice, json!({"title": "r"})).await;
    alice
        .delete(&format!("/v1/keys/{revoked_id}"))
        .await
        .expect(200);
    let (_, expiring) = new_key(&alice, json!({"title": "e", "expires_at": now_ms() + 30})).await;
    let (_, good) = new_key(&alice, json!({"title": "g"})).await;
    tokio::time::sleep(std::time::Duration::from_millis(60)).await;
    let mut tampered = good.clone();
    let last = if tampered.ends_with('A') { "B" } else { "A" };
    tampered.replace_range(tampered.len() - 1.., last);
    let unknown = format!("bk_0123456789abcdef_{}", &good[20..]);
    let mut messages = Vec::new();
    for secret in [
        revoked,
        expiring,
        tampered,
        unknown,
        "bk_nonsense".to_string(),
    ] {
        let body = env
            .keyed(&secret)
            .get("/v1/buckets")
            .await
            .expect_error(401, 104);
        messages.push(body["message"].clone());
        env.anonymous()
            .send("GET", "/v1/buckets", &[("x-api-key", &secret)], None)
            .await
            .expect_error(401, 104);
    }
    messages.dedup();
    assert_eq!(messages.len(), 1, "{messages:?}");
    env.keyed(&good).get("/v1/buckets").await.expect(200);
    // Two credentials at once: refused, not one of them silently chosen.
    alice
        .send("GET", "/v1/buckets", &[("x-api-key", &good)], None)
        .await
        .expect_error(401, 104);
}

#[tokio::test]
async fn a_key_never_holds_more_than_its_creator() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice
        .post("/v1/keys", &json!({"title": "x", "privileges": ["admin"]}))
        .await
        .expect_error(403, 121);
    alice
        .post(
            "/v1/keys",
            &json!({"title": "x", "privileges": ["edit_buckets"]}),
        )
        .await
        .expect_error(403, 121);
    // A signed-in user may give what he holds, and `create_keys`.
    let (_, plain) = new_key(
        &alice,
        json!({"title": "plain", "privileges": ["create_buckets"]}),
    )
    .await;
    let (_, maker) = new_key(
        &alice,
        json!({"title": "maker", "privileges": ["create_keys"]}),
    )
    .await;
    // Without `create_keys` a key manages no keys.
    let plain = env.keyed(&plain);
    plain
        .post("/v1/keys", &json!({"title": "child"}))
        .await
        .expect_error(403, 121);
    plain.get("/v1/keys").await.expect_error(403, 121);
    // The key creates buckets with its privilege; the maker cannot (it lacks create_buckets).
    plain.post("/v1/buckets", &json!({})).await.expect(201);
    let maker = env.keyed(&maker);
    maker
        .post("/v1/buckets", &json!({}))
        .await
        .expect_error(403, 121);
    // A key with `create_keys` makes keys within its own privileges, for the same owner.
    maker
        .post(
            "/v1/keys",
            &json!({"title": "c", "privileges": ["create_buckets"]}),
        )
        .await
        .expect_error(403, 121);
    // Keys made by keys make no keys (one level, so revoking a maker revokes all it made).
    maker
        .post(
            "/v1/keys",
            &json!({"title": "c", "privileges": ["create_keys"]}),
        )
        .await
        .expect_error(403, 121);
    let (child_id, _) = new_key(&maker, json!({"title": "c"})).await;
    let child = alice
        .get(&format!("/v1/keys/{child_id}"))
        .await
        .expect(200)
        .json();
    assert_eq!(child["data"]["owner"], "user:alice");
    // An anonymous caller has no keys.
    env.anonymous().get("/v1/keys").await.expect_error(401, 104);
    env.anonymous()
        .post("/v1/keys", &json!({"title": "x"}))
        .await
        .expect_error(401, 104);
}

#[tokio::test]
async fn a_scope_narrows_a_key_to_its_buckets_and_their_incarnation() {
    let env = Env::new();
    let alice = env.user("alice", &["create_buckets", "delete_buckets"]);
    alice.create_bucket("b1", &json!({})).await;
    alice.create_bucket("b2", &json!({})).await;
    alice.create_bucket("b3", &json!({})).await;
    let (_, reader) = new_key(
        &alice,
        json!({"title": "r", "buckets": [{"id": "b1", "access": "read"}]}),
    )
    .await;
    let reader = env.keyed(&reader);
    reader.get("/v1/buckets/b1").await.expect(200);
    reader.get("/v1/buckets/b1/data").await.expect(200);
    reader
        .patch(
            "/v1/buckets/b1",
            "application/json",
            &json!({"data": {"title": "no"}}),
        )
        .await
        .expect_error(403, 121);
    reader
        .put("/v1/buckets/b1/data", &json!({"data": {}}))
        .await
        .expect_error(403, 121);
    reader.delete("/v1/buckets/b1").await.expect_error(403, 121);
    reader.get("/v1/buckets/b2").await.expect_error(403, 121);
    // It lists its scope only, creates nothing, and deletes nothing with delete-all.
    let listed = reader.get("/v1/buckets").await.expect(200).json();
    assert_eq!(ids(&listed, "id"), vec!["b1"]);
    reader
        .post("/v1/buckets", &json!({}))
        .await
        .expect_error(403, 121);
    reader.delete("/v1/buckets").await.expect(200);
    alice.get("/v1/buckets/b1").await.expect(200);

    let (_, writer) = new_key(
        &alice,
        json!({"title": "w", "buckets": [{"id": "b2", "access": "write"}]}),
    )
    .await;
    let writer = env.keyed(&writer);
    writer
        .put("/v1/buckets/b2/data", &json!({"data": {"k": 1}}))
        .await
        .expect(200);
    // Delete-all by a scoped key reaches its scope alone.
    writer.delete("/v1/buckets").await.expect(200);
    writer.get("/v1/buckets/b2").await.expect_error(403, 121);
    alice.get("/v1/buckets/b2").await.expect_error(404, 111);
    alice.get("/v1/buckets/b3").await.expect(200);
    // Re-created with the same id: another incarnation, out of the scope.
    alice.create_bucket("b2", &json!({})).await;
    writer.get("/v1/buckets/b2").await.expect_error(403, 121);

    // A scope names buckets the creator reaches with that access.
    let bob = env.user("bob", CREATOR);
    bob.create_bucket("bobs", &json!({"permissions": {"read": ["user:alice"]}}))
        .await;
    alice
        .post(
            "/v1/keys",
            &json!({"title": "x", "buckets": [{"id": "bobs", "access": "write"}]}),
        )
        .await
        .expect_error(403, 121);
    alice
        .post(
            "/v1/keys",
            &json!({"title": "x", "buckets": [{"id": "nowhere", "access": "read"}]}),
        )
        .await
        // Alice reads every bucket (delete_buckets): she may know it does not exist.
        .expect_error(404, 111);
    bob.post(
        "/v1/keys",
        &json!({"title": "x", "buckets": [{"id": "b1", "access": "read"}]}),
    )
    .await
    .expect_error(403, 121);
    new_key(
        &alice,
        json!({"title": "x", "buckets": [{"id": "bobs", "access": "read"}]}),
    )
    .await;
}

#[tokio::test]
async fn key_requests_that_could_never_work_are_refused_when_made() {
    let env = Env::new();
    let bob = env.user("bob", CREATOR);
    bob.create_bucket("bobs", &json!({})).await;
    // Carol edits every bucket through her privilege; bob's ACL does not name her. A key
    // scoped to bob's bucket without that privilege would answer 403 on every use.
    let carol = env.user("carol", &["edit_buckets"]);
    carol.get("/v1/buckets/bobs").await.expect(200);
    let refused = carol
        .post(
            "/v1/keys",
            &json!({"title": "job", "buckets": [{"id": "bobs", "access": "write"}]}),
        )
        .await
        .expect_invalid(400, "body", "buckets");
    let message = refused["message"].as_str().unwrap();
    assert!(message.contains("edit_buckets"), "{message}");
    // Given the privilege, the same scope works.
    let (_, secret) = new_key(
        &carol,
        json!({"title": "job", "privileges": ["edit_buckets"], "buckets": [{"id": "bobs", "access": "write"}]}),
    )
    .await;
    env.keyed(&secret)
        .put("/v1/buckets/bobs/data", &json!({"data": {"k": 1}}))
        .await
        .expect(200);
    // Or named in the bucket's permissions: no privilege needed.
    bob.patch(
        "/v1/buckets/bobs",
        "application/json",
        &json!({"permissions": {"read": ["user:carol"]}}),
    )
    .await
    .expect(200);
    let (_, reader) = new_key(
        &carol,
        json!({"title": "read", "buckets": [{"id": "bobs", "access": "read"}]}),
    )
    .await;
    env.keyed(&reader).get("/v1/buckets/bobs").await.expect(200);

    // A scoped key creates no bucket: `create_buckets` with a scope is refused, not kept.
    bob.post(
        "/v1/keys",
        &json!({"title": "x", "privileges": ["create_buckets"], "buckets": [{"id": "bobs", "access": "read"}]}),
    )
    .await
    .expect_invalid(400, "body", "privileges");
    // A key made by a key inherits its scope: the rule holds for the inherited scope too.
    let (_, editor_key) = new_key(
        &carol,
        json!({"title": "m", "privileges": ["edit_buckets", "create_keys"], "buckets": [{"id": "bobs", "access": "write"}]}),
    )
    .await;
    let editor_key = env.keyed(&editor_key);
    editor_key
        .post("/v1/keys", &json!({"title": "child"}))
        .await
        .expect_invalid(400, "body", "buckets");
    editor_key
        .post(
            "/v1/keys",
            &json!({"title": "child", "privileges": ["edit_buckets"]}),
        )
        .await
        .expect(201);
    // A bucket whose permissions name the creating key, not its owner: a key that key makes
    // acts as the owner, whom they do not name.
    let dave = env.user("dave", &[]);
    let (dave_key_id, dave_key) =
        new_key(&dave, json!({"title": "d", "privileges": ["create_keys"]})).await;
    bob.create_bucket(
        "named",
        &json!({"permissions": {"read": [format!("key:{dave_key_id}")]}}),
    )
    .await;
    let refused = env
        .keyed(&dave_key)
        .post(
            "/v1/keys",
            &json!({"title": "c", "buckets": [{"id": "named", "access": "read"}]}),
        )
        .await
        .expect_invalid(400, "body", "buckets");
    let message = refused["message"].as_str().unwrap();
    assert!(message.contains(&format!("key:{dave_key_id}")), "{message}");

    // A scoped key with create_keys makes keys with its own scope: the same rule holds.
    let (_, maker) = new_key(
        &bob,
        json!({"title": "m", "privileges": ["create_keys"], "buckets": [{"id": "bobs", "access": "write"}]}),
    )
    .await;
    env.keyed(&maker)
        .post("/v1/keys", &json!({"title": "child"}))
        .await
        .expect(201);
}

#[tokio::test]
async fn an_acl_may_name_a_key_alone() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    let bob = env.user("bob", CREATOR);
    let (id, secret) = new_key(&alice, json!({"title": "reader"})).await;
    bob.create_bucket(
        "shared",
        &json!({"permissions": {"read": [format!("key:{id}")]}}),
    )
    .await;
    env.keyed(&secret)
        .get("/v1/buckets/shared")
        .await
        .expect(200);
    let listed = env
        .keyed(&secret)
        .get("/v1/buckets")
        .await
        .expect(200)
        .json();
    assert!(ids(&listed, "id").contains(&"shared".to_string()));
    // Alice herself, signed in, is not the key.
    alice.get("/v1/buckets/shared").await.expect_error(403, 121);
}

#[tokio::test]
async fn keys_are_their_owners_and_admins_see_every_key() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    let bob = env.user("bob", CREATOR);
    let (alice_key, alice_secret) = new_key(&alice, json!({"title": "a"})).await;
    let (bob_key, _) = new_key(&bob, json!({"title": "b"})).await;
    assert_eq!(
        ids(&bob.get("/v1/keys").await.expect(200).json(), "id"),
        vec![bob_key.clone()]
    );
    bob.get(&format!("/v1/keys/{alice_key}"))
        .await
        .expect_error(404, 111);
    bob.delete(&format!("/v1/keys/{alice_key}"))
        .await
        .expect_error(404, 111);
    bob.patch(
        &format!("/v1/keys/{alice_key}"),
        "application/json",
        &json!({"title": "mine"}),
    )
    .await
    .expect_error(404, 111);
    bob.get("/v1/keys?owner=user:alice")
        .await
        .expect_error(403, 121);

    let root = env.user("root", &["admin"]);
    let all = ids(&root.get("/v1/keys").await.expect(200).json(), "id");
    assert!(
        all.contains(&alice_key) && all.contains(&bob_key),
        "{all:?}"
    );
    let only = root
        .get("/v1/keys?owner=user:alice")
        .await
        .expect(200)
        .json();
    assert_eq!(ids(&only, "id"), vec![alice_key.clone()]);
    root.delete(&format!("/v1/keys/{alice_key}"))
        .await
        .expect(200);
    env.keyed(&alice_secret)
        .get("/v1/")
        .await
        .expect_error(401, 104);
}

#[tokio::test]
async fn key_listings_page() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    let mut made = Vec::new();
    for i in 0..5 {
        made.push(new_key(&alice, json!({"title": format!("k{i}")})).await.0);
    }
    made.sort();
    let mut seen = Vec::new();
    let mut path = "/v1/keys?_limit=2".to_string();
    loop {
        let r = alice.get(&path).await.expect(200);
        let page = r.json();
        seen.extend(ids(&page, "id"));
        match r.header("next-page") {
            Some(next) => path = crate::common::link(&next),
            None => break,
        }
    }
    assert_eq!(seen, made);
}

#[tokio::test]
async fn bad_key_requests_name_the_field() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice
        .post("/v1/keys", &json!({}))
        .await
        .expect_invalid(400, "body", "title");
    alice
        .post("/v1/keys", &json!({"title": "t", "privileges": ["root"]}))
        .await
        .expect_invalid(400, "body", "privileges[0]");
    alice
        .post(
            "/v1/keys",
            &json!({"title": "t", "buckets": [{"id": "b", "access": "own"}]}),
        )
        .await
        .expect_invalid(400, "body", "buckets[0].access");
    alice
        .post("/v1/keys", &json!({"title": "t", "expires_at": 1}))
        .await
        .expect_invalid(400, "body", "expires_at");
    alice
        .post("/v1/keys", &json!({"title": "t", "owner": "user:bob"}))
        .await
        .expect_invalid(400, "body", "owner");
    alice
        .get("/v1/keys/not-a-key")
        .await
        .expect_invalid(400, "path", "id");
    let (id, _) = new_key(&alice, json!({"title": "t"})).await;
    alice
        .patch(
            &format!("/v1/keys/{id}"),
            "application/json",
            &json!({"privileges": ["admin"]}),
        )
        .await
        .expect_invalid(400, "body", "privileges");
    alice
        .put(&format!("/v1/keys/{id}"), &json!({"title": "t"}))
        .await
        .expect_error(405, 115);
}

#[tokio::test]
async fn a_user_holds_a_bounded_number_of_keys() {
    let env = Env::new();
    let alice = env.user("alice", &[]);
    for i in 0..100 {
        new_key(&alice, json!({"title": format!("k{i}")})).await;
    }
    alice
        .post("/v1/keys", &json!({"title": "one more"}))
        .await
        .expect_error(403, 121);
    // Another user is not affected.
    new_key(&env.user("bob", &[]), json!({"title": "b"})).await;
}

/// An expired key counts until it is revoked or the table's TTL removes it; the TTL touches no
/// count, yet the keys it removed free their places (a full count forgets them).
#[tokio::test]
async fn expired_keys_count_until_revoked_or_removed_by_the_ttl() {
    let env = Env::new();
    let alice = env.user("alice", &[]);
    let soon = now_ms() + 200;
    let mut expiring = Vec::new();
    for i in 0..3 {
        let body = json!({"title": format!("e{i}"), "expires_at": soon});
        expiring.push(new_key(&alice, body).await.0);
    }
    for i in 3..MAX_KEYS_PER_OWNER {
        new_key(&alice, json!({"title": format!("k{i}")})).await;
    }
    let one_more = json!({"title": "one more"});
    alice
        .post("/v1/keys", &one_more)
        .await
        .expect_error(403, 121);
    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    alice
        .post("/v1/keys", &one_more)
        .await
        .expect_error(403, 121);
    // Revoked: its place is free at once.
    alice
        .delete(&format!("/v1/keys/{}", expiring[0]))
        .await
        .expect(200);
    alice.post("/v1/keys", &one_more).await.expect(201);
    alice
        .post("/v1/keys", &one_more)
        .await
        .expect_error(403, 121);
    // Removed by the TTL (the count not told): their places are free too.
    assert_eq!(env.store.expire_keys(now_ms()), 2);
    alice.post("/v1/keys", &one_more).await.expect(201);
    alice.post("/v1/keys", &one_more).await.expect(201);
    alice
        .post("/v1/keys", &one_more)
        .await
        .expect_error(403, 121);
    let listed = alice.get("/v1/keys?_limit=1000").await.expect(200).json();
    assert_eq!(listed["data"].as_array().unwrap().len(), MAX_KEYS_PER_OWNER);
}

/// A revocation whose write loses a race on its owner's count (another creation's or
/// revocation's) is tried again: never a `404` for a key that is still there.
#[tokio::test]
async fn a_revocation_that_loses_a_race_on_the_count_is_tried_again() {
    let env = Env::new();
    let alice = env.user("alice", &[]);
    let (id, secret) = new_key(&alice, json!({"title": "t"})).await;
    // The key read, then the deleting write loses.
    env.store.fail_call(1, StoreError::Conflict);
    alice.delete(&format!("/v1/keys/{id}")).await.expect(200);
    assert!(!env.store.faults_pending());
    alice.get(&format!("/v1/keys/{id}")).await.expect(404);
    env.keyed(&secret).get("/v1/buckets").await.expect(401);
}

#[tokio::test]
async fn revoking_a_maker_revokes_the_keys_it_made() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("b1", &json!({})).await;
    let (maker_id, maker) = new_key(
        &alice,
        json!({"title": "maker", "privileges": ["create_keys"]}),
    )
    .await;
    let maker = env.keyed(&maker);
    let (child_id, child) = new_key(&maker, json!({"title": "maker"})).await;
    let shown = alice
        .get(&format!("/v1/keys/{child_id}"))
        .await
        .expect(200)
        .json();
    assert_eq!(shown["data"]["created_by"], format!("key:{maker_id}"));
    let child = env.keyed(&child);
    child.get("/v1/buckets/b1").await.expect(200);
    alice
        .delete(&format!("/v1/keys/{maker_id}"))
        .await
        .expect(200);
    child.get("/v1/buckets/b1").await.expect_error(401, 104);
}

#[tokio::test]
async fn a_key_manages_only_itself_and_the_keys_it_made() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("b1", &json!({})).await;
    let (plain_id, plain) = new_key(&alice, json!({"title": "plain"})).await;
    let (maker_id, maker) = new_key(
        &alice,
        json!({"title": "m", "privileges": ["create_keys"], "buckets": [{"id": "b1", "access": "read"}]}),
    )
    .await;
    let maker = env.keyed(&maker);
    let (made_id, _) = new_key(&maker, json!({"title": "made"})).await;
    let mut listed = ids(&maker.get("/v1/keys").await.expect(200).json(), "id");
    listed.sort();
    let mut expected = vec![maker_id.clone(), made_id.clone()];
    expected.sort();
    assert_eq!(listed, expected);
    maker
        .get(&format!("/v1/keys/{plain_id}"))
        .await
        .expect_error(404, 111);
    maker
        .delete(&format!("/v1/keys/{plain_id}"))
        .await
        .expect_error(404, 111);
    env.keyed(&plain).get("/v1/buckets/b1").await.expect(200);
    maker
        .delete(&format!("/v1/keys/{made_id}"))
        .await
        .expect(200);

    // An admin's key without create_keys manages nothing, and with it only what it made.
    let root = env.user("root", &["admin"]);
    let (_, admin_key) = new_key(
        &root,
        json!({"title": "a", "privileges": ["admin"], "buckets": []}),
    )
    .await;
    let admin_key = env.keyed(&admin_key);
    admin_key.get("/v1/keys").await.expect_error(403, 121);
    admin_key
        .post("/v1/keys", &json!({"title": "x"}))
        .await
        .expect_error(403, 121);
    let (_, admin_maker) = new_key(
        &root,
        json!({"title": "a", "privileges": ["admin", "create_keys"]}),
    )
    .await;
    let admin_maker = env.keyed(&admin_maker);
    admin_maker
        .delete(&format!("/v1/keys/{plain_id}"))
        .await
        .expect_error(404, 111);
    admin_maker
        .get("/v1/keys?owner=user:alice")
        .await
        .expect_error(403, 121);
}

#[tokio::test]
async fn a_scoped_key_never_creates_its_owners_default_bucket() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("b1", &json!({})).await;
    let (_, key) = new_key(
        &alice,
        json!({"title": "r", "buckets": [{"id": "b1", "access": "read"}]}),
    )
    .await;
    let key = env.keyed(&key);
    key.put(
        "/v1/buckets/default",
        &json!({"permissions": {"read": ["system.Everyone"], "write": ["user:mallory"]}}),
    )
    .await
    .expect_error(403, 121);
    key.get("/v1/buckets/default/data")
        .await
        .expect_error(404, 111);
    let default_id = alice.get("/v1/").await.expect(200).json()["user"]["bucket"].clone();
    key.post("/v1/buckets", &json!({"data": {"id": default_id}}))
        .await
        .expect_error(403, 121);
    // Alice's first use creates it, hers alone.
    let mine = alice.get("/v1/buckets/default").await.expect(200).json();
    assert_eq!(mine["permissions"]["read"], json!([]));
}

#[tokio::test]
async fn key_routes_are_not_served_in_a_batch() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    let batch = alice
        .post(
            "/v1/batch",
            &json!({"requests": [{"method": "POST", "path": "/keys", "body": {"title": "x"}}]}),
        )
        .await
        .expect(200)
        .json();
    let sub = &batch["responses"][0];
    assert_eq!(sub["status"], 400, "{sub}");
    assert!(!batch.to_string().contains("bk_"), "{batch}");
    assert!(ids(&alice.get("/v1/keys").await.expect(200).json(), "id").is_empty());
}

#[tokio::test]
async fn a_grant_asked_with_a_key_uploads_nothing_once_the_key_is_revoked_or_unshared() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    let bob = env.user("bob", CREATOR);
    let (id, secret) = new_key(&alice, json!({"title": "writer"})).await;
    let key = env.keyed(&secret);
    bob.create_bucket(
        "shared",
        &json!({"permissions": {"write": [format!("key:{id}")]}}),
    )
    .await;
    // Granted through the key's own principal; recorded while the key and the ACL stand.
    key.upload("shared", "ok.csv", b"1,2\n", "text/csv").await;

    let revoked = key
        .grant("shared", &[("late.csv", 4, "text/csv")])
        .await
        .expect(201)
        .json();
    let unshared = key
        .grant("shared", &[("gone.csv", 4, "text/csv")])
        .await
        .expect(201)
        .json();
    // Removed from the ACL: the upload is refused at event time.
    bob.patch(
        "/v1/buckets/shared",
        "application/json",
        &json!({"permissions": {"write": []}}),
    )
    .await
    .expect(200);
    let object = env.put_upload(&unshared["files"][0], b"3,4\n");
    assert!(matches!(env.process(&object).await, Outcome::Rejected(_)));
    // Shared again, but the key is revoked: refused too.
    bob.patch(
        "/v1/buckets/shared",
        "application/json",
        &json!({"permissions": {"write": [format!("key:{id}")]}}),
    )
    .await
    .expect(200);
    alice.delete(&format!("/v1/keys/{id}")).await.expect(200);
    let object = env.put_upload(&revoked["files"][0], b"5,6\n");
    match env.process(&object).await {
        Outcome::Rejected(reason) => assert!(reason.contains("revoked"), "{reason}"),
        other => panic!("recorded through a revoked key: {other:?}"),
    }
    let files = bob.get("/v1/buckets/shared/files").await.expect(200).json();
    assert_eq!(ids(&files, "name"), vec!["ok.csv"]);
}
