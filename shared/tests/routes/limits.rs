//! Per-bucket limits (`data.limits`: max_file_size, max_files, max_bytes,
//! accepted_file_types): set within the deployment's only, held at grant time (POST files and
//! the jobs' store), and again at event time as they are then, atomically with the counters,
//! so that racing uploads never take a bucket past its quota or count.

use futures_util::future::join_all;
use serde_json::{Value, json};
use shared::memory::MemoryObjects;
use shared::ports::{
    Completion, FailedKey, FileStore, MultipartSpec, ObjectMeta, ObjectPage, ObjectStore,
    ObjectVersion, PartInfo, PartPage, PartSpec, Presigned, PutSpec, StoreError,
};
use shared::service::Services;
use shared::service::uploads::Outcome;
use tokio::task::yield_now;

use crate::common::{CREATOR, Caller, Env, event_time, settings};

/// A deployment with every upload limit set.
const DEPLOYMENT: &[(&str, &str)] = &[
    ("MAX_FILES_PER_BUCKET", "10"),
    ("MAX_FILE_SIZE", "1000"),
    ("ACCEPTED_FILE_TYPES", "text/*,image/png"),
    ("MAX_BYTES_PER_BUCKET", "5000"),
];

async fn bucket_with(owner: &Caller<'_>, id: &str, limits: Value) {
    let body = json!({"data": {"limits": limits}});
    let created = owner.create_bucket(id, &body).await;
    assert_eq!(created["data"]["limits"], limits);
}

/// The grant of one file, as `POST …/files` answers it.
async fn grant_one(caller: &Caller<'_>, id: &str, name: &str, size: usize) -> Value {
    let resp = caller.grant(id, &[(name, size, "text/csv")]).await;
    resp.expect(201).json()["files"][0].clone()
}

#[tokio::test]
async fn limits_are_shown_and_may_only_tighten_the_deployment() {
    let env = Env::with(DEPLOYMENT);
    let owner = env.user("owner", CREATOR);
    let limits = json!({"max_file_size": 1000, "max_files": 3, "max_bytes": 5000,
                        "accepted_file_types": ["text/csv", "text/*", "image/png"]});
    bucket_with(&owner, "b1", limits.clone()).await;
    let read = owner.get("/v1/buckets/b1").await.expect(200).json();
    assert_eq!(read["data"]["limits"], limits);
    // The deployment's, for clients to show.
    let root = owner.get("/v1/").await.expect(200).json();
    assert_eq!(root["settings"]["upload"]["max_bytes_per_bucket"], 5000);
    assert_eq!(root["settings"]["upload"]["max_files_per_bucket"], 10);

    let loosening = [
        (json!({"max_files": 11}), "data.limits.max_files"),
        (json!({"max_file_size": 1001}), "data.limits.max_file_size"),
        (json!({"max_bytes": 5001}), "data.limits.max_bytes"),
        (
            json!({"accepted_file_types": ["text/csv", "application/json"]}),
            "data.limits.accepted_file_types[1]",
        ),
        (
            json!({"accepted_file_types": ["image/*"]}),
            "data.limits.accepted_file_types[0]",
        ),
        (json!({"max_files": 0}), "data.limits.max_files"),
        (json!({"quota": 5}), "data.limits.quota"),
        (json!("small"), "data.limits"),
    ];
    for (value, field) in loosening {
        let body = json!({"data": {"limits": value}});
        // PUT replaces, a merge patch merges: both refused naming the field, nothing written.
        owner
            .put("/v1/buckets/b1", &body)
            .await
            .expect_invalid(400, "body", field);
        owner
            .patch("/v1/buckets/b1", "application/merge-patch+json", &body)
            .await
            .expect_invalid(400, "body", field);
        owner
            .put("/v1/buckets/new", &body)
            .await
            .expect_invalid(400, "body", field);
    }
    assert_eq!(
        owner.get("/v1/buckets/b1").await.expect(200).json()["data"]["limits"],
        limits
    );
    // A merge patch tightens one limit and clears another.
    let patch = json!({"data": {"limits": {"max_files": 2, "max_bytes": null}}});
    let patched = owner
        .patch("/v1/buckets/b1", "application/merge-patch+json", &patch)
        .await
        .expect(200)
        .json();
    assert_eq!(patched["data"]["limits"]["max_files"], 2);
    assert!(patched["data"]["limits"].get("max_bytes").is_none());

    // Limits set under a looser deployment stay, and the rest of the bucket stays writable
    // (its limits unchanged); the effective limit is the tighter.
    let looser = env.sibling(&[("MAX_BYTES_PER_BUCKET", "0"), ("MAX_FILE_SIZE", "100000")]);
    let owner2 = looser.user("owner", CREATOR);
    bucket_with(&owner2, "big", json!({"max_file_size": 50000})).await;
    owner
        .patch(
            "/v1/buckets/big",
            "application/merge-patch+json",
            &json!({"data": {"title": "still writable"}}),
        )
        .await
        .expect(200);
    owner
        .grant("big", &[("a.csv", 1001, "text/csv")])
        .await
        .expect_invalid(413, "body", "files[0].size");
}

