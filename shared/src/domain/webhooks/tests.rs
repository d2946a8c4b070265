//! The webhook rules: URLs, signatures, events from changes, deliveries.

use serde_json::{Map, Value, json};

use super::*;
use crate::domain::changes::{Change, Changed};
use crate::domain::data::DataDoc;
use crate::domain::files::{FileRecord, Rejection};
use crate::domain::history::entry_of;

const STRICT: UrlPolicy = UrlPolicy {
    allow_loopback: false,
};
const LOCAL: UrlPolicy = UrlPolicy {
    allow_loopback: true,
};

#[test]
fn signatures_match_the_standard_webhooks_reference_vector() {
    // The test vector of the Standard Webhooks libraries (standard-webhooks/libraries).
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let got = signature(
        secret,
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        r#"{"test": 2432232314}"#,
    );
    assert_eq!(got, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    let both = signature_header(&[secret, secret], "m", 1, "b");
    assert_eq!(both.split(' ').count(), 2);
}

#[test]
fn only_public_https_urls_are_accepted() {
    for bad in [
        "http://example.com/hook",
        "ftp://example.com/",
        "https://user:pw@example.com/",
        "https://127.0.0.1/",
        "https://10.1.2.3/",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/",
        "https://[::ffff:10.0.0.1]/",
        "https://[fd00:ec2::254]/",
        "https://[fe80::1]/",
        "https://[64:ff9b::a9fe:a9fe]/",
        "https://[64:ff9b:1::808:808]/",
        "https://[2002:a9fe:a9fe::1]/",
        "https://[2002:0a00:0001::]/",
        "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
        "https://[2001:db8::1]/",
        "https://[100::1]/",
        "https://100.64.0.1/",
        "https://192.0.2.2/",
        "https://198.51.100.1/",
        "https://203.0.113.1/",
        "https://[::ffff:0:c000:202]/",
        "https://[::8.8.8.8]/",
        "https://[fec0::1]/",
        "https://0.0.0.0/",
        "https://localhost/",
        "https://example.com/#frag",
        "https://exa mple.com/",
        "/relative",
        "",
    ] {
        assert!(check_url(bad, STRICT).is_err(), "{bad:?} was accepted");
    }
    let t = check_url("https://hooks.example.com:8443/in?x=1", STRICT).unwrap();
    assert_eq!(
        (t.host.as_str(), t.port, t.ip),
        ("hooks.example.com", 8443, None)
    );
    assert_eq!(check_url("https://8.8.8.8/", STRICT).unwrap().port, 443);
    // 6to4 of a public address, and ordinary global IPv6, pass.
    assert!(check_url("https://[2002:808:808::1]/", STRICT).is_ok());
    assert!(check_url("https://[2606:4700::1111]/", STRICT).is_ok());
    let long = format!("https://example.com/{}", "a".repeat(MAX_URL_BYTES));
    assert!(check_url(&long, STRICT).is_err());
    // The local setting lets loopback (and plain http) through, nothing else.
    assert!(check_url("http://127.0.0.1:9/hook", LOCAL).is_ok());
    assert!(check_url("http://10.0.0.1/hook", LOCAL).is_err());
    assert!(check_url("http://169.254.169.254/", LOCAL).is_err());
    assert!(check_url("http://192.0.2.2:9/hook", LOCAL).is_err());
    let why = check_url("https://10.0.0.1/", STRICT).unwrap_err();
    assert_eq!(why.field, "url");
    assert!(
        why.reason.contains("not a public address"),
        "{}",
        why.reason
    );
}

#[test]
fn bodies_are_checked_field_by_field() {
    let ok = parse_new_webhook(
        &json!({"url": "https://example.com/h", "events": ["file.uploaded", "file.uploaded"], "glob": "*.csv"}),
        STRICT,
    )
    .unwrap();
    assert_eq!(ok.events, vec!["file.uploaded"]);
    assert!(ok.active);
    let field = |body: Value| parse_new_webhook(&body, STRICT).unwrap_err().field;
    assert_eq!(field(json!({"events": ["file.uploaded"]})), "url");
    assert_eq!(
        field(json!({"url": "https://e.com", "events": []})),
        "events"
    );
    assert_eq!(
        field(json!({"url": "https://e.com", "events": ["nope"]})),
        "events"
    );
    assert_eq!(
        field(json!({"url": "https://e.com", "events": ["data.updated"], "glob": 3})),
        "glob"
    );
    assert_eq!(
        field(json!({"url": "https://e.com", "events": ["data.updated"], "x": 1})),
        "x"
    );
    assert_eq!(field(json!([1])), "body");
    // `{}` changes no field: it only takes the webhook over (`service::webhooks`).
    assert_eq!(
        parse_webhook_patch(&json!({}), STRICT).unwrap(),
        WebhookPatch::default()
    );
    let p = parse_webhook_patch(&json!({"glob": null, "active": false}), STRICT).unwrap();
    assert_eq!((p.glob, p.active), (Some(None), Some(false)));
}

fn hook(events: &[&str], glob: Option<&str>) -> Webhook {
    Webhook {
        id: new_webhook_id(),
        url: "https://example.com".into(),
        events: events.iter().map(|e| e.to_string()).collect(),
        glob: glob.map(str::to_string),
        active: true,
        secret: new_secret(),
        previous_secret: None,
        previous_until: None,
        disabled_reason: None,
        created: 0,
        created_by: "user:a".into(),
        last_modified: 0,
        modified_by: "user:a".into(),
        origin: None,
        suspended: None,
        retired: false,
    }
}

fn change(what: Changed) -> Change {
    Change {
        event_id: "ev-1".into(),
        sequence: "100".into(),
        seen_at: Some(77_000),
        what,
    }
}

fn upload(name: &str) -> Changed {
    Changed::File {
        bucket_id: "b1".into(),
        generation: "g1".into(),
        old: None,
        new: Some(Box::new(FileRecord {
            name: name.into(),
            size: 3,
            content_type: "text/csv".into(),
            etag: "e".into(),
            sha256: None,
            modified: 5,
            uploaded_by: "user:a".into(),
            hash: "h".into(),
            version_id: "v".into(),
            upload_id: "u1".into(),
        })),
    }
}

#[test]
fn changes_make_the_events_webhooks_ask_for() {
    let upload = change(upload("a.csv"));
    let e = event_of(&upload).unwrap();
    assert_eq!(
        (e.kind.as_str(), e.file_name.as_deref()),
        ("file.uploaded", Some("a.csv"))
    );
    assert_eq!((e.bucket_id.as_str(), e.generation.as_str()), ("b1", "g1"));
    assert_eq!(
        e.id,
        event_of(&upload).unwrap().id,
        "the same record, the same event"
    );
    assert!(hook(&["file.uploaded"], Some("*.csv")).wants(&e));
    assert!(!hook(&["file.uploaded"], Some("*.txt")).wants(&e));
    assert!(!hook(&["file.deleted"], None).wants(&e));
    let mut off = hook(&["file.uploaded"], None);
    off.active = false;
    assert!(!off.wants(&e));
    let mut retired = hook(&["file.uploaded", "bucket.deleted"], None);
    retired.retired = true;
    assert!(!retired.wants(&e), "nothing after bucket.deleted");

    let rejected = change(Changed::UploadRejected {
        bucket_id: "b1".into(),
        generation: "g1".into(),
        rejection: Rejection {
            upload_id: "u2".into(),
            name: "big.bin".into(),
            reason: "too large".into(),
            at: 9,
        },
    });
    let e = event_of(&rejected).unwrap();
    assert_eq!(e.kind, "file.rejected");
    assert_eq!(e.detail["reason"], "too large");
    let deleted = change(Changed::BucketDeleted {
        bucket_id: "b1".into(),
        generation: "g1".into(),
        by: None,
        at: 10,
        marker: "m".into(),
    });
    let e = event_of(&deleted).unwrap();
    assert_eq!(
        (e.kind.as_str(), e.user_id.as_str()),
        ("bucket.deleted", "system.Unknown")
    );
    let data = change(Changed::Data {
        bucket_id: "b1".into(),
        generation: "g1".into(),
        old: None,
        new: Some(Box::new(DataDoc {
            doc: Map::new(),
            revision: 2,
            modified: 11,
            modified_by: "user:a".into(),
        })),
    });
    let e = event_of(&data).unwrap();
    assert_eq!(
        (e.kind.as_str(), e.detail["data"]["revision"].clone()),
        ("data.updated", json!(2))
    );
    let payload: Value = serde_json::from_str(&e.payload(7)).unwrap();
    assert_eq!(payload["type"], "data.updated");
    assert_eq!(payload["data"]["sequence"], 7);
    assert_eq!(payload["data"]["bucket_id"], "b1");
    assert_eq!(payload["timestamp"], "1970-01-01T00:00:00.011Z");
    // Nobody's events: a bucket's creation (it has no webhooks yet), a cascade's progress.
    assert!(event_of(&change(Changed::MarkerWritten { marker: "m".into() })).is_none());
    assert!(event_of(&change(Changed::Other)).is_none());
}

#[test]
fn webhook_changes_are_history_entries_without_the_secret() {
    let h = hook(&["file.uploaded"], None);
    let of = |old: Option<&Webhook>, new: Option<&Webhook>| {
        change(Changed::Webhook {
            bucket_id: "b1".into(),
            generation: "g1".into(),
            old: old.cloned().map(Box::new),
            new: new.cloned().map(Box::new),
        })
    };
    let created = entry_of(&of(None, Some(&h))).unwrap();
    assert_eq!(
        (created.action.as_str(), created.resource_name.as_str()),
        ("create", "webhook")
    );
    assert_eq!(created.user_id, "user:a");
    assert!(
        !created.target.to_string().contains(&h.secret),
        "no secret in the history"
    );
    // A retirement (only its expiry moved) is no change, nor is its expiry.
    let mut retired = h.clone();
    retired.retired = true;
    assert!(entry_of(&of(Some(&h), Some(&retired))).is_none());
    assert!(entry_of(&of(Some(&retired), None)).is_none());
    let mut off = h.clone();
    off.active = false;
    assert_eq!(
        entry_of(&of(Some(&h), Some(&off))).unwrap().action,
        "update"
    );
    let gone = entry_of(&of(Some(&off), None)).unwrap();
    assert_eq!(
        (gone.action.as_str(), gone.last_modified),
        ("delete", 77_000)
    );
}

#[test]
fn attempts_are_claimed_once_and_retried_on_schedule() {
    let e = ping_event("b1", "g1", "wh_x", "user:a", 1000);
    let mut d = Delivery::new(&e, 1, "wh_x", 1000);
    assert!(d.may_claim(0, 1, 1000));
    assert!(!d.may_claim(0, 2, 1000), "a message from the future");
    d.status = Status::Sending;
    d.attempts = 1;
    d.claimed_at = Some(1000);
    assert!(
        !d.may_claim(0, 1, 1000 + 1),
        "a duplicate while the claimer works"
    );
    assert!(
        d.may_claim(0, 1, 1000 + STALE_CLAIM_MS + 1),
        "the claimer crashed"
    );
    assert!(
        !d.may_claim(1, 1, 1000 + STALE_CLAIM_MS + 1),
        "another round's message"
    );
    d.status = Status::Delivered;
    assert!(!d.may_claim(0, 1, i64::MAX));
    let total: u64 = RETRY_SCHEDULE_SECS.iter().sum();
    assert!(total >= 24 * 3600, "retried for at least a day");
    assert_eq!(retry_delay(1, 1.0), Some(Duration::from_secs(5)));
    assert_eq!(retry_delay(7, 1.0), Some(Duration::from_secs(36_000)));
    assert_eq!(retry_delay(8, 1.0), None, "8 attempts in all");
    assert_eq!(retry_delay(0, 1.0), None);
    assert_eq!(retry_delay(2, 0.01), Some(Duration::from_secs(3)));
}

#[test]
fn ids_are_checked_and_times_formatted() {
    assert!(webhook_id_problem(&new_webhook_id()).is_none());
    assert!(webhook_id_problem("wh_../../x").is_some());
    let d = Delivery::new(
        &ping_event("b", "g", "wh_x", "u", 1_765_000_000_000),
        1,
        "wh_x",
        0,
    );
    assert!(delivery_id_problem(&d.id).is_none(), "{}", d.id);
    assert!(delivery_id_problem("dl_x").is_some());
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
    assert_eq!(rfc3339(1_614_265_330_123), "2021-02-25T15:02:10.123Z");
    assert!(new_secret().starts_with("whsec_"));
}
