//! Per-bucket ACL: `read` and `write` principal lists (Kinto). `write` implies read.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::error::RuleError;

pub const EVERYONE: &str = "system.Everyone";
pub const AUTHENTICATED: &str = "system.Authenticated";
pub const MAX_PRINCIPALS_PER_LIST: usize = 100;
const MAX_PRINCIPAL_LEN: usize = 256;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permissions {
    #[serde(default)]
    pub read: Vec<String>,
    #[serde(default)]
    pub write: Vec<String>,
}

impl Permissions {
    /// Parses the `permissions` object of a request body. Only `read` and `write` exist on a
    /// bucket; each is a list of principal strings. Absent lists come back as `None`.
    pub fn parse_partial(value: &Value) -> Result<PartialPermissions, RuleError> {
        let Value::Object(map) = value else {
            return Err(RuleError::invalid("permissions", "must be an object"));
        };
        super::fields::only_known(map, "permissions", &["read", "write"])?;
        let mut partial = PartialPermissions::default();
        for (key, list) in map {
            let parsed = parse_list(key, list)?;
            match key.as_str() {
                "read" => partial.read = Some(parsed),
                "write" => partial.write = Some(parsed),
                other => {
                    return Err(RuleError::invalid(
                        format!("permissions.{other}"),
                        "unknown permission; a bucket has 'read' and 'write'",
                    ));
                }
            }
        }
        Ok(partial)
    }

    /// Applies the given lists over these ones (a list given replaces the old one).
    pub fn overlay(&self, partial: &PartialPermissions) -> Permissions {
        Permissions {
            read: partial.read.clone().unwrap_or_else(|| self.read.clone()),
            write: partial.write.clone().unwrap_or_else(|| self.write.clone()),
        }
    }

    /// Puts `owner` in `write` if it is missing: the creator can never lock itself out.
    pub fn ensure_writer(&mut self, owner: &str) {
        if !self.write.iter().any(|p| p == owner) {
            self.write.insert(0, owner.to_string());
        }
    }

    /// Every principal named in either list, once, sorted (the index keys of the bucket).
    pub fn all_principals(&self) -> Vec<String> {
        let mut all: Vec<String> = self.read.iter().chain(&self.write).cloned().collect();
        all.sort();
        all.dedup();
        all
    }

    pub fn can_read(&self, principals: &[String]) -> bool {
        self.can_write(principals) || principals.iter().any(|p| self.read.contains(p))
    }

    pub fn can_write(&self, principals: &[String]) -> bool {
        principals.iter().any(|p| self.write.contains(p))
    }

    /// The JSON-Patch view Kinto uses: each list becomes an object `{principal: true}`, so that
    /// `/permissions/read/<principal>` is a path.
    pub fn to_patch_view(&self) -> Value {
        let as_obj = |list: &[String]| {
            Value::Object(
                list.iter()
                    .map(|p| (p.clone(), Value::Bool(true)))
                    .collect::<Map<_, _>>(),
            )
        };
        serde_json::json!({"read": as_obj(&self.read), "write": as_obj(&self.write)})
    }

    /// Reads back the JSON-Patch view (or plain lists, if a patch replaced a whole list).
    pub fn from_patch_view(value: &Value) -> Result<Permissions, RuleError> {
        let Value::Object(map) = value else {
            return Err(RuleError::invalid("permissions", "must be an object"));
        };
        let mut out = Permissions::default();
        for (key, v) in map {
            let list = match v {
                Value::Object(o) => parse_list(
                    key,
                    &Value::Array(o.keys().cloned().map(Value::String).collect()),
                )?,
                other => parse_list(key, other)?,
            };
            match key.as_str() {
                "read" => out.read = list,
                "write" => out.write = list,
                other => {
                    return Err(RuleError::invalid(
                        format!("permissions.{other}"),
                        "unknown permission; a bucket has 'read' and 'write'",
                    ));
                }
            }
        }
        Ok(out)
    }

    pub fn to_json(&self) -> Value {
        serde_json::json!({"read": self.read, "write": self.write})
    }
}

