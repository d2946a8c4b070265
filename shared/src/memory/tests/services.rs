//! The upload-event service and the file routes over the memory adapters: how other tests can
//! run them without AWS.

use bytes::Bytes;
use http::{HeaderMap, Method};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

use super::*;
use crate::api::app::App;
use crate::api::files;
use crate::api::request::Request;
use crate::config::{Settings, UploadSettings};
use crate::domain::files::ObjectVersion;
use crate::ports::{BucketStore, FileStore, ObjectStore, PutSpec};
use crate::service::Services;
use crate::service::uploads::Outcome;

fn limits() -> UploadSettings {
    UploadSettings {
        max_files_per_bucket: 2,
        max_file_size: 1_000,
        accepted_file_types: vec![],
        max_bytes_per_bucket: 0,
    }
}

/// Grants `upload_id` for `name` in `b1`/`g1` and uploads it through its presigned URL;
/// returns the version written.
async fn granted_upload(
    store: &MemoryStore,
    objects: &MemoryObjects,
    upload_id: &str,
    name: &str,
    size: u64,
) -> ObjectVersion {
    store
        .put_grants("b1", "g1", &[grant(upload_id, name, size)])
        .await
        .unwrap();
    let key = crate::domain::files::object_key("b1", "g1", name);
    let put = objects
        .presign_put(&PutSpec {
            key: &key,
            upload_id,
            size,
            content_type: "text/csv",
            sha256_base64: None,
            expires_in_secs: 60,
        })
        .await
        .unwrap();
    objects.upload(&put.url).unwrap()
}

#[tokio::test]
async fn upload_events_are_recorded_replaced_and_refused() {
    let (store, objects) = (MemoryStore::new(), MemoryObjects::new());
    store
        .create(&bucket("b1", "g1", &[], &["user:w"]))
        .await
        .unwrap();
    let first = granted_upload(&store, &objects, &uid(1), "a.csv", 10).await;
    let mut settings = Settings::from_lookup(|_| None).unwrap();
    settings.upload = limits();
    let services = Services::new(settings, store.clone(), objects.clone());
    let process = |object: ObjectVersion, at: i64| {
        let services = &services;
        async move {
            services
                .process_upload(&object.key, object.version_id.as_deref(), Some(at))
                .await
        }
    };
    assert_eq!(process(first.clone(), 100).await, Ok(Outcome::Recorded));
    assert_eq!(process(first.clone(), 100).await, Ok(Outcome::Duplicate));
    let recorded = store.get_file("b1", "g1", "a.csv").await.unwrap().unwrap();
    assert_eq!(recorded.object("b1", "g1"), first);

    // A newer upload of the name replaces it; the replaced version is kept (noncurrent).
    let second = granted_upload(&store, &objects, &uid(2), "a.csv", 4).await;
    assert_eq!(second.key, first.key);
    assert_eq!(process(second.clone(), 200).await, Ok(Outcome::Recorded));
    assert!(objects.get_version(&first).is_some());
    assert_eq!(
        objects.get(&first.key).unwrap().meta.version_id,
        second.version_id
    );
    let stored = store.get_file("b1", "g1", "a.csv").await.unwrap().unwrap();
    assert_eq!(stored.object("b1", "g1"), second);
    let kept = store
        .list_kept_versions("b1", "g1", &stored, None, 10)
        .await
        .unwrap()
        .versions;
    assert_eq!(kept.len(), 1);
    assert_eq!((&kept[0].record, kept[0].replaced), (&recorded, 200));
    let b = store.get("b1").await.unwrap().unwrap();
    assert_eq!((b.file_count, b.total_bytes), (1, 4));

    // Beyond the file limit: refused, the version deleted, the reason kept.
    let third = granted_upload(&store, &objects, &uid(3), "b.csv", 1).await;
    assert_eq!(process(third, 300).await, Ok(Outcome::Recorded));
    let fourth = granted_upload(&store, &objects, &uid(4), "c.csv", 1).await;
    let outcome = process(fourth.clone(), 400).await.unwrap();
    assert!(matches!(outcome, Outcome::Rejected(_)), "{outcome:?}");
    assert!(objects.get_version(&fourth).is_none());
    assert!(!objects.contains(&fourth.key));
    assert!(
        store
            .get_rejection("b1", "g1", &uid(4))
            .await
            .unwrap()
            .is_some()
    );
}

/// Upload id `n` (32 hex digits, as issued).
fn uid(n: u8) -> String {
    format!("{n:032x}")
}

const SECRET: &str = "memory-test-secret";

fn bearer(sub: &str) -> String {
    let claims = json!({"sub": sub, "exp": crate::domain::time::now_ms() / 1000 + 600});
    let token = encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    format!("Bearer {token}")
}

fn request(method: Method, path: &str, body: Option<Value>) -> Request {
    let mut headers = HeaderMap::new();
    headers.insert("authorization", bearer("alice").parse().unwrap());
    headers.insert("content-type", "application/json".parse().unwrap());
    Request {
        method,
        path: path.into(),
        query: String::new(),
        headers,
        body: body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string())),
        base_url: "https://api.test".into(),
    }
}

#[tokio::test]
async fn the_file_routes_run_over_the_memory_adapters() {
    let settings = Settings::from_lookup(|name| match name {
        "JWT_HS256_SECRET" => Some(SECRET.to_string()),
        "CURSOR_KEYS" => Some("t:memory-test-cursor-secret-0123456789".to_string()),
        _ => None,
    })
    .unwrap();
    let (store, objects) = (MemoryStore::new(), MemoryObjects::new());
    let app = App::new(settings, store.clone(), objects.clone()).unwrap();
    let files_path = "/v1/buckets/default/files";
    let body = json!({"files": [{"name": "A.csv", "size": 3, "content_type": "text/csv"}]});
    let resp = files::handle(&app, &request(Method::POST, files_path, Some(body))).await;
    assert_eq!(resp.status, 201, "{:?}", resp.body);
    let url = resp.body.unwrap()["data"][0]["upload"]["url"]
        .as_str()
        .unwrap()
        .to_string();
    let version = objects.upload(&url).unwrap();
    let outcome = app
        .services
        .process_upload(&version.key, version.version_id.as_deref(), None)
        .await;
    assert_eq!(outcome, Ok(Outcome::Recorded));

    let resp = files::handle(&app, &request(Method::GET, files_path, None)).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body.unwrap()["data"][0]["name"], "a.csv");

    let resp = files::handle(
        &app,
        &request(Method::DELETE, &format!("{files_path}/a.csv"), None),
    )
    .await;
    assert_eq!(resp.status, 200, "{:?}", resp.body);
    // The route purged the object versions itself (no delete marker left either) and removed
    // the file's marker.
    assert!(objects.is_empty());
    assert!(store.markers().is_empty());
    assert!(store.keys_with_prefix("F#").is_empty());
}
