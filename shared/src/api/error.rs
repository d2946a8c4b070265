//! One error type for every route, rendered once as the Kinto error envelope
//! `{code, errno, error, message, details?}`.

use serde_json::{Value, json};

use crate::domain::error::{RuleError, RuleKind};
use crate::ports::StoreError;
use crate::service::Error;

/// The path parameters of the routes: a rule broken by a field of one of these names is about
/// the path; any other rule a use case reports is about the body (query strings and headers
/// are read, and their errors located, by the routes themselves: `At`).
const PATH_PARAMETERS: [&str; 3] = ["id", "name", "upload_id"];

/// Where a bad input was found, as Kinto names it in `details[].location`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    Body,
    Querystring,
    Header,
    Path,
}

impl Location {
    fn as_str(self) -> &'static str {
        match self {
            Location::Body => "body",
            Location::Querystring => "querystring",
            Location::Header => "header",
            Location::Path => "path",
        }
    }
}

/// An answer that is not a success. `code` is the HTTP status, `errno` Kinto's error number.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: u16,
    pub errno: u16,
    pub message: String,
    pub details: Option<Value>,
}

impl ApiError {
    fn new(code: u16, errno: u16, message: impl Into<String>) -> Self {
        ApiError {
            code,
            errno,
            message: message.into(),
            details: None,
        }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// A broken rule, for a value found at `location`: 413 (errno 113) for a size bound, else
    /// 400 (errno 107).
    pub fn rule(rule: RuleError, location: Location) -> Self {
        match rule.kind {
            RuleKind::Invalid => Self::invalid(location, &rule.field, rule.reason),
            RuleKind::TooLarge => Self::too_large(location, &rule.field, rule.reason),
        }
    }

    /// 400, errno 107: an input that breaks a rule. `name` is the field (`data.title`, `_limit`, …).
    pub fn invalid(location: Location, name: &str, description: impl Into<String>) -> Self {
        let description = description.into();
        // The body as a whole reads "the body must be …", never "body in body: …".
        let message = if name == "body" && location == Location::Body {
            format!("the body {description}")
        } else {
            format!("{name} in {}: {description}", location.as_str())
        };
        ApiError::new(400, 107, message).with_details(json!([{
            "location": location.as_str(),
            "name": name,
            "description": description,
        }]))
    }

    /// 400, errno 107 for a body that is not JSON at all.
    pub fn malformed_json(description: impl Into<String>) -> Self {
        Self::invalid(
            Location::Body,
            "body",
            format!("is not valid JSON: {}", description.into()),
        )
    }

    /// 401, errno 104.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        ApiError::new(401, 104, message)
    }

    /// 403, errno 121.
    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::new(403, 121, message)
    }

    /// 404, errno 111 for a resource, with its id.
    pub fn not_found(resource: &str, id: &str) -> Self {
        ApiError::new(
            404,
            111,
            "The resource you are looking for could not be found.",
        )
        .with_details(json!({"id": id, "resource_name": resource}))
    }

    /// 404, errno 111 for a path no route serves.
    pub fn no_route() -> Self {
        ApiError::new(
            404,
            111,
            "The resource you are looking for could not be found.",
        )
    }

    /// 405, errno 115.
    pub fn method_not_allowed(method: &str) -> Self {
        ApiError::new(
            405,
            115,
            format!("Method not allowed on this endpoint: {method}"),
        )
    }

    /// 409, errno 122.
    pub fn conflict(message: impl Into<String>) -> Self {
        ApiError::new(409, 122, message)
    }

    /// 412, errno 114. Kinto puts the current object under `details.existing`.
    pub fn precondition_failed(existing: Option<Value>) -> Self {
        let err = ApiError::new(412, 114, "Resource was modified meanwhile");
        match existing {
            Some(existing) => err.with_details(json!({ "existing": existing })),
            None => err,
        }
    }

    /// 413, errno 107, naming the field that is too large.
    pub fn too_large(location: Location, name: &str, description: impl Into<String>) -> Self {
        let mut err = Self::invalid(location, name, description);
        // Kinto's REQUEST_TOO_LARGE.
        err.code = 413;
        err.errno = 113;
        err
    }

    /// 415, errno 107, naming the Content-Type header.
    pub fn unsupported_media_type(accepted: &[&str]) -> Self {
        let mut err = Self::invalid(
            Location::Header,
            "Content-Type",
            format!("Unsupported media type; accepted: {}", accepted.join(", ")),
        );
        err.code = 415;
        err
    }

    /// 503, errno 201: a dependency is throttling or unavailable; the client should retry.
    pub fn unavailable(message: impl Into<String>) -> Self {
        ApiError::new(503, 201, message)
    }

    /// 500, errno 999. The detail goes to the log, never to the client.
    pub fn internal() -> Self {
        ApiError::new(
            500,
            999,
            "A programmatic error occured, developers have been notified",
        )
    }

    /// The short HTTP reason Kinto puts in `error`.
    pub fn reason(&self) -> &'static str {
        match self.code {
            400 => "Invalid parameters",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            409 => "Conflict",
            412 => "Precondition Failed",
            413 => "Request Entity Too Large",
            415 => "Unsupported Media Type",
            429 => "Too Many Requests",
            503 => "Service Unavailable",
            _ => "Internal Server Error",
        }
    }

    /// The envelope body.
    pub fn body(&self) -> Value {
        let mut body = json!({
            "code": self.code,
            "errno": self.errno,
            "error": self.reason(),
            "message": self.message,
        });
        if let Some(details) = &self.details {
            body["details"] = details.clone();
        }
        body
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.code, self.reason(), self.message)
    }
}

