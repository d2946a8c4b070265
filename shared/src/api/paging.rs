//! Page links shared by every listing: `Next-Page` (absolute) and `next_uri` (the same, without
//! scheme and host, keeping the base path so it resolves for the client).

use crate::domain::pagination::{self, CursorKeys};
use crate::domain::time::now_ms;

use serde_json::{Value, json};

use super::error::{ApiError, At, Location};
use super::request::Request;
use super::response::Response;

/// `(absolute, relative)` links to the page after `last_key` of `path`, carrying `extra` query
/// pairs (such as `glob`).
pub fn next_page_links(
    req: &Request,
    keys: &CursorKeys,
    path: &str,
    extra: &[(&str, &str)],
    limit: usize,
    last_key: &str,
) -> (String, String) {
    let token = pagination::encode_token(keys, last_key, now_ms());
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in extra {
        query.append_pair(k, v);
    }
    query
        .append_pair("_limit", &limit.to_string())
        .append_pair("_token", &token);
    let path_and_query = format!("{}{path}?{}", req.base_path(), query.finish());
    let host = req
        .base_url
        .strip_suffix(req.base_path())
        .unwrap_or(&req.base_url);
    (format!("{host}{path_and_query}"), path_and_query)
}

/// The page request of a listing (`_limit`, `_token`, `after`).
pub fn page_request(req: &Request, keys: &CursorKeys) -> Result<pagination::PageRequest, ApiError> {
    pagination::page_request(
        req.query_param("_limit").as_deref(),
        req.query_param("_token").as_deref(),
        req.query_param("after").as_deref(),
        keys,
        now_ms(),
    )
    .at(Location::Querystring)
}

/// Where the page after this one starts: the last key the store looked at, else where this
/// page started; `None` when nothing follows.
pub fn next_after(
    has_more: bool,
    last_key: Option<String>,
    after: Option<String>,
) -> Option<String> {
    has_more.then(|| last_key.or(after)).flatten()
}

/// A page of a listing of `path`: `{data, has_more, next_uri}` and the `Next-Page` header,
/// which continue after `next` with the same `_limit` and `extra` query pairs.
#[allow(clippy::too_many_arguments)] // the page's parts, each plain; a struct would only rename them
pub fn page_response(
    req: &Request,
    keys: &CursorKeys,
    path: &str,
    extra: &[(&str, &str)],
    data: Vec<Value>,
    has_more: bool,
    next: Option<String>,
    limit: usize,
) -> Response {
    let mut body = json!({"data": data, "has_more": has_more, "next_uri": null});
    let mut header = None;
    if has_more && let Some(last) = next {
        let (absolute, relative) = next_page_links(req, keys, path, extra, limit, &last);
        body["next_uri"] = json!(relative);
        header = Some(absolute);
    }
    let resp = Response::json(200, body);
    match header {
        Some(h) => resp.with_header("Next-Page", h),
        None => resp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::request::test_request;
    use http::Method;

    #[test]
    fn links_keep_the_base_path_and_extra_query() {
        let req = test_request(Method::GET, "/v1/buckets/b/files", "");
        let keys = CursorKeys::parse("t:0123456789abcdef0123456789abcdef").unwrap();
        let (abs, rel) = next_page_links(
            &req,
            &keys,
            "/v1/buckets/b/files",
            &[("glob", "*.csv")],
            5,
            "a.csv",
        );
        assert!(
            rel.starts_with("/_aws/execute-api/abc/v1/buckets/b/files?glob=*.csv&_limit=5&_token="),
            "{rel}"
        );
        assert_eq!(abs, format!("http://127.0.0.1:4566{rel}"));
    }
}
