//! The file use cases: upload grants (presigned PUTs), listings, downloads (presigned GETs),
//! deletion, upload status and xyOps permalinks. Bytes never pass through a function.

use std::time::{Duration, Instant};

use globset::GlobMatcher;

use super::Services;
use super::cascade::{self, Budget};
use super::error::{Error, Result};
use super::retry::{WRITE_ATTEMPTS, on_conflict};
use crate::domain::access::Identity;
use crate::domain::bounds::json_size_within;
use crate::domain::bucket::Bucket;
use crate::domain::cascade::{Job, Tally, file_marker_key};
use crate::domain::error::RuleError;
use crate::domain::files::{
    FileRecord, Grant, MultipartGrant, ObjectVersion, object_key, random_token,
};
use crate::domain::ids::{self, BucketRef};
use crate::domain::limits::Limits;
use crate::domain::multipart;
use crate::domain::origin::Origin;
use crate::domain::pagination;
use crate::domain::time::now_ms;
use crate::domain::uploads::{WantedFile, check_file};
use crate::ports::{
    BucketStore, CascadeStore, FileStore, MultipartSpec, ObjectStore, Presigned, PutSpec,
    Rejection, StoreError,
};

/// How long a file deletion works on its objects before leaving them to the cascade.
const INLINE_PURGE_BUDGET: Duration = Duration::from_secs(5);

/// Records read per page when a use case needs every file of a bucket.
const ALL_FILES_PAGE: usize = 1000;

