//! Multipart uploads of a granted file (`POST …/files` and `store` issue the plan, see
//! `files::issue_grants`): part URLs (each signed with its part's SHA-256), the parts S3 has
//! received, complete and abort. Every route takes write permission and an open grant (it
//! exists, is a multipart one, is not recorded and has not expired).
//!
//! Complete never trusts a client's list of parts: the service lists them itself (ListParts,
//! at most 10 pages of 1000), checks them against the plan (every part 1..=N, each of its
//! planned length), computes S3's composite SHA-256 from the part checksums S3 verified on
//! upload, compares the client's composite with it when given, and then calls
//! CompleteMultipartUpload with the parts, the total size (`x-amz-mp-object-size`) and the
//! client's composite (S3 checks both again). The object then goes through the S3
//! ObjectCreated event exactly like a single PUT (`uploads::process_upload`: limits, size,
//! type, replacement, counters); its HEAD checksum is the composite `<base64>-<N>`, which is
//! what the file record keeps as `sha256`.
//!
//! The grant does not store the client's composite: S3 (and the comparison above) refuse a
//! wrong one before any object exists, and the object S3 then creates carries the composite
//! of the parts it verified.

use serde_json::Value;

use super::Services;
use super::error::{Error, Result};
use super::files::{UploadStatus, grant_object_key};
use crate::domain::access::Identity;
use crate::domain::bucket::Bucket;
use crate::domain::error::RuleError;
use crate::domain::files::{Grant, MultipartGrant};
use crate::domain::ids::BucketRef;
use crate::domain::multipart::{self, PartRequest, parse_part_requests};
use crate::domain::privileges;
use crate::domain::time::now_ms;
use crate::ports::{
    BucketStore, CascadeStore, Completion, FileStore, ObjectStore, ObjectVersion, PartInfo,
    PartSpec, Presigned, StoreError,
};

/// Parts read per ListParts call (S3's most).
const LIST_PAGE: usize = 1000;

/// A presigned UploadPart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartUrl {
    pub number: u32,
    pub size: u64,
    pub upload: Presigned,
    pub expires_at: i64,
}

/// An open multipart grant and where its object goes.
struct Open {
    bucket: Bucket,
    grant: Grant,
    mp: MultipartGrant,
    key: String,
}

fn upload_problem(why: impl Into<String>) -> Error {
    RuleError::invalid("upload_id", why).into()
}

impl<S: BucketStore + FileStore + CascadeStore, O: ObjectStore> Services<S, O> {
    /// The open multipart grant `upload_id` of the bucket, for a writer.
    async fn open_multipart(
        &self,
        identity: &Identity,
        bucket: &BucketRef,
        upload_id: &str,
    ) -> Result<Open> {
        let bucket = self.writable(bucket, identity).await?;
        let grant = self
            .store
            .get_grant(&bucket.id, &bucket.generation, upload_id)
            .await?
            .ok_or_else(|| Error::not_found("upload", upload_id))?;
        let Some(mp) = grant.multipart.clone() else {
            return Err(upload_problem(
                "is a single-PUT upload, not a multipart one",
            ));
        };
        if grant.recorded {
            return Err(upload_problem("is complete: its file is recorded"));
        }
        if grant.expires_at < now_ms() {
            return Err(upload_problem("has expired; ask for a new grant"));
        }
        // The upload is its uploader's: another writer who learnt the id could otherwise
        // send a part of his own and complete it in the uploader's name. (Admins may abort.)
        // (An anonymous upload is `system.Everyone`'s, as `record_grants` names it.)
        let uploader = identity
            .user_principal()
            .unwrap_or_else(|| "system.Everyone".into());
        let own = uploader == grant.uploaded_by
            && identity.key.as_ref().map(|k| &k.id) == grant.via_key.as_ref();
        if !own && !identity.has(privileges::ADMIN) {
            return Err(Error::Forbidden(
                "This upload was started by someone else: only its uploader continues it.".into(),
            ));
        }
        if let Some(r) = self
            .store
            .get_rejection(&bucket.id, &bucket.generation, upload_id)
            .await?
        {
            return Err(upload_problem(format!("was refused: {}", r.reason)));
        }
        let key = grant_object_key(&bucket, &grant.name);
        Ok(Open {
            bucket,
            grant,
            mp,
            key,
        })
    }

