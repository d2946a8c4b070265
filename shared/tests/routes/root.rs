//! `GET /v1/`, the 307 redirects, 404 and 405 envelopes, and every way a token is refused.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::common::{BASE_URL, CREATOR, Env, SECRET, now_secs, sign, token};

#[tokio::test]
async fn server_info_anonymous_and_authenticated() {
    let env = Env::new();
    let anon = env.anonymous().get("/v1/").await.expect(200).json();
    assert_eq!(anon["project_name"], "buckets");
    assert!(anon["project_version"].is_string());
    assert!(anon["http_api_version"].is_string());
    assert_eq!(anon["url"], format!("{BASE_URL}/v1/"));
    assert!(anon["settings"]["batch_max_requests"].as_u64().unwrap() > 0);
    assert_eq!(anon["settings"]["readonly"], false);
    assert_eq!(anon["settings"]["api_delete_enabled"], true);
    let upload = &anon["settings"]["upload"];
    assert_eq!(upload["max_files_per_bucket"], 100);
    assert_eq!(upload["max_file_size"], 1073741824_u64);
    assert_eq!(upload["accepted_file_types"], "");
    assert!(anon["capabilities"]["default_bucket"].is_object());
    assert!(anon["capabilities"]["permissions"].is_object());
    assert!(anon.get("user").is_none(), "{anon}");

    let alice = env.user("alice", &["create_buckets"]);
    let info = alice.get("/v1/").await.expect(200).json();
    assert_eq!(info["user"]["id"], alice.principal());
    assert_eq!(
        info["user"]["principals"],
        json!(["system.Everyone", "system.Authenticated", "user:alice"])
    );
    assert_eq!(info["user"]["privileges"], json!(["create_buckets"]));
    // The reported default bucket is the one /v1/buckets/default serves (and it is not created
    // by asking).
    let reported = info["user"]["bucket"].as_str().unwrap().to_string();
    let listed = alice.get("/v1/buckets").await.expect(200).json();
    assert_eq!(listed["data"], json!([]));
    let default = alice.get("/v1/buckets/default").await.expect(200).json();
    assert_eq!(default["data"]["id"], reported.as_str());
}

/// A key sees itself in `user.key` (what `buckets whoami` shows); a scoped key is not told of
/// its owner's personal bucket, which it cannot reach.
#[tokio::test]
async fn server_info_shows_the_key_and_its_scope() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("b1", &json!({})).await;
    let (id, scoped) = crate::keys::new_key(
        &alice,
        json!({"title": "job", "buckets": [{"id": "b1", "access": "write"}]}),
    )
    .await;
    let info = env.keyed(&scoped).get("/v1/").await.expect(200).json();
    assert_eq!(info["user"]["id"], alice.principal());
    assert_eq!(
        info["user"]["key"],
        json!({"id": id, "principal": format!("key:{id}"), "buckets": [{"id": "b1", "access": "write"}]})
    );
    assert!(info["user"].get("bucket").is_none(), "{info}");
    let (id, whole) = crate::keys::new_key(&alice, json!({"title": "all"})).await;
    let info = env.keyed(&whole).get("/v1/").await.expect(200).json();
    assert_eq!(
        info["user"]["key"],
        json!({"id": id, "principal": format!("key:{id}")})
    );
    assert!(info["user"]["bucket"].is_string(), "{info}");
    let info = alice.get("/v1/").await.expect(200).json();
    assert!(info["user"].get("key").is_none(), "{info}");
}

