//! The S3 adapter of the object-storage port. Presigning is local computation (no network).

mod multipart;

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::RequestChecksumCalculation;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::presigning::{PresignedRequest, PresigningConfig};
use aws_sdk_s3::types::{
    ChecksumAlgorithm, ChecksumMode, CompletedMultipartUpload, CompletedPart, Delete,
    MetadataDirective, ObjectIdentifier,
};

use crate::domain::files::UPLOAD_ID_META;
use crate::ports::StoreError;
use crate::ports::{
    Completion, CurrentObject, CurrentPage, FailedKey, MultipartSpec, ObjectMeta, ObjectPage,
    ObjectStore, ObjectVersion, PartInfo, PartPage, PartSpec, Presigned, PutSpec,
};

/// Separates the key and version markers of a ListObjectVersions position in our one
/// continuation token (object keys are bucket names: they hold no newline).
const TOKEN_SEPARATOR: char = '\n';

/// What a query value escapes (all but unreserved characters).
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// What CopyObject's `x-amz-copy-source` escapes in a key too (all but unreserved characters
/// and the path separator).
const COPY_SOURCE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

#[derive(Clone)]
pub struct S3Objects {
    client: Client,
    bucket: String,
}

impl S3Objects {
    /// The client for `sdk_config`. With a custom endpoint (the local emulator) it uses
    /// path-style URLs; checksums are sent only when an operation requires them, so presigned
    /// uploads carry exactly the headers we sign.
    pub fn new(sdk_config: &aws_config::SdkConfig, bucket: String) -> Self {
        let custom_endpoint = sdk_config.endpoint_url().is_some();
        let config = aws_sdk_s3::config::Builder::from(sdk_config)
            .force_path_style(custom_endpoint)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .build();
        S3Objects {
            client: Client::from_conf(config),
            bucket,
        }
    }
}

fn presign_config(expires_in_secs: u64) -> Result<PresigningConfig, StoreError> {
    PresigningConfig::expires_in(Duration::from_secs(expires_in_secs))
        .map_err(|e| StoreError::Other(format!("presigning config: {e}")))
}

fn presigned(p: PresignedRequest) -> Presigned {
    Presigned {
        method: p.method().to_string(),
        url: p.uri().to_string(),
        headers: p
            .headers()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

fn classify<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    err: SdkError<E, R>,
) -> StoreError {
    match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            StoreError::Unavailable(format!("{err:?}"))
        }
        SdkError::ServiceError(e)
            if matches!(
                e.err().code(),
                Some("SlowDown" | "ServiceUnavailable" | "InternalError")
            ) =>
        {
            StoreError::Unavailable(format!("{err:?}"))
        }
        _ => StoreError::Other(format!("{err:?}")),
    }
}

impl ObjectStore for S3Objects {
    async fn presign_put(&self, spec: &PutSpec<'_>) -> Result<Presigned, StoreError> {
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(spec.key)
            .content_length(i64::try_from(spec.size).unwrap_or(i64::MAX))
            .content_type(spec.content_type)
            .metadata(UPLOAD_ID_META, spec.upload_id)
            .set_checksum_sha256(spec.sha256_base64.map(str::to_string))
            .presigned(presign_config(spec.expires_in_secs)?)
            .await
            .map_err(|e| StoreError::Other(format!("presign put: {e:?}")))?;
        Ok(presigned(request))
    }

