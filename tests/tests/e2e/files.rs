//! Files: presigned uploads and downloads straight to S3, the upload-event processing, listing
//! with globs, replacement, deletion, permalinks, and what S3 refuses.

use buckets_e2e::{Caller, Upload, unique};
use serde_json::{Value, json};

const CREATOR: &[&str] = &["create_buckets"];

fn bucket(owner: &Caller, body: &Value) -> String {
    let id = unique("f-");
    owner.create_bucket(&id, body);
    id
}

fn names(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect()
}

fn one_grant(caller: &Caller, id: &str, name: &str, size: usize, ct: &str) -> Upload {
    Upload {
        grant: caller.grant(id, &[(name, size, ct)]).expect(201).json()["data"][0].clone(),
    }
}

#[test]
fn upload_list_and_download_byte_identical() {
    let alice = Caller::user("alice", CREATOR);
    let id = bucket(&alice, &json!({}));
    let body: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
    let file = alice.upload(&id, "Data Set (1).BIN", &body, "application/octet-stream");
    assert_eq!(file["name"], "data_set_1_.bin", "xyOps normalization");
    assert_eq!(file["size"], body.len());
    assert_eq!(file["content_type"], "application/octet-stream");
    assert_eq!(file["uploaded_by"], alice.principal());
    assert!(file["etag"].as_str().is_some_and(|e| !e.is_empty()));
    assert!(file["modified"].as_i64().unwrap() > 0);
    let path = file["path"].as_str().unwrap();
    assert!(
        path.starts_with(&format!("files/bucket/{id}/")) && path.ends_with("/data_set_1_.bin"),
        "{path}"
    );

    let list = alice
        .get(&format!("/v1/buckets/{id}/files"))
        .expect(200)
        .json();
    assert_eq!(names(&list), vec!["data_set_1_.bin"]);
    assert_eq!(list["data"][0], file);

    // Download: 302 to a presigned S3 URL, bytes identical; the JSON form on request.
    let r = alice
        .get(&format!("/v1/buckets/{id}/files/data_set_1_.bin"))
        .expect(302);
    let location = r.header("location").unwrap();
    let got = Caller::anonymous().get(&location).expect(200);
    assert_eq!(got.bytes, body);
    let j = alice
        .get(&format!("/v1/buckets/{id}/files/data_set_1_.bin?json"))
        .expect(200)
        .json();
    assert_eq!(
        Caller::anonymous()
            .get(j["url"].as_str().unwrap())
            .expect(200)
            .bytes,
        body
    );
    assert!(j["expires_at"].as_i64().unwrap() > 0);
    // The original name reaches the same file.
    alice
        .get(&format!("/v1/buckets/{id}/files/Data%20Set%20(1).BIN?json"))
        .expect(200);

    // The bucket's counters are exact; they do not bump the bucket's revision.
    let b = alice.get(&format!("/v1/buckets/{id}")).expect(200).json();
    assert_eq!(b["data"]["file_count"], 1);
    assert_eq!(b["data"]["total_bytes"], body.len());
    assert_eq!(b["data"]["revision"], 1);
}

#[test]
fn same_name_replaces_and_keeps_the_permalink() {
    let alice = Caller::user("alice", CREATOR);
    let id = bucket(&alice, &json!({}));
    let first = alice.upload(&id, "report.txt", b"version one", "text/plain");
    let second = alice.upload(&id, "Report.TXT", b"version two, longer", "text/plain");
    assert_eq!(
        second["path"], first["path"],
        "replacement keeps the permalink"
    );
    assert_eq!(second["size"], 19);
    let list = alice
        .get(&format!("/v1/buckets/{id}/files"))
        .expect(200)
        .json();
    assert_eq!(names(&list), vec!["report.txt"]);
    let b = alice.get(&format!("/v1/buckets/{id}")).expect(200).json();
    assert_eq!(
        (
            b["data"]["file_count"].as_i64(),
            b["data"]["total_bytes"].as_i64()
        ),
        (Some(1), Some(19))
    );
    let link = format!("/{}", second["path"].as_str().unwrap());
    let r = Caller::anonymous().get(&link).expect(302);
    assert_eq!(
        Caller::anonymous()
            .get(&r.header("location").unwrap())
            .expect(200)
            .bytes,
        b"version two, longer"
    );
}