#[tokio::test]
async fn server_info_says_how_to_sign_in() {
    let api_keys = json!({
        "headers": ["Authorization: Bearer bk_…", "X-API-Key: bk_…"],
        // Absolute, as every URL the API answers (resolved against the base, "/v1/keys" would
        // lose the stage's path).
        "url": format!("{BASE_URL}/v1/keys"),
    });
    // No identity provider: tokens signed with the deployment's own keys.
    let info = Env::new().anonymous().get("/v1/").await.expect(200).json();
    assert_eq!(info["auth"], json!({"type": "jwt", "api_keys": api_keys}));
    // A Cognito user pool: what InitiateAuth needs, public (no token).
    let env = Env::advertising(&[
        ("AUTH_PROVIDER", "cognito"),
        ("COGNITO_USER_POOL_ID", "eu-west-1_p"),
        ("COGNITO_CLIENT_ID", "client-1"),
        ("COGNITO_REGION", "eu-west-1"),
    ]);
    let info = env.anonymous().get("/v1/").await.expect(200).json();
    assert_eq!(
        info["auth"],
        json!({
            "type": "cognito",
            "issuer": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_p",
            "client_id": "client-1",
            "jwks_uri": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_p/.well-known/jwks.json",
            "user_pool_id": "eu-west-1_p",
            "region": "eu-west-1",
            "endpoint": "https://cognito-idp.eu-west-1.amazonaws.com/",
            "flows": ["USER_PASSWORD_AUTH", "REFRESH_TOKEN_AUTH"],
            "api_keys": api_keys,
        })
    );
    // An external OpenID Connect issuer: its issuer and client, no Cognito fields.
    let env = Env::advertising(&[
        ("AUTH_PROVIDER", "oidc"),
        ("JWT_JWKS_URL", "https://login.example.com/jwks"),
        ("JWT_JWKS_ISSUER", "https://login.example.com/"),
        ("JWT_JWKS_AUDIENCE", "buckets"),
        ("COGNITO_REGION", "eu-west-1"),
    ]);
    let info = env.anonymous().get("/v1/").await.expect(200).json();
    assert_eq!(info["auth"]["type"], "oidc");
    assert_eq!(info["auth"]["issuer"], "https://login.example.com/");
    assert_eq!(info["auth"]["client_id"], "buckets");
    assert_eq!(info["auth"]["jwks_uri"], "https://login.example.com/jwks");
    assert!(info["auth"].get("region").is_none(), "{info}");
}

#[tokio::test]
async fn unprefixed_paths_redirect_307_to_v1_keeping_the_query() {
    let env = Env::new();
    let c = env.anonymous();
    let cases = [
        ("GET", "/buckets?_limit=2", "/v1/buckets?_limit=2"),
        ("POST", "/buckets", "/v1/buckets"),
        ("GET", "/", "/v1/"),
        ("GET", "/v1", "/v1/"),
        ("GET", "/v1/buckets/", "/v1/buckets"),
        ("DELETE", "/v1/buckets/?_limit=3", "/v1/buckets?_limit=3"),
        // Other methods on a permalink are not its route: they fall to the catch-all.
        (
            "PUT",
            "/files/bucket/b1/h/a.csv",
            "/v1/files/bucket/b1/h/a.csv",
        ),
    ];
    for (method, path, target) in cases {
        let r = c.send(method, path, &[], Some("{}")).await.expect(307);
        assert_eq!(r.header("location").unwrap(), format!("{BASE_URL}{target}"));
        assert!(r.resp.body.is_none(), "{method} {path}");
    }
    // The Location works as given.
    let r = c.get("/buckets?_limit=2").await;
    let location = r.header("location").unwrap();
    c.get(&crate::common::link(&location)).await.expect(200);
}

#[tokio::test]
async fn unknown_v1_paths_are_404_envelopes() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("b1", &json!({})).await;
    for path in [
        "/v1/nothing-here",
        "/v1/buckets/b1/nothing",
        "/v1/buckets/b1/files/a/b",
        "/v1/files/bucket/b1/h/a.csv",
    ] {
        let body = alice.get(path).await.expect_error(404, 111);
        assert!(body.get("details").is_none(), "{path}: {body}");
    }
    // The upload status route only takes GET; other methods find no route.
    alice
        .delete("/v1/buckets/b1/uploads/0123456789abcdef0123456789abcdef")
        .await
        .expect_error(404, 111);
}

