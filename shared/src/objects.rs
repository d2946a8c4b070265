//! The object-storage port (S3): presigned URLs and the few calls the functions make
//! themselves. Bytes never pass through a function.

use std::future::Future;

use crate::store::StoreError;

/// A presigned request: the client sends exactly this method, URL and headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presigned {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
}

/// What S3 knows of a stored object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub size: u64,
    pub content_type: String,
    pub etag: String,
    pub sha256: Option<String>,
    pub last_modified: i64,
}

/// What an upload URL binds: the key, and the exact length, type and (optionally) checksum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutSpec<'a> {
    pub key: &'a str,
    pub size: u64,
    pub content_type: &'a str,
    pub sha256_base64: Option<&'a str>,
    pub expires_in_secs: u64,
}

pub trait ObjectStore: Send + Sync {
    /// A URL that accepts one PUT of exactly this object. Signing is local: no S3 call.
    fn presign_put(
        &self,
        spec: &PutSpec<'_>,
    ) -> impl Future<Output = Result<Presigned, StoreError>> + Send;

    /// A short-lived download URL (no S3 call).
    fn presign_get(
        &self,
        key: &str,
        filename: &str,
        expires_in_secs: u64,
    ) -> impl Future<Output = Result<Presigned, StoreError>> + Send;

    /// The object's metadata, `None` if it does not exist.
    fn head(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<ObjectMeta>, StoreError>> + Send;

    /// Deletes the object; deleting a missing object is not an error.
    fn delete(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}
