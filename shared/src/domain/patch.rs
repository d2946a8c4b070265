//! The three PATCH flavours (Kinto): `application/json` (top-level merge),
//! `application/merge-patch+json` (RFC 7396) and `application/json-patch+json` (RFC 6902 over
//! `{data, permissions}`, permissions seen as `{principal: true}` objects).

use serde_json::{Map, Value};

use super::error::RuleError;
use super::permissions::{PartialPermissions, Permissions};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    Merge,
    MergePatch,
    JsonPatch,
}

impl PatchKind {
    /// The kind a media type names (its essence, lowercase: `application/json`); `None` for a
    /// type that is not a patch.
    pub fn from_media_type(essence: &str) -> Option<PatchKind> {
        match essence {
            "application/json" => Some(PatchKind::Merge),
            "application/merge-patch+json" => Some(PatchKind::MergePatch),
            "application/json-patch+json" => Some(PatchKind::JsonPatch),
            _ => None,
        }
    }
}

/// What a patch produces: the new `data` (server fields still in, for the caller to clean) and
/// the new permission lists.
#[derive(Debug, Clone, PartialEq)]
pub struct Patched {
    pub data: Value,
    pub permissions: Permissions,
}

/// Applies `body` to the current `data` object and permissions.
pub fn apply(
    kind: PatchKind,
    data: &Value,
    permissions: &Permissions,
    body: &Value,
) -> Result<Patched, RuleError> {
    match kind {
        PatchKind::Merge | PatchKind::MergePatch => {
            let Value::Object(body) = body else {
                return Err(RuleError::invalid(
                    "body",
                    "must be an object with 'data' and/or 'permissions'",
                ));
            };
            let mut new_data = data.clone();
            if let Some(changes) = body.get("data") {
                let Value::Object(changes) = changes else {
                    return Err(RuleError::invalid("data", "must be an object"));
                };
                if kind == PatchKind::Merge {
                    shallow_merge(&mut new_data, changes);
                } else {
                    json_patch::merge(&mut new_data, &Value::Object(changes.clone()));
                }
            }
            let permissions = match body.get("permissions") {
                None => permissions.clone(),
                Some(value) => permissions.overlay(&partial_for(kind, value)?),
            };
            Ok(Patched {
                data: new_data,
                permissions,
            })
        }
        PatchKind::JsonPatch => {
            let ops: json_patch::Patch = serde_json::from_value(body.clone()).map_err(|e| {
                RuleError::invalid(
                    "body",
                    format!("must be a JSON Patch (RFC 6902) array of operations: {e}"),
                )
            })?;
            let mut doc =
                serde_json::json!({"data": data, "permissions": permissions.to_patch_view()});
            json_patch::patch(&mut doc, &ops)
                .map_err(|e| RuleError::invalid("body", format!("JSON Patch failed: {e}")))?;
            let Value::Object(mut doc) = doc else {
                return Err(RuleError::invalid(
                    "body",
                    "the patch must keep the document an object",
                ));
            };
            let data = doc.remove("data").unwrap_or(Value::Object(Map::new()));
            let permissions = Permissions::from_patch_view(
                doc.get("permissions").unwrap_or(&Value::Object(Map::new())),
            )?;
            Ok(Patched { data, permissions })
        }
    }
}

/// Top-level merge (xyOps `write_bucket_data`, Kinto `application/json` PATCH): each given key
/// replaces the old value.
pub fn shallow_merge(target: &mut Value, changes: &Map<String, Value>) {
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(map) = target {
        for (k, v) in changes {
            map.insert(k.clone(), v.clone());
        }
    }
}