#[tokio::test]
async fn grants_are_held_to_the_bucket_limits() {
    let env = Env::with(DEPLOYMENT);
    let owner = env.user("owner", CREATOR);
    bucket_with(
        &owner,
        "b1",
        json!({"max_file_size": 10, "max_files": 2, "accepted_file_types": ["text/csv"]}),
    )
    .await;
    owner
        .grant("b1", &[("a.csv", 11, "text/csv")])
        .await
        .expect_invalid(413, "body", "files[0].size");
    // Accepted by the deployment (text/*), not by the bucket.
    owner
        .grant(
            "b1",
            &[("a.csv", 5, "text/csv"), ("b.txt", 5, "text/plain")],
        )
        .await
        .expect_invalid(400, "body", "files[1].content_type");
    owner.upload("b1", "a.csv", b"12345", "text/csv").await;
    owner.upload("b1", "b.csv", b"12345", "text/csv").await;
    owner
        .grant("b1", &[("c.csv", 5, "text/csv")])
        .await
        .expect_invalid(400, "body", "files");
    // A replacement takes no room in the count.
    grant_one(&owner, "b1", "a.csv", 10).await;
    // The jobs' store grants under the same limits.
    let store = |size: u64| json!({"sync": "files", "files": [{"name": "a.csv", "size": size, "content_type": "text/csv"}]});
    owner
        .post("/v1/buckets/b1/store", &store(11))
        .await
        .expect_invalid(413, "body", "files[0].size");
    owner
        .post("/v1/buckets/b1/store", &store(10))
        .await
        .expect(200);

    // The byte quota: new bytes must fit; a replaced file's bytes are freed.
    bucket_with(&owner, "q", json!({"max_bytes": 20})).await;
    owner.upload("q", "a.csv", &[b'a'; 8], "text/csv").await;
    owner.upload("q", "b.csv", &[b'b'; 8], "text/csv").await;
    owner
        .grant("q", &[("c.csv", 5, "text/csv")])
        .await
        .expect_invalid(400, "body", "files");
    owner
        .grant("q", &[("a.csv", 13, "text/csv")])
        .await
        .expect_invalid(400, "body", "files");
    grant_one(&owner, "q", "a.csv", 12).await;
    owner
        .grant("q", &[("a.csv", 4, "text/csv"), ("c.csv", 8, "text/csv")])
        .await
        .expect(201);
    owner
        .post("/v1/buckets/q/store", &json!({"sync": "files", "files": [{"name": "c.csv", "size": 5, "content_type": "text/csv"}]}))
        .await
        .expect_invalid(400, "body", "files");
}

