use super::*;
use serde_json::json;

fn deployment(types: &[&str], max_bytes: u64) -> UploadSettings {
    UploadSettings {
        max_files_per_bucket: 100,
        max_file_size: 1000,
        accepted_file_types: types.iter().map(|t| t.to_string()).collect(),
        max_bytes_per_bucket: max_bytes,
    }
}

#[test]
fn shapes_are_checked_naming_the_field() {
    let cases = [
        (json!(3), "data.limits"),
        (json!({"max_files": 0}), "data.limits.max_files"),
        (json!({"max_files": -1}), "data.limits.max_files"),
        (json!({"max_file_size": 1.5}), "data.limits.max_file_size"),
        (json!({"max_bytes": "10"}), "data.limits.max_bytes"),
        (json!({"max_count": 3}), "data.limits.max_count"),
        (
            json!({"accepted_file_types": "image/*"}),
            "data.limits.accepted_file_types",
        ),
        (
            json!({"accepted_file_types": []}),
            "data.limits.accepted_file_types",
        ),
        (
            json!({"accepted_file_types": ["image/png", "png"]}),
            "data.limits.accepted_file_types[1]",
        ),
        (
            json!({"accepted_file_types": ["text/csv; charset=x"]}),
            "data.limits.accepted_file_types[0]",
        ),
    ];
    for (value, field) in cases {
        let err = clean_limits(&value).unwrap_err();
        assert_eq!(err.field, field, "{value}");
    }
    assert_eq!(clean_limits(&json!(null)).unwrap(), None);
    assert_eq!(clean_limits(&json!({"max_files": null})).unwrap(), None);
    let kept = json!({"max_files": 3, "max_bytes": null, "accepted_file_types": [".csv", "image/*", "text/plain"]});
    assert_eq!(
        clean_limits(&kept).unwrap(),
        Some(json!({"max_files": 3, "accepted_file_types": [".csv", "image/*", "text/plain"]}))
    );
}

#[test]
fn a_bucket_tightens_never_loosens() {
    let d = deployment(&["image/*", "text/csv", ".json"], 0);
    let ok = |v: Value| {
        BucketLimits::of_attrs(&json!({ "limits": v }).as_object().unwrap().clone())
            .check_within(&d)
    };
    assert!(ok(json!({"max_files": 100, "max_file_size": 1000, "max_bytes": 1_u64 << 40})).is_ok());
    assert!(
        ok(json!({"accepted_file_types": ["image/png", "IMAGE/*", "text/csv", ".json"]})).is_ok()
    );
    for (v, field) in [
        (json!({"max_files": 101}), "data.limits.max_files"),
        (json!({"max_file_size": 1001}), "data.limits.max_file_size"),
        (
            json!({"accepted_file_types": ["image/png", "text/plain"]}),
            "data.limits.accepted_file_types[1]",
        ),
        (
            json!({"accepted_file_types": [".png"]}),
            "data.limits.accepted_file_types[0]",
        ),
        (
            json!({"accepted_file_types": ["text/*"]}),
            "data.limits.accepted_file_types[0]",
        ),
    ] {
        assert_eq!(ok(v.clone()).unwrap_err().field, field, "{v}");
    }
    // With a deployment quota, the bucket's is at most it.
    let d = deployment(&[], 5000);
    let limits = BucketLimits {
        max_bytes: Some(5001),
        ..Default::default()
    };
    assert_eq!(
        limits.check_within(&d).unwrap_err().field,
        "data.limits.max_bytes"
    );
    // No deployment list: any entry.
    let limits = BucketLimits {
        accepted_file_types: Some(vec![".csv".into()]),
        max_bytes: Some(5000),
        ..Default::default()
    };
    assert!(limits.check_within(&d).is_ok());
}

#[test]
fn effective_limits_are_the_tighter() {
    let d = deployment(&["image/*"], 5000);
    let l = Limits::of(
        &d,
        &BucketLimits {
            max_file_size: Some(10),
            max_files: Some(200),
            max_bytes: Some(100),
            accepted_file_types: Some(vec!["image/png".into()]),
        },
    );
    assert_eq!(
        (l.max_file_size, l.max_files, l.max_bytes),
        (10, 100, Some(100))
    );
    assert!(l.accepts("image/png", "a.png"));
    assert!(!l.accepts("image/gif", "a.gif"));
    // The deployment's list still applies to a bucket list it no longer covers.
    let narrowed = Limits::of(
        &deployment(&["text/csv"], 0),
        &BucketLimits {
            accepted_file_types: Some(vec!["image/png".into()]),
            ..Default::default()
        },
    );
    assert!(!narrowed.accepts("image/png", "a.png"));
    let none = Limits::deployment(&deployment(&[], 0));
    assert_eq!(none.max_bytes, None);
    assert!(none.bytes_fit(i64::MAX - 1, 1_000));
    assert!(l.bytes_fit(90, 10));
    assert!(!l.bytes_fit(90, 11));
    // Shrinking always fits, even over a quota tightened below the content.
    assert!(l.bytes_fit(500, 0));
    assert!(l.bytes_fit(500, -10));
}

#[test]
fn unchanged_limits_are_not_checked_again() {
    let d = deployment(&[], 0);
    let attrs = |v: Value| {
        json!({"title": "t", "limits": v})
            .as_object()
            .unwrap()
            .clone()
    };
    // Set under a looser deployment, or an attribute of the bucket's own before.
    for stored in [json!({"max_files": 500}), json!("my own attribute")] {
        let old = attrs(stored.clone());
        let mut new = attrs(stored);
        assert!(clean_in(&mut new, Some(&old), &d).is_ok());
        assert!(clean_in(&mut new.clone(), None, &d).is_err());
    }
    let mut new = attrs(json!({"max_files": 5, "max_bytes": null}));
    clean_in(&mut new, None, &d).unwrap();
    assert_eq!(new["limits"], json!({"max_files": 5}));
    let mut cleared = attrs(json!({}));
    clean_in(&mut cleared, None, &d).unwrap();
    assert!(!cleared.contains_key("limits"));
}

#[test]
fn stored_limits_are_read_leniently() {
    let attrs =
        json!({"limits": {"max_files": "many", "max_bytes": 7, "accepted_file_types": "x"}});
    let l = BucketLimits::of_attrs(attrs.as_object().unwrap());
    assert_eq!(
        l,
        BucketLimits {
            max_bytes: Some(7),
            ..Default::default()
        }
    );
    let other = json!({"limits": "my own attribute"});
    assert_eq!(
        BucketLimits::of_attrs(other.as_object().unwrap()),
        BucketLimits::default()
    );
}
