//! Items the store writes, as the stream delivers them, read back as typed changes; and the
//! template's stream filters against the registry.

use serde_json::{Map, Value, json};

use super::*;
use crate::domain::bucket::Bucket;
use crate::domain::cascade::Marker;
use crate::domain::data::DataDoc;
use crate::domain::files::{FileRecord, ObjectVersion, Rejection};
use crate::domain::keys::{Access, ApiKey, ScopedBucket};
use crate::domain::permissions::Permissions;
use crate::domain::sftp::SftpUser;
use crate::domain::webhooks::Webhook;

/// An item as DynamoDB JSON, the stream's form.
fn typed(v: &AttributeValue) -> Value {
    match v {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        AttributeValue::Null(_) => json!({ "NULL": true }),
        AttributeValue::Ss(ss) => json!({ "SS": ss }),
        AttributeValue::Ns(ns) => json!({ "NS": ns }),
        AttributeValue::B(b) => json!({ "B": BASE64.encode(b.as_ref()) }),
        AttributeValue::L(l) => json!({ "L": l.iter().map(typed).collect::<Vec<_>>() }),
        AttributeValue::M(m) => json!({ "M": image(m) }),
        other => panic!("not written by the store: {other:?}"),
    }
}

fn image(item: &Item) -> Value {
    Value::Object(item.iter().map(|(k, v)| (k.clone(), typed(v))).collect())
}

/// The stream record of `event` on the item `old` → `new`.
fn record(event: &str, old: Option<&Item>, new: Option<&Item>) -> Value {
    let item = new.or(old).expect("an image");
    let mut d = Map::new();
    d.insert(
        "Keys".into(),
        json!({"pk": typed(&item["pk"]), "sk": typed(&item["sk"])}),
    );
    d.insert("SequenceNumber".into(), json!("4200"));
    d.insert("ApproximateCreationDateTime".into(), json!(1700000000.5));
    if let Some(o) = old {
        d.insert("OldImage".into(), image(o));
    }
    if let Some(n) = new {
        d.insert("NewImage".into(), image(n));
    }
    json!({"eventID": "e1", "eventName": event, "dynamodb": d})
}

fn one(event: &str, old: Option<&Item>, new: Option<&Item>) -> Change {
    let mut all = changes(&json!({"Records": [record(event, old, new)]})).unwrap();
    assert_eq!(all.len(), 1);
    all.remove(0)
}

fn bucket(revision: i64) -> Bucket {
    let mut attrs = Map::new();
    attrs.insert("title".into(), json!("T"));
    attrs.insert("nested".into(), json!({"a": [1, 2.5, null, true]}));
    Bucket {
        id: "b1".into(),
        generation: "g1".into(),
        attrs,
        permissions: Permissions {
            read: vec!["system.Everyone".into()],
            write: vec!["user:a".into()],
        },
        owner: "user:a".into(),
        modified_by: "key:k1".into(),
        created: 1,
        last_modified: 2,
        revision,
        file_count: 4,
        total_bytes: 5,
    }
}

#[test]
fn bucket_records_read_as_the_store_reads_its_items() {
    let (old, new) = (bucket(1), bucket(2));
    let (o, n) = (buckets::to_item(&old), buckets::to_item(&new));
    let change = one("MODIFY", Some(&o), Some(&n));
    assert_eq!(
        (change.event_id.as_str(), change.sequence.as_str()),
        ("e1", "4200")
    );
    assert_eq!(change.seen_at, Some(1_700_000_000_500));
    assert_eq!(
        change.what,
        Changed::Bucket {
            old: Some(Box::new(old.clone())),
            new: Some(Box::new(new.clone())),
        }
    );
    let created = one("INSERT", None, Some(&n));
    assert!(matches!(
        created.what,
        Changed::Bucket {
            old: None,
            new: Some(_)
        }
    ));
    // An image that does not read as a bucket: nothing derived from it.
    let mut broken = n.clone();
    broken.remove("owner");
    broken.remove("by");
    assert_eq!(one("INSERT", None, Some(&broken)).what, Changed::Other);
}

