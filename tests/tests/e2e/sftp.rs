//! SFTP users per bucket, with a real SFTP client (asyncssh, `infra/local/sftp_client.py`)
//! against the emulator's Transfer Family listener: uploads over SFTP are recorded (by the
//! reconciliation pass locally: the emulator fires no S3 event for them), files uploaded over
//! HTTP are served over SFTP, read users cannot write, users see only their bucket, removed
//! keys and users cannot connect, inactive buckets refuse uploads, a deleted bucket's users
//! are gone, and creations sent at once stop at the limit.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use buckets_e2e::{Caller, setting, unique};
use serde_json::{Value, json};

const CREATOR: &[&str] = &["create_buckets"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `sftp_client.py` with the stack's Python (asyncssh): (exit code, stdout, stderr).
fn client(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(root().join(".local/stack/bin/python3"))
        .arg(root().join("infra/local/sftp_client.py"))
        .args(args)
        .output()
        .expect("run sftp_client.py");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A key pair on disk: (private key path, public key line).
fn keypair() -> (String, String) {
    let dir = std::env::temp_dir().join(unique("sftp-key-"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("id_ed25519").to_string_lossy().into_owned();
    let (code, public, err) = client(&["keygen", &path]);
    assert_eq!(code, 0, "keygen: {err}");
    (path, public.trim().to_string())
}

/// An SFTP session's credentials.
struct Session {
    login: String,
    key: String,
}

impl Session {
    fn run(&self, op: &str, args: &[&str]) -> (i32, String, String) {
        let host = setting("BUCKETS_SFTP_HOST");
        let port = setting("BUCKETS_SFTP_PORT");
        let mut all = vec![op, host.as_str(), port.as_str(), &self.login, &self.key];
        all.extend_from_slice(args);
        client(&all)
    }

    /// Names and sizes at the root of the session; panics unless it connects.
    fn ls(&self) -> Vec<(String, u64)> {
        let (code, out, err) = self.run("ls", &[]);
        assert_eq!(code, 0, "ls as {}: {err}", self.login);
        out.lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                (
                    v["name"].as_str().unwrap().to_string(),
                    v["size"].as_u64().unwrap(),
                )
            })
            .collect()
    }

    fn put(&self, name: &str, body: &[u8]) -> (i32, String) {
        let local = std::env::temp_dir().join(unique("sftp-put-"));
        std::fs::write(&local, body).unwrap();
        let (code, _, err) = self.run("put", &[local.to_str().unwrap(), name]);
        (code, err)
    }

    fn get(&self, name: &str) -> (i32, Vec<u8>) {
        let local = std::env::temp_dir().join(unique("sftp-get-"));
        let (code, _, _) = self.run("get", &[name, local.to_str().unwrap()]);
        (code, std::fs::read(&local).unwrap_or_default())
    }
}

fn bucket(owner: &Caller, body: &Value) -> String {
    let id = unique("sftp-");
    owner.create_bucket(&id, body);
    id
}

/// Creates user `name` of bucket `id` with a new key; the session and the API's answer.
fn sftp_user(owner: &Caller, id: &str, name: &str, access: &str) -> (Session, Value) {
    let (key, public) = keypair();
    let user = owner
        .post(
            &format!("/v1/buckets/{id}/users"),
            &json!({"username": name, "ssh_public_keys": [public], "access": access}),
        )
        .expect(201)
        .json()["data"]
        .clone();
    let login = user["login"].as_str().unwrap().to_string();
    (Session { login, key }, user)
}

fn reconcile(owner: &Caller, id: &str) -> Value {
    owner
        .post(&format!("/v1/buckets/{id}/reconcile"), &json!({}))
        .expect(200)
        .json()["data"]
        .clone()
}

fn file(owner: &Caller, id: &str, name: &str) -> Option<Value> {
    let r = owner
        .get(&format!("/v1/buckets/{id}/files?_limit=100"))
        .expect(200)
        .json();
    r["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .cloned()
}

fn download(owner: &Caller, id: &str, name: &str) -> Vec<u8> {
    let location = owner
        .get(&format!("/v1/buckets/{id}/files/{name}"))
        .expect(302)
        .header("location")
        .unwrap();
    Caller::anonymous().get(&location).expect(200).bytes
}

fn sha256_b64(body: &[u8]) -> String {
    use base64::Engine;
    use sha2::Digest;
    base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(body))
}

#[test]
fn a_write_user_uploads_over_sftp_and_http_files_are_served_over_sftp() {
    let alice = Caller::user("alice", CREATOR);
    let id = bucket(&alice, &json!({}));
    let (writer, user) = sftp_user(&alice, &id, "partner", "write");
    assert_eq!(user["login"], format!("{id}.partner"));
    let host = alice.get(&format!("/v1/buckets/{id}")).expect(200).json()["data"]["host"].clone();
    assert_eq!(
        host,
        format!(
            "{}:{}",
            setting("BUCKETS_SFTP_HOST"),
            setting("BUCKETS_SFTP_PORT")
        ),
        "the bucket shows where to connect"
    );

    // Over SFTP, with a name that normalizes: recorded under the normalized name.
    let body = b"id,amount\n1,10\n2,20\n".repeat(50);
    let (code, err) = writer.put("Q1 Report.CSV", &body);
    assert_eq!(code, 0, "put: {err}");
    let done = reconcile(&alice, &id);
    // Recorded by this pass, or by the scheduled one (every minute) if it came in between.
    assert!(
        done["recorded"] == 1 || (done["recorded"] == 0 && done["refused"] == 0),
        "{done}"
    );
    let f = file(&alice, &id, "q1_report.csv").expect("recorded");
    assert_eq!(f["size"], body.len());
    assert_eq!(
        f["sha256"],
        sha256_b64(&body),
        "S3 computed the checksum: {f}"
    );
    assert_eq!(f["uploaded_by"], "sftp");
    assert_eq!(
        download(&alice, &id, "q1_report.csv"),
        body,
        "byte-identical over HTTP"
    );
    let names = writer.ls();
    assert!(
        names.contains(&("q1_report.csv".into(), body.len() as u64)),
        "{names:?}"
    );
    assert!(
        !names.iter().any(|(n, _)| n == "Q1 Report.CSV"),
        "{names:?}"
    );
    // Once is enough: a second pass finds nothing to do.
    let again = reconcile(&alice, &id);
    assert_eq!(
        (again["recorded"].clone(), again["removed"].clone()),
        (json!(0), json!(0))
    );

    // Over HTTP: listed and served over SFTP.
    alice.upload(&id, "notes.txt", b"uploaded over HTTP", "text/plain");
    assert!(writer.ls().contains(&("notes.txt".into(), 18)));
    assert_eq!(writer.get("notes.txt"), (0, b"uploaded over HTTP".to_vec()));

    // A rename is refused (Transfer renames by a server-side copy, which the session policy
    // refuses: it would carry the original's upload to the new name); the file stays.
    assert_eq!(writer.run("mv", &["q1_report.csv", "renamed.csv"]).0, 3);
    assert!(writer.ls().iter().any(|(n, _)| n == "q1_report.csv"));

    // Replaced and deleted over SFTP.
    assert_eq!(writer.put("notes.txt", b"replaced over SFTP").0, 0);
    assert_eq!(writer.run("rm", &["q1_report.csv"]).0, 0);
    let done = reconcile(&alice, &id);
    assert_eq!(
        (done["recorded"].clone(), done["removed"].clone()),
        (json!(1), json!(1)),
        "{done}"
    );
    assert!(file(&alice, &id, "q1_report.csv").is_none());
    assert_eq!(download(&alice, &id, "notes.txt"), b"replaced over SFTP");
    let versions = alice
        .get(&format!("/v1/buckets/{id}/files/notes.txt/versions"))
        .expect(200)
        .json();
    assert_eq!(
        versions["data"].as_array().unwrap().len(),
        1,
        "the HTTP upload is kept: {versions}"
    );
}

#[test]
fn the_scheduled_pass_records_sftp_uploads_without_being_asked() {
    let alice = Caller::user("alice", CREATOR);
    let id = bucket(&alice, &json!({}));
    let (writer, _) = sftp_user(&alice, &id, "nightly", "write");
    assert_eq!(writer.put("export.json", b"{\"rows\": 3}").0, 0);
    // The local schedule is EventBridge's shortest, rate(1 minute).
    let deadline = Instant::now() + Duration::from_secs(150);
    while file(&alice, &id, "export.json").is_none() {
        assert!(
            Instant::now() < deadline,
            "not recorded by the scheduled pass within 150 s"
        );
        std::thread::sleep(Duration::from_secs(2));
    }
}

#[test]
fn a_read_user_cannot_write_and_users_see_only_their_bucket() {
    let alice = Caller::user("alice", CREATOR);
    let id = bucket(&alice, &json!({}));
    alice.upload(&id, "shared.txt", b"for reading", "text/plain");
    let (reader, _) = sftp_user(&alice, &id, "reader", "read");
    assert!(reader.ls().contains(&("shared.txt".into(), 11)));
    assert_eq!(reader.get("shared.txt"), (0, b"for reading".to_vec()));
    let (code, err) = reader.put("new.txt", b"nope");
    assert_eq!(code, 3, "a read user's upload is refused: {err}");
    assert_eq!(reader.run("rm", &["shared.txt"]).0, 3, "and so is a delete");
    assert!(reader.ls().iter().all(|(n, _)| n != "new.txt"));

    // A user of another bucket (the same user name) sees nothing of this one.
    let bob = Caller::user("bob", CREATOR);
    let other = bucket(&bob, &json!({}));
    let (stranger, _) = sftp_user(&bob, &other, "reader", "write");
    assert!(stranger.ls().is_empty(), "{:?}", stranger.ls());
    assert_eq!(stranger.get("shared.txt").0, 4);
    assert_eq!(
        stranger.get(&format!("../../{id}/shared.txt")).0,
        4,
        "no way out of the home"
    );
    // Another bucket's owner cannot manage this bucket's users.
    bob.get(&format!("/v1/buckets/{id}/users")).expect(403);
}

#[test]
fn removed_keys_and_users_cannot_connect() {
    let alice = Caller::user("alice", CREATOR);
    let id = bucket(&alice, &json!({}));
    let (first, user) = sftp_user(&alice, &id, "rotating", "read");
    assert_eq!(
        user["ssh_public_keys"][0]["fingerprint"]
            .as_str()
            .unwrap()
            .len(),
        50
    );
    let (new_key, new_public) = keypair();
    let patched = alice
        .patch(
            &format!("/v1/buckets/{id}/users/rotating"),
            "application/json",
            &json!({"ssh_public_keys": [new_public]}),
        )
        .expect(200)
        .json();
    assert_eq!(
        patched["data"]["ssh_public_keys"].as_array().unwrap().len(),
        1
    );
    assert_eq!(first.run("ls", &[]).0, 2, "the removed key is refused");
    let second = Session {
        login: first.login.clone(),
        key: new_key,
    };
    second.ls();
    alice
        .delete(&format!("/v1/buckets/{id}/users/rotating"))
        .expect(200);
    assert_eq!(second.run("ls", &[]).0, 2, "a removed user is refused");
    alice
        .get(&format!("/v1/buckets/{id}/users/rotating"))
        .expect(404);
}

#[test]
fn bad_users_are_refused_naming_the_field() {
    let alice = Caller::user("alice", CREATOR);
    let id = bucket(&alice, &json!({}));
    let (_, public) = keypair();
    let path = format!("/v1/buckets/{id}/users");
    for (body, field) in [
        (
            json!({"username": "ok-name", "ssh_public_keys": ["ssh-rsa AAAA"]}),
            "ssh_public_keys[0]",
        ),
        (
            json!({"username": "ok-name", "ssh_public_keys": [public, "nope"]}),
            "ssh_public_keys[1]",
        ),
        (
            json!({"username": "Bad.Name", "ssh_public_keys": [public]}),
            "username",
        ),
        (
            json!({"username": "ok-name", "ssh_public_keys": [public], "access": "root"}),
            "access",
        ),
    ] {
        let err = alice.post(&path, &body).expect_error(400, 107);
        assert_eq!(err["details"][0]["name"], field, "{err}");
    }
    alice
        .post(
            &path,
            &json!({"username": "twice", "ssh_public_keys": [public]}),
        )
        .expect(201);
    alice
        .post(
            &path,
            &json!({"username": "twice", "ssh_public_keys": [public]}),
        )
        .expect(400);
    let listed = alice.get(&path).expect(200).json();
    assert_eq!(listed["data"][0]["username"], "twice");
}

#[test]
fn an_inactive_bucket_refuses_sftp_uploads() {
    let alice = Caller::user("alice", CREATOR);
    let id = bucket(&alice, &json!({}));
    let (writer, _) = sftp_user(&alice, &id, "uploader", "write");
    alice
        .patch(
            &format!("/v1/buckets/{id}"),
            "application/json",
            &json!({"data": {"active": false}}),
        )
        .expect(200);
    // His session policy follows the bucket (the stream tells the sftp function): writing is
    // refused over SFTP once it has, and the files stay readable.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (code, err) = writer.put("late.txt", b"after hours");
        if code == 3 {
            break;
        }
        assert_eq!(code, 0, "{err}");
        assert!(
            Instant::now() < deadline,
            "SFTP writes still accepted 60 s after deactivation"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    writer.ls();
    // What was written before the policy changed is refused by the upload rules.
    let done = reconcile(&alice, &id);
    assert!(file(&alice, &id, "late.txt").is_none(), "{done}");
    assert!(
        writer.ls().iter().all(|(n, _)| n != "late.txt"),
        "no upload stays"
    );
    // Active again: writes are accepted again, and recorded.
    alice
        .patch(
            &format!("/v1/buckets/{id}"),
            "application/json",
            &json!({"data": {"active": true}}),
        )
        .expect(200);
    let deadline = Instant::now() + Duration::from_secs(60);
    while writer.put("back.txt", b"open again").0 != 0 {
        assert!(
            Instant::now() < deadline,
            "SFTP writes still refused 60 s after reactivation"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    reconcile(&alice, &id);
    assert!(file(&alice, &id, "back.txt").is_some());
}

#[test]
fn deleting_the_bucket_removes_its_users() {
    let alice = Caller::user("alice", CREATOR);
    let id = bucket(&alice, &json!({}));
    let (writer, _) = sftp_user(&alice, &id, "leaving", "write");
    writer.ls();
    alice.delete(&format!("/v1/buckets/{id}")).expect(200);
    let deadline = Instant::now() + Duration::from_secs(60);
    while writer.run("ls", &[]).0 != 2 {
        assert!(
            Instant::now() < deadline,
            "the user still connects 60 s after the deletion"
        );
        std::thread::sleep(Duration::from_secs(1));
    }
}

#[test]
fn a_file_deleted_by_key_is_forgotten_at_its_event() {
    // What an SFTP user's delete does on AWS: a DeleteObject without version id (a delete
    // marker), whose `ObjectRemoved:DeleteMarkerCreated` event removes the record at once.
    let alice = Caller::user("alice", CREATOR);
    let id = bucket(&alice, &json!({}));
    let grant = alice
        .grant(&id, &[("gone.txt", 3, "text/plain")])
        .expect(201)
        .json()["files"][0]
        .clone();
    let upload = buckets_e2e::Upload { grant };
    upload.put(b"bye", &[]).expect(200);
    alice.wait_upload(&id, &upload.upload_id());
    let key = format!("{id}/{}/gone.txt", upload.generation());
    buckets_e2e::local_script("delete_object_key.py", &[&key]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while file(&alice, &id, "gone.txt").is_some() {
        assert!(
            Instant::now() < deadline,
            "still listed 60 s after its deletion event"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let b = alice.get(&format!("/v1/buckets/{id}")).expect(200).json();
    assert_eq!(
        (
            b["data"]["file_count"].clone(),
            b["data"]["total_bytes"].clone()
        ),
        (json!(0), json!(0))
    );
}

/// An SFTP user made by a writer logs in only while that writer may write the bucket: removed
/// from the ACL, the user is suspended and its logins refused, until a current writer's
/// `PATCH` naming the keys that may log in takes it over.
#[test]
fn a_removed_writers_sftp_user_cannot_log_in_until_a_writer_takes_it_over() {
    let alice = Caller::user("alice", CREATOR);
    let bob = Caller::user("sftp-bob", &[]);
    let id = bucket(
        &alice,
        &json!({"permissions": {"write": [alice.principal(), bob.principal()]}}),
    );
    let (session, user) = sftp_user(&bob, &id, "partner", "read");
    assert_eq!(user["owner"], bob.principal());
    session.ls();
    alice
        .patch(
            &format!("/v1/buckets/{id}"),
            "application/json",
            &json!({"permissions": {"write": [alice.principal()]}}),
        )
        .expect(200);
    // The activity function suspends the user; the SFTP function then takes its keys away.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let read = alice
            .get(&format!("/v1/buckets/{id}/users/partner"))
            .expect(200)
            .json();
        if read["data"]["suspended"] == true && session.run("ls", &[]).0 == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "still logs in: {read:#}");
        std::thread::sleep(Duration::from_millis(500));
    }
    // A takeover names the keys that may log in: the removed writer's stay out.
    alice
        .patch(
            &format!("/v1/buckets/{id}/users/partner"),
            "application/json",
            &json!({}),
        )
        .expect_error(400, 107);
    let (key, public) = keypair();
    let taken = alice
        .patch(
            &format!("/v1/buckets/{id}/users/partner"),
            "application/json",
            &json!({"ssh_public_keys": [public]}),
        )
        .expect(200)
        .json();
    assert_eq!(taken["data"]["suspended"], false);
    assert_eq!(taken["data"]["owner"], alice.principal());
    assert_eq!(
        session.run("ls", &[]).0,
        2,
        "the removed writer's key stays out"
    );
    Session {
        login: session.login.clone(),
        key,
    }
    .ls();
}

/// Creations sent at once all pass the API's first check; the count in the creating
/// transaction holds the limit (20), each refused one a `400` naming `username` with no
/// Transfer user made for it, and a deletion frees one place, once.
#[test]
fn concurrent_user_creations_stop_at_the_limit() {
    const LIMIT: usize = 20;
    let alice = Caller::user("alice", CREATOR);
    let id = bucket(&alice, &json!({}));
    let (key, public) = keypair();
    let path = format!("/v1/buckets/{id}/users");
    let body = |name: &str| json!({"username": name, "ssh_public_keys": [public]});
    let names: Vec<String> = (0..LIMIT + 10).map(|i| format!("user{i:02}")).collect();
    let answers: Vec<(u16, Value)> = std::thread::scope(|s| {
        let sent: Vec<_> = names
            .iter()
            .map(|name| {
                let (alice, path, body) = (alice.clone(), &path, body(name));
                s.spawn(move || {
                    let r = alice.post(path, &body);
                    (r.status, r.json())
                })
            })
            .collect();
        sent.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let created: Vec<&String> = names
        .iter()
        .zip(&answers)
        .filter(|(_, (status, _))| *status == 201)
        .map(|(name, _)| name)
        .collect();
    assert_eq!(created.len(), LIMIT, "{answers:?}");
    let refused: Vec<&String> = names
        .iter()
        .zip(&answers)
        .filter(|(_, (status, body))| {
            assert!(*status == 201 || *status == 400, "{status}: {body}");
            *status == 400
        })
        .map(|(name, (_, body))| {
            assert_eq!(body["errno"], 107, "{body}");
            assert_eq!(body["details"][0]["name"], "username", "{body}");
            name
        })
        .collect();
    assert_eq!(refused.len(), 10);
    let listed = alice.get(&format!("{path}?_limit=100")).expect(200).json();
    assert_eq!(listed["data"].as_array().unwrap().len(), LIMIT, "{listed}");
    // A created user connects; a refused one was never a Transfer user.
    let session = |name: &str| Session {
        login: format!("{id}.{name}"),
        key: key.clone(),
    };
    session(created[0]).ls();
    let (code, _, _) = session(refused[0]).run("ls", &[]);
    assert_ne!(code, 0, "a refused user connected");

    let first = format!("{path}/{}", created[0]);
    alice.delete(&first).expect(200);
    alice.delete(&first).expect(404);
    alice.post(&path, &body("late1")).expect(201);
    let err = alice.post(&path, &body("late2")).expect_error(400, 107);
    assert_eq!(err["details"][0]["name"], "username", "{err}");
}
