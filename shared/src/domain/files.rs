//! File names and upload limits (xyOps rules, enforced on the server).

use serde_json::{Value, json};

use super::error::RuleError;
use crate::config::UploadSettings;

/// Longest normalized name kept (S3 keys allow 1024 bytes; the rest of the key is the prefix).
pub const MAX_NAME_LEN: usize = 255;

/// The xyOps URL-clean name: every run of characters other than ASCII letters, digits, `_`, `-`
/// and `.` becomes one `_`, then lowercase. Refuses empty names, names made only of dots, and
/// names with a `..` path segment (an attempt to leave the bucket's prefix).
pub fn normalize_name(raw: &str, field: &str) -> Result<String, RuleError> {
    let bad = |why: &str| RuleError::invalid(field, why.to_string());
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

/// Checks one file against the size and type limits. `field` names it in errors
/// (`files[2].size`).
pub fn check_file(
    limits: &UploadSettings,
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
    if !type_accepted(&limits.accepted_file_types, content_type, name) {
        return Err(RuleError::invalid(
            format!("{field}.content_type"),
            format!(
                "{content_type} is not an accepted file type ({})",
                limits.accepted_file_types.join(", ")
            ),
        ));
    }
    Ok(())
}

/// Files one request may name.
pub const MAX_FILES_PER_REQUEST: usize = 100;

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
        let original = obj
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| RuleError::invalid(field("name"), "must be a string"))?;
        let name = normalize_name(original, &field("name"))?;
        let size = obj
            .get("size")
            .and_then(Value::as_u64)
            .ok_or_else(|| RuleError::invalid(field("size"), "must be a whole number of bytes"))?;
        let content_type = obj
            .get("content_type")
            .and_then(Value::as_str)
            .ok_or_else(|| RuleError::invalid(field("content_type"), "must be a string"))?
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

/// A recorded file. `object_key` is the S3 object of its current content; `hash` is the stable
/// part of its permalink, kept when the file is replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    pub name: String,
    pub size: u64,
    pub content_type: String,
    pub etag: String,
    pub sha256: Option<String>,
    /// When the object was written (ms); orders competing uploads of one name.
    pub modified: i64,
    pub uploaded_by: String,
    pub hash: String,
    pub object_key: String,
    pub upload_id: String,
    /// The replaced object, until it is deleted from S3 (a crash in between is repaired by
    /// the next delivery of the same event).
    pub prev_key: Option<String>,
}

impl FileRecord {
    /// The permalink path (xyOps: `files/bucket/<id>/<hash>/<name>`).
    pub fn path(&self, bucket_id: &str) -> String {
        format!("files/bucket/{bucket_id}/{}/{}", self.hash, self.name)
    }

    pub fn to_json(&self, bucket_id: &str) -> Value {
        let mut v = json!({
            "name": self.name,
            "size": self.size,
            "content_type": self.content_type,
            "etag": self.etag,
            "modified": self.modified,
            "uploaded_by": self.uploaded_by,
            "path": self.path(bucket_id),
        });
        if let Some(sha) = &self.sha256 {
            v["sha256"] = json!(sha);
        }
        v
    }
}

/// Permission to upload one object, issued with its presigned URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub upload_id: String,
    pub name: String,
    pub size: u64,
    pub content_type: String,
    /// Base64 SHA-256 the client declared; S3 checks the body against it.
    pub sha256: Option<String>,
    pub uploaded_by: String,
    pub expires_at: i64,
    /// Set when the upload event recorded the file (the grant is then spent).
    pub recorded: bool,
}

/// The S3 key of one upload: `<bucket id>/<generation>/<upload id>/<name>`. Every upload has its
/// own key, so a rejected upload never clobbers the file it meant to replace.
pub fn object_key(bucket_id: &str, generation: &str, upload_id: &str, name: &str) -> String {
    format!("{bucket_id}/{generation}/{upload_id}/{name}")
}

/// The parts of an object key, if it has our shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectKey {
    pub bucket_id: String,
    pub generation: String,
    pub upload_id: String,
    pub name: String,
}

