//! Concurrent writers and failing dependencies. Races are real: requests run concurrently over
//! a store that yields before every call, so they read the same version and all but one lose
//! the write. A lost race without a precondition is retried until the write lands; with one it
//! is a 412. A store that is unavailable is a 503 the client may retry.

use futures_util::future::join_all;
use serde_json::{Value, json};
use shared::api::app::App;
use shared::api::{data, entry};
use shared::domain::bucket::Bucket;
use shared::domain::data::DataDoc;
use shared::domain::keys::{ApiKey, MAX_KEYS_PER_OWNER};
use shared::memory::MemoryStore;
use shared::ports::{
    ApiKeyPage, BucketPage, BucketStore, DataStore, KeyStore, ListScope, StoreError,
};
use shared::service::uploads::Outcome;
use tokio::task::yield_now;

use crate::common::{
    CREATOR, Env, Function, Resp, event_time, function_for, request, settings, token,
};

/// The memory store, giving way to other tasks before each call (as a network call would).
#[derive(Clone, Default)]
struct Yielding(MemoryStore);

impl KeyStore for Yielding {
    async fn get_key(&self, id: &str) -> Result<Option<ApiKey>, StoreError> {
        yield_now().await;
        self.0.get_key(id).await
    }

    async fn create_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        yield_now().await;
        self.0.create_key(key).await
    }

    async fn rename_key(&self, id: &str, title: &str) -> Result<Option<ApiKey>, StoreError> {
        yield_now().await;
        self.0.rename_key(id, title).await
    }

    async fn delete_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        yield_now().await;
        self.0.delete_key(key).await
    }

    async fn touch_key(&self, id: &str, at: i64) -> Result<(), StoreError> {
        yield_now().await;
        self.0.touch_key(id, at).await
    }

    async fn count_keys(&self, owner: &str) -> Result<usize, StoreError> {
        yield_now().await;
        self.0.count_keys(owner).await
    }

    async fn list_keys(
        &self,
        owner: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<ApiKeyPage, StoreError> {
        yield_now().await;
        self.0.list_keys(owner, after, limit).await
    }
}

impl BucketStore for Yielding {
    async fn get(&self, id: &str) -> Result<Option<Bucket>, StoreError> {
        yield_now().await;
        self.0.get(id).await
    }

    async fn create(&self, bucket: &Bucket) -> Result<(), StoreError> {
        yield_now().await;
        self.0.create(bucket).await
    }

    async fn update(&self, old: &Bucket, new: &Bucket) -> Result<(), StoreError> {
        yield_now().await;
        self.0.update(old, new).await
    }

    async fn delete(&self, bucket: &Bucket, deleted_at: i64) -> Result<(), StoreError> {
        yield_now().await;
        self.0.delete(bucket, deleted_at).await
    }

    async fn list(
        &self,
        scope: &ListScope,
        after: Option<&str>,
        limit: usize,
    ) -> Result<BucketPage, StoreError> {
        yield_now().await;
        self.0.list(scope, after, limit).await
    }
}

impl DataStore for Yielding {
    async fn get_data(&self, id: &str, generation: &str) -> Result<Option<DataDoc>, StoreError> {
        yield_now().await;
        self.0.get_data(id, generation).await
    }

    async fn get_data_revision(
        &self,
        id: &str,
        generation: &str,
        revision: i64,
    ) -> Result<Option<DataDoc>, StoreError> {
        yield_now().await;
        self.0.get_data_revision(id, generation, revision).await
    }

    async fn put_data(
        &self,
        id: &str,
        generation: &str,
        new: &DataDoc,
        previous: i64,
        keep: u64,
    ) -> Result<(), StoreError> {
        yield_now().await;
        self.0.put_data(id, generation, new, previous, keep).await
    }
}

