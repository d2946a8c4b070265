//! Entries from the store's typed changes, and what each viewer sees of them.

use serde_json::{Value, json};

use super::*;
use crate::domain::bucket::Bucket;
use crate::domain::changes::{Change, Changed};
use crate::domain::data::DataDoc;
use crate::domain::files::FileRecord;
use crate::domain::keys::{Access, ApiKey, ScopedBucket as KeyScope};
use crate::domain::origin::{Origin, SUSPENDER};
use crate::domain::permissions::Permissions;
use crate::domain::sftp::{SftpUser, SshKey};

#[test]
fn origins_keep_no_credentials_path_or_query() {
    for (url, origin) in [
        (
            "https://hooks.slack.com/services/T000/B000/XXXX?token=abc",
            Some("https://hooks.slack.com"),
        ),
        (
            "https://user:pass@Example.COM:8443/in?x=1",
            Some("https://example.com:8443"),
        ),
        ("http://[::1]:9/hook", Some("http://[::1]:9")),
        ("https://u@h.example/", Some("https://h.example")),
        ("not a url", None),
        ("/relative/only", None),
    ] {
        assert_eq!(url_origin(url).as_deref(), origin, "{url}");
    }
}

fn entry(resource: &str, data: Value) -> HistoryEntry {
    HistoryEntry {
        bucket_id: "b1".into(),
        resource_name: resource.into(),
        target: json!({ "data": data }),
        user_id: "user:alice".into(),
        ..HistoryEntry::empty()
    }
}

#[test]
fn readers_see_of_a_writers_resource_only_what_identifies_it() {
    let hook = entry(
        "webhook",
        json!({"id": "wh_1", "bucket_id": "b1", "url": "https://u:p@h.example/x/TOKEN?t=SECRET",
               "events": ["data.updated"], "glob": null, "active": true, "owner": "user:alice",
               "created_by": "user:alice", "secret": "whsec_x"}),
    );
    let seen = hook.seen_by(Viewer::Reader);
    assert_eq!(
        seen.target["data"],
        json!({"id": "wh_1", "bucket_id": "b1", "url": "https://h.example",
               "events": ["data.updated"], "glob": null, "active": true})
    );
    let writer = hook.seen_by(Viewer::Writer);
    assert_eq!(
        writer.target["data"]["url"],
        "https://u:p@h.example/x/TOKEN?t=SECRET"
    );
    assert!(!writer.target.to_string().contains("whsec_"));

    let key = entry(
        "key",
        json!({"id": "k1", "title": "ci", "owner": "user:alice", "privileges": ["admin"],
               "expires_at": 9, "buckets": [{"id": "other", "access": "write", "generation": "g0"},
                                             {"id": "b1", "access": "read", "generation": "g1"}]}),
    );
    let seen = key.seen_by(Viewer::Reader);
    assert_eq!(
        seen.target["data"],
        json!({"id": "k1", "buckets": [{"id": "b1", "access": "read"}]})
    );
    assert_eq!(seen.user_id, UNKNOWN_USER);
    let writer = key.seen_by(Viewer::Writer);
    assert_eq!(
        writer.target["data"],
        json!({"id": "k1", "title": "ci", "owner": "user:alice",
               "expires_at": 9, "buckets": [{"id": "b1", "access": "read"}]})
    );
    assert_eq!(writer.user_id, "user:alice");

    let user = entry(
        "sftp_user",
        json!({"username": "partner", "access": "write", "ssh_public_keys": [{"key": "ssh-ed25519 A me@host"}]}),
    );
    assert_eq!(
        user.seen_by(Viewer::Reader).target["data"],
        json!({"username": "partner", "access": "write"})
    );
    assert_eq!(user.seen_by(Viewer::Writer), user);
    // What a reader reads through the routes anyway, and what no code knows of.
    let file = entry("file", json!({"name": "a.csv", "version_id": "v"}));
    assert_eq!(file.seen_by(Viewer::Reader), file);
    let unknown = entry("grant", json!({"x": 1}));
    assert_eq!(unknown.seen_by(Viewer::Reader).target, json!({"data": {}}));
}

