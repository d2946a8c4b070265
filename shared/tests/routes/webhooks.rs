//! A bucket's webhooks (the activity function's routes and its two event paths): managed by
//! writers, secrets shown once, bad input named; events queued once per webhook from stream
//! records however often they come; attempts signed, retried on the schedule, claimed once,
//! parked in the dead-letter queue after the last, and a `410 Gone` turns the webhook off.

use futures_util::future::join_all;
use serde_json::{Value, json};
use shared::domain::changes::{Change, Changed};
use shared::domain::webhooks::{Answer, MAX_WEBHOOKS_PER_BUCKET, RETRY_SCHEDULE_SECS, signature};
use shared::memory::SentRequest;
use shared::ports::StoreError;
use shared::service::webhooks::Attempted;

use crate::common::{CREATOR, Env};

const HOOK: &str = "https://hooks.example.com/in";

/// An upload's stream record, by alice.
fn file_upload(id: &str, generation: &str, name: &str, seq: i64) -> Change {
    crate::common::file_upload(id, generation, name, "user:alice", 1_000 + seq, seq)
}

fn bucket_deletion(id: &str, generation: &str) -> Change {
    Change {
        event_id: format!("{id}-deleted"),
        sequence: "99".into(),
        seen_at: None,
        what: Changed::BucketDeleted {
            bucket_id: id.into(),
            generation: generation.into(),
            by: None,
            at: 5_000,
            marker: format!("{id}#{generation}"),
        },
    }
}

/// A receiver's check of a request, as the Standard Webhooks libraries make it.
fn verifies(req: &SentRequest, secret: &str) -> bool {
    let id = req.header("webhook-id").unwrap();
    let ts: i64 = req.header("webhook-timestamp").unwrap().parse().unwrap();
    let want = signature(secret, id, ts, &req.body);
    req.header("webhook-signature")
        .unwrap()
        .split(' ')
        .any(|s| s == want)
}

async fn drain(env: &Env) -> Vec<Attempted> {
    env.drain_deliveries().await
}

