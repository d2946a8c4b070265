//! The file routes: upload grants (presigned PUTs), listing with globs, downloads (presigned
//! GETs), deletion, upload status, and xyOps permalinks. Bytes never pass through here.

use http::Method;
use percent_encoding::percent_decode_str;
use serde_json::{Value, json};

use crate::api::error::{ApiError, Location};
use crate::domain::access::Identity;
use crate::domain::bucket::Bucket;
use crate::domain::cascade::{Job, Tally, file_marker_key};
use crate::domain::files::{
    self, FileRecord, Grant, glob_matcher, normalize_name, object_key, random_token,
};
use crate::domain::ids;
use crate::domain::time::now_ms;
use crate::ports::{BucketStore, CascadeStore, DataStore, FileStore, StoreError};
use crate::ports::{ObjectStore, PutSpec};
use crate::service::cascade::{self, Budget};

use super::app::{App, WRITE_ATTEMPTS, deny};
use super::jobs;
use super::paging::{next_page_links, page_request};
use super::request::Request;
use super::response::Response;

/// How long a file deletion works on its objects before leaving them to the cascade.
const INLINE_PURGE_BUDGET: std::time::Duration = std::time::Duration::from_secs(5);

/// Files one grant request may ask for.
pub const MAX_FILES_PER_REQUEST: usize = 100;

pub struct FilesApp<S, O> {
    pub core: App<S>,
    pub objects: O,
}

/// Answers any request that reaches the files function.
pub async fn handle<S: BucketStore + FileStore + DataStore + CascadeStore, O: ObjectStore>(
    app: &FilesApp<S, O>,
    req: &Request,
) -> Response {
    match route(app, req).await {
        Ok(resp) => resp,
        Err(err) => err.into(),
    }
}

async fn route<S: BucketStore + FileStore + DataStore + CascadeStore, O: ObjectStore>(
    app: &FilesApp<S, O>,
    req: &Request,
) -> Result<Response, ApiError> {
    let segments = req.segments();
    match (segments.as_slice(), &req.method) {
        (["v1", "buckets", id, "files"], &Method::GET) => list(app, req, id).await,
        (["v1", "buckets", id, "files"], &Method::POST) => grant(app, req, id).await,
        (["v1", "buckets", id, "files", name], &Method::GET) => download(app, req, id, name).await,
        (["v1", "buckets", id, "files", name], &Method::DELETE) => delete(app, req, id, name).await,
        (["v1", "buckets", id, "uploads", upload_id], &Method::GET) => {
            upload_status(app, req, id, upload_id).await
        }
        (["files", "bucket", id, hash, filename], &Method::GET) => {
            permalink(app, req, id, hash, filename).await
        }
        (["v1", "buckets", id, "fetch"], &Method::POST) => jobs::fetch(app, req, id).await,
        (["v1", "buckets", id, "store"], &Method::POST) => jobs::store(app, req, id).await,
        (["v1", "buckets", id, "empty"], &Method::POST) => jobs::empty(app, req, id).await,
        (["v1", "buckets", _, "fetch" | "store" | "empty"], m) => {
            Err(ApiError::method_not_allowed(m.as_str()))
        }
        (
            ["v1", "buckets", _, "files"]
            | ["v1", "buckets", _, "files", _]
            | ["v1", "buckets", _, "uploads", _],
            m,
        )
        | (["files", "bucket", _, _, _], m) => Err(ApiError::method_not_allowed(m.as_str())),
        _ => Err(ApiError::no_route()),
    }
}

/// A file name from the path: percent-decoded, then normalized as on upload.
fn name_from_path(segment: &str) -> Result<String, ApiError> {
    let decoded = percent_decode_str(segment).decode_utf8_lossy();
    normalize_name(&decoded, "name").map_err(|e| ApiError {
        details: Some(json!([{"location": "path", "name": "name", "description": e.message}])),
        ..e
    })
}

