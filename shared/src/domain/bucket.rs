//! The bucket: user attributes (Kinto allows any), the ACL, and server-managed fields.

use serde_json::{Map, Value, json};

use super::bounds::{check_object_depth, json_size_within};
use super::error::RuleError;
use super::fields::only_known;
use super::ids::{generate_generation, id_problem};
use super::permissions::{PartialPermissions, Permissions};
use super::time::{http_date, next_timestamp};

/// Fields the server owns: never stored as attributes. A client may send them back as it read
/// them (Kinto clients PUT what they GET); a different value is refused (`check_reserved`).
pub const SERVER_FIELDS: [&str; 8] = [
    "id",
    "host",
    "created",
    "last_modified",
    "revision",
    "owner",
    "file_count",
    "total_bytes",
];

/// The JSON size cap on a bucket's own attributes.
pub const MAX_ATTRS_BYTES: usize = 64 * 1024;

/// Most top-level attributes a bucket may have: Kinto and xyOps buckets carry a handful
/// (title, icon, notes, active, a few of the user's own); 256 leaves room for any real use
/// while each listing item stays a bounded amount of work to clean, index and render.
pub const MAX_ATTR_KEYS: usize = 256;

/// Longest attribute name, in bytes: a name is a label, not data (DynamoDB itself caps
/// attribute names at 64 KiB, far beyond a sensible label).
pub const MAX_ATTR_KEY_BYTES: usize = 256;

const STRING_FIELDS: [&str; 3] = ["title", "icon", "notes"];

#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    pub id: String,
    /// This incarnation's id: table keys and the S3 prefix of the bucket's content include it,
    /// so a bucket re-created with the same id never meets its predecessor's leftovers.
    pub generation: String,
    /// User attributes, `title`, `icon`, `notes`, `active` included.
    pub attrs: Map<String, Value>,
    pub permissions: Permissions,
    pub owner: String,
    /// The principal of the last write of attributes or permissions (`key:<id>` for a key):
    /// the stream carries it to the bucket's history.
    pub modified_by: String,
    pub created: i64,
    pub last_modified: i64,
    pub revision: i64,
    pub file_count: i64,
    pub total_bytes: i64,
}

impl Bucket {
    /// The `data` object of the API: attributes plus server fields; `active` defaults to true.
    pub fn data(&self) -> Value {
        let mut data = self.attrs.clone();
        data.entry("active").or_insert(Value::Bool(true));
        data.insert("id".into(), json!(self.id));
        data.insert("created".into(), json!(self.created));
        data.insert("last_modified".into(), json!(self.last_modified));
        data.insert("revision".into(), json!(self.revision));
        data.insert("owner".into(), json!(self.owner));
        data.insert("file_count".into(), json!(self.file_count));
        data.insert("total_bytes".into(), json!(self.total_bytes));
        Value::Object(data)
    }

    /// `{"data": …, "permissions": …}`.
    pub fn envelope(&self) -> Value {
        json!({"data": self.data(), "permissions": self.permissions.to_json()})
    }

    /// Quoted `last_modified`, as Kinto.
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.last_modified)
    }

    pub fn last_modified_http(&self) -> String {
        http_date(self.last_modified)
    }

    pub fn is_active(&self) -> bool {
        self.attrs
            .get("active")
            .and_then(Value::as_bool)
            .unwrap_or(true)
    }

    /// A new incarnation of bucket `id` owned by `owner`, who is always in `write`.
    pub fn new_incarnation(
        id: &str,
        owner: &str,
        attrs: Map<String, Value>,
        mut permissions: Permissions,
        now: i64,
    ) -> Bucket {
        permissions.ensure_writer(owner);
        Bucket {
            id: id.to_string(),
            generation: generate_generation(),
            attrs,
            permissions,
            owner: owner.to_string(),
            modified_by: owner.to_string(),
            created: now,
            last_modified: now,
            revision: 1,
            file_count: 0,
            total_bytes: 0,
        }
    }

    /// This bucket with new attributes and permissions: the next revision of the same
    /// incarnation (the owner stays a writer).
    pub fn next_revision(
        &self,
        attrs: Map<String, Value>,
        mut permissions: Permissions,
        now: i64,
    ) -> Bucket {
        permissions.ensure_writer(&self.owner);
        Bucket {
            attrs,
            permissions,
            revision: self.revision + 1,
            last_modified: next_timestamp(Some(self.last_modified), now),
            ..self.clone()
        }
    }

    /// The trace a delete answers with.
    pub fn tombstone(&self, deleted_at: i64) -> Value {
        json!({"id": self.id, "deleted": true, "last_modified": deleted_at})
    }
}

