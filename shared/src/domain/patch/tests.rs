use super::*;
use crate::domain::error::RuleKind;
use serde_json::json;

const BUCKET: Target = Target::Bucket {
    max_bytes: 64 * 1024,
};

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
        BUCKET,
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
        BUCKET,
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
        BUCKET,
        &json!({}),
        &perms(),
        &json!({"permissions": {"read": ["system.Everyone"]}}),
    )
    .unwrap();
    assert_eq!(out.permissions.read, vec!["system.Everyone"]);
    assert_eq!(out.permissions.write, vec!["user:w"]);
    let out = apply(
        PatchKind::MergePatch,
        BUCKET,
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
    let out = apply(
        PatchKind::JsonPatch,
        BUCKET,
        &json!({"a": 1}),
        &perms(),
        &ops,
    )
    .unwrap();
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
        let err = apply(kind, BUCKET, &json!({"a": 1}), &perms(), &body).unwrap_err();
        assert_eq!(err.kind, RuleKind::Invalid, "{body}");
    }
}

const DOC: Target = Target::Document { max_bytes: 1024 };

fn json_patch(ops: Value) -> Result<Patched, RuleError> {
    apply(
        PatchKind::JsonPatch,
        BUCKET,
        &json!({"a": 1}),
        &perms(),
        &ops,
    )
}

#[test]
fn kinto_permission_form_needs_no_value() {
    // kinto-http.py: add and remove by path alone.
    let out = json_patch(json!([
        {"op": "add", "path": "/permissions/read/system.Everyone"},
        {"op": "add", "path": "/permissions/write/user:x", "value": true},
        {"op": "remove", "path": "/permissions/read/user:r"},
    ]))
    .unwrap();
    assert_eq!(out.permissions.read, vec!["system.Everyone"]);
    assert_eq!(out.permissions.write, vec!["user:w", "user:x"]);
    // Kinto overwrites the value: whatever was sent, the principal is added.
    let out = json_patch(json!([
        {"op": "add", "path": "/permissions/read/user:y", "value": "user:y"},
    ]))
    .unwrap();
    assert_eq!(out.permissions.read, vec!["user:r", "user:y"]);
}

#[test]
fn kinto_permission_form_unescapes_principals() {
    // RFC 6901: `/` is `~1` and `~` is `~0` in a path segment.
    let out = json_patch(json!([
        {"op": "add", "path": "/permissions/read/https:~1~1idp.example~1u~01"},
    ]))
    .unwrap();
    assert_eq!(
        out.permissions.read,
        vec!["https://idp.example/u~1", "user:r"]
    );
    let back = apply(
        PatchKind::JsonPatch,
        BUCKET,
        &json!({}),
        &out.permissions,
        &json!([{"op": "remove", "path": "/permissions/read/https:~1~1idp.example~1u~01"}]),
    )
    .unwrap();
    assert_eq!(back.permissions.read, vec!["user:r"]);
    // Removing a principal that is not there is a 400, as in Kinto (jsonpatch fails).
    let err =
        json_patch(json!([{"op": "remove", "path": "/permissions/read/nobody"}])).unwrap_err();
    assert_eq!((err.kind, err.field.as_str()), (RuleKind::Invalid, "body"));
}

#[test]
fn json_patch_outside_data_and_permissions_is_400() {
    for ops in [
        json!([{"op": "add", "path": "/title", "value": "x"}]),
        json!([{"op": "add", "path": "", "value": {}}]),
        json!([{"op": "add", "path": "/database", "value": 1}]),
        json!([{"op": "copy", "from": "/elsewhere", "path": "/data/x"}]),
        json!([{"op": "add", "path": "/permissions/read/x"}, {"op": "remove", "path": "/id"}]),
        json!([1]),
    ] {
        let err = json_patch(ops.clone()).unwrap_err();
        assert_eq!(
            (err.kind, err.field.as_str()),
            (RuleKind::Invalid, "body"),
            "{ops}"
        );
    }
    // A document has no permissions.
    let err = apply(
        PatchKind::JsonPatch,
        DOC,
        &json!({}),
        &Permissions::default(),
        &json!([{"op": "add", "path": "/permissions/read/x"}]),
    )
    .unwrap_err();
    assert!(err.reason.contains("outside /data"), "{}", err.reason);
}

