//! Hardening: every stored value reads back (bounded depth), a small input never drives large
//! work (patch steps, globs, names, headers, tokens, cursors), every answer fits what Lambda
//! can return (pages end early by bytes), Kinto's permission patch form, and a body the route
//! cannot use is a 400 naming what is wrong, never a silent 200.

use serde_json::{Value, json};

use crate::common::{CREATOR, Caller, Env, ids, link, token};

const JSON: &str = "application/json";
const MERGE: &str = "application/merge-patch+json";
const JSON_PATCH: &str = "application/json-patch+json";

/// `{"a": {"a": … 1}}`, `levels` objects deep.
fn nested(levels: usize) -> Value {
    let mut v = json!(1);
    for _ in 0..levels {
        v = json!({ "a": v });
    }
    v
}

#[tokio::test]
async fn values_nested_past_the_bound_are_refused_on_every_write() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("deep", &json!({})).await;
    let path = "/v1/buckets/deep";
    let data_path = "/v1/buckets/deep/data";
    // 40 levels: below the request parser's 128, above the stored bound (32).
    let deep = nested(40);
    let body = json!({"data": {"x": deep}});
    alice
        .post("/v1/buckets", &json!({"data": {"id": "deep2", "x": deep}}))
        .await
        .expect_invalid(400, "body", "data.x");
    alice
        .put(path, &body)
        .await
        .expect_invalid(400, "body", "data.x");
    for kind in [JSON, MERGE] {
        alice
            .patch(path, kind, &body)
            .await
            .expect_invalid(400, "body", "data.x");
        alice
            .patch(data_path, kind, &body)
            .await
            .expect_invalid(400, "body", "data.x");
    }
    alice
        .put(data_path, &body)
        .await
        .expect_invalid(400, "body", "data.x");
    let store = json!({"sync": "data", "data": {"x": deep}});
    alice
        .post("/v1/buckets/deep/store", &store)
        .await
        .expect_invalid(400, "body", "data.x");
    // Built step by step with small JSON-Patch values, each within the parser's limit.
    let mut ops = vec![json!({"op": "add", "path": "/data/x", "value": nested(20)})];
    ops.push(json!({"op": "add", "path": "/data/x/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a", "value": nested(20)}));
    for target in [path, data_path] {
        let err = alice
            .patch(target, JSON_PATCH, &Value::Array(ops.clone()))
            .await
            .expect_invalid(400, "body", "body");
        assert!(
            err["message"].as_str().unwrap().starts_with("the body "),
            "{err}"
        );
    }
    // Merge paths: each part shallow, the merged result deep.
    alice
        .patch(path, MERGE, &json!({"data": {"x": nested(20)}}))
        .await
        .expect(200);
    let mut deeper = json!({"x": {}});
    let mut cursor = &mut deeper["x"];
    for _ in 0..19 {
        *cursor = json!({"a": {}});
        cursor = &mut cursor["a"];
    }
    *cursor = json!({"a": nested(20)});
    alice
        .patch(path, MERGE, &json!({"data": deeper}))
        .await
        .expect_invalid(400, "body", "data.x");
    // Everything stays readable, and the bucket deletes.
    alice.get(path).await.expect(200);
    alice.get(data_path).await.expect(200);
    alice.get("/v1/buckets").await.expect(200);
    alice.delete(path).await.expect(200);
}

#[tokio::test]
async fn patches_that_amplify_are_refused_at_once() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("amp", &json!({})).await;
    let mut ops = vec![json!({"op": "add", "path": "/data/x", "value": "y".repeat(1000)})];
    for i in 0..60 {
        ops.push(json!({"op": "copy", "from": "/data", "path": format!("/data/c{i}")}));
    }
    let started = std::time::Instant::now();
    for target in ["/v1/buckets/amp", "/v1/buckets/amp/data"] {
        let err = alice
            .patch(target, JSON_PATCH, &Value::Array(ops.clone()))
            .await
            .expect_invalid(413, "body", "body");
        assert!(
            err["message"]
                .as_str()
                .unwrap()
                .contains("grows the document"),
            "{err}"
        );
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // Too many operations, however small.
    let many: Vec<Value> = (0..101)
        .map(|i| json!({"op": "add", "path": format!("/data/k{i}"), "value": i}))
        .collect();
    alice
        .patch("/v1/buckets/amp", JSON_PATCH, &Value::Array(many))
        .await
        .expect_invalid(413, "body", "body");
    // Nothing was written.
    let b = alice.get("/v1/buckets/amp").await.expect(200).json();
    assert_eq!(b["data"]["revision"], 1);
}