#[tokio::test]
async fn methods_not_served_are_405() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("b1", &json!({})).await;
    let cases = [
        ("POST", "/v1/"),
        ("DELETE", "/v1/"),
        ("PUT", "/v1/buckets"),
        ("PATCH", "/v1/buckets"),
        ("POST", "/v1/buckets/b1"),
        ("DELETE", "/v1/buckets/b1/data"),
        ("POST", "/v1/buckets/b1/data"),
        ("PUT", "/v1/buckets/b1/files"),
        ("DELETE", "/v1/buckets/b1/files"),
        ("PUT", "/v1/buckets/b1/files/a.csv"),
        ("POST", "/v1/buckets/b1/files/a.csv"),
        ("GET", "/v1/buckets/b1/fetch"),
        ("GET", "/v1/buckets/b1/store"),
        ("DELETE", "/v1/buckets/b1/empty"),
    ];
    for (method, path) in cases {
        let body = alice
            .send(method, path, &[], Some("{}"))
            .await
            .expect_error(405, 115);
        assert!(body["message"].as_str().unwrap().contains(method), "{body}");
    }
}

fn b64(v: Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

#[tokio::test]
async fn bad_tokens_are_401_with_the_kinto_envelope() {
    let env = Env::new();
    let secret = SECRET.as_bytes();
    let live = now_secs() + 600;
    let alg_none = format!(
        "{}.{}.",
        b64(json!({"alg": "none", "typ": "JWT"})),
        b64(json!({"sub": "mallory", "exp": live}))
    );
    let cases = vec![
        ("alg none", alg_none),
        (
            "wrong key",
            sign(&json!({"sub": "m", "exp": live}), b"not-it"),
        ),
        (
            "expired",
            sign(&json!({"sub": "m", "exp": now_secs() - 120}), secret),
        ),
        ("no exp", sign(&json!({"sub": "m"}), secret)),
        ("no sub", sign(&json!({"exp": live}), secret)),
        ("empty sub", sign(&json!({"sub": "", "exp": live}), secret)),
        (
            "privileges not a list",
            sign(
                &json!({"sub": "m", "exp": live, "privileges": "admin"}),
                secret,
            ),
        ),
        ("malformed", "abc.def.ghi".to_string()),
        ("garbage", "x".to_string()),
    ];
    // Refused everywhere, public routes included, whatever the function.
    for (name, t) in &cases {
        let caller = env.authorized(&format!("Bearer {t}"));
        for path in [
            "/v1/",
            "/v1/buckets",
            "/v1/buckets/b1/data",
            "/v1/buckets/b1/files",
        ] {
            let body = caller.get(path).await.expect_error(401, 104);
            let message = body["message"].as_str().unwrap();
            assert!(message.contains("authenticate"), "{name} {path}: {body}");
        }
    }
    // A valid token whose claims were edited.
    let good = token("mallory", &[]);
    let parts: Vec<&str> = good.split('.').collect();
    let claims = json!({"sub": "mallory", "exp": live, "privileges": ["admin"]});
    let forged = format!("{}.{}.{}", parts[0], b64(claims), parts[2]);
    env.authorized(&format!("Bearer {forged}"))
        .get("/v1/")
        .await
        .expect_error(401, 104);
    // Other schemes, and a scheme without a token.
    for header in ["Basic YWxpY2U6c2VjcmV0", "Bearer", "Bearer   ", "Token abc"] {
        env.authorized(header)
            .get("/v1/buckets")
            .await
            .expect_error(401, 104);
    }
    // The scheme is case-insensitive.
    let lower = format!("bearer {}", token("alice", &[]));
    let info = env.authorized(&lower).get("/v1/").await.expect(200).json();
    assert_eq!(info["user"]["id"], "user:alice");
}

#[tokio::test]
async fn routes_that_need_identity_answer_401_to_anonymous_callers() {
    let env = Env::new();
    let anon = env.anonymous();
    anon.post("/v1/buckets", &json!({}))
        .await
        .expect_error(401, 104);
    anon.put("/v1/buckets/anon", &json!({}))
        .await
        .expect_error(401, 104);
    anon.delete("/v1/buckets").await.expect_error(401, 104);
    for method in ["GET", "PUT", "PATCH", "DELETE"] {
        for path in ["/v1/buckets/default", "/v1/buckets/default/data"] {
            if path.ends_with("data") && method == "DELETE" {
                continue;
            }
            anon.send(method, path, &[], Some("{\"data\": {}}"))
                .await
                .expect_error(401, 104);
        }
    }
    anon.get("/v1/buckets/default/files")
        .await
        .expect_error(401, 104);
}
