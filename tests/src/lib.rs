//! A small client for the end-to-end tests: it talks to the stack `make local` deployed, at
//! `BUCKETS_API_URL`, with HS256 tokens signed by `BUCKETS_JWT_SECRET` (both in `.local/env`).

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

pub fn api_url() -> String {
    std::env::var("BUCKETS_API_URL")
        .expect(
            "BUCKETS_API_URL is not set: run `make local` and `. .local/env` (make test does both)",
        )
        .trim_end_matches('/')
        .to_string()
}

fn secret() -> String {
    std::env::var("BUCKETS_JWT_SECRET").expect("BUCKETS_JWT_SECRET is not set (see .local/env)")
}

pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A random suffix, so that tests sharing one stack never meet each other's users or buckets.
pub fn unique(prefix: &str) -> String {
    let mut raw = [0u8; 6];
    getrandom::fill(&mut raw).unwrap();
    format!("{prefix}{}", hex::encode(raw))
}

/// A token for `sub` with `privileges`, valid for an hour.
pub fn token(sub: &str, privileges: &[&str]) -> String {
    sign(
        &json!({"sub": sub, "exp": now_secs() + 3600, "privileges": privileges}),
        secret().as_bytes(),
    )
}

/// Signs any claims with HS256 and `key` (for the attack cases).
pub fn sign(claims: &Value, key: &[u8]) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(key),
    )
    .unwrap()
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    }

    /// Asserts the status, printing the body when it differs.
    #[track_caller]
    pub fn expect(self, status: u16) -> Reply {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }

    /// Asserts a Kinto error envelope with this status and errno.
    #[track_caller]
    pub fn expect_error(self, status: u16, errno: u16) -> Value {
        let body = self.expect(status).json();
        assert_eq!(body["code"], status, "{body}");
        assert_eq!(body["errno"], errno, "{body}");
        assert!(
            body["error"].is_string() && body["message"].is_string(),
            "{body}"
        );
        body
    }
}

/// One caller: a token (or none) and the API base URL.
#[derive(Clone)]
pub struct Caller {
    pub token: Option<String>,
    pub base: String,
    agent: ureq::Agent,
}

impl Caller {
    pub fn anonymous() -> Caller {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        Caller {
            token: None,
            base: api_url(),
            agent,
        }
    }

    pub fn with_token(token: String) -> Caller {
        Caller {
            token: Some(token),
            ..Caller::anonymous()
        }
    }

    /// A new user, unique to this test, with these privileges.
    pub fn user(name: &str, privileges: &[&str]) -> Caller {
        Caller::with_token(token(&unique(&format!("{name}-")), privileges))
    }

    pub fn sub(&self) -> String {
        let token = self.token.as_ref().expect("an authenticated caller");
        let claims = token.split('.').nth(1).unwrap();
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap();
        claims["sub"].as_str().unwrap().to_string()
    }

    pub fn principal(&self) -> String {
        format!("user:{}", self.sub())
    }

    /// Sends `method path` (path relative to the API base, or an absolute URL).
    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Reply {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        let mut req = http::Request::builder().method(method).uri(&url);
        if let Some(t) = &self.token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        let mut has_type = false;
        for (k, v) in headers {
            has_type |= k.eq_ignore_ascii_case("content-type");
            req = req.header(*k, *v);
        }
        if body.is_some() && !has_type {
            req = req.header("Content-Type", "application/json");
        }
        let req = req.body(body.unwrap_or("").as_bytes().to_vec()).unwrap();
        let mut resp = self
            .agent
            .run(req)
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        Reply {
            status,
            headers,
            text,
        }
    }

    pub fn get(&self, path: &str) -> Reply {
        self.send("GET", path, &[], None)
    }

    pub fn delete(&self, path: &str) -> Reply {
        self.send("DELETE", path, &[], None)
    }

    pub fn post(&self, path: &str, body: &Value) -> Reply {
        self.send("POST", path, &[], Some(&body.to_string()))
    }

    pub fn put(&self, path: &str, body: &Value) -> Reply {
        self.send("PUT", path, &[], Some(&body.to_string()))
    }

    pub fn patch(&self, path: &str, content_type: &str, body: &Value) -> Reply {
        self.send(
            "PATCH",
            path,
            &[("Content-Type", content_type)],
            Some(&body.to_string()),
        )
    }

    /// Creates a bucket with this id (PUT) and returns its envelope.
    pub fn create_bucket(&self, id: &str, body: &Value) -> Value {
        self.put(&format!("/v1/buckets/{id}"), body)
            .expect(201)
            .json()
    }
}
