//! The deployment setting that turns bucket deletion through the API off (usebuckets' account
//! setting). The test flips `API_DELETE_ENABLED` on the running local stack and restores it, so
//! it lives in its own test binary (cargo runs test binaries one after another).

use std::path::PathBuf;
use std::process::Command;

use buckets_e2e::{Caller, unique};
use serde_json::json;

fn set_delete_enabled(enabled: bool) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = root.join(".local/build/bin/python3");
    let status = Command::new(python)
        .arg(root.join("infra/local/function_env.py"))
        .arg(format!("API_DELETE_ENABLED={enabled}"))
        .status()
        .expect("run infra/local/function_env.py");
    assert!(
        status.success(),
        "could not set API_DELETE_ENABLED={enabled}"
    );
}

/// Puts the setting back even when an assertion fails.
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        set_delete_enabled(true);
    }
}

#[test]
fn both_delete_routes_answer_403_when_api_deletion_is_disabled() {
    let alice = Caller::user("alice", &["create_buckets"]);
    let id = unique("keep-");
    let path = format!("/v1/buckets/{id}");
    alice.create_bucket(&id, &json!({}));

    set_delete_enabled(false);
    let _restore = Restore;
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

    drop(_restore);
    alice.delete(&path).expect(200);
}
