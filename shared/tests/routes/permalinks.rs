//! `GET /files/bucket/{id}/{hash}/{filename}`: the xyOps permalink of a file (its record's
//! `path`), a capability URL by default, or also needing read permission.

use serde_json::json;
use shared::memory::MemoryObjects;

use crate::common::{CREATOR, Env};

/// The permalink of a file record, as a path under the API's base.
fn permalink(file: &serde_json::Value) -> String {
    format!("/{}", file["path"].as_str().unwrap())
}

#[tokio::test]
async fn a_permalink_is_a_capability_that_follows_the_file() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("p1", &json!({})).await;
    let file = alice
        .upload("p1", "Report.txt", b"version one", "text/plain")
        .await;
    let link = permalink(&file);
    let parts: Vec<&str> = link.split('/').collect();
    assert_eq!(
        (parts[1], parts[2], parts[3], parts[5]),
        ("files", "bucket", "p1", "report.txt")
    );
    let hash = parts[4];
    assert!(
        hash.len() == 32 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
        "{hash}"
    );
    // Anyone holding it downloads, without a token: a 302 to a presigned GET, never cached.
    for caller in [env.anonymous(), env.user("stranger", &[])] {
        let r = caller.get(&link).await.expect(302);
        assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
        let (version, body) = env.download(&r.header("location").unwrap());
        assert_eq!(body, b"version one");
        let j = caller.get(&format!("{link}?json")).await.expect(200).json();
        assert_eq!(
            MemoryObjects::url_object(j["url"].as_str().unwrap()),
            Some(version)
        );
        assert!(j["expires_at"].is_i64());
    }
    // The name is normalized as on upload.
    env.anonymous()
        .get(&link.replace("report.txt", "Report.TXT"))
        .await
        .expect(302);
    // A replacement keeps the link, which then leads to the new content.
    let second = alice
        .upload("p1", "report.txt", b"version two", "text/plain")
        .await;
    assert_eq!(permalink(&second), link);
    let r = env.anonymous().get(&link).await.expect(302);
    let (_, body) = env.download(&r.header("location").unwrap());
    assert_eq!(body, b"version two");
    // Another file's hash is not this file's.
    let other = alice.upload("p1", "other.txt", b"o", "text/plain").await;
    assert_ne!(permalink(&other).split('/').nth(4), Some(hash));
}

#[tokio::test]
async fn anything_that_does_not_match_is_the_same_404() {
    let env = Env::new();
    let alice = env.user("alice", CREATOR);
    alice.create_bucket("p2", &json!({})).await;
    alice.create_bucket("p3", &json!({})).await;
    let file = alice.upload("p2", "a.txt", b"a", "text/plain").await;
    alice.upload("p3", "a.txt", b"a", "text/plain").await;
    let link = permalink(&file);
    let hash = link.split('/').nth(4).unwrap().to_string();
    let wrong = [
        link.replace(&hash, &"0".repeat(32)),
        link.replace(&hash, "short"),
        link.replace("a.txt", "b.txt"),
        link.replace("/p2/", "/p3/"),
        link.replace("/p2/", "/nothing/"),
        link.replace("/p2/", "/bad%20id/"),
    ];
    for path in &wrong {
        let err = env.anonymous().get(path).await.expect_error(404, 111);
        assert_eq!(err["details"]["resource_name"], "file", "{path}");
    }
    env.anonymous()
        .get(&link.replace("a.txt", ".."))
        .await
        .expect_invalid(400, "path", "name");
    // Once the file or its bucket is gone, so is the link, even if the bucket comes back.
    alice.delete("/v1/buckets/p2/files/a.txt").await.expect(200);
    env.anonymous().get(&link).await.expect_error(404, 111);
    let again = alice.upload("p2", "a.txt", b"a", "text/plain").await;
    let link = permalink(&again);
    alice.delete("/v1/buckets/p2").await.expect(200);
    env.anonymous().get(&link).await.expect_error(404, 111);
    alice.create_bucket("p2", &json!({})).await;
    alice.upload("p2", "a.txt", b"a", "text/plain").await;
    env.anonymous().get(&link).await.expect_error(404, 111);
}

#[tokio::test]
async fn permalink_requires_read_makes_the_link_need_read_permission() {
    let env = Env::with(&[("PERMALINK_REQUIRES_READ", "true")]);
    let alice = env.user("alice", CREATOR);
    let acl = json!({"permissions": {"read": ["user:reader"]}});
    alice.create_bucket("p4", &acl).await;
    let file = alice.upload("p4", "a.txt", b"a", "text/plain").await;
    let link = permalink(&file);
    alice.get(&link).await.expect(302);
    env.user("reader", &[]).get(&link).await.expect(302);
    env.user("ops", &["delete_buckets"])
        .get(&link)
        .await
        .expect(302);
    env.user("stranger", &[])
        .get(&link)
        .await
        .expect_error(403, 121);
    env.anonymous().get(&link).await.expect_error(401, 104);
    // Refused the same whether or not the bucket exists; the hash still has to match.
    let missing = link.replace("/p4/", "/none/");
    env.user("stranger", &[])
        .get(&missing)
        .await
        .expect_error(403, 121);
    let wrong = link.replace(link.split('/').nth(4).unwrap(), &"0".repeat(32));
    env.user("reader", &[])
        .get(&wrong)
        .await
        .expect_error(404, 111);
}