pub fn parse_object_key(key: &str) -> Option<ObjectKey> {
    let mut parts = key.splitn(4, '/');
    let (b, g, u, n) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if [b, g, u, n].iter().any(|p| p.is_empty()) || n.contains('/') {
        return None;
    }
    Some(ObjectKey {
        bucket_id: b.into(),
        generation: g.into(),
        upload_id: u.into(),
        name: n.into(),
    })
}

/// 128 random bits, hex: upload ids and permalink hashes (unguessable).
pub fn random_token() -> String {
    let mut raw = [0u8; 16];
    super::ids::fill_random(&mut raw);
    hex::encode(raw)
}

/// Checks a client-declared SHA-256: base64 of 32 bytes (the form S3's checksum header takes)
/// or 64 hex digits (converted to base64).
pub fn sha256_base64(value: &str, field: &str) -> Result<String, RuleError> {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    let bad = || RuleError::invalid(field, "must be a SHA-256 digest, base64 or hex");
    if value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
        let bytes = hex::decode(value).map_err(|_| bad())?;
        return Ok(STANDARD.encode(bytes));
    }
    match STANDARD.decode(value) {
        Ok(bytes) if bytes.len() == 32 => Ok(value.to_string()),
        _ => Err(bad()),
    }
}

/// Whether `name` matches a glob (globset; `*` by default). A bad glob is a 400 naming `glob`.
pub fn glob_matcher(glob: Option<&str>) -> Result<globset::GlobMatcher, RuleError> {
    let pattern = glob.filter(|g| !g.is_empty()).unwrap_or("*");
    globset::GlobBuilder::new(pattern)
        .literal_separator(false)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| RuleError::invalid("glob", format!("is not a valid glob: {e}")))
}

#[cfg(test)]
mod tests {
    use crate::domain::error::RuleKind;
    #[test]
    fn object_keys_round_trip() {
        let key = object_key("b1", "g1", "u1", "a.txt");
        assert_eq!(
            parse_object_key(&key),
            Some(ObjectKey {
                bucket_id: "b1".into(),
                generation: "g1".into(),
                upload_id: "u1".into(),
                name: "a.txt".into()
            })
        );
        for bad in [
            "",
            "b1",
            "b1/g1/u1",
            "b1/g1/u1/",
            "b1//u1/a",
            "b1/g1/u1/a/b",
        ] {
            assert_eq!(parse_object_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn sha256_forms() {
        let hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let b64 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
        assert_eq!(sha256_base64(hex, "f").unwrap(), b64);
        assert_eq!(sha256_base64(b64, "f").unwrap(), b64);
        assert!(sha256_base64("abc", "f").is_err());
    }

    #[test]
    fn globs() {
        assert!(glob_matcher(None).unwrap().is_match("anything.bin"));
        let csv = glob_matcher(Some("*.csv")).unwrap();
        assert!(csv.is_match("a.csv") && !csv.is_match("a.txt"));
        assert!(
            glob_matcher(Some("report-{a,b}.txt"))
                .unwrap()
                .is_match("report-b.txt")
        );
        assert_eq!(glob_matcher(Some("[")).unwrap_err().kind, RuleKind::Invalid);
    }

    #[test]
    fn record_json_has_the_permalink_path() {
        let r = FileRecord {
            name: "a.csv".into(),
            size: 3,
            content_type: "text/csv".into(),
            etag: "e".into(),
            sha256: None,
            modified: 1,
            uploaded_by: "user:a".into(),
            hash: "h".into(),
            object_key: "k".into(),
            upload_id: "u".into(),
            prev_key: None,
        };
        let v = r.to_json("b1");
        assert_eq!(v["path"], "files/bucket/b1/h/a.csv");
        assert!(v.get("sha256").is_none());
        assert!(v.get("object_key").is_none());
    }

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
            assert_eq!(err.kind, RuleKind::Invalid, "{raw:?}");
            assert_eq!(err.field, "files[0].name");
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