#[test]
fn merge_bodies_need_data_or_permissions_and_nothing_else() {
    for kind in [PatchKind::Merge, PatchKind::MergePatch] {
        let err = apply(kind, BUCKET, &json!({}), &perms(), &json!({})).unwrap_err();
        assert_eq!(err.field, "data");
        assert!(err.reason.contains("is required"), "{}", err.reason);
        let err = apply(kind, BUCKET, &json!({}), &perms(), &json!({"title": "x"})).unwrap_err();
        assert_eq!(err.field, "title");
        assert!(err.reason.contains("under 'data'"), "{}", err.reason);
        let body = json!({"data": {}, "permissions": {}, "extra": 1});
        assert_eq!(
            apply(kind, BUCKET, &json!({}), &perms(), &body)
                .unwrap_err()
                .field,
            "extra"
        );
        // A document: `data` only.
        let err = apply(kind, DOC, &json!({}), &perms(), &json!({"permissions": {}})).unwrap_err();
        assert_eq!(err.field, "permissions");
        let err = apply(kind, DOC, &json!({}), &perms(), &json!({})).unwrap_err();
        assert_eq!(
            (err.field.as_str(), err.reason.as_str()),
            ("data", "is required")
        );
    }
}

#[test]
fn operation_count_is_bounded() {
    let ops: Vec<Value> = (0..=MAX_PATCH_OPERATIONS)
        .map(|i| json!({"op": "add", "path": format!("/data/k{i}"), "value": i}))
        .collect();
    let err = json_patch(Value::Array(ops.clone())).unwrap_err();
    assert_eq!((err.kind, err.field.as_str()), (RuleKind::TooLarge, "body"));
    assert!(json_patch(Value::Array(ops[..MAX_PATCH_OPERATIONS].to_vec())).is_ok());
}

#[test]
fn self_copies_are_stopped_at_the_first_step_past_the_bounds() {
    // Each copy doubles the document: 30 of them would make gigabytes.
    let mut ops = vec![json!({"op": "add", "path": "/data/x", "value": "y".repeat(100)})];
    for i in 0..30 {
        ops.push(json!({"op": "copy", "from": "/data", "path": format!("/data/c{i}")}));
    }
    let started = std::time::Instant::now();
    let err = json_patch(Value::Array(ops.clone())).unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    // Depth or size, whichever comes first: never a document past either.
    assert!(
        (err.kind == RuleKind::TooLarge && err.reason.contains("grows the document"))
            || err.reason.contains("nests the document"),
        "{err:?}"
    );
    // Wide instead of deep: `add` of the root under new names doubles its size.
    let mut wide = vec![json!({"op": "add", "path": "/data/x", "value": "y".repeat(1000)})];
    for i in 0..40 {
        wide.push(json!({"op": "copy", "from": "/data", "path": format!("/data/k{i}")}));
    }
    let err = apply(
        PatchKind::JsonPatch,
        DOC,
        &json!({}),
        &Permissions::default(),
        &Value::Array(wide),
    )
    .unwrap_err();
    assert_eq!((err.kind, err.field.as_str()), (RuleKind::TooLarge, "body"));
    // Moves and replaces are measured too.
    let big = json!([{"op": "replace", "path": "/data", "value": {"v": "z".repeat(5000)}}]);
    let err = apply(
        PatchKind::JsonPatch,
        DOC,
        &json!({}),
        &Permissions::default(),
        &big,
    )
    .unwrap_err();
    assert_eq!(err.kind, RuleKind::TooLarge);
}

#[test]
fn deep_nesting_by_patch_is_refused() {
    let mut ops = vec![json!({"op": "add", "path": "/data/n", "value": {}})];
    let mut path = "/data/n".to_string();
    for _ in 0..40 {
        path.push_str("/n");
        ops.push(json!({"op": "add", "path": path, "value": {}}));
    }
    let err = json_patch(Value::Array(ops)).unwrap_err();
    assert!(
        err.reason.contains("nests the document deeper"),
        "{}",
        err.reason
    );
}
