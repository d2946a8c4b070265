//! The file-version routes: `GET /v1/buckets/{id}/files/{name}/versions` (the versions kept of
//! a replaced file, paged) and `POST …/versions/{version_id}/restore` (one made current again).

use percent_encoding::percent_decode_str;
use serde_json::{Value, json};

use crate::domain::error::RuleError;
use crate::ports::{BucketStore, CascadeStore, FileStore, ObjectStore};
use crate::service::Error;

use super::app::{App, InBucket};
use super::error::{ApiError, At, Location};
use super::file_paths::name_from_path;
use super::paging::{page_request, page_response};
use super::render::render_file;
use super::request::Request;
use super::response::Response;

/// Longest version id accepted. S3's are opaque (32 characters in practice, `null` for an
/// unversioned object; the documented bound is 1024 bytes), but a version id ends the sort
/// key of a kept version (`<name>#<hash>#<version id>`), and DynamoDB's sort keys hold at
/// most 1024 bytes: 128 leaves room for the longest name.
const MAX_VERSION_ID_BYTES: usize = 128;

pub(super) async fn list<S: BucketStore + FileStore + CascadeStore, O: ObjectStore>(
    app: &App<S, O>,
    req: &Request,
    at: &InBucket,
    raw_name: &str,
) -> Result<Response, ApiError> {
    let name = name_from_path(raw_name)?;
    let page = page_request(req, &app.cursor_keys)?;
    let (identity, bucket) = (&at.identity, &at.bucket);
    let listing = app
        .services
        .list_versions(identity, bucket, &name, page.after.as_deref(), page.limit)
        .await?;
    let data: Vec<Value> = listing.versions.iter().map(|v| v.to_json()).collect();
    let path = format!("/v1/buckets/{}/files/{raw_name}/versions", at.segment);
    let has_more = listing.last.is_some();
    Ok(page_response(
        req,
        &app.cursor_keys,
        &path,
        &[],
        data,
        has_more,
        listing.last,
        page.limit,
    ))
}

pub(super) async fn restore<S: BucketStore + FileStore + CascadeStore, O: ObjectStore>(
    app: &App<S, O>,
    req: &Request,
    at: &InBucket,
    raw_name: &str,
    raw_version: &str,
) -> Result<Response, ApiError> {
    let name = name_from_path(raw_name)?;
    let (identity, bucket) = (&at.identity, &at.bucket);
    let version = version_from_path(raw_version).at(Location::Path)?;
    // It takes no fields: one it would ignore (a name to restore under, say) is refused.
    req.fields_body(&[])?;
    // A rule the version breaks (its size or type under today's limits) is about the
    // version the path names.
    let record = app
        .services
        .restore_version(identity, bucket, &name, &version)
        .await
        .map_err(|e| match e {
            Error::Rule(rule) => ApiError::rule(rule, Location::Path),
            other => ApiError::from(other),
        })?;
    let id = app.services.resolve(bucket, identity)?;
    Ok(Response::json(
        200,
        json!({ "data": render_file(req, &id, &record) }),
    ))
}

/// A version id from the path: percent-decoded, bounded, printable ASCII.
fn version_from_path(segment: &str) -> Result<String, RuleError> {
    let bad = || RuleError::invalid("version_id", "is not a version id");
    if segment.len() > 3 * MAX_VERSION_ID_BYTES {
        return Err(bad());
    }
    let decoded = percent_decode_str(segment)
        .decode_utf8()
        .map_err(|_| bad())?;
    if decoded.is_empty()
        || decoded.len() > MAX_VERSION_ID_BYTES
        || !decoded.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(bad());
    }
    Ok(decoded.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_ids_from_the_path() {
        assert_eq!(
            version_from_path("3sL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY").unwrap(),
            "3sL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"
        );
        assert_eq!(version_from_path("a%2Bb").unwrap(), "a+b");
        for bad in ["", "a%20b", "%FF", &"v".repeat(129), "a%0Ab"] {
            let err = version_from_path(bad).unwrap_err();
            assert_eq!(err.field, "version_id", "{bad}");
        }
    }
}
