//! The record describes the bytes a download serves (hardening): a presigned PUT URL used
//! again after its file was recorded writes another version of the file's key; the upload
//! event deletes that version (its grant is spent), so the record, downloads and the key's
//! latest version stay the recorded bytes, whatever was written. A grant is honoured only while
//! its uploader may write.

use serde_json::{Value, json};
use shared::domain::time::now_ms;
use shared::ports::ObjectVersion;
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

/// What a download of `name` serves: the version it is presigned for, and its bytes.
async fn downloaded(env: &Env, who: &Caller<'_>, id: &str, name: &str) -> (ObjectVersion, Vec<u8>) {
    let r = who
        .get(&format!("/v1/buckets/{id}/files/{name}"))
        .await
        .expect(302);
    env.download(&r.header("location").unwrap())
}

/// What the key of `version` holds: every version (and delete marker) of it, and whether its
/// latest is the recorded one with `body` (what an SFTP user or a plain GET sees).
fn assert_only(env: &Env, version: &ObjectVersion, body: &[u8]) {
    assert_eq!(env.versions(&version.key), std::slice::from_ref(version));
    let latest = env
        .objects
        .get(&version.key)
        .expect("the key holds an object");
    assert_eq!(latest.meta.version_id, version.version_id);
    assert_eq!(latest.body.as_deref(), Some(body));
}

#[tokio::test]
async fn a_url_used_again_leaves_the_recorded_bytes() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("ow", &json!({})).await;
    let g = grant(&alice, "ow", "a.txt", 5).await;
    let v1 = env.put_upload(&g, b"first");
    assert_eq!(env.process(&v1).await, Outcome::Recorded);
    let first = record(&alice, "ow", "a.txt").await.unwrap();
    assert_eq!(
        downloaded(&env, &alice, "ow", "a.txt").await,
        (v1.clone(), b"first".to_vec())
    );
    let counters = env.counters("ow").await;
    assert_eq!((counters.0, counters.1), (1, 5));
    // The same bytes again, then other bytes of the granted size and type: each another
    // version of the key, deleted by its event; the record keeps describing the first.
    for body in [&b"first"[..], b"other"] {
        let again = env.put_upload(&g, body);
        assert_eq!(again.key, v1.key);
        assert_ne!(again.version_id, v1.version_id);
        assert_eq!(env.process(&again).await, Outcome::Superseded);
        assert_eq!(
            env.objects.get_version(&again),
            None,
            "the extra version goes"
        );
        assert_eq!(record(&alice, "ow", "a.txt").await.unwrap(), first);
        assert_eq!(
            downloaded(&env, &alice, "ow", "a.txt").await,
            (v1.clone(), b"first".to_vec())
        );
        assert_only(&env, &v1, b"first");
        assert_eq!(alice.status(&g).await["status"], "recorded");
        // Its event repeated finds nothing left.
        assert_eq!(env.process(&again).await, Outcome::Gone);
    }
    // Nothing was counted twice, nor kept as a replaced version.
    assert_eq!(env.counters("ow").await, counters);
    assert_eq!(env.kept_versions("ow", "a.txt").await, []);
    // The first event repeated: a duplicate.
    assert_eq!(env.process(&v1).await, Outcome::Duplicate);
    assert_eq!(env.counters("ow").await, counters);
}

#[tokio::test]
async fn an_overwrite_the_grant_does_not_allow_is_deleted_and_the_file_stays() {
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
        let recorded = env.put_upload(&g, b"12345");
        assert_eq!(env.process(&recorded).await, Outcome::Recorded);
        let listed = record(&alice, "ow2", &name).await.unwrap();
        let counters = env.counters("ow2").await;
        assert_eq!(
            (counters.0, counters.1),
            (i as i64 + 2, 4 + 5 * (i as i64 + 1))
        );
        // Written with the grant's upload id, as a PUT to its URL would.
        let upload_id = g["upload_id"].as_str().unwrap();
        let meta = env
            .objects
            .put_bytes(&recorded.key, content_type, body, Some(upload_id));
        let overwrite = ObjectVersion::new(recorded.key.clone(), meta.version_id);
        let out = env.process(&overwrite).await;
        assert_eq!(out, Outcome::Superseded);
        assert_eq!(
            env.objects.get_version(&overwrite),
            None,
            "the version goes"
        );
        // The file is as it was: its record, its bytes, its counters, its grant's status.
        assert_eq!(record(&alice, "ow2", &name).await, Some(listed));
        assert_eq!(
            downloaded(&env, &alice, "ow2", &name).await,
            (recorded.clone(), b"12345".to_vec())
        );
        assert_only(&env, &recorded, b"12345");
        let status = alice.status(&g).await;
        assert_eq!(status["status"], "recorded", "{status}");
        env.run_cascades().await;
        assert_eq!(env.counters("ow2").await, counters);
    }
    assert_eq!(downloaded(&env, &alice, "ow2", "keep.txt").await.1, b"kept");
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
    assert!(env.objects.get_version(&key_p).is_none());
    assert!(env.versions(&key_p.key).is_empty());
    assert_eq!(bob.status(&pending).await["status"], "rejected");
    // Overwriting the recorded file through its old URL writes nothing that stays: the
    // version is deleted and the file keeps the bytes it described.
    let r_before = record(&alice, "lw", "r.txt").await.unwrap();
    let overwrite = env.put_upload(&recorded, b"BOB");
    let out = env.process(&overwrite).await;
    assert_eq!(out, Outcome::Superseded);
    assert_eq!(record(&alice, "lw", "r.txt").await, Some(r_before));
    assert_eq!(
        downloaded(&env, &alice, "lw", "r.txt").await,
        (key_r.clone(), b"bob".to_vec())
    );
    assert_only(&env, &key_r, b"bob");
    assert_eq!(env.counters("lw").await.0, 1);
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
        .process_upload(&key.key, key.version_id.as_deref(), Some(after_expiry))
        .await
        .unwrap();
    assert!(
        matches!(&out, Outcome::Rejected(r) if r.contains("write permission")),
        "{out:?}"
    );
    assert_eq!(editor.status(&g).await["status"], "recorded");
    assert_eq!(editor.status(&late).await["status"], "rejected");
}
