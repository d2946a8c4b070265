//! File names and upload limits (xyOps rules, enforced on the server).

use serde_json::{Value, json};

use super::error::RuleError;

pub use rules::glob::{MAX_GLOB_ALTERNATIVES, MAX_GLOB_BYTES, MAX_GLOB_WILDCARDS};
pub use rules::names::{MAX_NAME_LEN, MAX_RAW_NAME_BYTES};

/// The xyOps URL-clean name: every run of characters other than ASCII letters, digits, `_`, `-`
/// and `.` becomes one `_`, then lowercase. Refuses empty names, names made only of dots, and
/// names with a `..` path segment (an attempt to leave the bucket's prefix).
pub fn normalize_name(raw: &str, field: &str) -> Result<String, RuleError> {
    let bad = |why: &str| RuleError::invalid(field, why.to_string());
    if raw.len() > MAX_RAW_NAME_BYTES {
        return Err(bad("is longer than 1024 bytes"));
    }
    if raw.trim().is_empty() {
        return Err(bad("must not be empty"));
    }
    if raw.split(['/', '\\']).any(|segment| segment == "..") || raw.starts_with(['/', '\\']) {
        return Err(bad(
            "must not leave the bucket (no '..' segments or leading '/')",
        ));
    }
    let out = rules::names::normalize(raw);
    if out.chars().all(|c| c == '.') {
        return Err(bad("must not be made only of dots"));
    }
    if out.len() > MAX_NAME_LEN {
        return Err(bad("is longer than 255 characters once normalized"));
    }
    Ok(out)
}

/// A recorded file. Its bytes are version `version_id` of the bucket's one object for the name
/// (`object_key`): downloads are presigned for that version, so the record always describes
/// what a download returns, whatever was written to the key since. `hash` is the stable part of
/// its permalink, kept when the file is replaced (and new when a deleted name is used again).
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
    /// The S3 version of the bytes.
    pub version_id: String,
    pub upload_id: String,
}

impl FileRecord {
    /// The S3 object version of the record's bytes.
    pub fn object(&self, bucket_id: &str, generation: &str) -> ObjectVersion {
        ObjectVersion {
            key: object_key(bucket_id, generation, &self.name),
            version_id: Some(self.version_id.clone()),
        }
    }

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
            "last_modified": self.modified,
            // xyOps's name for `last_modified`; deprecated.
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

/// A replaced version of a file, kept for the deployment's retention (`GET
/// .../files/{name}/versions`, restorable): the record as it was, when it was replaced, and
/// until when it is kept. S3's lifecycle expires the object version itself (noncurrent for
/// the retention); the item outlives it by a day, so every S3 version of a file is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptVersion {
    pub record: FileRecord,
    pub replaced: i64,
    pub expires_at: i64,
}

impl KeptVersion {
    pub fn to_json(&self) -> Value {
        let r = &self.record;
        let mut v = json!({
            "version_id": r.version_id,
            "name": r.name,
            "size": r.size,
            "content_type": r.content_type,
            "etag": r.etag,
            "last_modified": r.modified,
            "uploaded_by": r.uploaded_by,
            "replaced": self.replaced,
            "expires_at": self.expires_at,
        });
        if let Some(sha) = &r.sha256 {
            v["sha256"] = json!(sha);
        }
        v
    }
}

/// Why an upload was refused, kept so the uploader can find out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub upload_id: String,
    pub name: String,
    pub reason: String,
    pub at: i64,
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
    /// The uploader held write through a global privilege (`edit_buckets`, `admin`), not
    /// through the bucket's ACL, when the grant was issued. The upload event cannot re-check a
    /// privilege (it lives in the caller's token), so such a grant is honoured only for the
    /// upload URL's lifetime (`expires_at`); an ACL grant is re-checked against the ACL.
    pub by_privilege: bool,
    /// The API key that asked for the upload, if one did: the upload event then requires it
    /// to exist still, and counts its `key:<id>` among the uploader's principals.
    pub via_key: Option<String>,
    /// Set when the file is uploaded in parts (size at or above `MULTIPART_THRESHOLD`).
    pub multipart: Option<MultipartGrant>,
}

/// The multipart upload behind a grant: S3's UploadId and how the file is cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipartGrant {
    pub s3_upload_id: String,
    pub plan: super::multipart::Plan,
}

impl Grant {
    /// Who the file shows as its uploader (and its history entry as the actor): the key's
    /// `key:<id>` when a key asked for the upload, as for every write a key makes; else the
    /// user (or `system.Everyone`).
    pub fn acting_principal(&self) -> String {
        self.via_key
            .as_deref()
            .map_or_else(|| self.uploaded_by.clone(), super::keys::key_principal)
    }

