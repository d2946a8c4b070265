//! Deployment settings (`config::Settings`, read from the environment): API deletion off,
//! upload limits at grant time and again on the upload event (a client holding an old grant
//! cannot upload past the rules), URL lifetimes, data limits and token verification.

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};
use shared::domain::time::now_ms;
use shared::service::uploads::Outcome;

use crate::common::{CREATOR, Env, ids, now_secs, token};

async fn grant(env: &Env, id: &str, name: &str, size: usize, ct: &str) -> Value {
    let r = env
        .user("alice", CREATOR)
        .grant(id, &[(name, size, ct)])
        .await;
    r.expect(201).json()["data"][0].clone()
}

#[tokio::test]
async fn both_delete_routes_answer_403_when_api_deletion_is_disabled() {
    let on = Env::new();
    on.user("alice", CREATOR)
        .create_bucket("s1", &json!({}))
        .await;
    let off = on.sibling(&[("API_DELETE_ENABLED", "false")]);
    let alice = off.user("alice", CREATOR);
    let info = alice.get("/v1/").await.expect(200).json();
    assert_eq!(info["settings"]["api_delete_enabled"], false);
    for who in [
        off.user("alice", CREATOR),
        off.user("root", &["admin"]),
        off.user("d", &["delete_buckets"]),
    ] {
        for path in ["/v1/buckets/s1", "/v1/buckets"] {
            let err = who.delete(path).await.expect_error(403, 121);
            assert!(
                err["message"].as_str().unwrap().contains("disabled"),
                "{err}"
            );
        }
    }
    // Nothing was deleted; everything else still works, files included.
    alice.get("/v1/buckets/s1").await.expect(200);
    let change = json!({"data": {"still": "here"}});
    alice
        .patch("/v1/buckets/s1", "application/json", &change)
        .await
        .expect(200);
    alice.upload("s1", "a.txt", b"a", "text/plain").await;
    alice.delete("/v1/buckets/s1/files/a.txt").await.expect(200);
    assert!(off.store.markers().is_empty());
    // With the setting back, it deletes.
    on.user("alice", CREATOR)
        .delete("/v1/buckets/s1")
        .await
        .expect(200);
}

#[tokio::test]
async fn limits_hold_at_grant_time_and_again_on_the_upload_event() {
    let env = Env::new();
    env.user("alice", CREATOR)
        .create_bucket("s2", &json!({}))
        .await;
    // Grants issued under the defaults...
    let big = grant(&env, "s2", "big.bin", 50, "application/octet-stream").await;
    let png = grant(&env, "s2", "pic.png", 4, "image/png").await;
    let ok = grant(&env, "s2", "ok.txt", 2, "text/plain").await;
    let tight = env.sibling(&[
        ("MAX_FILE_SIZE", "10"),
        ("ACCEPTED_FILE_TYPES", "text/*"),
        ("MAX_FILES_PER_BUCKET", "1"),
    ]);
    let alice = tight.user("alice", CREATOR);
    let info = alice.get("/v1/").await.expect(200).json();
    assert_eq!(
        info["settings"]["upload"],
        json!({"max_files_per_bucket": 1, "max_file_size": 10, "accepted_file_types": "text/*",
               "max_bytes_per_bucket": 0, "version_retention_days": 7,
               "multipart_threshold": 67108864, "multipart_part_size": 67108864,
               "multipart_plan_ttl": 86400})
    );
    // ...new grants follow the new limits...
    alice
        .grant("s2", &[("x.bin", 11, "text/plain")])
        .await
        .expect_invalid(413, "body", "files[0].size");
    alice
        .grant("s2", &[("x.png", 1, "image/png")])
        .await
        .expect_invalid(400, "body", "files[0].content_type");
    let two = [("a.txt", 1, "text/plain"), ("b.txt", 1, "text/plain")];
    alice
        .grant("s2", &two)
        .await
        .expect_invalid(400, "body", "files");
    // ...and the old ones are refused by the upload event, which deletes the objects.
    for (g, body) in [(&big, &[7u8; 50][..]), (&png, b"\x89PNG")] {
        let key = tight.put_upload(g, body);
        assert!(matches!(tight.process(&key).await, Outcome::Rejected(_)));
        let status = alice.status(g).await;
        assert_eq!(status["status"], "rejected", "{status}");
        assert!(status["reason"].as_str().is_some_and(|r| !r.is_empty()));
        assert_eq!(tight.objects.get_version(&key), None);
        assert!(!tight.objects.contains(&key.key));
    }
    let key = tight.put_upload(&ok, b"ok");
    assert_eq!(tight.process(&key).await, Outcome::Recorded);
    // The file count limit, with the bucket now full.
    let err = alice
        .grant("s2", &[("more.txt", 1, "text/plain")])
        .await
        .expect_invalid(400, "body", "files");
    assert!(err["message"].as_str().unwrap().contains("limit"), "{err}");
    // Replacing the one file needs no room.
    alice
        .grant("s2", &[("ok.txt", 1, "text/plain")])
        .await
        .expect(201);
    let list = alice.get("/v1/buckets/s2/files").await.expect(200).json();
    assert_eq!(ids(&list, "name"), vec!["ok.txt"]);
    let b = alice.get("/v1/buckets/s2").await.expect(200).json();
    assert_eq!(
        (
            b["data"]["file_count"].as_i64(),
            b["data"]["total_bytes"].as_i64()
        ),
        (Some(1), Some(2))
    );
}