fn wants_json(req: &Request) -> bool {
    req.query_param("json").is_some()
        || req
            .header("accept")
            .ok()
            .flatten()
            .is_some_and(|a| a.contains("application/json"))
}

async fn list<S: BucketStore + FileStore, O: ObjectStore>(
    app: &FilesApp<S, O>,
    req: &Request,
    segment: &str,
) -> Result<Response, ApiError> {
    let identity = app.core.identify(req)?;
    let bucket = app.core.route_bucket(segment, &identity).await?;
    let page = page_request(req)?;
    let glob = req.query_param("glob");
    let matcher = glob_matcher(glob.as_deref())?;
    // Pages of the bucket's records, filtered by the glob, until the page is full.
    let mut out: Vec<FileRecord> = Vec::new();
    let mut after = page.after.clone();
    let mut has_more = true;
    while out.len() < page.limit && has_more {
        let chunk = app
            .core
            .store
            .list_files(
                &bucket.id,
                &bucket.generation,
                after.as_deref(),
                page.limit + 1 - out.len(),
            )
            .await?;
        has_more = chunk.has_more;
        after = chunk.files.last().map(|f| f.name.clone()).or(after);
        out.extend(
            chunk
                .files
                .into_iter()
                .filter(|f| matcher.is_match(&f.name)),
        );
    }
    if out.len() > page.limit {
        out.truncate(page.limit);
        has_more = true;
    }
    let data: Vec<Value> = out.iter().map(|f| f.to_json(&bucket.id)).collect();
    let mut body = json!({"data": data, "has_more": has_more, "next_uri": null});
    let mut resp_headers = vec![];
    if has_more && let Some(last) = out.last().map(|f| f.name.clone()).or(after) {
        let path = format!("/v1/buckets/{segment}/files");
        let extra: Vec<(&str, &str)> = glob
            .as_deref()
            .map(|g| vec![("glob", g)])
            .unwrap_or_default();
        let (absolute, relative) = next_page_links(req, &path, &extra, page.limit, &last);
        body["next_uri"] = json!(relative);
        resp_headers.push(("Next-Page".to_string(), absolute));
    }
    let mut resp = Response::json(200, body);
    resp.headers.extend(resp_headers);
    Ok(resp)
}

/// Parses and checks `{"files": [{name, size, content_type, sha256?}]}` against the limits.
pub fn parse_wanted_files(
    value: Option<&Value>,
    limits: &crate::config::UploadSettings,
) -> Result<Vec<WantedFile>, ApiError> {
    let Some(Value::Array(items)) = value else {
        return Err(ApiError::invalid(
            Location::Body,
            "files",
            "must be a list of {name, size, content_type}",
        ));
    };
    if items.is_empty() || items.len() > MAX_FILES_PER_REQUEST {
        return Err(ApiError::invalid(
            Location::Body,
            "files",
            format!("must hold 1 to {MAX_FILES_PER_REQUEST} files"),
        ));
    }
    let mut out: Vec<WantedFile> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let field = format!("files[{i}]");
        let Value::Object(obj) = item else {
            return Err(ApiError::invalid(
                Location::Body,
                &field,
                "must be an object",
            ));
        };
        let original = obj.get("name").and_then(Value::as_str).ok_or_else(|| {
            ApiError::invalid(Location::Body, &format!("{field}.name"), "must be a string")
        })?;
        let name = normalize_name(original, &format!("{field}.name"))?;
        let size = obj.get("size").and_then(Value::as_u64).ok_or_else(|| {
            ApiError::invalid(
                Location::Body,
                &format!("{field}.size"),
                "must be a whole number of bytes",
            )
        })?;
        let content_type = obj
            .get("content_type")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                ApiError::invalid(
                    Location::Body,
                    &format!("{field}.content_type"),
                    "must be a string",
                )
            })?
            .trim()
            .to_string();
        let sha256 = match obj.get("sha256") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(files::sha256_base64(s, &format!("{field}.sha256"))?),
            Some(_) => {
                return Err(ApiError::invalid(
                    Location::Body,
                    &format!("{field}.sha256"),
                    "must be a string",
                ));
            }
        };
        files::check_file(limits, &name, size, &content_type, &field)?;
        if out.iter().any(|w| w.name == name) {
            return Err(ApiError::invalid(
                Location::Body,
                &format!("{field}.name"),
                format!("{name} is named twice in this request"),
            ));
        }
        out.push(WantedFile {
            original: original.to_string(),
            name,
            size,
            content_type,
            sha256,
        });
    }
    Ok(out)
}

