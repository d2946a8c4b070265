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
use crate::domain::multipart::composite_sha256;
use crate::domain::time::now_ms;
use crate::ports::{
    Completion, CurrentObject, CurrentPage, FailedKey, MultipartSpec, ObjectMeta, ObjectPage,
    ObjectStore, ObjectVersion, PartInfo, PartPage, PartSpec, Presigned, PutSpec, StoreError,
};

/// ListObjectVersions returns at most this many versions; DeleteObjects takes at most this many.
const S3_PAGE: usize = 1000;
const PUT_PREFIX: &str = "memory://put/";
const GET_PREFIX: &str = "memory://get/";
const PART_PREFIX: &str = "memory://part/";
/// What stays as it is in a key within a fake URL's path.
const PATH: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// One stored object version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub meta: ObjectMeta,
    /// The content, when the test gave it (`put_bytes`); uploads through a URL store none.
    pub body: Option<Vec<u8>>,
}

/// A multipart upload in progress.
#[derive(Debug, Clone, Default)]
struct Multipart {
    key: String,
    content_type: String,
    /// The object's `upload-id` metadata.
    upload_id: String,
    /// Part number → (body, base64 SHA-256, etag).
    parts: BTreeMap<u32, (Vec<u8>, String, String)>,
}

/// One version of a key: an object, or a delete marker (`object: None`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Version {
    id: String,
    object: Option<StoredObject>,
}

/// A versioned bucket: every write is a new version of its key, the last one is the latest.
#[derive(Debug, Default)]
struct Objects {
    objects: BTreeMap<String, Vec<Version>>,
    /// Numbers version ids (`v000000000001`…), so they sort in write order.
    written: u64,
    multipart: BTreeMap<String, Multipart>,
    next_multipart: u64,
    faults: Faults,
}

impl Objects {
    /// Stores a new latest version of `key`; returns its id (also set in the metadata).
    fn write(&mut self, key: &str, object: Option<StoredObject>) -> String {
        self.written += 1;
        let id = format!("v{:012}", self.written);
        let object = object.map(|mut o| {
            o.meta.version_id = Some(id.clone());
            o
        });
        self.objects
            .entry(key.to_string())
            .or_default()
            .push(Version {
                id: id.clone(),
                object,
            });
        id
    }

    /// The version `object` names (the latest when it names none); `None` for a missing one
    /// or a delete marker.
    fn find(&self, object: &ObjectVersion) -> Option<&StoredObject> {
        let versions = self.objects.get(&object.key)?;
        let version = match &object.version_id {
            Some(id) => versions.iter().find(|v| &v.id == id)?,
            None => versions.last()?,
        };
        version.object.as_ref()
    }

    /// Deletes a version for good, or (no version id) writes a delete marker.
    fn remove(&mut self, object: &ObjectVersion) {
        match &object.version_id {
            None => {
                if self.objects.contains_key(&object.key) {
                    self.write(&object.key, None);
                }
            }
            Some(id) => {
                if let Some(versions) = self.objects.get_mut(&object.key) {
                    versions.retain(|v| &v.id != id);
                    if versions.is_empty() {
                        self.objects.remove(&object.key);
                    }
                }
            }
        }
    }
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

    /// Stores a new version of `key` as a client upload would; the upload event can then be
    /// processed (`Services::process_upload`). Returns the version's id.
    pub fn put_object(&self, key: &str, meta: ObjectMeta) -> String {
        self.lock()
            .write(key, Some(StoredObject { meta, body: None }))
    }

    /// Stores `body` as a new version of `key`: its size, its SHA-256 (base64, as S3's
    /// checksum), a fake ETag, now as `last_modified` (whole seconds, S3's precision) and
    /// `upload_id` in its metadata. Returns the metadata (with the version id).
    pub fn put_bytes(
        &self,
        key: &str,
        content_type: &str,
        body: &[u8],
        upload_id: Option<&str>,
    ) -> ObjectMeta {
        let mut meta = ObjectMeta {
            size: body.len() as u64,
            content_type: content_type.to_string(),
            // From the content, as S3's: bytes written again under the same key change it.
            etag: content_etag(body),
            sha256: Some(base64::engine::general_purpose::STANDARD.encode(Sha256::digest(body))),
            last_modified: now_ms() / 1000 * 1000,
            version_id: None,
            upload_id: upload_id.map(str::to_string),
        };
        let id = self.lock().write(
            key,
            Some(StoredObject {
                meta: meta.clone(),
                body: Some(body.to_vec()),
            }),
        );
        meta.version_id = Some(id);
        meta
    }

