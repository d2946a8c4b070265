//! `POST /v1/batch` as Kinto serves it: `{"defaults"?, "requests": [{method?, path, headers?,
//! body?}]}` → `{"responses": [{status, path, body, headers}]}`, one sub-response per request,
//! in order, each with its own status. Every sub-request is answered with the caller's own
//! headers (so its own identity and permissions) overlaid by the sub-request's; `defaults` fills
//! what a request leaves out; paths may omit the `/v1` prefix. The buckets function answers the
//! bucket and data routes; file routes need the files function (its S3 client), so their
//! sub-requests answer `400` saying so.

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method};
use percent_encoding::percent_decode_str;
use serde_json::{Map, Value, json};

use crate::domain::fields::only_known;
use crate::ports::{BucketStore, DataStore};

use super::app::App;
use super::error::{ApiError, At, Location};
use super::request::Request;
use super::response::{JSON_CONTENT_TYPE, Response};
use super::root::{BATCH_MAX_REQUESTS, serve_single};

const METHODS: [&str; 6] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];

/// The fields of a sub-request, and of `defaults` (which fills them).
const REQUEST_FIELDS: [&str; 4] = ["method", "path", "headers", "body"];

/// One validated sub-request.
struct Sub {
    method: Method,
    path: String,
    query: String,
    headers: Map<String, Value>,
    body: Option<Value>,
}

pub async fn batch<S: BucketStore + DataStore, O>(
    app: &App<S, O>,
    req: &Request,
) -> Result<Response, ApiError> {
    let subs = parse(req)?;
    let mut responses = Vec::with_capacity(subs.len());
    for (i, sub) in subs.into_iter().enumerate() {
        let path = percent_decode_str(&sub.path)
            .decode_utf8_lossy()
            .into_owned();
        let sub_req = build(req, sub, i)?;
        // Boxed: the handlers' futures nest deep (compile-time layout depth).
        let resp = Box::pin(answer(app, &sub_req, i)).await;
        let mut headers = Map::new();
        for (k, v) in &resp.headers {
            headers.insert(k.clone(), json!(v));
        }
        let body = match resp.body {
            Some(body) => {
                headers.insert("Content-Type".into(), json!(JSON_CONTENT_TYPE));
                body
            }
            None => json!(""),
        };
        responses
            .push(json!({"status": resp.status, "path": path, "body": body, "headers": headers}));
    }
    Ok(Response::json(200, json!({ "responses": responses })))
}

/// One sub-request's answer, by the function that would answer it alone (its routes,
/// `405`s with `Allow` and `HEAD` as they would).
async fn answer<S: BucketStore + DataStore, O>(
    app: &App<S, O>,
    req: &Request,
    i: usize,
) -> Response {
    match req.segments().as_slice() {
        ["v1", "buckets", _, "data"] => super::data::handle(app, req).await,
        ["v1", "buckets", _, _, ..] | ["files", ..] | ["v1", "files", ..] => {
            let mut err = ApiError::invalid(
                Location::Body,
                &format!("requests[{i}].path"),
                "file, upload and job routes are not served in a batch (the files function \
                 answers them): send this request on its own",
            );
            // Not the batch's fault as a whole: this sub-request alone is refused.
            err.message = format!("{} ({})", err.message, req.path);
            Response::from(err)
        }
        // A created key's secret must not ride in an answer that caches and logs may keep
        // (the batch's own 200 is not `no-store`), and 25 key writes per request multiply
        // their cost: keys are managed one request at a time.
        ["v1", "keys", ..] => {
            let mut err = ApiError::invalid(
                Location::Body,
                &format!("requests[{i}].path"),
                "API key routes are not served in a batch: send this request on its own",
            );
            err.message = format!("{} ({})", err.message, req.path);
            Response::from(err)
        }
        _ => serve_single(app, req).await,
    }
}

fn invalid(name: &str, description: &str) -> ApiError {
    ApiError::invalid(Location::Body, name, description)
}

/// Fills what `target` leaves out from `defaults`, recursively (Kinto's `merge_dicts`).
fn merge_defaults(target: &mut Map<String, Value>, defaults: &Map<String, Value>) {
    for (k, v) in defaults {
        match (target.get_mut(k), v) {
            (None, _) => {
                target.insert(k.clone(), v.clone());
            }
            (Some(Value::Object(t)), Value::Object(d)) => merge_defaults(t, d),
            _ => {}
        }
    }
}