    async fn presign_get(
        &self,
        object: &ObjectVersion,
        filename: &str,
        expires_in_secs: u64,
    ) -> Result<Presigned, StoreError> {
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&object.key)
            .set_version_id(object.version_id.clone())
            .response_content_disposition(format!("attachment; filename=\"{filename}\""))
            .presigned(presign_config(expires_in_secs)?)
            .await
            .map_err(|e| StoreError::Other(format!("presign get: {e:?}")))?;
        Ok(presigned(request))
    }

    async fn head(&self, object: &ObjectVersion) -> Result<Option<ObjectMeta>, StoreError> {
        let result = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(&object.key)
            .set_version_id(object.version_id.clone())
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await;
        match result {
            Ok(out) => Ok(Some(ObjectMeta {
                size: out.content_length().unwrap_or(0).max(0) as u64,
                content_type: out
                    .content_type()
                    .unwrap_or("application/octet-stream")
                    .to_string(),
                etag: out
                    .e_tag()
                    .unwrap_or_default()
                    .trim_matches('"')
                    .to_string(),
                sha256: out.checksum_sha256().map(str::to_string),
                last_modified: out
                    .last_modified()
                    .and_then(|t| t.to_millis().ok())
                    .unwrap_or(0),
                version_id: out.version_id().map(str::to_string),
                upload_id: out.metadata().and_then(|m| m.get(UPLOAD_ID_META)).cloned(),
            })),
            Err(SdkError::ServiceError(e)) if e.err().is_not_found() => Ok(None),
            // A version id that is not one (or a delete marker) is no object either.
            Err(SdkError::ServiceError(e))
                if object.version_id.is_some()
                    && matches!(e.raw().status().as_u16(), 400 | 405) =>
            {
                Ok(None)
            }
            Err(e) => Err(classify(e)),
        }
    }

    async fn delete(&self, object: &ObjectVersion) -> Result<(), StoreError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(&object.key)
            .set_version_id(object.version_id.clone())
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn copy_version(
        &self,
        from: &ObjectVersion,
        to: &str,
        content_type: &str,
        upload_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let mut source = format!(
            "{}/{}",
            self.bucket,
            percent_encoding::utf8_percent_encode(&from.key, COPY_SOURCE)
        );
        if let Some(version) = &from.version_id {
            // Version ids may hold `+`, `/` or `=`: encoded as any query value.
            let version = percent_encoding::utf8_percent_encode(version, QUERY_VALUE);
            source.push_str(&format!("?versionId={version}"));
        }
        let out = self
            .client
            .copy_object()
            .bucket(&self.bucket)
            .key(to)
            .copy_source(source)
            // A new upload id: the copy is a new upload of the file, with its own grant.
            .metadata_directive(MetadataDirective::Replace)
            .metadata(UPLOAD_ID_META, upload_id)
            .content_type(content_type)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .send()
            .await;
        match out {
            Ok(out) => Ok(out.version_id().map(str::to_string)),
            Err(SdkError::ServiceError(e))
                if matches!(e.err().code(), Some("NoSuchKey" | "NoSuchVersion"))
                    || e.raw().status().as_u16() == 404 =>
            {
                Err(StoreError::Conflict)
            }
            Err(e) => Err(classify(e)),
        }
    }

    async fn newest_versions(&self, key: &str, max: usize) -> Result<Vec<String>, StoreError> {
        // S3 lists versions by key, each key's newest first: those of `key` itself come
        // before any longer key it prefixes. (Delete markers come in a list of their own;
        // only object versions are ordered here.)
        let out = self
            .client
            .list_object_versions()
            .bucket(&self.bucket)
            .prefix(key)
            .max_keys(i32::try_from(max).unwrap_or(1000))
            .send()
            .await
            .map_err(classify)?;
        Ok(out
            .versions()
            .iter()
            .filter(|v| v.key() == Some(key))
            .map(|v| v.version_id().unwrap_or("null").to_string())
            .collect())
    }

    async fn list_current(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        max: usize,
    ) -> Result<CurrentPage, StoreError> {
        let out = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .set_start_after(start_after.map(str::to_string))
            .max_keys(i32::try_from(max.min(1000)).unwrap_or(1000))
            .send()
            .await
            .map_err(classify)?;
        Ok(CurrentPage {
            objects: out
                .contents()
                .iter()
                .filter_map(|o| {
                    Some(CurrentObject {
                        key: o.key()?.to_string(),
                        size: o.size().unwrap_or(0).max(0) as u64,
                        // Unquoted, as `head` gives it (and records keep it).
                        etag: o.e_tag().unwrap_or_default().trim_matches('"').to_string(),
                    })
                })
                .collect(),
            truncated: out.is_truncated().unwrap_or(false),
        })
    }

    async fn list_versions(
        &self,
        prefix: &str,
        token: Option<String>,
        max: usize,
    ) -> Result<ObjectPage, StoreError> {
        let (key_marker, version_marker) = match token {
            Some(t) => match t.split_once(TOKEN_SEPARATOR) {
                Some((k, v)) => (
                    Some(k.to_string()),
                    Some(v.to_string()).filter(|v| !v.is_empty()),
                ),
                None => (Some(t), None),
            },
            None => (None, None),
        };
        let out = self
            .client
            .list_object_versions()
            .bucket(&self.bucket)
            .prefix(prefix)
            .set_key_marker(key_marker)
            .set_version_id_marker(version_marker)
            .max_keys(i32::try_from(max).unwrap_or(1000))
            .send()
            .await
            .map_err(classify)?;
        let versions = out.versions().iter().map(|v| (v.key(), v.version_id()));
        let markers = out
            .delete_markers()
            .iter()
            .map(|m| (m.key(), m.version_id()));
        Ok(ObjectPage {
            objects: versions
                .chain(markers)
                .filter_map(|(key, version)| {
                    Some(ObjectVersion::new(key?, version.map(str::to_string)))
                })
                .collect(),
            next: out
                .is_truncated()
                .unwrap_or(false)
                .then(|| {
                    let key = out.next_key_marker()?;
                    let version = out.next_version_id_marker().unwrap_or_default();
                    Some(format!("{key}{TOKEN_SEPARATOR}{version}"))
                })
                .flatten(),
        })
    }

    async fn delete_versions(
        &self,
        versions: &[ObjectVersion],
    ) -> Result<Vec<FailedKey>, StoreError> {
        if versions.is_empty() {
            return Ok(vec![]);
        }
        let objects = versions
            .iter()
            .map(|o| {
                ObjectIdentifier::builder()
                    .key(&o.key)
                    .set_version_id(o.version_id.clone())
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StoreError::Other(format!("object identifier: {e}")))?;
        // Quiet: S3 answers only the keys it could not delete.
        let delete = Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()
            .map_err(|e| StoreError::Other(format!("delete request: {e}")))?;
        let out = self
            .client
            .delete_objects()
            .bucket(&self.bucket)
            .delete(delete)
            .send()
            .await
            .map_err(classify)?;
        Ok(out
            .errors()
            .iter()
            .filter(|e| !matches!(e.code(), Some("NoSuchKey" | "NoSuchVersion")))
            .map(|e| FailedKey {
                object: ObjectVersion::new(
                    e.key().unwrap_or_default(),
                    e.version_id().map(str::to_string),
                ),
                code: e.code().unwrap_or("unknown").to_string(),
            })
            .collect())
    }

    async fn create_multipart(&self, spec: &MultipartSpec<'_>) -> Result<String, StoreError> {
        self.create_upload(spec).await
    }

    async fn presign_part(&self, spec: &PartSpec<'_>) -> Result<Presigned, StoreError> {
        self.presign_upload_part(spec).await
    }

    async fn list_parts(
        &self,
        key: &str,
        s3_upload_id: &str,
        after: Option<u32>,
        max: usize,
    ) -> Result<Option<PartPage>, StoreError> {
        self.list_upload_parts(key, s3_upload_id, after, max).await
    }

    async fn complete_multipart(
        &self,
        key: &str,
        s3_upload_id: &str,
        parts: &[PartInfo],
        size: u64,
        sha256: Option<&str>,
    ) -> Result<Completion, StoreError> {
        self.complete_upload(key, s3_upload_id, parts, size, sha256)
            .await
    }

    async fn abort_multipart(&self, key: &str, s3_upload_id: &str) -> Result<(), StoreError> {
        self.abort_upload(key, s3_upload_id).await
    }
}
