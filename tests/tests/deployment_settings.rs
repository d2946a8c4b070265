//! Deployment settings, changed on the running local stack and restored: API deletion off, and
//! upload limits tightened after a grant (a client cannot upload past the rules by holding an
//! old grant). Cargo runs test binaries one after another, and the tests here take a lock, so
//! no other test sees the changed settings.

use std::sync::Mutex;

use buckets_e2e::{Caller, Upload, cognito_user, local_script, unique};
use serde_json::json;

static SETTINGS: Mutex<()> = Mutex::new(());

const DEFAULTS: &[&str] = &[
    "API_DELETE_ENABLED=true",
    "MAX_FILE_SIZE=1073741824",
    "MAX_FILES_PER_BUCKET=100",
    "ACCEPTED_FILE_TYPES=",
    "MAX_BYTES_PER_BUCKET=0",
    "UPLOAD_URL_TTL=900",
    // Empty: the JWKS URL the pool implies (shared::config).
    "JWT_JWKS_URL=",
];

fn set(pairs: &[&str]) {
    local_script("function_env.py", pairs);
}

/// Each test holds the lock from start to end: settings changed by one never reach another.
fn lock() -> std::sync::MutexGuard<'static, ()> {
    SETTINGS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Puts the defaults back when dropped, even when an assertion fails.
struct Changed;

impl Changed {
    fn to(pairs: &[&str]) -> Changed {
        set(pairs);
        Changed
    }
}

impl Drop for Changed {
    fn drop(&mut self) {
        set(DEFAULTS);
    }
}

fn new_bucket(owner: &Caller) -> String {
    let id = unique("s-");
    owner.create_bucket(&id, &json!({}));
    id
}

fn grant(caller: &Caller, id: &str, name: &str, size: usize, ct: &str) -> Upload {
    Upload {
        grant: caller.grant(id, &[(name, size, ct)]).expect(201).json()["data"][0].clone(),
    }
}

fn file_names(caller: &Caller, id: &str) -> Vec<String> {
    caller
        .get(&format!("/v1/buckets/{id}/files"))
        .expect(200)
        .json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn both_delete_routes_answer_403_when_api_deletion_is_disabled() {
    let _lock = lock();
    let alice = Caller::user("alice", &["create_buckets"]);
    let id = new_bucket(&alice);
    let path = format!("/v1/buckets/{id}");
    {
        let _changed = Changed::to(&["API_DELETE_ENABLED=false"]);
        let info = alice.get("/v1/").expect(200).json();
        assert_eq!(info["settings"]["api_delete_enabled"], false);
        let err = alice.delete(&path).expect_error(403, 121);
        assert!(
            err["message"].as_str().unwrap().contains("disabled"),
            "{err}"
        );
        let err = alice.delete("/v1/buckets").expect_error(403, 121);
        assert!(
            err["message"].as_str().unwrap().contains("disabled"),
            "{err}"
        );
        // Nothing was deleted; everything else still works.
        alice.get(&path).expect(200);
        alice
            .patch(
                &path,
                "application/json",
                &json!({"data": {"still": "here"}}),
            )
            .expect(200);
    }
    alice.delete(&path).expect(200);
}

#[test]
fn limits_hold_at_grant_time_and_again_on_the_upload_event() {
    let _lock = lock();
    let alice = Caller::user("alice", &["create_buckets"]);
    let id = new_bucket(&alice);
    // Grants issued under the defaults ...
    let big = grant(&alice, &id, "big.bin", 50, "application/octet-stream");
    let png = grant(&alice, &id, "pic.png", 4, "image/png");
    let ok = grant(&alice, &id, "ok.txt", 2, "text/plain");
    let _changed = Changed::to(&[
        "MAX_FILE_SIZE=10",
        "ACCEPTED_FILE_TYPES=text/*",
        "MAX_FILES_PER_BUCKET=1",
    ]);
    // ... new grants follow the new limits ...
    let err = alice
        .grant(&id, &[("x.bin", 11, "text/plain")])
        .expect_error(413, 113);
    assert_eq!(err["details"][0]["name"], "files[0].size");
    let err = alice
        .grant(&id, &[("x.png", 1, "image/png")])
        .expect_error(400, 107);
    assert_eq!(err["details"][0]["name"], "files[0].content_type");
    let err = alice
        .grant(
            &id,
            &[("a.txt", 1, "text/plain"), ("b.txt", 1, "text/plain")],
        )
        .expect_error(400, 107);
    assert_eq!(err["details"][0]["name"], "files");
    // ... and the old ones are refused by the event function, which deletes the objects.
    big.put(&[7u8; 50], &[]).expect(200);
    png.put(b"\x89PNG", &[]).expect(200);
    for up in [&big, &png] {
        let status = alice.wait_upload(&id, &up.upload_id());
        assert_eq!(status["status"], "rejected", "{status}");
        assert!(status["reason"].as_str().is_some_and(|r| !r.is_empty()));
        assert_eq!(
            local_script("object_exists.py", &[up.url().split('?').next().unwrap()]).trim(),
            "false"
        );
    }
    ok.put(b"ok", &[]).expect(200);
    assert_eq!(
        alice.wait_upload(&id, &ok.upload_id())["status"],
        "recorded"
    );
    // The file count limit, with the bucket now full.
    let err = alice
        .grant(&id, &[("more.txt", 1, "text/plain")])
        .expect_error(400, 107);
    assert!(err["message"].as_str().unwrap().contains("limit"), "{err}");
    assert_eq!(file_names(&alice, &id), vec!["ok.txt"]);
    let b = alice.get(&format!("/v1/buckets/{id}")).expect(200).json();
    assert_eq!(
        (
            b["data"]["file_count"].as_i64(),
            b["data"]["total_bytes"].as_i64()
        ),
        (Some(1), Some(2))
    );
}

#[test]
fn concurrent_uploads_never_pass_the_file_count_limit() {
    let _lock = lock();
    let alice = Caller::user("alice", &["create_buckets"]);
    let id = new_bucket(&alice);
    let grants = alice
        .grant(
            &id,
            &(0..6)
                .map(|i| {
                    (
                        ["c0.txt", "c1.txt", "c2.txt", "c3.txt", "c4.txt", "c5.txt"][i],
                        1,
                        "text/plain",
                    )
                })
                .collect::<Vec<_>>(),
        )
        .expect(201)
        .json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| Upload { grant: g.clone() })
        .collect::<Vec<_>>();
    let _changed = Changed::to(&["MAX_FILES_PER_BUCKET=3"]);
    std::thread::scope(|s| {
        for up in &grants {
            s.spawn(move || up.put(b"x", &[]).expect(200));
        }
    });
    let statuses: Vec<String> = grants
        .iter()
        .map(|g| {
            alice.wait_upload(&id, &g.upload_id())["status"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| *s == "recorded").count(),
        3,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| *s == "rejected").count(),
        3,
        "{statuses:?}"
    );
    assert_eq!(file_names(&alice, &id).len(), 3);
    let b = alice.get(&format!("/v1/buckets/{id}")).expect(200).json();
    assert_eq!(b["data"]["file_count"], 3);
}