/// A file to upload, as a client asked for it (name already normalized).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WantedFile {
    pub original: String,
    pub name: String,
    pub size: u64,
    pub content_type: String,
    pub sha256: Option<String>,
}

/// Whether `bucket` may take `wanted` now: active, and room for the names it does not hold yet
/// under the file count limit (the upload event enforces it again, atomically).
pub async fn check_room<S: BucketStore + FileStore, O: ObjectStore>(
    app: &FilesApp<S, O>,
    bucket: &Bucket,
    wanted: &[WantedFile],
) -> Result<(), ApiError> {
    if !bucket.is_active() {
        return Err(ApiError::forbidden(
            "This bucket is inactive (active: false): it accepts no uploads.",
        ));
    }
    let limit = app.core.settings.upload.max_files_per_bucket;
    let held = bucket.file_count.max(0) as u64;
    // Room even if every name were new: no need to read which ones replace a file.
    if held + wanted.len() as u64 <= limit {
        return Ok(());
    }
    let names: Vec<String> = wanted.iter().map(|w| w.name.clone()).collect();
    let existing = app
        .core
        .store
        .existing_names(&bucket.id, &bucket.generation, &names)
        .await?;
    let new_count = names.iter().filter(|n| !existing.contains(n)).count() as u64;
    if held + new_count > limit {
        return Err(ApiError::invalid(
            Location::Body,
            "files",
            format!(
                "the bucket holds {} files and the limit is {limit}; {new_count} new files do not fit",
                bucket.file_count
            ),
        ));
    }
    Ok(())
}

/// Issues upload grants for `wanted` in `bucket` (the caller may write it, `check_room` passed):
/// records the grants, presigns the URLs. `base_path` prefixes the status link so it
/// resolves for the client. Used by POST .../files and by store.
pub async fn issue_grants<S: BucketStore + FileStore, O: ObjectStore>(
    app: &FilesApp<S, O>,
    identity: &Identity,
    bucket: &Bucket,
    wanted: &[WantedFile],
    base_path: &str,
) -> Result<Vec<Value>, ApiError> {
    let now = now_ms();
    let ttl = app.core.settings.upload_url_ttl_secs;
    let uploaded_by = identity
        .user_principal()
        .unwrap_or_else(|| "system.Everyone".into());
    let grants: Vec<Grant> = wanted
        .iter()
        .map(|w| Grant {
            upload_id: random_token(),
            name: w.name.clone(),
            size: w.size,
            content_type: w.content_type.clone(),
            sha256: w.sha256.clone(),
            uploaded_by: uploaded_by.clone(),
            expires_at: now + (ttl as i64) * 1000,
            recorded: false,
        })
        .collect();
    app.core
        .store
        .put_grants(&bucket.id, &bucket.generation, &grants)
        .await?;
    let mut out = Vec::with_capacity(grants.len());
    for (g, w) in grants.iter().zip(wanted) {
        let key = object_key(&bucket.id, &bucket.generation, &g.upload_id, &g.name);
        let presigned = app
            .objects
            .presign_put(&PutSpec {
                key: &key,
                size: g.size,
                content_type: &g.content_type,
                sha256_base64: g.sha256.as_deref(),
                expires_in_secs: ttl,
            })
            .await?;
        let headers: serde_json::Map<String, Value> = presigned
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        out.push(json!({
            "name": g.name,
            "original_name": w.original,
            "size": g.size,
            "content_type": g.content_type,
            "upload_id": g.upload_id,
            "status_uri": format!("{base_path}/v1/buckets/{}/uploads/{}", bucket.id, g.upload_id),
            "upload": {"url": presigned.url, "method": presigned.method, "headers": headers, "expires_at": g.expires_at},
        }));
    }
    Ok(out)
}

