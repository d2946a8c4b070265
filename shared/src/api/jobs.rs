//! The job verbs (xyOps Fetch / Store actions) and "empty bucket": a job fetches data and file
//! download URLs when it starts, and stores data and files when it ends, so buckets hand work
//! from one job to the next.

use serde_json::{Map, Value, json};

use crate::api::error::{ApiError, Location};
use crate::config::UploadSettings;
use crate::domain::data::DataDoc;
use crate::domain::files::{FileRecord, check_file, glob_matcher};
use crate::domain::patch::shallow_merge;
use crate::domain::preconditions::Preconditions;
use crate::domain::time::now_ms;
use crate::ports::ObjectStore;
use crate::ports::{BucketStore, CascadeStore, DataStore, FileStore, StoreError};

use super::app::deny;
use super::data::write_doc;
use super::files::{FilesApp, check_room, issue_grants, parse_wanted_files, remove_file};
use super::request::Request;
use super::response::Response;

/// What a job syncs: `data`, `files` or `data_and_files` (nothing else).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sync {
    data: bool,
    files: bool,
}

fn parse_sync(body: &Value) -> Result<Sync, ApiError> {
    match body.get("sync").and_then(Value::as_str) {
        Some("data") => Ok(Sync {
            data: true,
            files: false,
        }),
        Some("files") => Ok(Sync {
            data: false,
            files: true,
        }),
        Some("data_and_files") => Ok(Sync {
            data: true,
            files: true,
        }),
        _ => Err(ApiError::invalid(
            Location::Body,
            "sync",
            "must be one of data, files, data_and_files",
        )),
    }
}

fn object_body(req: &Request) -> Result<Map<String, Value>, ApiError> {
    match req.json_body()? {
        Some(Value::Object(map)) => Ok(map),
        Some(_) => Err(ApiError::invalid(
            Location::Body,
            "body",
            "must be an object",
        )),
        None => Err(ApiError::invalid(Location::Body, "body", "is required")),
    }
}

fn glob_of(body: &Map<String, Value>) -> Result<globset::GlobMatcher, ApiError> {
    match body.get("glob") {
        None | Some(Value::Null) => glob_matcher(None),
        Some(Value::String(g)) => glob_matcher(Some(g)).map_err(|e| ApiError {
            details: Some(json!([{"location": "body", "name": "glob", "description": e.message}])),
            ..e
        }),
        Some(_) => Err(ApiError::invalid(
            Location::Body,
            "glob",
            "must be a string",
        )),
    }
}

/// Every file record of the bucket (bounded by the per-bucket file limit), in name order.
async fn all_files<S: FileStore>(
    store: &S,
    id: &str,
    generation: &str,
) -> Result<Vec<FileRecord>, StoreError> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store
            .list_files(id, generation, after.as_deref(), 1000)
            .await?;
        after = page.files.last().map(|f| f.name.clone());
        out.extend(page.files);
        if !page.has_more || after.is_none() {
            return Ok(out);
        }
    }
}

/// `POST /v1/buckets/{id}/fetch` `{sync, glob}`: the data and/or download URLs of the files
/// whose names match the glob. Read permission.
pub async fn fetch<S: BucketStore + FileStore + DataStore + CascadeStore, O: ObjectStore>(
    app: &FilesApp<S, O>,
    req: &Request,
    segment: &str,
) -> Result<Response, ApiError> {
    let identity = app.core.identify(req)?;
    let body = object_body(req)?;
    let sync = parse_sync(&Value::Object(body.clone()))?;
    let matcher = glob_of(&body)?;
    let bucket = app.core.route_bucket(segment, &identity).await?;
    let mut out = Map::new();
    if sync.data {
        let doc = app
            .core
            .store
            .get_data(&bucket.id, &bucket.generation)
            .await?
            .unwrap_or_else(DataDoc::empty);
        out.insert("data".into(), Value::Object(doc.doc));
    }
    if sync.files {
        let ttl = app.core.settings.download_url_ttl_secs;
        let expires_at = now_ms() + (ttl as i64) * 1000;
        let mut files = Vec::new();
        for f in all_files(&app.core.store, &bucket.id, &bucket.generation)
            .await?
            .into_iter()
            .filter(|f| matcher.is_match(&f.name))
        {
            let url = app
                .objects
                .presign_get(&f.object_key, &f.name, ttl)
                .await?
                .url;
            files.push(json!({"name": f.name, "size": f.size, "content_type": f.content_type, "modified": f.modified, "url": url, "expires_at": expires_at}));
        }
        out.insert("files".into(), Value::Array(files));
    }
    Ok(Response::json(200, Value::Object(out)))
}

