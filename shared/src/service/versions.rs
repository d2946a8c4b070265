//! File versions: the versions of a file kept for the retention after it was replaced, and
//! the restore of one as the current file.
//!
//! A restore is an upload like any other, made by the server: a grant in the restorer's name,
//! a server-side copy of the kept version onto the file's key (a new version, carrying the
//! grant's upload id), then the same processing as an upload event (limits, quota, counters,
//! the replaced version kept in turn). It runs at once, so the answer is the restored file;
//! the copy's own S3 event then finds it recorded (a duplicate).

use super::Services;
use super::error::{Error, Result};
use super::files::check_upload;
use super::uploads::Outcome;
use crate::domain::access::Identity;
use crate::domain::error::RuleError;
use crate::domain::files::{FileRecord, KeptVersion, object_key};
use crate::domain::ids::BucketRef;
use crate::domain::time::now_ms;
use crate::domain::uploads::WantedFile;
use crate::ports::{BucketStore, CascadeStore, FileStore, ObjectStore, StoreError};

/// S3's CopyObject copies at most 5 GiB in one call; a larger version would need a multipart
/// copy, which restores do not make.
pub const MAX_RESTORE_BYTES: u64 = 5 * 1024 * 1024 * 1024;

/// A page of kept versions.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionListing {
    pub versions: Vec<KeptVersion>,
    /// Where the next page starts (`None`: no more).
    pub last: Option<String>,
}

impl<S: BucketStore + FileStore + CascadeStore, O: ObjectStore> Services<S, O> {
    /// The kept versions of the file `name` (normalized); read permission.
    pub async fn list_versions(
        &self,
        identity: &Identity,
        bucket: &BucketRef,
        name: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<VersionListing> {
        let bucket = self.bucket_for(bucket, identity).await?;
        let file = self
            .current_file(&bucket.id, &bucket.generation, name)
            .await?;
        let page = self
            .store
            .list_kept_versions(&bucket.id, &bucket.generation, &file, after, limit)
            .await?;
        // Past its retention a version is gone, or about to be (its item's TTL lags).
        let now = now_ms();
        Ok(VersionListing {
            versions: page
                .versions
                .into_iter()
                .filter(|k| k.expires_at > now)
                .collect(),
            last: page.last,
        })
    }

    /// Makes kept version `version_id` of the file `name` its current content again; write
    /// permission, and the bucket's limits as for an upload of it. Returns the new record.
    pub async fn restore_version(
        &self,
        identity: &Identity,
        bucket: &BucketRef,
        name: &str,
        version_id: &str,
    ) -> Result<FileRecord> {
        let bucket = self.writable(bucket, identity).await?;
        let (id, generation) = (&bucket.id, &bucket.generation);
        let file = self.current_file(id, generation, name).await?;
        let kept = self
            .store
            .get_kept_version(id, generation, &file, version_id)
            .await?
            .filter(|k| k.expires_at > now_ms())
            .ok_or_else(|| Error::not_found("version", version_id))?
            .record;
        if kept.etag == file.etag && kept.size == file.size {
            // The file holds these bytes already: nothing to copy, nothing new to keep.
            return Ok(file);
        }
        let source = kept.object(id, generation);
        if self.objects.head(&source).await?.is_none() {
            // Expired meanwhile (the item outlives its version by a day).
            return Err(Error::not_found("version", version_id));
        }
        if kept.size > MAX_RESTORE_BYTES {
            return Err(RuleError::too_large(
                "version",
                format!(
                    "{} bytes: versions over {MAX_RESTORE_BYTES} bytes cannot be restored \
                     (upload the file again)",
                    kept.size
                ),
            )
            .into());
        }
        let wanted = WantedFile {
            original: kept.name.clone(),
            name: kept.name.clone(),
            size: kept.size,
            content_type: kept.content_type.clone(),
            // The copy gets a checksum of its own (a whole-object one, where a multipart
            // version had a composite one): the bytes are S3's to copy, not the client's.
            sha256: None,
        };
        let limits = self.limits_of(&bucket);
        check_upload(&limits, &wanted, 0, self.settings.multipart.threshold)
            .map_err(|e| retarget(e, "version"))?;
        self.check_room(&bucket, &limits, std::slice::from_ref(&wanted))
            .await?;
        let grant = self
            .record_grants(identity, &bucket, std::slice::from_ref(&wanted), false)
            .await?
            .remove(0);
        let copied = self
            .objects
            .copy_version(&source, &source.key, &kept.content_type, &grant.upload_id)
            .await;
        let copied = match copied {
            Ok(v) => v,
            Err(e) => {
                self.revoke_grants(&bucket, &[grant.upload_id]).await;
                return Err(match e {
                    StoreError::Conflict => Error::not_found("version", version_id),
                    other => other.into(),
                });
            }
        };
        let key = object_key(id, generation, name);
        // The copy is S3's newest version of the key unless an upload finished after it
        // (`process_upload` orders them as S3 does).
        let written_at = now_ms();
        match self
            .process_upload(&key, copied.as_deref(), Some(written_at))
            .await?
        {
            Outcome::Recorded | Outcome::Duplicate => self.current_file(id, generation, name).await,
            Outcome::Rejected(reason) => Err(RuleError::invalid("version", reason).into()),
            Outcome::Superseded | Outcome::Gone => Err(Error::Busy(
                "Another upload of this file was recorded meanwhile; retry".into(),
            )),
        }
    }

    async fn current_file(&self, id: &str, generation: &str, name: &str) -> Result<FileRecord> {
        self.store
            .get_file(id, generation, name)
            .await?
            .ok_or_else(|| Error::not_found("file", name))
    }
}

/// A file rule broken by a version names the version, not the `files[0]` of an upload.
fn retarget(mut e: RuleError, field: &str) -> RuleError {
    e.field = field.to_string();
    e
}