fn parse(req: &Request) -> Result<Vec<Sub>, ApiError> {
    let body = req
        .fields_body(&["defaults", "requests"])?
        .ok_or_else(|| invalid("requests", "is required"))?;
    let defaults = match body.get("defaults") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(d)) => {
            only_known(d, "defaults", &REQUEST_FIELDS).at(Location::Body)?;
            d.clone()
        }
        Some(_) => return Err(invalid("defaults", "must be an object")),
    };
    let requests = match body.get("requests") {
        None | Some(Value::Null) => return Err(invalid("requests", "is required")),
        Some(Value::Array(r)) => r,
        Some(_) => return Err(invalid("requests", "must be an array")),
    };
    if requests.is_empty() {
        return Err(invalid("requests", "must hold at least one request"));
    }
    if requests.len() > BATCH_MAX_REQUESTS {
        return Err(invalid(
            "requests",
            &format!("Number of requests is limited to {BATCH_MAX_REQUESTS}"),
        ));
    }
    requests
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let Value::Object(r) = r else {
                return Err(invalid(&format!("requests[{i}]"), "must be an object"));
            };
            only_known(r, &format!("requests[{i}]"), &REQUEST_FIELDS).at(Location::Body)?;
            let mut r = r.clone();
            merge_defaults(&mut r, &defaults);
            sub(i, r)
        })
        .collect()
}

fn sub(i: usize, mut r: Map<String, Value>) -> Result<Sub, ApiError> {
    let field = |name: &str| format!("requests[{i}].{name}");
    let method = match r.get("method") {
        None | Some(Value::Null) => Method::GET,
        Some(Value::String(m)) if METHODS.contains(&m.to_ascii_uppercase().as_str()) => {
            Method::from_bytes(m.to_ascii_uppercase().as_bytes()).unwrap_or(Method::GET)
        }
        Some(_) => {
            return Err(invalid(
                &field("method"),
                &format!("must be one of {}", METHODS.join(", ")),
            ));
        }
    };
    let raw = match r.get("path") {
        None | Some(Value::Null) => return Err(invalid(&field("path"), "is required")),
        Some(Value::String(p)) if p.starts_with('/') => p.clone(),
        Some(_) => return Err(invalid(&field("path"), "must be a path starting with /")),
    };
    let (path, query) = raw.split_once('?').unwrap_or((&raw, ""));
    let path = if path.starts_with("/v1") {
        path.to_string()
    } else {
        format!("/v1{path}")
    };
    if path.trim_end_matches('/') == "/v1/batch" {
        return Err(invalid(
            &field("path"),
            "Recursive call on /batch endpoint is forbidden.",
        ));
    }
    if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid(&field("path"), "must be a path without spaces"));
    }
    let headers = match r.remove("headers") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(h)) if h.values().all(Value::is_string) => h,
        Some(_) => {
            return Err(invalid(
                &field("headers"),
                "must be an object of string values",
            ));
        }
    };
    Ok(Sub {
        method,
        path,
        query: query.to_string(),
        headers,
        body: r.remove("body"),
    })
}

/// The sub-request: the batch request's headers (its identity), overlaid by the sub-request's;
/// a body is sent as JSON.
fn build(parent: &Request, sub: Sub, i: usize) -> Result<Request, ApiError> {
    let mut headers = parent.headers.clone();
    headers.remove("content-length");
    headers.remove("content-type");
    for (k, v) in &sub.headers {
        let bad = || {
            invalid(
                &format!("requests[{i}].headers.{k}"),
                "is not a valid header",
            )
        };
        let name = HeaderName::from_bytes(k.as_bytes()).map_err(|_| bad())?;
        let value = HeaderValue::from_str(v.as_str().unwrap_or_default()).map_err(|_| bad())?;
        headers.insert(name, value);
    }
    let body = match sub.body {
        None | Some(Value::Null) => Bytes::new(),
        Some(body) => {
            if !headers.contains_key("content-type") {
                headers.insert(
                    "content-type",
                    HeaderValue::from_static("application/json; charset=utf-8"),
                );
            }
            Bytes::from(body.to_string())
        }
    };
    Ok(Request {
        method: sub.method,
        path: sub.path,
        query: sub.query,
        headers,
        body,
        base_url: parent.base_url.clone(),
    })
}
