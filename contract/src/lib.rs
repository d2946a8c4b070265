//! The API contract as a test helper: `check` finds the operation of `shared/openapi.json` that
//! a request names (method and path template) and validates the answer's status and JSON body
//! against it (JSON Schema draft 2020-12, `$ref`s resolved inside the document). An
//! undocumented status, or a body that breaks its schema, is an error naming what broke.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use serde_json::{Value, json};

/// The document the product serves at `GET /v1/__api__`.
pub const OPENAPI_JSON: &str = include_str!("../../shared/openapi.json");

pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| serde_json::from_str(OPENAPI_JSON).expect("shared/openapi.json is JSON"))
}

/// The path template of the document that `path` (no base path, no query) matches: a literal
/// segment wins over a `{parameter}` (which takes one non-empty segment).
pub fn path_template(path: &str) -> Option<&'static str> {
    let segments: Vec<&str> = path.split('/').collect();
    let paths = document()["paths"].as_object()?;
    let mut best: Option<(&str, usize)> = None;
    for template in paths.keys() {
        let wanted: Vec<&str> = template.split('/').collect();
        if wanted.len() != segments.len() {
            continue;
        }
        let mut literals = 0;
        let fits = wanted.iter().zip(&segments).all(|(w, s)| {
            if w.starts_with('{') {
                !s.is_empty()
            } else {
                literals += 1;
                w == s
            }
        });
        if fits && best.is_none_or(|(_, l)| literals > l) {
            best = Some((template, literals));
        }
    }
    best.map(|(t, _)| t)
}

fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Follows one local `$ref` (`#/components/...`) of the document.
fn resolve(value: &'static Value) -> (&'static Value, Option<String>) {
    match value.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let pointer = r.trim_start_matches('#');
            let target = document()
                .pointer(pointer)
                .unwrap_or_else(|| panic!("openapi.json: dangling $ref {r}"));
            (target, Some(pointer.to_string()))
        }
        None => (value, None),
    }
}

