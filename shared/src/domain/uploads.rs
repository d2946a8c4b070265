//! The upload rules, one set for every door (grants, job stores, upload events): which files a
//! request may name, their sizes, types and checksums (xyOps rules, enforced on the server).

use serde_json::Value;

use super::error::RuleError;
use super::files::normalize_name;
use super::limits::Limits;
pub use super::types::{is_mime_type, mime_essence, sha256_base64};

/// Checks one file against the size and type limits (a bucket's effective limits, the tighter
/// of the deployment's and its own). `field` names it in errors (`files[2].size`).
pub fn check_file(
    limits: &Limits,
    name: &str,
    size: u64,
    content_type: &str,
    field: &str,
) -> Result<(), RuleError> {
    if size == 0 {
        return Err(RuleError::invalid(
            format!("{field}.size"),
            "empty files are not accepted",
        ));
    }
    if size > limits.max_file_size {
        return Err(RuleError::too_large(
            format!("{field}.size"),
            format!(
                "{size} bytes is over the limit of {} bytes per file",
                limits.max_file_size
            ),
        ));
    }
    if !is_mime_type(content_type) {
        return Err(RuleError::invalid(
            format!("{field}.content_type"),
            "must be a MIME type such as text/csv",
        ));
    }
    if !limits.accepts(content_type, name) {
        return Err(RuleError::invalid(
            format!("{field}.content_type"),
            format!(
                "{content_type} is not an accepted file type ({})",
                limits.types_description()
            ),
        ));
    }
    Ok(())
}

/// Files one request may name.
pub use rules::requests::MAX_FILES_PER_REQUEST;

/// A file to upload, as a client asked for it (name already normalized).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WantedFile {
    pub original: String,
    pub name: String,
    pub size: u64,
    pub content_type: String,
    /// Base64 of the SHA-256 digest.
    pub sha256: Option<String>,
}

/// Reads the `files` list of a request (`[{name, size, content_type, sha256?}]`, 1 to
/// `MAX_FILES_PER_REQUEST`): shapes, name normalization, checksum format, each name once.
/// The limits are `check_file`'s, applied by whoever knows which files they apply to.
pub fn parse_wanted_files(value: Option<&Value>) -> Result<Vec<WantedFile>, RuleError> {
    let Some(Value::Array(items)) = value else {
        return Err(RuleError::invalid(
            "files",
            "is required: a list of {name, size, content_type}",
        ));
    };
    if items.is_empty() || items.len() > MAX_FILES_PER_REQUEST {
        return Err(RuleError::invalid(
            "files",
            format!("must hold 1 to {MAX_FILES_PER_REQUEST} files"),
        ));
    }
    let mut out: Vec<WantedFile> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let field = |name: &str| format!("files[{i}].{name}");
        let Value::Object(obj) = item else {
            return Err(RuleError::invalid(
                format!("files[{i}]"),
                "must be an object",
            ));
        };
        super::fields::only_known(
            obj,
            &format!("files[{i}]"),
            &["name", "size", "content_type", "sha256"],
        )?;
        // A missing field "is required"; one of the wrong type says what it must be.
        let missing_or = |name: &str, why: &str| {
            let why = if obj.get(name).is_none_or(Value::is_null) {
                "is required"
            } else {
                why
            };
            RuleError::invalid(field(name), why)
        };
        let original = obj
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| missing_or("name", "must be a string"))?;
        let name = normalize_name(original, &field("name"))?;
        let size = obj
            .get("size")
            .and_then(Value::as_u64)
            .ok_or_else(|| missing_or("size", "must be a whole number of bytes"))?;
        let content_type = obj
            .get("content_type")
            .and_then(Value::as_str)
            .ok_or_else(|| missing_or("content_type", "must be a string"))?
            .trim()
            .to_string();
        let sha256 = match obj.get("sha256") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(sha256_base64(s, &field("sha256"))?),
            Some(_) => return Err(RuleError::invalid(field("sha256"), "must be a string")),
        };
        if out.iter().any(|w| w.name == name) {
            return Err(RuleError::invalid(
                field("name"),
                format!("{name} is named twice in this request"),
            ));
        }
        out.push(WantedFile {
            original: original.to_string(),
            name,
            size,
            content_type,
            sha256,
        });
    }
    Ok(out)
}

/// Whether `value` has the shape of an upload id (`random_token`: 32 hex digits).
pub fn is_upload_id(value: &str) -> bool {
    value.len() == 32 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::error::RuleKind;

    #[test]
    fn sha256_forms() {
        let hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let b64 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
        assert_eq!(sha256_base64(hex, "f").unwrap(), b64);
        assert_eq!(sha256_base64(b64, "f").unwrap(), b64);
        assert!(sha256_base64("abc", "f").is_err());
    }

    #[test]
    fn file_checks() {
        let limits = Limits::deployment(&crate::domain::limits::UploadSettings {
            max_files_per_bucket: 2,
            max_file_size: 10,
            accepted_file_types: vec!["text/*".into()],
            max_bytes_per_bucket: 0,
        });
        assert!(check_file(&limits, "a.txt", 10, "text/plain", "files[0]").is_ok());
        let cases = [
            (0, "text/plain", RuleKind::Invalid, "files[0].size"),
            (11, "text/plain", RuleKind::TooLarge, "files[0].size"),
            (5, "image/png", RuleKind::Invalid, "files[0].content_type"),
            (5, "nonsense", RuleKind::Invalid, "files[0].content_type"),
            (5, "text/c\nsv", RuleKind::Invalid, "files[0].content_type"),
            (
                5,
                "text/plain; charset=\u{7f}",
                RuleKind::Invalid,
                "files[0].content_type",
            ),
        ];
        for (size, ct, code, field) in cases {
            let err = check_file(&limits, "a.txt", size, ct, "files[0]").unwrap_err();
            assert_eq!(err.kind, code, "{size} {ct}");
            assert_eq!(err.field, field);
        }
    }
}
