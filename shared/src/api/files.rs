//! The file routes: upload grants, listing with globs, downloads, deletion, upload status, xyOps
//! permalinks, and dispatch to the job routes. Bytes never pass through here.

use http::Method;
use serde_json::{Value, json};

use crate::domain::files;
use crate::domain::uploads::parse_wanted_files;
use crate::ports::{BucketStore, CascadeStore, DataStore, FileStore, ObjectStore};

use super::app::{App, InBucket};
use super::error::{ApiError, At, Location};
use super::file_paths::{name_from_path, upload_id_from_path};
use super::jobs;
use super::multipart;
use super::paging::{page_request, page_response};
use super::render::{render_download, render_file, render_grants, render_status};
use super::request::Request;
use super::response::Response;
use super::route::{Area, serve};
use super::routes::{Files, InFiles};
use super::versions;

/// Answers any request that reaches the files function.
pub async fn handle<S, O>(app: &App<S, O>, req: &Request) -> Response
where
    S: BucketStore + FileStore + DataStore + CascadeStore,
    O: ObjectStore,
{
    serve(&FilesFunction(app), req).await
}

struct FilesFunction<'a, S, O>(&'a App<S, O>);

impl<S, O> Area for FilesFunction<'_, S, O>
where
    S: BucketStore + FileStore + DataStore + CascadeStore,
    O: ObjectStore,
{
    type Route = Files;

    async fn answer(&self, route: Files, req: &Request) -> Result<Response, ApiError> {
        let app = self.0;
        let under = match route {
            Files::Permalink {
                bucket,
                hash,
                filename,
            } => return permalink(app, req, &bucket, &hash, &filename).await,
            Files::In(under) => under,
        };
        let at = app.in_bucket(req, &under.bucket).await?;
        // Only the methods `routes::InFiles` lists get here (`HEAD` as `GET`).
        let post = req.method == Method::POST;
        let delete = req.method == Method::DELETE;
        match under.route {
            InFiles::Files if post => grant(app, req, &at).await,
            InFiles::Files => list(app, req, &at).await,
            InFiles::File(name) if delete => delete_file(app, &at, &name).await,
            InFiles::File(name) => download(app, req, &at, &name).await,
            InFiles::Versions(name) => versions::list(app, req, &at, &name).await,
            InFiles::Restore(name, version) => {
                versions::restore(app, req, &at, &name, &version).await
            }
            InFiles::Upload(id) if delete => multipart::abort(app, &at, &id).await,
            InFiles::Upload(id) => upload_status(app, req, &at, &id).await,
            InFiles::Parts(id) if post => multipart::presign_parts(app, req, &at, &id).await,
            InFiles::Parts(id) => multipart::list_parts(app, req, &at, &id).await,
            InFiles::Complete(id) => multipart::complete(app, req, &at, &id).await,
            InFiles::Fetch => jobs::fetch(app, req, &at).await,
            InFiles::Store => jobs::store(app, req, &at).await,
            InFiles::Empty => jobs::empty(app, req, &at).await,
        }
    }
}

async fn list<S: BucketStore + FileStore + CascadeStore, O: ObjectStore>(
    app: &App<S, O>,
    req: &Request,
    at: &InBucket,
) -> Result<Response, ApiError> {
    let page = page_request(req, &app.cursor_keys)?;
    let glob = req.query_param("glob");
    let matcher = files::glob_matcher(glob.as_deref()).at(Location::Querystring)?;
    let (bucket, listing) = app
        .services
        .list_files(&at.identity, &at.bucket, page.after, page.limit, &matcher)
        .await?;
    let data: Vec<Value> = listing
        .files
        .iter()
        .map(|f| render_file(req, &bucket.id, f))
        .collect();
    let path = format!("/v1/buckets/{}/files", at.segment);
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
    at: &InBucket,
) -> Result<Response, ApiError> {
    let body = req
        .fields_body(&["files"])?
        .ok_or_else(|| ApiError::invalid(Location::Body, "files", "is required"))?;
    let wanted = parse_wanted_files(body.get("files")).at(Location::Body)?;
    let (bucket, grants) = app
        .services
        .grant_uploads(&at.identity, &at.bucket, &wanted)
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
    at: &InBucket,
    raw_name: &str,
) -> Result<Response, ApiError> {
    let name = name_from_path(raw_name)?;
    let download = app
        .services
        .download(&at.identity, &at.bucket, &name)
        .await?;
    Ok(render_download(req, download))
}

async fn delete_file<S: BucketStore + FileStore + CascadeStore, O: ObjectStore>(
    app: &App<S, O>,
    at: &InBucket,
    raw_name: &str,
) -> Result<Response, ApiError> {
    let name = name_from_path(raw_name)?;
    app.services
        .delete_file(&at.identity, &at.bucket, &name)
        .await?;
    Ok(Response::json(
        200,
        json!({"data": {"name": name, "deleted": true}}),
    ))
}

async fn upload_status<S: BucketStore + FileStore + CascadeStore, O: ObjectStore>(
    app: &App<S, O>,
    req: &Request,
    at: &InBucket,
    upload_id: &str,
) -> Result<Response, ApiError> {
    upload_id_from_path(upload_id)?;
    let status = app
        .services
        .upload_status(&at.identity, &at.bucket, upload_id)
        .await?;
    let id = app.services.resolve(&at.bucket, &at.identity)?;
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
