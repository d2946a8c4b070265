//! A bucket's webhooks on the stack: changes reach receivers signed (Standard Webhooks), failed
//! attempts are retried with the same `webhook-id`, a receiver that is down holds nobody else
//! up, a bucket's deletion is its last event, only public addresses are accepted, a
//! ping reaches the receiver, and creations sent at once stop at the limit.
//!
//! Each test starts its own receiver: `infra/local/webhook_receiver.py` run by the Python of
//! the `.local/webhooks` virtualenv (`make e2e` installs it from
//! `infra/local/requirements-webhooks.txt`; the `standardwebhooks` library verifies every
//! delivery), on a free port of 127.0.0.1. It is killed when the test ends, and exits by itself
//! when the test process goes away (its standard input closes). The tests drive it through its
//! control API (secrets, scripted answers, what it received). The local stack lets loopback
//! `http` URLs through (`WEBHOOKS_ALLOW_LOOPBACK=true`) and waits 1 % of the retry schedule
//! (`WEBHOOK_RETRY_PERCENT=1`: 0.05 s after attempt 1, 3 s after attempt 2). Deliveries are
//! asynchronous (stream → activity function → queue → webhooks function): every wait polls.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use buckets_e2e::{Caller, Upload, unique, wait_until_gone};
use serde_json::{Value, json};

/// How long a delivery may take to arrive (or to be listed as it should be).
const WAIT: Duration = Duration::from_secs(30);

/// A running `webhook_receiver.py`, killed when dropped (the command line's tests use it too).
pub(crate) struct Receiver {
    child: Child,
    port: u16,
    control: Caller,
}

impl Receiver {
    pub(crate) fn start() -> Receiver {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let python = root.join(".local/webhooks/bin/python3");
        assert!(
            python.exists(),
            "{} is missing: `make e2e` creates the webhooks virtualenv (.local/webhooks.stamp)",
            python.display()
        );
        let mut child = Command::new(&python)
            .arg(root.join("infra/local/webhook_receiver.py"))
            .args(["--port", "0", "--exit-on-eof"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("start the webhook receiver: {e}"));
        // Its first and only line of output is the port it listens on.
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("the webhook receiver printed {line:?}, not its port"));
        Receiver {
            child,
            port,
            control: Caller::anonymous(),
        }
    }

    /// The receiver's URL for `path` (what a webhook is created with).
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Deliveries to `path` are verified with `secret`.
    pub(crate) fn secret(&self, path: &str, secret: &str) {
        self.control
            .post(
                &self.url("/_control/secret"),
                &json!({"path": path, "secret": secret}),
            )
            .expect(200);
    }

    /// The next deliveries to `path` are answered `statuses`, in order (then 200).
    fn script(&self, path: &str, statuses: &[u16]) {
        self.control
            .post(
                &self.url("/_control/script"),
                &json!({"path": path, "statuses": statuses}),
            )
            .expect(200);
    }

    /// What `path` received, oldest first: `{webhook_id, timestamp, verified, verify_error,
    /// body, status_answered, received_at}` each.
    fn received(&self, path: &str) -> Vec<Value> {
        self.control
            .get(&self.url(&format!("/_control/received?path={path}")))
            .expect(200)
            .json()
            .as_array()
            .unwrap()
            .clone()
    }

