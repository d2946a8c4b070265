//! The in-memory object store.

use super::*;
use crate::ports::{ObjectMeta, ObjectStore, PutSpec};

#[tokio::test]
async fn an_upload_through_a_presigned_url_stores_what_the_url_binds() {
    let objects = MemoryObjects::new();
    let key = "b1/g1/u1/a b&c.csv";
    let spec = PutSpec {
        key,
        size: 12,
        content_type: "text/csv; charset=utf-8",
        sha256_base64: Some("q+/Z=="),
        expires_in_secs: 900,
    };
    let put = objects.presign_put(&spec).await.unwrap();
    assert_eq!(put.method, "PUT");
    assert!(
        put.url
            .starts_with("memory://put/b1/g1/u1/a%20b%26c.csv?size=12&"),
        "{}",
        put.url
    );
    assert_eq!(
        put.headers,
        [
            ("content-length".to_string(), "12".to_string()),
            (
                "content-type".to_string(),
                "text/csv; charset=utf-8".to_string()
            ),
            ("x-amz-checksum-sha256".to_string(), "q+/Z==".to_string()),
        ]
    );
    // Deterministic; signing stores nothing.
    assert_eq!(objects.presign_put(&spec).await.unwrap(), put);
    assert!(objects.is_empty());
    assert_eq!(MemoryObjects::url_key(&put.url).as_deref(), Some(key));

    assert_eq!(objects.upload(&put.url).as_deref(), Some(key));
    let meta = objects.head(key).await.unwrap().unwrap();
    assert_eq!(meta.size, 12);
    assert_eq!(meta.content_type, "text/csv; charset=utf-8");
    assert_eq!(meta.sha256.as_deref(), Some("q+/Z=="));
    assert_eq!(meta.etag.len(), 32);
    assert_eq!(meta.last_modified % 1000, 0);
    assert_eq!(objects.upload("https://example.com/x"), None);

    let get = objects.presign_get(key, "a b&c.csv", 300).await.unwrap();
    assert_eq!(get.method, "GET");
    assert_eq!(
        get.url,
        "memory://get/b1/g1/u1/a%20b%26c.csv?filename=a+b%26c.csv&expires=300"
    );
    assert_eq!(MemoryObjects::url_key(&get.url).as_deref(), Some(key));
}

#[tokio::test]
async fn objects_are_stored_read_and_deleted() {
    let objects = MemoryObjects::new();
    let meta = ObjectMeta {
        size: 3,
        content_type: "text/plain".into(),
        etag: "e".into(),
        sha256: None,
        last_modified: 5,
    };
    objects.put_object("a/1", meta.clone());
    assert_eq!(objects.head("a/1").await.unwrap(), Some(meta));
    let written = objects.put_bytes("a/2", "text/csv", b"abc");
    assert_eq!(written.size, 3);
    // SHA-256 of "abc", base64.
    assert_eq!(
        written.sha256.as_deref(),
        Some("ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=")
    );
    assert_eq!(
        objects.get("a/2").unwrap().body.as_deref(),
        Some(&b"abc"[..])
    );
    objects.delete("a/1").await.unwrap();
    objects.delete("a/1").await.unwrap();
    assert_eq!(objects.head("a/1").await.unwrap(), None);
    assert_eq!(objects.keys(), ["a/2"]);
    assert_eq!(objects.len(), 1);
}

#[tokio::test]
async fn keys_are_listed_under_a_prefix_in_pages_of_at_most_1000() {
    let objects = MemoryObjects::new();
    for i in 0..2_500 {
        objects.put_bytes(&format!("b1/g1/u{i:05}/f.csv"), "text/csv", b"x");
    }
    objects.put_bytes("b1/g10/u/f.csv", "text/csv", b"x");
    objects.put_bytes("b0/g1/u/f.csv", "text/csv", b"x");
    let mut token = None;
    let mut sizes = vec![];
    let mut all = vec![];
    loop {
        let page = objects.list_keys("b1/g1/", token, 5_000).await.unwrap();
        sizes.push(page.keys.len());
        all.extend(page.keys);
        match page.next {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    assert_eq!(sizes, [1000, 1000, 500]);
    assert_eq!(all, objects.keys_with_prefix("b1/g1/"));
    // Exactly one page: no continuation.
    let page = objects.list_keys("b1/g1/u0000", None, 10).await.unwrap();
    assert_eq!((page.keys.len(), page.next), (10, None));

    let keys = objects.keys_with_prefix("b1/g1/");
    assert!(matches!(
        objects.delete_keys(&keys[..1001]).await,
        Err(StoreError::Other(_))
    ));
    let mut batch = keys[..999].to_vec();
    batch.push("missing".into());
    assert_eq!(objects.delete_keys(&batch).await.unwrap(), vec![]);
    assert_eq!(objects.keys_with_prefix("b1/g1/").len(), 1_501);
}
