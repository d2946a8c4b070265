//! Jobs: fetch and store (xyOps actions) hand data and files from one job to the next; store is
//! all-or-nothing; empty clears data and/or files.

use buckets_e2e::{Caller, Upload, unique};
use serde_json::{Value, json};

fn bucket(owner: &Caller, body: &Value) -> String {
    let id = unique("j-");
    owner.create_bucket(&id, body);
    id
}

#[test]
fn two_jobs_hand_off_data_and_files() {
    let owner = Caller::user("owner", &["create_buckets"]);
    let job1 = Caller::user("job1", &[]);
    let job2 = Caller::user("job2", &[]);
    let id = bucket(
        &owner,
        &json!({"permissions": {"write": [job1.principal()], "read": [job2.principal()]}}),
    );
    // Job 1 stores data and the CSV files of its output.
    let stored = job1
        .post(
            &format!("/v1/buckets/{id}/store"),
            &json!({
                "sync": "data_and_files",
                "glob": "*.csv",
                "data": {"rows": 3, "status": "done"},
                "files": [
                    {"name": "a.csv", "size": 5, "content_type": "text/csv"},
                    {"name": "b.csv", "size": 6, "content_type": "text/csv"},
                    {"name": "log.txt", "size": 3, "content_type": "text/plain"},
                ],
            }),
        )
        .expect(200)
        .json();
    assert_eq!(stored["data"], json!({"rows": 3, "status": "done"}));
    assert_eq!(stored["skipped"], json!(["log.txt"]));
    let grants = stored["files"].as_array().unwrap();
    assert_eq!(grants.len(), 2);
    for (grant, body) in grants.iter().zip([&b"a,b,c"[..], &b"1,2,3\n"[..]]) {
        let up = Upload {
            grant: grant.clone(),
        };
        up.put(body, &[]).expect(200);
        assert_eq!(job1.wait_upload(&id, &up.upload_id())["status"], "recorded");
    }
    // Job 2 fetches with another glob and downloads the bytes.
    let fetched = job2
        .post(
            &format!("/v1/buckets/{id}/fetch"),
            &json!({"sync": "data_and_files", "glob": "b*"}),
        )
        .expect(200)
        .json();
    assert_eq!(fetched["data"]["rows"], 3);
    let files = fetched["files"].as_array().unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0]["name"], "b.csv");
    assert_eq!(files[0]["size"], 6);
    assert_eq!(
        Caller::anonymous()
            .get(files[0]["url"].as_str().unwrap())
            .expect(200)
            .bytes,
        b"1,2,3\n"
    );
    // sync narrows what comes back; the default glob is *.
    let only_data = job2
        .post(&format!("/v1/buckets/{id}/fetch"), &json!({"sync": "data"}))
        .expect(200)
        .json();
    assert!(only_data.get("files").is_none() && only_data["data"]["status"] == "done");
    let only_files = job2
        .post(
            &format!("/v1/buckets/{id}/fetch"),
            &json!({"sync": "files"}),
        )
        .expect(200)
        .json();
    assert!(only_files.get("data").is_none());
    assert_eq!(only_files["files"].as_array().unwrap().len(), 2);
    // A second store merges shallowly into the data.
    let again = job1
        .post(
            &format!("/v1/buckets/{id}/store"),
            &json!({"sync": "data", "data": {"status": "again"}}),
        )
        .expect(200)
        .json();
    assert_eq!(again["data"], json!({"rows": 3, "status": "again"}));
}

