//! `GET /v1/buckets/{id}/uploads/{upload_id}`: what became of an upload (pending, recorded,
//! rejected, replaced, expired), polled through the grant's `status_uri`.

use std::time::Duration;

use serde_json::{Value, json};
use shared::domain::files::object_key;
use shared::ports::{ObjectMeta, ObjectVersion};
use shared::service::uploads::Outcome;

use crate::common::{CREATOR, Env, link};

async fn one_grant(env: &Env, id: &str, name: &str, size: usize) -> Value {
    let owner = env.user("owner", CREATOR);
    let r = owner.grant(id, &[(name, size, "text/plain")]).await;
    r.expect(201).json()["data"][0].clone()
}

#[tokio::test]
async fn an_upload_is_pending_then_recorded_then_replaced() {
    let env = Env::new();
    let owner = env.user("owner", CREATOR);
    owner.create_bucket("s1", &json!({})).await;
    let first = one_grant(&env, "s1", "Notes.txt", 3).await;
    let upload_id = first["upload_id"].as_str().unwrap();
    let pending = owner.status(&first).await;
    assert_eq!(
        pending,
        json!({"upload_id": upload_id, "status": "pending", "name": "notes.txt", "expires_at": first["upload"]["expires_at"]})
    );
    // The object is there but its event has not come yet: still pending.
    let key = env.put_upload(&first, b"one");
    assert_eq!(owner.status(&first).await["status"], "pending");
    assert_eq!(env.process(&key).await, Outcome::Recorded);
    let recorded = owner.status(&first).await;
    assert_eq!(recorded["status"], "recorded");
    assert_eq!(recorded["name"], "notes.txt");
    let listed = owner.get("/v1/buckets/s1/files").await.expect(200).json();
    assert_eq!(recorded["file"], listed["data"][0]);
    // A newer upload of the name replaces it.
    let second = one_grant(&env, "s1", "notes.txt", 4).await;
    let key = env.put_upload(&second, b"two!");
    env.process(&key).await;
    let replaced = owner.status(&first).await;
    assert_eq!(
        replaced,
        json!({"upload_id": upload_id, "status": "replaced", "name": "notes.txt"})
    );
    assert_eq!(owner.status(&second).await["file"]["size"], 4);
    // Deleting the file ends the newer one's record too: no file of that name now.
    owner
        .delete("/v1/buckets/s1/files/notes.txt")
        .await
        .expect(200);
    assert_eq!(owner.status(&second).await["status"], "deleted");
}

#[tokio::test]
async fn a_refused_upload_is_rejected_with_the_reason_and_its_object_goes() {
    let env = Env::new();
    let owner = env.user("owner", CREATOR);
    owner.create_bucket("s2", &json!({})).await;
    // Granted while active, uploaded once the bucket was made inactive.
    let grant = one_grant(&env, "s2", "late.txt", 4).await;
    let off = json!({"data": {"active": false}});
    owner
        .patch("/v1/buckets/s2", "application/json", &off)
        .await
        .expect(200);
    let key = env.put_upload(&grant, b"late");
    let outcome = env.process(&key).await;
    assert!(matches!(outcome, Outcome::Rejected(_)), "{outcome:?}");
    let status = owner.status(&grant).await;
    assert_eq!(status["status"], "rejected");
    assert_eq!(status["name"], "late.txt");
    assert!(
        status["reason"].as_str().unwrap().contains("inactive"),
        "{status}"
    );
    assert!(status["at"].as_i64().unwrap() > 0);
    assert_eq!(env.objects.get_version(&key), None);
    assert_eq!(env.versions(&key.key), []);
    // An object nobody was granted is refused and deleted too; its uploader can see why.
    let generation = env.generation("s2").await;
    let stray = "0123456789abcdef0123456789abcdef";
    let stray_key = object_key("s2", &generation, "stray.txt");
    let meta = |upload_id: Option<&str>| ObjectMeta {
        size: 1,
        content_type: "text/plain".into(),
        etag: "e".into(),
        sha256: None,
        last_modified: 0,
        version_id: None,
        upload_id: upload_id.map(str::to_string),
    };
    let version = env.objects.put_object(&stray_key, meta(Some(stray)));
    let stray_version = ObjectVersion::new(stray_key.clone(), Some(version));
    assert!(matches!(
        env.process(&stray_version).await,
        Outcome::Rejected(_)
    ));
    assert_eq!(env.versions(&stray_key), []);
    // One with no upload id at all is a direct write (SFTP's), processed by the same rules:
    // this bucket is inactive, so it is refused too.
    let version = env.objects.put_object(&stray_key, meta(None));
    let unmarked = ObjectVersion::new(stray_key.clone(), Some(version));
    let outcome = env.process(&unmarked).await;
    assert!(
        matches!(&outcome, Outcome::Rejected(r) if r.contains("inactive")),
        "{outcome:?}"
    );
    assert_eq!(env.versions(&stray_key), []);
    let r = owner
        .get(&format!("/v1/buckets/s2/uploads/{stray}"))
        .await
        .expect(200)
        .json();
    assert_eq!(r["data"]["status"], "rejected");
    assert!(
        r["data"]["reason"].as_str().unwrap().contains("grant"),
        "{r}"
    );
    // Nothing was recorded or counted.
    let b = owner.get("/v1/buckets/s2").await.expect(200).json();
    assert_eq!(
        (
            b["data"]["file_count"].as_i64(),
            b["data"]["total_bytes"].as_i64()
        ),
        (Some(0), Some(0))
    );
    assert_eq!(
        owner.get("/v1/buckets/s2/files").await.expect(200).json()["data"],
        json!([])
    );
}