#[test]
fn filters_parse_and_bound_the_range() {
    let q = |pairs: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    };
    let f = HistoryFilter::parse(q(&[
        ("_since", "10"),
        ("_before", "\"20\""),
        ("action", "update"),
    ]))
    .unwrap();
    assert_eq!((f.since, f.before), (Some(10), Some(20)));
    let (above, below) = f.range(None);
    assert_eq!(above.unwrap(), time_bound(10, true));
    assert_eq!(below.unwrap(), time_bound(20, false));
    // A cursor below `_before` wins; one above it does not.
    assert_eq!(
        f.range(Some("0000000000015#x")).1.unwrap(),
        "0000000000015#x"
    );
    assert_eq!(
        f.range(Some("0000000000025#x")).1.unwrap(),
        time_bound(20, false)
    );
    for (k, v) in [
        ("_since", "x"),
        ("_before", "-1"),
        ("action", "drop"),
        ("resource_name", "record"),
        ("_sort", "last_modified"),
        ("user_id", ""),
    ] {
        let pairs: &'static [(&'static str, &'static str)] = Box::leak(Box::new([(k, v)]));
        assert_eq!(HistoryFilter::parse(q(pairs)).unwrap_err().field, k);
    }
}

fn change(what: Changed) -> Change {
    Change {
        event_id: "ev-1".into(),
        sequence: "100".into(),
        seen_at: Some(99),
        what,
    }
}

fn bucket(revision: i64, by: &str) -> Box<Bucket> {
    let mut attrs = serde_json::Map::new();
    attrs.insert("title".into(), json!("T"));
    let acl = Permissions {
        read: vec![],
        write: vec!["user:a".into()],
    };
    let mut b = Bucket::new_incarnation("b1", "user:a", attrs, acl, 1000);
    b.generation = "g1".into();
    b.modified_by = by.into();
    b.last_modified = 1000 + revision;
    b.revision = revision;
    Box::new(b)
}

#[test]
fn bucket_writes_are_entries_and_counter_moves_are_not() {
    let created = entry_of(&change(Changed::Bucket {
        old: None,
        new: Some(bucket(1, "user:a")),
    }))
    .unwrap();
    assert_eq!(created.action, "create");
    assert_eq!(created.resource_name, "bucket");
    assert_eq!(created.uri, "/buckets/b1");
    assert_eq!(
        (created.bucket_id.as_str(), created.generation.as_str()),
        ("b1", "g1")
    );
    assert_eq!(created.user_id, "user:a");
    assert_eq!(created.target["data"]["title"], "T");
    assert_eq!(created.target["permissions"]["write"][0], "user:a");
    let updated = entry_of(&change(Changed::Bucket {
        old: Some(bucket(1, "user:a")),
        new: Some(bucket(2, "key:k1")),
    }))
    .unwrap();
    assert_eq!(
        (updated.action.as_str(), updated.user_id.as_str()),
        ("update", "key:k1")
    );
    let mut counted = bucket(2, "user:a");
    counted.file_count = 1;
    let counters = change(Changed::Bucket {
        old: Some(bucket(2, "user:a")),
        new: Some(counted),
    });
    assert!(entry_of(&counters).is_none());
    let removed = change(Changed::Bucket {
        old: Some(bucket(2, "user:a")),
        new: None,
    });
    assert!(entry_of(&removed).is_none());
}

fn doc(revision: i64, doc: Value, by: &str) -> Box<DataDoc> {
    Box::new(DataDoc {
        doc: doc.as_object().cloned().unwrap(),
        revision,
        modified: 5000,
        modified_by: by.into(),
    })
}

