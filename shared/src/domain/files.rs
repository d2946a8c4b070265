//! File names and upload limits (xyOps rules, enforced on the server).

use crate::config::UploadSettings;
use crate::error::{ApiError, Location};

/// Longest normalized name kept (S3 keys allow 1024 bytes; the rest of the key is the prefix).
pub const MAX_NAME_LEN: usize = 255;

/// The xyOps URL-clean name: every run of characters other than ASCII letters, digits, `_`, `-`
/// and `.` becomes one `_`, then lowercase. Refuses empty names, names made only of dots, and
/// names with a `..` path segment (an attempt to leave the bucket's prefix).
pub fn normalize_name(raw: &str, field: &str) -> Result<String, ApiError> {
    let bad = |why: &str| ApiError::invalid(Location::Body, field, why.to_string());
    if raw.trim().is_empty() {
        return Err(bad("must not be empty"));
    }
    if raw.split(['/', '\\']).any(|segment| segment == "..") || raw.starts_with(['/', '\\']) {
        return Err(bad(
            "must not leave the bucket (no '..' segments or leading '/')",
        ));
    }
    let mut out = String::with_capacity(raw.len());
    let mut in_run = false;
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.' {
            out.push(c.to_ascii_lowercase());
            in_run = false;
        } else if !in_run {
            out.push('_');
            in_run = true;
        }
    }
    if out.chars().all(|c| c == '.') {
        return Err(bad("must not be made only of dots"));
    }
    if out.len() > MAX_NAME_LEN {
        return Err(bad("is longer than 255 characters once normalized"));
    }
    Ok(out)
}

/// The essence of a MIME type (`text/csv; charset=utf-8` → `text/csv`), lowercase.
pub fn mime_essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Whether a file of this type and normalized name is accepted. Entries are MIME types
/// (`text/csv`), wildcards (`image/*`) or extensions (`.csv`), as in a browser `accept` string;
/// no entries = any type.
pub fn type_accepted(accepted: &[String], content_type: &str, name: &str) -> bool {
    if accepted.is_empty() {
        return true;
    }
    let essence = mime_essence(content_type);
    accepted.iter().any(|entry| {
        let entry = entry.trim().to_ascii_lowercase();
        if let Some(ext) = entry.strip_prefix('.') {
            name.ends_with(&format!(".{ext}"))
        } else if let Some(major) = entry.strip_suffix("/*") {
            essence.split('/').next() == Some(major)
        } else {
            essence == entry
        }
    })
}

/// Checks one file against the size and type limits. `field` names it in errors
/// (`files[2].size`).
pub fn check_file(
    limits: &UploadSettings,
    name: &str,
    size: u64,
    content_type: &str,
    field: &str,
) -> Result<(), ApiError> {
    if size == 0 {
        return Err(ApiError::invalid(
            Location::Body,
            &format!("{field}.size"),
            "empty files are not accepted",
        ));
    }
    if size > limits.max_file_size {
        return Err(ApiError::too_large(
            Location::Body,
            &format!("{field}.size"),
            format!(
                "{size} bytes is over the limit of {} bytes per file",
                limits.max_file_size
            ),
        ));
    }
    if mime_essence(content_type).split('/').count() != 2 {
        return Err(ApiError::invalid(
            Location::Body,
            &format!("{field}.content_type"),
            "must be a MIME type such as text/csv",
        ));
    }
    if !type_accepted(&limits.accepted_file_types, content_type, name) {
        return Err(ApiError::invalid(
            Location::Body,
            &format!("{field}.content_type"),
            format!(
                "{content_type} is not an accepted file type ({})",
                limits.accepted_file_types.join(", ")
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xyops_normalization() {
        let cases = [
            ("Report.CSV", "report.csv"),
            ("my file (1).txt", "my_file_1_.txt"),
            ("a  b", "a_b"),
            ("snake_case-and.dots", "snake_case-and.dots"),
            ("Résumé.pdf", "r_sum_.pdf"),
            ("dir/sub/file.txt", "dir_sub_file.txt"),
            ("..hidden", "..hidden"),
            ("a\u{0}b", "a_b"),
        ];
        for (raw, want) in cases {
            assert_eq!(normalize_name(raw, "name").unwrap(), want, "{raw}");
        }
    }

    #[test]
    fn refused_names() {
        for raw in [
            "",
            "   ",
            ".",
            "..",
            "...",
            "../etc/passwd",
            "a/../b",
            "/abs",
            "\\\\server",
            &"x".repeat(256),
        ] {
            let err = normalize_name(raw, "files[0].name").unwrap_err();
            assert_eq!(err.code, 400, "{raw:?}");
            assert_eq!(err.details.unwrap()[0]["name"], "files[0].name");
        }
    }

    #[test]
    fn accepted_types() {
        let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(type_accepted(&[], "anything/at-all", "x"));
        let accepted = list(&["image/*", "text/csv", ".json"]);
        assert!(type_accepted(&accepted, "image/png", "a.png"));
        assert!(type_accepted(&accepted, "Text/CSV; charset=utf-8", "a.csv"));
        assert!(type_accepted(
            &accepted,
            "application/octet-stream",
            "a.json"
        ));
        assert!(!type_accepted(&accepted, "text/plain", "a.txt"));
        assert!(!type_accepted(&accepted, "imagex/png", "a.png"));
    }

    #[test]
    fn file_checks() {
        let limits = UploadSettings {
            max_files_per_bucket: 2,
            max_file_size: 10,
            accepted_file_types: vec!["text/*".into()],
        };
        assert!(check_file(&limits, "a.txt", 10, "text/plain", "files[0]").is_ok());
        let cases = [
            (0, "text/plain", 400, "files[0].size"),
            (11, "text/plain", 413, "files[0].size"),
            (5, "image/png", 400, "files[0].content_type"),
            (5, "nonsense", 400, "files[0].content_type"),
        ];
        for (size, ct, code, field) in cases {
            let err = check_file(&limits, "a.txt", size, ct, "files[0]").unwrap_err();
            assert_eq!(err.code, code, "{size} {ct}");
            assert_eq!(err.details.unwrap()[0]["name"], field);
        }
    }
}
