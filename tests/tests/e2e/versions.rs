//! One stable S3 key per file name in a versioned bucket: records pin their version, refused
//! uploads never replace what readers get, replaced versions are kept, listed and restored.

use buckets_e2e::{Caller, Upload, unique};
use serde_json::{Value, json};

const CREATOR: &[&str] = &["create_buckets"];

fn bucket(owner: &Caller, body: &Value) -> String {
    let id = unique("v-");
    owner.create_bucket(&id, body);
    id
}

fn one_grant(caller: &Caller, id: &str, name: &str, size: usize) -> Upload {
    Upload {
        grant: caller
            .grant(id, &[(name, size, "text/plain")])
            .expect(201)
            .json()["files"][0]
            .clone(),
    }
}

/// The bytes a download of `name` returns now (through its presigned redirect).
fn download(caller: &Caller, id: &str, name: &str) -> Vec<u8> {
    let location = download_url(caller, id, name);
    Caller::anonymous().get(&location).expect(200).bytes
}

fn download_url(caller: &Caller, id: &str, name: &str) -> String {
    caller
        .get(&format!("/v1/buckets/{id}/files/{name}"))
        .expect(302)
        .header("location")
        .unwrap()
}

fn counters(caller: &Caller, id: &str) -> (Value, Value) {
    let b = caller.get(&format!("/v1/buckets/{id}")).expect(200).json();
    (
        b["data"]["file_count"].clone(),
        b["data"]["total_bytes"].clone(),
    )
}