/// The body of a bucket POST or PUT: `{"data"?, "permissions"?}` (both optional).
#[derive(Debug, Clone, PartialEq)]
pub struct BucketBody {
    pub data: Value,
    pub permissions: PartialPermissions,
}

impl BucketBody {
    /// Only `data` and `permissions` may be given: an attribute at the top level
    /// (`{"title": "x"}`) is refused naming it, rather than silently dropped. (Kinto's body
    /// schema ignores unknown members — colander's default — and answers as if they had not
    /// been sent, which loses the client's attributes without a word; here they are a 400.)
    pub fn parse(body: Option<Value>) -> Result<BucketBody, RuleError> {
        let body = match body {
            None => Map::new(),
            Some(Value::Object(map)) => map,
            Some(_) => {
                return Err(RuleError::invalid(
                    "body",
                    "must be an object with 'data' and/or 'permissions'",
                ));
            }
        };
        only_known(&body, "", &["data", "permissions"]).map_err(|e| RuleError {
            reason: format!("{}; bucket attributes go under 'data'", e.reason),
            ..e
        })?;
        let data = body.get("data").cloned().unwrap_or_else(|| json!({}));
        let permissions = match body.get("permissions") {
            None => PartialPermissions::default(),
            Some(p) => Permissions::parse_partial(p)?,
        };
        Ok(BucketBody { data, permissions })
    }

    /// The id `data.id` asks for, if any.
    pub fn given_id(&self) -> Result<Option<String>, RuleError> {
        match self.data.get("id") {
            None => Ok(None),
            Some(Value::String(id)) => match id_problem(id) {
                Some(problem) => Err(RuleError::invalid("data.id", problem)),
                None => Ok(Some(id.clone())),
            },
            Some(_) => Err(RuleError::invalid("data.id", "must be a string")),
        }
    }
}

/// The counters among `SERVER_FIELDS`: live figures that uploads and deletions move without a
/// write of the bucket, so a client cannot be expected to echo them exactly.
const COUNTERS: [&str; 2] = ["file_count", "total_bytes"];

/// Checks the server-managed names in the `data` of a write against what the server has:
/// `server` is the bucket the write applies to (as it is before the write; for a create,
/// `is_new`, the bucket about to be made, whose `created` and `last_modified` the client cannot
/// know), `host` the deployment's SFTP host. A name echoed with the value the server answers is accepted
/// (and dropped by `clean_attrs`); a different value is a 400 naming it, never silently
/// ignored — a client that believes it set the owner, backdated `created` or forced
/// `last_modified` learns it did not:
///
/// - `id`, `owner`, `created`, `last_modified`, `revision`, `host`: the same value, or absent
///   (`host` is reserved even where there is no SFTP server: it is never a user attribute);
/// - `file_count`, `total_bytes`: any count (a whole number ≥ 0), since they move with every
///   upload between the client's read and its write; anything else is refused.
///
/// The caller checks this only once the client may write the bucket, so that a refusal never
/// tells a stranger what a bucket holds.
pub fn check_reserved(
    data: &Value,
    server: &Bucket,
    is_new: bool,
    host: Option<&str>,
) -> Result<(), RuleError> {
    let Value::Object(map) = data else {
        return Ok(());
    };
    let current = server.data();
    for name in SERVER_FIELDS {
        let Some(given) = map.get(name) else {
            continue;
        };
        let field = format!("data.{name}");
        if COUNTERS.contains(&name) {
            if given.as_u64().is_none() {
                return Err(RuleError::invalid(
                    field,
                    "is a count the server keeps (a whole number ≥ 0; what you send is not stored)",
                ));
            }
            continue;
        }
        let have = match name {
            "host" => host.map(|h| json!(h)),
            _ => current.get(name).cloned(),
        };
        if have.as_ref() == Some(given) {
            continue;
        }
        let why = match (name, &have) {
            ("id", _) => "does not match the id in the path".to_string(),
            ("host", None) => {
                "is reserved: the server names its SFTP host there (this deployment has none)"
                    .to_string()
            }
            ("created" | "last_modified", _) if is_new => {
                "is set by the server when it creates the bucket: leave it out".to_string()
            }
            (_, Some(have)) => {
                format!("is set by the server: send the value it has ({have}) or leave it out")
            }
            (_, None) => "is set by the server: leave it out".to_string(),
        };
        return Err(RuleError::invalid(field, why));
    }
    Ok(())
}

