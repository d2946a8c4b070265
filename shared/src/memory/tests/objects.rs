//! The in-memory object store.

use super::*;
use crate::ports::{ObjectMeta, ObjectStore, ObjectVersion, PutSpec};

#[tokio::test]
async fn an_upload_through_a_presigned_url_stores_what_the_url_binds() {
    let objects = MemoryObjects::new();
    let key = "b1/g1/a b&c.csv";
    let spec = PutSpec {
        key,
        upload_id: "u1",
        size: 12,
        content_type: "text/csv; charset=utf-8",
        sha256_base64: Some("q+/Z=="),
        expires_in_secs: 900,
    };
    let put = objects.presign_put(&spec).await.unwrap();
    assert_eq!(put.method, "PUT");
    assert!(
        put.url
            .starts_with("memory://put/b1/g1/a%20b%26c.csv?size=12&"),
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
            ("x-amz-meta-upload-id".to_string(), "u1".to_string()),
            ("x-amz-checksum-sha256".to_string(), "q+/Z==".to_string()),
        ]
    );
    // Deterministic; signing stores nothing.
    assert_eq!(objects.presign_put(&spec).await.unwrap(), put);
    assert!(objects.is_empty());
    assert_eq!(MemoryObjects::url_key(&put.url).as_deref(), Some(key));

    let first = objects.upload(&put.url).unwrap();
    assert_eq!(first.key, key);
    let meta = objects.head(&first).await.unwrap().unwrap();
    assert_eq!(meta.size, 12);
    assert_eq!(meta.content_type, "text/csv; charset=utf-8");
    assert_eq!(meta.sha256.as_deref(), Some("q+/Z=="));
    assert_eq!(meta.etag.len(), 32);
    assert_eq!(meta.last_modified % 1000, 0);
    // The upload id travels in the object's metadata; the version is the new one.
    assert_eq!(meta.upload_id.as_deref(), Some("u1"));
    assert_eq!(meta.version_id, first.version_id);
    assert!(first.version_id.is_some());
    assert_eq!(objects.upload("https://example.com/x"), None);

    // The URL used again: a new version of the same key, the first one kept.
    let second = objects.upload(&put.url).unwrap();
    assert_eq!(second.key, key);
    assert_ne!(second.version_id, first.version_id);
    assert!(objects.get_version(&first).is_some());
    assert_eq!(objects.get(key).unwrap().meta.version_id, second.version_id);
    assert_eq!(objects.keys(), [key]);
    assert_eq!(objects.len(), 2);

    let get = objects.presign_get(&first, "a b&c.csv", 300).await.unwrap();
    assert_eq!(get.method, "GET");
    assert_eq!(
        get.url,
        format!(
            "memory://get/b1/g1/a%20b%26c.csv?version={}&filename=a+b%26c.csv&expires=300",
            first.version_id.as_deref().unwrap()
        )
    );
    assert_eq!(MemoryObjects::url_key(&get.url).as_deref(), Some(key));
    assert_eq!(MemoryObjects::url_object(&get.url), Some(first.clone()));
    // A URL of the key itself (no version) names the latest.
    let latest = ObjectVersion::new(key, None);
    let get = objects.presign_get(&latest, "a.csv", 300).await.unwrap();
    assert_eq!(
        get.url,
        "memory://get/b1/g1/a%20b%26c.csv?filename=a.csv&expires=300"
    );
    assert_eq!(MemoryObjects::url_object(&get.url), Some(latest));
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
        version_id: None,
        upload_id: Some("u0".into()),
    };
    let v1 = objects.put_object("a/1", meta.clone());
    let a1 = ObjectVersion::new("a/1", Some(v1.clone()));
    // The stored metadata names its version.
    let stored = ObjectMeta {
        version_id: Some(v1.clone()),
        ..meta.clone()
    };
    assert_eq!(objects.head(&a1).await.unwrap(), Some(stored.clone()));
    assert_eq!(
        objects
            .head(&ObjectVersion::new("a/1", None))
            .await
            .unwrap(),
        Some(stored)
    );
    let written = objects.put_bytes("a/2", "text/csv", b"abc", Some("u2"));
    assert_eq!(written.size, 3);
    assert_eq!(written.upload_id.as_deref(), Some("u2"));
    // SHA-256 of "abc", base64.
    assert_eq!(
        written.sha256.as_deref(),
        Some("ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=")
    );
    let a2 = objects.get("a/2").unwrap();
    assert_eq!(a2.body.as_deref(), Some(&b"abc"[..]));
    assert_eq!(a2.meta, written);
    assert!(written.version_id.is_some());
    assert_ne!(written.version_id.as_deref(), Some(v1.as_str()));

    // A version written again: the latest changes, the older one is still readable.
    let again = objects.put_bytes("a/2", "text/csv", b"abcd", None);
    let old2 = ObjectVersion::new("a/2", written.version_id.clone());
    assert_eq!(objects.get("a/2").unwrap().meta, again);
    assert_eq!(objects.get_version(&old2).unwrap().meta, written);

    // Deleting the key leaves a delete marker: the key disappears, its versions stay.
    objects
        .delete(&ObjectVersion::new("a/1", None))
        .await
        .unwrap();
    assert!(!objects.contains("a/1"));
    assert_eq!(objects.get("a/1"), None);
    assert_eq!(
        objects
            .head(&ObjectVersion::new("a/1", None))
            .await
            .unwrap(),
        None
    );
    assert!(objects.get_version(&a1).is_some());
    assert_eq!(objects.versions_with_prefix("a/1").len(), 2);
    // Deleting a version removes it for good (twice is no error).
    objects.delete(&a1).await.unwrap();
    objects.delete(&a1).await.unwrap();
    assert_eq!(objects.head(&a1).await.unwrap(), None);
    assert_eq!(objects.versions_with_prefix("a/1").len(), 1);
    // Deleting the older version of a/2 leaves its latest.
    objects.delete(&old2).await.unwrap();
    assert_eq!(objects.get("a/2").unwrap().meta, again);
    assert_eq!(objects.keys(), ["a/2"]);
    // a/1's delete marker and a/2's latest version.
    assert_eq!(objects.len(), 2);
    // Deleting a missing key leaves no marker.
    objects
        .delete(&ObjectVersion::new("zz", None))
        .await
        .unwrap();
    assert_eq!(objects.len(), 2);
}

