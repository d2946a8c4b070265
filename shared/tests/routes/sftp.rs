//! SFTP users and the reconciliation pass over the in-memory stores: users become Transfer users
//! confined to their bucket, files written without an upload URL are adopted under their
//! normalized name through the upload rules, and records of deleted objects are removed.

use futures_util::future::join_all;
use serde_json::{Value, json};
use shared::domain::access::Identity;
use shared::domain::ids::BucketRef;
use shared::domain::keys::Access;
use shared::domain::sftp::{MAX_USERS_PER_BUCKET, NewUser, UserPatch, parse_key};
use shared::memory::MemoryDirectory;
use shared::ports::{BucketStore, FileStore, ObjectVersion, StoreError};

use crate::common::{CREATOR, Env};

const KEY_A: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMf9/y+h2QDwl4++5GUgOMcxgoJe7N68+cTjqPa2eSC6 a@host";

fn sftp_env() -> Env {
    Env::with(&[("SFTP_HOST", "127.0.0.1:2222"), ("FILES_BUCKET", "files")])
}

async fn generation(env: &Env, id: &str) -> String {
    env.store.get(id).await.unwrap().unwrap().generation
}

/// A deployment with SFTP and alice's bucket `b1`; its generation.
async fn env_with_b1() -> (Env, String) {
    let env = sftp_env();
    env.user("alice", CREATOR)
        .create_bucket("b1", &json!({}))
        .await;
    let g = generation(&env, "b1").await;
    (env, g)
}

/// Bucket `b1` as it is now.
async fn b1(env: &Env) -> shared::domain::bucket::Bucket {
    env.store.get("b1").await.unwrap().unwrap()
}

/// One page over the whole of `b1`.
async fn reconcile_all(env: &Env) -> shared::service::reconcile::Reconciled {
    env.app
        .services
        .reconcile_page(&b1(env).await, None, 1000, None)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_direct_write_is_adopted_under_its_normalized_name() {
    let (env, g) = env_with_b1().await;
    let written = env.objects.put_bytes(
        &format!("b1/{g}/Q1 Report.CSV"),
        "text/csv",
        b"a,b\n1,2\n",
        None,
    );
    let done = reconcile_all(&env).await;
    assert_eq!(
        (done.recorded, done.refused, done.removed),
        (1, 0, 0),
        "{done:?}"
    );
    let record = env
        .store
        .get_file("b1", &g, "q1_report.csv")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.size, 8);
    assert_eq!(record.uploaded_by, "sftp");
    assert!(record.sha256.is_some(), "the copy has S3's checksum");
    let written = ObjectVersion::new(format!("b1/{g}/Q1 Report.CSV"), written.version_id);
    assert!(
        env.objects.get_version(&written).is_none(),
        "the written object is gone"
    );
    let b = b1(&env).await;
    assert_eq!((b.file_count, b.total_bytes), (1, 8));
    // Nothing more to do the second time.
    let again = reconcile_all(&env).await;
    assert_eq!((again.recorded, again.refused, again.removed), (0, 0, 0));
}

#[tokio::test]
async fn a_record_whose_object_is_gone_is_removed_and_an_inactive_bucket_refuses() {
    let env = sftp_env();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("b1", &json!({})).await;
    alice.upload("b1", "a.txt", b"hello", "text/plain").await;
    let g = generation(&env, "b1").await;
    // An SFTP delete: a delete marker on the key.
    use shared::ports::ObjectStore;
    env.objects
        .delete(&ObjectVersion::new(format!("b1/{g}/a.txt"), None))
        .await
        .unwrap();
    alice
        .patch(
            "/v1/buckets/b1",
            "application/json",
            &json!({"data": {"active": false}}),
        )
        .await
        .expect(200);
    env.objects
        .put_bytes(&format!("b1/{g}/late.txt"), "text/plain", b"late", None);
    let done = reconcile_all(&env).await;
    assert_eq!(
        (done.recorded, done.refused, done.removed),
        (0, 1, 1),
        "{done:?}"
    );
    assert!(
        env.store
            .get_file("b1", &g, "a.txt")
            .await
            .unwrap()
            .is_none()
    );
    assert!(!env.objects.contains(&format!("b1/{g}/late.txt")));
    let b = b1(&env).await;
    assert_eq!((b.file_count, b.total_bytes), (0, 0));
}

