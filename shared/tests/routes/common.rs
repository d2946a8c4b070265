//! The harness: a deployment (`Env`: the app over one in-memory store and object store),
//! callers holding HS256 tokens, requests dispatched to the function API Gateway would invoke
//! (`gateway.rs`, from `infra/template.yaml`), a stand-in for the client's PUT to a presigned
//! URL and for the S3 event that follows, and cascades run to their end. Answers and their
//! assertions (statuses, headers, the Kinto error envelope) are in `answers.rs`.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};
use shared::api::app::App;
use shared::api::request::Request;
use shared::api::response::Response;
use shared::api::{data, entry, files};
use shared::config::Settings;
use shared::domain::changes::{Change, Changed};
use shared::domain::files::FileRecord;
use shared::domain::files::KeptVersion;
use shared::domain::pagination::CursorKeys;
use shared::domain::time::now_ms;
use shared::memory::{MemoryObjects, MemoryStore};
use shared::ports::{BucketStore, FileStore, ObjectVersion};
use shared::service::cascade::{Budget, Outcome as CascadeOutcome, process_marker};
use shared::service::uploads::Outcome;

pub use crate::answers::{Resp, ids};
pub use crate::gateway::{Function, function_for};

pub const SECRET: &str = "routes-test-hs256-secret";
/// Where clients reach the API: a host and a path prefix (a stage, or the emulator's prefix).
pub const BASE_URL: &str = "https://api.example.test/stage";
pub const BASE_PATH: &str = "/stage";
pub const CREATOR: &[&str] = &["create_buckets"];
/// The page cursor key of a test deployment.
pub const CURSOR_KEYS: &str = "routes:routes-test-cursor-secret-0123456789";

/// The settings of a deployment: `pairs` as its environment, plus the HS256 secret and the
/// cursor key.
pub fn settings(pairs: &[(&str, &str)]) -> Settings {
    Settings::from_lookup(|name| {
        let given = pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string());
        given.or_else(|| match name {
            "JWT_HS256_SECRET" => Some(SECRET.to_string()),
            "CURSOR_KEYS" => Some(CURSOR_KEYS.to_string()),
            _ => None,
        })
    })
    .expect("valid settings")
}

/// The keys the test deployments sign page cursors with.
pub fn cursor_keys() -> CursorKeys {
    CursorKeys::parse(CURSOR_KEYS).expect("valid cursor keys")
}

pub fn now_secs() -> i64 {
    now_ms() / 1000
}

pub fn sign(claims: &Value, secret: &[u8]) -> String {
    let key = EncodingKey::from_secret(secret);
    encode(&Header::new(Algorithm::HS256), claims, &key).expect("a signed token")
}

/// A token for `sub` with these privileges, valid for 10 minutes.
pub fn token(sub: &str, privileges: &[&str]) -> String {
    let claims = json!({"sub": sub, "exp": now_secs() + 600, "privileges": privileges});
    sign(&claims, SECRET.as_bytes())
}

/// Event times (ms) that strictly increase, as S3 stamps uploads made one after another.
pub fn event_time() -> i64 {
    static CLOCK: AtomicI64 = AtomicI64::new(0);
    let now = now_ms();
    let prev = CLOCK
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| Some(now.max(t + 1)))
        .expect("the closure always answers");
    now.max(prev + 1)
}

/// A request as the Lambda glue hands it over: the path without the base path, the raw query.
pub fn request(
    method: &str,
    path_and_query: &str,
    authorization: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Request {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let mut map = HeaderMap::new();
    if let Some(auth) = authorization {
        map.insert("authorization", HeaderValue::from_str(auth).expect("ASCII"));
    }
    for (k, v) in headers {
        let name = HeaderName::from_bytes(k.as_bytes()).expect("a header name");
        map.insert(
            name,
            HeaderValue::from_bytes(v.as_bytes()).expect("a header value"),
        );
    }
    Request {
        method: Method::from_bytes(method.as_bytes()).expect("a method"),
        path: path.to_string(),
        query: query.to_string(),
        headers: map,
        body: body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string())),
        base_url: BASE_URL.to_string(),
    }
}

