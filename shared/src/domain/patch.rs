//! The three PATCH flavours (Kinto): `application/json` (top-level merge),
//! `application/merge-patch+json` (RFC 7396) and `application/json-patch+json` (RFC 6902 over
//! `{data, permissions}`, permissions seen as `{principal: true}` objects).

use serde_json::{Map, Value, json};

use super::bounds::{self, MAX_JSON_DEPTH};
use super::error::RuleError;
use super::fields::only_known;
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

/// Most operations one JSON Patch may hold: a permission list rewritten principal by principal
/// is the largest real patch (at most 100 principals per list); each operation costs a
/// measure of the whole document, so the work of a patch stays bounded.
pub const MAX_PATCH_OPERATIONS: usize = 100;

/// What a patch applies to, and how large the patched value may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A bucket: `{data, permissions}`, `data` up to `max_bytes` of JSON.
    Bucket { max_bytes: usize },
    /// A data document: `{data}` only (it has no permissions), up to `max_bytes`.
    Document { max_bytes: usize },
}

impl Target {
    fn max_bytes(self) -> usize {
        match self {
            Target::Bucket { max_bytes } | Target::Document { max_bytes } => max_bytes,
        }
    }

    fn has_permissions(self) -> bool {
        matches!(self, Target::Bucket { .. })
    }

    fn members(self) -> &'static str {
        if self.has_permissions() {
            "'data' and/or 'permissions'"
        } else {
            "'data'"
        }
    }
}

