//! Jobs: fetch and store (xyOps actions) hand data and files from one job to the next; store is
//! all-or-nothing; empty clears data and/or files.

use serde_json::{Value, json};
use shared::service::uploads::Outcome;

use crate::common::{CREATOR, Env, ids};

#[tokio::test]
async fn two_jobs_hand_off_data_and_files() {
    let env = Env::new();
    let owner = env.user("owner", CREATOR);
    let job1 = env.user("job1", &[]);
    let job2 = env.user("job2", &[]);
    let acl = json!({"permissions": {"write": [job1.principal()], "read": [job2.principal()]}});
    owner.create_bucket("j1", &acl).await;
    // Job 1 stores data and the CSV files of its output.
    let store = json!({
        "sync": "data_and_files",
        "glob": "*.csv",
        "data": {"rows": 3, "status": "done"},
        "files": [
            {"name": "A.csv", "size": 5, "content_type": "text/csv"},
            {"name": "b.csv", "size": 6, "content_type": "text/csv"},
            {"name": "log.txt", "size": 3, "content_type": "text/plain"},
        ],
    });
    let stored = job1
        .post("/v1/buckets/j1/store", &store)
        .await
        .expect(200)
        .json();
    assert_eq!(stored["data"], json!({"rows": 3, "status": "done"}));
    assert_eq!(stored["skipped"], json!(["log.txt"]));
    let grants = stored["files"].as_array().unwrap();
    assert_eq!(
        ids(&json!({"data": grants}), "name"),
        vec!["a.csv", "b.csv"]
    );
    assert_eq!(grants[0]["original_name"], "A.csv");
    for (grant, body) in grants.iter().zip([&b"a,b,c"[..], &b"1,2,3\n"[..]]) {
        assert_eq!(grant["upload"]["method"], "PUT");
        let key = env.put_upload(grant, body);
        assert_eq!(env.process(&key).await, Outcome::Recorded);
        assert_eq!(job1.status(grant).await["status"], "recorded");
    }
    // The stored data is the bucket's document.
    let doc = job2.get("/v1/buckets/j1/data").await.expect(200);
    assert_eq!(doc.json()["data"], stored["data"]);
    // Job 2 fetches with another glob and gets download URLs of those files.
    let fetch = json!({"sync": "data_and_files", "glob": "b*"});
    let fetched = job2
        .post("/v1/buckets/j1/fetch", &fetch)
        .await
        .expect(200)
        .json();
    assert_eq!(fetched["data"], json!({"rows": 3, "status": "done"}));
    let files = fetched["files"].as_array().unwrap();
    assert_eq!(files.len(), 1);
    let f = &files[0];
    assert_eq!(
        (
            f["name"].as_str(),
            f["size"].as_u64(),
            f["content_type"].as_str()
        ),
        (Some("b.csv"), Some(6), Some("text/csv"))
    );
    assert!(f["modified"].as_i64().unwrap() > 0 && f["expires_at"].as_i64().unwrap() > 0);
    // Presigned for the version recorded.
    let (_, body) = env.download(f["url"].as_str().unwrap());
    assert_eq!(body, b"1,2,3\n");
    // sync narrows what comes back; the default glob is *.
    let only_data = job2
        .post("/v1/buckets/j1/fetch", &json!({"sync": "data"}))
        .await
        .expect(200)
        .json();
    assert_eq!(only_data, json!({"data": {"rows": 3, "status": "done"}}));
    let only_files = job2
        .post("/v1/buckets/j1/fetch", &json!({"sync": "files"}))
        .await
        .expect(200)
        .json();
    assert!(only_files.get("data").is_none());
    assert_eq!(
        ids(&json!({"data": only_files["files"]}), "name"),
        vec!["a.csv", "b.csv"]
    );
    // A second store merges shallowly into the data (and keeps the revision when unchanged).
    let again = json!({"sync": "data", "data": {"status": "again"}});
    let r = job1
        .post("/v1/buckets/j1/store", &again)
        .await
        .expect(200)
        .json();
    assert_eq!(r, json!({"data": {"rows": 3, "status": "again"}}));
    job1.post("/v1/buckets/j1/store", &again).await.expect(200);
    let doc = job2.get("/v1/buckets/j1/data").await.expect(200);
    assert_eq!(doc.header("etag").as_deref(), Some("\"2\""));
    // A store of files only leaves the data alone; nothing matching answers no grants.
    let none = json!({"sync": "files", "glob": "*.parquet", "data": {"ignored": 1}, "files": [{"name": "x.csv", "size": 1, "content_type": "text/csv"}]});
    let r = job1
        .post("/v1/buckets/j1/store", &none)
        .await
        .expect(200)
        .json();
    assert_eq!(r, json!({"files": [], "skipped": ["x.csv"]}));
    assert!(
        job2.get("/v1/buckets/j1/data").await.expect(200).json()["data"]
            .get("ignored")
            .is_none()
    );
}