#[tokio::test]
async fn small_inputs_that_drive_large_work_are_bounded() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("small", &json!({})).await;
    // Globs: length and complexity, in the query and in a job body.
    let long_glob = "*".repeat(300_000);
    let braces = format!("{{{}}}", vec!["a"; 50].join(","));
    for glob in [
        long_glob.as_str(),
        braces.as_str(),
        "[a][b][c][d][e][f][g][h][i][j][k][l][m][n][o][p][q][r][s][t][u][v][w][x][y][z][0][1][2][3][4][5][6]",
    ] {
        let q: String = form_urlencoded::byte_serialize(glob.as_bytes()).collect();
        alice
            .get(&format!("/v1/buckets/small/files?glob={q}"))
            .await
            .expect_invalid(400, "querystring", "glob");
        alice
            .post(
                "/v1/buckets/small/fetch",
                &json!({"sync": "files", "glob": glob}),
            )
            .await
            .expect_invalid(400, "body", "glob");
    }
    // File names: raw length before normalization, in a body and in the path.
    let long_name = "/".repeat(2000) + "a.txt";
    let files = json!({"files": [{"name": long_name, "size": 1, "content_type": "text/plain"}]});
    alice
        .post("/v1/buckets/small/files", &files)
        .await
        .expect_invalid(400, "body", "files[0].name");
    let path_name = "a".repeat(1100);
    alice
        .get(&format!("/v1/buckets/small/files/{path_name}"))
        .await
        .expect_invalid(400, "path", "name");
    // Headers: an absurd If-Match is a 400 naming it.
    let huge = format!("\"{}\"", "1".repeat(20_000));
    alice
        .send("GET", "/v1/buckets/small", &[("If-Match", &huge)], None)
        .await
        .expect_invalid(400, "header", "if-match");
    // Tokens: too long to be ours is 401 unread; past the header bound, 400.
    let long_token = format!("Bearer {}.{}", token("alice", CREATOR), "x".repeat(9000));
    env.authorized(&long_token)
        .get("/v1/buckets/small")
        .await
        .expect_error(401, 104);
    let absurd = format!("Bearer {}", "x".repeat(20_000));
    env.authorized(&absurd)
        .get("/v1/buckets")
        .await
        .expect_invalid(400, "header", "authorization");
    // Cursors.
    let cursor = "A".repeat(5000);
    alice
        .get(&format!("/v1/buckets?_token={cursor}"))
        .await
        .expect_invalid(400, "querystring", "_token");
    // Attributes: count and name length.
    let many: serde_json::Map<String, Value> =
        (0..300).map(|i| (format!("k{i}"), json!(i))).collect();
    alice
        .put("/v1/buckets/small", &json!({ "data": many }))
        .await
        .expect_invalid(400, "body", "data");
    alice
        .patch(
            "/v1/buckets/small",
            JSON,
            &json!({"data": {"k".repeat(300): 1}}),
        )
        .await
        .expect_invalid(400, "body", "data");
}

#[tokio::test]
async fn kinto_permission_patches_need_no_value() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    let bob = env.user("bob", &[]);
    alice.create_bucket("kp", &json!({})).await;
    let path = "/v1/buckets/kp";
    bob.get(path).await.expect_error(403, 121);
    // As kinto-http.py sends it: no `value`.
    let ops = json!([
        {"op": "add", "path": "/permissions/read/user:bob"},
        {"op": "add", "path": "/permissions/write/https:~1~1idp.example~1carol"},
    ]);
    let b = alice.patch(path, JSON_PATCH, &ops).await.expect(200).json();
    assert!(
        b["permissions"]["read"]
            .as_array()
            .unwrap()
            .contains(&json!("user:bob"))
    );
    assert!(
        b["permissions"]["write"]
            .as_array()
            .unwrap()
            .contains(&json!("https://idp.example/carol"))
    );
    bob.get(path).await.expect(200);
    // And `value: true`, and remove.
    let ops = json!([
        {"op": "remove", "path": "/permissions/read/user:bob"},
        {"op": "add", "path": "/permissions/read/system.Authenticated", "value": true},
    ]);
    let b = alice.patch(path, JSON_PATCH, &ops).await.expect(200).json();
    assert_eq!(b["permissions"]["read"], json!(["system.Authenticated"]));
}

