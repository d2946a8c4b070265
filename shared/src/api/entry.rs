//! The entry of the Buckets function: `/v1/batch` (whose sub-requests go to `root::single`),
//! every other request to `root::single`; `HEAD` as `GET` without the body.

use crate::ports::{BucketStore, DataStore};

use super::app::App;
use super::batch;
use super::error::ApiError;
use super::request::Request;
use super::response::Response;
use super::root::single;

/// Answers any request that reaches the Buckets function (`HEAD` as `GET` without the body).
pub async fn handle<S: BucketStore + DataStore, O>(app: &App<S, O>, req: &Request) -> Response {
    match req.as_get_for_head() {
        Some(get) => route(app, &get)
            .await
            .unwrap_or_else(Response::from)
            .without_body(),
        None => route(app, req).await.unwrap_or_else(Response::from),
    }
}

async fn route<S: BucketStore + DataStore, O>(
    app: &App<S, O>,
    req: &Request,
) -> Result<Response, ApiError> {
    match req.segments().as_slice() {
        ["v1", "batch"] => batch::batch(app, req).await,
        _ => single(app, req).await,
    }
}