/// Permission lists a request gave; `None` = not given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartialPermissions {
    pub read: Option<Vec<String>>,
    pub write: Option<Vec<String>>,
}

fn parse_list(key: &str, value: &Value) -> Result<Vec<String>, RuleError> {
    let name = format!("permissions.{key}");
    let Value::Array(items) = value else {
        return Err(RuleError::invalid(&name, "must be a list of principals"));
    };
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        let Value::String(p) = item else {
            return Err(RuleError::invalid(&name, "principals must be strings"));
        };
        if let Some(problem) = principal_problem(p) {
            return Err(RuleError::invalid(
                &name,
                format!("principal {p:?} {problem}"),
            ));
        }
        if !out.contains(p) {
            out.push(p.clone());
        }
    }
    if out.len() > MAX_PRINCIPALS_PER_LIST {
        return Err(RuleError::invalid(
            &name,
            format!("at most {MAX_PRINCIPALS_PER_LIST} principals per permission list"),
        ));
    }
    Ok(out)
}

/// Why `p` cannot be a principal, if it cannot (an ACL entry, a key listing's `owner`).
pub fn principal_problem(p: &str) -> Option<&'static str> {
    if p.trim().is_empty() {
        Some("must not be empty")
    } else if p.len() > MAX_PRINCIPAL_LEN {
        Some("is longer than 256 characters")
    } else if p.chars().any(|c| c.is_control() || c == '#') {
        Some("must not contain control characters or '#'")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::error::RuleKind;
    use serde_json::json;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parse_dedupes_and_keeps_absent_lists_absent() {
        let p = Permissions::parse_partial(&json!({"read": ["a", "a", "b"]})).unwrap();
        assert_eq!(p.read, Some(strings(&["a", "b"])));
        assert_eq!(p.write, None);
    }

    #[test]
    fn parse_rejects_bad_shapes_naming_the_field() {
        for (body, field) in [
            (json!([]), "permissions"),
            (json!({"read": "a"}), "permissions.read"),
            (json!({"write": [1]}), "permissions.write"),
            (json!({"admin": []}), "permissions.admin"),
            (json!({"read": [""]}), "permissions.read"),
        ] {
            let err = Permissions::parse_partial(&body).unwrap_err();
            assert_eq!(err.kind, RuleKind::Invalid);
            assert_eq!(err.field, field);
        }
    }

    #[test]
    fn list_cap_is_100() {
        let list: Vec<String> = (0..100).map(|i| format!("user:{i}")).collect();
        assert!(Permissions::parse_partial(&json!({"read": list})).is_ok());
        let list: Vec<String> = (0..101).map(|i| format!("user:{i}")).collect();
        assert!(Permissions::parse_partial(&json!({"read": list})).is_err());
    }

    #[test]
    fn write_implies_read() {
        let p = Permissions {
            read: vec![],
            write: strings(&["user:a"]),
        };
        assert!(p.can_read(&strings(&["user:a"])));
        assert!(!p.can_read(&strings(&["user:b"])));
        let p = Permissions {
            read: strings(&[EVERYONE]),
            write: vec![],
        };
        assert!(p.can_read(&strings(&[EVERYONE])));
        assert!(!p.can_write(&strings(&[EVERYONE])));
    }

    #[test]
    fn owner_is_always_a_writer() {
        let mut p = Permissions {
            read: vec![],
            write: strings(&["user:b"]),
        };
        p.ensure_writer("user:a");
        assert_eq!(p.write, strings(&["user:a", "user:b"]));
        p.ensure_writer("user:a");
        assert_eq!(p.write.len(), 2);
    }

    #[test]
    fn patch_view_round_trips() {
        let p = Permissions {
            read: strings(&["x"]),
            write: strings(&["user:a"]),
        };
        let back = Permissions::from_patch_view(&p.to_patch_view()).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn all_principals_is_a_sorted_set() {
        let p = Permissions {
            read: strings(&["b", "a"]),
            write: strings(&["a", "c"]),
        };
        assert_eq!(p.all_principals(), strings(&["a", "b", "c"]));
    }
}
