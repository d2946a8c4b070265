//! The file routes: upload grants, listing with globs, downloads, deletion, upload status, xyOps
//! permalinks, and dispatch to the job routes. Bytes never pass through here.

use http::Method;
use serde_json::{Value, json};

use crate::domain::files;
use crate::domain::uploads::parse_wanted_files;
use crate::ports::{BucketStore, CascadeStore, DataStore, FileStore, ObjectStore};

use super::app::{App, bucket_ref};
use super::error::{ApiError, At, Location};
use super::file_paths::{file_target, name_from_path, upload_target};
use super::jobs;
use super::multipart;
use super::paging::{page_request, page_response};
use super::render::{render_download, render_file, render_grants, render_status};
use super::request::Request;
use super::response::Response;
use super::versions;

/// Answers any request that reaches the files function.
pub async fn handle<S, O>(app: &App<S, O>, req: &Request) -> Response
where
    S: BucketStore + FileStore + DataStore + CascadeStore,
    O: ObjectStore,
{
    match req.as_get_for_head() {
        Some(get) => route(app, &get)
            .await
            .unwrap_or_else(Response::from)
            .without_body(),
        None => route(app, req).await.unwrap_or_else(Response::from),
    }
}

async fn route<S, O>(app: &App<S, O>, req: &Request) -> Result<Response, ApiError>
where
    S: BucketStore + FileStore + DataStore + CascadeStore,
    O: ObjectStore,
{
    req.refuse_unknown_write_query()?;
    let segments = req.segments();
    match (segments.as_slice(), &req.method) {
        (["v1", "buckets", id, "files"], &Method::GET) => list(app, req, id).await,
        (["v1", "buckets", id, "files"], &Method::POST) => grant(app, req, id).await,
        (["v1", "buckets", id, "files", name], &Method::GET) => download(app, req, id, name).await,
        (["v1", "buckets", id, "files", name], &Method::DELETE) => delete(app, req, id, name).await,
        (["v1", "buckets", id, "files", name, "versions"], &Method::GET) => {
            versions::list(app, req, id, name).await
        }
        (
            [
                "v1",
                "buckets",
                id,
                "files",
                name,
                "versions",
                version,
                "restore",
            ],
            &Method::POST,
        ) => versions::restore(app, req, id, name, version).await,
        (["v1", "buckets", id, "uploads", upload_id], &Method::GET) => {
            upload_status(app, req, id, upload_id).await
        }
        (["v1", "buckets", id, "uploads", upload_id], &Method::DELETE) => {
            multipart::abort(app, req, id, upload_id).await
        }
        (["v1", "buckets", id, "uploads", upload_id, "parts"], &Method::POST) => {
            multipart::presign_parts(app, req, id, upload_id).await
        }
        (["v1", "buckets", id, "uploads", upload_id, "parts"], &Method::GET) => {
            multipart::list_parts(app, req, id, upload_id).await
        }
        (["v1", "buckets", id, "uploads", upload_id, "complete"], &Method::POST) => {
            multipart::complete(app, req, id, upload_id).await
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
            | ["v1", "buckets", _, "files", _, "versions"]
            | ["v1", "buckets", _, "files", _, "versions", _, "restore"]
            | ["v1", "buckets", _, "uploads", _]
            | ["v1", "buckets", _, "uploads", _, "parts" | "complete"],
            m,
        )
        | (["files", "bucket", _, _, _], m) => Err(ApiError::method_not_allowed(m.as_str())),
        _ => Err(ApiError::no_route()),
    }
}

async fn list<S: BucketStore + FileStore + CascadeStore, O: ObjectStore>(
    app: &App<S, O>,
    req: &Request,
    segment: &str,
) -> Result<Response, ApiError> {
    let identity = app.identify(req).await?;
    let bucket = bucket_ref(segment)?;
    let page = page_request(req, &app.cursor_keys)?;
    let glob = req.query_param("glob");
    let matcher = files::glob_matcher(glob.as_deref()).at(Location::Querystring)?;
    let (bucket, listing) = app
        .services
        .list_files(&identity, &bucket, page.after, page.limit, &matcher)
        .await?;
    let data: Vec<Value> = listing
        .files
        .iter()
        .map(|f| render_file(req, &bucket.id, f))
        .collect();
    let path = format!("/v1/buckets/{segment}/files");
    let extra: Vec<(&str, &str)> = glob.as_deref().map(|g| ("glob", g)).into_iter().collect();
    Ok(page_response(
        req,
        &app.cursor_keys,
        &path,
        &extra,
        data,
        listing.has_more,
        listing.last,
        page.limit,
    ))
}

async fn grant<S: BucketStore + FileStore + CascadeStore, O: ObjectStore>(
    app: &App<S, O>,
    req: &Request,
    segment: &str,
) -> Result<Response, ApiError> {
    let identity = app.identify(req).await?;
    let body = req
        .fields_body(&["files"])?
        .ok_or_else(|| ApiError::invalid(Location::Body, "files", "is required"))?;
    let bucket = bucket_ref(segment)?;
    let wanted = parse_wanted_files(body.get("files")).at(Location::Body)?;
    let (bucket, grants) = app
        .services
        .grant_uploads(&identity, &bucket, &wanted)
        .await?;
    // Grants under `files`, as `store` answers them; `data` is a deprecated alias.
    let grants = render_grants(req, &bucket.id, &grants);
    Ok(Response::json(
        201,
        json!({"files": grants, "data": grants}),
    ))
}

async fn download<S: BucketStore + FileStore + CascadeStore, O: ObjectStore>(
    app: &App<S, O>,
    req: &Request,
    segment: &str,
    raw_name: &str,
) -> Result<Response, ApiError> {
    let (identity, bucket, name) = file_target(app, req, segment, raw_name).await?;
    let download = app.services.download(&identity, &bucket, &name).await?;
    Ok(render_download(req, download))
}

async fn delete<S: BucketStore + FileStore + CascadeStore, O: ObjectStore>(
    app: &App<S, O>,
    req: &Request,
    segment: &str,
    raw_name: &str,
) -> Result<Response, ApiError> {
    let (identity, bucket, name) = file_target(app, req, segment, raw_name).await?;
    app.services.delete_file(&identity, &bucket, &name).await?;
    Ok(Response::json(
        200,
        json!({"data": {"name": name, "deleted": true}}),
    ))
}

async fn upload_status<S: BucketStore + FileStore + CascadeStore, O: ObjectStore>(
    app: &App<S, O>,
    req: &Request,
    segment: &str,
    upload_id: &str,
) -> Result<Response, ApiError> {
    let (identity, bucket) = upload_target(app, req, segment, upload_id).await?;
    let status = app
        .services
        .upload_status(&identity, &bucket, upload_id)
        .await?;
    let id = app.services.resolve(&bucket, &identity)?;
    Ok(Response::json(
        200,
        json!({ "data": render_status(req, &id, upload_id, status) }),
    ))
}

async fn permalink<S: BucketStore + FileStore + CascadeStore, O: ObjectStore>(
    app: &App<S, O>,
    req: &Request,
    id: &str,
    hash: &str,
    filename: &str,
) -> Result<Response, ApiError> {
    let identity = app.identify(req).await?;
    let name = name_from_path(filename)?;
    let download = app.services.permalink(&identity, id, hash, &name).await?;
    Ok(render_download(req, download))
}