#[tokio::test]
async fn a_version_is_copied_onto_its_key_as_the_latest_with_the_upload_id() {
    let objects = MemoryObjects::new();
    let first = objects.put_bytes("b1/g1/a.csv", "text/csv", b"one", Some("u1"));
    objects.put_bytes("b1/g1/a.csv", "text/csv", b"two!", Some("u2"));
    let from = ObjectVersion::new("b1/g1/a.csv", first.version_id.clone());
    let copied = objects
        .copy_version(&from, "b1/g1/a.csv", "text/csv", "u3")
        .await
        .unwrap()
        .unwrap();
    let latest = objects.get("b1/g1/a.csv").unwrap();
    assert_eq!(latest.meta.version_id.as_deref(), Some(copied.as_str()));
    assert_eq!(latest.meta.upload_id.as_deref(), Some("u3"));
    assert_eq!(latest.body.as_deref(), Some(&b"one"[..]));
    assert_eq!(latest.meta.etag, first.etag);
    assert_eq!(objects.versions_with_prefix("b1/g1/a.csv").len(), 3);
    // Onto another key (an SFTP write adopted under its normalized name), with a SHA-256.
    let other = objects
        .copy_version(&from, "b1/g1/b.csv", "text/csv", "u5")
        .await
        .unwrap();
    let b = objects.get("b1/g1/b.csv").unwrap();
    assert_eq!(b.meta.version_id, other);
    assert_eq!(b.body.as_deref(), Some(&b"one"[..]));
    assert!(b.meta.sha256.is_some());
    // A missing version cannot be copied.
    let missing = ObjectVersion::new("b1/g1/a.csv", Some("nope".into()));
    assert_eq!(
        objects
            .copy_version(&missing, "b1/g1/a.csv", "text/plain", "u4")
            .await,
        Err(StoreError::Conflict)
    );
}

#[tokio::test]
async fn versions_are_listed_under_a_prefix_in_pages_of_at_most_1000() {
    let objects = MemoryObjects::new();
    // 2 000 keys, one with a second version and one deleted (a delete marker): 2 500 in all.
    for i in 0..2_000 {
        objects.put_bytes(&format!("b1/g1/f{i:05}.csv"), "text/csv", b"x", None);
    }
    for i in 0..250 {
        objects.put_bytes(&format!("b1/g1/f{i:05}.csv"), "text/csv", b"y", None);
    }
    for i in 250..500 {
        let key = format!("b1/g1/f{i:05}.csv");
        objects
            .delete(&ObjectVersion::new(key, None))
            .await
            .unwrap();
    }
    objects.put_bytes("b1/g10/f.csv", "text/csv", b"x", None);
    objects.put_bytes("b0/g1/f.csv", "text/csv", b"x", None);
    let mut token = None;
    let mut sizes = vec![];
    let mut all = vec![];
    loop {
        let page = objects.list_versions("b1/g1/", token, 5_000).await.unwrap();
        sizes.push(page.objects.len());
        all.extend(page.objects);
        match page.next {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    assert_eq!(sizes, [1000, 1000, 500]);
    assert_eq!(all, objects.versions_with_prefix("b1/g1/"));
    // Every version and marker, each once, each naming its version.
    let distinct: std::collections::HashSet<_> = all.iter().collect();
    assert_eq!(distinct.len(), 2_500);
    assert!(all.iter().all(|o| o.version_id.is_some()));
    // Two versions of one key can straddle a page boundary.
    let page = objects
        .list_versions("b1/g1/f00000", None, 1)
        .await
        .unwrap();
    assert_eq!(page.objects.len(), 1);
    let rest = objects
        .list_versions("b1/g1/f00000", page.next, 10)
        .await
        .unwrap();
    assert_eq!((rest.objects.len(), rest.next), (1, None));
    assert_ne!(rest.objects[0], page.objects[0]);
    // Exactly one page: no continuation.
    let page = objects
        .list_versions("b1/g1/f010", None, 100)
        .await
        .unwrap();
    assert_eq!((page.objects.len(), page.next), (100, None));

    let versions = objects.versions_with_prefix("b1/g1/");
    assert!(matches!(
        objects.delete_versions(&versions[..1001]).await,
        Err(StoreError::Other(_))
    ));
    assert_eq!(objects.versions_with_prefix("b1/g1/").len(), 2_500);
    let mut batch = versions[..999].to_vec();
    batch.push(ObjectVersion::new("missing", Some("v".into())));
    assert_eq!(objects.delete_versions(&batch).await.unwrap(), vec![]);
    assert_eq!(objects.versions_with_prefix("b1/g1/").len(), 1_501);
    // Deleting by version id leaves no delete marker behind.
    assert!(!objects.contains("missing"));
    assert_eq!(objects.versions_with_prefix("missing").len(), 0);
}