#[tokio::test]
async fn writers_manage_webhooks_and_see_the_secret_once() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    let bob = env.user("bob", &[]);
    alice
        .create_bucket("b1", &json!({"permissions": {"read": ["user:bob"]}}))
        .await;
    let body = json!({"url": HOOK, "events": ["file.uploaded"], "glob": "*.csv"});
    bob.post("/v1/buckets/b1/webhooks", &body).await.expect(403);
    bob.get("/v1/buckets/b1/webhooks").await.expect(403);
    env.user("eve", &[])
        .post("/v1/buckets/b1/webhooks", &body)
        .await
        .expect(403);

    let created = alice
        .post("/v1/buckets/b1/webhooks", &body)
        .await
        .expect(201)
        .json();
    let secret = created["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    let wid = created["data"]["id"].as_str().unwrap().to_string();
    assert_eq!(created["data"]["active"], true);
    let path = format!("/v1/buckets/b1/webhooks/{wid}");
    let listed = alice
        .get("/v1/buckets/b1/webhooks")
        .await
        .expect(200)
        .json();
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    assert!(
        !listed.to_string().contains(&secret),
        "a listing shows no secret"
    );
    let read = alice.get(&path).await.expect(200).json();
    assert!(!read.to_string().contains(&secret));
    bob.get(&path).await.expect(403);

    let patched = alice
        .patch(
            &path,
            "application/json",
            &json!({"events": ["file.deleted"], "glob": null}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(patched["data"]["events"], json!(["file.deleted"]));
    assert_eq!(patched["data"]["glob"], Value::Null);
    let rotated = alice
        .post(&format!("{path}/rotate"), &json!({}))
        .await
        .expect(200)
        .json();
    assert_ne!(rotated["secret"], created["secret"]);

    alice.delete(&path).await.expect(200);
    alice.get(&path).await.expect(404);
    assert!(
        alice
            .get("/v1/buckets/b1/webhooks")
            .await
            .expect(200)
            .json()["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn bad_webhooks_are_refused_naming_the_field() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("b1", &json!({})).await;
    let field = |r: Value| {
        r["details"][0]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    for (body, name) in [
        (
            json!({"url": "http://hooks.example.com/", "events": ["file.uploaded"]}),
            "url",
        ),
        (
            json!({"url": "https://169.254.169.254/latest", "events": ["file.uploaded"]}),
            "url",
        ),
        (
            json!({"url": "https://10.0.0.8/", "events": ["file.uploaded"]}),
            "url",
        ),
        (
            json!({"url": "https://[::1]:8080/", "events": ["file.uploaded"]}),
            "url",
        ),
        (
            json!({"url": "https://localhost/", "events": ["file.uploaded"]}),
            "url",
        ),
        (json!({"url": HOOK, "events": ["file.exploded"]}), "events"),
        (json!({"url": HOOK, "events": []}), "events"),
        (
            json!({"url": HOOK, "events": ["file.uploaded"], "glob": "{a,b"}),
            "glob",
        ),
        (
            json!({"url": HOOK, "events": ["file.uploaded"], "secret": "mine"}),
            "secret",
        ),
    ] {
        let r = alice
            .post("/v1/buckets/b1/webhooks", &body)
            .await
            .expect(400)
            .json();
        assert_eq!(field(r), name, "{body}");
    }
    alice
        .get("/v1/buckets/b1/webhooks/not-an-id")
        .await
        .expect(400);
    for _ in 0..20 {
        alice
            .post(
                "/v1/buckets/b1/webhooks",
                &json!({"url": HOOK, "events": ["data.updated"]}),
            )
            .await
            .expect(201);
    }
    let r = alice
        .post(
            "/v1/buckets/b1/webhooks",
            &json!({"url": HOOK, "events": ["data.updated"]}),
        )
        .await
        .expect(400)
        .json();
    assert!(r["message"].as_str().unwrap().contains("20"), "{r}");
}

/// Only globally reachable unicast addresses (the IANA registries) may be a webhook's: address
/// literals of every other kind are refused at creation and on a change, naming `url`, with a
/// reason that says only that the address is not public; a deployment that allows loopback
/// (local tests) allows loopback and nothing else.
#[tokio::test]
async fn webhook_urls_reach_only_public_addresses() {
    let refused = [
        "https://192.0.2.2/",
        "https://198.51.100.10:8443/in",
        "https://203.0.113.5/",
        "https://192.88.99.1/",
        "https://192.0.0.8/",
        "https://198.18.0.1/",
        "https://224.0.0.1/",
        "https://255.255.255.255/",
        "https://[::ffff:0:c000:202]/",
        "https://[::ffff:0:a9fe:a9fe]/",
        "https://[::c000:202]/",
        "https://[::ffff:192.0.2.2]/",
        "https://[64:ff9b::c000:202]/",
        "https://[2002:c000:202::1]/",
        "https://[fec0::1]/",
        "https://[ff02::1]/",
        "https://[3fff::1]/",
        "https://[2001:2::1]/",
        "https://[5f00::1]/",
    ];
    for (env, scheme) in [
        (Env::new(), "https"),
        (Env::with(&[("WEBHOOKS_ALLOW_LOOPBACK", "true")]), "http"),
    ] {
        let alice = env.user("alice", CREATOR);
        alice.create_bucket("b1", &json!({})).await;
        for url in refused {
            let url = url.replacen("https", scheme, 1);
            let body = json!({"url": url, "events": ["file.uploaded"]});
            let r = alice
                .post("/v1/buckets/b1/webhooks", &body)
                .await
                .expect_invalid(400, "body", "url");
            let reason = r["details"][0]["description"].as_str().unwrap();
            assert!(reason.contains("not a public address"), "{url}: {reason}");
        }
        let created = alice
            .post(
                "/v1/buckets/b1/webhooks",
                &json!({"url": format!("{scheme}://hooks.example.com/in"), "events": ["file.uploaded"]}),
            )
            .await
            .expect(201)
            .json();
        let path = format!(
            "/v1/buckets/b1/webhooks/{}",
            created["data"]["id"].as_str().unwrap()
        );
        alice
            .patch(
                &path,
                "application/json",
                &json!({"url": format!("{scheme}://192.0.2.2:9/")}),
            )
            .await
            .expect_invalid(400, "body", "url");
        // Public literals pass; loopback only where the deployment allows it.
        for url in [
            "https://8.8.8.8/",
            "https://[2606:4700::1111]/",
            "https://192.0.0.9/",
        ] {
            let body =
                json!({"url": url.replacen("https", scheme, 1), "events": ["file.uploaded"]});
            alice
                .post("/v1/buckets/b1/webhooks", &body)
                .await
                .expect(201);
        }
        let loopback =
            json!({"url": format!("{scheme}://127.0.0.1:9/"), "events": ["file.uploaded"]});
        let answer = alice.post("/v1/buckets/b1/webhooks", &loopback).await;
        if scheme == "http" {
            answer.expect(201);
        } else {
            answer.expect_invalid(400, "body", "url");
        }
    }
}

/// Creations that all pass the service's check at once (each waits on its URL's DNS lookup
/// after it): only the store's count holds the limit, and a deletion frees one place, once.
#[tokio::test]
async fn concurrent_creations_stop_at_the_limit() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("b1", &json!({})).await;
    let body = json!({"url": HOOK, "events": ["data.updated"]});
    let answers = join_all((0..25).map(|_| alice.post("/v1/buckets/b1/webhooks", &body))).await;
    let created: Vec<_> = answers.iter().filter(|r| r.status() == 201).collect();
    assert_eq!(created.len(), MAX_WEBHOOKS_PER_BUCKET);
    for refused in answers.iter().filter(|r| r.status() != 201) {
        assert_eq!(refused.status(), 400);
        assert_eq!(refused.json()["details"][0]["name"], "url");
    }
    let listed = alice
        .get("/v1/buckets/b1/webhooks")
        .await
        .expect(200)
        .json();
    assert_eq!(
        listed["data"].as_array().unwrap().len(),
        MAX_WEBHOOKS_PER_BUCKET
    );

    let first = format!(
        "/v1/buckets/b1/webhooks/{}",
        created[0].json()["data"]["id"].as_str().unwrap()
    );
    alice.delete(&first).await.expect(200);
    alice.delete(&first).await.expect(404);
    alice
        .post("/v1/buckets/b1/webhooks", &body)
        .await
        .expect(201);
    alice
        .post("/v1/buckets/b1/webhooks", &body)
        .await
        .expect(400);
}

/// A write that loses a race on the count to another (DynamoDB cancels a transaction that
/// meets another on the same item) is tried again: not answered as a missing bucket, nor as a
/// deletion that did not happen.
#[tokio::test]
async fn a_write_that_loses_a_race_on_the_count_is_tried_again() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("b1", &json!({})).await;
    let body = json!({"url": HOOK, "events": ["data.updated"]});
    // The bucket read, the early count, then the creating write loses.
    env.store.fail_call(2, StoreError::Conflict);
    let created = alice
        .post("/v1/buckets/b1/webhooks", &body)
        .await
        .expect(201)
        .json();
    assert!(!env.store.faults_pending());
    let path = format!(
        "/v1/buckets/b1/webhooks/{}",
        created["data"]["id"].as_str().unwrap()
    );
    alice.get(&path).await.expect(200);
    // The bucket and webhook reads, then the deleting write loses.
    env.store.fail_call(2, StoreError::Conflict);
    alice.delete(&path).await.expect(200);
    assert!(!env.store.faults_pending());
    alice.get(&path).await.expect(404);
}

#[tokio::test]
async fn events_are_delivered_signed_retried_and_never_twice_per_attempt() {
    let env = Env::with(&[("WEBHOOK_RETRY_PERCENT", "0")]);
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("b1", &json!({})).await;
    let generation = env.generation("b1").await;
    let created = alice
        .post(
            "/v1/buckets/b1/webhooks",
            &json!({"url": HOOK, "events": ["file.uploaded"], "glob": "*.csv"}),
        )
        .await
        .expect(201)
        .json();
    let secret = created["secret"].as_str().unwrap().to_string();
    let wid = created["data"]["id"].as_str().unwrap().to_string();
    let changes = vec![
        file_upload("b1", &generation, "a.csv", 1),
        file_upload("b1", &generation, "b.txt", 2),
    ];
    let services = &env.app.services;
    let done = services.queue_events(&env.queue, &changes).await.unwrap();
    assert_eq!((done.events, done.deliveries), (1, 1), "b.txt is not *.csv");
    // The stream delivers the batch again before any attempt: the attempt is queued again,
    // but only one message makes it.
    services.queue_events(&env.queue, &changes).await.unwrap();
    env.sender.script([
        Answer::Status(500),
        Answer::Failed("connection refused".into()),
    ]);
    let outcomes = drain(&env).await;
    assert_eq!(
        outcomes,
        [
            Attempted::Retrying(2),
            Attempted::Duplicate,
            Attempted::Retrying(3),
            Attempted::Delivered(200)
        ]
    );
    let sent = env.sender.requests();
    assert_eq!(sent.len(), 3, "three attempts");
    let ids: Vec<&str> = sent
        .iter()
        .map(|r| r.header("webhook-id").unwrap())
        .collect();
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "one webhook-id: {ids:?}"
    );
    assert!(sent.iter().all(|r| verifies(r, &secret)));
    let payload: Value = serde_json::from_str(&sent[0].body).unwrap();
    assert_eq!(payload["type"], "file.uploaded");
    assert_eq!(payload["data"]["file"]["name"], "a.csv");
    assert_eq!(payload["data"]["sequence"], 1);

    // The stream delivers it once more, after delivery: nothing is sent.
    services.queue_events(&env.queue, &changes).await.unwrap();
    assert!(drain(&env).await.is_empty());
    let list = alice
        .get(&format!("/v1/buckets/b1/webhooks/{wid}/deliveries"))
        .await
        .expect(200)
        .json();
    let d = &list["data"][0];
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert_eq!(
        (d["status"].clone(), d["attempts"].clone()),
        (json!("delivered"), json!(3))
    );
    assert_eq!(d["last_status"], 200);

    // A redelivery starts a new round; a ping reaches it whatever its events.
    let did = d["id"].as_str().unwrap();
    alice
        .post(
            &format!("/v1/buckets/b1/webhooks/{wid}/deliveries/{did}/redeliver"),
            &json!({}),
        )
        .await
        .expect(202);
    let ping = alice
        .post(&format!("/v1/buckets/b1/webhooks/{wid}/ping"), &json!({}))
        .await
        .expect(202)
        .json();
    assert_eq!(ping["data"]["event"], "webhook.ping");
    assert_eq!(
        drain(&env).await,
        [Attempted::Delivered(200), Attempted::Delivered(200)]
    );
    let last = env.sender.requests().pop().unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&last.body).unwrap()["data"]["sequence"],
        0,
        "a ping is no change of the bucket: no number of its sequence"
    );

    // Pings in a row are one ping per window (four calls can straddle one window's end): a
    // repeat answers the window's delivery and sends nothing.
    let sent_before = env.sender.requests().len();
    let mut ids = vec![ping["data"]["id"].as_str().unwrap().to_string()];
    for _ in 0..3 {
        let again = alice
            .post(&format!("/v1/buckets/b1/webhooks/{wid}/ping"), &json!({}))
            .await
            .expect(202)
            .json();
        ids.push(again["data"]["id"].as_str().unwrap().to_string());
    }
    ids.dedup();
    assert!(ids.len() <= 2, "{ids:?}");
    drain(&env).await;
    assert_eq!(env.sender.requests().len() - sent_before, ids.len() - 1);
}

