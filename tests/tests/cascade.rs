//! Delete cascades on the local stack: after a bucket is deleted nothing of it is left in S3 or
//! the table, even when the cascade is killed mid-way, when the bucket is re-created while the
//! old cascade runs, or when an upload lands after the delete; a cascade that keeps failing is
//! dead-lettered and finishes when replayed. Some tests change the cascade function's settings
//! or its trigger (and restore them), and a dead-lettered batch may hold other tests' markers,
//! so every test here takes one lock: they run one after another.
//!
//! A cascade killed mid-way: the deployed function has no fault hook. The crash harness
//! ([`crash_after_deletes`]) runs the real cascade in this process, built as the deployed function
//! builds it, and stops it between two steps; the deployed function, triggered by the stream
//! once its trigger resumes, must then finish what the crashed runs left.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use buckets_e2e::{
    Caller, Upload, function_logs, leftovers, local_script, now_ms, setting, unique,
    wait_until_gone,
};
use serde_json::{Value, json};
use shared::aws::Resources;
use shared::config::Settings;
use shared::service::cascade::{self, Budget};

static CASCADE_SETTINGS: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    CASCADE_SETTINGS.lock().unwrap_or_else(|e| e.into_inner())
}

/// The crash harness: one pass of the cascade `marker` names (`shared::service::cascade` with the
/// AWS adapters of `shared::aws::Resources`, from the SDK configuration the local stack's
/// `.local/env` gives: the emulator's endpoint), run in this process and dropped at its next
/// step once `n` delete calls have been made, as a process killed between two steps. Returns
/// whether it was stopped so (`false`: it finished first).
fn crash_after_deletes(marker: &str, n: u64) -> bool {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let sdk = shared::aws::lambda::sdk_config().await;
        let settings = Settings::from_lookup(|_| None).unwrap();
        let r = Resources::new(
            settings,
            sdk,
            setting("BUCKETS_TABLE"),
            setting("BUCKETS_FILES_BUCKET"),
        );
        let calls = AtomicU64::new(0);
        let killed = tokio::sync::Notify::new();
        let hook = || {
            if calls.fetch_add(1, Ordering::SeqCst) + 1 >= n {
                killed.notify_one();
            }
        };
        let budget = Budget {
            until: Instant::now() + Duration::from_secs(300),
            after_delete_call: &hook,
        };
        tokio::select! {
            biased;
            () = killed.notified() => true,
            out = cascade::process_marker(&r.store, &r.objects, marker, &budget) => {
                out.expect("the harnessed cascade pass failed");
                false
            }
        }
    })
}

/// Everything `leftovers` lists.
fn total(left: &Value) -> usize {
    count(&left["objects"]) + count(&left["items"])
}

/// Runs the crash harness `runs` times on the incarnation's marker, each run stopped after its
/// first delete call: each must leave less than before, and the marker (the cascade pending).
fn crash_repeatedly(id: &str, generation: &str, runs: usize) {
    let marker = format!("{id}#{generation}");
    let mut left = leftovers(id, generation);
    for run in 1..=runs {
        assert!(
            crash_after_deletes(&marker, 1),
            "run {run}: the cascade finished before its first delete call: {left}"
        );
        let now = leftovers(id, generation);
        assert!(has_marker(&now, &marker), "run {run}: {now}");
        assert!(
            total(&now) < total(&left),
            "run {run} deleted nothing: {now}"
        );
        left = now;
    }
}

/// The cascade function's table renamed to one that does not exist (every pass fails); the
/// local stack's table again when dropped, even when an assertion fails.
struct Failing;

impl Failing {
    fn cascade() -> Failing {
        local_script(
            "function_env.py",
            &[
                "--function",
                "BUCKETS_CASCADE_FUNCTION",
                "TABLE_NAME=no-such-table",
            ],
        );
        Failing
    }
}

impl Drop for Failing {
    fn drop(&mut self) {
        local_script(
            "function_env.py",
            &[
                "--function",
                "BUCKETS_CASCADE_FUNCTION",
                &format!("TABLE_NAME={}", setting("BUCKETS_TABLE")),
            ],
        );
    }
}

