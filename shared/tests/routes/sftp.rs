//! SFTP users and the reconciliation pass over the in-memory stores: users become Transfer users
//! confined to their bucket, files written without an upload URL are adopted under their
//! normalized name through the upload rules, and records of deleted objects are removed.

use serde_json::json;
use shared::domain::access::Identity;
use shared::domain::ids::BucketRef;
use shared::domain::keys::Access;
use shared::domain::sftp::{NewUser, UserPatch, parse_key};
use shared::memory::MemoryDirectory;
use shared::ports::{BucketStore, FileStore, ObjectVersion};

use crate::common::{CREATOR, Env};

const KEY_A: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMf9/y+h2QDwl4++5GUgOMcxgoJe7N68+cTjqPa2eSC6 a@host";

fn sftp_env() -> Env {
    Env::with(&[("SFTP_HOST", "127.0.0.1:2222"), ("FILES_BUCKET", "files")])
}

async fn generation(env: &Env, id: &str) -> String {
    env.store.get(id).await.unwrap().unwrap().generation
}

#[tokio::test]
async fn a_direct_write_is_adopted_under_its_normalized_name() {
    let env = sftp_env();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("b1", &json!({})).await;
    let g = generation(&env, "b1").await;
    let written = env.objects.put_bytes(
        &format!("b1/{g}/Q1 Report.CSV"),
        "text/csv",
        b"a,b\n1,2\n",
        None,
    );
    let bucket = env.store.get("b1").await.unwrap().unwrap();
    let done = env
        .app
        .services
        .reconcile_page(&bucket, None, 1000)
        .await
        .unwrap();
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
    let b = env.store.get("b1").await.unwrap().unwrap();
    assert_eq!((b.file_count, b.total_bytes), (1, 8));
    // Nothing more to do the second time.
    let again = env
        .app
        .services
        .reconcile_page(&b, None, 1000)
        .await
        .unwrap();
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
    let bucket = env.store.get("b1").await.unwrap().unwrap();
    let done = env
        .app
        .services
        .reconcile_page(&bucket, None, 1000)
        .await
        .unwrap();
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
    let b = env.store.get("b1").await.unwrap().unwrap();
    assert_eq!((b.file_count, b.total_bytes), (0, 0));
}

#[tokio::test]
async fn pages_of_one_key_cover_the_bucket() {
    let env = sftp_env();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("b1", &json!({})).await;
    let g = generation(&env, "b1").await;
    for name in ["c.txt", "a.txt", "b.txt"] {
        env.objects
            .put_bytes(&format!("b1/{g}/{name}"), "text/plain", b"x", None);
    }
    let bucket = env.store.get("b1").await.unwrap().unwrap();
    let mut after: Option<String> = None;
    let mut recorded = 0;
    for _ in 0..10 {
        let page = env
            .app
            .services
            .reconcile_page(&bucket, after.as_deref(), 1)
            .await
            .unwrap();
        recorded += page.recorded;
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(recorded, 3);
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
    assert!(
        !entry.policy.contains("s3:PutObject"),
        "a read user cannot write"
    );
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
    assert!(
        dir.user("b1.partner")
            .unwrap()
            .policy
            .contains("s3:PutObject")
    );
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
