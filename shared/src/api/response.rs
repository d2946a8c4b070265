//! Responses as plain values: a status, headers and an optional JSON body.

use serde_json::Value;

use crate::api::error::ApiError;

pub const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";

#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
}

impl Response {
    pub fn json(status: u16, body: Value) -> Response {
        Response {
            status,
            headers: vec![],
            body: Some(body),
        }
    }

    pub fn empty(status: u16) -> Response {
        Response {
            status,
            headers: vec![],
            body: None,
        }
    }

    pub fn redirect(status: u16, location: String) -> Response {
        Response::empty(status).with_header("Location", location)
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Response {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The answer to a `HEAD`: this (`GET`) answer without its body, its type still said.
    pub fn without_body(mut self) -> Response {
        if self.body.take().is_some() {
            self = self.with_header("Content-Type", JSON_CONTENT_TYPE);
        }
        self
    }

    /// The body as bytes, with the content type to send (none for an empty body).
    pub fn body_bytes(&self) -> Option<Vec<u8>> {
        self.body
            .as_ref()
            .map(|b| serde_json::to_vec(b).unwrap_or_default())
    }
}

impl From<ApiError> for Response {
    fn from(err: ApiError) -> Response {
        let resp = Response::json(err.code, err.body());
        match err.code {
            401 => resp.with_header("WWW-Authenticate", "Bearer realm=\"buckets\""),
            code if code >= 500 => resp.with_header("Retry-After", "5"),
            _ => resp,
        }
    }
}