fn partial_for(kind: PatchKind, value: &Value) -> Result<PartialPermissions, RuleError> {
    if kind == PatchKind::MergePatch
        && let Value::Object(map) = value
    {
        // RFC 7396: `null` removes a member; a removed list is an empty list.
        let cleaned: Map<String, Value> = map
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    if v.is_null() {
                        Value::Array(vec![])
                    } else {
                        v.clone()
                    },
                )
            })
            .collect();
        return Permissions::parse_partial(&Value::Object(cleaned));
    }
    Permissions::parse_partial(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::error::RuleKind;
    use serde_json::json;

    fn perms() -> Permissions {
        Permissions {
            read: vec!["user:r".into()],
            write: vec!["user:w".into()],
        }
    }

    #[test]
    fn media_types() {
        assert_eq!(
            PatchKind::from_media_type("application/json"),
            Some(PatchKind::Merge)
        );
        assert_eq!(
            PatchKind::from_media_type("application/merge-patch+json"),
            Some(PatchKind::MergePatch)
        );
        assert_eq!(
            PatchKind::from_media_type("application/json-patch+json"),
            Some(PatchKind::JsonPatch)
        );
        assert_eq!(PatchKind::from_media_type("text/plain"), None);
    }

    #[test]
    fn json_merge_is_shallow() {
        let data = json!({"a": {"x": 1, "y": 2}, "b": 1});
        let out = apply(
            PatchKind::Merge,
            &data,
            &perms(),
            &json!({"data": {"a": {"x": 5}, "c": null}}),
        )
        .unwrap();
        assert_eq!(out.data, json!({"a": {"x": 5}, "b": 1, "c": null}));
        assert_eq!(out.permissions, perms());
    }

    #[test]
    fn merge_patch_is_recursive_and_null_removes() {
        let data = json!({"a": {"x": 1, "y": 2}, "b": 1});
        let out = apply(
            PatchKind::MergePatch,
            &data,
            &perms(),
            &json!({"data": {"a": {"x": 5}, "b": null}}),
        )
        .unwrap();
        assert_eq!(out.data, json!({"a": {"x": 5, "y": 2}}));
    }

    #[test]
    fn permissions_lists_replace() {
        let out = apply(
            PatchKind::Merge,
            &json!({}),
            &perms(),
            &json!({"permissions": {"read": ["system.Everyone"]}}),
        )
        .unwrap();
        assert_eq!(out.permissions.read, vec!["system.Everyone"]);
        assert_eq!(out.permissions.write, vec!["user:w"]);
        let out = apply(
            PatchKind::MergePatch,
            &json!({}),
            &perms(),
            &json!({"permissions": {"read": null}}),
        )
        .unwrap();
        assert!(out.permissions.read.is_empty());
    }

    #[test]
    fn json_patch_edits_data_and_principals() {
        let ops = json!([
            {"op": "add", "path": "/data/title", "value": "T"},
            {"op": "add", "path": "/permissions/read/system.Everyone", "value": true},
            {"op": "remove", "path": "/permissions/read/user:r"},
        ]);
        let out = apply(PatchKind::JsonPatch, &json!({"a": 1}), &perms(), &ops).unwrap();
        assert_eq!(out.data, json!({"a": 1, "title": "T"}));
        assert_eq!(out.permissions.read, vec!["system.Everyone"]);
        assert_eq!(out.permissions.write, vec!["user:w"]);
    }

    #[test]
    fn bad_patches_are_400() {
        let cases = [
            (PatchKind::JsonPatch, json!({"op": "add"})),
            (
                PatchKind::JsonPatch,
                json!([{"op": "remove", "path": "/data/missing"}]),
            ),
            (
                PatchKind::JsonPatch,
                json!([{"op": "test", "path": "/data/a", "value": 2}]),
            ),
            (PatchKind::Merge, json!([1])),
            (PatchKind::Merge, json!({"data": 1})),
            (PatchKind::MergePatch, json!({"permissions": {"read": 1}})),
        ];
        for (kind, body) in cases {
            let err = apply(kind, &json!({"a": 1}), &perms(), &body).unwrap_err();
            assert_eq!(err.kind, RuleKind::Invalid, "{body}");
        }
    }
}