fn file(upload: &str) -> Box<FileRecord> {
    Box::new(FileRecord {
        name: "a b.csv".into(),
        size: 3,
        content_type: "text/csv".into(),
        etag: "e".into(),
        sha256: None,
        modified: 7000,
        uploaded_by: "user:c".into(),
        hash: "h".into(),
        version_id: "v".into(),
        upload_id: upload.into(),
    })
}

#[test]
fn data_file_and_deletion_entries() {
    let data_change = |new| Changed::Data {
        bucket_id: "b1".into(),
        generation: "g1".into(),
        old: None,
        new: Some(new),
    };
    let data = entry_of(&change(data_change(doc(3, json!({"a": 1}), "user:b")))).unwrap();
    assert_eq!(
        (data.resource_name.as_str(), data.uri.as_str()),
        ("data", "/buckets/b1/data")
    );
    assert_eq!(data.target, json!({"data": {"a": 1}, "revision": 3}));
    assert_eq!(data.user_id, "user:b");
    let big = doc(4, json!({"a": "x".repeat(MAX_TARGET_BYTES)}), "");
    let truncated = entry_of(&change(data_change(big))).unwrap();
    assert_eq!(truncated.target["truncated"], true);
    assert_eq!(truncated.user_id, UNKNOWN_USER);

    let file_change = |old, new| Changed::File {
        bucket_id: "b1".into(),
        generation: "g1".into(),
        old,
        new,
    };
    let up = entry_of(&change(file_change(None, Some(file("u1"))))).unwrap();
    assert_eq!(
        (up.action.as_str(), up.uri.as_str()),
        ("create", "/buckets/b1/files/a%20b.csv")
    );
    assert_eq!(up.target["data"]["size"], 3);
    assert_eq!(up.user_id, "user:c");
    let replaced = entry_of(&change(file_change(Some(file("u1")), Some(file("u2"))))).unwrap();
    assert_eq!(replaced.action, "update");
    let kept = change(file_change(Some(file("u2")), Some(file("u2"))));
    assert!(entry_of(&kept).is_none(), "a write that kept the upload");
    assert!(entry_of(&change(file_change(Some(file("u2")), None))).is_none());

    let deleted = entry_of(&change(Changed::FileDeleted {
        bucket_id: "b1".into(),
        generation: "g1".into(),
        name: "a b.csv".into(),
        by: Some("user:d".into()),
        at: 8000,
        marker: "m".into(),
    }))
    .unwrap();
    assert_eq!(
        (deleted.action.as_str(), deleted.user_id.as_str()),
        ("delete", "user:d")
    );
    assert_eq!(
        (deleted.bucket_id.as_str(), deleted.generation.as_str()),
        ("b1", "g1")
    );
    assert_eq!(deleted.last_modified, 8000);
    for quiet in [
        Changed::MarkerWritten { marker: "m".into() },
        Changed::BucketDeleted {
            bucket_id: "b1".into(),
            generation: "g1".into(),
            by: None,
            at: 1,
            marker: "m".into(),
        },
        Changed::Other,
    ] {
        assert!(entry_of(&change(quiet)).is_none());
    }
}

#[test]
fn the_same_record_makes_the_same_entry() {
    let c = change(Changed::Bucket {
        old: None,
        new: Some(bucket(1, "user:a")),
    });
    let (a, b) = (entry_of(&c).unwrap(), entry_of(&c).unwrap());
    assert_eq!(a, b);
    assert_eq!(a.id.len(), 36);
    let mut other = c.clone();
    other.event_id = "another".into();
    assert_ne!(entry_of(&other).unwrap().id, a.id);
    assert_eq!(a.sort_key(), format!("0000000001001#{:0>40}", "100"));
}

fn key(scope: Option<Vec<KeyScope>>) -> Box<ApiKey> {
    Box::new(ApiKey {
        id: "k1".into(),
        title: "ci".into(),
        owner: "user:alice".into(),
        privileges: vec![],
        buckets: scope,
        created: 5,
        expires_at: None,
        last_used: None,
        created_by: None,
        secret_hash: "secret-hash".into(),
    })
}

