//! Multipart uploads on the local stack (threshold and part size 5 MiB there): a ~12 MiB file in
//! three parts sent in parallel, a part re-sent after a simulated crash, the received parts
//! listed, complete with the composite checksum, the upload event recording it, the download
//! byte-identical; a tampered part refused by S3; a wrong composite refused at complete; abort.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use buckets_e2e::{Caller, Reply, unique};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const CREATOR: &[&str] = &["create_buckets"];
const MIB: usize = 1024 * 1024;
const PART: usize = 5 * MIB;

fn body_of(len: usize) -> Vec<u8> {
    (0..len).map(|i| ((i * 7 + i / 4096) % 253) as u8).collect()
}

fn sha(bytes: &[u8]) -> String {
    STANDARD.encode(Sha256::digest(bytes))
}

fn parts_of(body: &[u8]) -> Vec<&[u8]> {
    body.chunks(PART).collect()
}

fn composite(parts: &[&[u8]]) -> String {
    let mut all = Vec::new();
    for p in parts {
        all.extend(Sha256::digest(p));
    }
    format!("{}-{}", STANDARD.encode(Sha256::digest(&all)), parts.len())
}

/// A grant for one large file; answers it and its status path.
fn plan(owner: &Caller, id: &str, name: &str, len: usize) -> (Value, String) {
    let grant = owner
        .grant(id, &[(name, len, "application/octet-stream")])
        .expect(201)
        .json()["files"][0]
        .clone();
    let upload_id = grant["upload_id"].as_str().unwrap();
    (
        grant.clone(),
        format!("/v1/buckets/{id}/uploads/{upload_id}"),
    )
}

fn part_urls(owner: &Caller, base: &str, body: &[u8], numbers: &[usize]) -> Vec<Value> {
    let parts = parts_of(body);
    let wanted: Vec<Value> = numbers
        .iter()
        .map(|n| json!({"number": n, "sha256": sha(parts[n - 1])}))
        .collect();
    owner
        .post(&format!("{base}/parts"), &json!({ "parts": wanted }))
        .expect(200)
        .json()["parts"]
        .as_array()
        .unwrap()
        .clone()
}

/// PUTs `bytes` to a part URL with its signed headers (the client sets Content-Length).
fn send_part(url: &Value, bytes: &[u8]) -> Reply {
    let headers: Vec<(String, String)> = url["headers"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("content-length"))
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    let refs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    Caller::anonymous().send_bytes(
        "PUT",
        url["url"].as_str().unwrap(),
        &refs,
        Some(bytes.to_vec()),
        false,
    )
}

fn received(owner: &Caller, base: &str) -> Vec<u64> {
    owner.get(&format!("{base}/parts")).expect(200).json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["number"].as_u64().unwrap())
        .collect()
}

#[test]
fn multipart_upload_in_parallel_resumed_completed_and_downloaded_byte_identical() {
    let alice = Caller::user("alice", CREATOR);
    let id = unique("mp-");
    alice.create_bucket(&id, &json!({}));
    let len = 12 * MIB + 5;
    let body = body_of(len);
    let (grant, base) = plan(&alice, &id, "Big.bin", len);
    assert!(grant.get("upload").is_none(), "{grant}");
    assert_eq!(grant["multipart"]["part_size"], PART);
    assert_eq!(grant["multipart"]["part_count"], 3);

    let urls = part_urls(&alice, &base, &body, &[1, 2, 3]);
    let parts = parts_of(&body);
    // Parts 2 and 3 in parallel; then the client "crashes" before part 1.
    std::thread::scope(|s| {
        let handles: Vec<_> = [1usize, 2]
            .iter()
            .map(|&i| {
                let (url, bytes) = (&urls[i], parts[i]);
                s.spawn(move || send_part(url, bytes).expect(200))
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    });
    // Resuming: what S3 has, then the missing part, and part 2 sent again (a retried part).
    assert_eq!(received(&alice, &base), vec![2, 3]);
    let page = alice.get(&format!("{base}/parts?_limit=1")).expect(200);
    assert!(page.header("next-page").is_some());
    assert_eq!(page.json()["data"][0]["sha256"], sha(parts[1]));
    let again = part_urls(&alice, &base, &body, &[1, 2]);
    send_part(&again[0], parts[0]).expect(200);
    send_part(&again[1], parts[1]).expect(200);
    assert_eq!(received(&alice, &base), vec![1, 2, 3]);

    let checksum = composite(&parts);
    let done = alice
        .post(&format!("{base}/complete"), &json!({ "sha256": checksum }))
        .expect(202)
        .json();
    assert!(
        ["pending", "recorded"].contains(&done["data"]["status"].as_str().unwrap()),
        "{done}"
    );
    let status = alice.wait_upload(&id, grant["upload_id"].as_str().unwrap());
    assert_eq!(status["status"], "recorded", "{status}");
    assert_eq!(status["file"]["size"], len);
    // HEAD gave S3's composite checksum, which the record keeps.
    assert_eq!(status["file"]["sha256"], checksum);
    let r = alice
        .get(&format!("/v1/buckets/{id}/files/big.bin"))
        .expect(302);
    let got = Caller::anonymous()
        .get(&r.header("location").unwrap())
        .expect(200);
    assert!(got.bytes == body, "the download is byte-identical");
    let b = alice.get(&format!("/v1/buckets/{id}")).expect(200).json();
    assert_eq!(
        (
            b["data"]["file_count"].as_i64(),
            b["data"]["total_bytes"].as_u64()
        ),
        (Some(1), Some(len as u64))
    );
    // Spent: no more parts, no second complete.
    alice
        .post(&format!("{base}/complete"), &json!({}))
        .expect_error(400, 107);
}

#[test]
fn a_tampered_part_and_a_wrong_composite_are_refused_and_abort_withdraws_the_plan() {
    let alice = Caller::user("alice", CREATOR);
    let id = unique("mp-");
    alice.create_bucket(&id, &json!({}));
    let len = 11 * MIB;
    let body = body_of(len);
    let parts = parts_of(&body);
    let (grant, base) = plan(&alice, &id, "big.bin", len);
    let urls = part_urls(&alice, &base, &body, &[1, 2, 3]);
    // Other bytes than the signed checksum: S3 refuses the part.
    let mut tampered = parts[0].to_vec();
    tampered[1234] ^= 0xff;
    let refused = send_part(&urls[0], &tampered);
    assert!(
        refused.status >= 400,
        "a tampered part was accepted: {}",
        refused.status
    );
    assert_eq!(received(&alice, &base), Vec::<u64>::new());
    for (i, url) in urls.iter().enumerate() {
        send_part(url, parts[i]).expect(200);
    }
    // A whole-object checksum of other bytes: refused at complete, naming the field.
    let other = body_of(len + 1);
    let wrong = composite(&parts_of(&other[1..]));
    let e = alice
        .post(&format!("{base}/complete"), &json!({ "sha256": wrong }))
        .expect_error(400, 107);
    assert_eq!(e["details"][0]["name"], "sha256", "{e}");
    // Someone else cannot abort it; its owner does, and the plan is gone.
    Caller::user("mallory", &[]).delete(&base).expect(403);
    alice.delete(&base).expect(200);
    alice.get(&base).expect(404);
    alice
        .post(
            &format!("{base}/complete"),
            &json!({ "sha256": composite(&parts) }),
        )
        .expect(404);
    let files = alice
        .get(&format!("/v1/buckets/{id}/files"))
        .expect(200)
        .json();
    assert_eq!(files["data"], json!([]));
    let _ = grant;
}
