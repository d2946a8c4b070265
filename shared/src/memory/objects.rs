//! `ObjectStore` in memory: objects by key (metadata, and bytes when a test gives them),
//! presigned URLs that are deterministic fakes (`memory://put/<key>?…`), and helpers that stand
//! for the client's side of S3 (an upload through a presigned URL).

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard};

use base64::Engine;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha2::{Digest, Sha256};

use super::faults::Faults;
use crate::domain::time::now_ms;
use crate::ports::{
    FailedKey, ObjectMeta, ObjectPage, ObjectStore, Presigned, PutSpec, StoreError,
};

/// ListObjectsV2 returns at most this many keys; DeleteObjects takes at most this many.
const S3_PAGE: usize = 1000;
const PUT_PREFIX: &str = "memory://put/";
const GET_PREFIX: &str = "memory://get/";
/// What stays as it is in a key within a fake URL's path.
const PATH: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// One stored object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub meta: ObjectMeta,
    /// The content, when the test gave it (`put_bytes`); uploads through a URL store none.
    pub body: Option<Vec<u8>>,
}

#[derive(Debug, Default)]
struct Objects {
    objects: BTreeMap<String, StoredObject>,
    faults: Faults,
}

/// The in-memory object store. Clones share the same objects.
#[derive(Debug, Clone, Default)]
pub struct MemoryObjects {
    state: Arc<Mutex<Objects>>,
}

fn query(pairs: &[(&str, String)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        q.append_pair(k, v);
    }
    q.finish()
}

/// A fake ETag: 32 hex digits derived from the key and size (S3's is the MD5 of the body).
fn fake_etag(key: &str, size: u64) -> String {
    let digest = Sha256::digest(format!("{key}\n{size}"));
    hex::encode(&digest[..16])
}

/// A content ETag: 32 hex digits of the body's digest (S3's is its MD5).
fn content_etag(body: &[u8]) -> String {
    hex::encode(&Sha256::digest(body)[..16])
}

impl MemoryObjects {
    /// An empty store.
    pub fn new() -> MemoryObjects {
        MemoryObjects::default()
    }

    fn lock(&self) -> MutexGuard<'_, Objects> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn begin(&self) -> Result<MutexGuard<'_, Objects>, StoreError> {
        let mut state = self.lock();
        state.faults.next()?;
        Ok(state)
    }

    // --- Test helpers (not part of the port) ---

    /// The next `calls` port calls fail with `error` and change nothing.
    pub fn fail_next(&self, calls: usize, error: StoreError) {
        self.lock().faults.fail_next(calls, error);
    }

    /// The call after the next `skip` ones fails with `error` (they pass).
    pub fn fail_call(&self, skip: usize, error: StoreError) {
        self.lock().faults.fail_call(skip, error);
    }

    /// Whether injected faults are still waiting (`false` once the failing call happened).
    pub fn faults_pending(&self) -> bool {
        self.lock().faults.pending()
    }

    /// Forgets the faults still waiting.
    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// Stores an object as a client upload would (replacing any with this key); the upload
    /// event can then be processed (`Services::process_upload`).
    pub fn put_object(&self, key: &str, meta: ObjectMeta) {
        self.lock()
            .objects
            .insert(key.to_string(), StoredObject { meta, body: None });
    }

    /// Stores `body` under `key`: its size, its SHA-256 (base64, as S3's checksum), a fake
    /// ETag and now as `last_modified` (whole seconds, S3's precision). Returns the metadata.
    pub fn put_bytes(&self, key: &str, content_type: &str, body: &[u8]) -> ObjectMeta {
        let meta = ObjectMeta {
            size: body.len() as u64,
            content_type: content_type.to_string(),
            // From the content, as S3's: bytes written again under the same key change it.
            etag: content_etag(body),
            sha256: Some(base64::engine::general_purpose::STANDARD.encode(Sha256::digest(body))),
            last_modified: now_ms() / 1000 * 1000,
        };
        self.lock().objects.insert(
            key.to_string(),
            StoredObject {
                meta: meta.clone(),
                body: Some(body.to_vec()),
            },
        );
        meta
    }

    /// Does what a client does with a URL from `presign_put`: stores an object of exactly
    /// the size, type and checksum the URL binds, with a fake ETag and now as `last_modified`
    /// (whole seconds). Returns its key; `None` if the URL is not a `presign_put` one.
    pub fn upload(&self, url: &str) -> Option<String> {
        let (path, q) = url.strip_prefix(PUT_PREFIX)?.split_once('?')?;
        let key = percent_decode_str(path).decode_utf8().ok()?.into_owned();
        let mut size = None;
        let mut content_type = None;
        let mut sha256 = None;
        for (k, v) in form_urlencoded::parse(q.as_bytes()) {
            match k.as_ref() {
                "size" => size = v.parse::<u64>().ok(),
                "type" => content_type = Some(v.into_owned()),
                "sha256" => sha256 = Some(v.into_owned()),
                _ => {}
            }
        }
        let size = size?;
        let meta = ObjectMeta {
            size,
            content_type: content_type?,
            etag: fake_etag(&key, size),
            sha256,
            last_modified: now_ms() / 1000 * 1000,
        };
        self.put_object(&key, meta);
        Some(key)
    }