#[test]
fn glob_listing_and_pages() {
    let alice = Caller::user("alice", CREATOR);
    let id = bucket(&alice, &json!({}));
    for name in ["a.csv", "b.csv", "c.txt", "d.csv"] {
        alice.upload(&id, name, name.as_bytes(), "text/plain");
    }
    let csv = alice
        .get(&format!("/v1/buckets/{id}/files?glob=*.csv"))
        .expect(200)
        .json();
    assert_eq!(names(&csv), vec!["a.csv", "b.csv", "d.csv"]);
    // Pages of 1 with a glob follow Next-Page to the end.
    let mut seen = vec![];
    let mut next = Some(format!("/v1/buckets/{id}/files?glob=*.csv&_limit=1"));
    while let Some(url) = next {
        let r = alice.get(&url).expect(200);
        seen.extend(names(&r.json()));
        next = r.header("next-page");
    }
    assert_eq!(seen, vec!["a.csv", "b.csv", "d.csv"]);
    let err = alice
        .get(&format!("/v1/buckets/{id}/files?glob=["))
        .expect_error(400, 107);
    assert_eq!(err["details"][0]["name"], "glob");
}

#[test]
fn delete_removes_record_object_counts_and_permalink() {
    let alice = Caller::user("alice", CREATOR);
    let id = bucket(&alice, &json!({}));
    let file = alice.upload(&id, "gone.txt", b"bye", "text/plain");
    let location = alice
        .get(&format!("/v1/buckets/{id}/files/gone.txt"))
        .expect(302)
        .header("location")
        .unwrap();
    let r = alice
        .delete(&format!("/v1/buckets/{id}/files/gone.txt"))
        .expect(200)
        .json();
    assert_eq!(r["data"], json!({"name": "gone.txt", "deleted": true}));
    assert!(
        names(
            &alice
                .get(&format!("/v1/buckets/{id}/files"))
                .expect(200)
                .json()
        )
        .is_empty()
    );
    alice
        .get(&format!("/v1/buckets/{id}/files/gone.txt"))
        .expect_error(404, 111);
    alice
        .delete(&format!("/v1/buckets/{id}/files/gone.txt"))
        .expect_error(404, 111);
    Caller::anonymous()
        .get(&format!("/{}", file["path"].as_str().unwrap()))
        .expect_error(404, 111);
    // The object itself is gone from S3.
    assert_ne!(Caller::anonymous().get(&location).status, 200);
    let b = alice.get(&format!("/v1/buckets/{id}")).expect(200).json();
    assert_eq!(
        (
            b["data"]["file_count"].as_i64(),
            b["data"]["total_bytes"].as_i64()
        ),
        (Some(0), Some(0))
    );
}

#[test]
fn s3_refuses_what_was_not_signed() {
    let alice = Caller::user("alice", CREATOR);
    let id = bucket(&alice, &json!({}));
    let up = one_grant(&alice, &id, "signed.txt", 10, "text/plain");
    // The status link resolves for the client as given.
    let host_end = alice.base.find("://").unwrap() + 3;
    let host = &alice.base[..host_end + alice.base[host_end..].find('/').unwrap()];
    let status = alice
        .get(&format!(
            "{host}{}",
            up.grant["status_uri"].as_str().unwrap()
        ))
        .expect(200)
        .json();
    assert_eq!(status["data"]["status"], "pending");
    // Tampered signature.
    let url = up.url();
    let pos = url.find("X-Amz-Signature=").unwrap() + "X-Amz-Signature=".len();
    let flipped = if &url[pos..pos + 1] == "0" { "1" } else { "0" };
    let tampered = format!("{}{}{}", &url[..pos], flipped, &url[pos + 1..]);
    assert_eq!(up.put_to(&tampered, b"0123456789", &[]).status, 403);
    // Another key with the same signature.
    let other_key = url.replace("signed.txt", "other.txt");
    assert_eq!(up.put_to(&other_key, b"0123456789", &[]).status, 403);
    // A body larger than signed, and a content type other than signed.
    assert_eq!(up.put(b"0123456789+", &[]).status, 403);
    assert_eq!(
        up.put(b"0123456789", &[("Content-Type", "text/html")])
            .status,
        403
    );
    // The signed request itself goes through.
    up.put(b"0123456789", &[]).expect(200);
    assert_eq!(
        alice.wait_upload(&id, &up.upload_id())["status"],
        "recorded"
    );
}