/// The trigger's MaximumRecordAgeInSeconds, lowered so that a failing batch is dead-lettered at
/// once; the template's value again when dropped.
struct MaxRecordAge;

impl MaxRecordAge {
    fn seconds(s: u32) -> MaxRecordAge {
        local_script("cascade_trigger.py", &["max-age", &s.to_string()]);
        MaxRecordAge
    }
}

impl Drop for MaxRecordAge {
    fn drop(&mut self) {
        local_script("cascade_trigger.py", &["max-age", "21600"]);
    }
}

/// The cascade's stream trigger, paused until dropped.
struct Paused;

impl Paused {
    fn trigger() -> Paused {
        local_script("cascade_trigger.py", &["disable"]);
        Paused
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        local_script("cascade_trigger.py", &["enable"]);
    }
}

fn owner() -> Caller {
    Caller::user("casc", &["create_buckets"])
}

/// A grant that is never used (a pending upload), which also tells the incarnation.
fn generation(caller: &Caller, id: &str) -> String {
    Upload {
        grant: caller
            .grant(id, &[("never-uploaded.bin", 3, "application/octet-stream")])
            .expect(201)
            .json()["data"][0]
            .clone(),
    }
    .generation()
}

/// A bucket with `files` files, 12 data revisions (more than the 10 kept), a deleted file and
/// a pending grant; returns its generation.
fn filled_bucket(caller: &Caller, id: &str, files: usize) -> String {
    caller.create_bucket(id, &json!({"data": {"title": "doomed"}}));
    for i in 0..files {
        caller.upload(
            id,
            &format!("f{i}.csv"),
            format!("{i},x\n").as_bytes(),
            "text/csv",
        );
    }
    caller.upload(id, "deleted.txt", b"bye", "text/plain");
    caller
        .delete(&format!("/v1/buckets/{id}/files/deleted.txt"))
        .expect(200);
    for r in 0..12 {
        caller
            .patch(
                &format!("/v1/buckets/{id}/data"),
                "application/json",
                &json!({"data": {format!("k{r}"): r}}),
            )
            .expect(200);
    }
    generation(caller, id)
}

/// Whether `leftovers` lists a cascade marker whose key starts with `key`.
fn has_marker(leftovers: &Value, key: &str) -> bool {
    leftovers["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i[0] == "CASCADE" && i[1].as_str().unwrap().starts_with(key))
}

fn count(v: &Value) -> usize {
    v.as_array().unwrap().len()
}

#[test]
fn a_deleted_bucket_leaves_nothing_in_s3_or_the_table() {
    let _lock = lock();
    let alice = owner();
    let id = unique("casc-");
    let generation = filled_bucket(&alice, &id, 4);
    let before = leftovers(&id, &generation);
    assert_eq!(count(&before["objects"]), 4, "{before}");
    // 4 records, 6 grants (5 spent, 1 pending), HEAD + 10 kept revisions, the bucket.
    assert_eq!(count(&before["items"]), 4 + 6 + 11 + 1, "{before}");

    alice.delete(&format!("/v1/buckets/{id}")).expect(200);
    wait_until_gone(&id, &generation, 60);
    alice.get(&format!("/v1/buckets/{id}")).expect(403);
    let listed = alice.get("/v1/buckets").expect(200).json();
    assert!(
        !listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["id"] == id.as_str())
    );
}

#[test]
fn a_cascade_killed_mid_way_is_redelivered_and_completes() {
    let _lock = lock();
    let alice = owner();
    let id = unique("kill-");
    let generation = filled_bucket(&alice, &id, 10);
    let since = {
        let _paused = Paused::trigger();
        alice.delete(&format!("/v1/buckets/{id}")).expect(200);
        // 1 DeleteObjects and 2 BatchWriteItems (10 + 11 + 11 + 1 marker... items): two runs
        // killed after their first delete call each leave part of it, and the marker.
        crash_repeatedly(&id, &generation, 2);
        now_ms()
        // The trigger resumes here: the deployed function finishes what is left.
    };
    wait_until_gone(&id, &generation, 120);
    let finished = function_logs("BUCKETS_CASCADE_FUNCTION", since, "cascade finished");
    assert!(
        finished
            .iter()
            .any(|f| f["marker"] == format!("{id}#{generation}").as_str()),
        "{finished:?}"
    );
}

