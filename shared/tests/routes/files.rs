//! Files: the upload event that records them, listing, downloads, replacement, deletion and who
//! may do what. Grants are in `grants.rs`, upload statuses in `uploads.rs`, permalinks in
//! `permalinks.rs`, paging in `paging.rs`.

use serde_json::json;
use shared::domain::time::now_ms;
use shared::memory::MemoryObjects;
use shared::ports::ObjectVersion;
use shared::service::uploads::Outcome;

use crate::common::{CREATOR, Caller, Env, event_time, ids};

/// What `who`'s GET of `path` (a download or a permalink) redirects to: the version its
/// presigned URL names, and the bytes it serves.
async fn download(who: &Caller<'_>, path: &str) -> (ObjectVersion, Vec<u8>) {
    let r = who.get(path).await.expect(302);
    who.env.download(&r.header("location").unwrap())
}

#[tokio::test]
async fn upload_list_and_download() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("f1", &json!({})).await;
    let body: Vec<u8> = (0..5_000u32).map(|i| (i % 251) as u8).collect();
    let file = alice
        .upload("f1", "Data Set (1).BIN", &body, "application/octet-stream")
        .await;
    assert_eq!(file["name"], "data_set_1_.bin", "xyOps normalization");
    assert_eq!(file["size"], body.len());
    assert_eq!(file["content_type"], "application/octet-stream");
    assert_eq!(file["uploaded_by"], alice.principal());
    assert!(file["etag"].as_str().is_some_and(|e| !e.is_empty()));
    assert!(file["modified"].as_i64().unwrap() > 0);
    assert!(
        file["sha256"].is_string(),
        "S3's checksum of the body is kept: {file}"
    );
    let path = file["path"].as_str().unwrap();
    assert!(
        path.starts_with("files/bucket/f1/") && path.ends_with("/data_set_1_.bin"),
        "{path}"
    );
    let list = alice.get("/v1/buckets/f1/files").await.expect(200).json();
    assert_eq!(
        list,
        json!({"data": [file], "has_more": false, "next_uri": null})
    );
    // Download: a 302 to a presigned GET of the object, never cached; JSON on request.
    let r = alice
        .get("/v1/buckets/f1/files/data_set_1_.bin")
        .await
        .expect(302);
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    assert!(r.resp.body.is_none());
    let location = r.header("location").unwrap();
    assert!(location.starts_with("memory://get/"), "{location}");
    // Presigned for the version the upload wrote, under the name's one key.
    let (version, served) = env.download(&location);
    assert_eq!(served, body);
    let generation = env.generation("f1").await;
    assert_eq!(version.key, format!("f1/{generation}/data_set_1_.bin"));
    assert_eq!(env.objects.keys(), std::slice::from_ref(&version.key));
    let before = now_ms();
    for (path, headers) in [
        ("/v1/buckets/f1/files/data_set_1_.bin?json", vec![]),
        (
            "/v1/buckets/f1/files/data_set_1_.bin",
            vec![("Accept", "application/json")],
        ),
    ] {
        let j = alice
            .send("GET", path, &headers, None)
            .await
            .expect(200)
            .json();
        assert_eq!(
            MemoryObjects::url_object(j["url"].as_str().unwrap()),
            Some(version.clone())
        );
        let expires = j["expires_at"].as_i64().unwrap();
        assert!(
            (before + 300_000..=now_ms() + 300_000).contains(&expires),
            "{j}"
        );
    }
    // The original name, percent-encoded, reaches the same file.
    let r = alice
        .get("/v1/buckets/f1/files/Data%20Set%20(1).BIN?json")
        .await
        .expect(200);
    assert_eq!(
        MemoryObjects::url_object(r.json()["url"].as_str().unwrap()),
        Some(version)
    );
    // Counters are exact; they do not bump the bucket's revision.
    assert_eq!(env.counters("f1").await, (1, 5_000, 1));
    // A name that is not there, and one that is not a name.
    let err = alice
        .get("/v1/buckets/f1/files/other.bin")
        .await
        .expect_error(404, 111);
    assert_eq!(
        err["details"],
        json!({"id": "other.bin", "resource_name": "file"})
    );
    alice
        .get("/v1/buckets/f1/files/..")
        .await
        .expect_invalid(400, "path", "name");
}