/// Applies `body` to the current `data` object and permissions of `target`.
///
/// A body the target cannot use is refused, never answered with an unchanged object: a merge
/// body needs `data` (or, on a bucket, `permissions`) and nothing else; a JSON Patch may only
/// touch `/data` (and, on a bucket, `/permissions`). A JSON Patch is applied one operation at
/// a time and each step must stay within the bounds (`MAX_PATCH_OPERATIONS`, the size and
/// `MAX_JSON_DEPTH`), so a short patch that copies the document into itself is refused at
/// the first step past them, before it costs time or memory. The result is checked again by
/// the caller (`clean_attrs`, `check_document`), which names the field.
pub fn apply(
    kind: PatchKind,
    target: Target,
    data: &Value,
    permissions: &Permissions,
    body: &Value,
) -> Result<Patched, RuleError> {
    match kind {
        PatchKind::Merge | PatchKind::MergePatch => {
            let Value::Object(body) = body else {
                return Err(RuleError::invalid(
                    "body",
                    format!("must be an object with {}", target.members()),
                ));
            };
            check_members(body, target)?;
            let mut new_data = data.clone();
            if let Some(changes) = body.get("data") {
                let Value::Object(changes) = changes else {
                    return Err(RuleError::invalid("data", "must be an object"));
                };
                // Bounded without a step check: the result is at most the document plus the
                // body (itself at most `MAX_BODY_BYTES`, 128 levels as parsed), and the caller
                // measures it.
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
        PatchKind::JsonPatch => apply_json_patch(target, data, permissions, body),
    }
}

/// A merge body: an object holding `data` and/or `permissions` (a bucket) or `data` (a
/// document), nothing else.
fn check_members(body: &Map<String, Value>, target: Target) -> Result<(), RuleError> {
    let known: &[&str] = if target.has_permissions() {
        &["data", "permissions"]
    } else {
        &["data"]
    };
    only_known(body, "", known).map_err(|e| RuleError {
        reason: format!("{}; attributes go under 'data'", e.reason),
        ..e
    })?;
    if body.is_empty() {
        let why = if target.has_permissions() {
            "is required (or 'permissions'): the patch changes nothing"
        } else {
            "is required"
        };
        return Err(RuleError::invalid("data", why));
    }
    Ok(())
}

fn apply_json_patch(
    target: Target,
    data: &Value,
    permissions: &Permissions,
    body: &Value,
) -> Result<Patched, RuleError> {
    let not_a_patch = |why: String| {
        RuleError::invalid(
            "body",
            format!("must be a JSON Patch (RFC 6902) array of operations: {why}"),
        )
    };
    let Value::Array(raw_ops) = body else {
        return Err(not_a_patch("it is not an array".into()));
    };
    if raw_ops.len() > MAX_PATCH_OPERATIONS {
        return Err(RuleError::too_large(
            "body",
            format!(
                "holds {} operations; at most {MAX_PATCH_OPERATIONS}",
                raw_ops.len()
            ),
        ));
    }
    let mut raw_ops = raw_ops.clone();
    for (i, op) in raw_ops.iter_mut().enumerate() {
        check_op_scope(op, i, target)?;
        kinto_permission_form(op);
    }
    let ops: json_patch::Patch =
        serde_json::from_value(Value::Array(raw_ops)).map_err(|e| not_a_patch(e.to_string()))?;
    let mut doc = if target.has_permissions() {
        json!({"data": data, "permissions": permissions.to_patch_view()})
    } else {
        json!({ "data": data })
    };
    // A step may add at most `max_bytes` to what the document held: the result is then
    // checked exactly, this only stops amplification early.
    let start = bounds::json_size_within(&doc, usize::MAX).unwrap_or(usize::MAX);
    let budget = start.saturating_add(target.max_bytes());
    for (i, op) in ops.0.iter().enumerate() {
        json_patch::patch(&mut doc, std::slice::from_ref(op))
            .map_err(|e| RuleError::invalid("body", format!("fails at operation {i}: {e}")))?;
        if bounds::json_size_within(&doc, budget).is_none() {
            return Err(RuleError::too_large(
                "body",
                format!(
                    "grows the document past {} bytes of JSON at operation {i}",
                    target.max_bytes()
                ),
            ));
        }
        // +1: the envelope `{data: …}` around the value whose depth is bounded.
        if bounds::depth(&doc) > MAX_JSON_DEPTH + 1 {
            return Err(RuleError::invalid(
                "body",
                format!("nests the document deeper than {MAX_JSON_DEPTH} levels at operation {i}"),
            ));
        }
    }
    let Value::Object(mut doc) = doc else {
        return Err(RuleError::invalid(
            "body",
            "must keep the document an object",
        ));
    };
    let data = doc.remove("data").unwrap_or(Value::Object(Map::new()));
    let permissions = if target.has_permissions() {
        Permissions::from_patch_view(doc.get("permissions").unwrap_or(&Value::Object(Map::new())))?
    } else {
        permissions.clone()
    };
    Ok(Patched { data, permissions })
}

/// Whether a pointer is `/<member>` or under it.
fn under(pointer: &str, member: &str) -> bool {
    pointer
        .strip_prefix('/')
        .and_then(|rest| rest.strip_prefix(member))
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Operation `i` may only touch `/data` (and `/permissions` on a bucket): anything else would
/// be dropped from the result, a silent no-op.
fn check_op_scope(op: &Value, i: usize, target: Target) -> Result<(), RuleError> {
    let Value::Object(fields) = op else {
        return Err(RuleError::invalid(
            "body",
            format!(
                "must hold operations that are objects with 'op' and 'path' (operation {i} is not)"
            ),
        ));
    };
    for key in ["path", "from"] {
        let Some(Value::String(pointer)) = fields.get(key) else {
            continue;
        };
        let inside =
            under(pointer, "data") || (target.has_permissions() && under(pointer, "permissions"));
        if !inside {
            let allowed = if target.has_permissions() {
                "/data and /permissions"
            } else {
                "/data"
            };
            return Err(RuleError::invalid(
                "body",
                format!("names {pointer:?} as the {key} of operation {i}, outside {allowed}"),
            ));
        }
    }
    Ok(())
}

/// Kinto's permission form (kinto/core/utils.py `apply_json_patch`): an operation on
/// `/permissions/read/<principal>` or `/permissions/write/<principal>` needs no `value` —
/// Kinto sets it itself, since a principal is both key and value of its set. Here the set is
/// seen as `{principal: true}`, so the value is set to `true` (whatever the client sent, as
/// Kinto overwrites it too). The principal is one RFC 6901 segment (`/` written `~1`).
fn kinto_permission_form(op: &mut Value) {
    let Value::Object(fields) = op else {
        return;
    };
    let Some(Value::String(path)) = fields.get("path") else {
        return;
    };
    let principal = path
        .strip_prefix("/permissions/read/")
        .or_else(|| path.strip_prefix("/permissions/write/"));
    if principal.is_some_and(|p| !p.is_empty() && !p.contains('/')) {
        let op_name = fields.get("op").and_then(Value::as_str).unwrap_or_default();
        if matches!(op_name, "add" | "replace" | "test") {
            fields.insert("value".into(), Value::Bool(true));
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
mod tests;
