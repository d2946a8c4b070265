//! The one check of a fixed-shape JSON object: every member is a field the request knows.
//!
//! A member a route does not know is refused, never ignored: a client written against a newer
//! contract (`{"files": true, "glob": "tmp-*"}` to empty only some files, a key with an expiry
//! field this deployment does not have) would otherwise get its request carried out without
//! the part it relies on — on an empty, every file deleted. Every body with a fixed shape, and
//! every fixed-shape object nested in one (a grant's files, a key's scope entries, a batch's
//! requests), goes through `only_known`; free-form JSON (a bucket's attributes, the data
//! document, a sub-request's body) does not.

use serde_json::{Map, Value};

use super::error::RuleError;

/// The reason given for a member the request does not know.
pub fn unknown_reason(known: &[&str]) -> String {
    if known.is_empty() {
        "is not a field of this request (it takes no fields)".to_string()
    } else {
        format!(
            "is not a field of this request (its fields: {})",
            known.join(", ")
        )
    }
}

/// Refuses the first member of `object` that is not in `known`, naming it where the client
/// wrote it: `at` is the object's own path (`""` for the body, `files[0]`, `requests[2]`), so
/// the field is `glob`, `files[0].hash` or `requests[2].bdy`.
pub fn only_known(object: &Map<String, Value>, at: &str, known: &[&str]) -> Result<(), RuleError> {
    match object.keys().find(|k| !known.contains(&k.as_str())) {
        None => Ok(()),
        Some(unknown) => Err(RuleError::invalid(path(at, unknown), unknown_reason(known))),
    }
}

/// `at.name` (`name` alone at the top level).
pub fn path(at: &str, name: &str) -> String {
    if at.is_empty() {
        name.to_string()
    } else {
        format!("{at}.{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn known_members_pass_and_the_first_unknown_is_named_with_its_path() {
        let known = ["files", "data"];
        assert!(only_known(&object(json!({"files": true})), "", &known).is_ok());
        assert!(only_known(&object(json!({})), "", &known).is_ok());
        let err = only_known(&object(json!({"files": true, "glob": "x"})), "", &known).unwrap_err();
        assert_eq!(err.field, "glob");
        assert!(err.reason.contains("files, data"), "{}", err.reason);
        let err = only_known(&object(json!({"hash": 1})), "files[3]", &["name"]).unwrap_err();
        assert_eq!(err.field, "files[3].hash");
        let err = only_known(&object(json!({"a": 1})), "", &[]).unwrap_err();
        assert!(err.reason.contains("takes no fields"));
    }
}
