//! Tokens and cursors (hardening): `nbf` is honoured, tokens living longer than
//! `MAX_TOKEN_LIFETIME` are refused, and page cursors are signed with the deployment's
//! `CURSOR_KEYS` so they can be neither forged nor kept alive.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use shared::api::app::App;
use shared::domain::pagination::{CursorKeys, encode_token};
use shared::domain::time::now_ms;
use shared::memory::{MemoryObjects, MemoryStore};

use crate::common::{CREATOR, Env, SECRET, cursor_keys, link, now_secs, settings, sign};

#[tokio::test]
async fn a_token_not_valid_yet_or_living_too_long_is_401() {
    let env = Env::with(&[("MAX_TOKEN_LIFETIME", "3600")]);
    let n = now_secs();
    let bearer = |claims: serde_json::Value| format!("Bearer {}", sign(&claims, SECRET.as_bytes()));
    for claims in [
        json!({"sub": "a", "exp": n + 600, "nbf": n + 120}),
        json!({"sub": "a", "exp": n + 600, "iat": n, "nbf": n + 300}),
        json!({"sub": "a", "iat": n, "exp": n + 7200}),
        json!({"sub": "a", "exp": n + 365 * 86_400}),
        json!({"sub": "a", "iat": n - 86_400, "exp": n + 60}),
        json!({"sub": "a", "iat": n + 86_400, "exp": n + 86_460}),
    ] {
        let caller = env.authorized(&bearer(claims.clone()));
        caller.get("/v1/").await.expect_error(401, 104);
        caller.get("/v1/buckets").await.expect_error(401, 104);
    }
    for claims in [
        json!({"sub": "a", "exp": n + 600, "nbf": n - 10}),
        json!({"sub": "a", "iat": n, "exp": n + 3600}),
    ] {
        let caller = env.authorized(&bearer(claims.clone()));
        caller.get("/v1/buckets").await.expect(200);
    }
}

#[tokio::test]
async fn the_http_app_needs_cursor_keys() {
    let mut s = settings(&[]);
    s.cursor_keys = None;
    let err = App::new(s, MemoryStore::new(), MemoryObjects::new())
        .err()
        .expect("refused without CURSOR_KEYS");
    assert!(err.contains("CURSOR_KEYS"), "{err}");
}

/// Forged, tampered, expired and unknown-key cursors, for a listing of `pages` holding
/// `position`.
fn bad_cursors(position: &str) -> Vec<(String, &'static str)> {
    let keys = cursor_keys();
    let good = encode_token(&keys, position, now_ms());
    let payload = URL_SAFE_NO_PAD.encode(
        json!({"a": position, "e": now_ms() + 10 * 365 * 86_400_000i64})
            .to_string()
            .as_bytes(),
    );
    let (head, tag) = good.rsplit_once('.').unwrap();
    let kid = head.split_once('.').unwrap().0;
    let other = CursorKeys::parse("other:some-other-deployments-secret-0123456789").unwrap();
    let stolen_id =
        CursorKeys::parse(&format!("{kid}:guessed-secret-guessed-secret-guessed")).unwrap();
    vec![
        (payload.clone(), "unsigned (the old format)"),
        (
            format!("{kid}.{payload}.{tag}"),
            "tampered payload, old signature",
        ),
        (format!("{head}.{}", &tag[1..]), "cut signature"),
        (format!("{head}."), "no signature"),
        (encode_token(&keys, position, now_ms() - 700_000), "expired"),
        (encode_token(&other, position, now_ms()), "unknown key"),
        (
            encode_token(&stolen_id, position, now_ms()),
            "our key id, another secret",
        ),
    ]
}

#[tokio::test]
async fn forged_or_stale_cursors_are_400_naming_token_on_every_listing() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    for i in 0..3 {
        alice.create_bucket(&format!("c{i}"), &json!({})).await;
    }
    alice.upload("c0", "a.txt", b"a", "text/plain").await;
    alice.upload("c0", "b.txt", b"b", "text/plain").await;
    for (path, position) in [("/v1/buckets", "c0"), ("/v1/buckets/c0/files", "a.txt")] {
        // A real one works.
        let good = encode_token(&cursor_keys(), position, now_ms());
        alice
            .get(&format!("{path}?_limit=1&_token={good}"))
            .await
            .expect(200);
        for (token, what) in bad_cursors(position) {
            let r = alice.get(&format!("{path}?_limit=1&_token={token}")).await;
            assert_eq!(r.status(), 400, "{path} {what}");
            r.expect_invalid(400, "querystring", "_token");
        }
    }
    // Delete-all reads the same cursor: nothing is deleted with a bad one.
    for (token, what) in bad_cursors("c0") {
        let r = alice.delete(&format!("/v1/buckets?_token={token}")).await;
        assert_eq!(r.status(), 400, "delete-all {what}");
        r.expect_invalid(400, "querystring", "_token");
    }
    let left = alice.get("/v1/buckets").await.expect(200).json();
    assert_eq!(left["data"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn cursors_survive_a_key_rotation_and_die_with_the_retired_key() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    for i in 0..3 {
        alice.create_bucket(&format!("r{i}"), &json!({})).await;
    }
    let r = alice.get("/v1/buckets?_limit=1").await.expect(200);
    let next = link(&r.header("next-page").unwrap());
    // Redeployed with a new current key, the old one kept as previous: the page in flight goes on.
    let new_key = "next:the-next-cursor-secret-0123456789abcdef";
    let rotated = env.sibling(&[(
        "CURSOR_KEYS",
        &format!("{new_key},{}", crate::common::CURSOR_KEYS),
    )]);
    let alice2 = rotated.user("alice", CREATOR);
    let r = alice2.get(&next).await.expect(200);
    let fresh = r.header("next-page").unwrap();
    assert!(fresh.contains("_token=next."), "{fresh}");
    // Once the old key is retired, its cursors are refused; the new ones still work.
    let retired = env.sibling(&[("CURSOR_KEYS", new_key)]);
    let alice3 = retired.user("alice", CREATOR);
    alice3
        .get(&next)
        .await
        .expect_invalid(400, "querystring", "_token");
    alice3.get(&link(&fresh)).await.expect(200);
}