/// Turns the `data` of a request into stored attributes: drops server fields (refusing an `id`
/// that is not `path_id`), checks the types of the known fields and the size cap.
pub fn clean_attrs(data: &Value, path_id: &str) -> Result<Map<String, Value>, RuleError> {
    let Value::Object(map) = data else {
        return Err(RuleError::invalid("data", "must be an object"));
    };
    if let Some(id) = map.get("id")
        && id.as_str() != Some(path_id)
    {
        return Err(RuleError::invalid(
            "data.id",
            "does not match the id in the path",
        ));
    }
    let mut attrs = Map::new();
    for (key, value) in map {
        if key.len() > MAX_ATTR_KEY_BYTES {
            return Err(RuleError::invalid(
                "data",
                format!("attribute names are at most {MAX_ATTR_KEY_BYTES} bytes"),
            ));
        }
        if SERVER_FIELDS.contains(&key.as_str()) {
            continue;
        }
        if STRING_FIELDS.contains(&key.as_str()) {
            match value {
                // Clearing an optional text field.
                Value::Null => continue,
                Value::String(_) => {}
                _ => {
                    return Err(RuleError::invalid(
                        format!("data.{key}"),
                        "must be a string",
                    ));
                }
            }
        }
        if key == "active" {
            match value {
                // The default: not stored, so data() and the stored attributes agree.
                Value::Bool(true) => continue,
                Value::Bool(false) => {}
                _ => {
                    return Err(RuleError::invalid("data.active", "must be a boolean"));
                }
            }
        }
        attrs.insert(key.clone(), value.clone());
    }
    check_object_depth(&attrs, "data")?;
    if attrs.len() > MAX_ATTR_KEYS {
        return Err(RuleError::invalid(
            "data",
            format!("has {} attributes; at most {MAX_ATTR_KEYS}", attrs.len()),
        ));
    }
    let attrs = Value::Object(attrs);
    if json_size_within(&attrs, MAX_ATTRS_BYTES).is_none() {
        return Err(RuleError::too_large(
            "data",
            format!("bucket attributes are more than {MAX_ATTRS_BYTES} bytes of JSON"),
        ));
    }
    let Value::Object(attrs) = attrs else {
        unreachable!("built as an object just above")
    };
    Ok(attrs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::error::RuleKind;

    fn bucket() -> Bucket {
        Bucket {
            id: "b1".into(),
            generation: "g".into(),
            attrs: Map::new(),
            permissions: Permissions {
                read: vec![],
                write: vec!["user:a".into()],
            },
            owner: "user:a".into(),
            modified_by: "user:a".into(),
            created: 1,
            last_modified: 2,
            revision: 1,
            file_count: 0,
            total_bytes: 0,
        }
    }

    #[test]
    fn data_has_server_fields_and_active_default() {
        let d = bucket().data();
        assert_eq!(d["id"], "b1");
        assert_eq!(d["active"], true);
        assert_eq!(d["revision"], 1);
        assert_eq!(d["owner"], "user:a");
        assert_eq!(bucket().etag(), "\"2\"");
    }

    #[test]
    fn clean_drops_server_fields_and_keeps_user_attributes() {
        let attrs = clean_attrs(
            &json!({"id": "b1", "revision": 99, "title": "T", "color": {"x": 1}, "active": false}),
            "b1",
        )
        .unwrap();
        assert_eq!(attrs.get("revision"), None);
        assert_eq!(attrs.get("id"), None);
        assert_eq!(attrs["title"], "T");
        assert_eq!(attrs["color"]["x"], 1);
        assert_eq!(attrs["active"], false);
    }

    #[test]
    fn clean_refuses_bad_inputs_naming_the_field() {
        let cases = [
            (json!([]), "data", RuleKind::Invalid),
            (json!({"id": "other"}), "data.id", RuleKind::Invalid),
            (json!({"title": 3}), "data.title", RuleKind::Invalid),
            (json!({"active": "yes"}), "data.active", RuleKind::Invalid),
            (
                json!({"big": "x".repeat(MAX_ATTRS_BYTES)}),
                "data",
                RuleKind::TooLarge,
            ),
        ];
        for (data, field, code) in cases {
            let err = clean_attrs(&data, "b1").unwrap_err();
            assert_eq!(err.kind, code, "{data}");
            assert_eq!(err.field, field);
        }
    }

    #[test]
    fn active_true_is_the_default_and_not_stored() {
        assert!(
            clean_attrs(&json!({"active": true}), "b1")
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            clean_attrs(&json!({"active": false}), "b1").unwrap()["active"],
            false
        );
        // So a patch of an unchanged bucket's data() changes nothing.
        let b = bucket();
        assert_eq!(clean_attrs(&b.data(), "b1").unwrap(), b.attrs);
    }

    #[test]
    fn null_clears_optional_text() {
        let attrs = clean_attrs(&json!({"title": null}), "b1").unwrap();
        assert!(attrs.is_empty());
    }

    fn nested(levels: usize) -> Value {
        let mut v = json!(1);
        for _ in 0..levels {
            v = json!({ "a": v });
        }
        v
    }

    #[test]
    fn attributes_nest_at_most_max_json_depth() {
        use crate::domain::bounds::MAX_JSON_DEPTH;
        // The attributes object is the first level.
        assert!(clean_attrs(&json!({"x": nested(MAX_JSON_DEPTH - 1)}), "b1").is_ok());
        for data in [
            json!({"x": nested(MAX_JSON_DEPTH)}),
            json!({"x": [nested(MAX_JSON_DEPTH)]}),
            json!({"ok": 1, "x": {"y": nested(200)}}),
        ] {
            let err = clean_attrs(&data, "b1").unwrap_err();
            assert_eq!(
                (err.kind, err.field.as_str()),
                (RuleKind::Invalid, "data.x")
            );
        }
    }

    #[test]
    fn attribute_names_and_counts_are_bounded() {
        let many: Map<String, Value> = (0..=MAX_ATTR_KEYS)
            .map(|i| (format!("k{i}"), json!(1)))
            .collect();
        let err = clean_attrs(&Value::Object(many), "b1").unwrap_err();
        assert_eq!(err.field, "data");
        let long = json!({ "k".repeat(MAX_ATTR_KEY_BYTES + 1): 1 });
        assert_eq!(clean_attrs(&long, "b1").unwrap_err().field, "data");
        let fine = json!({ "k".repeat(MAX_ATTR_KEY_BYTES): 1 });
        assert!(clean_attrs(&fine, "b1").is_ok());
    }

    #[test]
    fn bodies_hold_only_data_and_permissions() {
        for (body, field) in [
            (json!({"title": "x"}), "title"),
            (json!({"data": {}, "perms": {}}), "perms"),
            (json!({"id": "b1"}), "id"),
            (json!([]), "body"),
        ] {
            let err = BucketBody::parse(Some(body.clone())).unwrap_err();
            assert_eq!(err.field, field, "{body}");
        }
        let err = BucketBody::parse(Some(json!({"title": "x"}))).unwrap_err();
        assert!(err.reason.contains("go under 'data'"), "{}", err.reason);
        assert!(BucketBody::parse(Some(json!({"data": {}, "permissions": {}}))).is_ok());
        assert!(BucketBody::parse(None).is_ok());
    }
}
