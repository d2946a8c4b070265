//! The Buckets routes: `/v1/buckets` and `/v1/buckets/{id}` (Kinto semantics).

use http::Method;
use serde_json::{Value, json};

use crate::domain::bucket::{Bucket, BucketBody};
use crate::domain::preconditions::{Condition, ReadOutcome};
use crate::ports::BucketStore;

use super::app::{App, InBucket};
use super::error::{ApiError, At, Location};
use super::paging::{next_after, page_request, page_response};
use super::request::Request;
use super::response::Response;

/// `/v1/buckets`.
pub async fn collection<S: BucketStore, O>(
    app: &App<S, O>,
    req: &Request,
) -> Result<Response, ApiError> {
    let identity = app.identify(req).await?;
    let services = &app.services;
    match req.method {
        Method::GET => {
            let page = page_request(req, &app.cursor_keys)?;
            let result = services
                .list_buckets(&identity, page.after.as_deref(), page.limit)
                .await?;
            let host = app.settings().sftp_host.as_deref();
            let data: Vec<Value> = result
                .buckets
                .iter()
                .map(|b| with_host(b.data(), host))
                .collect();
            let next = next_after(result.has_more, result.last_key, page.after);
            Ok(page_response(
                req,
                &app.cursor_keys,
                "/v1/buckets",
                &[],
                data,
                result.has_more,
                next,
                page.limit,
            ))
        }
        Method::POST => {
            if !identity.is_authenticated() {
                return Err(crate::service::error::deny(&identity).into());
            }
            let pre = req.preconditions()?;
            let body = BucketBody::parse(req.json_body()?).at(Location::Body)?;
            let (bucket, created) = services.create_bucket(&identity, &pre, &body).await?;
            Ok(ok(
                if created { 201 } else { 200 },
                &bucket,
                app.settings().sftp_host.as_deref(),
            ))
        }
        // DELETE: the route serves no other method (`routes::Single::Buckets`).
        _ => {
            let page = page_request(req, &app.cursor_keys)?;
            // Kinto clients send one DELETE and read no `Next-Page`: all, unless `_limit`.
            let limit = req.query_param("_limit").map(|_| page.limit);
            let deleted = services
                .delete_all_buckets(&identity, page.after, limit)
                .await?;
            // The list shape of every listing: `{data, has_more, next_uri}` + `Next-Page`.
            Ok(page_response(
                req,
                &app.cursor_keys,
                "/v1/buckets",
                &[],
                deleted.tombstones,
                deleted.has_more,
                deleted.next_after,
                page.limit,
            ))
        }
    }
}

/// `/v1/buckets/{id}` (`default` included).
pub async fn record<S: BucketStore, O>(
    app: &App<S, O>,
    req: &Request,
    segment: &str,
) -> Result<Response, ApiError> {
    let InBucket {
        identity, bucket, ..
    } = app.in_bucket(req, segment).await?;
    let services = &app.services;
    // Resolved first: `default` needs an authenticated caller whatever the method.
    services.resolve(&bucket, &identity)?;
    let pre = req.preconditions()?;
    match req.method {
        Method::GET => {
            let bucket = services.bucket_for(&bucket, &identity).await?;
            let mut pre = pre;
            if let Some(Condition::Version(_)) = pre.if_none_match {
                // The GET validator covers the counters too: only a tag equal to the whole
                // current validator is "not modified" (a bare `"<last_modified>"` never is).
                let unchanged = tag_matches(req.header("if-none-match")?, &validator(&bucket));
                pre.if_none_match = unchanged.then_some(Condition::Version(bucket.last_modified));
            }
            match pre.on_read(bucket.last_modified) {
                ReadOutcome::Proceed => Ok(ok(200, &bucket, app.settings().sftp_host.as_deref())),
                ReadOutcome::NotModified => Ok(with_record_headers(Response::empty(304), &bucket)),
                ReadOutcome::PreconditionFailed => {
                    Err(ApiError::precondition_failed(Some(bucket.envelope())))
                }
            }
        }
        Method::PUT => {
            let body = BucketBody::parse(req.json_body()?).at(Location::Body)?;
            let (bucket, created) = services.put_bucket(&identity, &bucket, &pre, &body).await?;
            Ok(ok(
                if created { 201 } else { 200 },
                &bucket,
                app.settings().sftp_host.as_deref(),
            ))
        }
        Method::PATCH => {
            let kind = req.patch_kind()?;
            let body = req
                .any_json_body()?
                .ok_or_else(|| ApiError::invalid(Location::Body, "body", "is required"))?;
            let bucket = services
                .patch_bucket(&identity, &bucket, &pre, kind, &body)
                .await?;
            Ok(ok(200, &bucket, app.settings().sftp_host.as_deref()))
        }
        // DELETE: the route serves no other method (`routes::Single::Bucket`).
        _ => {
            let tombstone = services.delete_bucket(&identity, &bucket, &pre).await?;
            Ok(Response::json(200, json!({ "data": tombstone })))
        }
    }
}

/// A bucket's validator: `"<last_modified>-<file_count>-<total_bytes>"`. Uploads change the
/// counters (and so the representation) without bumping `last_modified`; a validator that
/// names them never lets a `304` hide them. Preconditions of writes compare only the
/// `last_modified` part (Kinto clients send `"<last_modified>"`, which is accepted too).
pub fn validator(bucket: &Bucket) -> String {
    format!(
        "\"{}-{}-{}\"",
        bucket.last_modified, bucket.file_count, bucket.total_bytes
    )
}

/// Whether an `If-None-Match` list names `current` (weak or strong).
fn tag_matches(header: Option<&str>, current: &str) -> bool {
    header.is_some_and(|h| {
        h.split(',')
            .map(|t| t.trim())
            .any(|t| t.strip_prefix("W/").unwrap_or(t) == current)
    })
}

fn with_record_headers(resp: Response, bucket: &Bucket) -> Response {
    resp.with_header("ETag", validator(bucket))
        .with_header("Last-Modified", bucket.last_modified_http())
}

/// The bucket as one record (with `host`).
fn ok(status: u16, bucket: &Bucket, sftp_host: Option<&str>) -> Response {
    let mut body = bucket.envelope();
    body["data"] = with_host(body["data"].take(), sftp_host);
    with_record_headers(Response::json(status, body), bucket)
}

/// A bucket's `data` with `host`, where its SFTP users connect (when the deployment has an SFTP
/// server).
fn with_host(mut data: Value, sftp_host: Option<&str>) -> Value {
    if let Some(host) = sftp_host {
        data["host"] = Value::String(host.to_string());
    }
    data
}