/// `POST /v1/buckets/{id}/store` `{sync, glob, data, files}`: data shallow-merged into the
/// bucket's document, upload grants for the files matching the glob (others reported as
/// skipped). Every file is checked first: if one breaks a limit, or they would pass the file
/// count, nothing is written. Write permission.
pub async fn store<S: BucketStore + FileStore + DataStore + CascadeStore, O: ObjectStore>(
    app: &FilesApp<S, O>,
    req: &Request,
    segment: &str,
) -> Result<Response, ApiError> {
    let identity = app.core.identify(req)?;
    let body = object_body(req)?;
    let sync = parse_sync(&Value::Object(body.clone()))?;
    let matcher = glob_of(&body)?;
    let bucket = app.core.route_bucket(segment, &identity).await?;
    if !identity.may_write(&bucket.permissions) {
        return Err(deny(&identity));
    }
    // Check everything before writing anything.
    let data = if sync.data {
        match body.get("data") {
            Some(Value::Object(map)) => Some(map.clone()),
            None | Some(Value::Null) => Some(Map::new()),
            Some(_) => {
                return Err(ApiError::invalid(
                    Location::Body,
                    "data",
                    "must be an object",
                ));
            }
        }
    } else {
        None
    };
    let (wanted, skipped) = if sync.files {
        // Names and shapes first; limits only for the files the glob selects.
        let unlimited = UploadSettings {
            max_files_per_bucket: u64::MAX,
            max_file_size: u64::MAX,
            accepted_file_types: vec![],
        };
        let all = match body.get("files") {
            None | Some(Value::Null) => vec![],
            Some(Value::Array(a)) if a.is_empty() => vec![],
            files => parse_wanted_files(files, &unlimited)?,
        };
        let limits = &app.core.settings.upload;
        let mut matching = Vec::new();
        let mut skipped = Vec::new();
        for (i, w) in all.into_iter().enumerate() {
            if matcher.is_match(&w.name) {
                check_file(
                    limits,
                    &w.name,
                    w.size,
                    &w.content_type,
                    &format!("files[{i}]"),
                )?;
                matching.push(w);
            } else {
                skipped.push(w.name);
            }
        }
        if !matching.is_empty() {
            check_room(app, &bucket, &matching).await?;
        }
        (matching, skipped)
    } else {
        (vec![], vec![])
    };
    let mut out = Map::new();
    if let Some(changes) = data {
        let doc = write_doc(
            &app.core,
            &bucket,
            &Preconditions::default(),
            true,
            |current| {
                let mut merged = Value::Object(current.doc.clone());
                shallow_merge(&mut merged, &changes);
                Ok(merged)
            },
        )
        .await?;
        out.insert("data".into(), Value::Object(doc.doc));
    }
    if sync.files {
        let grants = if wanted.is_empty() {
            vec![]
        } else {
            issue_grants(app, &identity, &bucket, &wanted, req.base_path()).await?
        };
        out.insert("files".into(), Value::Array(grants));
        out.insert("skipped".into(), json!(skipped));
    }
    Ok(Response::json(200, Value::Object(out)))
}

/// `POST /v1/buckets/{id}/empty` `{"files": bool, "data": bool}` (xyOps empty_bucket): clears the
/// data document and/or deletes every file. Write permission.
pub async fn empty<S: BucketStore + FileStore + DataStore + CascadeStore, O: ObjectStore>(
    app: &FilesApp<S, O>,
    req: &Request,
    segment: &str,
) -> Result<Response, ApiError> {
    let identity = app.core.identify(req)?;
    let body = object_body(req)?;
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
            "say what to empty: {\"files\": true} and/or {\"data\": true}",
        ));
    }
    let bucket = app.core.route_bucket(segment, &identity).await?;
    if !identity.may_write(&bucket.permissions) {
        return Err(deny(&identity));
    }
    let mut deleted = 0u64;
    if files {
        for record in all_files(&app.core.store, &bucket.id, &bucket.generation).await? {
            // false: replaced or deleted meanwhile, it is someone else's newer file now.
            if remove_file(app, &bucket, &record).await? {
                deleted += 1;
            }
        }
    }
    if data {
        write_doc(&app.core, &bucket, &Preconditions::default(), true, |_| {
            Ok(json!({}))
        })
        .await?;
    }
    Ok(Response::json(
        200,
        json!({"data": {"files_deleted": deleted, "data_cleared": data}}),
    ))
}