    /// Presigned UploadPart URLs for the parts in `body` (`{"parts": [{number, sha256}]}`,
    /// at most 100), each bound to its part's length and SHA-256.
    pub async fn presign_parts(
        &self,
        identity: &Identity,
        bucket: &BucketRef,
        upload_id: &str,
        body: Option<&Value>,
    ) -> Result<Vec<PartUrl>> {
        let open = self.open_multipart(identity, bucket, upload_id).await?;
        let plan = open.mp.plan;
        let wanted: Vec<PartRequest> = parse_part_requests(body, &plan)?;
        // Part URLs never outlive their plan: a part sent after it would be wasted.
        let remaining_secs = (open.grant.expires_at - now_ms()).max(1000) / 1000;
        let ttl = self
            .settings
            .upload_url_ttl_secs
            .min(u64::try_from(remaining_secs).unwrap_or(1));
        let expires_at = now_ms() + (ttl as i64) * 1000;
        let mut out = Vec::with_capacity(wanted.len());
        for p in wanted {
            let size = plan.part_len(open.grant.size, p.number);
            let upload = self
                .objects
                .presign_part(&PartSpec {
                    key: &open.key,
                    s3_upload_id: &open.mp.s3_upload_id,
                    number: p.number,
                    size,
                    sha256_base64: &p.sha256,
                    expires_in_secs: ttl,
                })
                .await?;
            out.push(PartUrl {
                number: p.number,
                size,
                upload,
                expires_at,
            });
        }
        Ok(out)
    }

    /// A page of the parts S3 has received, after part `after`; and whether more follow.
    pub async fn received_parts(
        &self,
        identity: &Identity,
        bucket: &BucketRef,
        upload_id: &str,
        after: Option<u32>,
        limit: usize,
    ) -> Result<(Vec<PartInfo>, bool)> {
        let open = self.open_multipart(identity, bucket, upload_id).await?;
        let page = self
            .objects
            .list_parts(&open.key, &open.mp.s3_upload_id, after, limit)
            .await?
            .ok_or_else(|| upload_problem("is no longer open at S3 (completed or aborted)"))?;
        Ok((page.parts, page.next.is_some()))
    }