#[test]
fn re_creating_a_bucket_while_its_old_cascade_runs_keeps_the_new_content() {
    let _lock = lock();
    let alice = owner();
    let id = unique("again-");
    let old_generation = {
        let _paused = Paused::trigger();
        let old = filled_bucket(&alice, &id, 2);
        alice.delete(&format!("/v1/buckets/{id}")).expect(200);
        // Same id, new incarnation, same file names, while the old cascade waits.
        alice.create_bucket(&id, &json!({"data": {"title": "reborn"}}));
        alice.upload(&id, "f0.csv", b"new content", "text/csv");
        alice.upload(&id, "extra.txt", b"extra", "text/plain");
        alice
            .patch(
                &format!("/v1/buckets/{id}/data"),
                "application/json",
                &json!({"data": {"fresh": true}}),
            )
            .expect(200);
        let left = leftovers(&id, &old);
        assert_eq!(
            count(&left["objects"]),
            2,
            "the old cascade ran early: {left}"
        );
        // The old cascade, killed mid-way twice.
        crash_repeatedly(&id, &old, 2);
        old
        // The trigger resumes here; the deployed function finishes the old cascade.
    };
    wait_until_gone(&id, &old_generation, 120);

    let files = alice
        .get(&format!("/v1/buckets/{id}/files"))
        .expect(200)
        .json();
    let names: Vec<&str> = files["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["extra.txt", "f0.csv"]);
    let link = alice
        .get(&format!("/v1/buckets/{id}/files/f0.csv?json"))
        .expect(200)
        .json();
    let body = Caller::anonymous()
        .get(link["url"].as_str().unwrap())
        .expect(200);
    assert_eq!(body.bytes, b"new content");
    let data = alice
        .get(&format!("/v1/buckets/{id}/data"))
        .expect(200)
        .json();
    assert_eq!(data["data"], json!({"fresh": true}));
    let bucket = alice.get(&format!("/v1/buckets/{id}")).expect(200).json();
    assert_eq!(bucket["data"]["file_count"], 2);
}

#[test]
fn an_upload_after_the_delete_leaves_no_object_behind() {
    let _lock = lock();
    let alice = owner();
    let id = unique("late-");
    alice.create_bucket(&id, &json!({}));
    let upload = Upload {
        grant: alice
            .grant(&id, &[("late.txt", 4, "text/plain")])
            .expect(201)
            .json()["data"][0]
            .clone(),
    };
    let generation = upload.generation();
    alice.delete(&format!("/v1/buckets/{id}")).expect(200);
    wait_until_gone(&id, &generation, 60);
    // The presigned URL still works at S3 (it has not expired)...
    upload.put(b"late", &[]).expect(200);
    // ...but the upload-events function removes what no live bucket owns, and records nothing.
    wait_until_gone(&id, &generation, 60);
}

#[test]
fn delete_all_removes_only_the_callers_writable_buckets_and_their_content() {
    let _lock = lock();
    let alice = owner();
    let bob = owner();
    let a1 = unique("a1-");
    let a2 = unique("a2-");
    let b_read = unique("bread-");
    let b_write = unique("bwrite-");
    let b_own = unique("bown-");
    alice.create_bucket(&a1, &json!({}));
    alice.upload(&a1, "mine.txt", b"alice", "text/plain");
    let a1_generation = generation(&alice, &a1);
    alice.create_bucket(&a2, &json!({}));
    bob.create_bucket(
        &b_read,
        &json!({"permissions": {"read": [alice.principal()]}}),
    );
    bob.upload(&b_read, "bobs.txt", b"bob", "text/plain");
    let b_read_generation = generation(&bob, &b_read);
    bob.create_bucket(
        &b_write,
        &json!({"permissions": {"write": [alice.principal()]}}),
    );
    bob.create_bucket(&b_own, &json!({}));

    let deleted = alice.delete("/v1/buckets").expect(200).json();
    let ids: Vec<&str> = deleted["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            assert_eq!(t["deleted"], true, "{t}");
            t["id"].as_str().unwrap()
        })
        .collect();
    for gone in [&a1, &a2, &b_write] {
        assert!(ids.contains(&gone.as_str()), "{gone} not in {ids:?}");
    }
    for kept in [&b_read, &b_own] {
        assert!(!ids.contains(&kept.as_str()), "{kept} was deleted");
        bob.get(&format!("/v1/buckets/{kept}")).expect(200);
    }
    wait_until_gone(&a1, &a1_generation, 60);
    // Bob's readable bucket keeps its file and everything under it.
    let kept = leftovers(&b_read, &b_read_generation);
    assert_eq!(count(&kept["objects"]), 1, "{kept}");
    bob.get(&format!("/v1/buckets/{b_read}/files/bobs.txt?json"))
        .expect(200);
}

