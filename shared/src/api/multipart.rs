//! The multipart routes of an upload (dispatched from `files`' `FilesFunction`):
//! `POST …/uploads/{upload_id}/parts` (part URLs), `GET …/uploads/{upload_id}/parts` (parts S3
//! has received, paged), `POST …/uploads/{upload_id}/complete`, `DELETE …/uploads/{upload_id}`
//! (abort). Write permission; the rules are `service::multipart`'s.

use serde_json::{Value, json};

use crate::domain::error::RuleError;
use crate::ports::{BucketStore, CascadeStore, FileStore, ObjectStore};

use super::app::{App, InBucket};
use super::error::{ApiError, At, Location};
use super::file_paths::upload_id_from_path;
use super::paging::{page_request, page_response};
use super::render::{headers_json, render_status};
use super::request::Request;
use super::response::Response;

pub(super) async fn presign_parts<S: BucketStore + FileStore + CascadeStore, O: ObjectStore>(
    app: &App<S, O>,
    req: &Request,
    at: &InBucket,
    upload_id: &str,
) -> Result<Response, ApiError> {
    upload_id_from_path(upload_id)?;
    let (identity, bucket) = (&at.identity, &at.bucket);
    let body = req.fields_body(&["parts"])?.map(Value::Object);
    let urls = app
        .services
        .presign_parts(identity, bucket, upload_id, body.as_ref())
        .await?;
    let parts: Vec<Value> = urls
        .iter()
        .map(|p| {
            json!({
                "number": p.number,
                "size": p.size,
                "method": p.upload.method,
                "url": p.upload.url,
                "headers": headers_json(&p.upload.headers),
                "expires_at": p.expires_at,
            })
        })
        .collect();
    Ok(Response::json(200, json!({ "parts": parts })))
}

pub(super) async fn list_parts<S: BucketStore + FileStore + CascadeStore, O: ObjectStore>(
    app: &App<S, O>,
    req: &Request,
    at: &InBucket,
    upload_id: &str,
) -> Result<Response, ApiError> {
    upload_id_from_path(upload_id)?;
    let (identity, bucket) = (&at.identity, &at.bucket);
    let page = page_request(req, &app.cursor_keys)?;
    let after = page
        .after
        .as_deref()
        .map(|a| {
            // A part number (1 to 10,000): S3 refuses larger markers.
            a.parse::<u32>()
                .ok()
                .filter(|n| *n <= crate::domain::multipart::MAX_PARTS)
                .ok_or_else(|| RuleError::invalid("after", "must be a part number (0 to 10000)"))
        })
        .transpose()
        .at(Location::Querystring)?;
    let (parts, has_more) = app
        .services
        .received_parts(identity, bucket, upload_id, after, page.limit)
        .await?;
    let last = parts.last().map(|p| p.number.to_string());
    let data: Vec<Value> = parts
        .iter()
        .map(|p| json!({"number": p.number, "size": p.size, "etag": p.etag, "sha256": p.sha256}))
        .collect();
    let path = format!("/v1/buckets/{}/uploads/{upload_id}/parts", at.segment);
    Ok(page_response(
        req,
        &app.cursor_keys,
        &path,
        &[],
        data,
        has_more,
        last,
        page.limit,
    ))
}

pub(super) async fn complete<S: BucketStore + FileStore + CascadeStore, O: ObjectStore>(
    app: &App<S, O>,
    req: &Request,
    at: &InBucket,
    upload_id: &str,
) -> Result<Response, ApiError> {
    upload_id_from_path(upload_id)?;
    let (identity, bucket) = (&at.identity, &at.bucket);
    let sha256 = match req.fields_body(&["sha256"])? {
        None => None,
        Some(body) => match body.get("sha256") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                return Err(ApiError::invalid(
                    Location::Body,
                    "sha256",
                    "must be a string",
                ));
            }
        },
    };
    let status = app
        .services
        .complete_multipart(identity, bucket, upload_id, sha256.as_deref())
        .await?;
    let id = app.services.resolve(bucket, identity)?;
    Ok(Response::json(
        202,
        json!({ "data": render_status(req, &id, upload_id, status) }),
    ))
}

pub(super) async fn abort<S: BucketStore + FileStore + CascadeStore, O: ObjectStore>(
    app: &App<S, O>,
    at: &InBucket,
    upload_id: &str,
) -> Result<Response, ApiError> {
    upload_id_from_path(upload_id)?;
    let (identity, bucket) = (&at.identity, &at.bucket);
    app.services
        .abort_multipart(identity, bucket, upload_id)
        .await?;
    Ok(Response::json(
        200,
        json!({"data": {"upload_id": upload_id, "aborted": true}}),
    ))
}
