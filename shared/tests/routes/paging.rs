//! Paged listings (`_limit`, `_token`, `after`, `Next-Page`, `next_uri`): following the links
//! to the end sees everything once and in order; `DELETE /v1/buckets` pages the same way.

use serde_json::{Value, json};
use shared::domain::pagination::encode_token;
use shared::domain::time::now_ms;

use crate::common::{BASE_PATH, BASE_URL, CREATOR, Caller, Env, cursor_keys, ids, link};

/// Follows `Next-Page` from `first` until it is absent, checking each page against its links;
/// returns the `key`s seen and the page count.
async fn walk(caller: &Caller<'_>, first: &str, key: &str, limit: usize) -> (Vec<String>, usize) {
    let (mut seen, mut pages) = (vec![], 0);
    let mut next = Some(first.to_string());
    while let Some(path) = next {
        let r = caller.get(&path).await.expect(200);
        let body = r.json();
        pages += 1;
        let page = ids(&body, key);
        assert!(page.len() <= limit, "{body}");
        seen.extend(page);
        let header = r.header("next-page");
        assert_eq!(body["has_more"], json!(header.is_some()), "{body}");
        next = match header {
            Some(absolute) => {
                assert!(absolute.starts_with(BASE_URL), "{absolute}");
                assert!(absolute.contains(&format!("_limit={limit}")), "{absolute}");
                // next_uri is the same link without scheme and host.
                let relative = body["next_uri"].as_str().expect("a next_uri");
                assert!(relative.starts_with(BASE_PATH), "{relative}");
                assert_eq!(link(relative), link(&absolute));
                Some(link(&absolute))
            }
            None => {
                assert!(body["next_uri"].is_null(), "{body}");
                None
            }
        };
        assert!(pages < 100, "paging does not end");
    }
    (seen, pages)
}

fn sorted(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort();
    v.dedup();
    v
}

#[tokio::test]
async fn bucket_pages_see_every_readable_bucket_once_in_id_order() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    let bob = env.user("bob", CREATOR);
    let mut mine: Vec<String> = (0..7).map(|i| format!("pg-{}", 6 - i)).collect();
    for id in &mine {
        alice.create_bucket(id, &json!({})).await;
    }
    // Buckets alice cannot read are interleaved and never shown.
    for id in ["pg-0x", "pg-3x", "pg-9"] {
        bob.create_bucket(id, &json!({})).await;
    }
    let public = json!({"permissions": {"read": ["system.Everyone"]}});
    bob.create_bucket("pg-5x", &public).await;
    mine.push("pg-5x".into());
    mine.sort();
    for limit in [1, 2, 3, 8, 100] {
        let (seen, pages) = walk(&alice, &format!("/v1/buckets?_limit={limit}"), "id", limit).await;
        assert_eq!(seen, mine, "_limit={limit}");
        assert_eq!(pages, mine.len().div_ceil(limit).max(1), "_limit={limit}");
    }
    // The default page is 100.
    let r = alice.get("/v1/buckets").await.expect(200);
    assert_eq!(ids(&r.json(), "id"), mine);
    assert!(r.header("next-page").is_none());
    // after=<id> is exclusive, and any string works as a cursor.
    let after = alice.get("/v1/buckets?after=pg-2").await.expect(200).json();
    assert_eq!(ids(&after, "id"), mine[3..].to_vec());
    let after = alice
        .get("/v1/buckets?after=pg-2a")
        .await
        .expect(200)
        .json();
    assert_eq!(ids(&after, "id"), mine[3..].to_vec());
    // _token wins over after.
    let token = encode_token(&cursor_keys(), "pg-5", now_ms());
    let path = format!("/v1/buckets?after=pg-0&_token={token}");
    let r = alice.get(&path).await.expect(200).json();
    assert_eq!(ids(&r, "id"), vec!["pg-5x", "pg-6"]);
    // Everyone pages through everything with a global privilege.
    let editor = env.user("ed", &["edit_buckets"]);
    let (all, _) = walk(&editor, "/v1/buckets?_limit=4", "id", 4).await;
    assert_eq!(all.len(), 11);
    assert_eq!(all, sorted(&all));
}