/// Validates `body` against the schema at `pointer` (a JSON pointer into the document).
fn validate_at(pointer: &str, body: &Value) -> Result<(), String> {
    type Cache = Mutex<HashMap<String, std::sync::Arc<jsonschema::Validator>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let validator = {
        let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .entry(pointer.to_string())
            .or_insert_with(|| {
                // The whole document as the root resource (its keys are no JSON Schema
                // keywords), so that `#/components/schemas/...` resolve as in the document.
                let mut root = document().clone();
                root["$ref"] = json!(format!("#{pointer}"));
                let validator = jsonschema::options()
                    .with_draft(jsonschema::Draft::Draft202012)
                    .build(&root)
                    .unwrap_or_else(|e| panic!("openapi.json: schema at {pointer}: {e}"));
                std::sync::Arc::new(validator)
            })
            .clone()
    };
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

/// Checks one answer: `method` and `path` (after the API's base path, without the query) of
/// the request, the status, and the body as received (`None` when empty).
pub fn check(method: &str, path: &str, status: u16, body: Option<&[u8]>) -> Result<(), String> {
    let what = format!("{method} {path} → {status}");
    if method == "OPTIONS" {
        // CORS preflights are answered by API Gateway (CorsConfiguration), never by the API.
        return match status {
            200..=299 => Ok(()),
            _ => Err(format!("{what}: a CORS preflight fails")),
        };
    }
    let method_key = method.to_ascii_lowercase();
    let paths = &document()["paths"];
    let operation = path_template(path).and_then(|t| paths[t].get(&method_key).map(|o| (t, o)));
    let Some((template, operation)) = operation else {
        // No such operation: only the error answers of an unknown path or method (without
        // their body for a HEAD), and the 307 of a path outside /v1, are part of the contract
        // there.
        let empty = body.is_none_or(<[u8]>::is_empty);
        return match status {
            307 if empty => Ok(()),
            _ if method == "HEAD" && !empty => Err(format!("{what}: a HEAD answer has a body")),
            404 | 405 if method == "HEAD" => Ok(()),
            404 | 405 => check_json(&what, "/components/schemas/Error", body),
            _ => Err(format!("{what}: no operation in openapi.json answers this")),
        };
    };
    let responses = &operation["responses"];
    let Some(response) = responses.get(status.to_string()) else {
        return Err(format!(
            "{what}: status {status} is not documented for {method} {template}"
        ));
    };
    let (response, _) = resolve(response);
    let schema = response.pointer("/content/application~1json/schema");
    match (schema, body) {
        _ if method == "HEAD" => match body {
            Some(b) if !b.is_empty() => Err(format!("{what}: a HEAD answer has a body")),
            _ => Ok(()),
        },
        (None, Some(b)) if !b.is_empty() => Err(format!(
            "{what}: documented without a body, got {}",
            String::from_utf8_lossy(b)
        )),
        (None, _) => Ok(()),
        (Some(schema), body) => {
            let pointer = match resolve(schema) {
                (_, Some(p)) => p,
                (_, None) => {
                    // An inline schema: its place in the document.
                    let place = match responses[status.to_string()].get("$ref") {
                        Some(Value::String(r)) => r.trim_start_matches('#').to_string(),
                        _ => format!(
                            "/paths/{}/{method_key}/responses/{status}",
                            escape(template)
                        ),
                    };
                    format!("{place}/content/application~1json/schema")
                }
            };
            check_json(&what, &pointer, body)
        }
    }
}

fn check_json(what: &str, pointer: &str, body: Option<&[u8]>) -> Result<(), String> {
    let Some(bytes) = body.filter(|b| !b.is_empty()) else {
        return Err(format!("{what}: documented with a JSON body, got none"));
    };
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| format!("{what}: not JSON ({e}): {}", String::from_utf8_lossy(bytes)))?;
    validate_at(pointer, &value).map_err(|e| format!("{what}: {e}; body: {value}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_openapi_3_1_and_every_ref_resolves() {
        let doc = document();
        assert_eq!(doc["openapi"], "3.1.0");
        fn walk(v: &'static Value) {
            match v {
                Value::Object(map) => {
                    if map.contains_key("$ref") {
                        resolve(v);
                    }
                    map.values().for_each(walk);
                }
                Value::Array(a) => a.iter().for_each(walk),
                _ => {}
            }
        }
        walk(doc);
    }

    #[test]
    fn templates_prefer_literal_segments() {
        assert_eq!(path_template("/v1/buckets/b1"), Some("/v1/buckets/{id}"));
        assert_eq!(path_template("/v1/__api__"), Some("/v1/__api__"));
        assert_eq!(
            path_template("/v1/buckets/b1/files/a.csv"),
            Some("/v1/buckets/{id}/files/{name}")
        );
        assert_eq!(path_template("/v1/nothing/here"), None);
    }

    #[test]
    fn bodies_and_statuses_are_checked() {
        let tomb = br#"{"data": {"id": "b", "deleted": true, "last_modified": 1}}"#;
        assert!(check("DELETE", "/v1/buckets/b", 200, Some(tomb)).is_ok());
        let extra = br#"{"data": {"id": "b", "deleted": true, "last_modified": 1, "x": 1}}"#;
        assert!(check("DELETE", "/v1/buckets/b", 200, Some(extra)).is_err());
        assert!(check("DELETE", "/v1/buckets/b", 201, Some(tomb)).is_err());
        let err = br#"{"code": 404, "errno": 111, "error": "Not Found", "message": "m"}"#;
        assert!(check("GET", "/v1/nothing", 404, Some(err)).is_ok());
        assert!(check("GET", "/v1/buckets/b", 304, None).is_ok());
        assert!(check("HEAD", "/v1/buckets/b", 200, None).is_ok());
        assert!(check("HEAD", "/v1/batch", 405, None).is_ok());
        assert!(check("HEAD", "/v1/batch", 405, Some(err)).is_err());
    }
}