#[test]
fn an_expired_upload_url_is_refused_by_s3() {
    let _lock = lock();
    let alice = Caller::user("alice", &["create_buckets"]);
    let id = new_bucket(&alice);
    let _changed = Changed::to(&["UPLOAD_URL_TTL=1"]);
    let up = grant(&alice, &id, "slow.txt", 4, "text/plain");
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assert_eq!(up.put(b"slow", &[]).status, 403);
}

#[test]
fn a_store_past_the_file_count_limit_writes_nothing() {
    let _lock = lock();
    let alice = Caller::user("alice", &["create_buckets"]);
    let id = new_bucket(&alice);
    let _changed = Changed::to(&["MAX_FILES_PER_BUCKET=2"]);
    alice.upload(&id, "one.csv", b"1", "text/csv");
    let err = alice
        .post(
            &format!("/v1/buckets/{id}/store"),
            &json!({
                "sync": "data_and_files",
                "data": {"should_not": "land"},
                "files": [
                    {"name": "two.csv", "size": 1, "content_type": "text/csv"},
                    {"name": "three.csv", "size": 1, "content_type": "text/csv"},
                ],
            }),
        )
        .expect_error(400, 107);
    assert_eq!(err["details"][0]["name"], "files");
    assert_eq!(
        alice
            .get(&format!("/v1/buckets/{id}/data"))
            .expect(200)
            .json()["data"],
        json!({})
    );
    assert_eq!(file_names(&alice, &id), vec!["one.csv"]);
    // Replacing an existing name needs no room.
    alice
        .post(
            &format!("/v1/buckets/{id}/store"),
            &json!({"sync": "files", "files": [{"name": "one.csv", "size": 1, "content_type": "text/csv"}, {"name": "two.csv", "size": 1, "content_type": "text/csv"}]}),
        )
        .expect(200);
}

#[test]
fn an_unreachable_identity_provider_is_503_never_401() {
    let _lock = lock();
    let signed_in = Caller::with_token(cognito_user(&["create_buckets"]).id);
    {
        // Nothing listens on port 9: every function's JWKS fetch fails.
        let _changed = Changed::to(&["JWT_JWKS_URL=http://127.0.0.1:9/jwks.json"]);
        for path in ["/v1/", "/v1/buckets"] {
            let resp = signed_in.get(path);
            assert!(resp.header("retry-after").is_some(), "{path}: {resp:?}");
            let err = resp.expect_error(503, 201);
            assert!(
                err["message"]
                    .as_str()
                    .unwrap()
                    .contains("identity provider"),
                "{err}"
            );
        }
        // Only the provider's tokens wait on it: dev tokens and anonymous callers do not.
        Caller::user("alice", &[]).get("/v1/buckets").expect(200);
        Caller::anonymous().get("/v1/").expect(200);
    }
    // The provider back: the same token works.
    signed_in.get("/v1/").expect(200);
}
