//! The history route of the activity function: `GET /v1/buckets/{id}/history`, Kinto's history
//! plugin's listing (filters `_since`, `_before`, `resource_name`, `action`, `user_id`; pages
//! with `_limit`, `_token` and `Next-Page`).

use serde_json::Value;

use crate::domain::history::HistoryFilter;
use crate::ports::{BucketStore, HistoryStore};

use super::app::{App, InBucket};
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

/// `GET /v1/buckets/{id}/history` (dispatched from `webhooks`' `ActivityFunction`).
pub(super) async fn list<S: BucketStore + HistoryStore, O>(
    app: &App<S, O>,
    req: &Request,
    at: &InBucket,
) -> Result<Response, ApiError> {
    let filter = HistoryFilter::parse(|k| req.query_param(k)).at(Location::Querystring)?;
    let page = page_request(req, &app.cursor_keys)?;
    let found = app
        .services
        .history(
            &at.identity,
            &at.bucket,
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
        &format!("/v1/buckets/{}/history", at.segment),
        &extra,
        data,
        found.last.is_some(),
        found.last,
        page.limit,
    ))
}