impl std::error::Error for ApiError {}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        match e {
            Error::Rule(rule) => {
                let location = if PATH_PARAMETERS.contains(&rule.field.as_str()) {
                    Location::Path
                } else {
                    Location::Body
                };
                ApiError::rule(rule, location)
            }
            Error::Unauthenticated(message) => ApiError::unauthorized(message),
            Error::Forbidden(message) => ApiError::forbidden(message),
            Error::NotFound { resource, id } => ApiError::not_found(resource, &id),
            Error::Busy(message) => ApiError::conflict(message),
            Error::PreconditionFailed(existing) => ApiError::precondition_failed(existing),
            Error::Unavailable(message) => ApiError::unavailable(message),
            Error::Store(e) => e.into(),
        }
    }
}

/// Locates a rule error where the route read the value: `parse(x).at(Location::Querystring)?`.
pub trait At<T> {
    fn at(self, location: Location) -> Result<T, ApiError>;
}

impl<T> At<T> for Result<T, RuleError> {
    fn at(self, location: Location) -> Result<T, ApiError> {
        self.map_err(|rule| ApiError::rule(rule, location))
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::Conflict => {
                ApiError::conflict("The object was modified concurrently; retry the request")
            }
            StoreError::Unavailable(why) => {
                tracing::warn!(error = %why, "store unavailable");
                ApiError::unavailable("Service temporarily unavailable, please retry")
            }
            StoreError::Other(why) => {
                tracing::error!(error = %why, "store failure");
                ApiError::internal()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_names_the_field_in_message_and_details() {
        let err = ApiError::invalid(
            Location::Querystring,
            "_limit",
            "must be between 1 and 1000",
        );
        let body = err.body();
        assert_eq!(body["code"], 400);
        assert_eq!(body["errno"], 107);
        assert_eq!(body["error"], "Invalid parameters");
        assert!(body["message"].as_str().unwrap().contains("_limit"));
        assert_eq!(body["details"][0]["name"], "_limit");
        assert_eq!(body["details"][0]["location"], "querystring");
    }

    #[test]
    fn precondition_failed_carries_existing() {
        let body = ApiError::precondition_failed(Some(json!({"id": "a"}))).body();
        assert_eq!(body["code"], 412);
        assert_eq!(body["errno"], 114);
        assert_eq!(body["details"]["existing"]["id"], "a");
    }

    #[test]
    fn size_and_media_errors_follow_kinto_errnos() {
        let e = ApiError::too_large(Location::Body, "data", "x");
        assert_eq!((e.code, e.errno), (413, 113));
        let e = ApiError::unsupported_media_type(&["application/json"]);
        assert_eq!((e.code, e.errno), (415, 107));
        assert_eq!(e.body()["details"][0]["name"], "Content-Type");
    }

    #[test]
    fn service_errors_map_to_kinto_statuses_and_errnos() {
        let cases = [
            (
                Error::Rule(RuleError::invalid("data.title", "must be a string")),
                400,
                107,
            ),
            (
                Error::Rule(RuleError::too_large("data", "too big")),
                413,
                113,
            ),
            (Error::Unauthenticated("who?".into()), 401, 104),
            (Error::Forbidden("no".into()), 403, 121),
            (Error::not_found("bucket", "b1"), 404, 111),
            (Error::Busy("busy".into()), 409, 122),
            (Error::PreconditionFailed(None), 412, 114),
            (Error::Store(StoreError::Conflict), 409, 122),
            (Error::Store(StoreError::Unavailable("x".into())), 503, 201),
            (Error::Unavailable("keys".into()), 503, 201),
            (Error::Store(StoreError::Other("x".into())), 500, 999),
        ];
        for (err, code, errno) in cases {
            let api = ApiError::from(err.clone());
            assert_eq!((api.code, api.errno), (code, errno), "{err:?}");
        }
    }

    #[test]
    fn rule_errors_are_located_by_field() {
        let body = ApiError::from(Error::Rule(RuleError::invalid("files[0].name", "bad"))).body();
        assert_eq!(body["details"][0]["location"], "body");
        assert_eq!(body["message"], "files[0].name in body: bad");
        let path = ApiError::from(Error::Rule(RuleError::invalid("name", "bad"))).body();
        assert_eq!(path["details"][0]["location"], "path");
        assert_eq!(path["message"], "name in path: bad");
        let query: Result<(), ApiError> =
            Err(RuleError::invalid("glob", "bad")).at(Location::Querystring);
        assert_eq!(
            query.unwrap_err().body()["details"][0]["location"],
            "querystring"
        );
    }
}