#[test]
fn data_file_and_rejection_records() {
    let doc = DataDoc {
        doc: json!({"a": {"b": [1, "x"]}}).as_object().cloned().unwrap(),
        revision: 3,
        modified: 9,
        modified_by: "user:b".into(),
    };
    let head = data::doc_item("b1", "g1", DATA_HEAD, &doc);
    assert_eq!(
        one("INSERT", None, Some(&head)).what,
        Changed::Data {
            bucket_id: "b1".into(),
            generation: "g1".into(),
            old: None,
            new: Some(Box::new(doc.clone())),
        }
    );
    let kept = data::doc_item("b1", "g1", &super::super::keys::data_revision(3), &doc);
    assert_eq!(one("INSERT", None, Some(&kept)).what, Changed::Other);

    let record = FileRecord {
        name: "a b.csv".into(),
        size: 3,
        content_type: "text/csv".into(),
        etag: "e".into(),
        sha256: Some("abc".into()),
        modified: 7,
        uploaded_by: "user:c".into(),
        hash: "h".into(),
        version_id: "v".into(),
        upload_id: "u1".into(),
    };
    let item = files::record_item("b1", "g1", &record);
    assert_eq!(
        one("REMOVE", Some(&item), None).what,
        Changed::File {
            bucket_id: "b1".into(),
            generation: "g1".into(),
            old: Some(Box::new(record)),
            new: None,
        }
    );
    let rejection = Rejection {
        upload_id: "u2".into(),
        name: "big.bin".into(),
        reason: "too large".into(),
        at: 11,
    };
    let item = files::rejection_item("b1", "g1", &rejection);
    assert_eq!(
        one("INSERT", None, Some(&item)).what,
        Changed::UploadRejected {
            bucket_id: "b1".into(),
            generation: "g1".into(),
            rejection,
        }
    );
    assert_eq!(
        one("REMOVE", Some(&item), None).what,
        Changed::Other,
        "its expiry"
    );
}

#[test]
fn markers_are_deletions_when_written_first_and_work_after() {
    let store = super::super::DynamoStore::new(
        aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::Config::builder()
                .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
                .build(),
        ),
        "t".into(),
    );
    let bucket_marker = Marker::for_bucket("b1", "g1", vec![], 10);
    let item = store.marker_item(&bucket_marker, 10);
    assert_eq!(
        one("INSERT", None, Some(&item)).what,
        Changed::BucketDeleted {
            bucket_id: "b1".into(),
            generation: "g1".into(),
            by: None,
            at: 10,
            marker: "b1#g1".into(),
        }
    );
    let replayed = one("MODIFY", Some(&item), Some(&item));
    assert_eq!(replayed.marker_written(), Some("b1#g1"));
    assert_eq!(one("REMOVE", Some(&item), None).what, Changed::Other);

    let record = FileRecord {
        name: "a.csv".into(),
        size: 1,
        content_type: "text/csv".into(),
        etag: "e".into(),
        sha256: None,
        modified: 1,
        uploaded_by: "user:c".into(),
        hash: "h".into(),
        version_id: "v".into(),
        upload_id: "u1".into(),
    };
    let objects = vec![ObjectVersion {
        key: "b1/g1/a.csv".into(),
        version_id: Some("v".into()),
    }];
    let file_marker = Marker::for_file("b1", "g1", &record, objects, 20);
    let mut item = store.marker_item(&file_marker, 20);
    // What `delete_file` adds for the history.
    item.insert("name".into(), AttributeValue::S("a.csv".into()));
    item.insert("by".into(), AttributeValue::S("user:d".into()));
    let deleted = one("INSERT", None, Some(&item));
    assert_eq!(
        deleted.what,
        Changed::FileDeleted {
            bucket_id: "b1".into(),
            generation: "g1".into(),
            name: "a.csv".into(),
            by: Some("user:d".into()),
            at: 20,
            marker: "b1#g1#u1".into(),
        }
    );
    assert_eq!(deleted.marker_written(), Some("b1#g1#u1"));
}

