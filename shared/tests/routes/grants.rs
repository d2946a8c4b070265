//! `POST /v1/buckets/{id}/files`: upload grants (one presigned PUT per file) and the limits
//! checked when granting.

use serde_json::{Value, json};
use shared::domain::time::now_ms;
use shared::memory::MemoryObjects;

use crate::common::{BASE_PATH, CREATOR, Env};

fn is_hex32(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[tokio::test]
async fn a_grant_answers_one_presigned_upload_per_file() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("g1", &json!({})).await;
    let generation = env.generation("g1").await;
    let sha_hex = "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9";
    let body = json!({"files": [
        {"name": "Report 2024.CSV", "size": 11, "content_type": "text/csv"},
        {"name": "h.txt", "size": 11, "content_type": "text/plain; charset=utf-8", "sha256": sha_hex},
    ]});
    let before = now_ms();
    let r = alice
        .post("/v1/buckets/g1/files", &body)
        .await
        .expect(201)
        .json();
    let grants = r["data"].as_array().unwrap();
    assert_eq!(grants.len(), 2);
    let g = &grants[0];
    assert_eq!(g["name"], "report_2024.csv");
    assert_eq!(g["original_name"], "Report 2024.CSV");
    assert_eq!(
        (g["size"].as_u64(), g["content_type"].as_str()),
        (Some(11), Some("text/csv"))
    );
    assert!(is_hex32(&g["upload_id"]), "{g}");
    assert_ne!(g["upload_id"], grants[1]["upload_id"]);
    let upload_id = g["upload_id"].as_str().unwrap();
    let status_uri = format!("{BASE_PATH}/v1/buckets/g1/uploads/{upload_id}");
    assert_eq!(g["status_uri"], status_uri.as_str());
    let upload = &g["upload"];
    assert_eq!(upload["method"], "PUT");
    // The name's one key; the upload id is signed as object metadata the client must send.
    let key = MemoryObjects::url_key(upload["url"].as_str().unwrap()).unwrap();
    assert_eq!(key, format!("g1/{generation}/report_2024.csv"));
    assert_eq!(
        upload["headers"],
        json!({"content-length": "11", "content-type": "text/csv", "x-amz-meta-upload-id": upload_id})
    );
    let expires = upload["expires_at"].as_i64().unwrap();
    assert!(
        (before + 900_000..=now_ms() + 900_000).contains(&expires),
        "{expires}"
    );
    // A declared checksum is bound, in the form S3 takes (base64).
    let h = &grants[1]["upload"]["headers"];
    assert_eq!(
        h["x-amz-checksum-sha256"],
        "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek="
    );
    assert_eq!(h["content-type"], "text/plain; charset=utf-8");
    // A grant writes no file: nothing is listed or counted until the upload is recorded.
    let list = alice.get("/v1/buckets/g1/files").await.expect(200).json();
    assert_eq!(list["data"], json!([]));
    assert_eq!(env.counters("g1").await, (0, 0, 1));
}

#[tokio::test]
async fn grant_time_limits_and_bad_inputs_name_the_field() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("f5", &json!({})).await;
    let too_big = 2 * 1024 * 1024 * 1024_usize;
    alice
        .grant(
            "f5",
            &[
                ("ok.txt", 1, "text/plain"),
                ("big.bin", too_big, "application/octet-stream"),
            ],
        )
        .await
        .expect_invalid(413, "body", "files[1].size");
    let file = |extra: Value| {
        let mut f = json!({"name": "a", "size": 1, "content_type": "text/plain"});
        f.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        f
    };
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"files": [file(json!({"name": ""}))]}),
            "files[0].name",
        ),
        (
            json!({"files": [file(json!({"name": ".."}))]}),
            "files[0].name",
        ),
        (
            json!({"files": [file(json!({"name": "../../etc/passwd"}))]}),
            "files[0].name",
        ),
        (
            json!({"files": [file(json!({"name": "x".repeat(256)}))]}),
            "files[0].name",
        ),
        (
            json!({"files": [{"size": 1, "content_type": "text/plain"}]}),
            "files[0].name",
        ),
        (
            json!({"files": [file(json!({"size": 0}))]}),
            "files[0].size",
        ),
        (
            json!({"files": [file(json!({"size": -1}))]}),
            "files[0].size",
        ),
        (
            json!({"files": [file(json!({"size": "1"}))]}),
            "files[0].size",
        ),
        (
            json!({"files": [{"name": "a", "size": 1}]}),
            "files[0].content_type",
        ),
        (
            json!({"files": [file(json!({"content_type": "text/c\nsv"}))]}),
            "files[0].content_type",
        ),
        (
            json!({"files": [file(json!({"content_type": "nonsense"}))]}),
            "files[0].content_type",
        ),
        (
            json!({"files": [file(json!({"sha256": "nope"}))]}),
            "files[0].sha256",
        ),
        (
            json!({"files": [file(json!({})), file(json!({"name": "A"}))]}),
            "files[1].name",
        ),
        (json!({"files": ["a.txt"]}), "files[0]"),
        (json!({"files": []}), "files"),
        (
            json!({"files": (0..101).map(|i| file(json!({"name": format!("f{i}")}))).collect::<Vec<_>>()}),
            "files",
        ),
        (json!({"nothing": 1}), "nothing"),
        (json!({}), "files"),
    ];
    for (body, field) in cases {
        alice
            .post("/v1/buckets/f5/files", &body)
            .await
            .expect_invalid(400, "body", field);
    }
    alice
        .send("POST", "/v1/buckets/f5/files", &[], None)
        .await
        .expect_invalid(400, "body", "files");
    alice
        .send(
            "POST",
            "/v1/buckets/f5/files",
            &[("content-type", "text/plain")],
            Some("{}"),
        )
        .await
        .expect_invalid(415, "header", "Content-Type");
    // None of them granted anything.
    assert!(env.store.grant_keys(None).is_empty());
}

#[tokio::test]
async fn inactive_buckets_get_no_grants() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice
        .create_bucket("f6", &json!({"data": {"active": false}}))
        .await;
    let err = alice
        .grant("f6", &[("a.txt", 1, "text/plain")])
        .await
        .expect_error(403, 121);
    assert!(
        err["message"].as_str().unwrap().contains("inactive"),
        "{err}"
    );
    let on = json!({"data": {"active": true}});
    alice
        .patch("/v1/buckets/f6", "application/json", &on)
        .await
        .expect(200);
    alice
        .grant("f6", &[("a.txt", 1, "text/plain")])
        .await
        .expect(201);
}