#[tokio::test]
async fn the_deployment_quota_holds_for_a_bucket_without_limits() {
    let env = Env::with(&[("MAX_BYTES_PER_BUCKET", "10")]);
    let owner = env.user("owner", CREATOR);
    owner.create_bucket("d", &json!({})).await;
    owner.upload("d", "a.csv", &[b'a'; 8], "text/csv").await;
    owner
        .grant("d", &[("b.csv", 3, "text/csv")])
        .await
        .expect_invalid(400, "body", "files");
    grant_one(&owner, "d", "b.csv", 2).await;
    // A redeployment with a lower quota refuses what was granted under the higher one.
    let grant = grant_one(&owner, "d", "a.csv", 10).await;
    let lower = env.sibling(&[("MAX_BYTES_PER_BUCKET", "9")]);
    let before = stored_file(&env, "d", "a.csv").await.unwrap();
    let key = lower.put_upload(&grant, &[b'b'; 10]);
    assert!(matches!(lower.process(&key).await, Outcome::Rejected(r) if r.contains("quota")));
    assert_eq!(env.counters("d").await.1, 8);
    assert_eq!(env.objects.get_version(&key), None);
    assert_served_as_before(&env, &before);
}

/// What a bucket's file `name` is now, from the store: (size, etag, the object version it
/// pins).
async fn stored_file(env: &Env, id: &str, name: &str) -> Option<(u64, String, ObjectVersion)> {
    let generation = env.generation(id).await;
    let record = env.store.get_file(id, &generation, name).await.unwrap();
    record.map(|r| (r.size, r.etag.clone(), r.object(id, &generation)))
}

/// A refused upload of a file's name left its bytes as they were: the version the record pins
/// exists and is again the key's latest (the refused version was deleted by id, not hidden
/// under a delete marker), and nothing was kept as replaced.
fn assert_served_as_before(env: &Env, before: &(u64, String, ObjectVersion)) {
    let version = &before.2;
    let stored = env.objects.get_version(version).expect("the file's bytes");
    assert_eq!((stored.meta.size, &stored.meta.etag), (before.0, &before.1));
    let latest = env
        .objects
        .get(&version.key)
        .expect("the key's latest version");
    assert_eq!(latest.meta.version_id, version.version_id);
    assert_eq!(env.versions(&version.key), std::slice::from_ref(version));
}

#[tokio::test]
async fn a_limit_tightened_after_the_grant_refuses_the_upload_and_keeps_the_old_file() {
    let env = Env::with(DEPLOYMENT);
    let owner = env.user("owner", CREATOR);
    bucket_with(&owner, "b1", json!({"max_files": 5})).await;
    owner.upload("b1", "a.csv", b"old", "text/csv").await;
    let before = stored_file(&env, "b1", "a.csv").await.unwrap();
    let counters = env.counters("b1").await;

    let tightenings = [
        json!({"max_file_size": 5}),
        json!({"max_bytes": 7}),
        json!({"accepted_file_types": ["image/png"]}),
    ];
    for limits in tightenings {
        owner
            .patch(
                "/v1/buckets/b1",
                "application/merge-patch+json",
                &json!({"data": {"limits": null}}),
            )
            .await
            .expect(200);
        let grant = grant_one(&owner, "b1", "a.csv", 10).await;
        owner
            .patch(
                "/v1/buckets/b1",
                "application/merge-patch+json",
                &json!({"data": {"limits": limits}}),
            )
            .await
            .expect(200);
        let key = env.put_upload(&grant, b"0123456789");
        let Outcome::Rejected(reason) = env.process(&key).await else {
            panic!("{limits}: the upload is not rejected");
        };
        let status = owner.status(&grant).await;
        assert_eq!(status["status"], "rejected", "{limits}");
        assert_eq!(status["reason"], reason.as_str());
        // The version went; the file it would have replaced is served as it was.
        assert_eq!(key.key, before.2.key, "one key per name");
        assert_eq!(env.objects.get_version(&key), None, "{limits}");
        assert_eq!(stored_file(&env, "b1", "a.csv").await.unwrap(), before);
        assert_served_as_before(&env, &before);
        assert_eq!(env.kept_versions("b1", "a.csv").await, [], "{limits}");
        let (count, bytes, _) = env.counters("b1").await;
        assert_eq!((count, bytes), (counters.0, counters.1), "{limits}");
    }
    // A new name past a count tightened below the bucket's content.
    owner
        .patch(
            "/v1/buckets/b1",
            "application/merge-patch+json",
            &json!({"data": {"limits": null}}),
        )
        .await
        .expect(200);
    let grant = grant_one(&owner, "b1", "b.csv", 3).await;
    owner
        .patch(
            "/v1/buckets/b1",
            "application/merge-patch+json",
            &json!({"data": {"limits": {"max_files": 1}}}),
        )
        .await
        .expect(200);
    let key = env.put_upload(&grant, b"new");
    assert!(matches!(env.process(&key).await, Outcome::Rejected(_)));
    assert_eq!(stored_file(&env, "b1", "b.csv").await, None);
    assert_eq!(env.versions(&key.key), []);
}

