//! The history route of the activity function: `GET /v1/buckets/{id}/history`, Kinto's history
//! plugin's listing (filters `_since`, `_before`, `resource_name`, `action`, `user_id`; pages
//! with `_limit`, `_token` and `Next-Page`).

use http::Method;
use serde_json::Value;

use crate::domain::history::HistoryFilter;
use crate::ports::{BucketStore, HistoryStore};

use super::app::{App, bucket_ref};
use super::error::{ApiError, At, Location};
use super::paging::{page_request, page_response};
use super::request::Request;
use super::response::Response;

/// The filters a next page repeats.
const FILTERS: [&str; 6] = [
    "_since",
    "_before",
    "resource_name",
    "action",
    "user_id",
    "_sort",
];

/// Answers any request that reaches the activity function's routes.
pub async fn handle<S: BucketStore + HistoryStore, O>(app: &App<S, O>, req: &Request) -> Response {
    match req.as_get_for_head() {
        Some(get) => route(app, &get)
            .await
            .unwrap_or_else(Response::from)
            .without_body(),
        None => route(app, req).await.unwrap_or_else(Response::from),
    }
}

async fn route<S: BucketStore + HistoryStore, O>(
    app: &App<S, O>,
    req: &Request,
) -> Result<Response, ApiError> {
    match req.segments().as_slice() {
        ["v1", "buckets", id, "history"] if req.method == Method::GET => list(app, req, id).await,
        ["v1", "buckets", _, "history"] => Err(ApiError::method_not_allowed(req.method.as_str())),
        _ => Err(ApiError::no_route()),
    }
}

async fn list<S: BucketStore + HistoryStore, O>(
    app: &App<S, O>,
    req: &Request,
    segment: &str,
) -> Result<Response, ApiError> {
    let identity = app.identify(req).await?;
    let bucket = bucket_ref(segment)?;
    let filter = HistoryFilter::parse(|k| req.query_param(k)).at(Location::Querystring)?;
    let page = page_request(req, &app.cursor_keys)?;
    let found = app
        .services
        .history(
            &identity,
            &bucket,
            &filter,
            page.after.as_deref(),
            page.limit,
        )
        .await?;
    let data: Vec<Value> = found.entries.iter().map(|e| e.to_json()).collect();
    let extra: Vec<(&str, String)> = FILTERS
        .iter()
        .filter_map(|k| req.query_param(k).map(|v| (*k, v)))
        .collect();
    let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Ok(page_response(
        req,
        &app.cursor_keys,
        &format!("/v1/buckets/{segment}/history"),
        &extra,
        data,
        found.last.is_some(),
        found.last,
        page.limit,
    ))
}
