//! Processing of S3 ObjectCreated events: record the version, or delete it and record why.
//!
//! Each file name has one S3 key per bucket incarnation (`files::object_key`), in a versioned
//! bucket: every upload is a new version of the key, found by the event's version id, and its
//! upload id (signed into the object's metadata by the upload URL) names its grant. A record
//! pins the version it describes, so nothing written to the key (a refused upload, the same
//! URL used again) changes what a download returns; a refused version is deleted by its id,
//! which also gives the key its previous latest version back (what SFTP users see).
//!
//! Events are at-least-once and unordered, so every step is idempotent: the recorded version
//! is a duplicate; a version of a grant already spent is the URL used again (deleted: the
//! record keeps the bytes it describes); among two uploads of one name the one S3 holds as the
//! newer wins (S3's own order decides which version is the key's latest, and a noncurrent
//! version expires: a record must pin the latest), the other is deleted. The record, the replaced version kept for the retention
//! (`KeptVersion`), the spent grant and the bucket's counters change in one conditional
//! transaction, so counts stay exact and the limits hold under concurrent uploads.
//!
//! The limits are the bucket's effective ones as they are at event time (`domain::limits`:
//! the tighter of the deployment's and the bucket's `limits`), not as they were at the grant:
//! a limit tightened since refuses the upload (the version goes, the rejection says why, and a
//! file it would have replaced stays as it was). The file count and the byte quota are
//! conditions of the recording transaction itself (`ports::Room`), with the bucket revision
//! whose limits were read, so neither racing uploads nor a limit changed mid-way get a file
//! past them. Counters and quotas count current versions only.
//!
//! A grant is honoured only while its uploader may still write: through the bucket's current
//! ACL (checked at event time with the uploader's principals), or, for a grant issued through
//! a global privilege (`Grant::by_privilege`; privileges live in tokens and cannot be checked
//! at event time), only until the grant's expiry, the longest the privilege could have been
//! used anyway.

mod checks;

use super::Services;
use super::error::{Error, Result};
use super::retry::{WRITE_ATTEMPTS, on_conflict};
use crate::domain::bucket::Bucket;
use crate::domain::files::{FileRecord, Grant, KeptVersion, ObjectVersion};
use crate::domain::files::{parse_object_key, random_token};
use crate::domain::limits::Limits;
use crate::domain::time::now_ms;
use crate::domain::uploads::is_upload_id;
use crate::ports::{BucketStore, FileStore, ObjectStore, Rejection, Room, StoreError};
use crate::ports::{CascadeStore, ObjectMeta};
use checks::{grant_problem, room_problem, split_bucket_path};

/// Versions of a key read to order two of them as S3 does: the recorded one and a newer
/// upload are among the newest few unless many uploads of the name are pending at once.
const NEWEST_VERSIONS_READ: usize = 50;

/// What became of one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Recorded,
    /// Already recorded (a repeated event).
    Duplicate,
    /// Deleted: an older upload than the recorded one, or its grant's URL used again.
    Superseded,
    /// Deleted, with the reason (also kept for the uploader).
    Rejected(String),
    /// The object no longer exists.
    Gone,
}

/// One uploaded version being processed: the object, its metadata, and the upload it names.
struct Arrival<'a> {
    key: &'a str,
    /// The version, by id.
    this: ObjectVersion,
    version: String,
    meta: ObjectMeta,
    id: String,
    generation: String,
    name: String,
    upload_id: String,
    /// When it was written (ms): the event's time, else S3's Last-Modified.
    written_at: i64,
}

/// What the checks of one attempt decided: an outcome already, or the unspent grant to record
/// under.
enum Decision {
    Done(Outcome),
    Record(Grant),
}

impl<S: BucketStore + FileStore + CascadeStore, O: ObjectStore> Services<S, O> {
    /// Records version `version_id` of object `key` (written at `event_time_ms`; both from
    /// the S3 event), or deletes it and keeps why. Without a version id (an unversioned
    /// store) the key's latest version is meant.
    pub async fn process_upload(
        &self,
        key: &str,
        version_id: Option<&str>,
        event_time_ms: Option<i64>,
    ) -> Result<Outcome> {
        let named = ObjectVersion::new(key, version_id.map(str::to_string));
        let Some(meta) = self.objects.head(&named).await? else {
            return Ok(Outcome::Gone);
        };
        // S3 names an unversioned object's version "null".
        let version = meta
            .version_id
            .clone()
            .or(named.version_id)
            .unwrap_or_else(|| "null".into());
        let this = ObjectVersion::new(key, Some(version.clone()));
        let upload_id = meta.upload_id.clone().filter(|u| is_upload_id(u));
        if meta.upload_id.is_none()
            && let Some((id, generation, path)) = split_bucket_path(key)
        {
            // Written without an upload URL: an SFTP user's (`direct_writes`).
            return self
                .adopt_direct_write(id, generation, path, &this, &meta)
                .await;
        }
        let (Some(parts), Some(upload_id)) = (parse_object_key(key), upload_id) else {
            self.objects.delete(&this).await?;
            tracing::warn!(key, version, "deleted an object outside the bucket layout");
            return Ok(Outcome::Rejected(
                "the object does not belong to an upload".into(),
            ));
        };
        let a = Arrival {
            key,
            this,
            version,
            written_at: event_time_ms.unwrap_or(meta.last_modified),
            meta,
            id: parts.bucket_id,
            generation: parts.generation,
            name: parts.name,
            upload_id,
        };
        let busy = format!("{key}: too many concurrent changes; the event will be retried");
        // A lost race (another upload of the name, the counters, the bucket) looks again.
        on_conflict(WRITE_ATTEMPTS, &busy, || self.record_arrival(&a)).await
    }