async fn grant<S: BucketStore + FileStore, O: ObjectStore>(
    app: &FilesApp<S, O>,
    req: &Request,
    segment: &str,
) -> Result<Response, ApiError> {
    let identity = app.core.identify(req)?;
    let body = req
        .json_body()?
        .ok_or_else(|| ApiError::invalid(Location::Body, "files", "is required"))?;
    let bucket = app.core.route_bucket(segment, &identity).await?;
    if !identity.may_write(&bucket.permissions) {
        return Err(deny(&identity));
    }
    let wanted = parse_wanted_files(body.get("files"), &app.core.settings.upload)?;
    check_room(app, &bucket, &wanted).await?;
    let grants = issue_grants(app, &identity, &bucket, &wanted, req.base_path()).await?;
    Ok(Response::json(201, json!({"data": grants})))
}

async fn download<S: BucketStore + FileStore, O: ObjectStore>(
    app: &FilesApp<S, O>,
    req: &Request,
    segment: &str,
    raw_name: &str,
) -> Result<Response, ApiError> {
    let identity = app.core.identify(req)?;
    let bucket = app.core.route_bucket(segment, &identity).await?;
    let name = name_from_path(raw_name)?;
    let record = app
        .core
        .store
        .get_file(&bucket.id, &bucket.generation, &name)
        .await?
        .ok_or_else(|| ApiError::not_found("file", &name))?;
    redirect_to_object(app, req, &record).await
}

async fn redirect_to_object<S, O: ObjectStore>(
    app: &FilesApp<S, O>,
    req: &Request,
    record: &FileRecord,
) -> Result<Response, ApiError> {
    let ttl = app.core.settings.download_url_ttl_secs;
    let presigned = app
        .objects
        .presign_get(&record.object_key, &record.name, ttl)
        .await?;
    let expires_at = now_ms() + (ttl as i64) * 1000;
    if wants_json(req) {
        Ok(Response::json(
            200,
            json!({"url": presigned.url, "expires_at": expires_at}),
        ))
    } else {
        Ok(Response::redirect(302, presigned.url).with_header("Cache-Control", "no-store"))
    }
}

async fn delete<S: BucketStore + FileStore + CascadeStore, O: ObjectStore>(
    app: &FilesApp<S, O>,
    req: &Request,
    segment: &str,
    raw_name: &str,
) -> Result<Response, ApiError> {
    let identity = app.core.identify(req)?;
    let bucket = app.core.route_bucket(segment, &identity).await?;
    if !identity.may_write(&bucket.permissions) {
        return Err(deny(&identity));
    }
    let name = name_from_path(raw_name)?;
    for _ in 0..WRITE_ATTEMPTS {
        let Some(record) = app
            .core
            .store
            .get_file(&bucket.id, &bucket.generation, &name)
            .await?
        else {
            return Err(ApiError::not_found("file", &name));
        };
        // Replaced meanwhile (false): delete what is there now.
        if remove_file(app, &bucket, &record).await? {
            return Ok(Response::json(
                200,
                json!({"data": {"name": name, "deleted": true}}),
            ));
        }
    }
    Err(ApiError::conflict(
        "The file is being written concurrently; retry",
    ))
}

