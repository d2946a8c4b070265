//! File types: MIME types and the accepted-types lists (the deployment's `ACCEPTED_FILE_TYPES`
//! and a bucket's `limits.accepted_file_types`), shared by `uploads` and `limits`.

use super::error::RuleError;

/// The essence of a MIME type (`text/csv; charset=utf-8` → `text/csv`), lowercase.
pub fn mime_essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// `type/subtype` of RFC 6838 token characters, optionally with `; parameters` of visible ASCII
/// (the value becomes a signed S3 header, so nothing else may pass).
pub fn is_mime_type(content_type: &str) -> bool {
    let token = |t: &str| {
        !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    let (essence, params) = content_type.split_once(';').unwrap_or((content_type, ""));
    let visible = |s: &str| s.bytes().all(|b| (0x20..0x7f).contains(&b));
    content_type.len() <= 255
        && essence
            .trim()
            .split_once('/')
            .is_some_and(|(t, s)| token(t) && token(s))
        && visible(params)
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

/// Checks a client-declared SHA-256: base64 of 32 bytes (the form S3's checksum header takes)
/// or 64 hex digits (converted to base64).
pub fn sha256_base64(value: &str, field: &str) -> Result<String, RuleError> {
    rules::checksums::sha256_base64(value)
        .ok_or_else(|| RuleError::invalid(field, "must be a SHA-256 digest, base64 or hex"))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
