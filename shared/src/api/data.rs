//! The data document routes: `GET/PUT/PATCH /v1/buckets/{id}/data` (own ETag = revision,
//! `?revision=N` for kept revisions).

use http::Method;
use serde_json::{Value, json};

use crate::domain::data::DataDoc;
use crate::domain::error::RuleError;
use crate::domain::fields::only_known;
use crate::domain::preconditions::ReadOutcome;
use crate::ports::{BucketStore, DataStore};
use crate::service::data::DataChange;

use super::app::{App, InBucket};
use super::error::{ApiError, At, Location};
use super::request::Request;
use super::response::Response;
use super::route::{Area, serve};
use super::routes::{Data, Under};

/// Answers any request that reaches the data function.
pub async fn handle<S: BucketStore + DataStore, O>(app: &App<S, O>, req: &Request) -> Response {
    serve(&DataFunction(app), req).await
}

struct DataFunction<'a, S, O>(&'a App<S, O>);

impl<S: BucketStore + DataStore, O> Area for DataFunction<'_, S, O> {
    type Route = Under<Data>;

    async fn answer(&self, route: Under<Data>, req: &Request) -> Result<Response, ApiError> {
        let at = self.0.in_bucket(req, &route.bucket).await?;
        match req.method {
            Method::GET => get(self.0, req, &at).await,
            _ => write(self.0, req, &at).await,
        }
    }
}

fn answer(doc: &DataDoc) -> Response {
    Response::json(200, json!({"data": doc.doc})).with_header("ETag", doc.etag())
}

async fn get<S: BucketStore + DataStore, O>(
    app: &App<S, O>,
    req: &Request,
    at: &InBucket,
) -> Result<Response, ApiError> {
    let InBucket {
        identity, bucket, ..
    } = at;
    let pre = req.preconditions()?;
    if let Some(raw) = req.query_param("revision") {
        let revision = raw.parse::<i64>().ok().filter(|r| *r >= 1).ok_or_else(|| {
            ApiError::invalid(
                Location::Querystring,
                "revision",
                "must be a revision number (1 or more)",
            )
        })?;
        let doc = app
            .services
            .get_data_revision(identity, bucket, revision)
            .await?;
        return Ok(answer(&doc));
    }
    let doc = app.services.get_data(identity, bucket).await?;
    match pre.on_read(doc.revision) {
        ReadOutcome::Proceed => Ok(answer(&doc)),
        ReadOutcome::NotModified => Ok(Response::empty(304).with_header("ETag", doc.etag())),
        ReadOutcome::PreconditionFailed => Err(ApiError::precondition_failed(Some(
            json!({"data": doc.doc}),
        ))),
    }
}

/// PUT (replace: `{"data": {...}}`) or PATCH (the three kinds), conditional on the revision
/// read.
async fn write<S: BucketStore + DataStore, O>(
    app: &App<S, O>,
    req: &Request,
    at: &InBucket,
) -> Result<Response, ApiError> {
    let pre = req.preconditions()?;
    let is_patch = req.method == Method::PATCH;
    let kind = if is_patch {
        Some(req.patch_kind()?)
    } else {
        None
    };
    let body = if is_patch {
        req.any_json_body()?
    } else {
        req.json_body()?
    };
    let required = || ApiError::invalid(Location::Body, "data", "is required");
    let body = body.ok_or_else(required)?;
    if body.get("permissions").is_some() {
        return Err(ApiError::invalid(
            Location::Body,
            "permissions",
            "a data document has no permissions; set them on the bucket",
        ));
    }
    let change = match kind {
        Some(kind) => DataChange::Patch(kind, body),
        None => {
            let Value::Object(envelope) = &body else {
                return Err(ApiError::invalid(
                    Location::Body,
                    "body",
                    "must be an object: {\"data\": {...}}",
                ));
            };
            let Some(doc) = envelope.get("data") else {
                return Err(match envelope.keys().next() {
                    Some(unknown) => ApiError::invalid(
                        Location::Body,
                        "data",
                        format!(
                            "is required: the document goes under 'data' ({unknown:?} is not a member of the body)"
                        ),
                    ),
                    None => required(),
                });
            };
            // The document goes under `data`: anything else at the top level would be lost.
            only_known(envelope, "", &["data"])
                .map_err(|e| RuleError {
                    reason: format!("{}; the document goes under 'data'", e.reason),
                    ..e
                })
                .at(Location::Body)?;
            DataChange::Replace(doc.clone())
        }
    };
    let doc = app
        .services
        .write_data(&at.identity, &at.bucket, &pre, &change)
        .await?;
    Ok(answer(&doc))
}
