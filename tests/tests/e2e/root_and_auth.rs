//! `GET /v1/`, the 307 redirects, and every way a token is refused.

use buckets_e2e::{Caller, now_secs, sign, token, unique};
use serde_json::json;

#[test]
fn server_info_anonymous_and_authenticated() {
    let anon = Caller::anonymous().get("/v1/").expect(200).json();
    assert_eq!(anon["project_name"], "buckets");
    assert!(anon["project_version"].is_string());
    assert!(anon["http_api_version"].is_string());
    assert!(anon["settings"]["batch_max_requests"].as_u64().unwrap() > 0);
    assert_eq!(anon["settings"]["upload"]["max_files_per_bucket"], 100);
    assert_eq!(anon["settings"]["upload"]["max_file_size"], 1073741824_u64);
    assert!(anon["capabilities"].is_object());
    assert!(anon.get("user").is_none(), "{anon}");

    let alice = Caller::user("alice", &[]);
    let info = alice.get("/v1/").expect(200).json();
    assert_eq!(info["user"]["id"], alice.principal());
    let principals = info["user"]["principals"].as_array().unwrap();
    for p in ["system.Everyone", "system.Authenticated"] {
        assert!(principals.contains(&json!(p)), "{info}");
    }
    assert!(principals.contains(&json!(alice.principal())));
    // The reported default bucket is the one /v1/buckets/default serves.
    let default = alice.get("/v1/buckets/default").expect(200).json();
    assert_eq!(info["user"]["bucket"], default["data"]["id"]);
}

#[test]
fn the_url_in_server_info_works_for_an_ordinary_client() {
    let info = Caller::anonymous().get("/v1/").expect(200).json();
    let url = info["url"].as_str().unwrap();
    assert!(url.starts_with("http"), "{url}");
    Caller::anonymous().get(url).expect(200);
}

#[test]
fn unprefixed_paths_redirect_307_to_v1() {
    let c = Caller::anonymous();
    let r = c.get("/buckets?_limit=2").expect(307);
    let location = r.header("location").unwrap();
    assert!(location.ends_with("/v1/buckets?_limit=2"), "{location}");
    // The Location is absolute and works as given.
    c.get(&location).expect(200);
    let r = c.get("/v1").expect(307);
    assert!(r.header("location").unwrap().ends_with("/v1/"));
    let r = c.send("POST", "/buckets", &[], Some("{}")).expect(307);
    assert!(r.header("location").unwrap().ends_with("/v1/buckets"));
    let r = c.get("/v1/buckets/").expect(307);
    assert!(r.header("location").unwrap().ends_with("/v1/buckets"));
}

#[test]
fn unknown_v1_paths_are_404_envelopes() {
    Caller::anonymous()
        .get("/v1/nothing-here")
        .expect_error(404, 111);
}

#[test]
fn methods_not_served_are_405() {
    let alice = Caller::user("alice", &[]);
    alice
        .send("PUT", "/v1/buckets", &[], Some("{}"))
        .expect_error(405, 115);
    alice
        .send("POST", "/v1/", &[], Some("{}"))
        .expect_error(405, 115);
}

#[test]
fn bad_tokens_are_401_with_the_kinto_envelope() {
    let secret = std::env::var("BUCKETS_JWT_SECRET").unwrap();
    let sub = unique("mallory-");
    let b64 = |v: serde_json::Value| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let alg_none = format!(
        "{}.{}.",
        b64(json!({"alg": "none", "typ": "JWT"})),
        b64(json!({"sub": sub, "exp": now_secs() + 600}))
    );
    let cases = vec![
        ("alg none", alg_none),
        (
            "wrong key",
            sign(
                &json!({"sub": sub, "exp": now_secs() + 600}),
                b"not-the-secret",
            ),
        ),
        (
            "expired",
            sign(
                &json!({"sub": sub, "exp": now_secs() - 120}),
                secret.as_bytes(),
            ),
        ),
        ("no exp", sign(&json!({"sub": sub}), secret.as_bytes())),
        (
            "no sub",
            sign(&json!({"exp": now_secs() + 600}), secret.as_bytes()),
        ),
        (
            "privileges not a list",
            sign(
                &json!({"sub": sub, "exp": now_secs() + 600, "privileges": "admin"}),
                secret.as_bytes(),
            ),
        ),
        ("malformed", "abc.def.ghi".to_string()),
        ("garbage", "x".to_string()),
    ];
    for (name, t) in cases {
        let body = Caller::with_token(t)
            .get("/v1/buckets")
            .expect_error(401, 104);
        assert!(
            body["message"].as_str().unwrap().contains("authenticate"),
            "{name}: {body}"
        );
    }
    // Tampered payload: a valid token whose claims were edited.
    let good = token(&sub, &[]);
    let parts: Vec<&str> = good.split('.').collect();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64(json!({"sub": sub, "exp": now_secs() + 600, "privileges": ["admin"]})),
        parts[2]
    );
    Caller::with_token(forged)
        .get("/v1/")
        .expect_error(401, 104);
    // Other schemes.
    for header in ["Basic YWxpY2U6c2VjcmV0", "Bearer", "Token abc"] {
        Caller::anonymous()
            .send("GET", "/v1/buckets", &[("Authorization", header)], None)
            .expect_error(401, 104);
    }
}

#[test]
fn routes_that_need_identity_answer_401_to_anonymous_callers() {
    let anon = Caller::anonymous();
    anon.post("/v1/buckets", &json!({})).expect_error(401, 104);
    anon.get("/v1/buckets/default").expect_error(401, 104);
    anon.put(&format!("/v1/buckets/{}", unique("anon")), &json!({}))
        .expect_error(401, 104);
    anon.delete("/v1/buckets").expect_error(401, 104);
}

#[test]
fn browsers_may_call_the_api_cors() {
    let c = Caller::anonymous();
    let pre = c
        .send(
            "OPTIONS",
            "/v1/buckets",
            &[
                ("Origin", "https://console.example"),
                ("Access-Control-Request-Method", "POST"),
            ],
            None,
        )
        .expect(204);
    assert!(
        pre.header("access-control-allow-methods")
            .unwrap()
            .contains("PATCH")
    );
    assert!(
        pre.header("access-control-allow-headers")
            .unwrap()
            .contains("Authorization")
    );
    let r = c.get("/v1/").expect(200);
    assert_eq!(
        r.header("access-control-allow-origin").as_deref(),
        Some("*")
    );
    assert!(
        r.header("access-control-expose-headers")
            .unwrap()
            .contains("Next-Page")
    );
}

#[test]
fn a_401_names_the_bearer_scheme() {
    let r = Caller::with_token("x".into())
        .get("/v1/buckets")
        .expect(401);
    assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"));
}