/// A request: method, path, headers and body.
type Call<'a> = (&'a str, String, Vec<(&'a str, String)>, Option<String>);

/// The buckets and data functions over the yielding store.
struct Racing {
    app: App<Yielding, ()>,
}

impl Racing {
    fn new() -> Racing {
        let app = App::new(settings(&[]), Yielding::default(), ()).expect("an app");
        Racing { app }
    }

    async fn send(
        &self,
        sub: &str,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Resp {
        let auth = format!("Bearer {}", token(sub, CREATOR));
        let req = request(method, path, Some(&auth), headers, body);
        let resp = match function_for(&req.method, &req.path) {
            Function::Buckets => entry::handle(&self.app, &req).await,
            Function::Data => data::handle(&self.app, &req).await,
            Function::Files | Function::Sftp | Function::Console | Function::Activity => {
                panic!("the files, sftp, console and activity functions are not part of this app")
            }
        };
        Resp::new(format!("{method} {path}"), resp)
    }

    /// Sends every `(method, path, headers, body)` at once; answers in the same order.
    async fn all(&self, requests: Vec<Call<'_>>) -> Vec<Resp> {
        join_all(requests.iter().map(|(method, path, headers, body)| {
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            async move {
                self.send("alice", method, path, &headers, body.as_deref())
                    .await
            }
        }))
        .await
    }
}

#[tokio::test]
async fn twenty_concurrent_shallow_merges_all_land() {
    let env = Racing::new();
    env.send("alice", "PUT", "/v1/buckets/r1", &[], Some("{}"))
        .await
        .expect(201);
    let path = "/v1/buckets/r1/data";
    let merges = (0..20)
        .map(|i| {
            (
                "PATCH",
                path.to_string(),
                vec![],
                Some(json!({"data": {format!("job{i}"): i}}).to_string()),
            )
        })
        .collect();
    for r in env.all(merges).await {
        r.expect(200);
    }
    let doc = env.send("alice", "GET", path, &[], None).await.expect(200);
    assert_eq!(doc.header("etag").as_deref(), Some("\"20\""));
    let data: Value = doc.json()["data"].clone();
    for i in 0..20 {
        assert_eq!(data[format!("job{i}")], i, "job{i} lost: {data}");
    }
}

#[tokio::test]
async fn concurrent_conditional_data_writes_one_wins_the_others_get_412() {
    let env = Racing::new();
    env.send("alice", "PUT", "/v1/buckets/r2", &[], Some("{}"))
        .await
        .expect(201);
    let path = "/v1/buckets/r2/data";
    env.send("alice", "PUT", path, &[], Some(r#"{"data":{"v":0}}"#))
        .await
        .expect(200);
    let writes = (1..=4)
        .map(|i| {
            (
                "PUT",
                path.to_string(),
                vec![("If-Match", "\"1\"".to_string())],
                Some(json!({"data": {"v": i}}).to_string()),
            )
        })
        .collect();
    let answers = env.all(writes).await;
    let now = env.send("alice", "GET", path, &[], None).await.expect(200);
    assert_eq!(
        now.header("etag").as_deref(),
        Some("\"2\""),
        "exactly one write landed"
    );
    let mut won = 0;
    for r in answers {
        if r.status() == 200 {
            won += 1;
            assert_eq!(r.json(), now.json());
        } else {
            let err = r.expect_error(412, 114);
            assert_eq!(err["details"]["existing"], now.json());
        }
    }
    assert_eq!(won, 1);
}

#[tokio::test]
async fn concurrent_bucket_patches_all_land_and_conditional_puts_get_412() {
    let env = Racing::new();
    env.send("alice", "PUT", "/v1/buckets/r3", &[], Some("{}"))
        .await
        .expect(201);
    let path = "/v1/buckets/r3";
    let patches = (0..3)
        .map(|i| {
            (
                "PATCH",
                path.to_string(),
                vec![],
                Some(json!({"data": {format!("k{i}"): i}}).to_string()),
            )
        })
        .collect();
    for r in env.all(patches).await {
        r.expect(200);
    }
    let b = env
        .send("alice", "GET", path, &[], None)
        .await
        .expect(200)
        .json();
    assert_eq!(
        (
            b["data"]["k0"].as_i64(),
            b["data"]["k1"].as_i64(),
            b["data"]["k2"].as_i64()
        ),
        (Some(0), Some(1), Some(2))
    );
    assert_eq!(b["data"]["revision"], 4);
    // Two writers holding the same ETag: one wins, the other learns what is there now.
    let etag = format!("\"{}\"", b["data"]["last_modified"]);
    let puts = ["one", "two"]
        .iter()
        .map(|t| {
            (
                "PUT",
                path.to_string(),
                vec![("If-Match", etag.clone())],
                Some(json!({"data": {"title": t}}).to_string()),
            )
        })
        .collect();
    let answers = env.all(puts).await;
    let now = env
        .send("alice", "GET", path, &[], None)
        .await
        .expect(200)
        .json();
    assert_eq!(now["data"]["revision"], 5);
    let statuses: Vec<u16> = answers.iter().map(Resp::status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    for r in answers.into_iter().filter(|r| r.status() != 200) {
        assert_eq!(r.expect_error(412, 114)["details"]["existing"], now);
    }
}

#[tokio::test]
async fn concurrent_creations_of_one_bucket_make_one() {
    let env = Racing::new();
    // First uses of the default bucket, all at once: one bucket, the same for all.
    let firsts = (0..4)
        .map(|_| ("GET", "/v1/buckets/default".to_string(), vec![], None))
        .collect();
    let answers: Vec<Value> = env
        .all(firsts)
        .await
        .into_iter()
        .map(|r| r.expect(200).json())
        .collect();
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
    // POSTs naming one id: one creates it, the others are answered the bucket.
    let body = Some(r#"{"data": {"id": "same"}}"#.to_string());
    let posts = (0..3)
        .map(|_| ("POST", "/v1/buckets".to_string(), vec![], body.clone()))
        .collect();
    let answers = env.all(posts).await;
    let mut statuses: Vec<u16> = answers.iter().map(Resp::status).collect();
    statuses.sort();
    assert_eq!(statuses, vec![200, 200, 201]);
    let bodies: Vec<Value> = answers.iter().map(Resp::json).collect();
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
}

/// Creations of one user's keys sent at once all pass the early count before any is written:
/// the count checked in the creating write holds the limit, and a revocation frees one place,
/// once.
#[tokio::test]
async fn concurrent_key_creations_stop_at_the_owners_limit() {
    let env = Racing::new();
    let creations = (0..MAX_KEYS_PER_OWNER + 10)
        .map(|i| {
            let body = json!({"title": format!("k{i}")}).to_string();
            ("POST", "/v1/keys".to_string(), vec![], Some(body))
        })
        .collect();
    let answers = env.all(creations).await;
    let created: Vec<String> = answers
        .iter()
        .filter(|r| r.status() == 201)
        .map(|r| r.json()["data"]["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(created.len(), MAX_KEYS_PER_OWNER);
    for refused in answers.into_iter().filter(|r| r.status() != 201) {
        let err = refused.expect_error(403, 121);
        assert!(err["message"].as_str().unwrap().contains("100"), "{err}");
    }
    let listed = env
        .send("alice", "GET", "/v1/keys?_limit=1000", &[], None)
        .await
        .expect(200)
        .json();
    assert_eq!(listed["data"].as_array().unwrap().len(), MAX_KEYS_PER_OWNER);

    let first = format!("/v1/keys/{}", created[0]);
    env.send("alice", "DELETE", &first, &[], None)
        .await
        .expect(200);
    env.send("alice", "DELETE", &first, &[], None)
        .await
        .expect(404);
    let one_more = Some(r#"{"title": "one more"}"#);
    env.send("alice", "POST", "/v1/keys", &[], one_more)
        .await
        .expect(201);
    env.send("alice", "POST", "/v1/keys", &[], one_more)
        .await
        .expect_error(403, 121);
}

#[tokio::test]
async fn a_generated_id_that_collides_is_drawn_again_until_others_always_win() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    // The create loses once (the id was taken meanwhile): retried with a new id.
    env.store.fail_next(1, StoreError::Conflict);
    let created = alice
        .post("/v1/buckets", &json!({}))
        .await
        .expect(201)
        .json();
    let listed = alice.get("/v1/buckets").await.expect(200).json();
    assert_eq!(listed["data"], json!([created["data"]]));
    // Losing every attempt is a 409 the client may retry; nothing is created.
    env.store.fail_next(5, StoreError::Conflict);
    let err = alice
        .post("/v1/buckets", &json!({}))
        .await
        .expect_error(409, 122);
    assert!(err["message"].as_str().unwrap().contains("retry"), "{err}");
    let listed = alice.get("/v1/buckets").await.expect(200).json();
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn an_unavailable_store_is_a_503_to_retry_and_changes_nothing() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("u1", &json!({})).await;
    let unavailable = || StoreError::Unavailable("throttled".into());
    let requests: [(&str, &str, Option<&str>); 7] = [
        ("GET", "/v1/buckets/u1", None),
        ("GET", "/v1/buckets", None),
        ("PATCH", "/v1/buckets/u1", Some(r#"{"data": {"x": 1}}"#)),
        ("PUT", "/v1/buckets/u1/data", Some(r#"{"data": {"x": 1}}"#)),
        ("GET", "/v1/buckets/u1/files", None),
        ("POST", "/v1/buckets/u1/fetch", Some(r#"{"sync": "data"}"#)),
        ("DELETE", "/v1/buckets/u1", None),
    ];
    for (method, path, body) in requests {
        env.store.fail_next(1, unavailable());
        let err = alice
            .send(method, path, &[], body)
            .await
            .expect_error(503, 201);
        assert!(
            !err["message"].as_str().unwrap().contains("throttled"),
            "{err}"
        );
        // The retry works.
        if method == "GET" || method == "POST" {
            alice.send(method, path, &[], body).await.expect(200);
        }
    }
    let b = alice.get("/v1/buckets/u1").await.expect(200).json();
    assert_eq!(
        (b["data"]["revision"].as_i64(), b["data"].get("x")),
        (Some(1), None)
    );
    assert_eq!(
        alice.get("/v1/buckets/u1/data").await.expect(200).json(),
        json!({"data": {}})
    );
    // S3 too: a grant whose URL cannot be presigned.
    env.objects.fail_next(1, unavailable());
    alice
        .grant("u1", &[("a.txt", 1, "text/plain")])
        .await
        .expect_error(503, 201);
    alice
        .grant("u1", &[("a.txt", 1, "text/plain")])
        .await
        .expect(201);
    // Any other failure is a 500 that tells nothing of it.
    env.store
        .fail_next(1, StoreError::Other("secret detail".into()));
    let err = alice.get("/v1/buckets/u1").await.expect_error(500, 999);
    assert!(!err.to_string().contains("secret detail"), "{err}");
}

#[tokio::test]
async fn an_upload_event_that_fails_is_retried_and_then_recorded_once() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("u2", &json!({})).await;
    let grant = alice
        .grant("u2", &[("a.txt", 3, "text/plain")])
        .await
        .expect(201)
        .json()["data"][0]
        .clone();
    let key = env.put_upload(&grant, b"abc");
    env.store
        .fail_next(1, StoreError::Unavailable("throttled".into()));
    let services = &env.app.services;
    let failed = services
        .process_upload(&key.key, key.version_id.as_deref(), Some(event_time()))
        .await;
    assert!(
        failed.is_err(),
        "the event fails, so Lambda retries it: {failed:?}"
    );
    assert_eq!(alice.status(&grant).await["status"], "pending");
    assert_eq!(env.process(&key).await, Outcome::Recorded);
    assert_eq!(env.process(&key).await, Outcome::Duplicate);
    let b = alice.get("/v1/buckets/u2").await.expect(200).json();
    assert_eq!(
        (
            b["data"]["file_count"].as_i64(),
            b["data"]["total_bytes"].as_i64()
        ),
        (Some(1), Some(3))
    );
}