#[tokio::test]
async fn pages_of_one_key_cover_the_bucket() {
    let (env, g) = env_with_b1().await;
    for name in ["c.txt", "a.txt", "b.txt"] {
        env.objects
            .put_bytes(&format!("b1/{g}/{name}"), "text/plain", b"x", None);
    }
    let bucket = b1(&env).await;
    let mut after: Option<String> = None;
    let mut recorded = 0;
    for _ in 0..10 {
        let page = env
            .app
            .services
            .reconcile_page(&bucket, after.as_deref(), 1, None)
            .await
            .unwrap();
        recorded += page.recorded;
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(recorded, 3);
    // A page out of time stops before its first name and goes on from where it started.
    let bucket = b1(&env).await;
    env.objects
        .put_bytes(&format!("b1/{g}/d.txt"), "text/plain", b"x", None);
    let late = env
        .app
        .services
        .reconcile_page(
            &bucket,
            Some("c.txt"),
            1000,
            Some(std::time::Instant::now()),
        )
        .await
        .unwrap();
    assert_eq!((late.examined, late.next.as_deref()), (0, Some("c.txt")));
    let done = env
        .app
        .services
        .reconcile_page(&bucket, late.next.as_deref(), 1000, None)
        .await
        .unwrap();
    assert_eq!((done.recorded, done.next), (1, None));
}

#[tokio::test]
async fn users_are_transfer_users_confined_to_their_bucket() {
    let env = sftp_env();
    let dir = MemoryDirectory::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("b1", &json!({})).await;
    let g = generation(&env, "b1").await;
    let who = Identity::user("alice", CREATOR);
    let services = &env.app.services;
    let key = parse_key(KEY_A, "k").unwrap();
    let new = NewUser {
        username: "partner".into(),
        access: Access::Read,
        keys: vec![key.clone()],
    };
    let b1 = BucketRef::Id("b1".into());
    let (_, user) = services
        .create_sftp_user(&dir, &who, &b1, new.clone())
        .await
        .unwrap();
    assert!(!user.keys[0].id.is_empty(), "Transfer's key id is kept");
    let entry = dir.user("b1.partner").unwrap();
    assert_eq!(entry.home, format!("/files/b1/{g}"));
    assert!(!entry.rights.write, "a read user cannot write");
    // Another writer's bucket: bob may not manage alice's users.
    let bob = Identity::user("bob", CREATOR);
    assert!(
        services
            .create_sftp_user(&dir, &bob, &b1, new.clone())
            .await
            .is_err()
    );
    // Write access: the policy allows puts.
    let patch = UserPatch {
        access: Some(Access::Write),
        keys: None,
    };
    services
        .update_sftp_user(&dir, &who, &b1, "partner", patch)
        .await
        .unwrap();
    assert!(dir.user("b1.partner").unwrap().rights.write);
    // The stream's REMOVE of an older incarnation's item leaves a newer one's user alone.
    services
        .sftp_user_removed(&dir, "b1", "older-generation", "partner")
        .await
        .unwrap();
    assert!(dir.user("b1.partner").is_some());
    services
        .delete_sftp_user(&dir, &who, &b1, "partner")
        .await
        .unwrap();
    assert!(dir.logins().is_empty());
}

/// Creations sent at once all pass the early check (its listing gives way, as a query would)
/// before any is written: the count checked in the creating write holds the limit, no Transfer
/// user is made for a refused one, and a deletion frees one place, once.
#[tokio::test]
async fn concurrent_user_creations_stop_at_the_limit() {
    let env = sftp_env();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("b1", &json!({})).await;
    let users = "/v1/buckets/b1/users";
    let bodies: Vec<Value> = (0..MAX_USERS_PER_BUCKET + 10)
        .map(|i| json!({"username": format!("user{i:02}"), "ssh_public_keys": [KEY_A]}))
        .collect();
    let answers = join_all(bodies.iter().map(|body| alice.post(users, body))).await;
    let created: Vec<String> = answers
        .iter()
        .filter(|r| r.status() == 201)
        .map(|r| r.json()["data"]["username"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(created.len(), MAX_USERS_PER_BUCKET);
    for refused in answers.into_iter().filter(|r| r.status() != 201) {
        let err = refused.expect_invalid(400, "body", "username");
        assert!(err["message"].as_str().unwrap().contains("20"), "{err}");
    }
    let listed = alice.get(users).await.expect(200).json();
    assert_eq!(
        listed["data"].as_array().unwrap().len(),
        MAX_USERS_PER_BUCKET
    );
    assert_eq!(env.directory.logins().len(), MAX_USERS_PER_BUCKET);

    let first = format!("{users}/{}", created[0]);
    alice.delete(&first).await.expect(200);
    alice.delete(&first).await.expect(404);
    let again = |name: &str| json!({"username": name, "ssh_public_keys": [KEY_A]});
    alice.post(users, &again("late1")).await.expect(201);
    alice
        .post(users, &again("late2"))
        .await
        .expect_invalid(400, "body", "username");
    assert_eq!(env.directory.logins().len(), MAX_USERS_PER_BUCKET);
}

/// A write that loses a race on the count to another (DynamoDB cancels a transaction that
/// meets another on the same item) is tried again: not answered as a taken name, a missing
/// bucket or a deletion that did not happen.
#[tokio::test]
async fn a_write_that_loses_a_race_on_the_count_is_tried_again() {
    let env = sftp_env();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("b1", &json!({})).await;
    let users = "/v1/buckets/b1/users";
    // The bucket read, the early count, then the creating write loses.
    env.store.fail_call(2, StoreError::Conflict);
    alice
        .post(
            users,
            &json!({"username": "partner", "ssh_public_keys": [KEY_A]}),
        )
        .await
        .expect(201);
    assert!(!env.store.faults_pending());
    assert_eq!(env.directory.logins(), ["b1.partner"]);
    // The bucket and user reads, then the deleting write loses.
    env.store.fail_call(2, StoreError::Conflict);
    alice.delete(&format!("{users}/partner")).await.expect(200);
    assert!(!env.store.faults_pending());
    let listed = alice.get(users).await.expect(200).json();
    assert_eq!(listed["data"], json!([]));
    assert!(env.directory.logins().is_empty());
}

#[tokio::test]
async fn a_renamed_file_is_adopted_under_its_new_name() {
    // An SFTP rename copies the object (metadata and all: the upload id of the original's
    // grant, spent) to the new name, then deletes the original.
    let env = sftp_env();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("b1", &json!({})).await;
    let a = alice.upload("b1", "a.txt", b"content", "text/plain").await;
    let g = generation(&env, "b1").await;
    let record = env
        .store
        .get_file("b1", &g, "a.txt")
        .await
        .unwrap()
        .unwrap();
    let copy = env.objects.put_bytes(
        &format!("b1/{g}/b.txt"),
        "text/plain",
        b"content",
        Some(&record.upload_id),
    );
    let outcome = env
        .process(&ObjectVersion::new(
            format!("b1/{g}/b.txt"),
            copy.version_id,
        ))
        .await;
    assert_eq!(outcome, shared::service::uploads::Outcome::Recorded);
    let b = env
        .store
        .get_file("b1", &g, "b.txt")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((b.size, b.uploaded_by.as_str()), (7, "sftp"));
    // The original is untouched until its own delete arrives.
    assert_eq!(
        env.store
            .get_file("b1", &g, "a.txt")
            .await
            .unwrap()
            .unwrap()
            .version_id,
        record.version_id
    );
    use shared::ports::ObjectStore;
    env.objects
        .delete(&ObjectVersion::new(format!("b1/{g}/a.txt"), None))
        .await
        .unwrap();
    let removed = env
        .app
        .services
        .object_removed(&format!("b1/{g}/a.txt"))
        .await
        .unwrap();
    assert!(removed);
    assert!(
        env.store
            .get_file("b1", &g, "a.txt")
            .await
            .unwrap()
            .is_none()
    );
    assert!(a["name"] == "a.txt");
}

#[tokio::test]
async fn an_older_direct_write_never_replaces_a_newer_one() {
    let (env, g) = env_with_b1().await;
    let key = format!("b1/{g}/data.csv");
    let w1 = env.objects.put_bytes(&key, "text/csv", b"old", None);
    let w2 = env.objects.put_bytes(&key, "text/csv", b"newer", None);
    // W2's event first, then W1's (late).
    let first = env.process(&ObjectVersion::new(&key, w2.version_id)).await;
    assert_eq!(first, shared::service::uploads::Outcome::Recorded);
    let w1 = ObjectVersion::new(&key, w1.version_id);
    let late = env.process(&w1).await;
    assert_eq!(late, shared::service::uploads::Outcome::Superseded);
    assert!(
        env.objects.get_version(&w1).is_none(),
        "the older write is deleted"
    );
    let record = env
        .store
        .get_file("b1", &g, "data.csv")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.size, 5);
}

#[tokio::test]
async fn a_change_repeated_repairs_the_transfer_user() {
    let env = sftp_env();
    let dir = MemoryDirectory::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("b1", &json!({})).await;
    let who = Identity::user("alice", CREATOR);
    let b1 = BucketRef::Id("b1".into());
    let services = &env.app.services;
    let key = parse_key(KEY_A, "k").unwrap();
    let new = NewUser {
        username: "partner".into(),
        access: Access::Write,
        keys: vec![key.clone()],
    };
    services
        .create_sftp_user(&dir, &who, &b1, new)
        .await
        .unwrap();
    // A key Transfer holds that the record does not (a half-done change): the next change
    // removes it; a user missing from Transfer is created again.
    use shared::ports::SftpDirectory;
    dir.import_key("b1.partner", "ssh-ed25519 AAAAstray")
        .await
        .unwrap();
    let patch = UserPatch {
        access: None,
        keys: Some(vec![key.clone()]),
    };
    services
        .update_sftp_user(&dir, &who, &b1, "partner", patch.clone())
        .await
        .unwrap();
    let keys = dir.user("b1.partner").unwrap().keys;
    assert_eq!(keys.len(), 1, "{keys:?}");
    dir.delete_user("b1.partner").await.unwrap();
    services
        .update_sftp_user(&dir, &who, &b1, "partner", patch)
        .await
        .unwrap();
    assert!(dir.user("b1.partner").unwrap().rights.write);
    // A late REMOVE of the name (deleted and created again since) leaves the new user alone.
    let g = generation(&env, "b1").await;
    services
        .sftp_user_removed(&dir, "b1", &g, "partner")
        .await
        .unwrap();
    assert!(dir.user("b1.partner").is_some());
}

#[tokio::test]
async fn inactive_buckets_make_users_read_only_and_active_ones_writable() {
    let env = sftp_env();
    let dir = MemoryDirectory::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("b1", &json!({})).await;
    let who = Identity::user("alice", CREATOR);
    let b1 = BucketRef::Id("b1".into());
    let services = &env.app.services;
    let new = NewUser {
        username: "partner".into(),
        access: Access::Write,
        keys: vec![parse_key(KEY_A, "k").unwrap()],
    };
    services
        .create_sftp_user(&dir, &who, &b1, new)
        .await
        .unwrap();
    alice
        .patch(
            "/v1/buckets/b1",
            "application/json",
            &json!({"data": {"active": false}}),
        )
        .await
        .expect(200);
    assert_eq!(services.sftp_bucket_activity(&dir, "b1").await.unwrap(), 1);
    assert!(!dir.user("b1.partner").unwrap().rights.write);
    alice
        .patch(
            "/v1/buckets/b1",
            "application/json",
            &json!({"data": {"active": true}}),
        )
        .await
        .expect(200);
    services.sftp_bucket_activity(&dir, "b1").await.unwrap();
    assert!(dir.user("b1.partner").unwrap().rights.write);
}

#[tokio::test]
async fn the_users_routes_answer_by_the_contract() {
    let env = sftp_env();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("b1", &json!({})).await;
    let created = alice
        .post(
            "/v1/buckets/b1/users",
            &json!({"username": "partner", "ssh_public_keys": [KEY_A], "access": "write"}),
        )
        .await
        .expect(201)
        .json();
    assert_eq!(created["data"]["login"], "b1.partner");
    assert_eq!(created["data"]["host"], "127.0.0.1:2222");
    let b = alice.get("/v1/buckets/b1").await.expect(200).json();
    assert_eq!(b["data"]["host"], "127.0.0.1:2222");
    let listed = alice.get("/v1/buckets").await.expect(200).json();
    assert_eq!(listed["data"][0]["host"], "127.0.0.1:2222");
    // Without SFTP, no host.
    let plain = Env::new();
    plain
        .user("alice", CREATOR)
        .create_bucket("b2", &json!({}))
        .await;
    let b = plain
        .user("alice", CREATOR)
        .get("/v1/buckets/b2")
        .await
        .expect(200)
        .json();
    assert!(b["data"].get("host").is_none());
    plain
        .user("alice", CREATOR)
        .post(
            "/v1/buckets/b2/users",
            &json!({"username": "partner", "ssh_public_keys": [KEY_A]}),
        )
        .await
        .expect(503);
    alice.get("/v1/buckets/b1/users").await.expect(200);
    alice.get("/v1/buckets/b1/users/partner").await.expect(200);
    alice.get("/v1/buckets/b1/users/nobody").await.expect(404);
    alice.get("/v1/buckets/b1/users/No.Body").await.expect(400);
    env.user("bob", CREATOR)
        .get("/v1/buckets/b1/users")
        .await
        .expect(403);
    alice
        .patch(
            "/v1/buckets/b1/users/partner",
            "application/json",
            &json!({"login": "x"}),
        )
        .await
        .expect(400);
    let r = alice
        .post("/v1/buckets/b1/reconcile", &json!({"after": ""}))
        .await
        .expect(200)
        .json();
    assert_eq!(r["data"]["examined"], 0);
    alice
        .delete("/v1/buckets/b1/users/partner")
        .await
        .expect(200);
    assert!(env.directory.logins().is_empty());
}

#[tokio::test]
async fn a_write_deleted_before_its_event_is_not_brought_back() {
    let (env, g) = env_with_b1().await;
    let key = format!("b1/{g}/gone.csv");
    let written = env.objects.put_bytes(&key, "text/csv", b"x,y", None);
    use shared::ports::ObjectStore;
    env.objects
        .delete(&ObjectVersion::new(&key, None))
        .await
        .unwrap();
    let outcome = env
        .process(&ObjectVersion::new(&key, written.version_id))
        .await;
    assert_eq!(outcome, shared::service::uploads::Outcome::Superseded);
    assert!(
        env.store
            .get_file("b1", &g, "gone.csv")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_pass_out_of_time_stops_instead_of_looping() {
    let (env, g) = env_with_b1().await;
    env.objects
        .put_bytes(&format!("b1/{g}/a.txt"), "text/plain", b"x", None);
    let bucket = b1(&env).await;
    let past = Some(std::time::Instant::now());
    let done = env
        .app
        .services
        .reconcile_bucket(&bucket, 1000, past)
        .await
        .unwrap();
    assert_eq!(done.examined, 0);
    assert_eq!(
        done.next.as_deref(),
        Some(""),
        "not done: the next run starts over"
    );
}