#[tokio::test]
async fn the_last_failure_is_dead_lettered_and_410_turns_the_webhook_off() {
    let env = Env::with(&[("WEBHOOK_RETRY_PERCENT", "0")]);
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("b1", &json!({})).await;
    let generation = env.generation("b1").await;
    alice
        .post(
            "/v1/buckets/b1/webhooks",
            &json!({"url": HOOK, "events": ["file.uploaded"]}),
        )
        .await
        .expect(201);
    let services = &env.app.services;
    let attempts = RETRY_SCHEDULE_SECS.len() + 1;
    env.sender
        .script(std::iter::repeat_n(Answer::Status(503), attempts));
    services
        .queue_events(&env.queue, &[file_upload("b1", &generation, "x.csv", 1)])
        .await
        .unwrap();
    let outcomes = drain(&env).await;
    assert_eq!(outcomes.len(), attempts);
    assert_eq!(outcomes.last(), Some(&Attempted::Failed));
    assert_eq!(env.queue.dead.lock().unwrap().len(), 1);

    let gone = alice
        .post(
            "/v1/buckets/b1/webhooks",
            &json!({"url": HOOK, "events": ["data.updated"]}),
        )
        .await
        .expect(201)
        .json();
    let wid = gone["data"]["id"].as_str().unwrap().to_string();
    env.sender.script([Answer::Status(410)]);
    alice
        .post(&format!("/v1/buckets/b1/webhooks/{wid}/ping"), &json!({}))
        .await
        .expect(202);
    assert_eq!(drain(&env).await, [Attempted::Failed]);
    let read = alice
        .get(&format!("/v1/buckets/b1/webhooks/{wid}"))
        .await
        .expect(200)
        .json();
    assert_eq!(read["data"]["active"], false);
    assert!(
        read["data"]["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("410")
    );
}

#[tokio::test]
async fn a_deleted_bucket_sends_bucket_deleted_once() {
    let env = Env::with(&[("WEBHOOK_RETRY_PERCENT", "0")]);
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("b1", &json!({})).await;
    let generation = env.generation("b1").await;
    alice
        .post(
            "/v1/buckets/b1/webhooks",
            &json!({"url": HOOK, "events": ["bucket.deleted", "file.deleted"]}),
        )
        .await
        .expect(201);
    let services = &env.app.services;
    alice
        .post(
            "/v1/buckets/b1/webhooks",
            &json!({"url": HOOK, "events": ["file.uploaded"]}),
        )
        .await
        .expect(201);
    // An upload's event still failing when the bucket goes (its retry is queued).
    env.sender.script([Answer::Status(500)]);
    services
        .queue_events(&env.queue, &[file_upload("b1", &generation, "late.csv", 1)])
        .await
        .unwrap();
    for (m, _) in env.queue.take() {
        services.deliver(&env.queue, &env.sender, &m).await.unwrap();
    }
    // The deletion, then (same batch) a change made before it that the stream hands over
    // after it: nothing but `bucket.deleted` is sent, and the queued retry is dropped.
    let deletion = [
        bucket_deletion("b1", &generation),
        file_upload("b1", &generation, "after.csv", 2),
    ];
    let done = services.queue_events(&env.queue, &deletion).await.unwrap();
    assert_eq!(done.deliveries, 1);
    services.queue_events(&env.queue, &deletion).await.unwrap();
    assert_eq!(
        drain(&env).await,
        [
            Attempted::Dropped,
            Attempted::Delivered(200),
            Attempted::Duplicate
        ]
    );
    let sent = env.sender.requests();
    assert_eq!(
        sent.len(),
        2,
        "the failed upload attempt, then bucket.deleted"
    );
    let body: Value = serde_json::from_str(&sent[1].body).unwrap();
    assert_eq!(body["type"], "bucket.deleted");
    assert_eq!(body["data"]["bucket_id"], "b1");
}
