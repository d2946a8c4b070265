//! A bucket's history on the stack: the activity function turns the table's stream into
//! entries (Kinto's history plugin's shape), newest first, filtered, paged, readers only.

use std::time::{Duration, Instant};

use buckets_e2e::{Caller, unique};
use serde_json::{Value, json};

/// The whole history (`resource_name`, `action`, `user_id` of each entry, newest first) once it
/// holds `want` entries: the stream delivers asynchronously.
fn wait_for_entries(caller: &Caller, id: &str, want: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let page = caller
            .get(&format!("/v1/buckets/{id}/history"))
            .expect(200)
            .json();
        let entries = page["data"].as_array().unwrap().clone();
        if entries.len() >= want || Instant::now() > deadline {
            return entries;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn summary(entries: &[Value]) -> Vec<(String, String)> {
    entries
        .iter()
        .map(|e| {
            (
                e["resource_name"].as_str().unwrap().to_string(),
                e["action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn every_change_is_one_entry_newest_first_with_who_did_it() {
    let alice = Caller::user("alice", &["create_buckets"]);
    let id = unique("h-");
    alice.create_bucket(&id, &json!({"data": {"title": "t1"}}));
    alice
        .put(
            &format!("/v1/buckets/{id}/data"),
            &json!({"data": {"stage": 1}}),
        )
        .expect(200);
    alice
        .patch(
            &format!("/v1/buckets/{id}"),
            "application/json",
            &json!({"data": {"title": "t2"}}),
        )
        .expect(200);
    alice.upload(&id, "report.csv", b"a,b\n1,2\n", "text/csv");
    alice.upload(&id, "report.csv", b"a,b\n3,4\n", "text/csv");
    alice
        .delete(&format!("/v1/buckets/{id}/files/report.csv"))
        .expect(200);

    let entries = wait_for_entries(&alice, &id, 6);
    assert_eq!(
        summary(&entries),
        [
            ("file", "delete"),
            ("file", "update"),
            ("file", "create"),
            ("bucket", "update"),
            ("data", "create"),
            ("bucket", "create"),
        ]
        .map(|(r, a)| (r.to_string(), a.to_string())),
        "{entries:#?}"
    );
    for e in &entries {
        assert_eq!(e["user_id"], alice.principal(), "{e}");
        for k in ["id", "last_modified", "uri", "target"] {
            assert!(!e[k].is_null(), "{k} missing in {e}");
        }
    }
    let times: Vec<i64> = entries
        .iter()
        .map(|e| e["last_modified"].as_i64().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    assert_eq!(entries[3]["target"]["data"]["title"], "t2");
    assert_eq!(entries[4]["target"]["data"], json!({"stage": 1}));
    assert_eq!(entries[4]["uri"], format!("/buckets/{id}/data"));

    // Nothing more comes later (one entry per change, whatever the stream redelivers).
    std::thread::sleep(Duration::from_secs(3));
    let again = alice
        .get(&format!("/v1/buckets/{id}/history"))
        .expect(200)
        .json();
    assert_eq!(again["data"].as_array().unwrap().len(), 6, "{again}");
}

#[test]
fn history_filters_pages_and_readers() {
    let alice = Caller::user("alice", &["create_buckets"]);
    let bob = Caller::user("bob", &[]);
    let eve = Caller::user("eve", &[]);
    let id = unique("h-");
    alice.create_bucket(&id, &json!({"permissions": {"read": [bob.principal()]}}));
    for n in 0..3 {
        alice.upload(&id, &format!("f{n}.txt"), b"x", "text/plain");
    }
    let entries = wait_for_entries(&alice, &id, 4);
    assert_eq!(entries.len(), 4, "{entries:#?}");

    let files = alice
        .get(&format!("/v1/buckets/{id}/history?resource_name=file"))
        .expect(200)
        .json();
    assert_eq!(files["data"].as_array().unwrap().len(), 3);
    let created = alice
        .get(&format!(
            "/v1/buckets/{id}/history?action=create&resource_name=bucket"
        ))
        .expect(200)
        .json();
    assert_eq!(created["data"].as_array().unwrap().len(), 1);
    let newest = entries[0]["last_modified"].as_i64().unwrap();
    let since = alice
        .get(&format!("/v1/buckets/{id}/history?_since={newest}"))
        .expect(200)
        .json();
    assert!(since["data"].as_array().unwrap().is_empty(), "{since}");

    // Pages of one, linked by Next-Page, the filter kept, no entry twice.
    let mut seen = Vec::new();
    let mut next = Some(format!(
        "/v1/buckets/{id}/history?_limit=1&resource_name=file"
    ));
    while let Some(path) = next.take() {
        let r = alice.get(&path).expect(200);
        next = r.header("next-page");
        for e in r.json()["data"].as_array().unwrap() {
            seen.push(e["id"].as_str().unwrap().to_string());
        }
        assert!(seen.len() <= 3, "more pages than entries: {seen:?}");
    }
    assert_eq!(seen.len(), 3);
    seen.dedup();
    assert_eq!(seen.len(), 3);

    // A reader reads it; someone else is refused (403, Kinto's errno 121), and a bad filter
    // names its field.
    bob.get(&format!("/v1/buckets/{id}/history")).expect(200);
    eve.get(&format!("/v1/buckets/{id}/history"))
        .expect_error(403, 121);
    let bad = alice
        .get(&format!("/v1/buckets/{id}/history?action=explode"))
        .expect_error(400, 107);
    assert!(bad.to_string().contains("action"), "{bad}");
}

#[test]
fn webhooks_and_scoped_keys_are_entries_and_redelivered_records_add_none() {
    let alice = Caller::user("alice", &["create_buckets", "create_keys"]);
    let id = unique("hw-");
    alice.create_bucket(&id, &json!({}));
    let hooks = format!("/v1/buckets/{id}/webhooks");
    let created = alice
        .post(
            &hooks,
            &json!({"url": "http://127.0.0.1:9/never", "events": ["data.updated"]}),
        )
        .expect(201)
        .json();
    let secret = created["secret"].as_str().unwrap().to_string();
    let wid = created["data"]["id"].as_str().unwrap().to_string();
    alice
        .patch(
            &format!("{hooks}/{wid}"),
            "application/json",
            &json!({"active": false}),
        )
        .expect(200);
    let key = alice
        .post(
            "/v1/keys",
            &json!({"title": "ci", "buckets": [{"id": id, "access": "read"}]}),
        )
        .expect(201)
        .json();
    let key_id = key["data"]["id"].as_str().unwrap().to_string();

    let entries = wait_for_entries(&alice, &id, 4);
    assert_eq!(
        summary(&entries),
        [
            ("key".into(), "create".into()),
            ("webhook".into(), "update".into()),
            ("webhook".into(), "create".into()),
            ("bucket".into(), "create".into()),
        ],
        "{entries:#?}"
    );
    assert_eq!(entries[0]["uri"], format!("/keys/{key_id}"));
    assert_eq!(entries[1]["target"]["data"]["active"], false);
    assert_eq!(entries[1]["user_id"], alice.principal());
    let text = Value::Array(entries.clone()).to_string();
    assert!(
        !text.contains(&secret),
        "a webhook's secret is in the history"
    );

    // The stream's records of the bucket, delivered to the activity function twice more (as
    // after a failed batch): every entry is already there, none is added.
    let out: Value = serde_json::from_str(&buckets_e2e::local_script(
        "redeliver_stream.py",
        &[&id, "2"],
    ))
    .unwrap();
    assert!(out["records"].as_u64().unwrap() >= 3, "{out}");
    for answer in out["answers"].as_array().unwrap() {
        assert_eq!(answer["written"], 0, "{out}");
        assert!(answer["repeated"].as_u64().unwrap() >= 3, "{out}");
    }
    std::thread::sleep(Duration::from_secs(2));
    let after = alice
        .get(&format!("/v1/buckets/{id}/history"))
        .expect(200)
        .json();
    assert_eq!(after["data"].as_array().unwrap().len(), 4, "{after:#}");
}

/// What a reader reads of the history on the stack (entries written by the activity function
/// from the real stream records): a webhook's URL reduced to its origin (the token in its
/// path and query never shown), a scoped key's id and this bucket's scope element only (never
/// its other bucket, a generation, its title or owner) — for a signed-in reader, an anonymous
/// caller on a public bucket and the read-scoped key itself. The writer sees the whole URL,
/// and of the key still only this bucket.
#[test]
fn readers_see_no_webhook_token_and_no_other_bucket_of_a_key() {
    let alice = Caller::user("alice", &["create_buckets", "create_keys"]);
    let bob = Caller::user("bob", &[]);
    let id = unique("hr-");
    let other = unique("hr-other-");
    alice.create_bucket(&id, &json!({"permissions": {"read": ["system.Everyone"]}}));
    alice.create_bucket(&other, &json!({}));
    let url = "http://127.0.0.1:9/services/T000/B000/PATHTOKEN123?token=QUERYTOKEN456";
    let created = alice
        .post(
            &format!("/v1/buckets/{id}/webhooks"),
            &json!({"url": url, "events": ["data.updated"], "active": false}),
        )
        .expect(201)
        .json();
    let secret = created["secret"].as_str().unwrap().to_string();
    let wid = created["data"]["id"].as_str().unwrap().to_string();
    let key = alice
        .post(
            "/v1/keys",
            &json!({"title": "ci-deploy-title", "buckets": [
                {"id": id, "access": "read"}, {"id": other, "access": "write"}]}),
        )
        .expect(201)
        .json();
    let key_id = key["data"]["id"].as_str().unwrap().to_string();
    let scoped = Caller::with_token(key["secret"].as_str().unwrap().to_string());

    let entries = wait_for_entries(&alice, &id, 3);
    assert_eq!(
        summary(&entries),
        [
            ("key".into(), "create".into()),
            ("webhook".into(), "create".into()),
            ("bucket".into(), "create".into()),
        ],
        "{entries:#?}"
    );
    // The writer: the webhook as `GET` of it shows it, the key with this bucket only.
    assert_eq!(entries[1]["target"]["data"]["url"], url);
    assert_eq!(entries[0]["target"]["data"]["title"], "ci-deploy-title");
    assert_eq!(
        entries[0]["target"]["data"]["buckets"],
        json!([{"id": id, "access": "read"}])
    );
    let text = Value::Array(entries.clone()).to_string();
    for hidden in [other.as_str(), "generation", secret.as_str()] {
        assert!(!text.contains(hidden), "the writer sees {hidden:?}: {text}");
    }

    for (who, caller) in [
        ("a reader", &bob),
        ("anonymous", &Caller::anonymous()),
        ("the read-scoped key", &scoped),
    ] {
        let page = caller
            .get(&format!("/v1/buckets/{id}/history"))
            .expect(200)
            .json();
        let text = page.to_string();
        for hidden in [
            "PATHTOKEN123",
            "QUERYTOKEN456",
            "/services/",
            other.as_str(),
            "generation",
            "ci-deploy-title",
            alice.principal().as_str(),
            secret.as_str(),
        ] {
            // The webhook's entry names who made it; the key's never names its owner.
            if hidden == alice.principal() {
                let key_entry = page["data"][0].to_string();
                assert!(
                    !key_entry.contains(hidden),
                    "{who} sees the key's owner: {key_entry}"
                );
                continue;
            }
            assert!(!text.contains(hidden), "{who} sees {hidden:?}: {text}");
        }
        assert_eq!(
            page["data"][1]["target"]["data"],
            json!({"id": wid, "bucket_id": id, "url": "http://127.0.0.1:9",
                   "events": ["data.updated"], "glob": null, "active": false}),
            "{who}"
        );
        assert_eq!(
            page["data"][0]["target"]["data"],
            json!({"id": key_id, "buckets": [{"id": id, "access": "read"}]}),
            "{who}"
        );
        assert_eq!(page["data"][0]["user_id"], "system.Unknown", "{who}");
    }
}

/// What a key does is the key's in the history and on the file it uploaded, on the stack (the
/// DynamoDB adapter writes who made each bucket revision; a bucket update once kept its
/// creator's name there).
#[test]
fn a_keys_bucket_update_and_upload_name_the_key() {
    let alice = Caller::user("alice", &["create_buckets"]);
    let id = unique("hk-");
    alice.create_bucket(&id, &json!({}));
    let key = alice.write_key(&id);
    let key_principal = key["data"]["principal"].as_str().unwrap().to_string();
    let job = Caller::with_token(key["secret"].as_str().unwrap().to_string());
    job.patch(
        &format!("/v1/buckets/{id}"),
        "application/json",
        &json!({"data": {"title": "by the job"}}),
    )
    .expect(200);
    let file = job.upload(&id, "out.csv", b"a,b\n", "text/csv");
    assert_eq!(file["uploaded_by"], key_principal.as_str(), "{file}");

    let entries = wait_for_entries(&alice, &id, 4);
    let who: Vec<(String, String)> = entries
        .iter()
        .map(|e| {
            (
                e["resource_name"].as_str().unwrap().to_string(),
                e["user_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        who,
        [
            ("file".to_string(), key_principal.clone()),
            ("bucket".to_string(), key_principal.clone()),
            ("key".to_string(), alice.principal()),
            ("bucket".to_string(), alice.principal()),
        ],
        "{entries:#?}"
    );
}
