//! The record describes the bytes stored (hardening): a presigned PUT URL used again after its
//! file was recorded overwrites the object in place; the upload event then records the new
//! bytes if the grant still allows them, and deletes the file otherwise. A grant is honoured
//! only while its uploader may write.

use serde_json::{Value, json};
use shared::domain::time::now_ms;
use shared::memory::MemoryObjects;
use shared::service::uploads::Outcome;

use crate::common::{CREATOR, Caller, Env};

/// A grant for `name` (`size` bytes of text/plain) in `id`, by `who`.
async fn grant(who: &Caller<'_>, id: &str, name: &str, size: usize) -> Value {
    who.grant(id, &[(name, size, "text/plain")])
        .await
        .expect(201)
        .json()["data"][0]
        .clone()
}

/// The record of `name`, as `who` lists it.
async fn record(who: &Caller<'_>, id: &str, name: &str) -> Option<Value> {
    let list = who
        .get(&format!("/v1/buckets/{id}/files"))
        .await
        .expect(200)
        .json();
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .cloned()
}

/// What a download of `name` serves.
async fn downloaded(env: &Env, who: &Caller<'_>, id: &str, name: &str) -> Vec<u8> {
    let r = who
        .get(&format!("/v1/buckets/{id}/files/{name}"))
        .await
        .expect(302);
    let key = MemoryObjects::url_key(&r.header("location").unwrap()).unwrap();
    env.objects.get(&key).unwrap().body.unwrap()
}

#[tokio::test]
async fn a_url_used_again_records_the_new_bytes() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("ow", &json!({})).await;
    let g = grant(&alice, "ow", "a.txt", 5).await;
    let key = env.put_upload(&g, b"first");
    assert_eq!(env.process(&key).await, Outcome::Recorded);
    let first = record(&alice, "ow", "a.txt").await.unwrap();
    // The same bytes again: a duplicate, nothing changes.
    env.put_upload(&g, b"first");
    assert_eq!(env.process(&key).await, Outcome::Duplicate);
    assert_eq!(record(&alice, "ow", "a.txt").await.unwrap(), first);
    // Other bytes of the granted size and type: the record follows them.
    env.put_upload(&g, b"other");
    assert_eq!(env.process(&key).await, Outcome::Rerecorded);
    let now = record(&alice, "ow", "a.txt").await.unwrap();
    let stored = env.objects.get(&key).unwrap().meta;
    assert_eq!(now["etag"], stored.etag.as_str());
    assert_ne!(now["etag"], first["etag"]);
    assert_eq!(now["sha256"], stored.sha256.unwrap().as_str());
    assert_eq!(now["path"], first["path"], "the permalink stays");
    assert_eq!(downloaded(&env, &alice, "ow", "a.txt").await, b"other");
    // Events repeated or out of order change nothing more.
    assert_eq!(env.process(&key).await, Outcome::Duplicate);
    assert_eq!(env.counters("ow").await.0, 1);
    assert_eq!(env.counters("ow").await.1, 5);
}

#[tokio::test]
async fn an_overwrite_the_grant_does_not_allow_deletes_the_file() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("ow2", &json!({})).await;
    alice.upload("ow2", "keep.txt", b"kept", "text/plain").await;
    // (size, type) the grant does not allow: S3 would refuse them under a signed URL, but the
    // event trusts nothing it has not checked.
    for (i, (body, content_type)) in [
        (&b"longer than granted"[..], "text/plain"),
        (&b"short"[..], "text/html"),
    ]
    .into_iter()
    .enumerate()
    {
        let name = format!("f{i}.txt");
        let g = grant(&alice, "ow2", &name, 5).await;
        let key = env.put_upload(&g, b"12345");
        assert_eq!(env.process(&key).await, Outcome::Recorded);
        assert_eq!(env.counters("ow2").await.0, 2);
        env.objects.put_bytes(&key, content_type, body);
        let out = env.process(&key).await;
        assert!(matches!(out, Outcome::Rejected(_)), "{out:?}");
        assert_eq!(record(&alice, "ow2", &name).await, None);
        alice
            .get(&format!("/v1/buckets/ow2/files/{name}"))
            .await
            .expect_error(404, 111);
        let status = alice.status(&g).await;
        assert_eq!(status["status"], "rejected", "{status}");
        env.run_cascades().await;
        assert!(env.objects.get(&key).is_none(), "the object goes");
        assert_eq!(env.counters("ow2").await.0, 1);
        assert_eq!(env.counters("ow2").await.1, 4);
    }
    assert_eq!(downloaded(&env, &alice, "ow2", "keep.txt").await, b"kept");
}