/// Where a link from an answer leads (path and query), checking that it resolves for a client
/// of `BASE_URL`: absolute links start with it, relative ones with its path.
pub fn link(url: &str) -> String {
    let rest = url
        .strip_prefix(BASE_URL)
        .or_else(|| url.strip_prefix(BASE_PATH))
        .unwrap_or_else(|| panic!("{url} does not resolve under {BASE_URL}"));
    assert!(rest.starts_with('/'), "{url}");
    rest.to_string()
}

/// One deployment: the app (with its settings) over a store and object store that sibling
/// deployments may share.
pub struct Env {
    pub app: App<MemoryStore, MemoryObjects>,
    pub store: MemoryStore,
    pub objects: MemoryObjects,
    /// The SFTP server the `sftp` function's routes manage users on.
    pub directory: shared::memory::MemoryDirectory,
    /// The webhook delivery queue and receivers of the activity function's routes.
    pub queue: shared::memory::MemoryQueue,
    pub sender: shared::memory::MemorySender,
}

impl Env {
    pub fn new() -> Env {
        Env::with(&[])
    }

    pub fn with(pairs: &[(&str, &str)]) -> Env {
        Env::over(MemoryStore::new(), MemoryObjects::new(), pairs)
    }

    /// The same store and objects served with other settings (a redeployment).
    pub fn sibling(&self, pairs: &[(&str, &str)]) -> Env {
        Env::over(self.store.clone(), self.objects.clone(), pairs)
    }

    /// With these settings, but the identity provider's keys never fetched: the route tests
    /// build without the `jwks-http` feature, and what they check of a provider is what
    /// `GET /v1/` advertises.
    pub fn advertising(pairs: &[(&str, &str)]) -> Env {
        let advertised = settings(pairs);
        let mut verified = advertised.clone();
        verified.auth.jwks_url = None;
        let mut env = Env::with(&[]);
        env.app = App::new(verified, env.store.clone(), env.objects.clone()).expect("an app");
        env.app.services.settings = advertised;
        env
    }

    fn over(store: MemoryStore, objects: MemoryObjects, pairs: &[(&str, &str)]) -> Env {
        let app = App::new(settings(pairs), store.clone(), objects.clone()).expect("an app");
        Env {
            app,
            store,
            objects,
            directory: shared::memory::MemoryDirectory::new(),
            queue: Default::default(),
            sender: Default::default(),
        }
    }

