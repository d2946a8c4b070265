//! The HTTP side: one agent for the API and for presigned S3 URLs, the credential, the error
//! envelope turned into a `Failure`, and the URL rule of docs/api.md ("URLs in answers").

use std::io::Read;
use std::time::Duration;

use serde_json::Value;
use ureq::Agent;

use crate::failure::{Exit, Failure};

/// Largest API answer read into memory (the API bounds its own answers well below this).
const MAX_ANSWER_BYTES: u64 = 16 * 1024 * 1024;

/// How the caller proves who it is.
#[derive(Clone, Debug)]
pub enum Credential {
    None,
    ApiKey(String),
    Token(String),
}

pub struct Api {
    /// The API base, e.g. `https://api.example.com` or `http://127.0.0.1:4566/_aws/execute-api/x/$default`.
    pub base: String,
    credential: Credential,
    /// Where the credential came from (`BUCKETS_API_KEY`, `--token`, the config file …).
    pub source: String,
    agent: Agent,
}

/// An answer: status, a few headers, the body as JSON (`Null` when empty or not JSON).
pub struct Answer {
    pub status: u16,
    pub etag: Option<String>,
    pub body: Value,
}

pub fn agent() -> Agent {
    Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(10)))
        // No global timeout: a 512 MiB part may take long; a stalled socket is caught by this.
        .timeout_recv_body(Some(Duration::from_secs(120)))
        .timeout_recv_response(Some(Duration::from_secs(120)))
        .max_idle_connections_per_host(64)
        .build()
        .into()
}

impl Api {
    pub fn new(base: &str, credential: Credential) -> Api {
        Api {
            base: base.trim_end_matches('/').to_string(),
            credential,
            source: String::new(),
            agent: agent(),
        }
    }

    /// Says where the credential came from.
    pub fn from(mut self, source: String) -> Api {
        self.source = source;
        self
    }

    pub fn credential(&self) -> &Credential {
        &self.credential
    }

    pub fn agent(&self) -> &Agent {
        &self.agent
    }

    /// Resolves a URL the API answered against `<base>/` (RFC 3986, as docs/api.md says):
    /// absolute as is, `/…` on the base's origin, anything else relative to the base.
    pub fn resolve(&self, url: &str) -> String {
        if url.contains("://") {
            url.to_string()
        } else if url.starts_with('/') {
            format!("{}{url}", origin(&self.base))
        } else {
            format!("{}/{url}", self.base)
        }
    }

    /// `path` is `/v1/…` (joined to the base) or any URL the API answered.
    fn url(&self, path: &str) -> String {
        if path.starts_with("/v1/") || path == "/v1" {
            format!("{}{path}", self.base)
        } else {
            self.resolve(path)
        }
    }

    pub fn get(&self, path: &str) -> Result<Answer, Failure> {
        self.call("GET", path, None, &[])
    }

    pub fn send(&self, method: &str, path: &str, body: &Value) -> Result<Answer, Failure> {
        self.call(method, path, Some(body), &[])
    }

    /// A call whose answer must be 2xx; anything else becomes the API's message.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<Answer, Failure> {
        let answer = self.raw(method, path, body, headers)?;
        if (200..300).contains(&answer.status) {
            Ok(answer)
        } else {
            Err(api_failure(&answer))
        }
    }

    /// A call answered whatever its status (the caller decides).
    pub fn raw(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<Answer, Failure> {
        let url = self.url(path);
        let mut req = http::Request::builder()
            .method(method)
            .uri(&url)
            .header("accept", "application/json");
        match &self.credential {
            Credential::None => {}
            Credential::ApiKey(k) => req = req.header("x-api-key", k),
            Credential::Token(t) => req = req.header("authorization", format!("Bearer {t}")),
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let has_type = headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
        let body = match body {
            Some(b) => {
                if !has_type {
                    req = req.header("content-type", "application/json");
                }
                b.to_string()
            }
            None => String::new(),
        };
        let req = req
            .body(body)
            .map_err(|e| Failure::usage(format!("bad request {method} {url}: {e}")))?;
        let mut resp = self.agent.run(req).map_err(|e| Failure::network(&url, e))?;
        let status = resp.status().as_u16();
        let header = |n: &str| {
            resp.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let etag = header("etag");
        let mut text = String::new();
        resp.body_mut()
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .reader()
            .read_to_string(&mut text)
            .map_err(|e| Failure::network(&url, e))?;
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(Answer { status, etag, body })
    }

    /// Every item of a paged list (`{data, has_more, next_uri}`), following `next_uri`.
    pub fn all_pages(&self, first: &str, max: usize) -> Result<Vec<Value>, Failure> {
        let mut out = Vec::new();
        let mut next = Some(first.to_string());
        while let Some(path) = next.take() {
            let page = self.get(&path)?.body;
            if let Some(items) = page["data"].as_array() {
                out.extend(items.iter().cloned());
            }
            if out.len() >= max {
                out.truncate(max);
                break;
            }
            if page["has_more"].as_bool() == Some(true) {
                next = page["next_uri"].as_str().map(str::to_string);
            }
        }
        Ok(out)
    }
}

/// `scheme://host[:port]` of a URL.
pub fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

/// The Kinto error envelope as a failure: its message, and the exit code of its status.
pub fn api_failure(answer: &Answer) -> Failure {
    let message = answer.body["message"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| format!("HTTP {}", answer.status));
    let exit = match answer.status {
        401 | 403 => Exit::Denied,
        404 => Exit::NotFound,
        412 => Exit::Conflict,
        400..=499 => Exit::Refused,
        _ => Exit::Unavailable,
    };
    Failure::new(exit, format!("{} ({})", message, answer.status))
}

/// Percent-encodes one path segment (a bucket id or a file name).
pub fn segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_resolve_as_the_readme_says() {
        let api = Api::new(
            "http://127.0.0.1:4566/_aws/execute-api/x/$default/",
            Credential::None,
        );
        assert_eq!(
            api.resolve("/_aws/execute-api/x/$default/v1/buckets/a/uploads/u"),
            "http://127.0.0.1:4566/_aws/execute-api/x/$default/v1/buckets/a/uploads/u"
        );
        assert_eq!(api.resolve("https://s3/x?y"), "https://s3/x?y");
        assert_eq!(
            api.url("/v1/buckets"),
            "http://127.0.0.1:4566/_aws/execute-api/x/$default/v1/buckets"
        );
        assert_eq!(origin("https://h.example/a/b"), "https://h.example");
    }

    #[test]
    fn segments_are_encoded() {
        assert_eq!(segment("a b/c.csv"), "a%20b%2Fc.csv");
    }
}
