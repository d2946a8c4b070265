//! Who may do what: the owner, a reader, a writer, a stranger, an anonymous caller and each
//! global privilege, on every bucket route; refusals never leak whether a bucket exists.

use serde_json::json;

use crate::common::{CREATOR, Caller, Env, ids};

/// The callers of the matrix: `(name, sub, privileges)`; `owner` created the bucket and names
/// `reader` in `read` and `writer` in `write`.
const ROLES: [(&str, Option<&str>, &[&str]); 9] = [
    ("owner", Some("owner"), CREATOR),
    ("reader", Some("reader"), &[]),
    ("writer", Some("writer"), &[]),
    ("stranger", Some("stranger"), &[]),
    ("anonymous", None, &[]),
    ("create_buckets", Some("maker"), CREATOR),
    ("edit_buckets", Some("editor"), &["edit_buckets"]),
    ("delete_buckets", Some("deleter"), &["delete_buckets"]),
    ("admin", Some("root"), &["admin"]),
];

/// The operations of the matrix: `(name, method, path under the bucket, body)`.
const OPS: [(&str, &str, &str, Option<&str>); 13] = [
    ("get bucket", "GET", "", None),
    ("put bucket", "PUT", "", Some(r#"{"data": {"title": "t"}}"#)),
    ("patch bucket", "PATCH", "", Some(r#"{"data": {"x": 1}}"#)),
    ("delete bucket", "DELETE", "", None),
    ("get data", "GET", "/data", None),
    ("put data", "PUT", "/data", Some(r#"{"data": {"x": 1}}"#)),
    (
        "patch data",
        "PATCH",
        "/data",
        Some(r#"{"data": {"x": 1}}"#),
    ),
    ("list files", "GET", "/files", None),
    (
        "grant files",
        "POST",
        "/files",
        Some(r#"{"files": [{"name": "n.txt", "size": 1, "content_type": "text/plain"}]}"#),
    ),
    ("delete file", "DELETE", "/files/a.txt", None),
    (
        "fetch",
        "POST",
        "/fetch",
        Some(r#"{"sync": "data_and_files"}"#),
    ),
    (
        "store",
        "POST",
        "/store",
        Some(r#"{"sync": "data", "data": {"x": 1}}"#),
    ),
    ("empty", "POST", "/empty", Some(r#"{"data": true}"#)),
];

fn caller<'e>(env: &'e Env, sub: Option<&str>, privileges: &[&str]) -> Caller<'e> {
    match sub {
        Some(sub) => env.user(sub, privileges),
        None => env.anonymous(),
    }
}

/// Expected statuses on an existing bucket, one row per role, one column per operation.
const ON_EXISTING: [[u16; 13]; 9] = [
    //  get  put  pat  del  gd   pd   pad  lf   gf   df   fet  sto  emp
    [
        200, 200, 200, 200, 200, 200, 200, 200, 201, 200, 200, 200, 200,
    ], // owner
    [
        200, 403, 403, 403, 200, 403, 403, 200, 403, 403, 200, 403, 403,
    ], // reader
    [
        200, 200, 200, 200, 200, 200, 200, 200, 201, 200, 200, 200, 200,
    ], // writer
    [
        403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403,
    ], // stranger
    [
        401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401,
    ], // anonymous
    [
        403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403,
    ], // create_buckets
    [
        200, 200, 200, 403, 200, 200, 200, 200, 201, 200, 200, 200, 200,
    ], // edit_buckets
    [
        200, 403, 403, 200, 200, 403, 403, 200, 403, 403, 200, 403, 403,
    ], // delete_buckets
    [
        200, 200, 200, 200, 200, 200, 200, 200, 201, 200, 200, 200, 200,
    ], // admin
];

/// Expected statuses on a bucket that does not exist: a 404 only for callers who could read it
/// if it did (global readers), the same refusal as for an existing bucket for everyone else.
const ON_MISSING: [[u16; 13]; 9] = [
    //  get  put  pat  del  gd   pd   pad  lf   gf   df   fet  sto  emp
    [
        403, 201, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403,
    ], // owner (may create)
    [
        403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403,
    ], // reader
    [
        403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403,
    ], // writer
    [
        403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403,
    ], // stranger
    [
        401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401,
    ], // anonymous
    [
        403, 201, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403,
    ], // create_buckets
    [
        404, 403, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404,
    ], // edit_buckets
    [
        404, 403, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404,
    ], // delete_buckets
    [
        404, 201, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404,
    ], // admin
];

/// A fresh bucket `id` with one file, `a.txt`, and the matrix's ACL.
async fn bucket(env: &Env, id: &str) {
    let owner = env.user("owner", CREATOR);
    let acl = json!({"permissions": {"read": ["user:reader"], "write": ["user:writer"]}});
    owner.create_bucket(id, &acl).await;
    owner.upload(id, "a.txt", b"a", "text/plain").await;
}

#[tokio::test]
async fn each_role_on_each_route_of_an_existing_bucket() {
    let env = Env::new();
    let mut n = 0;
    for ((role, sub, privileges), row) in ROLES.iter().zip(ON_EXISTING) {
        for ((op, method, sub_path, body), want) in OPS.iter().zip(row) {
            // A fresh bucket each time: some operations delete or change it.
            n += 1;
            let id = format!("m{n}");
            bucket(&env, &id).await;
            let who = caller(&env, *sub, privileges);
            let path = format!("/v1/buckets/{id}{sub_path}");
            let r = who.send(method, &path, &[], *body).await;
            assert_eq!(r.status(), want, "{role} {op}: {:?}", r.resp.body);
            match want {
                401 => drop(r.expect_error(401, 104)),
                403 => drop(r.expect_error(403, 121)),
                _ => {}
            }
        }
    }
}

#[tokio::test]
async fn each_role_on_each_route_of_a_missing_bucket() {
    let env = Env::new();
    let mut n = 0;
    for ((role, sub, privileges), row) in ROLES.iter().zip(ON_MISSING) {
        for ((op, method, sub_path, body), want) in OPS.iter().zip(row) {
            n += 1;
            let who = caller(&env, *sub, privileges);
            let path = format!("/v1/buckets/none{n}{sub_path}");
            let r = who.send(method, &path, &[], *body).await;
            assert_eq!(r.status(), want, "{role} {op}: {:?}", r.resp.body);
            if want == 404 {
                let body = r.expect_error(404, 111);
                assert_eq!(body["details"]["resource_name"], "bucket");
            }
        }
    }
}

#[tokio::test]
async fn a_refusal_is_the_same_whether_or_not_the_bucket_exists() {
    let env = Env::new();
    bucket(&env, "secret").await;
    for (sub, status, errno) in [(Some("stranger"), 403, 121), (None, 401, 104)] {
        let who = caller(&env, sub, &[]);
        for (_, method, sub_path, body) in OPS {
            let (there, absent) = (
                format!("/v1/buckets/secret{sub_path}"),
                format!("/v1/buckets/nothing{sub_path}"),
            );
            let exists = who.send(method, &there, &[], body).await;
            let exists = exists.expect_error(status, errno);
            let missing = who.send(method, &absent, &[], body).await;
            assert_eq!(
                missing.expect_error(status, errno),
                exists,
                "{method} {sub_path}"
            );
        }
    }
}

#[tokio::test]
async fn system_principals_open_a_bucket_to_everyone_or_to_the_authenticated() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    let everyone = json!({"permissions": {"read": ["system.Everyone"]}});
    alice.create_bucket("public", &everyone).await;
    let members = json!({"permissions": {"read": ["system.Authenticated"]}});
    alice.create_bucket("members", &members).await;
    let anon = env.anonymous();
    anon.get("/v1/buckets/public").await.expect(200);
    anon.get("/v1/buckets/public/data").await.expect(200);
    anon.get("/v1/buckets/members").await.expect_error(401, 104);
    let stranger = env.user("stranger", &[]);
    stranger.get("/v1/buckets/members").await.expect(200);
    let listed = anon.get("/v1/buckets").await.expect(200).json();
    assert_eq!(ids(&listed, "id"), vec!["public"]);
    let listed = stranger.get("/v1/buckets").await.expect(200).json();
    assert_eq!(ids(&listed, "id"), vec!["members", "public"]);
    // Readers cannot write.
    let change = json!({"data": {"x": 1}});
    stranger
        .patch("/v1/buckets/members", "application/json", &change)
        .await
        .expect_error(403, 121);
    anon.patch("/v1/buckets/public", "application/json", &change)
        .await
        .expect_error(401, 104);
    // Writing opened to the authenticated lets any user write, and not the anonymous.
    let open = json!({"permissions": {"write": ["system.Authenticated"]}});
    alice.create_bucket("open", &open).await;
    stranger
        .patch("/v1/buckets/open", "application/json", &change)
        .await
        .expect(200);
    anon.get("/v1/buckets/open").await.expect_error(401, 104);
}

async fn list(c: &Caller<'_>) -> Vec<String> {
    ids(
        &c.get("/v1/buckets?_limit=1000").await.expect(200).json(),
        "id",
    )
}

#[tokio::test]
async fn each_user_lists_only_what_they_can_read() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    let bob = env.user("bob", CREATOR);
    alice.create_bucket("a1", &json!({})).await;
    let shared = json!({"permissions": {"read": [bob.principal()]}});
    alice.create_bucket("a2", &shared).await;
    bob.create_bucket("b1", &json!({})).await;
    assert_eq!(list(&alice).await, vec!["a1", "a2"]);
    assert_eq!(list(&bob).await, vec!["a2", "b1"]);
    assert_eq!(list(&env.user("carol", &[])).await, Vec::<String>::new());
    // Unsharing removes it from bob's list at once; sharing for write adds it.
    let unshare = json!({"permissions": {"read": []}});
    alice
        .patch("/v1/buckets/a2", "application/json", &unshare)
        .await
        .expect(200);
    assert_eq!(list(&bob).await, vec!["b1"]);
    let share = json!({"permissions": {"write": [bob.principal()]}});
    alice
        .patch("/v1/buckets/a1", "application/json", &share)
        .await
        .expect(200);
    assert_eq!(list(&bob).await, vec!["a1", "b1"]);
    // A global privilege lists everything (create_buckets does not).
    for privilege in ["edit_buckets", "delete_buckets", "admin"] {
        let everything = list(&env.user("ops", &[privilege])).await;
        assert_eq!(everything, vec!["a1", "a2", "b1"], "{privilege}");
    }
    assert!(list(&env.user("maker", CREATOR)).await.is_empty());
    // Listed items are the buckets as GET shows them.
    let listed = bob.get("/v1/buckets").await.expect(200).json();
    let got = bob.get("/v1/buckets/a1").await.expect(200).json();
    assert_eq!(listed["data"][0], got["data"]);
}

#[tokio::test]
async fn writers_and_privileges_keep_the_owner() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    let bob = env.user("bob", &[]);
    let path = "/v1/buckets/w1";
    alice
        .create_bucket("w1", &json!({"permissions": {"write": [bob.principal()]}}))
        .await;
    // A writer may rewrite the ACL, but the owner stays a writer.
    let take_over = json!({"permissions": {"write": [bob.principal()], "read": []}});
    let r = bob.put(path, &take_over).await.expect(200).json();
    assert_eq!(
        r["permissions"]["write"],
        json!([alice.principal(), bob.principal()])
    );
    assert_eq!(r["data"]["owner"], alice.principal());
    // edit_buckets does not change ACLs (the hardening issue changed this from 200); admin
    // does, and the owner stays.
    let editor = env.user("editor", &["edit_buckets"]);
    let drop_all = json!({"permissions": {"write": []}});
    editor
        .patch(path, "application/json", &drop_all)
        .await
        .expect_error(403, 121);
    let r = env
        .user("root", &["admin"])
        .patch(path, "application/json", &drop_all)
        .await
        .expect(200)
        .json();
    assert_eq!(r["permissions"]["write"], json!([alice.principal()]));
    bob.get(path).await.expect_error(403, 121);
    alice.get(path).await.expect(200);
}
