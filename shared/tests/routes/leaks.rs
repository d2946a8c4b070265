//! A caller who may not read a bucket learns nothing about it (hardening): on every route, an
//! existing bucket it may not read and a missing one get byte-identical answers (status,
//! headers, body), reserved personal-bucket ids of other users included.

use serde_json::json;
use shared::api::response::Response;
use shared::domain::ids::default_bucket_id;

use crate::common::{CREATOR, Caller, Env};

/// `(method, path under the bucket, headers, body)`; `{id}` in a path or body is the bucket id.
type Probe = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    Option<&'static str>,
);

const JSON: &[(&str, &str)] = &[("content-type", "application/json")];

const PROBES: &[Probe] = &[
    ("GET", "/v1/buckets/{id}", &[], None),
    (
        "GET",
        "/v1/buckets/{id}",
        &[("if-none-match", "\"1\"")],
        None,
    ),
    (
        "PUT",
        "/v1/buckets/{id}",
        JSON,
        Some(r#"{"data": {"title": "t"}}"#),
    ),
    (
        "PUT",
        "/v1/buckets/{id}",
        &[("content-type", "application/json"), ("if-none-match", "*")],
        Some("{}"),
    ),
    (
        "PUT",
        "/v1/buckets/{id}",
        &[("content-type", "application/json"), ("if-match", "\"1\"")],
        Some("{}"),
    ),
    (
        "PUT",
        "/v1/buckets/{id}",
        JSON,
        Some(r#"{"permissions": {"write": ["system.Everyone"]}}"#),
    ),
    (
        "PATCH",
        "/v1/buckets/{id}",
        JSON,
        Some(r#"{"data": {"x": 1}}"#),
    ),
    (
        "PATCH",
        "/v1/buckets/{id}",
        &[("content-type", "application/merge-patch+json")],
        Some(r#"{"data": {"x": null}}"#),
    ),
    (
        "PATCH",
        "/v1/buckets/{id}",
        &[("content-type", "application/json-patch+json")],
        Some(r#"[{"op": "add", "path": "/permissions/write/user:x", "value": true}]"#),
    ),
    ("DELETE", "/v1/buckets/{id}", &[], None),
    ("DELETE", "/v1/buckets/{id}", &[("if-match", "\"1\"")], None),
    (
        "POST",
        "/v1/buckets",
        JSON,
        Some(r#"{"data": {"id": "{id}"}}"#),
    ),
    ("GET", "/v1/buckets/{id}/data", &[], None),
    ("GET", "/v1/buckets/{id}/data?revision=1", &[], None),
    (
        "PUT",
        "/v1/buckets/{id}/data",
        JSON,
        Some(r#"{"data": {"x": 1}}"#),
    ),
    (
        "PATCH",
        "/v1/buckets/{id}/data",
        JSON,
        Some(r#"{"data": {"x": 1}}"#),
    ),
    ("GET", "/v1/buckets/{id}/files", &[], None),
    (
        "GET",
        "/v1/buckets/{id}/files?glob=*.txt&_limit=1",
        &[],
        None,
    ),
    (
        "POST",
        "/v1/buckets/{id}/files",
        JSON,
        Some(r#"{"files": [{"name": "n.txt", "size": 1, "content_type": "text/plain"}]}"#),
    ),
    ("GET", "/v1/buckets/{id}/files/a.txt", &[], None),
    ("GET", "/v1/buckets/{id}/files/a.txt?json", &[], None),
    ("GET", "/v1/buckets/{id}/files/missing.txt", &[], None),
    ("DELETE", "/v1/buckets/{id}/files/a.txt", &[], None),
    (
        "GET",
        "/v1/buckets/{id}/uploads/0123456789abcdef0123456789abcdef",
        &[],
        None,
    ),
    (
        "POST",
        "/v1/buckets/{id}/fetch",
        JSON,
        Some(r#"{"sync": "data_and_files"}"#),
    ),
    (
        "POST",
        "/v1/buckets/{id}/store",
        JSON,
        Some(r#"{"sync": "data", "data": {"x": 1}}"#),
    ),
    (
        "POST",
        "/v1/buckets/{id}/store",
        JSON,
        Some(
            r#"{"sync": "files", "files": [{"name": "n.txt", "size": 1, "content_type": "text/plain"}]}"#,
        ),
    ),
    (
        "POST",
        "/v1/buckets/{id}/empty",
        JSON,
        Some(r#"{"files": true, "data": true}"#),
    ),
    (
        "GET",
        "/files/bucket/{id}/00000000000000000000000000000000/a.txt",
        &[],
        None,
    ),
    (
        "GET",
        "/files/bucket/{id}/00000000000000000000000000000000/missing.txt",
        &[],
        None,
    ),
];

async fn answer(caller: &Caller<'_>, probe: &Probe, id: &str) -> Response {
    let (method, path, headers, body) = *probe;
    let path = path.replace("{id}", id);
    let body = body.map(|b| b.replace("{id}", id));
    caller
        .send(method, &path, headers, body.as_deref())
        .await
        .resp
}

/// Whether the probe creates a bucket when it is missing (only for callers who may create).
fn creates(probe: &Probe) -> bool {
    let (method, path, headers, _) = *probe;
    (method == "PUT"
        && path == "/v1/buckets/{id}"
        && !headers.iter().any(|(k, _)| *k == "if-match"))
        || (method == "POST" && path == "/v1/buckets")
}

/// Probes every route on `there` (exists, unreadable to the callers) and `absent` (missing).
async fn assert_same(env: &Env, there: &str, absent: &str, creators_too: bool) {
    let mut callers = vec![
        ("stranger", env.user("stranger", &[])),
        ("anonymous", env.anonymous()),
    ];
    callers.push(("creator", env.user("maker", CREATOR)));
    for (who, caller) in &callers {
        for probe in PROBES {
            if *who == "creator" && creates(probe) && !creators_too {
                // Creating an id that is free succeeds: not a refusal to compare.
                continue;
            }
            let exists = answer(caller, probe, there).await;
            let missing = answer(caller, probe, absent).await;
            assert!(
                [401, 403, 404, 412].contains(&exists.status),
                "{who} {probe:?} on {there}: {exists:?}"
            );
            assert_eq!(exists, missing, "{who} {probe:?}: {there} vs {absent}");
        }
    }
    // Nothing was changed or created by the probes.
    let root = env.user("root", &["admin"]);
    root.get(&format!("/v1/buckets/{absent}"))
        .await
        .expect_error(404, 111);
}

/// `secret` (with data, a file and an upload) readable and writable by its owner only.
async fn secret(owner: &Caller<'_>, id: &str) {
    let data = json!({"data": {"k": "v"}});
    owner
        .put(&format!("/v1/buckets/{id}/data"), &data)
        .await
        .expect(200);
    owner.upload(id, "a.txt", b"a", "text/plain").await;
}

#[tokio::test]
async fn an_unreadable_bucket_answers_as_a_missing_one_on_every_route() {
    for settings in [&[][..], &[("PERMALINK_REQUIRES_READ", "true")]] {
        let env = Env::with(settings);
        let owner = env.user("owner", CREATOR);
        owner.create_bucket("secret", &json!({})).await;
        secret(&owner, "secret").await;
        assert_same(&env, "secret", "nothing", false).await;
    }
}

#[tokio::test]
async fn another_users_personal_bucket_answers_as_a_missing_one() {
    for settings in [&[][..], &[("PERMALINK_REQUIRES_READ", "true")]] {
        let env = Env::with(settings);
        let victim = env.user("victim", &[]);
        victim.get("/v1/buckets/default").await.expect(200);
        let there = default_bucket_id("user:victim");
        secret(&victim, &there).await;
        let absent = default_bucket_id("user:ghost");
        // Reserved ids cannot be created by others: creators are compared too.
        assert_same(&env, &there, &absent, true).await;
    }
}
