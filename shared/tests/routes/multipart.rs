//! Multipart uploads over the memory adapter: the plan in a grant, part URLs signed with each
//! part's checksum, the received parts (paged), complete (the server lists the parts, checks
//! them and the composite checksum), the upload event recording the object like a single PUT,
//! abort, and the attacks on each route.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use shared::domain::files::object_key;
use shared::ports::ObjectVersion;
use shared::service::uploads::Outcome;

use crate::common::{CREATOR, Env, link};

const MIB: usize = 1024 * 1024;
/// Multipart from 5 MiB in 5 MiB parts, as on the local stack.
const SMALL_PARTS: [(&str, &str); 2] = [
    ("MULTIPART_THRESHOLD", "5242880"),
    ("MULTIPART_PART_SIZE", "5242880"),
];

fn body_of(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

fn sha(bytes: &[u8]) -> String {
    STANDARD.encode(Sha256::digest(bytes))
}

fn composite(parts: &[&[u8]]) -> String {
    let mut all = Vec::new();
    for p in parts {
        all.extend(Sha256::digest(p));
    }
    format!("{}-{}", STANDARD.encode(Sha256::digest(&all)), parts.len())
}

struct Upload {
    grant: Value,
    base: String,
    body: Vec<u8>,
}

impl Upload {
    fn part(&self, n: usize) -> &[u8] {
        let start = (n - 1) * 5 * MIB;
        &self.body[start..(start + 5 * MIB).min(self.body.len())]
    }
    fn parts(&self) -> Vec<&[u8]> {
        (1..=self.body.len().div_ceil(5 * MIB))
            .map(|n| self.part(n))
            .collect()
    }
}

async fn plan(env: &Env, id: &str, name: &str, len: usize) -> Upload {
    let owner = env.user("owner", CREATOR);
    let r = owner
        .grant(id, &[(name, len, "application/octet-stream")])
        .await;
    let grant = r.expect(201).json()["files"][0].clone();
    let base = link(grant["status_uri"].as_str().unwrap());
    Upload {
        grant,
        base,
        body: body_of(len),
    }
}

/// `POST …/parts` for `numbers`, with each part's checksum; answers the URLs by number.
async fn part_urls(env: &Env, up: &Upload, numbers: &[usize]) -> Vec<Value> {
    let owner = env.user("owner", CREATOR);
    let parts: Vec<Value> = numbers
        .iter()
        .map(|n| json!({"number": n, "sha256": sha(up.part(*n))}))
        .collect();
    let r = owner
        .post(&format!("{}/parts", up.base), &json!({ "parts": parts }))
        .await;
    r.expect(200).json()["parts"].as_array().unwrap().clone()
}

fn send_part(env: &Env, url: &Value, body: &[u8]) -> Result<(), String> {
    env.objects.upload_part(url["url"].as_str().unwrap(), body)
}

#[tokio::test]
async fn a_large_file_is_planned_sent_in_parts_resumed_completed_and_recorded_like_a_put() {
    let env = Env::with(&SMALL_PARTS);
    let owner = env.user("owner", CREATOR);
    owner.create_bucket("m1", &json!({})).await;
    let len = 12 * MIB + 3;
    let up = plan(&env, "m1", "Big.bin", len).await;
    let g = &up.grant;
    assert!(g.get("upload").is_none(), "{g}");
    assert_eq!(g["multipart"]["part_size"], 5 * MIB);
    assert_eq!(g["multipart"]["part_count"], 3);
    assert_eq!(g["multipart"]["parts"], json!([]));
    assert_eq!(g["multipart"]["next_part"], 1);
    let upload_id = g["upload_id"].as_str().unwrap();
    let key = object_key("m1", &env.generation("m1").await, "big.bin");
    // The S3 upload carries our upload id as its object metadata.
    assert_eq!(
        env.objects.multipart_metadata(&key).as_deref(),
        Some(upload_id)
    );

    let urls = part_urls(&env, &up, &[1, 2, 3]).await;
    assert_eq!(urls.len(), 3);
    assert_eq!(urls[2]["size"], 2 * MIB + 3);
    assert_eq!(urls[0]["headers"]["x-amz-checksum-sha256"], sha(up.part(1)));
    // Parts 2 and 1 arrive, then the client "crashes" and lists what S3 has.
    send_part(&env, &urls[1], up.part(2)).unwrap();
    send_part(&env, &urls[0], up.part(1)).unwrap();
    let listed = owner
        .get(&format!("{}/parts", up.base))
        .await
        .expect(200)
        .json();
    let numbers: Vec<u64> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["number"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, vec![1, 2]);
    assert_eq!(listed["data"][0]["sha256"], sha(up.part(1)));
    assert_eq!(listed["data"][0]["size"], 5 * MIB);
    // Paged with the project's paging.
    let first = owner
        .get(&format!("{}/parts?_limit=1", up.base))
        .await
        .expect(200);
    let next = first.header("Next-Page").expect("a Next-Page");
    assert_eq!(first.json()["has_more"], true);
    let second = owner.get(&link(&next)).await.expect(200).json();
    assert_eq!(second["data"][0]["number"], 2);
    assert_eq!(second["has_more"], false);
    // Resuming: part 1 sent again with a fresh URL, then the missing part 3.
    let again = part_urls(&env, &up, &[1]).await;
    send_part(&env, &again[0], up.part(1)).unwrap();
    send_part(&env, &urls[2], up.part(3)).unwrap();

    let done = owner
        .post(
            &format!("{}/complete", up.base),
            &json!({"sha256": composite(&up.parts())}),
        )
        .await
        .expect(202)
        .json();
    assert_eq!(done["data"]["status"], "pending");
    // The completed object is the key's latest version; its event records it.
    let latest = env.objects.get(&key).expect("completed");
    let version = ObjectVersion::new(key.clone(), latest.meta.version_id.clone());
    assert_eq!(latest.meta.upload_id.as_deref(), Some(upload_id));
    assert_eq!(env.process(&version).await, Outcome::Recorded);
    let status = owner.status(g).await;
    assert_eq!(status["status"], "recorded", "{status}");
    assert_eq!(status["file"]["size"], len);
    assert_eq!(status["file"]["sha256"], composite(&up.parts()));
    let stored = env.objects.get(&key).unwrap();
    assert!(
        stored.body.unwrap() == up.body,
        "the object is the file's bytes"
    );
    let (files, bytes, _) = env.counters("m1").await;
    assert_eq!((files, bytes), (1, len as i64));
    // Completing again: the grant is spent.
    owner
        .post(&format!("{}/complete", up.base), &json!({}))
        .await
        .expect_invalid(400, "path", "upload_id");
}

#[tokio::test]
async fn a_tampered_part_a_missing_part_and_a_wrong_composite_are_refused() {
    let env = Env::with(&SMALL_PARTS);
    let owner = env.user("owner", CREATOR);
    owner.create_bucket("m2", &json!({})).await;
    let up = plan(&env, "m2", "big.bin", 11 * MIB).await;
    let urls = part_urls(&env, &up, &[1, 2, 3]).await;
    // A part whose bytes differ from the signed checksum: S3 refuses it.
    let mut tampered = up.part(1).to_vec();
    tampered[7] ^= 1;
    let err = send_part(&env, &urls[0], &tampered).unwrap_err();
    assert!(err.starts_with("BadDigest"), "{err}");
    send_part(&env, &urls[0], up.part(1)).unwrap();
    send_part(&env, &urls[1], up.part(2)).unwrap();
    // Part 3 missing.
    let e = owner
        .post(&format!("{}/complete", up.base), &json!({}))
        .await
        .expect_invalid(400, "body", "parts");
    assert!(e["message"].as_str().unwrap().contains("missing: 3"), "{e}");
    send_part(&env, &urls[2], up.part(3)).unwrap();
    // A composite of other bytes.
    let other = body_of(11 * MIB + 1);
    let wrong = composite(&[
        &other[..5 * MIB],
        &other[5 * MIB..10 * MIB],
        &other[10 * MIB..],
    ]);
    owner
        .post(&format!("{}/complete", up.base), &json!({"sha256": wrong}))
        .await
        .expect_invalid(400, "body", "sha256");
    // The wrong shape, or the wrong part count.
    for bad in [
        json!({"sha256": "abc"}),
        json!({"sha256": sha(b"x")}),
        json!({"sha256": 5}),
    ] {
        owner
            .post(&format!("{}/complete", up.base), &bad)
            .await
            .expect_invalid(400, "body", "sha256");
    }
    // Nothing was created; the right one completes.
    assert!(env.objects.versions_with_prefix("m2/").is_empty());
    owner
        .post(
            &format!("{}/complete", up.base),
            &json!({"sha256": composite(&up.parts())}),
        )
        .await
        .expect(202);
}

#[tokio::test]
async fn part_requests_are_bounded_and_checked() {
    let env = Env::with(&SMALL_PARTS);
    let owner = env.user("owner", CREATOR);
    owner.create_bucket("m3", &json!({})).await;
    let up = plan(&env, "m3", "big.bin", 12 * MIB).await;
    let parts = format!("{}/parts", up.base);
    let s = sha(b"x");
    let many: Vec<Value> = (1..=101)
        .map(|n| json!({"number": n, "sha256": s}))
        .collect();
    for (body, field) in [
        (json!({}), "parts"),
        (json!({"parts": many}), "parts"),
        (
            json!({"parts": [{"number": 0, "sha256": s}]}),
            "parts[0].number",
        ),
        (
            json!({"parts": [{"number": 4, "sha256": s}]}),
            "parts[0].number",
        ),
        (
            json!({"parts": [{"number": 10001, "sha256": s}]}),
            "parts[0].number",
        ),
        (json!({"parts": [{"number": 1}]}), "parts[0].sha256"),
        (
            json!({"parts": [{"number": 1, "sha256": "zz"}]}),
            "parts[0].sha256",
        ),
    ] {
        owner
            .post(&parts, &body)
            .await
            .expect_invalid(400, "body", field);
    }
    // Another user without write; an unknown, a malformed and a single-PUT upload id.
    env.user("mallory", &[])
        .post(&parts, &json!({"parts": [{"number": 1, "sha256": s}]}))
        .await
        .expect(403);
    env.user("mallory", &[]).get(&parts).await.expect(403);
    env.user("mallory", &[])
        .delete(&link(up.grant["status_uri"].as_str().unwrap()))
        .await
        .expect(403);
    owner
        .get("/v1/buckets/m3/uploads/0123456789abcdef0123456789abcdef/parts")
        .await
        .expect(404);
    owner
        .get("/v1/buckets/m3/uploads/nope/parts")
        .await
        .expect_invalid(400, "path", "upload_id");
    let small = owner.grant("m3", &[("small.txt", 10, "text/plain")]).await;
    let small = small.expect(201).json()["files"][0].clone();
    assert!(small.get("multipart").is_none() && small.get("upload").is_some());
    owner
        .post(
            &format!("{}/parts", link(small["status_uri"].as_str().unwrap())),
            &json!({"parts": [{"number": 1, "sha256": s}]}),
        )
        .await
        .expect_invalid(400, "path", "upload_id");
    // A whole-file SHA-256 cannot be verified for a multipart object: refused at the grant.
    owner
        .post(
            "/v1/buckets/m3/files",
            &json!({"files": [{"name": "b.bin", "size": 6 * MIB, "content_type": "application/octet-stream", "sha256": s}]}),
        )
        .await
        .expect_invalid(400, "body", "files[0].sha256");
}

#[tokio::test]
async fn abort_withdraws_the_plan_and_a_late_object_is_rejected() {
    let env = Env::with(&SMALL_PARTS);
    let owner = env.user("owner", CREATOR);
    owner.create_bucket("m4", &json!({})).await;
    let up = plan(&env, "m4", "big.bin", 6 * MIB).await;
    let urls = part_urls(&env, &up, &[1, 2]).await;
    send_part(&env, &urls[0], up.part(1)).unwrap();
    owner.delete(&up.base).await.expect(200);
    assert_eq!(env.objects.open_multiparts(), 0);
    // The grant is withdrawn: its status, parts, complete and abort are 404.
    owner.get(&up.base).await.expect(404);
    owner.get(&format!("{}/parts", up.base)).await.expect(404);
    owner
        .post(&format!("{}/complete", up.base), &json!({}))
        .await
        .expect(404);
    owner.delete(&up.base).await.expect(404);
    // A part sent with a URL handed out before: S3 knows the upload no more.
    assert_eq!(
        send_part(&env, &urls[1], up.part(2)).unwrap_err(),
        "NoSuchUpload"
    );
    // An object created by a complete that raced the abort finds no grant: rejected.
    let upload_id = up.grant["upload_id"].as_str().unwrap();
    let key = object_key("m4", &env.generation("m4").await, "big.bin");
    let raced = env
        .objects
        .put_bytes(&key, "application/octet-stream", &up.body, Some(upload_id));
    let version = ObjectVersion::new(key.clone(), raced.version_id);
    assert!(matches!(env.process(&version).await, Outcome::Rejected(_)));
    assert!(!env.objects.contains(&key));
}

#[tokio::test]
async fn store_hands_out_plans_too_and_settings_show_the_threshold() {
    let env = Env::with(&SMALL_PARTS);
    let owner = env.user("owner", CREATOR);
    owner.create_bucket("m5", &json!({})).await;
    let r = owner
        .post(
            "/v1/buckets/m5/store",
            &json!({"sync": "files", "files": [
                {"name": "big.bin", "size": 5 * MIB, "content_type": "application/octet-stream"},
                {"name": "a.txt", "size": 3, "content_type": "text/plain"}]}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(r["files"][0]["multipart"]["part_count"], 1);
    assert!(r["files"][1]["upload"]["url"].is_string());
    let root = owner.get("/v1/").await.expect(200).json();
    assert_eq!(root["settings"]["upload"]["multipart_threshold"], 5 * MIB);
    assert_eq!(root["settings"]["upload"]["multipart_part_size"], 5 * MIB);
}

#[tokio::test]
async fn an_expired_plan_takes_no_more_parts() {
    let env = Env::with(&[SMALL_PARTS[0], SMALL_PARTS[1], ("MULTIPART_PLAN_TTL", "1")]);
    let owner = env.user("owner", CREATOR);
    owner.create_bucket("m6", &json!({})).await;
    let up = plan(&env, "m6", "big.bin", 6 * MIB).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    owner
        .post(
            &format!("{}/parts", up.base),
            &json!({"parts": [{"number": 1, "sha256": sha(up.part(1))}]}),
        )
        .await
        .expect_invalid(400, "path", "upload_id");
    assert_eq!(owner.status(&up.grant).await["status"], "expired");
}

async fn urls(
    env: &Env,
    who: &str,
    privs: &[&str],
    base: &str,
    parts: &[(usize, &[u8])],
) -> Vec<Value> {
    let body: Vec<Value> = parts
        .iter()
        .map(|(n, b)| json!({"number": n, "sha256": sha(b)}))
        .collect();
    env.user(who, privs)
        .post(&format!("{base}/parts"), &json!({ "parts": body }))
        .await
        .expect(200)
        .json()["parts"]
        .as_array()
        .unwrap()
        .clone()
}

/// A completed multipart upload that S3 holds as older than a single PUT of the same name is
/// deleted, and its uploader learns why: its status is `rejected` with the reason, and a
/// repeated complete says it was refused.
#[tokio::test]
async fn a_multipart_upload_a_newer_upload_beat_says_so() {
    let env = Env::with(&SMALL_PARTS);
    let owner = env.user("owner", CREATOR);
    owner.create_bucket("r1", &json!({})).await;
    let body: Vec<u8> = (0..6 * MIB).map(|i| (i % 251) as u8).collect();
    let (p1, p2) = (&body[..5 * MIB], &body[5 * MIB..]);
    let g = owner
        .grant("r1", &[("big.bin", body.len(), "application/octet-stream")])
        .await
        .expect(201)
        .json()["files"][0]
        .clone();
    let base = link(g["status_uri"].as_str().unwrap());
    let u = urls(&env, "owner", CREATOR, &base, &[(1, p1), (2, p2)]).await;
    env.objects
        .upload_part(u[0]["url"].as_str().unwrap(), p1)
        .unwrap();
    env.objects
        .upload_part(u[1]["url"].as_str().unwrap(), p2)
        .unwrap();
    owner
        .post(
            &format!("{base}/complete"),
            &json!({"sha256": composite(&[p1, p2])}),
        )
        .await
        .expect(202);
    let key = object_key("r1", &env.generation("r1").await, "big.bin");
    let m = ObjectVersion::new(key.clone(), env.objects.get(&key).unwrap().meta.version_id);
    // A small single PUT of the same name: S3's newer version.
    let pg = owner
        .grant("r1", &[("big.bin", 3, "application/octet-stream")])
        .await
        .expect(201)
        .json()["files"][0]
        .clone();
    let p = env.put_upload(&pg, b"abc");
    assert_eq!(env.process(&p).await, Outcome::Recorded);
    assert_eq!(env.process(&m).await, Outcome::Superseded);
    assert!(
        env.objects.get_version(&m).is_none(),
        "the older version went"
    );
    let status = owner.status(&g).await;
    assert_eq!(status["status"], "rejected", "{status}");
    assert!(
        status["reason"].as_str().unwrap().contains("newer upload"),
        "{status}"
    );
    let again = owner
        .post(&format!("{base}/complete"), &json!({}))
        .await
        .expect_invalid(400, "path", "upload_id");
    assert!(
        again["message"].as_str().unwrap().contains("refused"),
        "{again}"
    );
}

/// Another writer of the bucket who learnt the upload id can neither send a part of his own
/// nor complete or abort it: the upload is its uploader's (403).
#[tokio::test]
async fn another_writer_cannot_continue_someone_elses_upload() {
    let env = Env::with(&SMALL_PARTS);
    let owner = env.user("owner", CREATOR);
    let bob = env.user("bob", &[]);
    owner
        .create_bucket("r2", &json!({"permissions": {"write": [bob.principal()]}}))
        .await;
    let body: Vec<u8> = (0..6 * MIB).map(|i| (i % 251) as u8).collect();
    let (p1, p2) = (&body[..5 * MIB], &body[5 * MIB..]);
    let g = owner
        .grant("r2", &[("big.bin", body.len(), "application/octet-stream")])
        .await
        .expect(201)
        .json()["files"][0]
        .clone();
    let base = link(g["status_uri"].as_str().unwrap());
    let u = urls(&env, "owner", CREATOR, &base, &[(1, p1), (2, p2)]).await;
    env.objects
        .upload_part(u[0]["url"].as_str().unwrap(), p1)
        .unwrap();
    env.objects
        .upload_part(u[1]["url"].as_str().unwrap(), p2)
        .unwrap();
    // Bob, a writer of the bucket, with the upload id: refused at every route.
    let evil = vec![b'X'; p2.len()];
    bob.post(
        &format!("{base}/parts"),
        &json!({"parts": [{"number": 2, "sha256": sha(&evil)}]}),
    )
    .await
    .expect_error(403, 121);
    bob.post(&format!("{base}/complete"), &json!({}))
        .await
        .expect_error(403, 121);
    bob.get(&format!("{base}/parts"))
        .await
        .expect_error(403, 121);
    bob.delete(&base).await.expect_error(403, 121);
    // The uploader completes; the file holds his bytes.
    owner
        .post(
            &format!("{base}/complete"),
            &json!({"sha256": composite(&[p1, p2])}),
        )
        .await
        .expect(202);
    let key = object_key("r2", &env.generation("r2").await, "big.bin");
    let m = ObjectVersion::new(key.clone(), env.objects.get(&key).unwrap().meta.version_id);
    assert_eq!(env.process(&m).await, Outcome::Recorded);
    assert!(env.objects.get(&key).unwrap().body.unwrap() == body);
}
