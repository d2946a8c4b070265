//! The file a path names (`/v1/buckets/{id}/files/{name}/…`): who asks, which bucket, and the
//! name normalized as on upload. Shared by the file and file-version routes.

use percent_encoding::percent_decode_str;

use crate::domain::access::Identity;
use crate::domain::files::normalize_name;
use crate::domain::ids::BucketRef;
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