#[tokio::test]
async fn changes_between_pages_neither_repeat_nor_skip_what_stays() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    for i in 0..6 {
        alice.create_bucket(&format!("c{i}"), &json!({})).await;
    }
    let first = alice.get("/v1/buckets?_limit=2").await.expect(200);
    assert_eq!(ids(&first.json(), "id"), vec!["c0", "c1"]);
    // A bucket on the next page is deleted, another is created after the cursor, one before it.
    alice.delete("/v1/buckets/c2").await.expect(200);
    alice.create_bucket("c35", &json!({})).await;
    alice.create_bucket("c05", &json!({})).await;
    let next = link(&first.header("next-page").unwrap());
    let (rest, _) = walk(&alice, &next, "id", 2).await;
    assert_eq!(rest, vec!["c3", "c35", "c4", "c5"]);
    // A listing entry left without its bucket (a crash between staged writes) is never shown,
    // and paging still ends.
    env.store.put_listing_entry(&alice.principal(), "c45");
    let (seen, _) = walk(&alice, "/v1/buckets?_limit=1", "id", 1).await;
    assert_eq!(seen, vec!["c0", "c05", "c1", "c3", "c35", "c4", "c5"]);
}

#[tokio::test]
async fn file_pages_keep_the_glob_and_see_each_match_once() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("fp", &json!({})).await;
    let names = [
        "a.csv", "b.txt", "c.txt", "d.csv", "e.csv", "f.txt", "g.csv",
    ];
    for name in names {
        alice
            .upload("fp", name, name.as_bytes(), "text/plain")
            .await;
    }
    let csv = vec!["a.csv", "d.csv", "e.csv", "g.csv"];
    for limit in [1, 2, 3, 4, 5] {
        let first = format!("/v1/buckets/fp/files?glob=*.csv&_limit={limit}");
        let (seen, _) = walk(&alice, &first, "name", limit).await;
        assert_eq!(seen, csv, "_limit={limit}");
        let all = format!("/v1/buckets/fp/files?_limit={limit}");
        let (seen, pages) = walk(&alice, &all, "name", limit).await;
        assert_eq!(seen, names, "_limit={limit}");
        assert_eq!(pages, names.len().div_ceil(limit), "_limit={limit}");
    }
    // The links carry the glob.
    let r = alice.get("/v1/buckets/fp/files?glob=*.txt&_limit=1").await;
    let next = r.expect(200).header("next-page").unwrap();
    assert!(next.contains("glob=*.txt"), "{next}");
    // The default bucket's links keep its alias.
    alice.upload("default", "x.txt", b"x", "text/plain").await;
    alice.upload("default", "y.txt", b"y", "text/plain").await;
    let r = alice
        .get("/v1/buckets/default/files?_limit=1")
        .await
        .expect(200);
    let next = r.header("next-page").unwrap();
    assert!(
        next.starts_with(&format!("{BASE_URL}/v1/buckets/default/files?")),
        "{next}"
    );
    let (seen, _) = walk(&alice, "/v1/buckets/default/files?_limit=1", "name", 1).await;
    assert_eq!(seen, vec!["x.txt", "y.txt"]);
}

