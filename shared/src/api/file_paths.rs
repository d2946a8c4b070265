//! The file or upload a path names (`/v1/buckets/{id}/files/{name}/…`,
//! `/v1/buckets/{id}/uploads/{upload_id}/…`): the name normalized as on upload, or the upload
//! id checked. Shared by the file, version and multipart routes (who calls and which bucket is
//! `App::in_bucket`'s).

use percent_encoding::percent_decode_str;

use crate::domain::error::RuleError;
use crate::domain::files::normalize_name;
use crate::domain::uploads::is_upload_id;

use super::error::{ApiError, At, Location};

/// A file name from the path: percent-decoded, then normalized as on upload.
pub fn name_from_path(segment: &str) -> Result<String, ApiError> {
    let decoded = percent_decode_str(segment).decode_utf8_lossy();
    normalize_name(&decoded, "name").at(Location::Path)
}

/// An upload id from the path: it must have an upload id's shape (400 naming `upload_id` in
/// the path otherwise).
pub fn upload_id_from_path(upload_id: &str) -> Result<(), ApiError> {
    if is_upload_id(upload_id) {
        Ok(())
    } else {
        Err(ApiError::rule(
            RuleError::invalid("upload_id", "is not an upload id"),
            Location::Path,
        ))
    }
}