#[tokio::test]
async fn uploads_past_the_file_count_are_rejected_whatever_was_granted() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("s3", &json!({})).await;
    let names = ["c0.txt", "c1.txt", "c2.txt", "c3.txt", "c4.txt", "c5.txt"];
    let files: Vec<(&str, usize, &str)> = names.iter().map(|n| (*n, 1, "text/plain")).collect();
    let r = alice.grant("s3", &files).await.expect(201).json();
    let grants = r["data"].as_array().unwrap().clone();
    let keys: Vec<_> = grants.iter().map(|g| env.put_upload(g, b"x")).collect();
    let three = env.sibling(&[("MAX_FILES_PER_BUCKET", "3")]);
    let mut recorded = 0;
    for key in &keys {
        match three.process(key).await {
            Outcome::Recorded => recorded += 1,
            Outcome::Rejected(reason) => assert!(reason.contains("limit"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(recorded, 3);
    let mut statuses = vec![];
    for g in &grants {
        statuses.push(
            alice.status(g).await["status"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(
        statuses.iter().filter(|s| *s == "rejected").count(),
        3,
        "{statuses:?}"
    );
    // The rejected versions went by id: three versions left, no delete markers.
    assert_eq!(env.objects.len(), 3);
    let b = alice.get("/v1/buckets/s3").await.expect(200).json();
    assert_eq!(b["data"]["file_count"], 3);
}

#[tokio::test]
async fn a_store_past_the_file_count_limit_writes_nothing() {
    let env = Env::with(&[("MAX_FILES_PER_BUCKET", "2")]);
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("s4", &json!({})).await;
    alice.upload("s4", "one.csv", b"1", "text/csv").await;
    let file = |n: &str| json!({"name": n, "size": 1, "content_type": "text/csv"});
    let body = json!({"sync": "data_and_files", "data": {"should_not": "land"}, "files": [file("two.csv"), file("three.csv")]});
    alice
        .post("/v1/buckets/s4/store", &body)
        .await
        .expect_invalid(400, "body", "files");
    assert_eq!(
        alice.get("/v1/buckets/s4/data").await.expect(200).json(),
        json!({"data": {}})
    );
    let list = alice.get("/v1/buckets/s4/files").await.expect(200).json();
    assert_eq!(ids(&list, "name"), vec!["one.csv"]);
    // Replacing an existing name needs no room.
    let body = json!({"sync": "files", "files": [file("one.csv"), file("two.csv")]});
    alice.post("/v1/buckets/s4/store", &body).await.expect(200);
}

#[tokio::test]
async fn accepted_file_types_take_types_wildcards_and_extensions() {
    let env = Env::with(&[("ACCEPTED_FILE_TYPES", "image/*, .csv ,application/json")]);
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("s5", &json!({})).await;
    let info = alice.get("/v1/").await.expect(200).json();
    assert_eq!(
        info["settings"]["upload"]["accepted_file_types"],
        "image/*,.csv,application/json"
    );
    for (name, ct) in [
        ("p.png", "image/png"),
        ("d.csv", "application/octet-stream"),
        ("j.json", "Application/JSON; charset=utf-8"),
    ] {
        alice.grant("s5", &[(name, 1, ct)]).await.expect(201);
    }
    let err = alice
        .grant("s5", &[("t.txt", 1, "text/plain")])
        .await
        .expect_invalid(400, "body", "files[0].content_type");
    assert!(
        err["message"].as_str().unwrap().contains("image/*"),
        "{err}"
    );
}

#[tokio::test]
async fn url_lifetimes_follow_the_settings() {
    let env = Env::with(&[("UPLOAD_URL_TTL", "60"), ("DOWNLOAD_URL_TTL", "30")]);
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("s6", &json!({})).await;
    let before = now_ms();
    let g = grant(&env, "s6", "a.txt", 1, "text/plain").await;
    let expires = g["upload"]["expires_at"].as_i64().unwrap();
    assert!(
        (before + 60_000..=now_ms() + 60_000).contains(&expires),
        "{g}"
    );
    assert!(
        g["upload"]["url"].as_str().unwrap().contains("expires=60"),
        "{g}"
    );
    let key = env.put_upload(&g, b"a");
    env.process(&key).await;
    let before = now_ms();
    let j = alice
        .get("/v1/buckets/s6/files/a.txt?json")
        .await
        .expect(200)
        .json();
    let f = alice
        .post("/v1/buckets/s6/fetch", &json!({"sync": "files"}))
        .await
        .expect(200)
        .json();
    for (url, expires) in [
        (&j["url"], &j["expires_at"]),
        (&f["files"][0]["url"], &f["files"][0]["expires_at"]),
    ] {
        assert!(url.as_str().unwrap().contains("expires=30"), "{url}");
        let expires = expires.as_i64().unwrap();
        assert!(
            (before + 30_000..=now_ms() + 30_000).contains(&expires),
            "{expires}"
        );
    }
}

#[tokio::test]
async fn data_size_and_kept_revisions_follow_the_settings() {
    let env = Env::with(&[("DATA_MAX_BYTES", "20"), ("DATA_REVISIONS_KEPT", "3")]);
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("s7", &json!({})).await;
    let path = "/v1/buckets/s7/data";
    // {"v":"123456789012"} is 20 bytes of JSON, one more is too many.
    alice
        .put(path, &json!({"data": {"v": "123456789012"}}))
        .await
        .expect(200);
    let err = alice
        .put(path, &json!({"data": {"v": "1234567890123"}}))
        .await
        .expect_invalid(413, "body", "data");
    assert!(err["message"].as_str().unwrap().contains("20"), "{err}");
    for v in 2..=6 {
        alice
            .put(path, &json!({"data": {"v": v}}))
            .await
            .expect(200);
    }
    for (revision, status) in [(3, 404), (4, 200), (5, 200), (6, 200)] {
        let r = alice.get(&format!("{path}?revision={revision}")).await;
        assert_eq!(r.status(), status, "revision {revision}");
    }
}

#[tokio::test]
async fn tokens_are_checked_against_the_configured_keys_issuer_and_audience() {
    let rsa_public = include_str!("../../testdata/test-only-rsa-public.pem");
    let rsa_private = include_str!("../../testdata/test-only-rsa-private.pem");
    let env = Env::with(&[
        ("JWT_HS256_SECRET", ""),
        ("JWT_PUBLIC_KEYS", rsa_public),
        ("JWT_ISSUER", "https://issuer.test"),
        ("JWT_AUDIENCE", "buckets"),
    ]);
    let key = EncodingKey::from_rsa_pem(rsa_private.as_bytes()).unwrap();
    let rs256 = |claims: Value| encode(&Header::new(Algorithm::RS256), &claims, &key).unwrap();
    let exp = now_secs() + 600;
    let good = rs256(
        json!({"sub": "svc", "exp": exp, "iss": "https://issuer.test", "aud": "buckets", "privileges": ["admin"]}),
    );
    let info = env
        .authorized(&format!("Bearer {good}"))
        .get("/v1/")
        .await
        .expect(200)
        .json();
    assert_eq!(
        (
            info["user"]["id"].as_str(),
            info["user"]["privileges"].clone()
        ),
        (Some("user:svc"), json!(["admin"]))
    );
    let refused = [
        rs256(json!({"sub": "svc", "exp": exp, "aud": "buckets"})),
        rs256(json!({"sub": "svc", "exp": exp, "iss": "https://other.test", "aud": "buckets"})),
        rs256(json!({"sub": "svc", "exp": exp, "iss": "https://issuer.test"})),
        rs256(json!({"sub": "svc", "exp": exp, "iss": "https://issuer.test", "aud": "other"})),
        // No HS256 secret is configured: HS256 tokens are refused.
        token("svc", &["admin"]),
    ];
    for t in refused {
        env.authorized(&format!("Bearer {t}"))
            .get("/v1/buckets")
            .await
            .expect_error(401, 104);
    }
}