    /// The key a fake URL (`presign_put` or `presign_get`) points at.
    pub fn url_key(url: &str) -> Option<String> {
        let rest = url
            .strip_prefix(PUT_PREFIX)
            .or_else(|| url.strip_prefix(GET_PREFIX))?;
        let path = rest.split_once('?').map_or(rest, |(p, _)| p);
        Some(percent_decode_str(path).decode_utf8().ok()?.into_owned())
    }

    /// The stored object, if any.
    pub fn get(&self, key: &str) -> Option<StoredObject> {
        self.lock().objects.get(key).cloned()
    }

    pub fn contains(&self, key: &str) -> bool {
        self.lock().objects.contains_key(key)
    }

    /// Every key, sorted.
    pub fn keys(&self) -> Vec<String> {
        self.lock().objects.keys().cloned().collect()
    }

    /// The keys under `prefix`, sorted (`object_prefix(id, generation)`: an incarnation's).
    pub fn keys_with_prefix(&self, prefix: &str) -> Vec<String> {
        self.lock()
            .objects
            .keys()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect()
    }

    pub fn len(&self) -> usize {
        self.lock().objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lock().objects.is_empty()
    }
}

impl ObjectStore for MemoryObjects {
    /// `PUT memory://put/<key>?size=…&type=…[&sha256=…]&expires=…`, with the headers S3 signs
    /// (`content-length`, `content-type`, and `x-amz-checksum-sha256` when a checksum is bound).
    async fn presign_put(&self, spec: &PutSpec<'_>) -> Result<Presigned, StoreError> {
        drop(self.begin()?);
        let mut pairs = vec![
            ("size", spec.size.to_string()),
            ("type", spec.content_type.to_string()),
        ];
        if let Some(sha) = spec.sha256_base64 {
            pairs.push(("sha256", sha.to_string()));
        }
        pairs.push(("expires", spec.expires_in_secs.to_string()));
        let mut headers = vec![
            ("content-length".to_string(), spec.size.to_string()),
            ("content-type".to_string(), spec.content_type.to_string()),
        ];
        if let Some(sha) = spec.sha256_base64 {
            headers.push(("x-amz-checksum-sha256".to_string(), sha.to_string()));
        }
        Ok(Presigned {
            method: "PUT".into(),
            url: format!(
                "{PUT_PREFIX}{}?{}",
                utf8_percent_encode(spec.key, PATH),
                query(&pairs)
            ),
            headers,
        })
    }

    /// `GET memory://get/<key>?filename=…&expires=…`; like S3's, it is issued whether or not
    /// the object exists.
    async fn presign_get(
        &self,
        key: &str,
        filename: &str,
        expires_in_secs: u64,
    ) -> Result<Presigned, StoreError> {
        drop(self.begin()?);
        Ok(Presigned {
            method: "GET".into(),
            url: format!(
                "{GET_PREFIX}{}?{}",
                utf8_percent_encode(key, PATH),
                query(&[
                    ("filename", filename.to_string()),
                    ("expires", expires_in_secs.to_string()),
                ])
            ),
            headers: vec![],
        })
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, StoreError> {
        Ok(self.begin()?.objects.get(key).map(|o| o.meta.clone()))
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.begin()?.objects.remove(key);
        Ok(())
    }

    /// Up to `max` (at most 1000) keys under `prefix` after the token; the token is the last
    /// key of the previous page, and `next` is given exactly when more keys follow (S3's
    /// `IsTruncated`).
    async fn list_keys(
        &self,
        prefix: &str,
        token: Option<String>,
        max: usize,
    ) -> Result<ObjectPage, StoreError> {
        let state = self.begin()?;
        let max = max.min(S3_PAGE);
        // Keys under a prefix are contiguous: start at the prefix, or after the token.
        let start = match &token {
            Some(t) if t.as_str() >= prefix => Bound::Excluded(t.as_str()),
            _ => Bound::Included(prefix),
        };
        let mut under = state
            .objects
            .range::<str, _>((start, Bound::Unbounded))
            .map(|(k, _)| k)
            .take_while(|k| k.starts_with(prefix));
        let keys: Vec<String> = under.by_ref().take(max).cloned().collect();
        let more = under.next().is_some();
        let next = if more { keys.last().cloned() } else { None };
        Ok(ObjectPage { keys, next })
    }

    /// Deletes the keys (missing ones count as deleted); none ever fails. More than 1000 keys
    /// fail with `Other`, as S3's DeleteObjects does.
    async fn delete_keys(&self, keys: &[String]) -> Result<Vec<FailedKey>, StoreError> {
        let mut state = self.begin()?;
        if keys.len() > S3_PAGE {
            return Err(StoreError::Other(format!(
                "MalformedXML: {} keys in one DeleteObjects (at most {S3_PAGE})",
                keys.len()
            )));
        }
        for k in keys {
            state.objects.remove(k);
        }
        Ok(vec![])
    }
}
