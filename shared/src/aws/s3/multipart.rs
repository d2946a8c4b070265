//! Multipart uploads on S3 (the `ObjectStore` port's multipart calls): begin with SHA-256
//! checksums, presign parts, list what S3 received, complete with the composite, abort.

use super::*;

impl S3Objects {
    pub(super) async fn create_upload(
        &self,
        spec: &MultipartSpec<'_>,
    ) -> Result<String, StoreError> {
        let out = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(spec.key)
            .content_type(spec.content_type)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .metadata("upload-id", spec.upload_id)
            .send()
            .await
            .map_err(classify)?;
        out.upload_id()
            .map(str::to_string)
            .ok_or_else(|| StoreError::Other("CreateMultipartUpload answered no UploadId".into()))
    }

    pub(super) async fn presign_upload_part(
        &self,
        spec: &PartSpec<'_>,
    ) -> Result<Presigned, StoreError> {
        let request = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(spec.key)
            .upload_id(spec.s3_upload_id)
            .part_number(i32::try_from(spec.number).unwrap_or(i32::MAX))
            .content_length(i64::try_from(spec.size).unwrap_or(i64::MAX))
            .checksum_sha256(spec.sha256_base64)
            .presigned(presign_config(spec.expires_in_secs)?)
            .await
            .map_err(|e| StoreError::Other(format!("presign part: {e:?}")))?;
        Ok(presigned(request))
    }

    pub(super) async fn list_upload_parts(
        &self,
        key: &str,
        s3_upload_id: &str,
        after: Option<u32>,
        max: usize,
    ) -> Result<Option<PartPage>, StoreError> {
        let result = self
            .client
            .list_parts()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(s3_upload_id)
            .max_parts(i32::try_from(max.min(1000)).unwrap_or(1000))
            .set_part_number_marker(after.map(|a| a.to_string()))
            .send()
            .await;
        let out = match result {
            Ok(out) => out,
            Err(SdkError::ServiceError(e)) if e.err().code() == Some("NoSuchUpload") => {
                return Ok(None);
            }
            Err(e) => return Err(classify(e)),
        };
        let parts: Vec<PartInfo> = out
            .parts()
            .iter()
            .map(|p| PartInfo {
                number: p.part_number().unwrap_or(0).max(0) as u32,
                size: p.size().unwrap_or(0).max(0) as u64,
                etag: p.e_tag().unwrap_or_default().to_string(),
                sha256: p.checksum_sha256().map(str::to_string),
            })
            .collect();
        let next = if out.is_truncated().unwrap_or(false) {
            out.next_part_number_marker()
                .and_then(|m| m.parse::<u32>().ok())
                .or_else(|| parts.last().map(|p| p.number))
        } else {
            None
        };
        Ok(Some(PartPage { parts, next }))
    }

    pub(super) async fn complete_upload(
        &self,
        key: &str,
        s3_upload_id: &str,
        parts: &[PartInfo],
        size: u64,
        sha256: Option<&str>,
    ) -> Result<Completion, StoreError> {
        let completed = parts
            .iter()
            .map(|p| {
                CompletedPart::builder()
                    .part_number(i32::try_from(p.number).unwrap_or(i32::MAX))
                    .e_tag(&p.etag)
                    .set_checksum_sha256(p.sha256.clone())
                    .build()
            })
            .collect::<Vec<_>>();
        let result = self
            .client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(s3_upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(completed))
                    .build(),
            )
            .mpu_object_size(i64::try_from(size).unwrap_or(i64::MAX))
            .set_checksum_sha256(sha256.map(str::to_string))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Completion::Completed),
            Err(SdkError::ServiceError(e)) => {
                let err = e.err();
                match err.code() {
                    Some("NoSuchUpload") => Ok(Completion::NoSuchUpload),
                    Some(
                        code @ ("BadDigest" | "InvalidPart" | "InvalidPartOrder" | "EntityTooSmall"
                        | "InvalidRequest" | "InvalidDigest"),
                    ) => Ok(Completion::Refused(format!(
                        "{code}: {}",
                        err.message().unwrap_or_default()
                    ))),
                    _ => Err(classify(SdkError::ServiceError(e))),
                }
            }
            Err(e) => Err(classify(e)),
        }
    }

    pub(super) async fn abort_upload(
        &self,
        key: &str,
        s3_upload_id: &str,
    ) -> Result<(), StoreError> {
        match self
            .client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(s3_upload_id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e)) if e.err().code() == Some("NoSuchUpload") => Ok(()),
            Err(e) => Err(classify(e)),
        }
    }
}
