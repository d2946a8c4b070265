//! The file use cases: upload grants (presigned PUTs; `grants`), listings, downloads
//! (presigned GETs), upload status and xyOps permalinks (here), deletion (`removal`). Bytes
//! never pass through a function.

mod grants;
mod removal;

use globset::GlobMatcher;

use super::Services;
use super::error::{Error, Result};
use crate::domain::access::Identity;
use crate::domain::bounds::json_size_within;
use crate::domain::bucket::Bucket;
use crate::domain::error::RuleError;
use crate::domain::files::{FileRecord, Grant, object_key};
use crate::domain::ids::{self, BucketRef};
use crate::domain::limits::Limits;
use crate::domain::pagination;
use crate::domain::time::now_ms;
use crate::domain::uploads::{WantedFile, check_file};
use crate::ports::{
    BucketStore, CascadeStore, FileStore, ObjectStore, Presigned, Rejection, StoreError,
};

/// Records read per page when a use case needs every file of a bucket.
const ALL_FILES_PAGE: usize = 1000;

/// Whether file `index` of a request is within the bucket's upload limits, and (a file
/// uploaded in parts, `size >= multipart_threshold`) declares no whole-file SHA-256: S3 cannot
/// verify a plain SHA-256 of a multipart object (it checks each part's, and the composite
/// given at complete), and a record must never claim a checksum nobody checked.
pub(super) fn check_upload(
    limits: &Limits,
    w: &WantedFile,
    index: usize,
    multipart_threshold: u64,
) -> Result<(), RuleError> {
    check_file(
        limits,
        &w.name,
        w.size,
        &w.content_type,
        &format!("files[{index}]"),
    )?;
    if w.size >= multipart_threshold && w.sha256.is_some() {
        return Err(RuleError::invalid(
            format!("files[{index}].sha256"),
            format!(
                "a file of {multipart_threshold} bytes or more is uploaded in parts: give each \
                 part's sha256 when asking for part URLs, and the composite checksum at complete"
            ),
        ));
    }
    Ok(())
}

/// The S3 key a grant uploads to (grants, part URLs, complete, abort): the file's one key.
pub(super) fn grant_object_key(bucket: &Bucket, name: &str) -> String {
    object_key(&bucket.id, &bucket.generation, name)
}

/// A grant issued with its presigned upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedGrant {
    pub grant: Grant,
    /// The name as the client gave it, before normalization.
    pub original_name: String,
    /// The single PUT; `None` for a multipart upload (`grant.multipart`), whose part URLs
    /// come from `POST …/uploads/{upload_id}/parts`.
    pub upload: Option<Presigned>,
}

/// A page of a bucket's files (a glob may have filtered them).
#[derive(Debug, Clone, PartialEq)]
pub struct FileListing {
    pub files: Vec<FileRecord>,
    pub has_more: bool,
    /// Where the next page starts.
    pub last: Option<String>,
}

/// A short-lived download URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    pub url: String,
    pub expires_at: i64,
}

/// What became of an upload, as its uploader asks.
#[derive(Debug, Clone, PartialEq)]
pub enum UploadStatus {
    Rejected(Rejection),
    /// Recorded, and still the bucket's file of that name.
    Recorded(Grant, Box<FileRecord>),
    /// Recorded once; a later upload of that name is the file now.
    Replaced(Grant),
    /// Recorded once; no file of that name exists now (deleted, emptied).
    Deleted(Grant),
    Expired(Grant),
    Pending(Grant),
}

impl<S: BucketStore + FileStore + CascadeStore, O: ObjectStore> Services<S, O> {
    /// A page of the bucket's files whose names match, after `after`.
    pub async fn list_files(
        &self,
        identity: &Identity,
        bucket: &BucketRef,
        after: Option<String>,
        limit: usize,
        matcher: &GlobMatcher,
    ) -> Result<(Bucket, FileListing)> {
        let bucket = self.bucket_for(bucket, identity).await?;
        // Pages of records, filtered by the glob, until the page is full.
        let mut files: Vec<FileRecord> = Vec::new();
        let mut after = after;
        let mut has_more = true;
        while files.len() < limit && has_more {
            let chunk = self
                .store
                .list_files(
                    &bucket.id,
                    &bucket.generation,
                    after.as_deref(),
                    limit + 1 - files.len(),
                )
                .await?;
            has_more = chunk.has_more;
            after = chunk.last_key.clone().or(after);
            files.extend(
                chunk
                    .files
                    .into_iter()
                    .filter(|f| matcher.is_match(&f.name)),
            );
        }
        if files.len() > limit {
            files.truncate(limit);
            has_more = true;
        }
        // Bounded in bytes as well as items (a record is small, but the bound is the answer's).
        let fit = pagination::items_within(
            files.iter().map(|f| {
                json_size_within(&f.to_json(&bucket.id), usize::MAX).unwrap_or(usize::MAX)
            }),
            pagination::MAX_ANSWER_BYTES,
        );
        if fit < files.len() {
            files.truncate(fit);
            has_more = true;
        }
        let last = files.last().map(|f| f.name.clone()).or(after);
        Ok((
            bucket,
            FileListing {
                files,
                has_more,
                last,
            },
        ))
    }

