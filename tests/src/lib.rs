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
    pub bytes: Vec<u8>,
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
        self.send_bytes(
            method,
            path,
            headers,
            body.map(|b| b.as_bytes().to_vec()),
            body.is_some(),
        )
    }

    /// Sends raw bytes; `json` adds `Content-Type: application/json` unless a type is given.
    pub fn send_bytes(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
        json: bool,
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
        if json && !has_type {
            req = req.header("Content-Type", "application/json");
        }
        let req = req.body(body.unwrap_or_default()).unwrap();
        let mut resp = self
            .agent
            .run(req)
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_vec()
            .unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        // Every answer of the API (not of S3's presigned URLs) keeps the contract.
        if let Some(rest) = url.strip_prefix(&self.base) {
            let path = rest.split('?').next().unwrap_or_default();
            if let Err(broken) = buckets_contract::check(method, path, status, Some(&bytes)) {
                panic!("the answer breaks the contract (shared/openapi.json): {broken}");
            }
        }
        Reply {
            status,
            headers,
            bytes,
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

    /// A new API key of this user that may write bucket `id` and nothing else: the `201`
    /// answer (`data` and the `secret`, shown this once).
    pub fn write_key(&self, id: &str) -> Value {
        self.post(
            "/v1/keys",
            &json!({"title": "job", "buckets": [{"id": id, "access": "write"}]}),
        )
        .expect(201)
        .json()
    }
}

/// Runs a script of `infra/local/` with the build virtualenv's Python (it has boto3), for tests
/// that change or poke the deployed stack.
pub fn local_script(script: &str, args: &[&str]) -> String {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::process::Command::new(root.join(".local/build/bin/python3"))
        .arg(root.join("infra/local").join(script))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {script}: {e}"));
    assert!(
        out.status.success(),
        "{script} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A setting of `.local/env` (exported by `. .local/env`), which must be set and not empty.
pub fn setting(name: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| panic!("{name} is not set: run `make local` and `. .local/env`"))
}

/// The password of the Cognito users the tests create (local stacks only).
pub const COGNITO_PASSWORD: &str = "E2e-test-only-pw1";

/// What a Cognito sign-in gives.
pub struct CognitoTokens {
    pub id: String,
    pub access: String,
}

/// InitiateAuth USER_PASSWORD_AUTH on the emulator's cognito-idp endpoint (a public app
/// client: no AWS signature), as a CLI would after reading `auth` from `GET /v1/`.
pub fn cognito_sign_in(client_id: &str, user: &str) -> CognitoTokens {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let body = json!({
        "AuthFlow": "USER_PASSWORD_AUTH",
        "ClientId": client_id,
        "AuthParameters": {"USERNAME": user, "PASSWORD": COGNITO_PASSWORD},
    });
    let mut resp = agent
        .post(setting("BUCKETS_COGNITO_ENDPOINT"))
        .header("Content-Type", "application/x-amz-json-1.1")
        .header(
            "X-Amz-Target",
            "AWSCognitoIdentityProviderService.InitiateAuth",
        )
        .send(body.to_string())
        .unwrap();
    let text = resp.body_mut().read_to_string().unwrap();
    assert_eq!(resp.status(), 200, "InitiateAuth: {text}");
    let answer: Value = serde_json::from_str(&text).unwrap();
    let result = &answer["AuthenticationResult"];
    CognitoTokens {
        id: result["IdToken"].as_str().unwrap().to_string(),
        access: result["AccessToken"].as_str().unwrap().to_string(),
    }
}

/// A new user of the stack's user pool in these groups (`infra/local/cognito_user.py`),
/// signed in through the stack's app client.
pub fn cognito_user(groups: &[&str]) -> CognitoTokens {
    let name = unique("cognito-");
    let mut args = vec![name.as_str(), COGNITO_PASSWORD];
    args.extend_from_slice(groups);
    local_script("cognito_user.py", &args);
    cognito_sign_in(&setting("BUCKETS_USER_POOL_CLIENT_ID"), &name)
}

/// An upload grant, as `POST /v1/buckets/{id}/files` answers it.
pub struct Upload {
    pub grant: Value,
}

impl Upload {
    pub fn name(&self) -> String {
        self.grant["name"].as_str().unwrap().to_string()
    }

    pub fn upload_id(&self) -> String {
        self.grant["upload_id"].as_str().unwrap().to_string()
    }

    pub fn url(&self) -> String {
        self.grant["upload"]["url"].as_str().unwrap().to_string()
    }

    /// The signed headers as given in the grant.
    pub fn headers(&self) -> Vec<(String, String)> {
        self.grant["upload"]["headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect()
    }

    /// PUTs `body` to the presigned URL with the signed headers, optionally overriding some.
    pub fn put(&self, body: &[u8], overrides: &[(&str, &str)]) -> Reply {
        self.put_to(&self.url(), body, overrides)
    }

    pub fn put_to(&self, url: &str, body: &[u8], overrides: &[(&str, &str)]) -> Reply {
        let mut headers: Vec<(String, String)> = self
            .headers()
            .into_iter()
            .filter(|(k, _)| {
                !overrides.iter().any(|(o, _)| o.eq_ignore_ascii_case(k))
                    && !k.eq_ignore_ascii_case("content-length")
            })
            .collect();
        headers.extend(
            overrides
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        let refs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        Caller::anonymous().send_bytes("PUT", url, &refs, Some(body.to_vec()), false)
    }
}

impl Caller {
    /// Asks for upload grants: `files` = [(name, size, content_type)].
    pub fn grant(&self, bucket: &str, files: &[(&str, usize, &str)]) -> Reply {
        let files: Vec<Value> = files
            .iter()
            .map(|(n, s, t)| json!({"name": n, "size": s, "content_type": t}))
            .collect();
        self.post(
            &format!("/v1/buckets/{bucket}/files"),
            &json!({"files": files}),
        )
    }

    /// One grant for `name`, uploaded with `body`, waited for until recorded.
    pub fn upload(&self, bucket: &str, name: &str, body: &[u8], content_type: &str) -> Value {
        let grant = self
            .grant(bucket, &[(name, body.len(), content_type)])
            .expect(201)
            .json();
        let upload = Upload {
            grant: grant["files"][0].clone(),
        };
        upload.put(body, &[]).expect(200);
        let status = self.wait_upload(bucket, &upload.upload_id());
        assert_eq!(status["status"], "recorded", "{status}");
        status["file"].clone()
    }

    /// Polls the upload's status until it is no longer pending (at most ~60 s: the emulator
    /// delivers S3 events asynchronously and can be slow right after functions restart).
    pub fn wait_upload(&self, bucket: &str, upload_id: &str) -> Value {
        for _ in 0..600 {
            let status = self
                .get(&format!("/v1/buckets/{bucket}/uploads/{upload_id}"))
                .expect(200)
                .json()["data"]
                .clone();
            if status["status"] != "pending" {
                return status;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("upload {upload_id} still pending after 60 s");
    }
}

impl Upload {
    /// The bucket incarnation (generation) the upload belongs to, from its object key
    /// (`<files bucket>/<id>/<generation>/<name>` in the path-style URL).
    pub fn generation(&self) -> String {
        let url = self.url();
        let path = url.split('?').next().unwrap();
        let mut segments = path.split('/').skip(3);
        let (_files_bucket, _id, generation) = (
            segments.next().unwrap(),
            segments.next().unwrap(),
            segments.next().unwrap(),
        );
        generation.to_string()
    }
}

/// What is left of a bucket incarnation in S3 and the table: `{"objects": [...], "items": [...]}`.
pub fn leftovers(id: &str, generation: &str) -> Value {
    serde_json::from_str(&local_script("leftovers.py", &[id, generation])).unwrap()
}

/// Waits until nothing is left of the incarnation (its cascade is over), at most `secs`.
pub fn wait_until_gone(id: &str, generation: &str, secs: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let left = leftovers(id, generation);
        let empty = left["objects"].as_array().unwrap().is_empty()
            && left["items"].as_array().unwrap().is_empty();
        if empty {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{id}/{generation} still has {left} after {secs} s"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

/// Log lines (their JSON fields) of a deployed function containing `text`, written since
/// `since_ms`; `function` is its key in `.local/env`, e.g. `BUCKETS_CASCADE_FUNCTION`.
pub fn function_logs(function: &str, since_ms: i64, text: &str) -> Vec<Value> {
    local_script("function_logs.py", &[function, &since_ms.to_string(), text])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}
