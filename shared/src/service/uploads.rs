//! Processing of S3 ObjectCreated events: record the file, or delete the object and record why.
//!
//! Events are at-least-once and unordered, so every step is idempotent: an object already
//! recorded is a duplicate; a grant already spent means the object was superseded; among two
//! uploads of one name the later-written object wins (the event's `eventTime` in ms — S3's
//! `Last-Modified` has only second precision — then upload id); the record,
//! the spent grant and the bucket's counters change in one conditional transaction, so counts
//! stay exact and the file limit holds under concurrent uploads.
//!
//! A presigned PUT URL can be used more than once while it lives: S3 then overwrites the
//! recorded object in place (same key). An event for the recorded key therefore compares the
//! object's current etag and size (HEAD) with the record: the same is a repeated event; a
//! difference is an overwrite, checked against the grant again (and the uploader's write
//! permission now): if it passes, the record is rewritten to describe the new bytes (counters
//! moved in the same conditional write); if not, the file is deleted (record, counters and
//! object) and the rejection kept. We rewrite rather than always delete because S3 has already
//! replaced the old bytes: deleting would lose the uploader's legitimate retry as well, while
//! the record would describe nothing that exists either way.
//!
//! The limits are the bucket's effective ones as they are at event time (`domain::limits`:
//! the tighter of the deployment's and the bucket's `limits`), not as they were at the grant:
//! a limit tightened since refuses the upload (the object goes, the rejection says why, and a
//! file it would have replaced stays as it was). The file count and the byte quota are
//! conditions of the recording transaction itself (`ports::Room`), with the bucket revision
//! whose limits were read, so neither racing uploads nor a limit changed mid-way get a file
//! past them.
//!
//! A grant is honoured only while its uploader may still write: through the bucket's current
//! ACL (checked at event time with the uploader's principals), or, for a grant issued through
//! a global privilege (`Grant::by_privilege`; privileges live in tokens and cannot be checked
//! at event time), only until the grant's expiry, the longest the privilege could have been
//! used anyway.

use super::Services;
use super::error::{Error, Result};
use super::retry::{WRITE_ATTEMPTS, on_conflict};
use crate::domain::bucket::Bucket;
use crate::domain::files::Grant;
use crate::domain::files::{FileRecord, parse_object_key, random_token};
use crate::domain::limits::Limits;
use crate::domain::time::now_ms;
use crate::domain::uploads::check_file;
use crate::ports::{BucketStore, FileStore, ObjectStore, Rejection, Room, StoreError};
use crate::ports::{CascadeStore, ObjectMeta};

/// Slack on a privileged grant's expiry at event time (S3 enforces the URL's expiry itself;
/// this only absorbs clock differences).
const EXPIRY_SLACK_MS: i64 = 5 * 60 * 1000;

/// What became of one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Recorded,
    /// The recorded object was overwritten in place (its URL used again) and its record now
    /// describes the new bytes.
    Rerecorded,
    /// Already recorded (a repeated event).
    Duplicate,
    /// Deleted: an older upload than the recorded one.
    Superseded,
    /// Deleted, with the reason (also kept for the uploader).
    Rejected(String),
    /// The object no longer exists.
    Gone,
}

/// Why `meta` (stored under `name` in `bucket`, written at `written_at`) may not be recorded
/// under `grant`, if it may not.
fn grant_problem(
    limits: &Limits,
    bucket: &Bucket,
    grant: &Grant,
    key_alive: bool,
    name: &str,
    meta: &ObjectMeta,
    written_at: i64,
) -> Option<String> {
    if !bucket.is_active() {
        return Some("the bucket is inactive (active: false)".into());
    }
    if !key_alive {
        return Some("the API key that asked for this upload was revoked or expired".into());
    }
    let through_acl = bucket.permissions.can_write(&grant.writer_principals());
    let through_privilege = grant.by_privilege && written_at <= grant.expires_at + EXPIRY_SLACK_MS;
    if !(through_acl || through_privilege) {
        return Some(format!(
            "the uploader {} no longer has write permission on the bucket",
            grant.uploaded_by
        ));
    }
    if grant.name != name {
        return Some("the object name differs from the grant".into());
    }
    if meta.size != grant.size {
        return Some(format!(
            "{} bytes were uploaded but {} were granted",
            meta.size, grant.size
        ));
    }
    // The same rules as the grant's, on what was actually stored.
    if let Err(broken) = check_file(limits, name, meta.size, &meta.content_type, "object") {
        return Some(broken.to_string());
    }
    if !meta.content_type.eq_ignore_ascii_case(&grant.content_type) {
        return Some(format!(
            "content type {} is not the granted type {}",
            meta.content_type, grant.content_type
        ));
    }
    if let (Some(want), Some(got)) = (&grant.sha256, &meta.sha256)
        && want != got
    {
        return Some("the SHA-256 checksum differs from the grant".into());
    }
    None
}