fn versions(caller: &Caller, id: &str, name: &str) -> Vec<Value> {
    caller
        .get(&format!("/v1/buckets/{id}/files/{name}/versions"))
        .expect(200)
        .json()["data"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn a_replacement_is_served_only_once_recorded_and_keeps_the_permalink() {
    let alice = Caller::user("alice", CREATOR);
    let id = bucket(&alice, &json!({}));
    let first = alice.upload(&id, "report.txt", b"version one", "text/plain");
    // A download URL handed out before the replacement is pinned to the first version: what
    // it returns never changes, whatever is written to the key afterwards.
    let pinned = download_url(&alice, &id, "report.txt");
    let up = one_grant(&alice, &id, "report.txt", 19);
    let put = up.put(b"version two, longer", &[]).expect(200);
    assert!(
        put.header("x-amz-version-id").is_some(),
        "the files bucket is versioned"
    );
    assert_eq!(
        Caller::anonymous().get(&pinned).expect(200).bytes,
        b"version one"
    );
    let status = alice.wait_upload(&id, &up.upload_id());
    assert_eq!(status["status"], "recorded", "{status}");
    assert_eq!(status["file"]["path"], first["path"], "same permalink");
    assert_eq!(download(&alice, &id, "report.txt"), b"version two, longer");
    let link = format!("/{}", first["path"].as_str().unwrap());
    let r = Caller::anonymous().get(&link).expect(302);
    assert_eq!(
        Caller::anonymous()
            .get(&r.header("location").unwrap())
            .expect(200)
            .bytes,
        b"version two, longer"
    );
    // Counters count the current version only.
    assert_eq!(counters(&alice, &id), (json!(1), json!(19)));
}

#[test]
fn an_upload_refused_after_its_grant_leaves_the_previous_file_served() {
    let alice = Caller::user("alice", CREATOR);
    let id = bucket(&alice, &json!({}));
    alice.upload(&id, "keep.txt", b"original", "text/plain");
    let up = one_grant(&alice, &id, "keep.txt", 20);
    // The limit is tightened after the grant: the event refuses the upload.
    alice
        .patch(
            &format!("/v1/buckets/{id}"),
            "application/json",
            &json!({"data": {"limits": {"max_file_size": 10}}}),
        )
        .expect(200);
    up.put(b"twenty bytes refused", &[]).expect(200);
    let status = alice.wait_upload(&id, &up.upload_id());
    assert_eq!(status["status"], "rejected", "{status}");
    assert!(
        status["reason"].as_str().unwrap().contains("limit"),
        "{status}"
    );
    assert_eq!(download(&alice, &id, "keep.txt"), b"original");
    assert_eq!(counters(&alice, &id), (json!(1), json!(8)));
    assert!(
        versions(&alice, &id, "keep.txt").is_empty(),
        "a refused upload is no version"
    );
    // The key's latest version is the original again (what SFTP users will see).
    let key = format!("{id}/{}/keep.txt", up.generation());
    assert_eq!(
        buckets_e2e::local_script("object_exists.py", &[&key]).trim(),
        "true"
    );
}

#[test]
fn replaced_versions_are_listed_and_restored() {
    let alice = Caller::user("alice", CREATOR);
    let bob = Caller::user("bob", &[]);
    let id = bucket(&alice, &json!({"permissions": {"read": [bob.principal()]}}));
    let v1 = alice.upload(&id, "notes.txt", b"one", "text/plain");
    alice.upload(&id, "notes.txt", b"two!", "text/plain");
    let v3 = alice.upload(&id, "notes.txt", b"three", "text/plain");
    let kept = versions(&alice, &id, "notes.txt");
    assert_eq!(kept.len(), 2, "{kept:?}");
    let mut sizes: Vec<i64> = kept.iter().map(|v| v["size"].as_i64().unwrap()).collect();
    sizes.sort();
    assert_eq!(sizes, [3, 4]);
    for v in &kept {
        assert_eq!(v["uploaded_by"], alice.principal());
        assert!(v["version_id"].as_str().is_some_and(|s| !s.is_empty()));
        assert!(v["replaced"].as_i64().unwrap() >= v["last_modified"].as_i64().unwrap());
        assert!(v["expires_at"].as_i64().unwrap() > v["replaced"].as_i64().unwrap());
    }
    // Readers list versions; only writers restore.
    assert_eq!(versions(&bob, &id, "notes.txt").len(), 2);
    let one = kept.iter().find(|v| v["size"] == 3).unwrap();
    let version = one["version_id"].as_str().unwrap();
    let restore = format!("/v1/buckets/{id}/files/notes.txt/versions/{version}/restore");
    bob.post(&restore, &json!({})).expect_error(403, 121);
    alice
        .post(
            &format!("/v1/buckets/{id}/files/notes.txt/versions/nope/restore"),
            &json!({}),
        )
        .expect_error(404, 111);

    let restored = alice.post(&restore, &json!({})).expect(200).json()["data"].clone();
    assert_eq!(restored["size"], 3);
    assert_eq!(restored["path"], v1["path"], "the permalink stays");
    assert_eq!(restored["uploaded_by"], alice.principal());
    assert_eq!(download(&alice, &id, "notes.txt"), b"one");
    assert_eq!(counters(&alice, &id), (json!(1), json!(3)));
    // The replaced current version (three) is kept in turn; the restored one stays listed.
    let kept = versions(&alice, &id, "notes.txt");
    assert_eq!(kept.len(), 3, "{kept:?}");
    assert!(
        kept.iter()
            .any(|v| v["size"] == 5 && v["etag"] == v3["etag"])
    );
    // A late repeat of the first upload's event does not delete its kept version.
    let out = buckets_e2e::local_script("invoke_upload_event.py", &[&id, "notes.txt", version]);
    assert!(out.contains("\"error\": null"), "{out}");
    alice.post(&restore, &json!({})).expect(200);
    assert_eq!(download(&alice, &id, "notes.txt"), b"one");

    // A deleted file has no versions (and its name, uploaded again, starts afresh).
    alice
        .delete(&format!("/v1/buckets/{id}/files/notes.txt"))
        .expect(200);
    alice
        .get(&format!("/v1/buckets/{id}/files/notes.txt/versions"))
        .expect_error(404, 111);
    alice.upload(&id, "notes.txt", b"fresh", "text/plain");
    assert!(versions(&alice, &id, "notes.txt").is_empty());
}

/// Ten uploads at once into a bucket holding one file, under a byte quota and a file-count
/// limit: the bucket never ends past either, and every record describes the bytes its
/// download returns (a refused replacement leaves the previous bytes served).
#[test]
fn limits_hold_and_records_match_downloads_under_ten_parallel_uploads() {
    let alice = Caller::user("alice", CREATOR);
    let id = bucket(
        &alice,
        &json!({"data": {"limits": {"max_bytes": 45, "max_files": 3}}}),
    );
    alice.upload(&id, "a.txt", b"0123456789", "text/plain");
    let mut grants: Vec<(Upload, Vec<u8>)> = (0..9)
        .map(|i| {
            let body = format!("new file {i}").into_bytes();
            (
                one_grant(&alice, &id, &format!("n{i}.txt"), body.len()),
                body,
            )
        })
        .collect();
    let replacement = b"a replacement of 25 bytes".to_vec();
    grants.push((
        one_grant(&alice, &id, "a.txt", replacement.len()),
        replacement,
    ));
    std::thread::scope(|s| {
        for (up, body) in &grants {
            s.spawn(move || up.put(body, &[]).expect(200));
        }
    });
    for (up, _) in &grants {
        let status = alice.wait_upload(&id, &up.upload_id());
        assert!(
            status["status"] == "recorded" || status["status"] == "rejected",
            "{status}"
        );
    }
    let (count, bytes) = counters(&alice, &id);
    assert!(count.as_i64().unwrap() <= 3, "{count}");
    assert!(bytes.as_i64().unwrap() <= 45, "{bytes}");
    let list = alice
        .get(&format!("/v1/buckets/{id}/files"))
        .expect(200)
        .json();
    let files = list["data"].as_array().unwrap();
    assert_eq!(files.len() as i64, count.as_i64().unwrap());
    let mut total = 0;
    for f in files {
        let name = f["name"].as_str().unwrap();
        let got = download(&alice, &id, name);
        assert_eq!(got.len() as i64, f["size"].as_i64().unwrap(), "{name}");
        total += got.len() as i64;
        if name == "a.txt" && got.len() == 10 {
            assert_eq!(
                got, b"0123456789",
                "a refused replacement leaves the old bytes"
            );
        }
    }
    assert_eq!(total, bytes.as_i64().unwrap());
}

/// The deployment keeps replaced versions for the retention it advertises: the files bucket is
/// versioned, and its lifecycle expires noncurrent versions after `version_retention_days`
/// (and aborts abandoned multipart uploads). The emulator stores the rules; it never runs them.
#[test]
fn the_files_bucket_is_versioned_with_the_advertised_retention() {
    let root = Caller::anonymous().get("/v1/").expect(200).json();
    let days = root["settings"]["upload"]["version_retention_days"]
        .as_i64()
        .expect("the retention is advertised");
    let config: Value =
        serde_json::from_str(&buckets_e2e::local_script("files_bucket_config.py", &[])).unwrap();
    assert_eq!(config["versioning"], "Enabled", "{config}");
    let rules = config["rules"].as_array().unwrap();
    let expiry = rules
        .iter()
        .find(|r| r["NoncurrentVersionExpiration"].is_object())
        .expect("a rule expires replaced versions");
    assert_eq!(expiry["Status"], "Enabled");
    assert_eq!(
        expiry["NoncurrentVersionExpiration"]["NoncurrentDays"],
        days
    );
    assert!(
        rules
            .iter()
            .any(|r| r["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"].is_number()),
        "{config}"
    );
}