#[test]
fn grant_time_limits_and_bad_names() {
    let alice = Caller::user("alice", CREATOR);
    let id = bucket(&alice, &json!({}));
    let too_big = 2 * 1024 * 1024 * 1024_usize;
    let err = alice
        .grant(&id, &[("big.bin", too_big, "application/octet-stream")])
        .expect_error(413, 113);
    assert_eq!(err["details"][0]["name"], "files[0].size");
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"files": [{"name": "", "size": 1, "content_type": "text/plain"}]}),
            "files[0].name",
        ),
        (
            json!({"files": [{"name": "..", "size": 1, "content_type": "text/plain"}]}),
            "files[0].name",
        ),
        (
            json!({"files": [{"name": "../../etc/passwd", "size": 1, "content_type": "text/plain"}]}),
            "files[0].name",
        ),
        (
            json!({"files": [{"size": 1, "content_type": "text/plain"}]}),
            "files[0].name",
        ),
        (
            json!({"files": [{"name": "a", "size": 0, "content_type": "text/plain"}]}),
            "files[0].size",
        ),
        (
            json!({"files": [{"name": "a", "size": -1, "content_type": "text/plain"}]}),
            "files[0].size",
        ),
        (
            json!({"files": [{"name": "a", "size": "1", "content_type": "text/plain"}]}),
            "files[0].size",
        ),
        (
            json!({"files": [{"name": "a", "size": 1}]}),
            "files[0].content_type",
        ),
        (
            json!({"files": [{"name": "a", "size": 1, "content_type": "text/c\nsv"}]}),
            "files[0].content_type",
        ),
        (
            json!({"files": [{"name": "a", "size": 1, "content_type": "text/plain", "sha256": "nope"}]}),
            "files[0].sha256",
        ),
        (
            json!({"files": [{"name": "a", "size": 1, "content_type": "text/plain"}, {"name": "A", "size": 1, "content_type": "text/plain"}]}),
            "files[1].name",
        ),
        (json!({"files": []}), "files"),
        // A field a grant does not take is named (before the missing `files`).
        (json!({"nothing": 1}), "nothing"),
    ];
    for (body, field) in cases {
        let err = alice
            .post(&format!("/v1/buckets/{id}/files"), &body)
            .expect_error(400, 107);
        assert_eq!(err["details"][0]["name"], field, "{body}");
    }
}

#[test]
fn a_declared_sha256_is_checked_by_s3() {
    let alice = Caller::user("alice", CREATOR);
    let id = bucket(&alice, &json!({}));
    // sha256("hello world")
    let sha = "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9";
    let body = json!({"files": [{"name": "h.txt", "size": 11, "content_type": "text/plain", "sha256": sha}]});
    let up = Upload {
        grant: alice
            .post(&format!("/v1/buckets/{id}/files"), &body)
            .expect(201)
            .json()["data"][0]
            .clone(),
    };
    assert_ne!(
        up.put(b"hello WORLD", &[]).status,
        200,
        "S3 refuses a body whose digest differs"
    );
    up.put(b"hello world", &[]).expect(200);
    let status = alice.wait_upload(&id, &up.upload_id());
    assert_eq!(status["status"], "recorded");
    assert_eq!(
        status["file"]["sha256"],
        "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek="
    );
}

#[test]
fn inactive_buckets_get_no_grants() {
    let alice = Caller::user("alice", CREATOR);
    let id = bucket(&alice, &json!({"data": {"active": false}}));
    let err = alice
        .grant(&id, &[("a.txt", 1, "text/plain")])
        .expect_error(403, 121);
    assert!(err["message"].as_str().unwrap().contains("inactive"));
    alice
        .patch(
            &format!("/v1/buckets/{id}"),
            "application/json",
            &json!({"data": {"active": true}}),
        )
        .expect(200);
    alice.grant(&id, &[("a.txt", 1, "text/plain")]).expect(201);
}

#[test]
fn read_to_list_and_download_write_to_upload_and_delete() {
    let alice = Caller::user("alice", CREATOR);
    let reader = Caller::user("reader", &[]);
    let writer = Caller::user("writer", &[]);
    let stranger = Caller::user("stranger", &[]);
    let id = bucket(
        &alice,
        &json!({"permissions": {"read": [reader.principal()], "write": [writer.principal()]}}),
    );
    writer.upload(&id, "w.txt", b"from writer", "text/plain");
    reader.get(&format!("/v1/buckets/{id}/files")).expect(200);
    reader
        .get(&format!("/v1/buckets/{id}/files/w.txt"))
        .expect(302);
    reader
        .grant(&id, &[("r.txt", 1, "text/plain")])
        .expect_error(403, 121);
    reader
        .delete(&format!("/v1/buckets/{id}/files/w.txt"))
        .expect_error(403, 121);
    stranger
        .get(&format!("/v1/buckets/{id}/files"))
        .expect_error(403, 121);
    stranger
        .get(&format!("/v1/buckets/{id}/files/w.txt"))
        .expect_error(403, 121);
    stranger
        .grant(&id, &[("s.txt", 1, "text/plain")])
        .expect_error(403, 121);
    Caller::anonymous()
        .get(&format!("/v1/buckets/{id}/files"))
        .expect_error(401, 104);
    Caller::user("editor", &["edit_buckets"])
        .grant(&id, &[("e.txt", 1, "text/plain")])
        .expect(201);
    writer
        .delete(&format!("/v1/buckets/{id}/files/w.txt"))
        .expect(200);
}

#[test]
fn the_default_bucket_holds_files_too() {
    let alice = Caller::user("alice", &[]);
    alice.upload("default", "mine.txt", b"personal", "text/plain");
    let list = alice.get("/v1/buckets/default/files").expect(200).json();
    assert_eq!(names(&list), vec!["mine.txt"]);
}