    /// Who asked for the upload: the upload event re-checks the bucket's ACL with its
    /// principals (the uploader's, and the key's own when a key asked) and its key chain.
    pub fn origin(&self) -> super::origin::Origin {
        super::origin::Origin {
            principal: self.uploaded_by.clone(),
            via_key: self.via_key.clone(),
            by_privilege: self.by_privilege,
        }
    }
}

/// The S3 key of the file `name` of a bucket incarnation: `<bucket id>/<generation>/<name>`, one
/// stable key per name (what an SFTP user sees). The bucket is versioned: every upload is a new
/// version of the key, and a record pins the one it describes (see `FileRecord`).
pub fn object_key(bucket_id: &str, generation: &str, name: &str) -> String {
    format!("{bucket_id}/{generation}/{name}")
}

/// One version of an S3 object. `version_id: None` names the key itself: deleting it on a
/// versioned bucket leaves a delete marker (the key disappears from listings; its versions
/// stay until they expire).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ObjectVersion {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
}

impl ObjectVersion {
    pub fn new(key: impl Into<String>, version_id: Option<String>) -> ObjectVersion {
        ObjectVersion {
            key: key.into(),
            version_id,
        }
    }
}

/// The parts of an object key, if it has our shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectKey {
    pub bucket_id: String,
    pub generation: String,
    pub name: String,
}

pub fn parse_object_key(key: &str) -> Option<ObjectKey> {
    let mut parts = key.splitn(3, '/');
    let (b, g, n) = (parts.next()?, parts.next()?, parts.next()?);
    if [b, g, n].iter().any(|p| p.is_empty()) || n.contains('/') {
        return None;
    }
    Some(ObjectKey {
        bucket_id: b.into(),
        generation: g.into(),
        name: n.into(),
    })
}

/// The object metadata key (`x-amz-meta-upload-id`) that carries the upload id: every upload
/// URL signs it, so the event of a version finds its grant.
pub const UPLOAD_ID_META: &str = "upload-id";

/// 128 random bits, hex: upload ids and permalink hashes (unguessable).
pub fn random_token() -> String {
    let mut raw = [0u8; 16];
    super::ids::fill_random(&mut raw);
    hex::encode(raw)
}

/// Whether `name` matches a glob (globset; `*` by default; `rules::glob`). A bad glob is a
/// 400 naming `glob`.
pub fn glob_matcher(glob: Option<&str>) -> Result<globset::GlobMatcher, RuleError> {
    rules::glob::matcher(glob).map_err(|why| RuleError::invalid("glob", why))
}

#[cfg(test)]
mod tests {
    use crate::domain::error::RuleKind;
    #[test]
    fn object_keys_round_trip() {
        let key = object_key("b1", "g1", "a.txt");
        assert_eq!(
            parse_object_key(&key),
            Some(ObjectKey {
                bucket_id: "b1".into(),
                generation: "g1".into(),
                name: "a.txt".into()
            })
        );
        for bad in ["", "b1", "b1/g1", "b1/g1/", "b1//a", "b1/g1/u1/a"] {
            assert_eq!(parse_object_key(bad), None, "{bad}");
        }
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
            version_id: "v".into(),
            upload_id: "u".into(),
        };
        let v = r.to_json("b1");
        assert_eq!(v["path"], "files/bucket/b1/h/a.csv");
        assert!(v.get("sha256").is_none());
        assert!(v.get("version_id").is_none());
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
    fn globs_are_bounded_before_compiling() {
        for (glob, why) in [
            ("*".repeat(MAX_GLOB_BYTES + 1), "bytes long"),
            ("a".repeat(300_000), "bytes long"),
            (format!("{{{}}}", vec!["a"; 40].join(",")), "alternatives"),
            ("[a]".repeat(40), "alternatives"),
            ("{".repeat(100), "alternatives"),
            ("*?".repeat(20), "wildcards"),
        ] {
            let err = glob_matcher(Some(&glob)).unwrap_err();
            assert_eq!((err.kind, err.field.as_str()), (RuleKind::Invalid, "glob"));
            assert!(err.reason.contains(why), "{glob}: {}", err.reason);
        }
        // Real globs pass.
        for glob in ["*.csv", "report-{a,b,c}.txt", "data_[0-9]*.json", "*"] {
            assert!(glob_matcher(Some(glob)).is_ok(), "{glob}");
        }
    }

    #[test]
    fn raw_names_are_bounded_before_normalizing() {
        // Would normalize to one `_`, but is refused on its raw length.
        let err = normalize_name(&"/".repeat(MAX_RAW_NAME_BYTES + 1), "name").unwrap_err();
        assert!(err.reason.contains("1024 bytes"), "{}", err.reason);
        let err = normalize_name(&"é".repeat(600), "files[0].name").unwrap_err();
        assert_eq!(err.field, "files[0].name");
        assert!(err.reason.contains("1024 bytes"), "{}", err.reason);
    }
}