impl<S: BucketStore + FileStore + CascadeStore, O: ObjectStore> Services<S, O> {
    /// Records the object `key` was written to (at `event_time_ms`, from the S3 event), or
    /// deletes it and keeps why.
    pub async fn process_upload(&self, key: &str, event_time_ms: Option<i64>) -> Result<Outcome> {
        let (store, objects) = (&self.store, &self.objects);
        let Some(parts) = parse_object_key(key) else {
            objects.delete(key).await?;
            tracing::warn!(key, "deleted an object outside the bucket layout");
            return Ok(Outcome::Rejected(
                "the key does not belong to a bucket".into(),
            ));
        };
        let (id, generation, upload_id, name) = (
            &parts.bucket_id,
            &parts.generation,
            &parts.upload_id,
            &parts.name,
        );
        // The reason is kept before the object goes: a crash in between is retried and finds
        // the object still there.
        // Why an upload was refused, kept for its uploader; a lost race means the incarnation
        // went meanwhile: nobody can ask, and nothing may outlive its cascade.
        let keep_reason = |reason: String| async move {
            let rejection = Rejection {
                upload_id: upload_id.clone(),
                name: name.clone(),
                reason,
                at: now_ms(),
            };
            match store.put_rejection(id, generation, &rejection).await {
                Ok(()) | Err(StoreError::Conflict) => Ok(()),
                Err(e) => Err(Error::from(e)),
            }
        };
        let reject = |reason: String| async move {
            keep_reason(reason.clone()).await?;
            objects.delete(key).await?;
            tracing::info!(key, reason = %reason, "upload rejected");
            Ok::<_, Error>(Outcome::Rejected(reason))
        };
        let busy = format!("{key}: too many concurrent changes; the event will be retried");
        on_conflict(WRITE_ATTEMPTS, &busy, || async {
            let bucket = match store.get(id).await? {
                Some(b) if &b.generation == generation => b,
                // Uploaded after the bucket was deleted (its cascade may be over): no record is
                // kept, since none could be read and it would be left behind.
                _ => {
                    objects.delete(key).await?;
                    tracing::info!(key, "deleted an object of a deleted bucket");
                    return Ok(Outcome::Rejected("the bucket no longer exists".into()));
                }
            };
            // The limits as they are now, read with the bucket (see the module's note).
            let limits = &self.limits_of(&bucket);
            let existing = store.get_file(id, generation, name).await?;
            if let Some(current) = &existing
                && current.object_key == key
            {
                let Some(meta) = objects.head(key).await? else {
                    // Gone (its file is being deleted): nothing to describe.
                    return Ok(Outcome::Duplicate);
                };
                if meta.etag != current.etag || meta.size != current.size {
                    // Overwritten in place: the URL was used again.
                    let grant = store.get_grant(id, generation, upload_id).await?;
                    let written_at = event_time_ms.unwrap_or(meta.last_modified);
                    let problem = match &grant {
                        None => Some("no upload grant for this object".to_string()),
                        Some(g) => {
                            let key_alive = self.grant_key_alive(g).await?;
                            grant_problem(limits, &bucket, g, key_alive, name, &meta, written_at)
                        }
                    };
                    if let Some(reason) = problem {
                        // The record, its counters and the object go (a lost race retries).
                        keep_reason(reason.clone()).await?;
                        self.remove_file(&bucket, current).await?;
                        tracing::info!(key, reason = %reason, "overwritten upload rejected");
                        return Ok(Outcome::Rejected(reason));
                    }
                    let record = FileRecord {
                        size: meta.size,
                        content_type: meta.content_type.clone(),
                        etag: meta.etag.clone(),
                        sha256: meta.sha256.clone().or(grant.and_then(|g| g.sha256)),
                        modified: written_at.max(current.modified),
                        ..current.clone()
                    };
                    store
                        .rerecord_upload(id, generation, current, &record)
                        .await?;
                    tracing::info!(key, size = record.size, "overwritten upload recorded again");
                    return Ok(Outcome::Rerecorded);
                }
                // Repeated event: finish what a crashed run may have left (the replaced object).
                if let Some(prev) = &current.prev_key {
                    objects.delete(prev).await?;
                    store.clear_prev_key(id, generation, name).await?;
                }
                return Ok(Outcome::Duplicate);
            }
            let Some(grant) = store.get_grant(id, generation, upload_id).await? else {
                return reject("no upload grant for this object".into()).await;
            };
            if grant.recorded {
                // Recorded once and replaced since: this object is an old version.
                objects.delete(key).await?;
                return Ok(Outcome::Superseded);
            }
            let Some(meta) = objects.head(key).await? else {
                return Ok(Outcome::Gone);
            };
            let written_at = event_time_ms.unwrap_or(meta.last_modified);
            let key_alive = self.grant_key_alive(&grant).await?;
            if let Some(reason) =
                grant_problem(limits, &bucket, &grant, key_alive, name, &meta, written_at)
            {
                return reject(reason).await;
            }
            if let Some(current) = &existing
                && (current.modified, current.upload_id.as_str()) > (written_at, upload_id.as_str())
            {
                objects.delete(key).await?;
                return Ok(Outcome::Superseded);
            }
            if existing.is_none() && bucket.file_count.max(0) as u64 >= limits.max_files {
                return reject(format!(
                    "the bucket already holds {} files (its limit is {})",
                    bucket.file_count, limits.max_files
                ))
                .await;
            }
            let delta = meta.size as i64 - existing.as_ref().map_or(0, |e| e.size as i64);
            if !limits.bytes_fit(bucket.total_bytes, delta) {
                return reject(format!(
                    "the bucket holds {} bytes and its quota is {}: {delta} more do not fit",
                    bucket.total_bytes,
                    limits.max_bytes.unwrap_or_default()
                ))
                .await;
            }
            // A replaced record's own leftover must go before its key is overwritten.
            if let Some(prev) = existing.as_ref().and_then(|e| e.prev_key.as_ref()) {
                objects.delete(prev).await?;
            }
            let record = FileRecord {
                name: name.clone(),
                size: meta.size,
                content_type: meta.content_type.clone(),
                etag: meta.etag.clone(),
                sha256: meta.sha256.clone().or(grant.sha256.clone()),
                modified: written_at,
                uploaded_by: grant.uploaded_by.clone(),
                hash: existing
                    .as_ref()
                    .map(|e| e.hash.clone())
                    .unwrap_or_else(random_token),
                object_key: key.to_string(),
                upload_id: upload_id.clone(),
                prev_key: existing.as_ref().map(|e| e.object_key.clone()),
            };
            store
                .record_upload(
                    id,
                    generation,
                    &record,
                    existing.as_ref(),
                    &Room {
                        max_files: limits.max_files,
                        max_bytes: limits.max_bytes,
                        revision: Some(bucket.revision),
                    },
                )
                .await?;
            // A lost race (another upload of the name, the counters, the bucket) looks again.
            if let Some(prev) = &record.prev_key {
                objects.delete(prev).await?;
                store.clear_prev_key(id, generation, name).await?;
            }
            tracing::info!(key, size = record.size, "file recorded");
            Ok(Outcome::Recorded)
        })
        .await
    }

    /// Whether the API key a grant was asked with (if any) still works: a revoked key's
    /// grants upload nothing more.
    async fn grant_key_alive(&self, grant: &Grant) -> Result<bool> {
        let Some(id) = &grant.via_key else {
            return Ok(true);
        };
        let key = self.store.get_key(id).await?;
        Ok(key.is_some_and(|k| !k.is_expired(now_ms())))
    }
}