#[test]
fn key_webhook_and_sftp_user_records() {
    let key = ApiKey {
        id: "k1".into(),
        title: "ci".into(),
        owner: "user:a".into(),
        privileges: vec!["create_buckets".into()],
        buckets: Some(vec![ScopedBucket {
            id: "b1".into(),
            generation: "g1".into(),
            access: Access::Read,
        }]),
        created: 5,
        expires_at: Some(99),
        last_used: None,
        created_by: Some("k0".into()),
        secret_hash: "hash".into(),
    };
    let item = api_keys::to_item(&key);
    assert_eq!(
        one("INSERT", None, Some(&item)).what,
        Changed::Key {
            old: None,
            new: Some(Box::new(key)),
        }
    );

    let hook = Webhook {
        id: "wh_1".into(),
        url: "https://h.example/x".into(),
        events: vec!["file.uploaded".into()],
        glob: None,
        active: true,
        secret: "whsec_x".into(),
        previous_secret: None,
        previous_until: None,
        disabled_reason: None,
        created: 1,
        created_by: "user:a".into(),
        last_modified: 1,
        modified_by: "user:a".into(),
        origin: None,
        suspended: None,
        retired: false,
    };
    let mut item = webhooks::webhook_key("b1", "g1", &hook.id);
    item.insert("hook".into(), super::super::json(&hook));
    let mut retired = item.clone();
    retired.insert("retired_at".into(), AttributeValue::N("5".into()));
    let Changed::Webhook {
        old: Some(old),
        new: None,
        ..
    } = one("REMOVE", Some(&retired), None).what
    else {
        panic!("a webhook's removal");
    };
    assert!(old.retired, "a retired webhook's expiry says so");
    assert_eq!(
        one("INSERT", None, Some(&item)).what,
        Changed::Webhook {
            bucket_id: "b1".into(),
            generation: "g1".into(),
            old: None,
            new: Some(Box::new(hook)),
        }
    );

    let user: SftpUser = serde_json::from_value(json!({
        "username": "partner", "access": "write", "keys": [], "created": 1,
        "created_by": "user:a", "last_modified": 2, "suspended": "gone"}))
    .unwrap();
    let item = sftp::to_item("b1", "g1", &user);
    let suspended = one("MODIFY", Some(&item), Some(&item));
    assert_eq!(
        suspended.sftp_user_suspended(),
        Some(("b1", "g1", "partner"))
    );
    let removed = one("REMOVE", Some(&item), None);
    assert_eq!(removed.sftp_user_removed(), Some(("b1", "g1", "partner")));
    // A removal whose image cannot be read still names the user.
    let mut bare = item.clone();
    bare.insert("user".into(), AttributeValue::S("{".into()));
    let unread = one("REMOVE", Some(&bare), None);
    assert_eq!(unread.sftp_user_removed(), Some(("b1", "g1", "partner")));
}

#[test]
fn flipping_active_and_changing_the_acl_are_seen() {
    let old = bucket(1);
    let mut off = bucket(2);
    off.attrs.insert("active".into(), json!(false));
    let change = one(
        "MODIFY",
        Some(&buckets::to_item(&old)),
        Some(&buckets::to_item(&off)),
    );
    assert_eq!(change.activity_changed(), Some("b1"));
    assert_eq!(change.acl_changed(), None);
    let mut shared = bucket(2);
    shared.permissions.read.push("user:z".into());
    let change = one(
        "MODIFY",
        Some(&buckets::to_item(&old)),
        Some(&buckets::to_item(&shared)),
    );
    assert_eq!(
        (change.acl_changed(), change.activity_changed()),
        (Some("b1"), None)
    );
}

