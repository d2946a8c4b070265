//! Answers as the tests read them: statuses, headers, bodies, and the Kinto error envelope.

use serde_json::Value;
use shared::api::response::Response;

/// An answer, with what was asked for the failure messages.
#[derive(Debug)]
pub struct Resp {
    pub resp: Response,
    what: String,
}

/// Kinto's `error` for each status.
fn reason(status: u16) -> &'static str {
    match status {
        400 => "Invalid parameters",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        412 => "Precondition Failed",
        413 => "Request Entity Too Large",
        415 => "Unsupported Media Type",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    }
}

impl Resp {
    pub fn new(what: impl Into<String>, resp: Response) -> Resp {
        Resp {
            resp,
            what: what.into(),
        }
    }

    pub fn status(&self) -> u16 {
        self.resp.status
    }

    pub fn expect(self, status: u16) -> Resp {
        assert_eq!(
            self.resp.status, status,
            "{}: {:?}",
            self.what, self.resp.body
        );
        self
    }

    pub fn json(&self) -> Value {
        self.resp
            .body
            .clone()
            .unwrap_or_else(|| panic!("{}: no body", self.what))
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.resp.header(name).map(str::to_string)
    }

    /// The Kinto error envelope with this status and errno (and a 401's `WWW-Authenticate`, a
    /// 5xx's `Retry-After`); answers the body.
    pub fn expect_error(self, status: u16, errno: u16) -> Value {
        let what = self.what.clone();
        let this = self.expect(status);
        let body = this.json();
        assert_eq!(body["code"], status, "{what}: {body}");
        assert_eq!(body["errno"], errno, "{what}: {body}");
        assert_eq!(body["error"], reason(status), "{what}: {body}");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(!message.is_empty(), "{what}: {body}");
        if status == 401 {
            let challenge = this.header("www-authenticate").unwrap_or_default();
            assert!(challenge.starts_with("Bearer"), "{what}: {challenge:?}");
        }
        assert_eq!(
            this.header("retry-after").is_some(),
            status >= 500,
            "{what}"
        );
        body
    }

    /// A bad input: 400 (errno 107), 413 (113) or 415 (107), naming `name` found at `location`
    /// in `details` and in the message.
    pub fn expect_invalid(self, status: u16, location: &str, name: &str) -> Value {
        let what = self.what.clone();
        let errno = if status == 413 { 113 } else { 107 };
        let body = self.expect_error(status, errno);
        let detail = &body["details"][0];
        assert_eq!(detail["location"], location, "{what}: {body}");
        assert_eq!(detail["name"], name, "{what}: {body}");
        let description = detail["description"].as_str().unwrap_or_default();
        assert!(!description.is_empty(), "{what}: {body}");
        // The body as a whole reads "the body …", never "body in body: …".
        let message = if name == "body" && location == "body" {
            format!("the body {description}")
        } else {
            format!("{name} in {location}: {description}")
        };
        assert_eq!(body["message"], message.as_str(), "{what}");
        body
    }
}

/// The `id`s of a listing's `data`.
pub fn ids(page: &Value, key: &str) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap_or_else(|| panic!("a listing: {page}"))
        .iter()
        .map(|item| item[key].as_str().expect("a string").to_string())
        .collect()
}