/// Most versions a file deletion's marker names: its own and its kept ones (the rest are
/// deleted before it). A DynamoDB item holds at most 400 KB: 500 versions of a key of up to
/// ~330 bytes stay under half of that.
const MAX_VERSIONS_DELETED_WITH_FILE: usize = 500;

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
    /// Grants uploads of `wanted` into the bucket: every file within the limits, room for the
    /// new names; then one grant and one presigned PUT each.
    pub async fn grant_uploads(
        &self,
        identity: &Identity,
        bucket: &BucketRef,
        wanted: &[WantedFile],
    ) -> Result<(Bucket, Vec<IssuedGrant>)> {
        let bucket = self.writable(bucket, identity).await?;
        let limits = self.limits_of(&bucket);
        for (i, w) in wanted.iter().enumerate() {
            check_upload(&limits, w, i, self.settings.multipart.threshold)?;
        }
        self.check_room(&bucket, &limits, wanted).await?;
        let grants = self.issue_grants(identity, &bucket, wanted).await?;
        Ok((bucket, grants))
    }

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

    /// Deletes the file `name`; write permission.
    pub async fn delete_file(
        &self,
        identity: &Identity,
        bucket: &BucketRef,
        name: &str,
    ) -> Result<()> {
        let bucket = self.writable(bucket, identity).await?;
        on_conflict(
            WRITE_ATTEMPTS,
            "The file is being written concurrently; retry",
            || async {
                let record = self
                    .store
                    .get_file(&bucket.id, &bucket.generation, name)
                    .await?
                    .ok_or_else(|| Error::not_found("file", name))?;
                // A lost race (replaced meanwhile) reads again and deletes what is there now.
                let by = identity.acting_principal();
                self.remove_file(&bucket, &record, &by).await
            },
        )
        .await
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

    /// Whether `bucket` may take `wanted` now: active, room for the names it does not hold yet
    /// under the file count limit, and for their bytes under the byte quota, a replaced file's
    /// bytes freed (the upload event enforces both again, atomically: other grants may be
    /// outstanding, and a grant is not a reservation).
    pub(super) async fn check_room(
        &self,
        bucket: &Bucket,
        limits: &Limits,
        wanted: &[WantedFile],
    ) -> Result<()> {
        if !bucket.is_active() {
            return Err(Error::Forbidden(
                "This bucket is inactive (active: false): it accepts no uploads.".into(),
            ));
        }
        let limit = limits.max_files;
        let held = bucket.file_count.max(0) as u64;
        let wanted_bytes = wanted.iter().fold(0i64, |sum, w| {
            sum.saturating_add(i64::try_from(w.size).unwrap_or(i64::MAX))
        });
        // Room even if every name were new: no need to read which ones replace a file.
        if held + wanted.len() as u64 <= limit && limits.bytes_fit(bucket.total_bytes, wanted_bytes)
        {
            return Ok(());
        }
        let names: Vec<String> = wanted.iter().map(|w| w.name.clone()).collect();
        let existing = self
            .store
            .existing_sizes(&bucket.id, &bucket.generation, &names)
            .await?;
        let new_count = names
            .iter()
            .filter(|n| !existing.iter().any(|(e, _)| e == *n))
            .count() as u64;
        if held + new_count > limit {
            return Err(RuleError::invalid(
                "files",
                format!(
                    "the bucket holds {} files and the limit is {limit}; {new_count} new files do not fit",
                    bucket.file_count
                ),
            )
            .into());
        }
        let freed = existing.iter().map(|(_, size)| *size as i64).sum::<i64>();
        let delta = wanted_bytes.saturating_sub(freed);
        if !limits.bytes_fit(bucket.total_bytes, delta) {
            let max = limits.max_bytes.unwrap_or_default();
            return Err(RuleError::invalid(
                "files",
                format!(
                    "the bucket holds {} bytes and its quota is {max}; these files would add {delta}",
                    bucket.total_bytes
                ),
            )
            .into());
        }
        Ok(())
    }

    /// Records one grant per file and presigns its upload (the checks passed).
    pub(super) async fn issue_grants(
        &self,
        identity: &Identity,
        bucket: &Bucket,
        wanted: &[WantedFile],
    ) -> Result<Vec<IssuedGrant>> {
        let ttl = self.settings.upload_url_ttl_secs;
        let grants = self.record_grants(identity, bucket, wanted, true).await?;
        let ids: Vec<String> = grants.iter().map(|g| g.upload_id.clone()).collect();
        let plans: Vec<Grant> = grants
            .iter()
            .filter(|g| g.multipart.is_some())
            .cloned()
            .collect();
        match self.presign_grants(bucket, grants, wanted, ttl).await {
            Ok(out) => Ok(out),
            Err(e) => {
                // No URL was handed out: the grants are taken back (and would be inert).
                self.revoke_grants(bucket, &ids).await;
                self.abort_plans(bucket, &plans).await;
                Err(e)
            }
        }
    }

    /// Records one grant per file for `identity`: a single PUT's, or (`plans`, and the file
    /// at least the multipart threshold) a multipart plan's, its S3 upload begun.
    pub(super) async fn record_grants(
        &self,
        identity: &Identity,
        bucket: &Bucket,
        wanted: &[WantedFile],
        plans: bool,
    ) -> Result<Vec<Grant>> {
        let ttl = self.settings.upload_url_ttl_secs;
        let expires_at = now_ms() + (ttl as i64) * 1000;
        // Write held through a privilege, not the ACL: the upload event cannot re-check it.
        let origin = Origin::of(identity, bucket);
        let mut grants: Vec<Grant> = Vec::with_capacity(wanted.len());
        for w in wanted {
            let upload_id = random_token();
            let multipart = match self.begin_multipart(bucket, &upload_id, w, plans).await {
                Ok(m) => m,
                Err(e) => {
                    self.abort_plans(bucket, &grants).await;
                    return Err(e);
                }
            };
            // A multipart plan lives longer than a single PUT's URL (a large file takes
            // hours); its part URLs are short-lived and asked for as the upload goes.
            let expires_at = if multipart.is_some() {
                now_ms() + (self.settings.multipart.plan_ttl_secs as i64) * 1000
            } else {
                expires_at
            };
            grants.push(Grant {
                upload_id,
                name: w.name.clone(),
                size: w.size,
                content_type: w.content_type.clone(),
                sha256: w.sha256.clone(),
                uploaded_by: origin.principal.clone(),
                expires_at,
                recorded: false,
                by_privilege: origin.by_privilege,
                via_key: origin.via_key.clone(),
                multipart,
            });
        }
        if let Err(e) = self
            .store
            .put_grants(&bucket.id, &bucket.generation, &grants)
            .await
        {
            self.abort_plans(bucket, &grants).await;
            return Err(e.into());
        }
        Ok(grants)
    }

    /// A multipart upload for `w` when it is large enough (CreateMultipartUpload on its key,
    /// SHA-256 checksums, our upload id as the object's `upload-id` metadata).
    async fn begin_multipart(
        &self,
        bucket: &Bucket,
        upload_id: &str,
        w: &WantedFile,
        plans: bool,
    ) -> Result<Option<MultipartGrant>> {
        let settings = &self.settings.multipart;
        if !plans || w.size < settings.threshold {
            return Ok(None);
        }
        let key = grant_object_key(bucket, &w.name);
        let s3_upload_id = self
            .objects
            .create_multipart(&MultipartSpec {
                key: &key,
                content_type: &w.content_type,
                upload_id,
            })
            .await?;
        Ok(Some(MultipartGrant {
            s3_upload_id,
            plan: multipart::plan(w.size, settings.part_size),
        }))
    }

    /// Aborts the multipart uploads of grants never handed out. Best effort: the bucket's
    /// lifecycle rule aborts what is left after a day, and without a grant no part of it can
    /// become a file.
    pub(super) async fn abort_plans(&self, bucket: &Bucket, grants: &[Grant]) {
        for g in grants {
            if let Some(mp) = &g.multipart {
                let key = grant_object_key(bucket, &g.name);
                if let Err(e) = self.objects.abort_multipart(&key, &mp.s3_upload_id).await {
                    tracing::warn!(key, error = ?e, "unissued multipart upload left to the lifecycle rule");
                }
            }
        }
    }

    /// Takes back grants whose URLs were never handed out. Best effort: if this fails too the
    /// grants stay inert (nobody holds a URL for them; an upload needs the signed URL) and
    /// expire with `UPLOAD_URL_TTL`.
    pub(super) async fn revoke_grants(&self, bucket: &Bucket, upload_ids: &[String]) {
        if upload_ids.is_empty() {
            return;
        }
        let revoked = self
            .store
            .delete_grants(&bucket.id, &bucket.generation, upload_ids)
            .await;
        if let Err(e) = revoked {
            tracing::warn!(bucket = %bucket.id, error = ?e, "unissued upload grants left to expire");
        }
    }

    async fn presign_grants(
        &self,
        bucket: &Bucket,
        grants: Vec<Grant>,
        wanted: &[WantedFile],
        ttl: u64,
    ) -> Result<Vec<IssuedGrant>> {
        let mut out = Vec::with_capacity(grants.len());
        for (grant, w) in grants.into_iter().zip(wanted) {
            if grant.multipart.is_some() {
                out.push(IssuedGrant {
                    grant,
                    original_name: w.original.clone(),
                    upload: None,
                });
                continue;
            }
            let key = grant_object_key(bucket, &grant.name);
            let upload = Some(
                self.objects
                    .presign_put(&PutSpec {
                        key: &key,
                        upload_id: &grant.upload_id,
                        size: grant.size,
                        content_type: &grant.content_type,
                        sha256_base64: grant.sha256.as_deref(),
                        expires_in_secs: ttl,
                    })
                    .await?,
            );
            out.push(IssuedGrant {
                grant,
                original_name: w.original.clone(),
                upload,
            });
        }
        Ok(out)
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

    /// Deletes `record` if it is still the stored one (a lost race else), then its object
    /// versions: its own and those kept of it (a deleted file has no history). The record
    /// goes in one transaction with a cascade marker naming those versions, so a crash or an
    /// S3 failure after it leaves work for the cascade function, never an orphan. The marker
    /// names versions, never the key: a file uploaded again under the name meanwhile keeps
    /// its bytes.
    /// `by`: who deletes it (its marker records it for the bucket's history).
    pub(super) async fn remove_file(
        &self,
        bucket: &Bucket,
        record: &FileRecord,
        by: &str,
    ) -> Result<()> {
        let (id, generation) = (&bucket.id, &bucket.generation);
        let mut versions = vec![record.object(id, generation)];
        let mut after: Option<String> = None;
        // Kept versions are few (one per replacement within the retention). Those past what
        // one marker item names are deleted now, before the record: a crash in between
        // leaves the file with fewer kept versions (a restore of one is a 404), never a
        // version without its file. Every deletion names a version, never the key: a key-level
        // delete (a delete marker) would hide whatever upload of the name is latest by then.
        loop {
            let page = self
                .store
                .list_kept_versions(id, generation, record, after.as_deref(), ALL_FILES_PAGE)
                .await?;
            let mut kept: Vec<ObjectVersion> = page
                .versions
                .iter()
                .map(|k| k.record.object(id, generation))
                .collect();
            let room = MAX_VERSIONS_DELETED_WITH_FILE.saturating_sub(versions.len());
            let beyond = kept.split_off(room.min(kept.len()));
            versions.extend(kept);
            if !beyond.is_empty() {
                let failed = self.objects.delete_versions(&beyond).await?;
                if let Some(first) = failed.first() {
                    return Err(Error::Store(StoreError::Unavailable(format!(
                        "{} versions of {} could not be deleted ({}); retry",
                        failed.len(),
                        record.name,
                        first.code
                    ))));
                }
            }
            match page.last {
                Some(last) => after = Some(last),
                None => break,
            }
        }
        self.store
            .delete_file(id, generation, record, versions.clone(), by)
            .await?;
        let job = Job::Objects { objects: versions };
        let budget = Budget {
            until: Instant::now() + INLINE_PURGE_BUDGET,
            after_delete_call: &|| {},
        };
        let marker = file_marker_key(&bucket.id, &bucket.generation, &record.upload_id);
        let mut tally = Tally::default();
        // The same pass the cascade function would run; if it fails, the function does.
        let purged =
            match cascade::run_pass(&self.store, &self.objects, &job, &budget, &mut tally).await {
                Ok(_) => self.store.delete_marker(&marker).await,
                Err(e) => Err(e),
            };
        if let Err(e) = purged {
            tracing::warn!(marker, error = ?e, "file objects left to the cascade");
        }
        Ok(())
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
