//! Signing in through the local stack's Cognito user pool (ministack): InitiateAuth
//! USER_PASSWORD_AUTH gives RS256 ID and access tokens, which the functions verify against the
//! pool's JWKS (fetched from the emulator on first need); groups grant privileges. Tokens for
//! another app client (audience) or another pool (issuer), and forgeries, are refused.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use buckets_e2e::{
    COGNITO_PASSWORD, Caller, cognito_sign_in as sign_in, cognito_user as user, local_script,
    now_secs, setting, unique,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn header(token: &str) -> Value {
    let header = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
}

#[test]
fn server_info_says_how_to_sign_in_to_the_pool() {
    let auth = Caller::anonymous().get("/v1/").expect(200).json()["auth"].clone();
    let pool = setting("BUCKETS_USER_POOL_ID");
    assert_eq!(auth["type"], "cognito", "{auth}");
    assert_eq!(auth["user_pool_id"], pool.as_str());
    assert_eq!(auth["client_id"], setting("BUCKETS_USER_POOL_CLIENT_ID"));
    assert_eq!(auth["endpoint"], setting("BUCKETS_COGNITO_ENDPOINT"));
    assert_eq!(auth["region"], "us-east-1");
    assert_eq!(
        auth["issuer"],
        format!("https://cognito-idp.us-east-1.amazonaws.com/{pool}")
    );
    assert!(
        auth["flows"]
            .as_array()
            .unwrap()
            .contains(&json!("USER_PASSWORD_AUTH"))
    );
    // What it advertises is enough to sign in, and the token's issuer is the one advertised.
    let tokens = user(&[]);
    assert_eq!(claims(&tokens.id)["iss"], auth["issuer"]);
}

#[test]
fn the_id_token_signs_in_with_the_privileges_of_the_groups() {
    let tokens = user(&["create_buckets", "not-a-privilege"]);
    let sub = claims(&tokens.id)["sub"].as_str().unwrap().to_string();
    assert_eq!(header(&tokens.id)["alg"], "RS256");
    let caller = Caller::with_token(tokens.id);
    let info = caller.get("/v1/").expect(200).json();
    assert_eq!(info["user"]["id"], format!("user:{sub}"));
    assert_eq!(info["user"]["privileges"], json!(["create_buckets"]));
    let id = unique("cognito-");
    caller.create_bucket(&id, &json!({"data": {"title": "signed in"}}));
    caller.get(&format!("/v1/buckets/{id}")).expect(200);
}

#[test]
fn the_access_token_works_too() {
    let tokens = user(&["create_buckets"]);
    let access = claims(&tokens.access);
    assert_eq!(access["token_use"], "access");
    assert!(access.get("aud").is_none(), "{access}");
    let caller = Caller::with_token(tokens.access);
    let info = caller.get("/v1/").expect(200).json();
    assert_eq!(
        info["user"]["id"],
        format!("user:{}", access["sub"].as_str().unwrap())
    );
    caller.post("/v1/buckets", &json!({})).expect(201);
}

#[test]
fn a_user_in_no_group_cannot_create_a_bucket() {
    let caller = Caller::with_token(user(&[]).id);
    caller
        .post("/v1/buckets", &json!({}))
        .expect_error(403, 121);
    // Still a user: the personal bucket needs no privilege.
    caller.get("/v1/buckets/default").expect(200);
}

#[test]
fn tokens_for_another_client_or_another_pool_are_401() {
    let name = unique("cognito-");
    // Another app client of the same pool: a token for another audience.
    let other_client: Value = serde_json::from_str(&local_script(
        "cognito_user.py",
        &[
            &name,
            COGNITO_PASSWORD,
            "admin",
            "--client-name",
            "buckets-e2e-other-app",
        ],
    ))
    .unwrap();
    let other_audience = sign_in(other_client["client_id"].as_str().unwrap(), &name);
    // Another pool, its own admin group: a token from another issuer.
    let other_pool: Value = serde_json::from_str(&local_script(
        "cognito_user.py",
        &[
            &name,
            COGNITO_PASSWORD,
            "admin",
            "--pool-name",
            "buckets-e2e-other-pool",
            "--client-name",
            "buckets-e2e-app",
        ],
    ))
    .unwrap();
    let other_issuer = sign_in(other_pool["client_id"].as_str().unwrap(), &name);
    for token in [
        other_audience.id,
        other_audience.access,
        other_issuer.id,
        other_issuer.access,
    ] {
        Caller::with_token(token)
            .get("/v1/buckets")
            .expect_error(401, 104);
    }
}

#[test]
fn forged_tokens_with_the_pools_key_ids_are_401() {
    let genuine = user(&[]).id;
    let kid = header(&genuine)["kid"].as_str().unwrap().to_string();
    let mut forged_claims = claims(&genuine);
    forged_claims["cognito:groups"] = json!(["admin"]);
    forged_claims["exp"] = json!(now_secs() + 600);
    // Algorithm confusion: HS256 keyed with the pool's public JWKS (anyone can read it).
    let jwks_url = format!(
        "{}{}/.well-known/jwks.json",
        setting("BUCKETS_COGNITO_ENDPOINT"),
        setting("BUCKETS_USER_POOL_ID")
    );
    let jwks = ureq::get(&jwks_url)
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some(kid.clone());
    let mut forgeries = vec![
        encode(
            &hs,
            &forged_claims,
            &EncodingKey::from_secret(jwks.as_bytes()),
        )
        .unwrap(),
    ];
    let keys: Value = serde_json::from_str(&jwks).unwrap();
    for key in keys["keys"].as_array().unwrap() {
        forgeries.push(
            encode(
                &hs,
                &forged_claims,
                &EncodingKey::from_secret(key.to_string().as_bytes()),
            )
            .unwrap(),
        );
    }
    // RS256 with a key that is not the pool's: under the pool's kid (bad signature), and
    // under an unknown kid (at most one JWKS refetch a minute, then 401).
    let stranger = EncodingKey::from_rsa_pem(include_bytes!(
        "../../../shared/testdata/test-only-rsa-private.pem"
    ))
    .unwrap();
    for k in [kid.as_str(), "not-a-key-of-the-pool"] {
        let mut rs = Header::new(Algorithm::RS256);
        rs.kid = Some(k.to_string());
        forgeries.push(encode(&rs, &forged_claims, &stranger).unwrap());
    }
    // The genuine token's claims re-signed nowhere: its signature on edited claims.
    let parts: Vec<&str> = genuine.split('.').collect();
    forgeries.push(format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(forged_claims.to_string()),
        parts[2]
    ));
    for token in forgeries {
        Caller::with_token(token)
            .get("/v1/buckets")
            .expect_error(401, 104);
    }
    // The genuine one still works afterwards (no key was dropped, nothing is backed off).
    Caller::with_token(genuine).get("/v1/").expect(200);
}