    /// What `path` received, once it holds at least `n` deliveries (at most `WAIT`).
    pub(crate) fn wait_for(&self, path: &str, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + WAIT;
        loop {
            let got = self.received(path);
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "{path} received {} of {n} deliveries in {WAIT:?}: {got:#?}",
                got.len()
            );
            sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn owner() -> Caller {
    Caller::user("hook", &["create_buckets"])
}

/// Creates a webhook of `bucket` to the receiver's `path` and gives the receiver its secret;
/// returns the answer (`{"data": webhook, "secret"}`).
fn create_webhook(
    caller: &Caller,
    bucket: &str,
    receiver: &Receiver,
    path: &str,
    events: &[&str],
) -> Value {
    let created = caller
        .post(
            &format!("/v1/buckets/{bucket}/webhooks"),
            &json!({"url": receiver.url(path), "events": events}),
        )
        .expect(201)
        .json();
    let secret = created["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"), "{created}");
    receiver.secret(path, secret);
    created
}

fn id_of(created: &Value) -> String {
    created["data"]["id"].as_str().unwrap().to_string()
}

/// The first delivery of webhook `wid` that `ok` accepts, polled for at most `WAIT`.
fn wait_delivery(
    caller: &Caller,
    bucket: &str,
    wid: &str,
    what: &str,
    ok: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let listed = caller
            .get(&format!("/v1/buckets/{bucket}/webhooks/{wid}/deliveries"))
            .expect(200)
            .json();
        if let Some(d) = listed["data"].as_array().unwrap().iter().find(|d| ok(d)) {
            return d.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no delivery of {wid} is {what} after {WAIT:?}: {listed:#}"
        );
        sleep(Duration::from_millis(250));
    }
}

/// A loopback port nothing listens on (bound, then closed).
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn an_upload_reaches_its_webhook_signed() {
    let alice = owner();
    let id = unique("whup-");
    alice.create_bucket(&id, &json!({}));
    let receiver = Receiver::start();
    let created = create_webhook(&alice, &id, &receiver, "/uploads", &["file.uploaded"]);
    let hook = &created["data"];
    let wid = id_of(&created);
    assert!(wid.starts_with("wh_"), "{created}");
    assert_eq!(hook["bucket_id"], id);
    assert_eq!(hook["url"], receiver.url("/uploads"));
    assert_eq!(hook["events"], json!(["file.uploaded"]));
    assert_eq!(hook["active"], true);
    assert_eq!(hook["created_by"], alice.principal());
    for k in ["created", "last_modified"] {
        assert!(hook[k].is_i64(), "{k} in {created}");
    }
    // The secret is shown once: reading the webhook leaves it out.
    let read = alice
        .get(&format!("/v1/buckets/{id}/webhooks/{wid}"))
        .expect(200)
        .json();
    assert_eq!(read["data"]["id"], wid);
    assert!(
        !read
            .to_string()
            .contains(created["secret"].as_str().unwrap()),
        "{read}"
    );

    alice.upload(&id, "report.csv", b"a,b\n1,2\n", "text/csv");
    let got = receiver.wait_for("/uploads", 1);
    let d = &got[0];
    assert_eq!(d["verified"], true, "the signature does not verify: {d:#}");
    let body = &d["body"];
    assert_eq!(body["type"], "file.uploaded", "{d:#}");
    assert!(body["timestamp"].is_string(), "{d:#}");
    assert_eq!(body["data"]["bucket_id"], id, "{d:#}");
    assert_eq!(body["data"]["file"]["name"], "report.csv", "{d:#}");
    assert_eq!(body["data"]["user_id"], alice.principal(), "{d:#}");
    assert!(body["data"]["sequence"].is_i64(), "{d:#}");

    // Listed as delivered in one attempt; its event id is the webhook-id the receiver saw.
    let listed = wait_delivery(&alice, &id, &wid, "delivered", |x| {
        x["status"] == "delivered"
    });
    assert_eq!(listed["event_id"], d["webhook_id"], "{listed}");
    assert_eq!(listed["event"], "file.uploaded", "{listed}");
    assert_eq!(listed["attempts"], 1, "{listed}");
    assert_eq!(listed["last_status"], 200, "{listed}");
    // One upload, one delivery.
    sleep(Duration::from_secs(2));
    assert_eq!(receiver.received("/uploads").len(), 1);
}

#[test]
fn a_failing_receiver_gets_the_event_again_with_the_same_id_until_it_takes_it() {
    let alice = owner();
    let id = unique("whretry-");
    alice.create_bucket(&id, &json!({}));
    let receiver = Receiver::start();
    receiver.script("/flaky", &[500, 500]);
    let wid = id_of(&create_webhook(
        &alice,
        &id,
        &receiver,
        "/flaky",
        &["file.uploaded"],
    ));

    alice.upload(&id, "retry.txt", b"again", "text/plain");
    let got = receiver.wait_for("/flaky", 3);
    let answered: Vec<u64> = got
        .iter()
        .map(|d| d["status_answered"].as_u64().unwrap())
        .collect();
    assert_eq!(answered, [500, 500, 200], "{got:#?}");
    for d in &got {
        assert_eq!(d["webhook_id"], got[0]["webhook_id"], "{got:#?}");
        assert_eq!(d["verified"], true, "{got:#?}");
        assert_eq!(d["body"]["data"]["file"]["name"], "retry.txt", "{got:#?}");
    }
    // The wait after the second attempt is 300 s x 1 % = 3 s.
    let at: Vec<i64> = got
        .iter()
        .map(|d| d["received_at"].as_i64().unwrap())
        .collect();
    assert!(at[2] - at[1] >= 2_500, "attempts 2 and 3 at {at:?} (ms)");

    let listed = wait_delivery(&alice, &id, &wid, "delivered", |x| {
        x["status"] == "delivered"
    });
    assert_eq!(listed["attempts"], 3, "{listed}");
    assert_eq!(listed["last_status"], 200, "{listed}");
    assert_eq!(listed["event_id"], got[0]["webhook_id"], "{listed}");
    // Delivered: no fourth attempt.
    sleep(Duration::from_secs(3));
    assert_eq!(receiver.received("/flaky").len(), 3);
}

#[test]
fn a_receiver_that_is_down_holds_up_no_other_webhook() {
    let alice = owner();
    let id = unique("whdown-");
    alice.create_bucket(&id, &json!({}));
    let down = alice
        .post(
            &format!("/v1/buckets/{id}/webhooks"),
            &json!({"url": format!("http://127.0.0.1:{}/down", closed_port()),
                    "events": ["file.uploaded"]}),
        )
        .expect(201)
        .json();
    let receiver = Receiver::start();
    create_webhook(&alice, &id, &receiver, "/up", &["file.uploaded"]);

    alice.upload(&id, "both.txt", b"to both", "text/plain");
    let got = receiver.wait_for("/up", 1);
    assert_eq!(got[0]["verified"], true, "{got:#?}");
    assert_eq!(got[0]["body"]["data"]["file"]["name"], "both.txt");
    // The other one was tried, failed, and waits for its next attempt.
    let failed = wait_delivery(&alice, &id, &id_of(&down), "a failed attempt", |x| {
        x["attempts"].as_u64().unwrap_or(0) >= 1 && !x["last_error"].is_null()
    });
    assert_ne!(failed["status"], "delivered", "{failed}");
    assert_eq!(failed["event_id"], got[0]["webhook_id"], "{failed}");
}

#[test]
fn a_deleted_bucket_sends_bucket_deleted_and_nothing_after() {
    let alice = owner();
    let id = unique("whgone-");
    alice.create_bucket(&id, &json!({}));
    let upload = Upload {
        grant: alice
            .grant(&id, &[("doomed.csv", 4, "text/csv")])
            .expect(201)
            .json()["files"][0]
            .clone(),
    };
    upload.put(b"a,b\n", &[]).expect(200);
    let status = alice.wait_upload(&id, &upload.upload_id());
    assert_eq!(status["status"], "recorded", "{status}");
    let generation = upload.generation();
    let receiver = Receiver::start();
    // Subscribed to what the deletion's cascade could seem to make too (its files go).
    create_webhook(
        &alice,
        &id,
        &receiver,
        "/gone",
        &[
            "bucket.deleted",
            "bucket.updated",
            "data.updated",
            "file.deleted",
        ],
    );

    alice.delete(&format!("/v1/buckets/{id}")).expect(200);
    let got = receiver.wait_for("/gone", 1);
    let d = &got[0];
    assert_eq!(d["verified"], true, "{d:#}");
    assert_eq!(d["body"]["type"], "bucket.deleted", "{got:#?}");
    assert_eq!(d["body"]["data"]["bucket_id"], id, "{d:#}");

    // Once the cascade is over (and its stream records read), still that one event.
    wait_until_gone(&id, &generation, 60);
    sleep(Duration::from_secs(3));
    let all = receiver.received("/gone");
    assert_eq!(all.len(), 1, "events after bucket.deleted: {all:#?}");
}

#[test]
fn private_and_metadata_addresses_and_non_writers_are_refused() {
    let alice = owner();
    let bob = Caller::user("bob", &[]);
    let eve = Caller::user("eve", &[]);
    let id = unique("whssrf-");
    alice.create_bucket(&id, &json!({"permissions": {"read": [bob.principal()]}}));
    let hooks = format!("/v1/buckets/{id}/webhooks");
    for url in [
        "http://10.0.0.1/hook",
        "https://10.1.2.3/",
        "http://172.16.0.1/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:10.0.0.1]/",
        "http://[::ffff:169.254.169.254]/",
        "https://[fd00:ec2::254]/",
        "http://[fe80::1]/",
        "http://100.64.0.1/",
        "http://0.0.0.0:8080/",
        "ftp://example.com/",
        "https://user:pw@example.com/",
    ] {
        let err = alice
            .post(&hooks, &json!({"url": url, "events": ["file.uploaded"]}))
            .expect_error(400, 107);
        assert_eq!(err["details"][0]["name"], "url", "{url}: {err}");
    }
    let listed = alice.get(&hooks).expect(200).json();
    assert!(listed["data"].as_array().unwrap().is_empty(), "{listed}");

    // Only writers manage webhooks: a reader and a stranger are refused.
    let receiver = Receiver::start();
    let body = json!({"url": receiver.url("/x"), "events": ["file.uploaded"]});
    bob.post(&hooks, &body).expect(403);
    bob.get(&hooks).expect(403);
    eve.post(&hooks, &body).expect(403);
    alice.post(&hooks, &body).expect(201);
}

#[test]
fn a_ping_reaches_the_receiver_and_can_be_redelivered() {
    let alice = owner();
    let id = unique("whping-");
    alice.create_bucket(&id, &json!({}));
    let receiver = Receiver::start();
    // A ping is sent whatever the webhook subscribes to.
    let wid = id_of(&create_webhook(
        &alice,
        &id,
        &receiver,
        "/ping",
        &["data.updated"],
    ));
    let hook = format!("/v1/buckets/{id}/webhooks/{wid}");

    let answered = alice
        .post(&format!("{hook}/ping"), &json!({}))
        .expect(202)
        .json();
    let delivery = &answered["data"];
    assert_eq!(delivery["event"], "webhook.ping", "{answered}");
    let got = receiver.wait_for("/ping", 1);
    let d = &got[0];
    assert_eq!(d["verified"], true, "{d:#}");
    assert_eq!(d["body"]["type"], "webhook.ping", "{d:#}");
    assert_eq!(d["body"]["data"]["bucket_id"], id, "{d:#}");
    assert_eq!(d["webhook_id"], delivery["event_id"], "{d:#} {answered}");

    // Redelivered once delivered: the same message (webhook-id) again.
    let did = delivery["id"].as_str().unwrap().to_string();
    wait_delivery(&alice, &id, &wid, "the delivered ping", |x| {
        x["id"] == did && x["status"] == "delivered"
    });
    alice
        .post(&format!("{hook}/deliveries/{did}/redeliver"), &json!({}))
        .expect(202);
    let again = receiver.wait_for("/ping", 2);
    assert_eq!(again[1]["verified"], true, "{again:#?}");
    assert_eq!(again[1]["webhook_id"], d["webhook_id"], "{again:#?}");

    alice.delete(&hook).expect(200);
    alice.get(&hook).expect(404);
}

#[test]
fn every_kind_of_change_is_an_event_numbered_in_order() {
    let alice = owner();
    let id = unique("whall-");
    alice.create_bucket(&id, &json!({"data": {"limits": {"max_bytes": 15}}}));
    let receiver = Receiver::start();
    create_webhook(
        &alice,
        &id,
        &receiver,
        "/all",
        &[
            "bucket.updated",
            "data.updated",
            "file.uploaded",
            "file.deleted",
            "file.rejected",
        ],
    );
    let mut want = vec![];
    let mut step = |what: &str| {
        want.push(what.to_string());
        receiver.wait_for("/all", want.len())
    };
    // Two grants of 10 bytes for a quota of 15: the first fits, the second is rejected.
    let grant = |name: &str| Upload {
        grant: alice
            .grant(&id, &[(name, 10, "text/csv")])
            .expect(201)
            .json()["files"][0]
            .clone(),
    };
    let (first, second) = (grant("a.csv"), grant("b.csv"));
    first.put(b"0123456789", &[]).expect(200);
    step("file.uploaded");
    second.put(b"0123456789", &[]).expect(200);
    let got = step("file.rejected");
    let rejected = &got[1]["body"]["data"];
    assert_eq!(rejected["file"]["name"], "b.csv", "{got:#?}");
    assert!(
        rejected["reason"].as_str().unwrap().contains("quota"),
        "{got:#?}"
    );
    alice
        .put(
            &format!("/v1/buckets/{id}/data"),
            &json!({"data": {"n": 1}}),
        )
        .expect(200);
    step("data.updated");
    alice
        .patch(
            &format!("/v1/buckets/{id}"),
            "application/json",
            &json!({"data": {"title": "renamed"}}),
        )
        .expect(200);
    step("bucket.updated");
    alice
        .delete(&format!("/v1/buckets/{id}/files/a.csv"))
        .expect(200);
    let got = step("file.deleted");

    let types: Vec<&str> = got
        .iter()
        .map(|d| d["body"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, want, "{got:#?}");
    assert!(got.iter().all(|d| d["verified"] == true), "{got:#?}");
    let sequence: Vec<i64> = got
        .iter()
        .map(|d| d["body"]["data"]["sequence"].as_i64().unwrap())
        .collect();
    assert!(
        sequence.windows(2).all(|w| w[0] < w[1]),
        "the bucket's sequence numbers its events in order: {sequence:?}"
    );
}

/// Creations sent at once all pass the API's first check; the store's count in the creating
/// transaction holds the limit, and a deletion frees one place, once.
#[test]
fn concurrent_creations_stop_at_the_limit() {
    const LIMIT: usize = 20;
    let alice = owner();
    let id = unique("whmax-");
    alice.create_bucket(&id, &json!({}));
    let receiver = Receiver::start();
    let hooks = format!("/v1/buckets/{id}/webhooks");
    let body = json!({"url": receiver.url("/many"), "events": ["data.updated"]});
    let answers: Vec<(u16, Value)> = std::thread::scope(|s| {
        let sent: Vec<_> = (0..LIMIT + 6)
            .map(|_| {
                let (alice, hooks, body) = (alice.clone(), &hooks, &body);
                s.spawn(move || {
                    let r = alice.post(hooks, body);
                    (r.status, r.json())
                })
            })
            .collect();
        sent.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let created: Vec<&Value> = answers
        .iter()
        .filter(|(status, _)| *status == 201)
        .map(|(_, body)| body)
        .collect();
    assert_eq!(created.len(), LIMIT, "{answers:?}");
    for (status, body) in answers.iter().filter(|(status, _)| *status != 201) {
        assert_eq!(*status, 400, "{body}");
        assert_eq!(body["details"][0]["name"], "url", "{body}");
    }
    let listed = alice.get(&hooks).expect(200).json();
    assert_eq!(listed["data"].as_array().unwrap().len(), LIMIT, "{listed}");

    let first = format!("{hooks}/{}", id_of(created[0]));
    alice.delete(&first).expect(200);
    alice.delete(&first).expect(404);
    alice.post(&hooks, &body).expect(201);
    alice.post(&hooks, &body).expect_error(400, 107);
}

/// Polls webhook `wid` of `bucket` until `ok` accepts it (at most `WAIT`).
fn wait_webhook(caller: &Caller, bucket: &str, wid: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let hook = caller
            .get(&format!("/v1/buckets/{bucket}/webhooks/{wid}"))
            .expect(200)
            .json()["data"]
            .clone();
        if ok(&hook) {
            return hook;
        }
        assert!(Instant::now() < deadline, "webhook {wid}: {hook:#}");
        sleep(Duration::from_millis(250));
    }
}

/// A writer's webhook sends the bucket's events only while the writer may write it: removed
/// from the ACL, the webhook is suspended (the history says so) and sends nothing, until a
/// current writer's `PATCH` naming its URL takes it over.
#[test]
fn a_removed_writers_webhook_sends_nothing_until_a_writer_takes_it_over() {
    let alice = owner();
    let bob = Caller::user("hook-bob", &[]);
    let id = unique("whorigin-");
    alice.create_bucket(
        &id,
        &json!({"permissions": {"write": [alice.principal(), bob.principal()]}}),
    );
    let receiver = Receiver::start();
    let created = create_webhook(&bob, &id, &receiver, "/bob", &["file.uploaded"]);
    let wid = id_of(&created);
    assert_eq!(created["data"]["owner"], bob.principal());
    alice.upload(&id, "one.csv", b"1\n", "text/csv");
    receiver.wait_for("/bob", 1);

    alice
        .patch(
            &format!("/v1/buckets/{id}"),
            "application/json",
            &json!({"permissions": {"write": [alice.principal()]}}),
        )
        .expect(200);
    let suspended = wait_webhook(&alice, &id, &wid, |h| h["suspended"] == true);
    assert!(
        suspended["suspended_reason"]
            .as_str()
            .unwrap()
            .contains(&bob.principal()),
        "{suspended}"
    );
    alice.upload(&id, "two.csv", b"2\n", "text/csv");
    // The suspension is in the history, as the service's change.
    let deadline = Instant::now() + WAIT;
    loop {
        let history = alice
            .get(&format!(
                "/v1/buckets/{id}/history?resource_name=webhook&action=update"
            ))
            .expect(200)
            .json();
        if history["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["user_id"] == "system.Buckets" && e["target"]["data"]["suspended"] == true)
        {
            break;
        }
        assert!(Instant::now() < deadline, "{history:#}");
        sleep(Duration::from_millis(250));
    }
    sleep(Duration::from_secs(3));
    assert_eq!(
        receiver.received("/bob").len(),
        1,
        "nothing sent while suspended"
    );

    // A takeover names where it sends: the removed writer chose the URL.
    let refused = alice
        .patch(
            &format!("/v1/buckets/{id}/webhooks/{wid}"),
            "application/json",
            &json!({}),
        )
        .expect_error(400, 107);
    assert_eq!(refused["details"][0]["name"], "url", "{refused}");
    let taken = alice
        .patch(
            &format!("/v1/buckets/{id}/webhooks/{wid}"),
            "application/json",
            &json!({"url": receiver.url("/bob")}),
        )
        .expect(200)
        .json();
    assert_eq!(taken["data"]["owner"], alice.principal());
    assert_eq!(taken["data"]["suspended"], false);
    alice.upload(&id, "three.csv", b"3\n", "text/csv");
    let got = receiver.wait_for("/bob", 2);
    assert!(got[1]["body"].to_string().contains("three.csv"), "{got:#?}");
}

/// A webhook made with an API key stops at its next attempt once the key is revoked.
#[test]
fn a_webhook_made_by_a_revoked_key_sends_nothing() {
    let alice = owner();
    let id = unique("whkey-");
    alice.create_bucket(&id, &json!({}));
    let created = alice
        .post("/v1/keys", &json!({"title": "hooks"}))
        .expect(201)
        .json();
    let key_id = created["data"]["id"].as_str().unwrap().to_string();
    let key = Caller::with_token(created["secret"].as_str().unwrap().to_string());
    let receiver = Receiver::start();
    let hook = create_webhook(&key, &id, &receiver, "/key", &["file.uploaded"]);
    let wid = id_of(&hook);
    assert_eq!(hook["data"]["owner"], format!("key:{key_id}"));
    alice.upload(&id, "one.csv", b"1\n", "text/csv");
    receiver.wait_for("/key", 1);
    alice.delete(&format!("/v1/keys/{key_id}")).expect(200);
    alice.upload(&id, "two.csv", b"2\n", "text/csv");
    let failed = wait_delivery(&alice, &id, &wid, "suspended", |d| {
        d["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("suspended"))
    });
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(
        receiver.received("/key").len(),
        1,
        "nothing sent after the revocation"
    );
    let read = wait_webhook(&alice, &id, &wid, |h| h["suspended"] == true);
    assert!(
        read["suspended_reason"]
            .as_str()
            .unwrap()
            .contains("revoked"),
        "{read}"
    );
}

/// This machine's IPv4 addresses in a documentation range (RFC 5737: 192.0.2.0/24,
/// 198.51.100.0/24, 203.0.113.0/24), as `ip` lists them (eth0's 192.0.2.2 on the CI machine).
fn documentation_addresses() -> Vec<std::net::Ipv4Addr> {
    let Ok(out) = Command::new("ip")
        .args(["-4", "-o", "addr", "show"])
        .output()
    else {
        return vec![];
    };
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|w| w.split_once('/')?.0.parse::<std::net::Ipv4Addr>().ok())
        .filter(|ip| {
            let [a, b, c, _] = ip.octets();
            matches!((a, b, c), (192, 0, 2) | (198, 51, 100) | (203, 0, 113))
        })
        .collect()
}

/// Only public addresses may be a webhook's, even on the local stack that lets loopback
/// through: a receiver listening on this machine's documentation-range address is refused at
/// creation and on a change (400 naming `url`, saying only that the address is not public),
/// and is never connected to.
#[test]
fn a_receiver_on_a_documentation_address_is_refused_though_loopback_is_allowed() {
    let addresses = documentation_addresses();
    let Some(address) = addresses.first() else {
        println!("SKIPPED: this machine has no address in a documentation range");
        return;
    };
    let listener = TcpListener::bind((*address, 0)).expect("a receiver on the address");
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let alice = owner();
    let id = unique("whdoc-");
    alice.create_bucket(&id, &json!({}));
    let hooks = format!("/v1/buckets/{id}/webhooks");
    for url in [
        format!("http://{address}:{port}/hook"),
        format!("http://[::ffff:{address}]:{port}/hook"),
    ] {
        let err = alice
            .post(&hooks, &json!({"url": url, "events": ["file.uploaded"]}))
            .expect_error(400, 107);
        assert_eq!(err["details"][0]["name"], "url", "{url}: {err}");
        let why = err["details"][0]["description"]
            .as_str()
            .unwrap_or_default();
        assert!(why.contains("not a public address"), "{url}: {err}");
    }
    // A webhook on a loopback receiver (allowed here) cannot be moved there either.
    let receiver = Receiver::start();
    let made = alice
        .post(
            &hooks,
            &json!({"url": receiver.url("/doc"), "events": ["file.uploaded"]}),
        )
        .expect(201)
        .json();
    let wid = made["data"]["id"].as_str().unwrap();
    let err = alice
        .patch(
            &format!("{hooks}/{wid}"),
            "application/json",
            &json!({"url": format!("http://{address}:{port}/hook")}),
        )
        .expect_error(400, 107);
    assert_eq!(err["details"][0]["name"], "url", "{err}");
    sleep(Duration::from_secs(1));
    let accepted = listener.accept();
    assert!(
        matches!(&accepted, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the receiver on {address} was connected to: {accepted:?}"
    );
}
