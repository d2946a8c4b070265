//! Property tests of the rules that bound what is stored and what a request may cost: any
//! value within the bounds is kept as it is, any patch either fails with a `RuleError` or
//! yields a value within the bounds, and the parsers never panic.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::bounds::{MAX_JSON_DEPTH, depth, json_size_within};
use super::bucket::{MAX_ATTRS_BYTES, clean_attrs};
use super::data::check_document;
use super::files::{MAX_NAME_LEN, glob_matcher, normalize_name};
use super::pagination::{CursorKeys, page_request};
use super::patch::{self, MAX_PATCH_OPERATIONS, PatchKind, Target};
use super::permissions::Permissions;

/// Any JSON value, nested up to `levels` deep, small enough to generate quickly.
fn json_value(levels: u32) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "[a-z]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(levels, 64, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-c]{1,2}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A value exactly `levels` deep (a chain of arrays or objects around `leaf`).
fn chain(levels: usize, leaf: Value, arrays: bool) -> Value {
    let mut v = leaf;
    for _ in 0..levels {
        v = if arrays {
            json!([v])
        } else {
            json!({ "n": v })
        };
    }
    v
}

/// One JSON-Patch operation over `/data` (and sometimes `/permissions` or outside), built
/// from a few paths so that copies and moves hit existing members often.
fn operation() -> impl Strategy<Value = Value> {
    let path = prop_oneof![
        Just("/data".to_string()),
        "[a-c]".prop_map(|k| format!("/data/{k}")),
        "[a-c]/[a-c]".prop_map(|k| format!("/data/{k}")),
        Just("/permissions/read/user:x".to_string()),
        Just("/elsewhere".to_string()),
    ];
    let op = prop_oneof![
        Just("add"),
        Just("remove"),
        Just("replace"),
        Just("copy"),
        Just("move"),
        Just("test"),
    ];
    (op, path.clone(), path, json_value(3)).prop_map(
        |(op, path, from, value)| json!({"op": op, "path": path, "from": from, "value": value}),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn values_within_the_bounds_round_trip_through_clean_attrs(
        // `x_` names: never one the bucket owns or checks (`id`, `owner`, `title`, `limits`…),
        // which `[d-z][a-z]{0,6}` could draw (an `id` of another bucket fails, rightly).
        members in prop::collection::btree_map("x_[a-z]{0,6}", json_value(6), 0..6)
    ) {
        let data = Value::Object(members.clone().into_iter().collect());
        let attrs = clean_attrs(&data, "b1").expect("within the bounds");
        prop_assert_eq!(Value::Object(attrs), data.clone());
        let doc = check_document(&data, 1 << 20).expect("within the bounds");
        prop_assert_eq!(Value::Object(doc), data);
    }

    #[test]
    fn depth_decides_acceptance(levels in 0usize..80, arrays in any::<bool>()) {
        let data = json!({ "x": chain(levels, json!(1), arrays) });
        let accepted = clean_attrs(&data, "b1").is_ok();
        prop_assert_eq!(accepted, levels < MAX_JSON_DEPTH);
        prop_assert_eq!(check_document(&data, 1 << 20).is_ok(), accepted);
        if !accepted {
            prop_assert_eq!(clean_attrs(&data, "b1").unwrap_err().field, "data.x");
        }
    }

    #[test]
    fn any_patch_fails_cleanly_or_stays_within_the_bounds(
        start in prop::collection::btree_map("[a-c]", json_value(4), 0..3),
        ops in prop::collection::vec(operation(), 0..12),
        kind in prop_oneof![Just(PatchKind::JsonPatch), Just(PatchKind::Merge), Just(PatchKind::MergePatch)],
    ) {
        let data = Value::Object(start.into_iter().collect());
        let perms = Permissions { read: vec![], write: vec!["user:a".into()] };
        let body = match kind {
            PatchKind::JsonPatch => Value::Array(ops),
            _ => json!({"data": ops.first().and_then(|o| o.get("value")).cloned().map(|v| json!({"v": v})).unwrap_or(json!({}))}),
        };
        for target in [Target::Bucket { max_bytes: MAX_ATTRS_BYTES }, Target::Document { max_bytes: 2048 }] {
            if let Ok(out) = patch::apply(kind, target, &data, &perms, &body) {
                // What a patch yields is then held to the stored bounds; whatever passes
                // them nests and weighs within them.
                if let Ok(attrs) = clean_attrs(&out.data, "b1") {
                    prop_assert!(depth(&Value::Object(attrs.clone())) <= MAX_JSON_DEPTH);
                    prop_assert!(json_size_within(&Value::Object(attrs), MAX_ATTRS_BYTES).is_some());
                }
                if let Ok(doc) = check_document(&out.data, 2048) {
                    prop_assert!(depth(&Value::Object(doc)) <= MAX_JSON_DEPTH);
                }
                // Even before those checks, a patch never yields more than the step bound.
                prop_assert!(depth(&out.data) <= MAX_JSON_DEPTH + 1);
            }
        }
    }

    #[test]
    fn self_copying_patches_never_grow_past_the_step_bound(
        copies in prop::collection::vec("[a-z]{1,3}", 1..MAX_PATCH_OPERATIONS),
        seed in "[a-z]{0,200}",
    ) {
        let mut ops = vec![json!({"op": "add", "path": "/data/seed", "value": seed})];
        ops.extend(copies.iter().map(|k| json!({"op": "copy", "from": "/data", "path": format!("/data/{k}")})));
        let target = Target::Document { max_bytes: 4096 };
        match patch::apply(PatchKind::JsonPatch, target, &json!({}), &Permissions::default(), &Value::Array(ops)) {
            Ok(out) => prop_assert!(json_size_within(&out.data, 2 * 4096 + 64).is_some()),
            Err(e) => prop_assert_eq!(e.field, "body"),
        }
    }

    #[test]
    fn the_glob_parser_never_panics(glob in "\\PC{0,300}") {
        let _ = glob_matcher(Some(&glob));
    }

    #[test]
    fn glob_parser_on_glob_alphabet(glob in "[*?{},\\[\\]!a-c\\\\-]{0,80}") {
        if let Ok(m) = glob_matcher(Some(&glob)) {
            let _ = m.is_match("abc");
        }
    }

    #[test]
    fn normalized_names_are_idempotent_and_bounded(raw in "\\PC{0,1100}") {
        if let Ok(name) = normalize_name(&raw, "name") {
            prop_assert!(name.len() <= MAX_NAME_LEN);
            prop_assert!(name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b)));
            prop_assert_eq!(normalize_name(&name, "name").unwrap(), name.clone());
        }
    }

    #[test]
    fn page_requests_never_panic(
        limit in proptest::option::of("\\PC{0,12}"),
        token in proptest::option::of("[A-Za-z0-9_=-]{0,2000}"),
        after in proptest::option::of("\\PC{0,300}"),
    ) {
        let keys = CursorKeys::parse(&format!("k1:{}", "s".repeat(32))).unwrap();
        let _ = page_request(limit.as_deref(), token.as_deref(), after.as_deref(), &keys, 0);
    }

    #[test]
    fn permission_patches_keep_lists_valid(
        principals in prop::collection::vec("[a-z:./~]{1,20}", 0..20),
        remove in any::<bool>(),
    ) {
        let escape = |p: &str| p.replace('~', "~0").replace('/', "~1");
        let mut ops: Vec<Value> = principals.iter()
            .map(|p| json!({"op": "add", "path": format!("/permissions/read/{}", escape(p))}))
            .collect();
        if remove && let Some(p) = principals.first() {
            ops.push(json!({"op": "remove", "path": format!("/permissions/read/{}", escape(p))}));
        }
        let target = Target::Bucket { max_bytes: MAX_ATTRS_BYTES };
        let out = patch::apply(PatchKind::JsonPatch, target, &json!({}), &Permissions::default(), &Value::Array(ops))
            .expect("valid principals, present when removed");
        let mut want: Vec<String> = principals.clone();
        if remove && let Some(first) = principals.first() {
            want.retain(|p| p != first);
        }
        want.sort();
        want.dedup();
        let mut got = out.permissions.read.clone();
        got.sort();
        prop_assert_eq!(got, want);
    }
}