#[tokio::test]
async fn bodies_the_route_cannot_use_are_400_naming_what_is_wrong() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice
        .create_bucket("useless", &json!({"data": {"title": "T"}}))
        .await;
    let path = "/v1/buckets/useless";
    // Attributes at the top level: named, and told where they go.
    let err = alice
        .post("/v1/buckets", &json!({"title": "x"}))
        .await
        .expect_invalid(400, "body", "title");
    assert!(
        err["message"].as_str().unwrap().contains("under 'data'"),
        "{err}"
    );
    alice
        .put(path, &json!({"data": {}, "title": "x"}))
        .await
        .expect_invalid(400, "body", "title");
    // A PATCH with nothing to apply.
    for kind in [JSON, MERGE] {
        let err = alice
            .patch(path, kind, &json!({}))
            .await
            .expect_invalid(400, "body", "data");
        assert!(
            err["message"].as_str().unwrap().contains("is required"),
            "{err}"
        );
        alice
            .patch(path, kind, &json!({"title": "x"}))
            .await
            .expect_invalid(400, "body", "title");
    }
    let outside = json!([{"op": "add", "path": "/title", "value": "x"}]);
    alice
        .patch(path, JSON_PATCH, &outside)
        .await
        .expect_invalid(400, "body", "body");
    // The data document: `data` envelope required, nothing else beside it.
    let data_path = "/v1/buckets/useless/data";
    alice
        .put(data_path, &json!({"data": {}, "x": 1}))
        .await
        .expect_invalid(400, "body", "x");
    alice
        .put(data_path, &json!({"x": 1}))
        .await
        .expect_invalid(400, "body", "data");
    for kind in [JSON, MERGE] {
        alice
            .patch(data_path, kind, &json!({}))
            .await
            .expect_invalid(400, "body", "data");
        alice
            .patch(data_path, kind, &json!({"x": 1}))
            .await
            .expect_invalid(400, "body", "x");
    }
    alice
        .patch(
            data_path,
            JSON_PATCH,
            &json!([{"op": "add", "path": "/x", "value": 1}]),
        )
        .await
        .expect_invalid(400, "body", "body");
    // Nothing changed.
    let b = alice.get(path).await.expect(200).json();
    assert_eq!(
        (b["data"]["title"].clone(), b["data"]["revision"].clone()),
        (json!("T"), json!(1))
    );
    // The body as a whole never reads "body in body".
    let err = alice
        .send("PATCH", path, &[], Some("{"))
        .await
        .expect_invalid(400, "body", "body");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .starts_with("the body is not valid JSON"),
        "{err}"
    );
}

/// Follows `Next-Page` from `first`, returning the ids seen and the page sizes.
async fn walk(caller: &Caller<'_>, first: &str) -> (Vec<String>, Vec<usize>) {
    let (mut seen, mut sizes) = (vec![], vec![]);
    let mut next = Some(first.to_string());
    while let Some(path) = next {
        let r = caller.get(&path).await.expect(200);
        let body = r.json();
        let page = ids(&body, "id");
        sizes.push(page.len());
        seen.extend(page);
        let bytes = body.to_string().len();
        assert!(
            bytes <= shared::domain::pagination::MAX_ANSWER_BYTES + 1024,
            "{bytes}"
        );
        assert_eq!(
            body["has_more"],
            json!(r.header("next-page").is_some()),
            "{body}"
        );
        next = r.header("next-page").map(|h| link(&h));
        assert!(sizes.len() < 50, "paging does not end");
    }
    (seen, sizes)
}

#[tokio::test]
async fn pages_of_large_buckets_end_early_by_bytes() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    // 80 buckets of ~60 KiB: 4.8 MiB in all, more than one answer carries.
    let mut want = vec![];
    for i in 0..80 {
        let id = format!("big-{i:02}");
        let attrs = json!({"data": {"blob": "z".repeat(60 * 1024)}});
        alice.create_bucket(&id, &attrs).await;
        want.push(id);
    }
    let (seen, sizes) = walk(&alice, "/v1/buckets?_limit=1000").await;
    assert!(sizes.len() >= 2, "{sizes:?}");
    assert!(sizes[0] < 80, "{sizes:?}");
    assert_eq!(seen, want, "every bucket exactly once, in order");
}

#[tokio::test]
async fn a_fetch_too_large_for_one_answer_is_refused_naming_the_glob() {
    let env = Env::with(&[("MAX_FILES_PER_BUCKET", "5000")]);
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("many", &json!({})).await;
    // 4000 files with the longest names: their URLs pass the answer budget together.
    let long = "x".repeat(246);
    for batch in 0..40 {
        let files: Vec<Value> = (0..100)
            .map(|i| {
                let name = format!("f{:04}{long}.txt", batch * 100 + i);
                json!({"name": name, "size": 1, "content_type": "text/plain"})
            })
            .collect();
        let grants = alice
            .post("/v1/buckets/many/files", &json!({ "files": files }))
            .await
            .expect(201)
            .json();
        for grant in grants["data"].as_array().unwrap() {
            let key = env.put_upload(grant, b"1");
            env.process(&key).await;
        }
    }
    let r = alice
        .post("/v1/buckets/many/fetch", &json!({"sync": "files"}))
        .await;
    // (Checked first: a failure would print megabytes.)
    assert_eq!(r.status(), 400, "a fetch over the answer budget");
    let err = r.expect_invalid(400, "body", "glob");
    assert!(
        err["message"].as_str().unwrap().contains("narrow the glob"),
        "{err}"
    );
    // A narrower glob fits; the listing pages through them all.
    let some = alice
        .post(
            "/v1/buckets/many/fetch",
            &json!({"sync": "files", "glob": "f00*"}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(some["files"].as_array().unwrap().len(), 100);
    let mut seen = 0;
    let mut next = Some("/v1/buckets/many/files?_limit=1000".to_string());
    while let Some(path) = next {
        let r = alice.get(&path).await.expect(200);
        seen += r.json()["data"].as_array().unwrap().len();
        next = r.header("next-page").map(|h| link(&h));
    }
    assert_eq!(seen, 4000);
}