    /// Does what a client does with a URL from `presign_put`: stores a new version of exactly
    /// the size, type, checksum and upload id the URL binds, with a fake ETag and now as
    /// `last_modified` (whole seconds). Returns the version; `None` if the URL is not a
    /// `presign_put` one.
    pub fn upload(&self, url: &str) -> Option<ObjectVersion> {
        let (path, q) = url.strip_prefix(PUT_PREFIX)?.split_once('?')?;
        let key = percent_decode_str(path).decode_utf8().ok()?.into_owned();
        let mut size = None;
        let mut content_type = None;
        let mut sha256 = None;
        let mut upload_id = None;
        for (k, v) in form_urlencoded::parse(q.as_bytes()) {
            match k.as_ref() {
                "size" => size = v.parse::<u64>().ok(),
                "type" => content_type = Some(v.into_owned()),
                "sha256" => sha256 = Some(v.into_owned()),
                "upload_id" => upload_id = Some(v.into_owned()),
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
            version_id: None,
            upload_id,
        };
        let version = self.put_object(&key, meta);
        Some(ObjectVersion::new(key, Some(version)))
    }

    /// Does what a client does with a URL from `presign_part`: sends `body` as that part. As
    /// S3, refuses a body whose length or SHA-256 differs from the signed ones (`Err` with
    /// S3's code), and an upload that no longer exists.
    pub fn upload_part(&self, url: &str, body: &[u8]) -> Result<(), String> {
        let (path, q) = url
            .strip_prefix(PART_PREFIX)
            .and_then(|r| r.split_once('?'))
            .ok_or("not a part URL")?;
        let key = percent_decode_str(path)
            .decode_utf8()
            .map_err(|e| e.to_string())?
            .into_owned();
        let (mut upload, mut number, mut size, mut sha) = (None, None, None, None);
        for (k, v) in form_urlencoded::parse(q.as_bytes()) {
            match k.as_ref() {
                "uploadId" => upload = Some(v.into_owned()),
                "partNumber" => number = v.parse::<u32>().ok(),
                "size" => size = v.parse::<u64>().ok(),
                "sha256" => sha = Some(v.into_owned()),
                _ => {}
            }
        }
        let (upload, number, size, sha) = (
            upload.ok_or("no uploadId")?,
            number.ok_or("no partNumber")?,
            size.ok_or("no size")?,
            sha.ok_or("no sha256")?,
        );
        if body.len() as u64 != size {
            return Err("SignatureDoesNotMatch: Content-Length differs from the signed one".into());
        }
        let digest = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(body));
        if digest != sha {
            return Err("BadDigest: the sha256 you specified did not match".into());
        }
        let mut state = self.lock();
        let mp = state
            .multipart
            .get_mut(&upload)
            .filter(|m| m.key == key)
            .ok_or("NoSuchUpload")?;
        mp.parts
            .insert(number, (body.to_vec(), digest, content_etag(body)));
        Ok(())
    }

    /// The `upload-id` metadata of the open multipart upload of `key`, if there is one.
    pub fn multipart_metadata(&self, key: &str) -> Option<String> {
        self.lock()
            .multipart
            .values()
            .find(|m| m.key == key)
            .map(|m| m.upload_id.clone())
    }

    /// How many multipart uploads are open.
    pub fn open_multiparts(&self) -> usize {
        self.lock().multipart.len()
    }

    /// The key a fake URL (`presign_put` or `presign_get`) points at.
    pub fn url_key(url: &str) -> Option<String> {
        let rest = url
            .strip_prefix(PUT_PREFIX)
            .or_else(|| url.strip_prefix(GET_PREFIX))?;
        let path = rest.split_once('?').map_or(rest, |(p, _)| p);
        Some(percent_decode_str(path).decode_utf8().ok()?.into_owned())
    }

    /// The object version a `presign_get` URL points at.
    pub fn url_object(url: &str) -> Option<ObjectVersion> {
        let key = Self::url_key(url)?;
        let version = url.split_once('?').and_then(|(_, q)| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "version")
                .map(|(_, v)| v.into_owned())
        });
        Some(ObjectVersion::new(key, version))
    }

    /// The latest version of `key`, if it is an object (not a delete marker).
    pub fn get(&self, key: &str) -> Option<StoredObject> {
        self.lock().find(&ObjectVersion::new(key, None)).cloned()
    }

    /// The version `object` names, if it exists.
    pub fn get_version(&self, object: &ObjectVersion) -> Option<StoredObject> {
        self.lock().find(object).cloned()
    }

    /// Whether `key`'s latest version is an object (what a plain GET or an SFTP user sees).
    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Every key whose latest version is an object, sorted.
    pub fn keys(&self) -> Vec<String> {
        let state = self.lock();
        state
            .objects
            .iter()
            .filter(|(_, v)| v.last().is_some_and(|v| v.object.is_some()))
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Every version and delete marker under `prefix` (`object_prefix(id, generation)`: an
    /// incarnation's), by key then write order.
    pub fn versions_with_prefix(&self, prefix: &str) -> Vec<ObjectVersion> {
        self.lock()
            .objects
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .flat_map(|(k, vs)| {
                vs.iter()
                    .map(|v| ObjectVersion::new(k.clone(), Some(v.id.clone())))
            })
            .collect()
    }

    /// How many versions and delete markers are stored, all keys together.
    pub fn len(&self) -> usize {
        self.lock().objects.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.lock().objects.is_empty()
    }
}

mod port;