#[tokio::test]
async fn a_store_that_breaks_a_limit_writes_nothing() {
    let env = Env::new();
    let owner = env.user("owner", CREATOR);
    owner.create_bucket("j2", &json!({})).await;
    let too_big = 2 * 1024 * 1024 * 1024_u64;
    let files = json!([
        {"name": "ok.csv", "size": 5, "content_type": "text/csv"},
        {"name": "huge.bin", "size": too_big, "content_type": "application/octet-stream"},
    ]);
    let body = json!({"sync": "data_and_files", "data": {"should_not": "land"}, "files": files});
    owner
        .post("/v1/buckets/j2/store", &body)
        .await
        .expect_invalid(413, "body", "files[1].size");
    let doc = owner.get("/v1/buckets/j2/data").await.expect(200);
    assert_eq!(
        (doc.json(), doc.header("etag")),
        (json!({"data": {}}), Some("\"0\"".into()))
    );
    assert!(
        env.store.grant_keys(None).is_empty(),
        "no grant was written"
    );
    // A file the glob leaves out may break limits: it is only skipped.
    let body = json!({"sync": "files", "glob": "*.csv", "files": files});
    let ok = owner
        .post("/v1/buckets/j2/store", &body)
        .await
        .expect(200)
        .json();
    assert_eq!(ok["skipped"], json!(["huge.bin"]));
    assert_eq!(ids(&json!({"data": ok["files"]}), "name"), vec!["ok.csv"]);
    // An inactive bucket takes a data store but no files.
    let off = json!({"data": {"active": false}});
    owner
        .patch("/v1/buckets/j2", "application/json", &off)
        .await
        .expect(200);
    let body = json!({"sync": "data_and_files", "data": {"x": 1}, "files": [files[0]]});
    owner
        .post("/v1/buckets/j2/store", &body)
        .await
        .expect_error(403, 121);
    let body = json!({"sync": "data", "data": {"x": 1}});
    owner.post("/v1/buckets/j2/store", &body).await.expect(200);
    assert_eq!(
        owner.get("/v1/buckets/j2/data").await.expect(200).json(),
        json!({"data": {"x": 1}})
    );
}

#[tokio::test]
async fn bad_job_bodies_are_400_naming_the_field() {
    let env = Env::new();
    let owner = env.user("owner", CREATOR);
    owner.create_bucket("j3", &json!({})).await;
    for job in ["fetch", "store"] {
        let path = format!("/v1/buckets/j3/{job}");
        for body in [json!({}), json!({"sync": "everything"}), json!({"sync": 1})] {
            owner
                .post(&path, &body)
                .await
                .expect_invalid(400, "body", "sync");
        }
        let cases = [
            (json!({"sync": "data", "glob": 5}), "glob"),
            (json!({"sync": "data", "glob": "["}), "glob"),
            (json!([1]), "body"),
            (json!("data"), "body"),
        ];
        for (body, field) in cases {
            owner
                .post(&path, &body)
                .await
                .expect_invalid(400, "body", field);
        }
        owner
            .send("POST", &path, &[], None)
            .await
            .expect_invalid(400, "body", "body");
        owner
            .send("POST", &path, &[("content-type", "text/plain")], Some("{}"))
            .await
            .expect_invalid(415, "header", "Content-Type");
    }
    let store = "/v1/buckets/j3/store";
    let cases = [
        (json!({"sync": "data", "data": [1]}), "data"),
        (json!({"sync": "files", "files": "a.csv"}), "files"),
        (
            json!({"sync": "files", "files": [{"name": "..", "size": 1, "content_type": "text/csv"}]}),
            "files[0].name",
        ),
    ];
    for (body, field) in cases {
        owner
            .post(store, &body)
            .await
            .expect_invalid(400, "body", field);
    }
    let big = json!({"sync": "data", "data": {"big": "x".repeat(300 * 1024)}});
    owner
        .post(store, &big)
        .await
        .expect_invalid(413, "body", "data");
    let empty = "/v1/buckets/j3/empty";
    owner
        .post(empty, &json!({}))
        .await
        .expect_invalid(400, "body", "body");
    owner
        .post(empty, &json!({"files": false, "data": null}))
        .await
        .expect_invalid(400, "body", "body");
    owner
        .post(empty, &json!({"files": "yes"}))
        .await
        .expect_invalid(400, "body", "files");
    owner
        .post(empty, &json!({"files": true, "data": 1}))
        .await
        .expect_invalid(400, "body", "data");
    owner
        .send("POST", empty, &[], None)
        .await
        .expect_invalid(400, "body", "body");
    assert_eq!(
        owner.get("/v1/buckets/j3/data").await.expect(200).json(),
        json!({"data": {}})
    );
}

