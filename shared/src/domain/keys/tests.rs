use super::*;
use crate::domain::error::RuleKind;

const NOW: i64 = 1_800_000_000_000;

fn field_of(body: Value) -> String {
    parse_new_key(Some(body), NOW).unwrap_err().field
}

#[test]
fn secrets_are_well_formed_unique_and_verified_by_hash_only() {
    let a = generate_secret();
    let b = generate_secret();
    assert_ne!(a.secret, b.secret);
    assert_ne!(a.id, b.id);
    assert_eq!(secret_key_id(&a.secret), Some(a.id.as_str()));
    assert!(is_key_id(&a.id));
    assert!(looks_like_secret(&a.secret));
    assert_eq!(a.secret.len(), 3 + 16 + 1 + 43);
    assert!(secret_matches(&a.secret, &a.hash));
    assert!(!secret_matches(&b.secret, &a.hash));
    assert!(!a.hash.contains(&a.secret[20..]));
    // One character changed: refused.
    let mut tampered = a.secret.clone();
    let last = if tampered.ends_with('A') { "B" } else { "A" };
    tampered.replace_range(tampered.len() - 1.., last);
    assert!(!secret_matches(&tampered, &a.hash));
}

#[test]
fn malformed_secrets_name_no_key() {
    let good = generate_secret().secret;
    for bad in [
        "",
        "bk_",
        "bk_0123456789abcdef",
        "bk_0123456789ABCDEF_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "bk_0123456789abcdef_short",
        "bk_0123456789abcdef_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!",
        "eyJhbGciOiJIUzI1NiJ9.e30.x",
        &good[..good.len() - 1],
        &format!("{good}x"),
    ] {
        assert_eq!(secret_key_id(bad), None, "{bad}");
    }
}

#[test]
fn a_new_key_is_read_with_defaults() {
    let key = parse_new_key(Some(json!({"title": " ci "})), NOW).unwrap();
    assert_eq!(key.title, "ci");
    assert!(key.privileges.is_empty());
    assert_eq!((key.buckets, key.expires_at), (None, None));
    let key = parse_new_key(
        Some(
            json!({"data": {"title": "job", "privileges": ["create_buckets", "create_buckets"],
            "buckets": [{"id": "b1", "access": "read"}, {"id": "default", "access": "write"}],
            "expires_at": NOW + 1000}}),
        ),
        NOW,
    )
    .unwrap();
    assert_eq!(key.privileges, vec!["create_buckets"]);
    let scope = key.buckets.unwrap();
    assert_eq!(scope[0].access, Access::Read);
    assert_eq!(scope[1].bucket, BucketRef::Default);
    assert_eq!(key.expires_at, Some(NOW + 1000));
}

#[test]
fn bad_new_keys_name_their_field() {
    assert_eq!(field_of(json!({})), "title");
    assert_eq!(field_of(json!({"title": ""})), "title");
    assert_eq!(field_of(json!({"title": "x".repeat(201)})), "title");
    assert_eq!(field_of(json!({"title": "a", "secret": "x"})), "secret");
    assert_eq!(
        field_of(json!({"data": {"title": "a", "owner": "user:b"}})),
        "data.owner"
    );
    assert_eq!(
        field_of(json!({"title": "a", "privileges": ["root"]})),
        "privileges[0]"
    );
    assert_eq!(
        field_of(json!({"title": "a", "privileges": "admin"})),
        "privileges"
    );
    assert_eq!(field_of(json!({"title": "a", "buckets": {}})), "buckets");
    assert_eq!(
        field_of(json!({"title": "a", "buckets": [{"id": "b1", "access": "all"}]})),
        "buckets[0].access"
    );
    assert_eq!(
        field_of(json!({"title": "a", "buckets": [{"id": "../x", "access": "read"}]})),
        "buckets[0].id"
    );
    assert_eq!(
        field_of(json!({"title": "a", "buckets": [
            {"id": "b1", "access": "read"}, {"id": "b1", "access": "write"}]})),
        "buckets[1].id"
    );
    let many: Vec<Value> = (0..21)
        .map(|i| json!({"id": format!("b{i}"), "access": "read"}))
        .collect();
    let err = parse_new_key(Some(json!({"title": "a", "buckets": many})), NOW).unwrap_err();
    assert_eq!(
        (err.field.as_str(), err.kind),
        ("buckets", RuleKind::TooLarge)
    );
    assert_eq!(
        field_of(json!({"title": "a", "expires_at": NOW})),
        "expires_at"
    );
    assert_eq!(
        field_of(json!({"title": "a", "expires_at": "soon"})),
        "expires_at"
    );
    assert_eq!(
        field_of(json!({"title": "a", "expires_at": NOW + 11 * 366 * 86_400_000i64})),
        "expires_at"
    );
    assert_eq!(
        parse_new_key(Some(json!([])), NOW).unwrap_err().field,
        "body"
    );
    assert_eq!(
        parse_key_patch(Some(json!({"privileges": []})))
            .unwrap_err()
            .field,
        "privileges"
    );
    assert_eq!(
        parse_key_patch(Some(json!({"title": "new"}))).unwrap(),
        "new"
    );
}

#[test]
fn last_used_is_written_at_most_once_a_minute() {
    let mut key = ApiKey {
        id: "0123456789abcdef".into(),
        title: "t".into(),
        owner: "user:alice".into(),
        privileges: vec![],
        buckets: None,
        created: NOW,
        expires_at: Some(NOW + 10),
        last_used: None,
        created_by: None,
        secret_hash: String::new(),
    };
    assert!(key.needs_touch(NOW));
    key.last_used = Some(NOW);
    assert!(!key.needs_touch(NOW + LAST_USED_EVERY_MS - 1));
    assert!(key.needs_touch(NOW + LAST_USED_EVERY_MS));
    assert!(!key.is_expired(NOW + 9) && key.is_expired(NOW + 10));
    assert_eq!(key.owner_sub(), "alice");
    let shown = key.data();
    assert_eq!(shown["prefix"], "bk_0123456789abcdef");
    assert!(shown.get("secret_hash").is_none());
}
