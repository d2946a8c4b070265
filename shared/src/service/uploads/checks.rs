//! The checks of an uploaded version that need no I/O: where its key belongs, whether its
//! grant covers it, whether it fits in its bucket.

use crate::domain::bucket::Bucket;
use crate::domain::files::{FileRecord, Grant};
use crate::domain::limits::Limits;
use crate::domain::uploads::check_file;
use crate::ports::ObjectMeta;

/// Slack on a privileged grant's expiry at event time (S3 enforces the URL's expiry itself;
/// this only absorbs clock differences).
const EXPIRY_SLACK_MS: i64 = 5 * 60 * 1000;

/// `<id>/<generation>/<path>` of a key under a bucket incarnation's prefix (the path may hold
/// `/`: what an SFTP user wrote).
pub(super) fn split_bucket_path(key: &str) -> Option<(&str, &str, &str)> {
    let mut parts = key.splitn(3, '/');
    let (id, generation, path) = (parts.next()?, parts.next()?, parts.next()?);
    (!id.is_empty() && !generation.is_empty() && !path.is_empty()).then_some((id, generation, path))
}

/// Why `meta` (stored under `name` in `bucket`, written at `written_at`) may not be recorded
/// under `grant`, if it may not.
pub(super) fn grant_problem(
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
    let through_acl = bucket.permissions.can_write(&grant.origin().principals());
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

/// Why a version of `size` bytes does not fit in `bucket` under `limits` (`existing`: the
/// record it would replace), if it does not: a new name past the file count, or bytes past
/// the quota (the recording transaction checks both again, atomically).
pub(super) fn room_problem(
    limits: &Limits,
    bucket: &Bucket,
    existing: Option<&FileRecord>,
    size: u64,
) -> Option<String> {
    if existing.is_none() && bucket.file_count.max(0) as u64 >= limits.max_files {
        return Some(format!(
            "the bucket already holds {} files (its limit is {})",
            bucket.file_count, limits.max_files
        ));
    }
    let delta = size as i64 - existing.map_or(0, |e| e.size as i64);
    if !limits.bytes_fit(bucket.total_bytes, delta) {
        return Some(format!(
            "the bucket holds {} bytes and its quota is {}: {delta} more do not fit",
            bucket.total_bytes,
            limits.max_bytes.unwrap_or_default()
        ));
    }
    None
}
