//! A request as the handlers see it, with the parsing every route shares.

use bytes::Bytes;
use http::{HeaderMap, Method};
use serde_json::{Map, Value};

use crate::api::error::{ApiError, At, Location};
use crate::domain::fields::only_known;
use crate::domain::patch::PatchKind;
use crate::domain::preconditions::Preconditions;

/// The media types a PATCH accepts, one per patch kind.
pub const PATCH_TYPES: [&str; 3] = [
    "application/json",
    "application/merge-patch+json",
    "application/json-patch+json",
];

/// The query parameters a write may carry: the page of `DELETE /v1/buckets`.
pub const WRITE_QUERY: [&str; 3] = ["_limit", "_token", "after"];

/// Bodies larger than this are refused before parsing.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Longest header value read, in bytes: above the longest real token (`auth::MAX_TOKEN_BYTES`,
/// 8 KiB, which answers 401 itself) and any ETag or media type, below what makes parsing a
/// header costly. API Gateway refuses larger headers on AWS; the local stack and direct
/// invocations do not, so the function checks too.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    /// The path as received, starting with `/` (percent-encoding kept).
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// Scheme, host and path prefix under which clients reach the API (no trailing `/`).
    pub base_url: String,
}

impl Request {
    /// A header as text; a value that is not visible ASCII is treated as a bad input.
    pub fn header(&self, name: &str) -> Result<Option<&str>, ApiError> {
        match self.headers.get(name) {
            None => Ok(None),
            Some(v) if v.len() > MAX_HEADER_BYTES => Err(ApiError::invalid(
                Location::Header,
                name,
                format!("is longer than {MAX_HEADER_BYTES} bytes"),
            )),
            Some(v) => v
                .to_str()
                .map(Some)
                .map_err(|_| ApiError::invalid(Location::Header, name, "must be visible ASCII")),
        }
    }

    /// `If-Match` / `If-None-Match`.
    pub fn preconditions(&self) -> Result<Preconditions, ApiError> {
        Preconditions::parse(self.header("if-match")?, self.header("if-none-match")?)
            .at(Location::Header)
    }

    /// The essence of the `Content-Type` (`text/csv; charset=utf-8` → `text/csv`), lowercase;
    /// empty when absent.
    pub fn media_type(&self) -> Result<String, ApiError> {
        Ok(self
            .header("content-type")?
            .map(crate::domain::uploads::mime_essence)
            .unwrap_or_default())
    }

    /// The patch kind the `Content-Type` names (absent: a JSON merge).
    pub fn patch_kind(&self) -> Result<PatchKind, ApiError> {
        let essence = self.media_type()?;
        let essence = if essence.is_empty() {
            PATCH_TYPES[0]
        } else {
            essence.as_str()
        };
        PatchKind::from_media_type(essence)
            .ok_or_else(|| ApiError::unsupported_media_type(&PATCH_TYPES))
    }

    /// A write (POST, PUT, PATCH, DELETE) whose query names anything but a page of
    /// `DELETE /v1/buckets` (`WRITE_QUERY`) is refused naming it: a filter a client meant
    /// for a delete (`?glob=`, `?id=`, `?version_id=`) must never be dropped and the delete
    /// done on everything. Reads are left to their routes.
    pub fn refuse_unknown_write_query(&self) -> Result<(), ApiError> {
        if matches!(self.method, Method::GET | Method::HEAD | Method::OPTIONS) {
            return Ok(());
        }
        match form_urlencoded::parse(self.query.as_bytes())
            .find(|(k, _)| !WRITE_QUERY.contains(&k.as_ref()))
        {
            None => Ok(()),
            Some((name, _)) => Err(ApiError::invalid(
                Location::Querystring,
                &name,
                format!(
                    "is not a parameter of this request (a write takes none but {})",
                    WRITE_QUERY.join(", ")
                ),
            )),
        }
    }