    /// Completes the upload (see the module's note); then the upload event records the file.
    /// A repeated complete of an upload S3 already completed answers its status.
    pub async fn complete_multipart(
        &self,
        identity: &Identity,
        bucket: &BucketRef,
        upload_id: &str,
        sha256: Option<&str>,
    ) -> Result<UploadStatus> {
        let open = self.open_multipart(identity, bucket, upload_id).await?;
        let plan = open.mp.plan;
        let declared = sha256
            .map(|s| multipart::parse_composite(s, &plan, "sha256"))
            .transpose()?;
        let mut parts: Vec<PartInfo> = Vec::new();
        let mut after = None;
        loop {
            let Some(page) = self
                .objects
                .list_parts(&open.key, &open.mp.s3_upload_id, after, LIST_PAGE)
                .await?
            else {
                return self.completed_already(identity, bucket, &open).await;
            };
            parts.extend(page.parts);
            // A plan has at most 10,000 parts: more pages than that would be S3 misbehaving.
            if page.next.is_none() || parts.len() > multipart::MAX_PARTS as usize {
                break;
            }
            after = page.next;
        }
        let parts_problem = |why: String| -> Error { RuleError::invalid("parts", why).into() };
        for n in 1..=plan.part_count {
            let Some(p) = parts.get(n as usize - 1).filter(|p| p.number == n) else {
                let missing: Vec<String> = (1..=plan.part_count)
                    .filter(|m| !parts.iter().any(|p| p.number == *m))
                    .take(10)
                    .map(|m| m.to_string())
                    .collect();
                return Err(parts_problem(format!(
                    "S3 has {} of the {} parts; missing: {}",
                    parts.len(),
                    plan.part_count,
                    missing.join(", ")
                )));
            };
            let want = plan.part_len(open.grant.size, n);
            if p.size != want {
                return Err(parts_problem(format!(
                    "part {n} has {} bytes; the plan says {want}",
                    p.size
                )));
            }
            if p.sha256.is_none() {
                return Err(parts_problem(format!("part {n} has no SHA-256 checksum")));
            }
        }
        if parts.len() != plan.part_count as usize {
            return Err(parts_problem(format!(
                "S3 has {} parts; the plan has {}",
                parts.len(),
                plan.part_count
            )));
        }
        let computed =
            multipart::composite_sha256(parts.iter().filter_map(|p| p.sha256.as_deref()));
        if let Some(want) = &declared
            && computed.as_ref() != Some(want)
        {
            return Err(RuleError::invalid(
                "sha256",
                "does not match the composite checksum of the parts S3 received",
            )
            .into());
        }
        match self
            .objects
            .complete_multipart(
                &open.key,
                &open.mp.s3_upload_id,
                &parts,
                open.grant.size,
                declared.as_deref(),
            )
            .await?
        {
            Completion::Completed => self.upload_status(identity, bucket, upload_id).await,
            Completion::NoSuchUpload => self.completed_already(identity, bucket, &open).await,
            Completion::Refused(why) if why.starts_with("BadDigest") => Err(RuleError::invalid(
                "sha256",
                format!("S3 refused the composite checksum ({why})"),
            )
            .into()),
            Completion::Refused(why) => {
                Err(parts_problem(format!("S3 refused to complete ({why})")))
            }
        }
    }

    /// S3 knows no such upload: completed already (the key's latest version is this upload's,
    /// or the event already recorded it) → its status; else aborted or cleaned up.
    async fn completed_already(
        &self,
        identity: &Identity,
        bucket: &BucketRef,
        open: &Open,
    ) -> Result<UploadStatus> {
        let latest = self
            .objects
            .head(&ObjectVersion::new(open.key.clone(), None))
            .await?;
        if latest.is_some_and(|m| m.upload_id.as_deref() == Some(open.grant.upload_id.as_str())) {
            return self
                .upload_status(identity, bucket, &open.grant.upload_id)
                .await;
        }
        match self
            .upload_status(identity, bucket, &open.grant.upload_id)
            .await?
        {
            UploadStatus::Pending(_) => Err(upload_problem(
                "is no longer open at S3 (aborted, or cleaned up by the lifecycle rule)",
            )),
            status => Ok(status),
        }
    }

    /// Aborts the upload (S3 deletes its parts) and withdraws the grant: its status is then
    /// `404`. The grant goes first, so an object a racing complete still creates finds no
    /// grant and is rejected by the upload event (deleted, with the reason kept).
    pub async fn abort_multipart(
        &self,
        identity: &Identity,
        bucket: &BucketRef,
        upload_id: &str,
    ) -> Result<()> {
        let open = self.open_multipart(identity, bucket, upload_id).await?;
        // Only while nothing was recorded from it: an upload event that recorded the file
        // meanwhile (a complete that won the race) keeps its grant and its status.
        let withdrawn = self
            .store
            .withdraw_grant(&open.bucket.id, &open.bucket.generation, upload_id)
            .await;
        match withdrawn {
            Ok(()) => {}
            Err(StoreError::Conflict) => {
                return Err(upload_problem(
                    "is recorded already: delete the file instead",
                ));
            }
            Err(e) => return Err(e.into()),
        }
        self.objects
            .abort_multipart(&open.key, &open.mp.s3_upload_id)
            .await?;
        Ok(())
    }
}