#[tokio::test]
async fn the_same_name_replaces_the_file_and_keeps_its_permalink() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("f2", &json!({})).await;
    let first = alice
        .upload("f2", "report.txt", b"version one", "text/plain")
        .await;
    let (first_version, _) = download(&alice, "/v1/buckets/f2/files/report.txt").await;
    let second = alice
        .upload("f2", "Report.TXT", b"version two, longer", "text/plain")
        .await;
    assert_eq!(
        second["path"], first["path"],
        "replacement keeps the permalink"
    );
    assert_eq!(second["size"], 19);
    assert_ne!(second["etag"], first["etag"]);
    let list = alice.get("/v1/buckets/f2/files").await.expect(200).json();
    assert_eq!(ids(&list, "name"), vec!["report.txt"]);
    assert_eq!(env.counters("f2").await, (1, 19, 1));
    // One key, whose latest version is the new one; downloads serve it.
    let (second_version, served) = download(&alice, "/v1/buckets/f2/files/report.txt").await;
    assert_eq!(served, b"version two, longer");
    assert_eq!(second_version.key, first_version.key);
    assert_ne!(second_version.version_id, first_version.version_id);
    assert_eq!(env.objects.keys(), std::slice::from_ref(&first_version.key));
    let latest = env.objects.get(&first_version.key).unwrap();
    assert_eq!(latest.meta.version_id, second_version.version_id);
    // The replaced version is kept (noncurrent, for the retention), and listed.
    assert_eq!(
        env.objects
            .get_version(&first_version)
            .unwrap()
            .body
            .unwrap(),
        b"version one"
    );
    assert_eq!(
        env.versions(&first_version.key),
        [first_version.clone(), second_version]
    );
    let kept = env.kept_versions("f2", "report.txt").await;
    assert_eq!(kept.len(), 1);
    assert_eq!(
        Some(kept[0].record.version_id.as_str()),
        first_version.version_id.as_deref()
    );
    assert_eq!(kept[0].record.size, 11);
    // Kept for the deployment's retention (7 days by default) from the replacement.
    assert_eq!(kept[0].expires_at - kept[0].replaced, 7 * 24 * 3600 * 1000);
    assert_eq!(Some(kept[0].replaced), second["last_modified"].as_i64());
    assert_eq!(kept[0].record.etag, first["etag"].as_str().unwrap());
    // The permalink serves the new version too.
    let permalink = format!("/{}", second["path"].as_str().unwrap());
    let (by_permalink, _) = download(&env.anonymous(), &permalink).await;
    assert_eq!(by_permalink.version_id, latest.meta.version_id);
}

#[tokio::test]
async fn an_older_upload_never_replaces_a_newer_one_and_events_count_once() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("f3", &json!({})).await;
    let old = alice.grant("f3", &[("twice.txt", 5, "text/plain")]).await;
    let old = old.expect(201).json()["data"][0].clone();
    let new = alice.grant("f3", &[("twice.txt", 6, "text/plain")]).await;
    let new = new.expect(201).json()["data"][0].clone();
    let old_key = env.put_upload(&old, b"older");
    let (t_old, t_new) = (event_time(), event_time());
    let new_key = env.put_upload(&new, b"newer!");
    // Events arrive out of order: the newer first.
    assert_eq!(old_key.key, new_key.key, "one key per name");
    let services = &env.app.services;
    let process = |v: &ObjectVersion, at: i64| {
        let (key, version) = (v.key.clone(), v.version_id.clone());
        async move {
            services
                .process_upload(&key, version.as_deref(), Some(at))
                .await
        }
    };
    assert_eq!(process(&new_key, t_new).await, Ok(Outcome::Recorded));
    assert_eq!(process(&old_key, t_old).await, Ok(Outcome::Superseded));
    // Repeated events change nothing (the older version is gone by now).
    assert_eq!(process(&new_key, t_new).await, Ok(Outcome::Duplicate));
    assert_eq!(process(&old_key, t_old).await, Ok(Outcome::Gone));
    let list = alice.get("/v1/buckets/f3/files").await.expect(200).json();
    assert_eq!(list["data"][0], alice.status(&new).await["file"]);
    assert_eq!(list["data"][0]["size"], 6);
    assert_eq!(env.counters("f3").await, (1, 6, 1));
    // The older version was deleted, not kept as a replaced one.
    assert_eq!(env.versions(&new_key.key), [new_key]);
    assert_eq!(env.kept_versions("f3", "twice.txt").await, []);
}

#[tokio::test]
async fn delete_removes_record_object_counts_and_permalink() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("f4", &json!({})).await;
    alice.upload("f4", "gone.txt", b"bye", "text/plain").await;
    // Replaced once: a kept version, which goes with the file.
    let file = alice.upload("f4", "gone.txt", b"bye!", "text/plain").await;
    assert_eq!(env.kept_versions("f4", "gone.txt").await.len(), 1);
    alice.upload("f4", "kept.txt", b"stay", "text/plain").await;
    let generation = env.generation("f4").await;
    let gone_key = format!("f4/{generation}/gone.txt");
    assert_eq!(env.versions(&gone_key).len(), 2);
    let r = alice
        .delete("/v1/buckets/f4/files/Gone.TXT")
        .await
        .expect(200)
        .json();
    assert_eq!(r["data"], json!({"name": "gone.txt", "deleted": true}));
    let list = alice.get("/v1/buckets/f4/files").await.expect(200).json();
    assert_eq!(ids(&list, "name"), vec!["kept.txt"]);
    alice
        .get("/v1/buckets/f4/files/gone.txt")
        .await
        .expect_error(404, 111);
    alice
        .delete("/v1/buckets/f4/files/gone.txt")
        .await
        .expect_error(404, 111);
    let permalink = format!("/{}", file["path"].as_str().unwrap());
    env.anonymous().get(&permalink).await.expect_error(404, 111);
    // Every version of the file (its own and the kept one) went before the answer, by version
    // id (no delete marker is left), and no cascade is left pending.
    assert_eq!(env.versions(&gone_key), []);
    assert_eq!(env.objects.len(), 1);
    assert!(env.store.markers().is_empty());
    assert_eq!(env.counters("f4").await, (1, 4, 1));
    // The name used again: a new file, with a new permalink and no history.
    let again = alice.upload("f4", "gone.txt", b"hi", "text/plain").await;
    assert_ne!(again["path"], file["path"]);
    assert_eq!(env.kept_versions("f4", "gone.txt").await, []);
    let (version, served) = download(&alice, "/v1/buckets/f4/files/gone.txt").await;
    assert_eq!(served, b"hi");
    assert_eq!(env.versions(&gone_key), [version]);
}