    /// The first value of a query parameter (percent-decoded).
    pub fn query_param(&self, name: &str) -> Option<String> {
        form_urlencoded::parse(self.query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// The path segments after the leading `/`.
    pub fn segments(&self) -> Vec<&str> {
        self.path.trim_start_matches('/').split('/').collect()
    }

    /// The body as JSON for POST/PUT: `None` when empty. Only JSON content types are accepted.
    pub fn json_body(&self) -> Result<Option<Value>, ApiError> {
        let essence = self.media_type()?;
        if essence != "application/json" && !essence.is_empty() {
            return Err(ApiError::unsupported_media_type(&["application/json"]));
        }
        self.any_json_body()
    }

    /// The body of a route that takes a JSON object of fixed fields (`known`), for POST/PUT:
    /// `None` when empty. A body that is not an object, or holds a field not in `known`, is a
    /// 400 naming it, before the route does anything (`domain::fields`). A route that takes no
    /// body passes no fields: `{}` or nothing.
    pub fn fields_body(&self, known: &[&str]) -> Result<Option<Map<String, Value>>, ApiError> {
        match self.json_body()? {
            None => Ok(None),
            Some(Value::Object(map)) => {
                only_known(&map, "", known).at(Location::Body)?;
                Ok(Some(map))
            }
            Some(_) => Err(ApiError::invalid(
                Location::Body,
                "body",
                "must be a JSON object",
            )),
        }
    }

    /// The body as JSON whatever the declared type (PATCH checks its own types).
    pub fn any_json_body(&self) -> Result<Option<Value>, ApiError> {
        if self.body.len() > MAX_BODY_BYTES {
            return Err(ApiError::too_large(
                Location::Body,
                "body",
                format!("is larger than {MAX_BODY_BYTES} bytes"),
            ));
        }
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        serde_json::from_slice(&self.body)
            .map(Some)
            .map_err(|e| ApiError::malformed_json(e.to_string()))
    }

    /// The path prefix of the base URL (`""` on a custom domain, `/_aws/execute-api/<id>`
    /// locally), for relative URLs that must still resolve for the client.
    pub fn base_path(&self) -> &str {
        let after_scheme = self
            .base_url
            .split_once("://")
            .map(|(_, rest)| rest)
            .unwrap_or(&self.base_url);
        after_scheme
            .find('/')
            .map(|i| &after_scheme[i..])
            .unwrap_or("")
    }
}

#[cfg(test)]
pub(crate) fn test_request(method: Method, path_and_query: &str, body: &str) -> Request {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    Request {
        method,
        path: path.to_string(),
        query: query.to_string(),
        headers: HeaderMap::new(),
        body: Bytes::from(body.to_string()),
        base_url: "http://127.0.0.1:4566/_aws/execute-api/abc".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_params_are_decoded() {
        let r = test_request(Method::GET, "/v1/buckets?_limit=5&after=a%2Db", "");
        assert_eq!(r.query_param("_limit").as_deref(), Some("5"));
        assert_eq!(r.query_param("after").as_deref(), Some("a-b"));
        assert_eq!(r.query_param("x"), None);
    }

    #[test]
    fn json_body_rules() {
        assert_eq!(
            test_request(Method::POST, "/", "  ").json_body().unwrap(),
            None
        );
        assert_eq!(
            test_request(Method::POST, "/", "{\"a\":1}")
                .json_body()
                .unwrap()
                .unwrap()["a"],
            1
        );
        assert_eq!(
            test_request(Method::POST, "/", "{")
                .json_body()
                .unwrap_err()
                .code,
            400
        );
        let mut r = test_request(Method::POST, "/", "{}");
        r.headers
            .insert("content-type", "text/plain".parse().unwrap());
        assert_eq!(r.json_body().unwrap_err().code, 415);
        let big = "x".repeat(MAX_BODY_BYTES + 1);
        assert_eq!(
            test_request(Method::POST, "/", &big)
                .json_body()
                .unwrap_err()
                .code,
            413
        );
    }

    #[test]
    fn base_path() {
        let mut r = test_request(Method::GET, "/", "");
        assert_eq!(r.base_path(), "/_aws/execute-api/abc");
        r.base_url = "https://api.example.com".into();
        assert_eq!(r.base_path(), "");
    }

    #[test]
    fn absurd_headers_are_400_naming_them() {
        let mut r = test_request(Method::GET, "/", "");
        let long = "\"".to_string() + &"1".repeat(MAX_HEADER_BYTES) + "\"";
        r.headers.insert("if-match", long.parse().unwrap());
        let err = r.preconditions().unwrap_err();
        assert_eq!(err.code, 400);
        assert_eq!(err.body()["details"][0]["name"], "if-match");
        assert_eq!(err.body()["details"][0]["location"], "header");
        let fine = "\"".to_string() + &"1".repeat(MAX_HEADER_BYTES - 2) + "\"";
        r.headers.insert("if-match", fine.parse().unwrap());
        assert!(r.header("if-match").unwrap().is_some());
    }
}