#[tokio::test]
async fn an_upload_never_made_expires() {
    // A zero lifetime stands for the time passing (the deployment's minimum is 1 s).
    let env = Env::with(&[("UPLOAD_URL_TTL", "0")]);
    let owner = env.user("owner", CREATOR);
    owner.create_bucket("s3", &json!({})).await;
    let grant = one_grant(&env, "s3", "never.txt", 1).await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let status = owner.status(&grant).await;
    assert_eq!(status["status"], "expired");
    assert_eq!(status["expires_at"], grant["upload"]["expires_at"]);
    assert_eq!(status["name"], "never.txt");
}

#[tokio::test]
async fn only_readers_of_the_bucket_may_ask_and_only_about_its_uploads() {
    let env = Env::new();
    let owner = env.user("owner", CREATOR);
    let acl = json!({"permissions": {"read": ["user:reader"]}});
    owner.create_bucket("s4", &acl).await;
    owner.create_bucket("s5", &json!({})).await;
    let grant = one_grant(&env, "s4", "a.txt", 1).await;
    let uri = link(grant["status_uri"].as_str().unwrap());
    assert_eq!(
        uri,
        format!(
            "/v1/buckets/s4/uploads/{}",
            grant["upload_id"].as_str().unwrap()
        )
    );
    env.user("reader", &[]).get(&uri).await.expect(200);
    env.user("stranger", &[])
        .get(&uri)
        .await
        .expect_error(403, 121);
    env.anonymous().get(&uri).await.expect_error(401, 104);
    let missing = uri.replace("/s4/", "/none/");
    env.user("stranger", &[])
        .get(&missing)
        .await
        .expect_error(403, 121);
    // Another bucket's upload, or an id never issued: 404.
    let elsewhere = uri.replace("/s4/", "/s5/");
    let err = owner.get(&elsewhere).await.expect_error(404, 111);
    assert_eq!(err["details"]["resource_name"], "upload");
    owner
        .get("/v1/buckets/s4/uploads/ffffffffffffffffffffffffffffffff")
        .await
        .expect_error(404, 111);
    // Something that is not an upload id is a bad path.
    for bad in ["nope", "0123456789ABCDEF0123456789abcdeg", "0123"] {
        owner
            .get(&format!("/v1/buckets/s4/uploads/{bad}"))
            .await
            .expect_invalid(400, "path", "upload_id");
    }
}

#[tokio::test]
async fn the_default_buckets_status_uri_names_its_real_id() {
    let env = Env::new();
    let alice = env.user("alice", &[]);
    let r = alice.grant("default", &[("a.txt", 1, "text/plain")]).await;
    let grant = r.expect(201).json()["data"][0].clone();
    let id = alice.get("/v1/").await.expect(200).json()["user"]["bucket"].clone();
    let uri = link(grant["status_uri"].as_str().unwrap());
    assert!(
        uri.starts_with(&format!("/v1/buckets/{}/uploads/", id.as_str().unwrap())),
        "{uri}"
    );
    assert_eq!(alice.status(&grant).await["status"], "pending");
    let via_alias = uri.replace(id.as_str().unwrap(), "default");
    assert_eq!(
        alice.get(&via_alias).await.expect(200).json()["data"]["status"],
        "pending"
    );
}