#[tokio::test]
async fn a_grant_dies_with_its_uploaders_write_permission() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    let bob = env.user("bob", &[]);
    let acl = json!({"permissions": {"write": ["user:bob"]}});
    alice.create_bucket("lw", &acl).await;
    // Bob records a file, holds another grant, then loses write.
    let recorded = grant(&bob, "lw", "r.txt", 3).await;
    let key_r = env.put_upload(&recorded, b"bob");
    assert_eq!(env.process(&key_r).await, Outcome::Recorded);
    let pending = grant(&bob, "lw", "p.txt", 3).await;
    alice
        .patch(
            "/v1/buckets/lw",
            "application/json",
            &json!({"permissions": {"write": [], "read": ["user:bob"]}}),
        )
        .await
        .expect(200);
    // Using the pending grant now is refused.
    let key_p = env.put_upload(&pending, b"new");
    let out = env.process(&key_p).await;
    assert!(
        matches!(&out, Outcome::Rejected(r) if r.contains("write permission")),
        "{out:?}"
    );
    assert!(env.objects.get(&key_p).is_none());
    assert_eq!(bob.status(&pending).await["status"], "rejected");
    // Overwriting the recorded file through its old URL is refused, and the file goes: the
    // bytes it described are gone already.
    env.put_upload(&recorded, b"BOB");
    let out = env.process(&key_r).await;
    assert!(matches!(out, Outcome::Rejected(_)), "{out:?}");
    assert_eq!(record(&alice, "lw", "r.txt").await, None);
    assert_eq!(env.counters("lw").await.0, 0);
    // Write through `system.Authenticated` counts as write, and its removal ends it too.
    let open = json!({"permissions": {"write": ["system.Authenticated"]}});
    alice.create_bucket("lw2", &open).await;
    let carol = env.user("carol", &[]);
    let g1 = grant(&carol, "lw2", "c1.txt", 1).await;
    let g2 = grant(&carol, "lw2", "c2.txt", 1).await;
    let key = env.put_upload(&g1, b"1");
    assert_eq!(env.process(&key).await, Outcome::Recorded);
    alice
        .patch(
            "/v1/buckets/lw2",
            "application/json",
            &json!({"permissions": {"write": []}}),
        )
        .await
        .expect(200);
    let key = env.put_upload(&g2, b"2");
    assert!(matches!(env.process(&key).await, Outcome::Rejected(_)));
}

#[tokio::test]
async fn a_privileged_grant_is_honoured_only_while_it_lives() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("pv", &json!({})).await;
    let editor = env.user("ed", &["edit_buckets"]);
    // Within its life: recorded though the editor is not in the ACL (the privilege cannot be
    // checked at event time).
    let g = grant(&editor, "pv", "e.txt", 1).await;
    let key = env.put_upload(&g, b"e");
    assert_eq!(env.process(&key).await, Outcome::Recorded);
    // Written (per the event) long after the grant expired: refused.
    let late = grant(&editor, "pv", "late.txt", 1).await;
    let key = env.put_upload(&late, b"l");
    let services = &env.app.services;
    let after_expiry = now_ms() + 24 * 3600 * 1000;
    let out = services
        .process_upload(&key, Some(after_expiry))
        .await
        .unwrap();
    assert!(
        matches!(&out, Outcome::Rejected(r) if r.contains("write permission")),
        "{out:?}"
    );
    assert_eq!(editor.status(&g).await["status"], "recorded");
    assert_eq!(editor.status(&late).await["status"], "rejected");
}