#[test]
fn a_repeated_upload_event_changes_nothing() {
    let alice = Caller::user("alice", CREATOR);
    let id = bucket(&alice, &json!({}));
    let up = one_grant(&alice, &id, "twice.txt", 5, "text/plain");
    let version = up.put(b"12345", &[]).expect(200).header("x-amz-version-id");
    let version = version.expect("the files bucket is versioned");
    let first = alice.wait_upload(&id, &up.upload_id());
    assert_eq!(first["status"], "recorded");
    for _ in 0..2 {
        let out =
            buckets_e2e::local_script("invoke_upload_event.py", &[&id, "twice.txt", &version]);
        assert!(out.contains("\"error\": null"), "{out}");
    }
    let list = alice
        .get(&format!("/v1/buckets/{id}/files"))
        .expect(200)
        .json();
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert_eq!(list["data"][0], first["file"]);
    let b = alice.get(&format!("/v1/buckets/{id}")).expect(200).json();
    assert_eq!(
        (
            b["data"]["file_count"].as_i64(),
            b["data"]["total_bytes"].as_i64()
        ),
        (Some(1), Some(5))
    );
    // A late event of a replaced upload does not bring the old content back.
    let newer = alice.upload(&id, "twice.txt", b"newer!", "text/plain");
    buckets_e2e::local_script("invoke_upload_event.py", &[&id, "twice.txt", &version]);
    let list = alice
        .get(&format!("/v1/buckets/{id}/files"))
        .expect(200)
        .json();
    assert_eq!(list["data"][0], newer);
    let b = alice.get(&format!("/v1/buckets/{id}")).expect(200).json();
    assert_eq!(
        (
            b["data"]["file_count"].as_i64(),
            b["data"]["total_bytes"].as_i64()
        ),
        (Some(1), Some(6))
    );
}

#[test]
fn an_upload_after_the_bucket_is_deleted_leaves_no_object() {
    let alice = Caller::user("alice", CREATOR);
    let id = bucket(&alice, &json!({}));
    let up = one_grant(&alice, &id, "late.txt", 4, "text/plain");
    alice.delete(&format!("/v1/buckets/{id}")).expect(200);
    // The URL is still valid for S3, but the event function removes the object.
    up.put(b"late", &[]).expect(200);
    let key_url = up.url();
    let plain = key_url.split('?').next().unwrap().to_string();
    for _ in 0..100 {
        // Unsigned GET: 403/404 either way once gone; poll via the emulator's listing instead.
        let out = buckets_e2e::local_script("object_exists.py", &[&plain]);
        if out.trim() == "false" {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    panic!("the late upload's object was not removed");
}

/// A bucket's own byte quota under 10 uploads PUT at once: S3's events race through the
/// upload-events function, and the DynamoDB condition on the bucket item (`total_bytes <=
/// max_bytes - delta`) lets exactly as many in as fit; the others are rejected with the reason.
#[test]
fn a_bucket_quota_holds_under_ten_parallel_uploads() {
    let alice = Caller::user("alice", CREATOR);
    let id = bucket(&alice, &json!({"data": {"limits": {"max_bytes": 45}}}));
    let b = alice.get(&format!("/v1/buckets/{id}")).expect(200).json();
    assert_eq!(b["data"]["limits"]["max_bytes"], 45);
    // Each grant fits alone (a grant reserves nothing): ten of 10 bytes for a quota of 45.
    let grants: Vec<Upload> = (0..10)
        .map(|i| one_grant(&alice, &id, &format!("f{i}.csv"), 10, "text/csv"))
        .collect();
    std::thread::scope(|s| {
        for up in &grants {
            s.spawn(move || up.put(b"0123456789", &[]).expect(200));
        }
    });
    let statuses: Vec<Value> = grants
        .iter()
        .map(|g| alice.wait_upload(&id, &g.upload_id()))
        .collect();
    let recorded = statuses
        .iter()
        .filter(|s| s["status"] == "recorded")
        .count();
    assert_eq!(recorded, 4, "{statuses:?}");
    for s in statuses.iter().filter(|s| s["status"] != "recorded") {
        assert_eq!(s["status"], "rejected", "{s}");
        assert!(s["reason"].as_str().unwrap().contains("quota"), "{s}");
    }
    let b = alice.get(&format!("/v1/buckets/{id}")).expect(200).json();
    assert_eq!(
        (&b["data"]["file_count"], &b["data"]["total_bytes"]),
        (&json!(4), &json!(40))
    );
    let list = alice
        .get(&format!("/v1/buckets/{id}/files"))
        .expect(200)
        .json();
    assert_eq!(names(&list).len(), 4);
}