/// Deletes `record` (if it is still the stored one, else `false`) and then its objects. The
/// record goes in one transaction with a cascade marker for its objects, so a crash or an S3
/// failure after it leaves work for the cascade function, never an orphan. Used by DELETE and
/// by empty.
pub async fn remove_file<S: BucketStore + FileStore + CascadeStore, O: ObjectStore>(
    app: &FilesApp<S, O>,
    bucket: &Bucket,
    record: &FileRecord,
) -> Result<bool, ApiError> {
    let store = &app.core.store;
    match store
        .delete_file(&bucket.id, &bucket.generation, record)
        .await
    {
        Ok(()) => {
            let job = Job::Objects {
                keys: std::iter::once(&record.object_key)
                    .chain(record.prev_key.as_ref())
                    .cloned()
                    .collect(),
            };
            let budget = Budget {
                until: std::time::Instant::now() + INLINE_PURGE_BUDGET,
                after_delete_call: &|| {},
            };
            let marker = file_marker_key(&bucket.id, &bucket.generation, &record.upload_id);
            let mut tally = Tally::default();
            // The same pass the cascade function would run; if it fails, the function does.
            let purged =
                match cascade::run_pass(store, &app.objects, &job, &budget, &mut tally).await {
                    Ok(_) => store.delete_marker(&marker).await,
                    Err(e) => Err(e),
                };
            if let Err(e) = purged {
                tracing::warn!(marker, error = ?e, "file objects left to the cascade");
            }
            Ok(true)
        }
        Err(StoreError::Conflict) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

async fn upload_status<S: BucketStore + FileStore, O: ObjectStore>(
    app: &FilesApp<S, O>,
    req: &Request,
    segment: &str,
    upload_id: &str,
) -> Result<Response, ApiError> {
    let identity = app.core.identify(req)?;
    let bucket = app.core.route_bucket(segment, &identity).await?;
    if upload_id.len() != 32 || !upload_id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::invalid(
            Location::Path,
            "upload_id",
            "is not an upload id",
        ));
    }
    let store = &app.core.store;
    let status = if let Some(r) = store
        .get_rejection(&bucket.id, &bucket.generation, upload_id)
        .await?
    {
        json!({"upload_id": upload_id, "status": "rejected", "name": r.name, "reason": r.reason, "at": r.at})
    } else if let Some(g) = store
        .get_grant(&bucket.id, &bucket.generation, upload_id)
        .await?
    {
        if g.recorded {
            // Recorded; the file may since have been replaced by a later upload of its name.
            let current = store
                .get_file(&bucket.id, &bucket.generation, &g.name)
                .await?;
            match current {
                Some(f) if f.upload_id == upload_id => {
                    json!({"upload_id": upload_id, "status": "recorded", "name": g.name, "file": f.to_json(&bucket.id)})
                }
                _ => json!({"upload_id": upload_id, "status": "replaced", "name": g.name}),
            }
        } else if g.expires_at < now_ms() {
            json!({"upload_id": upload_id, "status": "expired", "name": g.name, "expires_at": g.expires_at})
        } else {
            json!({"upload_id": upload_id, "status": "pending", "name": g.name, "expires_at": g.expires_at})
        }
    } else {
        return Err(ApiError::not_found("upload", upload_id));
    };
    Ok(Response::json(200, json!({"data": status})))
}

async fn permalink<S: BucketStore + FileStore, O: ObjectStore>(
    app: &FilesApp<S, O>,
    req: &Request,
    id: &str,
    hash: &str,
    filename: &str,
) -> Result<Response, ApiError> {
    let identity = app.core.identify(req)?;
    if ids::id_problem(id).is_some() {
        return Err(ApiError::not_found("file", filename));
    }
    let bucket = if app.core.settings.permalink_requires_read {
        app.core.readable_bucket(id, &identity).await?
    } else {
        app.core
            .store
            .get(id)
            .await?
            .ok_or_else(|| ApiError::not_found("file", filename))?
    };
    let name = name_from_path(filename)?;
    match app
        .core
        .store
        .get_file(&bucket.id, &bucket.generation, &name)
        .await?
    {
        Some(record) if record.hash == hash => redirect_to_object(app, req, &record).await,
        _ => Err(ApiError::not_found("file", &name)),
    }
}
