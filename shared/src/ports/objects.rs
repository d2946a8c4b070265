//! The object-storage port (S3): presigned URLs and the few calls the functions make
//! themselves. Bytes never pass through a function.

use std::future::Future;

use super::StoreError;
pub use crate::domain::files::ObjectVersion;

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
    /// The version this describes (`None` on an unversioned store).
    pub version_id: Option<String>,
    /// The upload id the upload URL signed into the object's metadata, if any.
    pub upload_id: Option<String>,
}

/// What an upload URL binds: the key, the upload id (object metadata, see
/// `files::UPLOAD_ID_META`), and the exact length, type and (optionally) checksum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutSpec<'a> {
    pub key: &'a str,
    pub upload_id: &'a str,
    pub size: u64,
    pub content_type: &'a str,
    pub sha256_base64: Option<&'a str>,
    pub expires_in_secs: u64,
}

/// One page of object versions (delete markers included); `next` continues the listing
/// (`None`: no more).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectPage {
    pub objects: Vec<ObjectVersion>,
    pub next: Option<String>,
}

/// A key's latest object, as a listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentObject {
    pub key: String,
    pub size: u64,
    pub etag: String,
}

/// One page of `list_current`; `truncated`: more keys follow the last one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentPage {
    pub objects: Vec<CurrentObject>,
    pub truncated: bool,
}

/// A version a batch deletion did not delete, with S3's error code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedKey {
    pub object: ObjectVersion,
    pub code: String,
}

/// A multipart upload to begin: the object's key and type, and our upload id (stored as the
/// object's `upload-id` metadata).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipartSpec<'a> {
    pub key: &'a str,
    pub content_type: &'a str,
    pub upload_id: &'a str,
}

/// What one part URL binds: the upload, the part number, its exact length and SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartSpec<'a> {
    pub key: &'a str,
    pub s3_upload_id: &'a str,
    pub number: u32,
    pub size: u64,
    pub sha256_base64: &'a str,
    pub expires_in_secs: u64,
}

/// A part S3 has received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartInfo {
    pub number: u32,
    pub size: u64,
    pub etag: String,
    pub sha256: Option<String>,
}

/// One page of received parts; `next` is the part number marker to continue after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartPage {
    pub parts: Vec<PartInfo>,
    pub next: Option<u32>,
}

/// What CompleteMultipartUpload answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completion {
    Completed,
    /// No such upload (completed or aborted already, or never begun).
    NoSuchUpload,
    /// S3 refused it (a checksum, a part, a size): its code and message.
    Refused(String),
}

pub trait ObjectStore: Send + Sync {
    /// A URL that accepts one PUT of exactly this object. Signing is local: no S3 call.
    fn presign_put(
        &self,
        spec: &PutSpec<'_>,
    ) -> impl Future<Output = Result<Presigned, StoreError>> + Send;

    /// A short-lived download URL of one version (no S3 call).
    fn presign_get(
        &self,
        object: &ObjectVersion,
        filename: &str,
        expires_in_secs: u64,
    ) -> impl Future<Output = Result<Presigned, StoreError>> + Send;

    /// The version's metadata (the latest's when `version_id` is `None`), `None` if it does
    /// not exist.
    fn head(
        &self,
        object: &ObjectVersion,
    ) -> impl Future<Output = Result<Option<ObjectMeta>, StoreError>> + Send;

    /// Deletes the version for good (with `version_id: None`, leaves a delete marker);
    /// deleting a missing one is not an error.
    fn delete(&self, object: &ObjectVersion)
    -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Copies version `from` (of type `content_type`) onto key `to` as a new latest version
    /// carrying `upload_id`, with a SHA-256 S3 computes (server side: no bytes pass through
    /// the function); returns the new version's id. A missing `from` is `Conflict`.
    fn copy_version(
        &self,
        from: &ObjectVersion,
        to: &str,
        content_type: &str,
        upload_id: &str,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// The version ids of exactly `key`, newest first as S3 orders them (its own order, which
    /// decides which version is the key's latest), at most `max` (one ListObjectVersions).
    fn newest_versions(
        &self,
        key: &str,
        max: usize,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// Up to `max` (≤ 1000) keys under `prefix` whose latest version is an object, after key
    /// `start_after`, in key order (one ListObjectsV2).
    fn list_current(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        max: usize,
    ) -> impl Future<Output = Result<CurrentPage, StoreError>> + Send;

    /// Up to `max` object versions and delete markers under `prefix`, continuing after
    /// `token` (one ListObjectVersions).
    fn list_versions(
        &self,
        prefix: &str,
        token: Option<String>,
        max: usize,
    ) -> impl Future<Output = Result<ObjectPage, StoreError>> + Send;

    /// Deletes up to 1000 versions in one call (DeleteObjects); returns those S3 did not
    /// delete. Missing ones count as deleted.
    fn delete_versions(
        &self,
        objects: &[ObjectVersion],
    ) -> impl Future<Output = Result<Vec<FailedKey>, StoreError>> + Send;

    /// Begins a multipart upload (CreateMultipartUpload, ChecksumAlgorithm SHA256); returns
    /// S3's UploadId.
    fn create_multipart(
        &self,
        spec: &MultipartSpec<'_>,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;

    /// A URL that accepts one UploadPart of exactly this part (no S3 call).
    fn presign_part(
        &self,
        spec: &PartSpec<'_>,
    ) -> impl Future<Output = Result<Presigned, StoreError>> + Send;

    /// Up to `max` (≤ 1000) received parts after part `after` (one ListParts); `None` if
    /// there is no such upload.
    fn list_parts(
        &self,
        key: &str,
        s3_upload_id: &str,
        after: Option<u32>,
        max: usize,
    ) -> impl Future<Output = Result<Option<PartPage>, StoreError>> + Send;

    /// Completes the upload from `parts` (in order, with their checksums), S3 checking the
    /// total `size` and, when given, the composite `sha256` (`<base64>-<N>`).
    fn complete_multipart(
        &self,
        key: &str,
        s3_upload_id: &str,
        parts: &[PartInfo],
        size: u64,
        sha256: Option<&str>,
    ) -> impl Future<Output = Result<Completion, StoreError>> + Send;

    /// Aborts the upload (its parts are deleted); a missing upload is not an error.
    fn abort_multipart(
        &self,
        key: &str,
        s3_upload_id: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}