#[tokio::test]
async fn bad_paging_parameters_are_400_naming_them() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("bp", &json!({})).await;
    let expired = encode_token(&cursor_keys(), "bp", now_ms() - 700_000);
    let long = "a".repeat(2000);
    let cases: Vec<(String, &str)> = vec![
        ("_limit=0".into(), "_limit"),
        ("_limit=1001".into(), "_limit"),
        ("_limit=ten".into(), "_limit"),
        ("_limit=".into(), "_limit"),
        ("_token=garbage".into(), "_token"),
        (format!("_token={expired}"), "_token"),
        ("after=".into(), "after"),
        (format!("after={long}"), "after"),
    ];
    for base in ["/v1/buckets", "/v1/buckets/bp/files"] {
        for (query, field) in &cases {
            let path = format!("{base}?{query}");
            let body = alice
                .get(&path)
                .await
                .expect_invalid(400, "querystring", field);
            if query.contains(&expired) {
                assert!(
                    body["message"].as_str().unwrap().contains("expired"),
                    "{body}"
                );
            }
        }
    }
    alice
        .get("/v1/buckets/bp/files?glob=[")
        .await
        .expect_invalid(400, "querystring", "glob");
    alice
        .delete("/v1/buckets?_limit=0")
        .await
        .expect_invalid(400, "querystring", "_limit");
    // The largest page is allowed.
    alice.get("/v1/buckets?_limit=1000").await.expect(200);
}

/// The ids of the tombstones of a `DELETE /v1/buckets`.
fn tombstones(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            assert_eq!(t["deleted"], true, "{t}");
            assert!(t["last_modified"].is_i64(), "{t}");
            t["id"].as_str().unwrap().to_string()
        })
        .collect()
}

#[tokio::test]
async fn delete_all_removes_only_the_callers_writable_buckets() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    let bob = env.user("bob", CREATOR);
    alice.create_bucket("a1", &json!({})).await;
    alice.create_bucket("a2", &json!({})).await;
    let reads = json!({"permissions": {"read": [alice.principal()]}});
    bob.create_bucket("b1", &reads).await;
    let writes = json!({"permissions": {"write": [alice.principal()]}});
    bob.create_bucket("b2", &writes).await;
    bob.create_bucket("b3", &json!({})).await;
    let r = alice.delete("/v1/buckets").await.expect(200);
    assert!(r.header("next-page").is_none());
    assert_eq!(sorted(&tombstones(&r.json())), vec!["a1", "a2", "b2"]);
    bob.get("/v1/buckets/b1").await.expect(200);
    bob.get("/v1/buckets/b2").await.expect_error(403, 121);
    let (left, _) = walk(&alice, "/v1/buckets", "id", 100).await;
    assert_eq!(left, vec!["b1"]);
    // Nothing left to delete: an empty list.
    let r = alice.delete("/v1/buckets").await.expect(200).json();
    assert_eq!(r["data"], json!([]));
    // A privilege does not widen it: only the caller's own principals count.
    let r = env
        .user("ed", &["admin"])
        .delete("/v1/buckets")
        .await
        .expect(200)
        .json();
    assert_eq!(r["data"], json!([]));
    let (all, _) = walk(&bob, "/v1/buckets", "id", 100).await;
    assert_eq!(all, vec!["b1", "b3"]);
}

#[tokio::test]
async fn delete_all_with_a_limit_pages_with_next_page_until_done() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    let bob = env.user("bob", CREATOR);
    for i in 0..7 {
        alice.create_bucket(&format!("d{i}"), &json!({})).await;
    }
    // Readable but not writable: listed, never deleted, and paging goes past it.
    let public = json!({"permissions": {"read": ["system.Everyone"]}});
    bob.create_bucket("d3x", &public).await;
    let mut deleted = vec![];
    let mut next = Some("/v1/buckets?_limit=3".to_string());
    let mut calls = 0;
    while let Some(path) = next {
        let r = alice.send("DELETE", &path, &[], None).await.expect(200);
        let batch = tombstones(&r.json());
        assert!(batch.len() <= 3, "{batch:?}");
        deleted.extend(batch);
        next = r.header("next-page").map(|n| {
            assert!(n.contains("_limit=3") && n.contains("_token="), "{n}");
            link(&n)
        });
        calls += 1;
        assert!(calls < 10, "delete-all does not end");
    }
    assert_eq!(deleted, (0..7).map(|i| format!("d{i}")).collect::<Vec<_>>());
    assert!(calls >= 3, "{calls}");
    let (left, _) = walk(&alice, "/v1/buckets", "id", 100).await;
    assert_eq!(left, vec!["d3x"]);
}
