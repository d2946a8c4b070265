//! The file or upload a path names (`/v1/buckets/{id}/files/{name}/…`,
//! `/v1/buckets/{id}/uploads/{upload_id}/…`): who asks, which bucket, and the name normalized
//! as on upload or the upload id checked. Shared by the file, version and multipart routes.

use percent_encoding::percent_decode_str;

use crate::domain::access::Identity;
use crate::domain::error::RuleError;
use crate::domain::files::normalize_name;
use crate::domain::ids::BucketRef;
use crate::domain::uploads::is_upload_id;
use crate::ports::KeyStore;

use super::app::{App, bucket_ref};
use super::error::{ApiError, At, Location};
use super::request::Request;

/// Who asks, and for which file (`/v1/buckets/{segment}/files/{raw_name}`).
pub async fn file_target<S: KeyStore, O>(
    app: &App<S, O>,
    req: &Request,
    segment: &str,
    raw_name: &str,
) -> Result<(Identity, BucketRef, String), ApiError> {
    Ok((
        app.identify(req).await?,
        bucket_ref(segment)?,
        name_from_path(raw_name)?,
    ))
}

/// A file name from the path: percent-decoded, then normalized as on upload.
pub fn name_from_path(segment: &str) -> Result<String, ApiError> {
    let decoded = percent_decode_str(segment).decode_utf8_lossy();
    normalize_name(&decoded, "name").at(Location::Path)
}

/// Who asks, and for which upload (`/v1/buckets/{segment}/uploads/{upload_id}`): the id must
/// have an upload id's shape (400 naming `upload_id` in the path otherwise).
pub async fn upload_target<S: KeyStore, O>(
    app: &App<S, O>,
    req: &Request,
    segment: &str,
    upload_id: &str,
) -> Result<(Identity, BucketRef), ApiError> {
    let identity = app.identify(req).await?;
    let bucket = bucket_ref(segment)?;
    if !is_upload_id(upload_id) {
        return Err(ApiError::rule(
            RuleError::invalid("upload_id", "is not an upload id"),
            Location::Path,
        ));
    }
    Ok((identity, bucket))
}
