//! A bucket's history (`GET /v1/buckets/{id}/history`, the activity function): entries newest
//! first, Kinto's filters, pages, read permission, and one entry per stream record however often
//! it is delivered. The entries are recorded as the stream handler records them
//! (`Services::record_changes`), from the typed changes the store reports.

use serde_json::{Value, json};
use shared::domain::bucket::Bucket;
use shared::domain::changes::{Change, Changed};
use shared::domain::history::HistoryEntry;
use shared::domain::keys::{Access, ApiKey};
use shared::domain::permissions::Permissions;
use shared::domain::sftp::{SftpUser, SshKey};
use shared::domain::time::now_ms;
use shared::domain::webhooks::Webhook;
use shared::ports::{HistoryStore, KeyStore, WebhookStore};

use crate::common::{CREATOR, Env, file_upload, link};

/// The change of a write of bucket `id` (revision `revision`, by `by`, at `ms`), as the store
/// reports the bucket it writes.
fn bucket_write(env: &Env, id: &str, generation: &str, revision: i64, by: &str, ms: i64) -> Change {
    let _ = env;
    let bucket = |rev: i64| {
        let mut attrs = serde_json::Map::new();
        attrs.insert("title".into(), json!(format!("r{rev}")));
        let acl = Permissions {
            read: vec![],
            write: vec![by.into()],
        };
        let mut b = Bucket::new_incarnation(id, "user:alice", attrs, acl, ms);
        b.generation = generation.into();
        b.modified_by = by.into();
        b.revision = rev;
        Box::new(b)
    };
    Change {
        event_id: format!("{id}-{revision}"),
        sequence: format!("{}", 1000 + revision),
        seen_at: None,
        what: Changed::Bucket {
            old: (revision > 1).then(|| bucket(revision - 1)),
            new: Some(bucket(revision)),
        },
    }
}

fn actions(page: &Value) -> Vec<(String, String)> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["resource_name"].as_str().unwrap().to_string(),
                e["action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn history_is_newest_first_filtered_paged_and_readable_by_readers_only() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice
        .create_bucket("b1", &json!({"permissions": {"read": ["user:bob"]}}))
        .await;
    let generation = env.generation("b1").await;
    let mut changes = vec![
        bucket_write(&env, "b1", &generation, 1, "user:alice", 1_000),
        bucket_write(&env, "b1", &generation, 2, "key:k1", 2_000),
    ];
    for i in 0..5 {
        changes.push(file_upload(
            "b1",
            &generation,
            &format!("f{i}.csv"),
            "user:bob",
            3_000 + i,
            10 + i,
        ));
    }
    let services = &env.app.services;
    let done = services.record_changes(&changes).await.unwrap();
    assert_eq!((done.written, done.repeated), (7, 0));
    // The stream delivers a batch again: nothing new.
    let again = services.record_changes(&changes).await.unwrap();
    assert_eq!((again.written, again.repeated), (0, 7));

    let all = alice.get("/v1/buckets/b1/history").await.expect(200).json();
    assert_eq!(all["data"].as_array().unwrap().len(), 7);
    assert_eq!(all["data"][0]["uri"], "/buckets/b1/files/f4.csv");
    assert_eq!(all["data"][6]["action"], "create");
    assert_eq!(all["data"][6]["resource_name"], "bucket");
    assert_eq!(all["data"][5]["user_id"], "key:k1");
    assert_eq!(all["data"][5]["target"]["data"]["title"], "r2");
    let times: Vec<i64> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["last_modified"].as_i64().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");

    // Filters (Kinto's names).
    let buckets = alice
        .get("/v1/buckets/b1/history?resource_name=bucket")
        .await
        .expect(200)
        .json();
    assert_eq!(
        actions(&buckets),
        [
            ("bucket".into(), "update".into()),
            ("bucket".into(), "create".into())
        ]
    );
    let by_key = alice
        .get("/v1/buckets/b1/history?user_id=key:k1")
        .await
        .expect(200)
        .json();
    assert_eq!(by_key["data"].as_array().unwrap().len(), 1);
    let window = alice
        .get("/v1/buckets/b1/history?_since=1000&_before=3002")
        .await
        .expect(200)
        .json();
    assert_eq!(window["data"].as_array().unwrap().len(), 3); // 2000, 3000, 3001

    // Pages of 3 with the filter kept, until the end.
    let mut seen = vec![];
    let mut next = Some("/v1/buckets/b1/history?_limit=3&resource_name=file".to_string());
    while let Some(path) = next {
        let r = alice.get(&path).await.expect(200);
        let header = r.header("next-page");
        let page = r.json();
        for e in page["data"].as_array().unwrap() {
            seen.push(e["uri"].as_str().unwrap().to_string());
        }
        next = header.map(|h| link(&h));
        assert_eq!(page["has_more"], next.is_some());
    }
    assert_eq!(seen.len(), 5);
    assert_eq!(seen[0], "/buckets/b1/files/f4.csv");
    assert_eq!(seen[4], "/buckets/b1/files/f0.csv");

    // Readers read it; others get 403 (never 404), anonymous 401.
    env.user("bob", &[])
        .get("/v1/buckets/b1/history")
        .await
        .expect(200);
    env.user("eve", &[])
        .get("/v1/buckets/b1/history")
        .await
        .expect_error(403, 121);
    env.anonymous()
        .get("/v1/buckets/b1/history")
        .await
        .expect_error(401, 104);
    env.user("eve", &[])
        .get("/v1/buckets/nope/history")
        .await
        .expect_error(403, 121);
}

