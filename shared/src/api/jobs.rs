//! The job routes: `POST /v1/buckets/{id}/fetch`, `…/store` and `…/empty` (xyOps Fetch and
//! Store actions, empty bucket). Parsing and rendering; the use cases are `service::jobs`.

use serde_json::{Map, Value, json};

use crate::domain::error::RuleError;
use crate::domain::files;
use crate::domain::uploads::parse_wanted_files;
use crate::ports::{BucketStore, CascadeStore, DataStore, FileStore, ObjectStore};
use crate::service::jobs::{StoreRequest, Sync};

use super::app::{App, InBucket};
use super::error::{ApiError, At, Location};
use super::render::render_grants;
use super::request::Request;
use super::response::Response;

/// The fields of each job body: anything else is refused (an ignored field would change what
/// the job does without a word).
const FETCH_FIELDS: [&str; 2] = ["sync", "glob"];
const STORE_FIELDS: [&str; 4] = ["sync", "glob", "data", "files"];
const EMPTY_FIELDS: [&str; 2] = ["files", "data"];

/// The required object body of a job, of the fields `known`.
fn object_body(req: &Request, known: &[&str]) -> Result<Map<String, Value>, ApiError> {
    req.fields_body(known)?
        .ok_or_else(|| ApiError::invalid(Location::Body, "body", "is required"))
}

/// A fetch or store body (of the fields `known`) and its `sync` and `glob`.
fn job_body(
    req: &Request,
    known: &[&str],
) -> Result<(Map<String, Value>, Sync, globset::GlobMatcher), ApiError> {
    let body = object_body(req, known)?;
    let sync = Sync::parse(body.get("sync")).at(Location::Body)?;
    let matcher = glob_of(&body).at(Location::Body)?;
    Ok((body, sync, matcher))
}

/// The optional `glob` of a job body (`*` when absent).
fn glob_of(body: &Map<String, Value>) -> Result<globset::GlobMatcher, RuleError> {
    match body.get("glob") {
        None | Some(Value::Null) => files::glob_matcher(None),
        Some(Value::String(g)) => files::glob_matcher(Some(g)),
        Some(_) => Err(RuleError::invalid("glob", "must be a string")),
    }
}

/// `POST /v1/buckets/{id}/fetch` `{sync, glob?}`: the data and/or download URLs of the files
/// whose names match. Read permission.
pub async fn fetch<S, O>(
    app: &App<S, O>,
    req: &Request,
    at: &InBucket,
) -> Result<Response, ApiError>
where
    S: BucketStore + FileStore + DataStore + CascadeStore,
    O: ObjectStore,
{
    let (_, sync, matcher) = job_body(req, &FETCH_FIELDS)?;
    let (identity, bucket) = (&at.identity, &at.bucket);
    let fetched = app.services.fetch(identity, bucket, sync, &matcher).await?;
    let mut out = Map::new();
    if let Some(doc) = fetched.data {
        out.insert("data".into(), Value::Object(doc));
    }
    if let Some(files) = fetched.files {
        let files = files
            .into_iter()
            .map(|(f, d)| {
                let mut v = json!({"name": f.name, "size": f.size, "content_type": f.content_type, "last_modified": f.modified, "modified": f.modified, "url": d.url, "expires_at": d.expires_at});
                // The recorded checksum, so that a job verifies what it downloaded.
                if let Some(sha) = &f.sha256 {
                    v["sha256"] = json!(sha);
                }
                v
            })
            .collect();
        out.insert("files".into(), Value::Array(files));
    }
    Ok(Response::json(200, Value::Object(out)))
}

/// `POST /v1/buckets/{id}/store` `{sync, glob?, data?, files?}`: data shallow-merged into the
/// document, upload grants for the files matching the glob (the others reported as skipped).
/// Nothing is written if a file breaks a limit. Write permission.
pub async fn store<S, O>(
    app: &App<S, O>,
    req: &Request,
    at: &InBucket,
) -> Result<Response, ApiError>
where
    S: BucketStore + FileStore + DataStore + CascadeStore,
    O: ObjectStore,
{
    let (body, sync, matcher) = job_body(req, &STORE_FIELDS)?;
    let (identity, bucket) = (&at.identity, &at.bucket);
    let data = match body.get("data") {
        Some(Value::Object(map)) if sync.data => map.clone(),
        None | Some(Value::Null) => Map::new(),
        Some(_) if sync.data => {
            return Err(ApiError::invalid(
                Location::Body,
                "data",
                "must be an object",
            ));
        }
        Some(_) => Map::new(),
    };
    let files = match body.get("files") {
        _ if !sync.files => vec![],
        None | Some(Value::Null) => vec![],
        Some(Value::Array(a)) if a.is_empty() => vec![],
        files => parse_wanted_files(files).at(Location::Body)?,
    };
    let request = StoreRequest {
        sync,
        matcher,
        data,
        files,
    };
    let stored = app.services.store(identity, bucket, request).await?;
    let mut out = Map::new();
    if let Some(doc) = stored.data {
        out.insert("data".into(), Value::Object(doc));
    }
    if let Some(grants) = stored.grants {
        let id = app.services.resolve(bucket, identity)?;
        out.insert("files".into(), json!(render_grants(req, &id, &grants)));
        out.insert("skipped".into(), json!(stored.skipped));
    }
    Ok(Response::json(200, Value::Object(out)))
}

/// `POST /v1/buckets/{id}/empty` `{"files": bool, "data": bool}` (xyOps empty_bucket): clears
/// the data document and/or deletes every file. Write permission.
pub async fn empty<S, O>(
    app: &App<S, O>,
    req: &Request,
    at: &InBucket,
) -> Result<Response, ApiError>
where
    S: BucketStore + FileStore + DataStore + CascadeStore,
    O: ObjectStore,
{
    let body = object_body(req, &EMPTY_FIELDS)?;
    let flag = |name: &str| match body.get(name) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(ApiError::invalid(
            Location::Body,
            name,
            "must be true or false",
        )),
    };
    let (files, data) = (flag("files")?, flag("data")?);
    if !files && !data {
        return Err(ApiError::invalid(
            Location::Body,
            "body",
            "must say what to empty: {\"files\": true} and/or {\"data\": true}",
        ));
    }
    let (identity, bucket) = (&at.identity, &at.bucket);
    let emptied = app.services.empty(identity, bucket, files, data).await?;
    Ok(Response::json(
        200,
        json!({"data": {"files_deleted": emptied.files_deleted, "data_cleared": emptied.data_cleared}}),
    ))
}
