//! A store is all or nothing (hardening): whichever step fails — reading the bucket, recording
//! the grants, presigning their URLs, merging the data — an error answer leaves neither merged
//! data nor usable grants behind.

use serde_json::{Value, json};
use shared::ports::StoreError;

use crate::common::{CREATOR, Env};

const BEFORE: &str = r#"{"kept": 1}"#;

fn body() -> Value {
    json!({
        "sync": "data_and_files",
        "data": {"merged": true, "kept": 2},
        "files": [
            {"name": "a.csv", "size": 3, "content_type": "text/csv"},
            {"name": "b.csv", "size": 4, "content_type": "text/csv"},
        ],
    })
}

async fn setup(env: &Env) {
    let owner = env.user("owner", CREATOR);
    owner.create_bucket("hw", &json!({})).await;
    let before: Value = serde_json::from_str(BEFORE).unwrap();
    owner
        .put("/v1/buckets/hw/data", &json!({ "data": before }))
        .await
        .expect(200);
}

/// Neither merged data nor any grant.
async fn assert_untouched(env: &Env, what: &str) {
    let data = env
        .user("root", &["admin"])
        .get("/v1/buckets/hw/data")
        .await
        .expect(200)
        .json();
    let before: Value = serde_json::from_str(BEFORE).unwrap();
    assert_eq!(data["data"], before, "{what}: data merged");
    let grants = env.store.grant_keys(Some("hw"));
    assert!(grants.is_empty(), "{what}: grants left {grants:?}");
}

#[tokio::test]
async fn a_store_failing_at_any_table_step_writes_nothing() {
    let mut failed = 0;
    for step in 0.. {
        assert!(step < 50, "the store never gets through");
        let env = Env::new();
        setup(&env).await;
        env.store
            .fail_call(step, StoreError::Unavailable("injected".into()));
        let r = env
            .user("owner", CREATOR)
            .post("/v1/buckets/hw/store", &body())
            .await;
        if !env.store.faults_pending() && r.status() != 200 {
            assert_eq!(r.status(), 503, "step {step}: {:?}", r.resp.body);
            assert_untouched(&env, &format!("table step {step}")).await;
            failed += 1;
            continue;
        }
        // Past the last step: the fault was never reached, and the store succeeded.
        env.store.clear_faults();
        let r = r.expect(200).json();
        assert_eq!(r["data"]["merged"], true);
        assert_eq!(env.store.grant_keys(Some("hw")).len(), 2);
        break;
    }
    // Bucket read, grants, the data's read and its write at least.
    assert!(failed >= 4, "{failed}");
}

#[tokio::test]
async fn a_store_whose_presigning_fails_writes_nothing() {
    let mut failed = 0;
    for step in 0.. {
        assert!(step < 10, "the store never gets through");
        let env = Env::new();
        setup(&env).await;
        env.objects
            .fail_call(step, StoreError::Other("injected".into()));
        let r = env
            .user("owner", CREATOR)
            .post("/v1/buckets/hw/store", &body())
            .await;
        if !env.objects.faults_pending() && r.status() != 200 {
            assert_eq!(r.status(), 500, "step {step}: {:?}", r.resp.body);
            assert_untouched(&env, &format!("object step {step}")).await;
            failed += 1;
            continue;
        }
        env.objects.clear_faults();
        r.expect(200);
        break;
    }
    assert_eq!(failed, 2, "one presign per file");
}

#[tokio::test]
async fn a_store_whose_data_breaks_a_rule_takes_its_grants_back() {
    let env = Env::with(&[("DATA_MAX_BYTES", "64")]);
    setup(&env).await;
    let mut big = body();
    big["data"]["pad"] = json!("x".repeat(100));
    env.user("owner", CREATOR)
        .post("/v1/buckets/hw/store", &big)
        .await
        .expect(413);
    assert_untouched(&env, "document too large").await;
    // A lost race on every attempt of the merge (busy): the same.
    env.store.fail_next(20, StoreError::Conflict);
    let r = env
        .user("owner", CREATOR)
        .post("/v1/buckets/hw/store", &body())
        .await;
    env.store.clear_faults();
    assert!(r.status() >= 400, "{:?}", r.resp.body);
    assert_untouched(&env, "busy").await;
}