#[tokio::test]
async fn bad_history_queries_name_their_field() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("b1", &json!({})).await;
    for (query, name) in [
        ("_since=yesterday", "_since"),
        ("_before=-5", "_before"),
        ("action=drop", "action"),
        ("resource_name=record", "resource_name"),
        ("_sort=last_modified", "_sort"),
        ("_limit=0", "_limit"),
        ("_token=forged", "_token"),
    ] {
        alice
            .get(&format!("/v1/buckets/b1/history?{query}"))
            .await
            .expect_invalid(400, "querystring", name);
    }
    alice
        .post("/v1/buckets/b1/history", &json!({}))
        .await
        .expect_error(405, 115);
    // A bucket with no history yet: an empty page.
    let empty = alice.get("/v1/buckets/b1/history").await.expect(200).json();
    assert_eq!(empty["data"], json!([]));
}

/// A webhook's URL with a token in its path and its query (as receivers hand them out).
const TOKEN_URL: &str =
    "https://hooks.example.com/services/T000/B000/PATHTOKEN123?token=QUERYTOKEN456";
/// A URL with credentials, as an entry written before such URLs were refused holds one.
const USERINFO_URL: &str = "https://olduser:USERINFOPASS@hooks.example.com:8443/in";
/// The other bucket a scoped key names.
const OTHER: &str = "other-bucket-7";

/// The change of a write of webhook `new`.
fn webhook_record(id: &str, generation: &str, old: Option<&Webhook>, new: &Webhook) -> Change {
    Change {
        event_id: format!("hook-{}-{}", new.id, new.last_modified),
        sequence: format!("{}", 5000 + new.last_modified % 1000),
        seen_at: None,
        what: Changed::Webhook {
            bucket_id: id.into(),
            generation: generation.into(),
            old: old.cloned().map(Box::new),
            new: Some(Box::new(new.clone())),
        },
    }
}

/// The change of a key's creation.
fn key_record(key: &ApiKey) -> Change {
    Change {
        event_id: format!("key-{}", key.id),
        sequence: "7000".into(),
        seen_at: None,
        what: Changed::Key {
            old: None,
            new: Some(Box::new(key.clone())),
        },
    }
}

/// The change of an SFTP user's creation.
fn sftp_record(id: &str, generation: &str, user: &SftpUser) -> Change {
    Change {
        event_id: format!("sftp-{}", user.username),
        sequence: "8000".into(),
        seen_at: None,
        what: Changed::SftpUser {
            bucket_id: id.into(),
            generation: generation.into(),
            username: user.username.clone(),
            old: None,
            new: Some(Box::new(user.clone())),
        },
    }
}

fn entries_of<'a>(page: &'a Value, resource: &str) -> Vec<&'a Value> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resource_name"] == resource)
        .collect()
}