    pub fn user(&self, sub: &str, privileges: &[&str]) -> Caller<'_> {
        Caller {
            env: self,
            authorization: Some(format!("Bearer {}", token(sub, privileges))),
            sub: Some(sub.to_string()),
        }
    }

    pub fn anonymous(&self) -> Caller<'_> {
        Caller {
            env: self,
            authorization: None,
            sub: None,
        }
    }

    /// A caller presenting API key `secret` (`Authorization: Bearer bk_…`).
    pub fn keyed(&self, secret: &str) -> Caller<'_> {
        Caller {
            env: self,
            authorization: Some(format!("Bearer {secret}")),
            sub: None,
        }
    }

    /// A caller sending this `Authorization` header as it is.
    pub fn authorized(&self, header: &str) -> Caller<'_> {
        Caller {
            env: self,
            authorization: Some(header.to_string()),
            sub: None,
        }
    }

    /// Makes every queued webhook attempt (and those they queue) until the queue is empty.
    pub async fn drain_deliveries(&self) -> Vec<shared::service::webhooks::Attempted> {
        let mut outcomes = vec![];
        loop {
            let batch = self.queue.take();
            if batch.is_empty() {
                return outcomes;
            }
            for (message, _) in batch {
                let done = self
                    .app
                    .services
                    .deliver(&self.queue, &self.sender, &message)
                    .await
                    .unwrap();
                outcomes.push(done);
            }
        }
    }

    /// Answers `req` as the deployment would, and checks the answer against the OpenAPI
    /// document (`shared/openapi.json`): a documented status, a body its schema accepts.
    pub async fn send(&self, req: Request) -> Response {
        let resp = match function_for(&req.method, &req.path) {
            Function::Buckets => entry::handle(&self.app, &req).await,
            Function::Data => data::handle(&self.app, &req).await,
            Function::Files => files::handle(&self.app, &req).await,
            Function::Sftp => shared::api::sftp::handle(&self.app, &self.directory, &req).await,
            Function::Activity => {
                let outbound = shared::api::webhooks::Outbound {
                    queue: &self.queue,
                    sender: &self.sender,
                };
                shared::api::webhooks::handle(&self.app, &outbound, &req).await
            }
            Function::Console => {
                panic!("the console's static files are tested in functions/console")
            }
        };
        let body = resp.body_bytes();
        if let Err(broken) =
            buckets_contract::check(req.method.as_str(), &req.path, resp.status, body.as_deref())
        {
            panic!("the answer breaks the contract: {broken}");
        }
        resp
    }

    /// What a client's PUT of `body` to a grant's presigned URL stores (the grant's signed size,
    /// type and upload-id metadata header; S3 refuses anything else): a new version of the
    /// name's key. Returns that version. The same grant PUT again (its URL used again) writes
    /// another version.
    pub fn put_upload(&self, grant: &Value, body: &[u8]) -> ObjectVersion {
        let url = grant["upload"]["url"].as_str().expect("an upload URL");
        assert_eq!(grant["upload"]["method"], "PUT");
        assert_eq!(grant["size"], body.len(), "the test PUTs the signed size");
        let key = MemoryObjects::url_key(url).expect("a memory:// URL");
        let content_type = grant["content_type"].as_str().expect("a type");
        // The client sends the signed headers; S3 keeps the upload id as object metadata.
        let upload_id = grant["upload"]["headers"]["x-amz-meta-upload-id"]
            .as_str()
            .expect("the upload URL signs the upload id");
        assert_eq!(grant["upload_id"], upload_id);
        let meta = self
            .objects
            .put_bytes(&key, content_type, body, Some(upload_id));
        ObjectVersion::new(key, meta.version_id)
    }

    /// The S3 ObjectCreated event of `object` (its key and version id).
    pub async fn process(&self, object: &ObjectVersion) -> Outcome {
        let services = &self.app.services;
        let outcome = services
            .process_upload(
                &object.key,
                object.version_id.as_deref(),
                Some(event_time()),
            )
            .await;
        outcome.expect("the upload event is processed")
    }

    /// The version a presigned download URL (`memory://get/…`) names, and the bytes a GET of
    /// it returns (panics if that version is gone: the download would fail).
    pub fn download(&self, url: &str) -> (ObjectVersion, Vec<u8>) {
        let object = MemoryObjects::url_object(url).expect("a presigned GET URL");
        assert!(
            object.version_id.is_some(),
            "downloads are presigned for a version: {url}"
        );
        let stored = self.objects.get_version(&object);
        let body = stored
            .unwrap_or_else(|| panic!("{url}: the version is gone"))
            .body
            .expect("a body");
        (object, body)
    }

    /// The kept (replaced) versions of the live file `name` of bucket `id`, as the store lists
    /// them (none when there is no such file).
    pub async fn kept_versions(&self, id: &str, name: &str) -> Vec<KeptVersion> {
        let generation = self.generation(id).await;
        let file = self.store.get_file(id, &generation, name).await;
        let Some(file) = file.expect("a store read") else {
            return vec![];
        };
        let page = self
            .store
            .list_kept_versions(id, &generation, &file, None, 1000)
            .await
            .expect("a store read");
        assert_eq!(page.last, None, "fewer than a page of kept versions");
        page.versions
    }

    /// Every S3 version and delete marker under `prefix` (what a cascade must leave nothing of).
    pub fn versions(&self, prefix: &str) -> Vec<ObjectVersion> {
        self.objects.versions_with_prefix(prefix)
    }

    /// The generation of the live bucket `id` (the prefix of its objects and items).
    pub async fn generation(&self, id: &str) -> String {
        let bucket = self.store.get(id).await.expect("a store read");
        bucket.expect("the bucket exists").generation
    }

    /// The bucket's `(file_count, total_bytes, revision)`, as an admin reads them.
    pub async fn counters(&self, id: &str) -> (i64, i64, i64) {
        let r = self
            .user("root", &["admin"])
            .get(&format!("/v1/buckets/{id}"))
            .await;
        let b = r.expect(200).json();
        let n = |k: &str| b["data"][k].as_i64().expect("a counter");
        (n("file_count"), n("total_bytes"), n("revision"))
    }

    /// Runs every pending cascade to its end, as the stream-triggered function would.
    pub async fn run_cascades(&self) -> usize {
        let budget = Budget {
            until: Instant::now() + Duration::from_secs(60),
            after_delete_call: &|| {},
        };
        let mut finished = 0;
        for round in 0.. {
            let markers = self.store.markers();
            if markers.is_empty() {
                break;
            }
            assert!(round < 20, "cascades do not end: {markers:?}");
            for m in markers {
                let out = process_marker(&self.store, &self.objects, &m.key, &budget).await;
                if let CascadeOutcome::Finished { .. } = out.expect("a cascade pass") {
                    finished += 1;
                }
            }
        }
        finished
    }
}

