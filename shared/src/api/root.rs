//! The entry of the Buckets function: `/v1/` (server info), the `307` redirects, and dispatch
//! to the bucket routes.

use http::Method;
use serde_json::{Value, json};

use crate::api::error::ApiError;
use crate::domain::ids;
use crate::ports::BucketStore;

use super::app::App;
use super::buckets;
use super::request::Request;
use super::response::Response;

pub const PROJECT_NAME: &str = "buckets";
pub const HTTP_API_VERSION: &str = "1.0";
/// Kinto clients read this even where no batch endpoint is used.
pub const BATCH_MAX_REQUESTS: u32 = 25;

/// Answers any request that reaches the Buckets function.
pub async fn handle<S: BucketStore, O>(app: &App<S, O>, req: &Request) -> Response {
    route(app, req).await.unwrap_or_else(Response::from)
}

async fn route<S: BucketStore, O>(app: &App<S, O>, req: &Request) -> Result<Response, ApiError> {
    let segments = req.segments();
    match segments.as_slice() {
        ["v1"] => Ok(redirect(req, "/v1/")),
        ["v1", ""] => root(app, req),
        ["v1", "buckets"] => buckets::collection(app, req).await,
        ["v1", "buckets", ""] => Ok(redirect(req, "/v1/buckets")),
        ["v1", "buckets", id] => buckets::record(app, req, id).await,
        ["v1", ..] => Err(ApiError::no_route()),
        _ => Ok(redirect(req, &format!("/v1{}", req.path))),
    }
}

/// `307` keeps the method and body (Kinto redirects unprefixed and trailing-slash paths).
fn redirect(req: &Request, path: &str) -> Response {
    let query = if req.query.is_empty() {
        String::new()
    } else {
        format!("?{}", req.query)
    };
    Response::redirect(307, format!("{}{path}{query}", req.base_url))
}

fn root<S: BucketStore, O>(app: &App<S, O>, req: &Request) -> Result<Response, ApiError> {
    if req.method != Method::GET {
        return Err(ApiError::method_not_allowed(req.method.as_str()));
    }
    let identity = app.identify(req)?;
    let upload = &app.settings().upload;
    let mut body = json!({
        "project_name": PROJECT_NAME,
        "project_version": env!("CARGO_PKG_VERSION"),
        "http_api_version": HTTP_API_VERSION,
        "project_docs": "README.md",
        "url": format!("{}/v1/", req.base_url),
        "settings": {
            "batch_max_requests": BATCH_MAX_REQUESTS,
            "readonly": false,
            "api_delete_enabled": app.settings().api_delete_enabled,
            "upload": {
                "max_files_per_bucket": upload.max_files_per_bucket,
                "max_file_size": upload.max_file_size,
                "accepted_file_types": upload.accepted_file_types.join(","),
            },
        },
        "capabilities": {
            "default_bucket": {
                "description": "The personal bucket of every authenticated user, at /v1/buckets/default.",
                "url": "README.md#default-bucket",
            },
            "permissions": {
                "description": "Per-bucket read and write principal lists.",
                "url": "README.md#permissions",
            },
        },
    });
    if let Some(user) = identity.user_principal() {
        body["user"] = json!({
            "id": user,
            "principals": identity.principals(),
            "privileges": identity.privileges,
            "bucket": ids::default_bucket_id(&user),
        });
    }
    Ok(Response::json(200, body as Value))
}