/// A bucket's history shows each caller what the routes show them: a reader (signed in, with
/// a read-scoped key, or anonymous on a public bucket) sees of a webhook its id, events and
/// URL origin, never the token in its path, query or credentials; of a scoped key its id and
/// this bucket's scope element, never the other buckets, a generation, its title or owner; of
/// an SFTP user its name and access. A writer sees what `GET` of the webhook shows. Entries
/// stored before this rule (a key entry naming every bucket of its scope) are covered.

#[tokio::test]
async fn history_shows_readers_nothing_of_what_only_writers_see() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice
        .create_bucket("b1", &json!({"permissions": {"read": ["system.Everyone"]}}))
        .await;
    alice.create_bucket(OTHER, &json!({})).await;
    let generation = env.generation("b1").await;
    let other_generation = env.generation(OTHER).await;

    let created = alice
        .post(
            "/v1/buckets/b1/webhooks",
            &json!({"url": TOKEN_URL, "events": ["data.updated"], "glob": "*.csv"}),
        )
        .await
        .expect(201)
        .json();
    let secret = created["secret"].as_str().unwrap().to_string();
    let wid = created["data"]["id"].as_str().unwrap();
    let hook = env
        .store
        .get_webhook("b1", &generation, wid)
        .await
        .unwrap()
        .unwrap();
    let mut legacy = hook.clone();
    legacy.url = USERINFO_URL.into();
    legacy.last_modified += 1;

    let made = alice
        .post(
            "/v1/keys",
            &json!({"title": "ci-deploy-title", "expires_at": now_ms() + 3_600_000,
                    "buckets": [{"id": "b1", "access": "read"}, {"id": OTHER, "access": "write"}]}),
        )
        .await
        .expect(201)
        .json();
    let key_secret = made["secret"].as_str().unwrap().to_string();
    let key = env
        .store
        .get_key(made["data"]["id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();

    let user = SftpUser {
        username: "partner".into(),
        access: Access::Write,
        keys: vec![SshKey {
            id: "key-1".into(),
            body: "ssh-ed25519 AAAAPUBLICKEYBODY".into(),
            fingerprint: "SHA256:FINGERPRINT".into(),
            comment: "ops@secret-host".into(),
            added: 1,
        }],
        created: 1,
        created_by: "user:alice".into(),
        last_modified: 1,
        origin: None,
        suspended: None,
        modified_by: "user:alice".into(),
    };

    let services = &env.app.services;
    let done = services
        .record_changes(&[
            webhook_record("b1", &generation, None, &hook),
            webhook_record("b1", &generation, Some(&hook), &legacy),
            key_record(&key),
            sftp_record("b1", &generation, &user),
        ])
        .await
        .unwrap();
    assert_eq!(
        done.written, 5,
        "two webhook entries, one key entry per bucket, one user"
    );
    // What is stored of the key names its bucket's scope element only, in each bucket.
    for (id, g) in [("b1", &generation), (OTHER, &other_generation)] {
        let raw = env.store.history_page(id, g, None, None, 50).await.unwrap();
        let key_entry = raw
            .entries
            .iter()
            .find(|e| e.resource_name == "key")
            .unwrap();
        let access = if id == "b1" { "read" } else { "write" };
        assert_eq!(
            key_entry.target["data"]["buckets"],
            json!([{"id": id, "access": access}]),
            "{id}"
        );
        assert!(!key_entry.target.to_string().contains("generation"));
    }
    // A key entry as an earlier version stored it: the whole scope, with generations.
    let stored = HistoryEntry {
        bucket_id: "b1".into(),
        generation: generation.clone(),
        id: "legacy-key-entry".into(),
        last_modified: key.created,
        uri: format!("/keys/{}", key.id),
        action: "create".into(),
        resource_name: "key".into(),
        target: json!({"data": {
            "id": key.id, "title": key.title, "owner": key.owner, "privileges": key.privileges,
            "expires_at": key.expires_at, "buckets": key.buckets.as_ref().unwrap(),
        }}),
        user_id: key.owner.clone(),
        sequence: "6999".into(),
    };
    assert!(stored.target.to_string().contains(&other_generation));
    env.store.put_history(&stored, i64::MAX).await.unwrap();

    let never_for_readers = [
        "PATHTOKEN123",
        "QUERYTOKEN456",
        "USERINFOPASS",
        "olduser",
        "/services/",
        OTHER,
        "generation",
        generation.as_str(),
        other_generation.as_str(),
        "ci-deploy-title",
        "AAAAPUBLICKEYBODY",
        "FINGERPRINT",
        "secret-host",
        "whsec_",
        secret.as_str(),
    ];
    let bob = env.user("bob", &[]);
    let anonymous = env.anonymous();
    let scoped = env.keyed(&key_secret);
    for (who, caller) in [
        ("bob", &bob),
        ("anonymous", &anonymous),
        ("read-scoped key", &scoped),
    ] {
        let page = caller
            .get("/v1/buckets/b1/history")
            .await
            .expect(200)
            .json();
        let text = page.to_string();
        for hidden in never_for_readers {
            assert!(!text.contains(hidden), "{who} sees {hidden:?}: {text}");
        }
        let hooks = entries_of(&page, "webhook");
        assert_eq!(hooks.len(), 2, "{who}: {text}");
        assert_eq!(
            hooks[0]["target"]["data"],
            json!({"id": wid, "bucket_id": "b1", "url": "https://hooks.example.com:8443",
                   "events": ["data.updated"], "glob": "*.csv", "active": true}),
            "{who}"
        );
        assert_eq!(
            hooks[1]["target"]["data"]["url"],
            "https://hooks.example.com"
        );
        let keys = entries_of(&page, "key");
        assert_eq!(keys.len(), 2, "the new entry and the legacy one: {text}");
        for k in keys {
            assert_eq!(
                k["target"]["data"],
                json!({"id": key.id, "buckets": [{"id": "b1", "access": "read"}]}),
                "{who}"
            );
            assert_eq!(k["user_id"], "system.Unknown");
        }
        let users = entries_of(&page, "sftp_user");
        assert_eq!(
            users[0]["target"]["data"],
            json!({"username": "partner", "access": "write"})
        );
        // Filtering on what a reader is not shown finds nothing.
        let by_owner = caller
            .get("/v1/buckets/b1/history?resource_name=key&user_id=user:alice")
            .await
            .expect(200)
            .json();
        assert_eq!(by_owner["data"], json!([]), "{who}");
    }

    // A writer sees what the routes show a writer, and still no other bucket or generation.
    let page = alice.get("/v1/buckets/b1/history").await.expect(200).json();
    let text = page.to_string();
    for hidden in [
        OTHER,
        "generation",
        &other_generation,
        &generation,
        "whsec_",
        &secret,
    ] {
        assert!(!text.contains(hidden), "the writer sees {hidden:?}: {text}");
    }
    let hooks = entries_of(&page, "webhook");
    assert_eq!(hooks[0]["target"]["data"]["url"], USERINFO_URL);
    assert_eq!(hooks[1]["target"]["data"]["url"], TOKEN_URL);
    assert_eq!(hooks[1]["target"]["data"]["created_by"], "user:alice");
    for k in entries_of(&page, "key") {
        assert_eq!(k["user_id"], "user:alice");
        let data = &k["target"]["data"];
        assert_eq!(data["title"], "ci-deploy-title");
        assert_eq!(data["owner"], "user:alice");
        assert_eq!(data["expires_at"], json!(key.expires_at));
        assert_eq!(data["buckets"], json!([{"id": "b1", "access": "read"}]));
        assert!(
            data.get("privileges").is_none(),
            "its owner's global powers: {data}"
        );
    }
    let users = entries_of(&page, "sftp_user");
    assert_eq!(
        users[0]["target"]["data"]["ssh_public_keys"][0]["key"],
        "ssh-ed25519 AAAAPUBLICKEYBODY"
    );
    // The other bucket's entry of the key names that bucket only.
    let other = alice
        .get(&format!("/v1/buckets/{OTHER}/history?resource_name=key"))
        .await
        .expect(200)
        .json();
    assert_eq!(
        other["data"][0]["target"]["data"]["buckets"],
        json!([{"id": OTHER, "access": "write"}])
    );
    assert!(!other.to_string().contains("\"b1\""), "{other}");
}