    /// A download URL of the file `name` (normalized).
    pub async fn download(
        &self,
        identity: &Identity,
        bucket: &BucketRef,
        name: &str,
    ) -> Result<Download> {
        let bucket = self.bucket_for(bucket, identity).await?;
        let record = self
            .store
            .get_file(&bucket.id, &bucket.generation, name)
            .await?
            .ok_or_else(|| Error::not_found("file", name))?;
        self.download_url(&bucket, &record).await
    }

    /// The permalink `files/bucket/<id>/<hash>/<name>`: a capability (or, per deployment
    /// setting, also read permission). Anything that does not match is the same 404.
    pub async fn permalink(
        &self,
        identity: &Identity,
        id: &str,
        hash: &str,
        name: &str,
    ) -> Result<Download> {
        let not_found = || Error::not_found("file", name);
        if ids::id_problem(id).is_some() {
            return Err(not_found());
        }
        let bucket = if self.settings.permalink_requires_read {
            self.readable(id, identity).await?
        } else {
            self.store.get(id).await?.ok_or_else(not_found)?
        };
        match self
            .store
            .get_file(&bucket.id, &bucket.generation, name)
            .await?
        {
            Some(record) if record.hash == hash => self.download_url(&bucket, &record).await,
            _ => Err(not_found()),
        }
    }

    /// What became of upload `upload_id` of the bucket.
    pub async fn upload_status(
        &self,
        identity: &Identity,
        bucket: &BucketRef,
        upload_id: &str,
    ) -> Result<UploadStatus> {
        let bucket = self.bucket_for(bucket, identity).await?;
        let (id, generation) = (&bucket.id, &bucket.generation);
        if let Some(r) = self.store.get_rejection(id, generation, upload_id).await? {
            return Ok(UploadStatus::Rejected(r));
        }
        let Some(grant) = self.store.get_grant(id, generation, upload_id).await? else {
            return Err(Error::not_found("upload", upload_id));
        };
        Ok(if grant.recorded {
            match self.store.get_file(id, generation, &grant.name).await? {
                Some(f) if f.upload_id == upload_id => UploadStatus::Recorded(grant, Box::new(f)),
                Some(_) => UploadStatus::Replaced(grant),
                None => UploadStatus::Deleted(grant),
            }
        } else if grant.expires_at < now_ms() {
            UploadStatus::Expired(grant)
        } else {
            UploadStatus::Pending(grant)
        })
    }

    /// The limits uploads into `bucket` are held to: the tighter of the deployment's and the
    /// bucket's own `limits` (`domain::limits`).
    pub(super) fn limits_of(&self, bucket: &Bucket) -> Limits {
        Limits::of_attrs(&self.settings.upload, &bucket.attrs)
    }

    /// Every file record of the bucket (bounded by the per-bucket file limit), by name.
    pub(super) async fn all_files(&self, bucket: &Bucket) -> Result<Vec<FileRecord>, StoreError> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self
                .store
                .list_files(
                    &bucket.id,
                    &bucket.generation,
                    after.as_deref(),
                    ALL_FILES_PAGE,
                )
                .await?;
            after = page.last_key.clone();
            out.extend(page.files);
            if !page.has_more || after.is_none() {
                return Ok(out);
            }
        }
    }

    pub(super) async fn download_url(
        &self,
        bucket: &Bucket,
        record: &FileRecord,
    ) -> Result<Download> {
        let ttl = self.settings.download_url_ttl_secs;
        let presigned = self
            .objects
            .presign_get(
                &record.object(&bucket.id, &bucket.generation),
                &record.name,
                ttl,
            )
            .await?;
        Ok(Download {
            url: presigned.url,
            expires_at: now_ms() + (ttl as i64) * 1000,
        })
    }
}