/// Someone calling the API: anonymous, a user with a token, or any `Authorization` header.
pub struct Caller<'e> {
    pub env: &'e Env,
    authorization: Option<String>,
    sub: Option<String>,
}

impl Caller<'_> {
    pub fn principal(&self) -> String {
        format!("user:{}", self.sub.as_deref().expect("a user"))
    }

    pub async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Resp {
        let auth = self.authorization.as_deref();
        let resp = self
            .env
            .send(request(method, path, auth, headers, body))
            .await;
        Resp::new(format!("{method} {path}"), resp)
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send("GET", path, &[], None).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.send("DELETE", path, &[], None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        let ct = [("content-type", "application/json")];
        self.send("POST", path, &ct, Some(&body.to_string())).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Resp {
        let ct = [("content-type", "application/json")];
        self.send("PUT", path, &ct, Some(&body.to_string())).await
    }

    pub async fn patch(&self, path: &str, content_type: &str, body: &Value) -> Resp {
        let ct = [("content-type", content_type)];
        self.send("PATCH", path, &ct, Some(&body.to_string())).await
    }

    /// Creates bucket `id` with PUT; answers its envelope.
    pub async fn create_bucket(&self, id: &str, body: &Value) -> Value {
        self.put(&format!("/v1/buckets/{id}"), body)
            .await
            .expect(201)
            .json()
    }

    /// `POST /v1/buckets/{id}/files` for `(name, size, content_type)` files.
    pub async fn grant(&self, id: &str, files: &[(&str, usize, &str)]) -> Resp {
        let files: Vec<Value> = files
            .iter()
            .map(|(name, size, ct)| json!({"name": name, "size": size, "content_type": ct}))
            .collect();
        let body = json!({ "files": files });
        self.post(&format!("/v1/buckets/{id}/files"), &body).await
    }

    /// A grant's upload status (`GET status_uri`).
    pub async fn status(&self, grant: &Value) -> Value {
        let uri = grant["status_uri"].as_str().expect("a status_uri");
        self.get(&link(uri)).await.expect(200).json()["data"].clone()
    }

    /// The whole upload: a grant, the PUT of `body`, its S3 event; answers the file record.
    pub async fn upload(&self, id: &str, name: &str, body: &[u8], content_type: &str) -> Value {
        let resp = self.grant(id, &[(name, body.len(), content_type)]).await;
        let grant = resp.expect(201).json()["files"][0].clone();
        let key = self.env.put_upload(&grant, body);
        assert_eq!(self.env.process(&key).await, Outcome::Recorded);
        let status = self.status(&grant).await;
        assert_eq!(status["status"], "recorded", "{status}");
        status["file"].clone()
    }
}

/// The change of a file upload (`by` at `ms`, stream sequence `seq`), as the store reports
/// the file record it writes.
pub fn file_upload(id: &str, generation: &str, name: &str, by: &str, ms: i64, seq: i64) -> Change {
    Change {
        event_id: format!("{id}-{name}-{seq}"),
        sequence: seq.to_string(),
        seen_at: None,
        what: Changed::File {
            bucket_id: id.into(),
            generation: generation.into(),
            old: None,
            new: Some(Box::new(FileRecord {
                name: name.into(),
                size: 3,
                content_type: "text/csv".into(),
                etag: "e".into(),
                sha256: None,
                modified: ms,
                uploaded_by: by.into(),
                hash: "h".into(),
                version_id: "v1".into(),
                upload_id: format!("u{seq}"),
            })),
        },
    }
}