    /// One attempt at recording `a`: its bucket, the checks, then the recording transaction.
    async fn record_arrival(&self, a: &Arrival<'_>) -> Result<Outcome> {
        let (id, generation, name) = (&a.id, &a.generation, &a.name);
        let Some(bucket) = self.live_bucket(a).await? else {
            // Uploaded after the bucket was deleted (its cascade may be over): no record is
            // kept, since none could be read and it would be left behind.
            self.objects.delete(&a.this).await?;
            tracing::info!(key = a.key, "deleted an object of a deleted bucket");
            return Ok(Outcome::Rejected("the bucket no longer exists".into()));
        };
        // The limits as they are now, read with the bucket (see the module's note).
        let limits = &self.limits_of(&bucket);
        let existing = self.store.get_file(id, generation, name).await?;
        if existing.as_ref().is_some_and(|e| e.version_id == a.version) {
            return Ok(Outcome::Duplicate);
        }
        let grant = match self.grant_decision(a, existing.as_ref()).await? {
            Decision::Done(outcome) => return Ok(outcome),
            Decision::Record(grant) => grant,
        };
        let key_alive = self.grant_key_alive(&grant).await?;
        if let Some(reason) = grant_problem(
            limits,
            &bucket,
            &grant,
            key_alive,
            name,
            &a.meta,
            a.written_at,
        ) {
            return self.reject(a, reason).await;
        }
        if let Some(current) = &existing
            && !self
                .replaces(a.key, &a.version, a.written_at, &a.upload_id, current)
                .await?
        {
            // Its uploader learns why (its grant stays unspent: else it would only ever
            // read `pending`, then `expired`).
            self.keep_reason(
                a,
                "a newer upload of the name was recorded (S3 holds it as the later version)".into(),
            )
            .await?;
            self.objects.delete(&a.this).await?;
            return Ok(Outcome::Superseded);
        }
        if let Some(reason) = room_problem(limits, &bucket, existing.as_ref(), a.meta.size) {
            return self.reject(a, reason).await;
        }
        self.record(a, &bucket, limits, &grant, existing.as_ref())
            .await
    }

    /// The bucket `a` was uploaded into, if that incarnation still exists.
    async fn live_bucket(&self, a: &Arrival<'_>) -> Result<Option<Bucket>> {
        Ok(self
            .store
            .get(&a.id)
            .await?
            .filter(|b| b.generation == a.generation))
    }

    /// The grant `a` names, if it may be recorded under it, or what became of `a` otherwise
    /// (`existing`: the name's record).
    async fn grant_decision(
        &self,
        a: &Arrival<'_>,
        existing: Option<&FileRecord>,
    ) -> Result<Decision> {
        let (id, generation, name) = (&a.id, &a.generation, &a.name);
        let grant = self.store.get_grant(id, generation, &a.upload_id).await?;
        // A version recorded once and replaced since is kept: a late repeat of its event
        // (even once its grant has expired and gone) changes nothing.
        if grant.as_ref().is_none_or(|g| g.recorded)
            && let Some(current) = existing
            && self
                .store
                .get_kept_version(id, generation, current, &a.version)
                .await?
                .is_some()
        {
            return Ok(Decision::Done(Outcome::Duplicate));
        }
        if grant.as_ref().is_some_and(|g| &g.name != name) {
            // A copy of another file's object under this name (S3 copies keep the metadata;
            // SFTP users' session policies refuse copies, but an operator may make one): a
            // write of its own, adopted by the same rules. Boxed: adoption processes its copy
            // through `process_upload`.
            let adopted =
                Box::pin(self.adopt_direct_write(id, generation, name, &a.this, &a.meta)).await?;
            return Ok(Decision::Done(adopted));
        }
        match grant {
            Some(g) if !g.recorded => Ok(Decision::Record(g)),
            None => Ok(Decision::Done(
                self.reject(a, "no upload grant for this object".into())
                    .await?,
            )),
            Some(_) => Ok(Decision::Done(self.spent_grant(a).await?)),
        }
    }

