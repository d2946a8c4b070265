//! The methods of every route, as `api::route::serve` answers them for each function: a method
//! a route does not serve is `405` (errno 115) with `Allow` naming those it does; `HEAD` is
//! the `GET` answer without its body wherever `GET` is served, and `405` elsewhere.

use serde_json::json;

use crate::common::*;

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// A deployment with one of everything a route names (bucket `b1`, a file with a kept
/// version, an upload, a key, a webhook, an SFTP user), and every route of every function as a
/// concrete path with the `Allow` it answers.
async fn every_route(env: &Env) -> Vec<(String, &'static str)> {
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("b1", &json!({})).await;
    alice.upload("b1", "a.txt", b"one", "text/plain").await;
    let file = alice.upload("b1", "a.txt", b"two", "text/plain").await;
    let grant = alice.grant("b1", &[("b.txt", 3, "text/plain")]).await;
    let upload = grant.expect(201).json()["files"][0]["upload_id"]
        .as_str()
        .expect("an upload id")
        .to_string();
    let key = alice.post("/v1/keys", &json!({"title": "k"})).await;
    let key = key.expect(201).json()["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let hook = json!({"url": "https://hooks.example.com/in", "events": ["file.uploaded"]});
    let hook = alice.post("/v1/buckets/b1/webhooks", &hook).await;
    let wid = hook.expect(201).json()["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let user = json!({"username": "partner", "ssh_public_keys": [SSH_KEY]});
    alice.post("/v1/buckets/b1/users", &user).await.expect(201);
    let permalink = format!("/{}", file["path"].as_str().expect("a permalink path"));
    let b = "/v1/buckets/b1";
    let routes = [
        // The Buckets function.
        ("/v1/".to_string(), "GET, HEAD"),
        ("/v1/__api__".into(), "GET, HEAD"),
        ("/v1/batch".into(), "POST"),
        ("/v1/buckets".into(), "GET, HEAD, POST, DELETE"),
        (b.into(), "GET, HEAD, PUT, PATCH, DELETE"),
        ("/v1/keys".into(), "GET, HEAD, POST"),
        (format!("/v1/keys/{key}"), "GET, HEAD, PATCH, DELETE"),
        // The data function.
        (format!("{b}/data"), "GET, HEAD, PUT, PATCH"),
        // The files function.
        (format!("{b}/files"), "GET, HEAD, POST"),
        (format!("{b}/files/a.txt"), "GET, HEAD, DELETE"),
        (format!("{b}/files/a.txt/versions"), "GET, HEAD"),
        (format!("{b}/files/a.txt/versions/v1/restore"), "POST"),
        (format!("{b}/uploads/{upload}"), "GET, HEAD, DELETE"),
        (format!("{b}/uploads/{upload}/parts"), "GET, HEAD, POST"),
        (format!("{b}/uploads/{upload}/complete"), "POST"),
        (format!("{b}/fetch"), "POST"),
        (format!("{b}/store"), "POST"),
        (format!("{b}/empty"), "POST"),
        (permalink, "GET, HEAD"),
        // The sftp function.
        (format!("{b}/users"), "GET, HEAD, POST"),
        (format!("{b}/users/partner"), "GET, HEAD, PATCH, DELETE"),
        (format!("{b}/reconcile"), "POST"),
        // The activity function.
        (format!("{b}/history"), "GET, HEAD"),
        (format!("{b}/webhooks"), "GET, HEAD, POST"),
        (format!("{b}/webhooks/{wid}"), "GET, HEAD, PATCH, DELETE"),
        (format!("{b}/webhooks/{wid}/rotate"), "POST"),
        (format!("{b}/webhooks/{wid}/ping"), "POST"),
        (format!("{b}/webhooks/{wid}/deliveries"), "GET, HEAD"),
        (
            format!("{b}/webhooks/{wid}/deliveries/d1/redeliver"),
            "POST",
        ),
    ];
    routes.into()
}

const SSH_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMf9/y+h2QDwl4++5GUgOMcxgoJe7N68+cTjqPa2eSC6 a@host";

fn sftp_env() -> Env {
    Env::with(&[("SFTP_HOST", "127.0.0.1:2222"), ("FILES_BUCKET", "files")])
}

/// The function API Gateway invokes for a route is the one that serves it: a method it sends
/// elsewhere (`GET`-only routes of the template) is not this route's to refuse.
fn served_here(method: &str, path: &str, allow: &str) -> bool {
    let served_by = |m: &str| function_for(&m.parse().expect("a method"), path);
    let home = served_by(allow.split(", ").next().expect("a method"));
    served_by(method) == home
}

#[tokio::test]
async fn a_method_not_served_is_405_with_allow_naming_those_that_are() {
    let env = sftp_env();
    let alice = env.user("alice", CREATOR);
    let mut refused = 0;
    for (path, allow) in every_route(&env).await {
        for method in METHODS {
            if allow.split(", ").any(|m| m == method) || !served_here(method, &path, allow) {
                continue;
            }
            let r = alice.send(method, &path, &[], Some("{}")).await;
            let what = format!("{method} {path}");
            assert_eq!(r.header("allow").as_deref(), Some(allow), "{what}");
            let body = r.expect_error(405, 115);
            let message = body["message"].as_str().unwrap_or_default();
            assert!(message.ends_with(method), "{what}: {body}");
            refused += 1;
        }
    }
    assert!(refused > 60, "{refused} refusals");
}

#[tokio::test]
async fn head_is_get_without_the_body_on_every_get_route_and_405_elsewhere() {
    let env = sftp_env();
    let alice = env.user("alice", CREATOR);
    for (path, allow) in every_route(&env).await {
        let head = alice.send("HEAD", &path, &[], None).await;
        assert!(head.resp.body.is_none(), "HEAD {path}: a body");
        if allow.starts_with("GET") {
            let get = alice.get(&path).await;
            assert_eq!(head.status(), get.status(), "HEAD {path}");
            for name in ["etag", "location", "cache-control", "next-page"] {
                assert_eq!(head.header(name), get.header(name), "HEAD {path}: {name}");
            }
        } else {
            let head = head.expect(405);
            assert_eq!(head.header("allow").as_deref(), Some(allow), "HEAD {path}");
        }
    }
}

/// Every answer says how it may be cached: revalidated each time (`no-cache`), or never
/// stored when it holds a secret or a presigned URL (`no-store`). A browser never shows an
/// old page of a bucket as if it were current.
#[tokio::test]
async fn every_get_answer_is_revalidated_or_never_stored() {
    let env = sftp_env();
    let alice = env.user("alice", CREATOR);
    for (path, allow) in every_route(&env).await {
        if !allow.starts_with("GET") {
            continue;
        }
        let get = alice.get(&path).await;
        let cache = get.header("cache-control");
        assert!(
            matches!(cache.as_deref(), Some("no-cache" | "no-store")),
            "GET {path}: Cache-Control {cache:?}"
        );
    }
    let created = alice
        .post("/v1/keys", &json!({"title": "k"}))
        .await
        .expect(201);
    assert_eq!(created.header("cache-control").as_deref(), Some("no-store"));
    // A write's answer may hold presigned URLs (a grant) or a secret (a webhook's): never
    // stored. So is a download's presigned URL answered as JSON.
    let grant = alice
        .grant("b1", &[("c.txt", 3, "text/plain")])
        .await
        .expect(201);
    assert_eq!(grant.header("cache-control").as_deref(), Some("no-store"));
    let hook = alice
        .post(
            "/v1/buckets/b1/webhooks",
            &json!({"url": "https://hooks.example.com/x", "events": ["file.uploaded"]}),
        )
        .await
        .expect(201);
    assert_eq!(hook.header("cache-control").as_deref(), Some("no-store"));
    let url = alice
        .get("/v1/buckets/b1/files/a.txt?json")
        .await
        .expect(200);
    assert_eq!(url.header("cache-control").as_deref(), Some("no-store"));
}

#[tokio::test]
async fn a_batch_sub_request_is_refused_as_its_route_would_be() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("b1", &json!({})).await;
    let body = json!({"requests": [
        {"method": "POST", "path": "/buckets/b1"},
        {"method": "DELETE", "path": "/buckets/b1/data"},
        {"method": "HEAD", "path": "/buckets/b1"},
    ]});
    let answers = alice.post("/v1/batch", &body).await.expect(200).json();
    let answers = &answers["responses"];
    assert_eq!(answers[0]["status"], 405, "{answers}");
    let allow = "GET, HEAD, PUT, PATCH, DELETE";
    assert_eq!(answers[0]["headers"]["Allow"], allow, "{answers}");
    assert_eq!(answers[0]["body"]["errno"], 115, "{answers}");
    assert_eq!(answers[1]["status"], 405, "{answers}");
    assert_eq!(
        answers[1]["headers"]["Allow"], "GET, HEAD, PUT, PATCH",
        "{answers}"
    );
    assert_eq!(answers[2]["status"], 200, "{answers}");
    assert_eq!(answers[2]["body"], "", "{answers}");
}