/// The memory object store, giving way to other tasks before each call (as S3 calls would):
/// every upload event reads the bucket, then waits on its HEAD while the others read too, so
/// they all pass the service's own checks and only the store's conditions can hold the limits.
#[derive(Clone)]
struct YieldingObjects(MemoryObjects);

impl ObjectStore for YieldingObjects {
    async fn presign_put(&self, spec: &PutSpec<'_>) -> Result<Presigned, StoreError> {
        yield_now().await;
        self.0.presign_put(spec).await
    }

    async fn presign_get(
        &self,
        object: &ObjectVersion,
        filename: &str,
        expires_in_secs: u64,
    ) -> Result<Presigned, StoreError> {
        yield_now().await;
        self.0.presign_get(object, filename, expires_in_secs).await
    }

    async fn head(&self, object: &ObjectVersion) -> Result<Option<ObjectMeta>, StoreError> {
        yield_now().await;
        self.0.head(object).await
    }

    async fn delete(&self, object: &ObjectVersion) -> Result<(), StoreError> {
        yield_now().await;
        self.0.delete(object).await
    }

    async fn list_current(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        max: usize,
    ) -> Result<shared::ports::CurrentPage, StoreError> {
        self.0.list_current(prefix, start_after, max).await
    }
    async fn copy_version(
        &self,
        from: &ObjectVersion,
        to: &str,
        content_type: &str,
        upload_id: &str,
    ) -> Result<Option<String>, StoreError> {
        yield_now().await;
        self.0.copy_version(from, to, content_type, upload_id).await
    }

    async fn newest_versions(&self, key: &str, max: usize) -> Result<Vec<String>, StoreError> {
        yield_now().await;
        self.0.newest_versions(key, max).await
    }

    async fn list_versions(
        &self,
        prefix: &str,
        token: Option<String>,
        max: usize,
    ) -> Result<ObjectPage, StoreError> {
        yield_now().await;
        self.0.list_versions(prefix, token, max).await
    }

    async fn delete_versions(
        &self,
        objects: &[ObjectVersion],
    ) -> Result<Vec<FailedKey>, StoreError> {
        yield_now().await;
        self.0.delete_versions(objects).await
    }

    async fn create_multipart(&self, spec: &MultipartSpec<'_>) -> Result<String, StoreError> {
        yield_now().await;
        self.0.create_multipart(spec).await
    }

    async fn presign_part(&self, spec: &PartSpec<'_>) -> Result<Presigned, StoreError> {
        yield_now().await;
        self.0.presign_part(spec).await
    }

    async fn list_parts(
        &self,
        key: &str,
        s3_upload_id: &str,
        after: Option<u32>,
        max: usize,
    ) -> Result<Option<PartPage>, StoreError> {
        yield_now().await;
        self.0.list_parts(key, s3_upload_id, after, max).await
    }

    async fn complete_multipart(
        &self,
        key: &str,
        s3_upload_id: &str,
        parts: &[PartInfo],
        size: u64,
        sha256: Option<&str>,
    ) -> Result<Completion, StoreError> {
        yield_now().await;
        self.0
            .complete_multipart(key, s3_upload_id, parts, size, sha256)
            .await
    }

    async fn abort_multipart(&self, key: &str, s3_upload_id: &str) -> Result<(), StoreError> {
        yield_now().await;
        self.0.abort_multipart(key, s3_upload_id).await
    }
}