#[tokio::test]
async fn fetch_needs_read_store_and_empty_need_write() {
    let env = Env::new();
    let owner = env.user("owner", CREATOR);
    let reader = env.user("reader", &[]);
    let acl = json!({"permissions": {"read": [reader.principal(), "system.Everyone"]}});
    owner.create_bucket("j4", &acl).await;
    let fetch = json!({"sync": "data"});
    reader
        .post("/v1/buckets/j4/fetch", &fetch)
        .await
        .expect(200);
    env.anonymous()
        .post("/v1/buckets/j4/fetch", &fetch)
        .await
        .expect(200);
    let store = json!({"sync": "data", "data": {"x": 1}});
    reader
        .post("/v1/buckets/j4/store", &store)
        .await
        .expect_error(403, 121);
    env.anonymous()
        .post("/v1/buckets/j4/store", &store)
        .await
        .expect_error(401, 104);
    reader
        .post("/v1/buckets/j4/empty", &json!({"data": true}))
        .await
        .expect_error(403, 121);
    for (path, body) in [
        ("/v1/buckets/j5/fetch", &fetch),
        ("/v1/buckets/j5/store", &store),
    ] {
        let stranger = env.user("stranger", &[]);
        stranger.post(path, body).await.expect_error(403, 121);
    }
    // Jobs work on the caller's default bucket too.
    let file = json!({"name": "o.csv", "size": 1, "content_type": "text/csv"});
    let body = json!({"sync": "data_and_files", "data": {"mine": 1}, "files": [file]});
    let r = reader
        .post("/v1/buckets/default/store", &body)
        .await
        .expect(200)
        .json();
    let id = reader.get("/v1/").await.expect(200).json()["user"]["bucket"].clone();
    let status_uri: Value = r["files"][0]["status_uri"].clone();
    assert!(
        status_uri
            .as_str()
            .unwrap()
            .contains(&format!("/v1/buckets/{}/uploads/", id.as_str().unwrap()))
    );
    let fetched = reader
        .post("/v1/buckets/default/fetch", &json!({"sync": "data"}))
        .await;
    assert_eq!(fetched.expect(200).json(), json!({"data": {"mine": 1}}));
}

#[tokio::test]
async fn empty_clears_data_and_or_files() {
    let env = Env::new();
    let owner = env.user("owner", CREATOR);
    owner.create_bucket("j6", &json!({})).await;
    owner
        .put("/v1/buckets/j6/data", &json!({"data": {"k": 1}}))
        .await
        .expect(200);
    owner.upload("j6", "x.txt", b"x", "text/plain").await;
    owner.upload("j6", "y.txt", b"yy", "text/plain").await;
    let r = owner
        .post("/v1/buckets/j6/empty", &json!({"files": true}))
        .await
        .expect(200)
        .json();
    assert_eq!(
        r,
        json!({"data": {"files_deleted": 2, "data_cleared": false}})
    );
    assert_eq!(
        owner.get("/v1/buckets/j6/files").await.expect(200).json()["data"],
        json!([])
    );
    assert!(env.objects.is_empty() && env.store.markers().is_empty());
    let doc = owner.get("/v1/buckets/j6/data").await.expect(200).json();
    assert_eq!(doc, json!({"data": {"k": 1}}));
    let b = owner.get("/v1/buckets/j6").await.expect(200).json();
    assert_eq!(
        (
            b["data"]["file_count"].as_i64(),
            b["data"]["total_bytes"].as_i64()
        ),
        (Some(0), Some(0))
    );
    let r = owner
        .post("/v1/buckets/j6/empty", &json!({"data": true}))
        .await
        .expect(200)
        .json();
    assert_eq!(
        r,
        json!({"data": {"files_deleted": 0, "data_cleared": true}})
    );
    let doc = owner.get("/v1/buckets/j6/data").await.expect(200);
    assert_eq!(
        (doc.json(), doc.header("etag")),
        (json!({"data": {}}), Some("\"2\"".into()))
    );
    // The cleared revision is a revision like any other: the old one stays readable.
    let old = owner
        .get("/v1/buckets/j6/data?revision=1")
        .await
        .expect(200)
        .json();
    assert_eq!(old, json!({"data": {"k": 1}}));
    // Both at once, on an already empty bucket: nothing to do, nothing fails.
    let both = json!({"files": true, "data": true});
    let r = owner
        .post("/v1/buckets/j6/empty", &both)
        .await
        .expect(200)
        .json();
    assert_eq!(
        r,
        json!({"data": {"files_deleted": 0, "data_cleared": true}})
    );
    assert_eq!(
        owner
            .get("/v1/buckets/j6/data")
            .await
            .expect(200)
            .header("etag")
            .as_deref(),
        Some("\"2\"")
    );
}