    /// `a` names a grant already spent: by this very version since the record was read
    /// (another delivery of the event, or a restore's own processing, won the race: the record
    /// and the spent grant are one transaction, so the record says so now), a duplicate; else
    /// its URL was used again, and the version is deleted (the record keeps describing its
    /// own version).
    async fn spent_grant(&self, a: &Arrival<'_>) -> Result<Outcome> {
        if self
            .store
            .get_file(&a.id, &a.generation, &a.name)
            .await?
            .is_some_and(|f| f.version_id == a.version)
        {
            return Ok(Outcome::Duplicate);
        }
        self.objects.delete(&a.this).await?;
        Ok(Outcome::Superseded)
    }

    /// Keeps why `a` is refused, for its uploader. The reason is kept before the version goes:
    /// a crash in between is retried and finds the version still there. A lost race means the
    /// incarnation went meanwhile: nobody can ask, and nothing may outlive its cascade.
    async fn keep_reason(&self, a: &Arrival<'_>, reason: String) -> Result<()> {
        let rejection = Rejection {
            upload_id: a.upload_id.clone(),
            name: a.name.clone(),
            reason,
            at: now_ms(),
        };
        match self
            .store
            .put_rejection(&a.id, &a.generation, &rejection)
            .await
        {
            Ok(()) | Err(StoreError::Conflict) => Ok(()),
            Err(e) => Err(Error::from(e)),
        }
    }

    /// Refuses `a`: keeps why, then deletes the version.
    async fn reject(&self, a: &Arrival<'_>, reason: String) -> Result<Outcome> {
        self.keep_reason(a, reason.clone()).await?;
        self.objects.delete(&a.this).await?;
        tracing::info!(key = a.key, version = ?a.this.version_id, reason = %reason, "upload rejected");
        Ok(Outcome::Rejected(reason))
    }

    /// Records `a` under `grant` in one conditional transaction: the record, the replaced
    /// version kept for the retention, the spent grant and the bucket's counters, within
    /// `limits` at the bucket's revision.
    async fn record(
        &self,
        a: &Arrival<'_>,
        bucket: &Bucket,
        limits: &Limits,
        grant: &Grant,
        existing: Option<&FileRecord>,
    ) -> Result<Outcome> {
        let written_at = a.written_at;
        let record = FileRecord {
            name: a.name.clone(),
            size: a.meta.size,
            content_type: a.meta.content_type.clone(),
            etag: a.meta.etag.clone(),
            sha256: a.meta.sha256.clone().or(grant.sha256.clone()),
            // Never before the file it replaces (S3's order decided; clocks may differ).
            modified: existing.map_or(written_at, |e| written_at.max(e.modified)),
            uploaded_by: grant.acting_principal(),
            hash: existing
                .map(|e| e.hash.clone())
                .unwrap_or_else(random_token),
            version_id: a.version.clone(),
            upload_id: a.upload_id.clone(),
        };
        // The replaced version stays in S3 (noncurrent) for the retention; so does its
        // description, to list and restore it.
        let kept = existing.map(|e| KeptVersion {
            record: e.clone(),
            replaced: written_at,
            expires_at: written_at + self.retention_ms(),
        });
        self.store
            .record_upload(
                &a.id,
                &a.generation,
                &record,
                existing,
                kept.as_ref(),
                &Room {
                    max_files: limits.max_files,
                    max_bytes: limits.max_bytes,
                    revision: Some(bucket.revision),
                },
            )
            .await?;
        tracing::info!(
            key = a.key,
            version = a.version,
            size = record.size,
            "file recorded"
        );
        Ok(Outcome::Recorded)
    }

    /// Whether version `version` of `key` (written at `written_at` by upload `upload_id`)
    /// replaces the recorded `current`: whether S3 holds it as the newer of the two, since
    /// S3's order decides which version is the key's latest, and only the latest stays
    /// current (a noncurrent version expires with the retention, so a record must never pin
    /// one that S3 considers older than another it keeps). When S3 no longer lists one of them
    /// (deleted meanwhile) the event times decide, then the upload ids.
    async fn replaces(
        &self,
        key: &str,
        version: &str,
        written_at: i64,
        upload_id: &str,
        current: &FileRecord,
    ) -> Result<bool> {
        let newest = self
            .objects
            .newest_versions(key, NEWEST_VERSIONS_READ)
            .await?;
        let at = |v: &str| newest.iter().position(|n| n == v);
        Ok(match (at(version), at(&current.version_id)) {
            (Some(this), Some(recorded)) => this < recorded,
            _ => (written_at, upload_id) > (current.modified, current.upload_id.as_str()),
        })
    }

    /// How long a replaced version is kept, in ms (the deployment's retention).
    pub(super) fn retention_ms(&self) -> i64 {
        i64::try_from(self.settings.version_retention_days).unwrap_or(3650) * 24 * 3600 * 1000
    }

    /// Whether the API key a grant was asked with (if any) still works, with its whole chain:
    /// a revoked key's grants upload nothing more, nor do those of a key it made.
    async fn grant_key_alive(&self, grant: &Grant) -> Result<bool> {
        match &grant.via_key {
            None => Ok(true),
            Some(id) => self.key_chain_alive(id).await,
        }
    }
}