#[tokio::test]
async fn read_to_list_and_download_write_to_upload_and_delete() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    let reader = env.user("reader", &[]);
    let writer = env.user("writer", &[]);
    let acl = json!({"permissions": {"read": [reader.principal()], "write": [writer.principal()]}});
    alice.create_bucket("f7", &acl).await;
    let file = writer
        .upload("f7", "w.txt", b"from writer", "text/plain")
        .await;
    assert_eq!(file["uploaded_by"], writer.principal());
    reader.get("/v1/buckets/f7/files").await.expect(200);
    reader.get("/v1/buckets/f7/files/w.txt").await.expect(302);
    reader
        .grant("f7", &[("r.txt", 1, "text/plain")])
        .await
        .expect_error(403, 121);
    reader
        .delete("/v1/buckets/f7/files/w.txt")
        .await
        .expect_error(403, 121);
    let stranger = env.user("stranger", &[]);
    for path in [
        "/v1/buckets/f7/files",
        "/v1/buckets/f7/files/w.txt",
        "/v1/buckets/f7/files/none.txt",
    ] {
        stranger.get(path).await.expect_error(403, 121);
        env.anonymous().get(path).await.expect_error(401, 104);
    }
    stranger
        .grant("f7", &[("s.txt", 1, "text/plain")])
        .await
        .expect_error(403, 121);
    let editor = env.user("editor", &["edit_buckets"]);
    let edited = editor.upload("f7", "e.txt", b"e", "text/plain").await;
    assert_eq!(edited["uploaded_by"], editor.principal());
    writer
        .delete("/v1/buckets/f7/files/w.txt")
        .await
        .expect(200);
    let list = reader.get("/v1/buckets/f7/files").await.expect(200).json();
    assert_eq!(ids(&list, "name"), vec!["e.txt"]);
}

#[tokio::test]
async fn the_default_bucket_holds_files_too() {
    let env = Env::new();
    let alice = env.user("alice", &[]);
    let file = alice
        .upload("default", "mine.txt", b"personal", "text/plain")
        .await;
    let id = alice.get("/v1/").await.expect(200).json()["user"]["bucket"].clone();
    let id = id.as_str().unwrap();
    assert!(
        file["path"]
            .as_str()
            .unwrap()
            .starts_with(&format!("files/bucket/{id}/"))
    );
    let list = alice
        .get("/v1/buckets/default/files")
        .await
        .expect(200)
        .json();
    assert_eq!(ids(&list, "name"), vec!["mine.txt"]);
    let by_id = alice
        .get(&format!("/v1/buckets/{id}/files"))
        .await
        .expect(200)
        .json();
    assert_eq!(by_id, list);
    alice
        .get("/v1/buckets/default/files/mine.txt")
        .await
        .expect(302);
    alice
        .delete("/v1/buckets/default/files/mine.txt")
        .await
        .expect(200);
    assert!(env.objects.is_empty());
}

#[tokio::test]
async fn globs_filter_the_listing() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("f8", &json!({})).await;
    for name in ["a.csv", "b.csv", "c.txt", "report-a.txt", "report-b.txt"] {
        alice
            .upload("f8", name, name.as_bytes(), "text/plain")
            .await;
    }
    let cases = [
        ("*.csv", vec!["a.csv", "b.csv"]),
        ("report-{a,b}.txt", vec!["report-a.txt", "report-b.txt"]),
        ("?.*", vec!["a.csv", "b.csv", "c.txt"]),
        (
            "*",
            vec!["a.csv", "b.csv", "c.txt", "report-a.txt", "report-b.txt"],
        ),
        ("none*", vec![]),
    ];
    for (glob, want) in cases {
        let path = format!(
            "/v1/buckets/f8/files?glob={}",
            glob.replace('{', "%7B").replace('}', "%7D")
        );
        let list = alice.get(&path).await.expect(200).json();
        assert_eq!(ids(&list, "name"), want, "{glob}");
    }
}