#[test]
fn deleting_a_file_removes_its_versions_and_leaves_no_marker() {
    let _lock = lock();
    let alice = owner();
    let id = unique("fdel-");
    alice.create_bucket(&id, &json!({}));
    alice.upload(&id, "a.txt", b"aaa", "text/plain");
    // Replaces: the replaced version is kept (listed, restorable) beside the current one.
    alice.upload(&id, "a.txt", b"aaaa", "text/plain");
    let generation = generation(&alice, &id);
    assert_eq!(count(&leftovers(&id, &generation)["objects"]), 2);
    alice
        .delete(&format!("/v1/buckets/{id}/files/a.txt"))
        .expect(200);
    // Both versions go before the answer (by version id: no delete marker is left either);
    // the marker of their cascade is gone at once too.
    let left = leftovers(&id, &generation);
    assert_eq!(count(&left["objects"]), 0, "{left}");
    assert!(!has_marker(&left, &id), "{left}");
}

#[test]
fn a_cascade_that_keeps_failing_is_dead_lettered_and_finishes_when_replayed() {
    let _lock = lock();
    let alice = owner();
    let id = unique("dlq-");
    let generation = filled_bucket(&alice, &id, 2);
    local_script("dead_letters.py", &[]); // start from an empty queue
    {
        // Every pass fails (the function's table is missing), and a failing batch older than
        // 1 s is given up.
        let _age = MaxRecordAge::seconds(1);
        let _failing = Failing::cascade();
        alice.delete(&format!("/v1/buckets/{id}")).expect(200);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let letters = loop {
            let out = local_script("dead_letters.py", &[]);
            if !out.trim().is_empty() {
                break out;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "nothing was dead-lettered"
            );
            std::thread::sleep(std::time::Duration::from_millis(500));
        };
        let letter: Value = serde_json::from_str(letters.lines().next().unwrap()).unwrap();
        assert!(
            letter["DDBStreamBatchInfo"]["streamArn"].is_string(),
            "{letter}"
        );
        // The marker stays: the cascade is pending, not lost.
        let left = leftovers(&id, &generation);
        assert!(has_marker(&left, &format!("{id}#{generation}")), "{left}");
    }
    // The hourly sweep leaves markers that were written within the hour alone...
    local_script("cascade_replay.py", &["3600"]);
    std::thread::sleep(std::time::Duration::from_secs(3));
    let left = leftovers(&id, &generation);
    assert!(has_marker(&left, &format!("{id}#{generation}")), "{left}");
    // ...the operator's replay re-triggers it; with its table back it finishes.
    let replayed: Value = serde_json::from_str(&local_script("cascade_replay.py", &[])).unwrap();
    assert!(replayed["replayed"].as_u64().unwrap() >= 1, "{replayed}");
    wait_until_gone(&id, &generation, 60);
}
