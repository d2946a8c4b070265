//! Objects written under a bucket's prefix without an upload URL: an SFTP user's, through
//! Transfer Family (its session policy lets only its bucket's write users put objects there;
//! every upload URL signs an `upload-id`, so nothing else writes an object without one).
//!
//! Such an object is **adopted**: a grant in the name of [`SFTP_UPLOADER`] is recorded, the
//! version is copied server side to the key of its normalized name with that upload id (S3
//! computes the copy's SHA-256), and the copy goes through `process_upload` like any upload
//! (bucket active, limits, quota, counters, versions). The written version is then deleted:
//! the user sees his file under its normalized name (`My Report.CSV` → `my_report.csv`), or no
//! longer sees it when it was refused. A directory placeholder (`dir/`) is deleted; a file in
//! a directory is named by its path (`dir/a.txt` → `dir_a.txt`).
//!
//! Adopting twice is harmless: a version already adopted is gone (its event finds nothing),
//! and one whose bytes are already the record's is only deleted.

use super::Services;
use super::error::Result;
use super::uploads::Outcome;
use super::versions::MAX_RESTORE_BYTES;
use crate::domain::cascade::object_prefix;
use crate::domain::files::{Grant, ObjectVersion, normalize_name, object_key, random_token};
use crate::domain::time::now_ms;
use crate::domain::uploads::check_file;
use crate::ports::{BucketStore, CascadeStore, FileStore, ObjectMeta, ObjectStore, Rejection};

/// Who uploaded a file written over SFTP (S3 does not say which SFTP user wrote an object).
pub const SFTP_UPLOADER: &str = "sftp";
/// How long a direct write's grant lives: it is spent at once.
const GRANT_TTL_MS: i64 = 15 * 60 * 1000;

impl<S: BucketStore + FileStore + CascadeStore, O: ObjectStore> Services<S, O> {
    /// Adopts version `written` (its metadata `meta`) of a key under incarnation
    /// `id`/`generation` whose path in the bucket is `path`.
    pub async fn adopt_direct_write(
        &self,
        id: &str,
        generation: &str,
        path: &str,
        written: &ObjectVersion,
        meta: &ObjectMeta,
    ) -> Result<Outcome> {
        let refuse = |reason: String| async move {
            self.objects.delete(written).await?;
            tracing::info!(key = %written.key, reason = %reason, "direct write refused");
            Ok::<_, super::Error>(Outcome::Rejected(reason))
        };
        let bucket = match self.store.get(id).await? {
            Some(b) if b.generation == generation => b,
            _ => return refuse("the bucket no longer exists".into()).await,
        };
        if path.ends_with('/') {
            return refuse("directories are not kept (file names have no '/')".into()).await;
        }
        let name = match normalize_name(path, "name") {
            Ok(n) => n,
            Err(e) => return refuse(e.to_string()).await,
        };
        let current = self.store.get_file(id, generation, &name).await?;
        if let Some(current) = &current
            && current.etag == meta.etag
            && current.size == meta.size
            && current.modified >= meta.last_modified
        {
            // Adopted already (an event and the reconciliation pass both saw it).
            self.objects.delete(written).await?;
            return Ok(Outcome::Duplicate);
        }
        // Only the newest write is adopted: an older one's event may come late, after a newer
        // write of the key or a newer upload of the name was recorded.
        let latest = self
            .objects
            .head(&ObjectVersion::new(&written.key, None))
            .await?;
        // No latest object: the user deleted the key since (a delete marker is latest).
        let newer_key = latest.is_none_or(|l| l.version_id != written.version_id);
        // S3's Last-Modified has whole seconds: a record of the same second is not newer.
        let newer_record = current.is_some_and(|c| c.modified / 1000 > meta.last_modified / 1000);
        if newer_key || newer_record {
            self.objects.delete(written).await?;
            return Ok(Outcome::Superseded);
        }
        if !bucket.is_active() {
            return refuse("the bucket is inactive (active: false)".into()).await;
        }
        let limits = self.limits_of(&bucket);
        if let Err(e) = check_file(&limits, &name, meta.size, &meta.content_type, "file") {
            return refuse(e.to_string()).await;
        }
        // A copy is one CopyObject: at most 5 GiB.
        if meta.size > MAX_RESTORE_BYTES {
            return refuse(format!(
                "{} bytes: files over {MAX_RESTORE_BYTES} bytes are uploaded over HTTP (multipart)",
                meta.size
            ))
            .await;
        }
        let grant = Grant {
            upload_id: random_token(),
            name: name.clone(),
            size: meta.size,
            content_type: meta.content_type.clone(),
            sha256: None,
            uploaded_by: SFTP_UPLOADER.into(),
            expires_at: now_ms() + GRANT_TTL_MS,
            recorded: false,
            // Transfer checked the writer (his session policy); nothing to re-check here.
            by_privilege: true,
            via_key: None,
            multipart: None,
        };
        self.store
            .put_grants(id, generation, std::slice::from_ref(&grant))
            .await?;
        let key = object_key(id, generation, &name);
        let copied = match self
            .objects
            .copy_version(written, &key, &meta.content_type, &grant.upload_id)
            .await
        {
            Ok(v) => v,
            // Deleted meanwhile (by its writer, or adopted by another pass).
            Err(crate::ports::StoreError::Conflict) => return Ok(Outcome::Gone),
            Err(e) => return Err(e.into()),
        };
        // Boxed: `process_upload` is what called this (for a version without an upload id;
        // the copy has one, so this recursion is one level deep).
        let outcome =
            Box::pin(self.process_upload(&key, copied.as_deref(), Some(now_ms()))).await?;
        if written.key != key || written.version_id != copied {
            self.objects.delete(written).await?;
        }
        if let Outcome::Rejected(reason) = &outcome {
            let rejection = Rejection {
                upload_id: grant.upload_id.clone(),
                name,
                reason: reason.clone(),
                at: now_ms(),
            };
            // Best effort: the reason is also logged.
            let _ = self.store.put_rejection(id, generation, &rejection).await;
        }
        Ok(outcome)
    }

    /// The path of `key` inside incarnation `id`/`generation`, if it is under its prefix.
    pub fn path_in(id: &str, generation: &str, key: &str) -> Option<String> {
        key.strip_prefix(&object_prefix(id, generation))
            .filter(|p| !p.is_empty())
            .map(str::to_string)
    }
}