#[test]
fn markers_are_work_from_their_keys_alone() {
    let event = json!({"Records": [
        {"eventName": "INSERT", "dynamodb": {"Keys": {"pk": {"S": "CASCADE"}, "sk": {"S": "b1#g1"}}}},
        {"eventName": "MODIFY", "dynamodb": {"Keys": {"pk": {"S": "CASCADE"}, "sk": {"S": "b1#g1"}}}},
        {"eventName": "REMOVE", "dynamodb": {"Keys": {"pk": {"S": "CASCADE"}, "sk": {"S": "b2#g1"}}}},
        {"eventName": "INSERT", "dynamodb": {"Keys": {"pk": {"S": "B#b3"}, "sk": {"S": "B"}}}},
        {"eventName": "MODIFY", "dynamodb": {"Keys": {"pk": {"S": "CASCADE"}, "sk": {"S": "b1#g1#u1"}}}}
    ]});
    let all = changes(&event).unwrap();
    let written: Vec<Option<&str>> = all.iter().map(Change::marker_written).collect();
    assert_eq!(
        written,
        [Some("b1#g1"), Some("b1#g1"), None, None, Some("b1#g1#u1")]
    );
}

#[test]
fn other_events_are_not_stream_events() {
    assert!(changes(&json!({"x": 1})).is_none());
    let unknown = json!({"Records": [{"eventID": "e", "eventName": "INSERT",
        "dynamodb": {"Keys": {"pk": {"S": "ZZ"}, "sk": {"S": "x"}}, "NewImage": {}}}]});
    assert_eq!(changes(&unknown).unwrap()[0].what, Changed::Other);
}

/// The kinds this decoder makes changes of, and whether the activity function (history,
/// webhooks) must hear of them.
const DECODED: &[(Partition, bool)] = &[
    (Partition::Bucket, true),
    (Partition::Data, true),
    (Partition::Files, true),
    (Partition::Rejections, true),
    (Partition::Webhooks, true),
    (Partition::ApiKey, true),
    (Partition::SftpUsers, true),
    (Partition::Cascade, true),
];

/// The key patterns of every stream filter of `function` in the template: the partition key's
/// exact value or prefix.
fn filter_keys(template: &str, function: &str) -> Vec<String> {
    let start = template
        .find(&format!("\n  {function}:\n"))
        .unwrap_or_else(|| panic!("{function} in the template"));
    // The resource: its lines up to the next one indented as a resource name.
    let resource = template[start + 1..]
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with("  ") || l.starts_with("   "));
    let mut keys = Vec::new();
    for line in resource {
        let Some(p) = line.trim().strip_prefix("- Pattern: '") else {
            continue;
        };
        let pattern: Value = serde_json::from_str(p.trim_end_matches('\'')).unwrap();
        let pk = &pattern["dynamodb"]["Keys"]["pk"]["S"][0];
        keys.push(match pk {
            Value::String(exact) => exact.clone(),
            other => other["prefix"].as_str().unwrap().to_string(),
        });
    }
    keys
}

#[test]
fn the_templates_filters_pass_what_is_decoded() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/template.yaml");
    let template = std::fs::read_to_string(path).unwrap();
    let functions = ["ActivityFunction", "SftpFunction", "CascadeFunction"];
    for function in functions {
        let keys = filter_keys(&template, function);
        assert!(!keys.is_empty(), "{function} has stream filters");
        for key in &keys {
            let kind = Partition::parse(key).map(|(p, _)| p);
            assert!(
                kind.is_some_and(|p| p.prefix() == key && DECODED.iter().any(|(d, _)| *d == p)),
                "{function}'s filter names {key:?}, which is no partition this adapter decodes"
            );
        }
    }
    let activity = filter_keys(&template, "ActivityFunction");
    for (kind, heard) in DECODED {
        assert_eq!(
            activity.iter().any(|k| k == kind.prefix()),
            *heard,
            "the activity function's filters and {kind:?}"
        );
    }
}
