//! Upload grants: the checks (limits, room), one grant per file (a single PUT's, or a multipart
//! plan's with its S3 upload begun), each presigned; grants never handed out are taken back.

use super::{IssuedGrant, check_upload, grant_object_key};
use crate::domain::access::Identity;
use crate::domain::bucket::Bucket;
use crate::domain::error::RuleError;
use crate::domain::files::{Grant, MultipartGrant, random_token};
use crate::domain::ids::BucketRef;
use crate::domain::limits::Limits;
use crate::domain::multipart;
use crate::domain::origin::Origin;
use crate::domain::time::now_ms;
use crate::domain::uploads::WantedFile;
use crate::ports::{BucketStore, CascadeStore, FileStore, MultipartSpec, ObjectStore, PutSpec};
use crate::service::Services;
use crate::service::error::{Error, Result};

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

    /// Whether `bucket` may take `wanted` now: active, room for the names it does not hold yet
    /// under the file count limit, and for their bytes under the byte quota, a replaced file's
    /// bytes freed (the upload event enforces both again, atomically: other grants may be
    /// outstanding, and a grant is not a reservation).
    pub(in crate::service) async fn check_room(
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
    pub(in crate::service) async fn issue_grants(
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
    pub(in crate::service) async fn record_grants(
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
    pub(in crate::service) async fn abort_plans(&self, bucket: &Bucket, grants: &[Grant]) {
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
    pub(in crate::service) async fn revoke_grants(&self, bucket: &Bucket, upload_ids: &[String]) {
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
}
