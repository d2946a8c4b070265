//! The bucket: user attributes (Kinto allows any), the ACL, and server-managed fields.

use serde_json::{Map, Value, json};

use super::error::RuleError;
use super::ids::{generate_generation, id_problem};
use super::permissions::{PartialPermissions, Permissions};
use super::time::{http_date, next_timestamp};

/// Fields the server owns. Sent back by a client they are ignored (an `id` that differs from
/// the path is an error).
pub const SERVER_FIELDS: [&str; 7] = [
    "id",
    "created",
    "last_modified",
    "revision",
    "owner",
    "file_count",
    "total_bytes",
];

/// The JSON size cap on a bucket's own attributes.
pub const MAX_ATTRS_BYTES: usize = 64 * 1024;

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
    let size = serde_json::to_vec(&attrs)
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    if size > MAX_ATTRS_BYTES {
        return Err(RuleError::too_large(
            "data",
            format!("bucket attributes are {size} bytes of JSON; at most {MAX_ATTRS_BYTES}"),
        ));
    }
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
}