#[test]
fn a_store_that_breaks_a_limit_writes_nothing() {
    let owner = Caller::user("owner", &["create_buckets"]);
    let id = bucket(&owner, &json!({}));
    let too_big = 2 * 1024 * 1024 * 1024_u64;
    let err = owner
        .post(
            &format!("/v1/buckets/{id}/store"),
            &json!({
                "sync": "data_and_files",
                "data": {"should_not": "land"},
                "files": [
                    {"name": "ok.csv", "size": 5, "content_type": "text/csv"},
                    {"name": "huge.bin", "size": too_big, "content_type": "application/octet-stream"},
                ],
            }),
        )
        .expect_error(413, 113);
    assert_eq!(err["details"][0]["name"], "files[1].size");
    assert_eq!(
        owner
            .get(&format!("/v1/buckets/{id}/data"))
            .expect(200)
            .json()["data"],
        json!({})
    );
    // A file the glob leaves out may break limits: it is only skipped.
    let ok = owner
        .post(
            &format!("/v1/buckets/{id}/store"),
            &json!({"sync": "files", "glob": "*.csv", "files": [
                {"name": "ok.csv", "size": 5, "content_type": "text/csv"},
                {"name": "huge.bin", "size": too_big, "content_type": "application/octet-stream"},
            ]}),
        )
        .expect(200)
        .json();
    assert_eq!(ok["skipped"], json!(["huge.bin"]));
    assert_eq!(ok["files"].as_array().unwrap().len(), 1);
}

#[test]
fn sync_must_be_one_of_three_and_permissions_hold() {
    let owner = Caller::user("owner", &["create_buckets"]);
    let reader = Caller::user("reader", &[]);
    let id = bucket(
        &owner,
        &json!({"permissions": {"read": [reader.principal()]}}),
    );
    for body in [json!({}), json!({"sync": "everything"}), json!({"sync": 1})] {
        let err = owner
            .post(&format!("/v1/buckets/{id}/fetch"), &body)
            .expect_error(400, 107);
        assert_eq!(err["details"][0]["name"], "sync");
        let err = owner
            .post(&format!("/v1/buckets/{id}/store"), &body)
            .expect_error(400, 107);
        assert_eq!(err["details"][0]["name"], "sync");
    }
    reader
        .post(&format!("/v1/buckets/{id}/fetch"), &json!({"sync": "data"}))
        .expect(200);
    reader
        .post(
            &format!("/v1/buckets/{id}/store"),
            &json!({"sync": "data", "data": {"x": 1}}),
        )
        .expect_error(403, 121);
    Caller::user("stranger", &[])
        .post(&format!("/v1/buckets/{id}/fetch"), &json!({"sync": "data"}))
        .expect_error(403, 121);
}

#[test]
fn empty_clears_data_and_or_files() {
    let owner = Caller::user("owner", &["create_buckets"]);
    let id = bucket(&owner, &json!({}));
    owner
        .put(
            &format!("/v1/buckets/{id}/data"),
            &json!({"data": {"k": 1}}),
        )
        .expect(200);
    owner.upload(&id, "x.txt", b"x", "text/plain");
    owner.upload(&id, "y.txt", b"yy", "text/plain");
    let r = owner
        .post(&format!("/v1/buckets/{id}/empty"), &json!({"files": true}))
        .expect(200)
        .json();
    assert_eq!(r["data"]["files_deleted"], 2);
    assert!(
        owner
            .get(&format!("/v1/buckets/{id}/files"))
            .expect(200)
            .json()["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        owner
            .get(&format!("/v1/buckets/{id}/data"))
            .expect(200)
            .json()["data"]["k"],
        1
    );
    let b = owner.get(&format!("/v1/buckets/{id}")).expect(200).json();
    assert_eq!(
        (
            b["data"]["file_count"].as_i64(),
            b["data"]["total_bytes"].as_i64()
        ),
        (Some(0), Some(0))
    );
    owner
        .post(&format!("/v1/buckets/{id}/empty"), &json!({"data": true}))
        .expect(200);
    assert_eq!(
        owner
            .get(&format!("/v1/buckets/{id}/data"))
            .expect(200)
            .json()["data"],
        json!({})
    );
    owner
        .post(&format!("/v1/buckets/{id}/empty"), &json!({}))
        .expect_error(400, 107);
    owner
        .post(&format!("/v1/buckets/{id}/empty"), &json!({"files": "yes"}))
        .expect_error(400, 107);
}