/// Processes the events of `versions` concurrently; answers their outcomes.
async fn race_events(env: &Env, versions: &[ObjectVersion]) -> Vec<Outcome> {
    let services = Services::new(
        settings(DEPLOYMENT),
        env.store.clone(),
        YieldingObjects(env.objects.clone()),
    );
    let outcomes = join_all(
        versions
            .iter()
            .map(|v| services.process_upload(&v.key, v.version_id.as_deref(), Some(event_time()))),
    )
    .await;
    outcomes
        .into_iter()
        .map(|o| o.expect("the event is processed"))
        .collect()
}

#[tokio::test]
async fn ten_parallel_uploads_never_pass_the_quota() {
    let env = Env::with(DEPLOYMENT);
    let owner = env.user("owner", CREATOR);
    // Quota 45: x.csv holds 5; nine new 10-byte files and x.csv grown to 15 (+10) race for 40.
    bucket_with(&owner, "q", json!({"max_bytes": 45})).await;
    owner.upload("q", "x.csv", b"small", "text/csv").await;
    let before = stored_file(&env, "q", "x.csv").await.unwrap();
    let mut grants = Vec::new();
    let mut keys = Vec::new();
    for i in 0..10 {
        // Each grant fits alone (a grant is not a reservation).
        let (name, size) = if i == 0 {
            ("x.csv".to_string(), 15)
        } else {
            (format!("f{i}.csv"), 10)
        };
        let grant = grant_one(&owner, "q", &name, size).await;
        keys.push(env.put_upload(&grant, &vec![b'z'; size]));
        grants.push(grant);
    }
    let outcomes = race_events(&env, &keys).await;
    let recorded = outcomes.iter().filter(|o| **o == Outcome::Recorded).count();
    let rejected = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Rejected(r) if r.contains("quota")))
        .count();
    assert_eq!((recorded, rejected), (4, 6), "{outcomes:?}");
    let (count, bytes, _) = env.counters("q").await;
    assert_eq!(bytes, 45, "exactly full, never past");
    // Every recorded upload is a file; every rejected one left the old state.
    let x_now = stored_file(&env, "q", "x.csv").await.unwrap();
    if outcomes[0] == Outcome::Recorded {
        assert_eq!(x_now.0, 15);
        assert_eq!(x_now.2, keys[0]);
        assert_eq!(count, 1 + 3);
        // The replaced 5 bytes are kept, and do not count against the quota.
        let kept = env.kept_versions("q", "x.csv").await;
        assert_eq!(kept.len(), 1);
        assert_eq!((kept[0].record.size, &kept[0].record.etag), (5, &before.1));
        assert!(env.objects.get_version(&before.2).is_some());
    } else {
        assert_eq!(
            x_now, before,
            "the refused replacement left x.csv as it was"
        );
        assert_served_as_before(&env, &before);
        assert_eq!(count, 1 + 4);
    }
    // Each refused version is gone; each recorded one is what its file pins.
    for (key, outcome) in keys.iter().zip(&outcomes) {
        let exists = env.objects.get_version(key).is_some();
        assert_eq!(
            exists,
            *outcome == Outcome::Recorded,
            "{key:?}: {outcome:?}"
        );
    }
    for (grant, outcome) in grants.iter().zip(&outcomes) {
        let status = owner.status(grant).await;
        let want = if *outcome == Outcome::Recorded {
            "recorded"
        } else {
            "rejected"
        };
        assert_eq!(status["status"], want, "{status}");
    }
}

#[tokio::test]
async fn ten_parallel_uploads_never_pass_the_file_count() {
    let env = Env::with(DEPLOYMENT);
    let owner = env.user("owner", CREATOR);
    bucket_with(&owner, "c", json!({"max_files": 3})).await;
    let mut keys = Vec::new();
    for i in 0..10 {
        // Grants one at a time, each while the bucket is empty: all pass.
        let grant = grant_one(&owner, "c", &format!("f{i}.csv"), 4).await;
        keys.push(env.put_upload(&grant, b"abcd"));
    }
    let outcomes = race_events(&env, &keys).await;
    let recorded = outcomes.iter().filter(|o| **o == Outcome::Recorded).count();
    assert_eq!(recorded, 3, "{outcomes:?}");
    let (count, bytes, _) = env.counters("c").await;
    assert_eq!((count, bytes), (3, 12));
}