#[test]
fn a_scoped_key_is_in_the_history_of_its_buckets() {
    let scope = |id: &str, access| KeyScope {
        id: id.into(),
        generation: String::new(),
        access,
    };
    let scoped = key(Some(vec![
        scope("b1", Access::Write),
        scope("b2", Access::Read),
    ]));
    let made = |k| {
        change(Changed::Key {
            old: None,
            new: Some(k),
        })
    };
    let (ids, entry) = key_change(&made(scoped.clone())).unwrap();
    let names: Vec<&str> = ids.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(names, ["b1", "b2"]);
    assert!(
        ids.iter().all(|b| b.generation.is_none()),
        "made before scopes recorded it"
    );
    assert_eq!(
        (entry.action.as_str(), entry.resource_name.as_str()),
        ("create", "key")
    );
    assert_eq!(
        (entry.user_id.as_str(), entry.last_modified),
        ("user:alice", 5)
    );
    assert!(!entry.target.to_string().contains("secret-hash"));
    let mut by_key = scoped.clone();
    by_key.created_by = Some("k0".into());
    let (_, made_by_key) = key_change(&made(by_key)).unwrap();
    assert_eq!(
        made_by_key.user_id, "key:k0",
        "a key made by a key: that key acted"
    );
    let mut used = scoped.clone();
    used.last_used = Some(9);
    let touch = change(Changed::Key {
        old: Some(scoped.clone()),
        new: Some(used),
    });
    assert!(key_change(&touch).is_none(), "last_used is no change");
    let removed = change(Changed::Key {
        old: Some(scoped),
        new: None,
    });
    assert_eq!(key_change(&removed).unwrap().1.action, "delete");
    assert!(key_change(&made(key(None))).is_none());
}

fn sftp_change(old: Option<&SftpUser>, new: Option<&SftpUser>) -> Change {
    change(Changed::SftpUser {
        bucket_id: "b1".into(),
        generation: "g1".into(),
        username: "partner".into(),
        old: old.cloned().map(Box::new),
        new: new.cloned().map(Box::new),
    })
}

#[test]
fn an_sftp_users_creation_suspension_and_deletion_are_history_entries() {
    let made = SftpUser {
        username: "partner".into(),
        access: Access::Write,
        keys: vec![SshKey {
            id: String::new(),
            body: "ssh-ed25519 AAAA".into(),
            fingerprint: "SHA256:x".into(),
            comment: String::new(),
            added: 1,
        }],
        created: 1,
        created_by: "user:bob".into(),
        last_modified: 1,
        origin: Some(Origin {
            principal: "user:bob".into(),
            via_key: None,
            by_privilege: false,
        }),
        suspended: None,
        modified_by: "user:bob".into(),
    };
    let created = entry_of(&sftp_change(None, Some(&made))).unwrap();
    assert_eq!(
        (created.action.as_str(), created.user_id.as_str()),
        ("create", "user:bob")
    );
    assert_eq!(created.resource_name, "sftp_user");
    assert!(created.target["data"].get("host").is_none());
    // Transfer's key id recorded: nothing a person did.
    let mut ids = made.clone();
    ids.keys[0].id = "key-1".into();
    ids.last_modified = 2;
    assert!(entry_of(&sftp_change(Some(&made), Some(&ids))).is_none());
    let mut off = ids.clone();
    off.suspended = Some("user:bob may no longer write bucket b1".into());
    off.modified_by = SUSPENDER.into();
    let suspended = entry_of(&sftp_change(Some(&ids), Some(&off))).unwrap();
    assert_eq!(
        (suspended.action.as_str(), suspended.user_id.as_str()),
        ("update", "system.Buckets")
    );
    assert_eq!(suspended.target["data"]["suspended"], true);
    let gone = entry_of(&sftp_change(Some(&off), None)).unwrap();
    assert_eq!((gone.action.as_str(), gone.last_modified), ("delete", 99));
}
