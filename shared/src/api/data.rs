//! The data document routes: `GET/PUT/PATCH /v1/buckets/{id}/data` (own ETag = revision,
//! `?revision=N` for kept revisions). Concurrent writers never lose an update: every write is
//! conditional on the revision it read, and retried on a lost race.

use http::Method;
use serde_json::{Value, json};

use crate::api::error::{ApiError, Location};
use crate::domain::data::{DataDoc, check_document};
use crate::domain::patch::{self, PatchKind};
use crate::domain::permissions::Permissions;
use crate::domain::preconditions::{Preconditions, ReadOutcome};
use crate::domain::time::{next_timestamp, now_ms};
use crate::ports::{BucketStore, DataStore, StoreError};

use super::app::{App, deny};
use super::request::Request;
use super::response::Response;

/// Lost races a write retries before answering 409: many jobs may merge into one document at
/// once, and each round one of them wins.
const DATA_WRITE_ATTEMPTS: usize = 50;

pub async fn handle<S: BucketStore + DataStore>(app: &App<S>, req: &Request) -> Response {
    match route(app, req).await {
        Ok(resp) => resp,
        Err(err) => err.into(),
    }
}

async fn route<S: BucketStore + DataStore>(
    app: &App<S>,
    req: &Request,
) -> Result<Response, ApiError> {
    match (req.segments().as_slice(), &req.method) {
        (["v1", "buckets", segment, "data"], &Method::GET) => get(app, req, segment).await,
        (["v1", "buckets", segment, "data"], m @ (&Method::PUT | &Method::PATCH)) => {
            let m = m.clone();
            write(app, req, segment, m == Method::PATCH).await
        }
        (["v1", "buckets", _, "data"], m) => Err(ApiError::method_not_allowed(m.as_str())),
        _ => Err(ApiError::no_route()),
    }
}

fn answer(doc: &DataDoc) -> Response {
    Response::json(200, json!({"data": doc.doc})).with_header("ETag", doc.etag())
}

async fn get<S: BucketStore + DataStore>(
    app: &App<S>,
    req: &Request,
    segment: &str,
) -> Result<Response, ApiError> {
    let identity = app.identify(req)?;
    let pre = Preconditions::parse(req.header("if-match")?, req.header("if-none-match")?)?;
    let bucket = app.route_bucket(segment, &identity).await?;
    if let Some(raw) = req.query_param("revision") {
        let revision = raw.parse::<i64>().ok().filter(|r| *r >= 1).ok_or_else(|| {
            ApiError::invalid(
                Location::Querystring,
                "revision",
                "must be a revision number (1 or more)",
            )
        })?;
        let doc = app
            .store
            .get_data_revision(&bucket.id, &bucket.generation, revision)
            .await?
            .ok_or_else(|| ApiError::not_found("revision", &raw))?;
        return Ok(answer(&doc));
    }
    let doc = app
        .store
        .get_data(&bucket.id, &bucket.generation)
        .await?
        .unwrap_or_else(DataDoc::empty);
    match pre.on_read(doc.revision) {
        ReadOutcome::Proceed => Ok(answer(&doc)),
        ReadOutcome::NotModified => Ok(Response::empty(304).with_header("ETag", doc.etag())),
        ReadOutcome::PreconditionFailed => Err(ApiError::precondition_failed(Some(
            json!({"data": doc.doc}),
        ))),
    }
}

/// PUT (replace) or PATCH (the three kinds), conditional on the revision read.
async fn write<S: BucketStore + DataStore>(
    app: &App<S>,
    req: &Request,
    segment: &str,
    is_patch: bool,
) -> Result<Response, ApiError> {
    let identity = app.identify(req)?;
    let pre = Preconditions::parse(req.header("if-match")?, req.header("if-none-match")?)?;
    let kind = if is_patch {
        Some(PatchKind::from_content_type(req.header("content-type")?)?)
    } else {
        None
    };
    let body = if is_patch {
        req.any_json_body()?
    } else {
        req.json_body()?
    };
    let body = body.ok_or_else(|| ApiError::invalid(Location::Body, "data", "is required"))?;
    if body.get("permissions").is_some() {
        return Err(ApiError::invalid(
            Location::Body,
            "permissions",
            "a data document has no permissions; set them on the bucket",
        ));
    }
    let bucket = app.route_bucket(segment, &identity).await?;
    if !identity.may_write(&bucket.permissions) {
        return Err(deny(&identity));
    }
    let doc = write_doc(app, &bucket, &pre, is_patch, |current| match kind {
        None => body
            .get("data")
            .cloned()
            .ok_or_else(|| ApiError::invalid(Location::Body, "data", "is required")),
        Some(kind) => Ok(patch::apply(
            kind,
            &Value::Object(current.doc.clone()),
            &Permissions::default(),
            &body,
        )?
        .data),
    })
    .await?;
    Ok(answer(&doc))
}

/// Writes the document `change` computes from the current one, conditional on the revision
/// read, retrying lost races (412 instead when the client sent a precondition). With
/// `skip_unchanged`, a change that changes nothing writes nothing. Shared by the data routes
/// and the job store.
pub async fn write_doc<S: BucketStore + DataStore>(
    app: &App<S>,
    bucket: &crate::domain::bucket::Bucket,
    pre: &Preconditions,
    skip_unchanged: bool,
    change: impl Fn(&DataDoc) -> Result<Value, ApiError>,
) -> Result<DataDoc, ApiError> {
    let settings = &app.settings;
    for _ in 0..DATA_WRITE_ATTEMPTS {
        let current = app
            .store
            .get_data(&bucket.id, &bucket.generation)
            .await?
            .unwrap_or_else(DataDoc::empty);
        if !pre.allows_write(Some(current.revision)) {
            return Err(ApiError::precondition_failed(Some(
                json!({"data": current.doc}),
            )));
        }
        let doc = check_document(&change(&current)?, settings.data_max_bytes)?;
        if skip_unchanged && doc == current.doc {
            return Ok(current);
        }
        let new = DataDoc {
            doc,
            revision: current.revision + 1,
            modified: next_timestamp(Some(current.modified), now_ms()),
        };
        match app
            .store
            .put_data(
                &bucket.id,
                &bucket.generation,
                &new,
                current.revision,
                settings.data_revisions_kept,
            )
            .await
        {
            Ok(()) => return Ok(new),
            Err(StoreError::Conflict) if !pre.is_empty() => {
                let now = app
                    .store
                    .get_data(&bucket.id, &bucket.generation)
                    .await?
                    .unwrap_or_else(DataDoc::empty);
                return Err(ApiError::precondition_failed(Some(
                    json!({"data": now.doc}),
                )));
            }
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::conflict(
        "The data document is being written by many writers at once; retry",
    ))
}
