//! The `buckets` command line, the real binary against the local stack: the two-job hand-off
//! with an API key, a multipart store and fetch, a store killed mid-way and re-run, a
//! multipart upload resumed part-wise, a file changed on disk during its upload, refusals
//! named with their reasons, and `login` through the advertised sign-in.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use buckets_e2e::{COGNITO_PASSWORD, Caller, api_url, local_script, unique};
use serde_json::{Value, json};

/// whoami, history, webhooks, the output formats, no credentials, refusals.
mod commands;

const CREATOR: &[&str] = &["create_buckets"];
const MIB: usize = 1024 * 1024;

/// The binary `make e2e` builds (`cargo build -p buckets-cli`), or `BUCKETS_CLI`.
fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("BUCKETS_CLI") {
        return PathBuf::from(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let bin = target.join("debug/buckets");
    assert!(
        bin.exists(),
        "{} is missing: cargo build -p buckets-cli (make e2e does)",
        bin.display()
    );
    bin
}

/// A job's environment: the API and a key, and its own config and cache directories.
struct Job {
    env: Vec<(String, String)>,
    home: tempdir::Dir,
}

mod tempdir {
    use std::path::{Path, PathBuf};

    /// A directory removed when dropped.
    pub struct Dir(PathBuf);

    impl Dir {
        pub fn new(prefix: &str) -> Dir {
            let p = std::env::temp_dir().join(buckets_e2e::unique(prefix));
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl Job {
    fn with_key(key: &str) -> Job {
        let home = tempdir::Dir::new("cli-home-");
        let env = vec![
            ("BUCKETS_URL".into(), api_url()),
            ("BUCKETS_API_KEY".into(), key.to_string()),
            ("HOME".into(), home.path().display().to_string()),
            (
                "XDG_CACHE_HOME".into(),
                home.path().join("cache").display().to_string(),
            ),
            (
                "XDG_CONFIG_HOME".into(),
                home.path().join("config").display().to_string(),
            ),
        ];
        Job { env, home }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(binary());
        c.args(args)
            .env_remove("BUCKETS_TOKEN")
            .env_remove("BUCKETS_CONFIG")
            .stdin(Stdio::null());
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Runs, expecting `code`; answers stdout (JSON with --json) and stderr.
    #[track_caller]
    fn expect(&self, code: i32, args: &[&str]) -> (String, String) {
        let out = self.run(args);
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        );
        assert_eq!(
            out.status.code(),
            Some(code),
            "buckets {args:?}\nstdout: {stdout}\nstderr: {stderr}"
        );
        (stdout, stderr)
    }
}

/// A user with a bucket and an API key that may write it.
fn owner_with_key(prefix: &str) -> (Caller, String, String) {
    let alice = Caller::user(&unique("cli-"), CREATOR);
    let id = unique(prefix);
    alice.create_bucket(&id, &json!({}));
    let key = alice.write_key(&id)["secret"].as_str().unwrap().to_string();
    (alice, id, key)
}

fn bytes_of(len: usize, seed: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 31 + seed * 7 + i / 1000) % 251) as u8)
        .collect()
}

fn json_of(stdout: &str) -> Value {
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

fn names(v: &Value, field: &str) -> Vec<String> {
    let mut n: Vec<String> = v[field]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().or(x["name"].as_str()).unwrap().to_string())
        .collect();
    n.sort();
    n
}

fn record(owner: &Caller, id: &str, name: &str) -> Option<Value> {
    owner
        .get(&format!("/v1/buckets/{id}/files"))
        .expect(200)
        .json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .cloned()
}

#[test]
fn job_one_stores_data_and_csvs_job_two_fetches_them_byte_identical() {
    let (alice, id, key) = owner_with_key("handoff-");
    let job1 = Job::with_key(&key);
    let out1 = tempdir::Dir::new("job1-");
    let files = [
        ("rain.csv", 70_000, 1),
        ("Wind Speed.CSV", 1234, 2),
        ("notes.txt", 10, 3),
    ];
    for (name, len, seed) in files {
        std::fs::write(out1.path().join(name), bytes_of(len, seed)).unwrap();
    }
    let data = out1.path().join("result.json");
    std::fs::write(&data, r#"{"rows": 2, "job": "one"}"#).unwrap();
    let (stdout, _) = job1.expect(
        0,
        &[
            "store",
            &id,
            "--glob",
            "*.csv",
            "--dir",
            out1.path().to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--json",
        ],
    );
    let stored = json_of(&stdout);
    assert_eq!(names(&stored, "moved"), ["rain.csv", "wind_speed.csv"]);
    assert_eq!(stored["data"]["rows"], 2);

    // Job 2: another process, an empty directory.
    let job2 = Job::with_key(&key);
    let in2 = tempdir::Dir::new("job2-");
    job2.expect(
        0,
        &[
            "fetch",
            &id,
            "--dir",
            in2.path().to_str().unwrap(),
            "--quiet",
        ],
    );
    let fetched: Value =
        serde_json::from_slice(&std::fs::read(in2.path().join("data.json")).unwrap()).unwrap();
    assert_eq!(fetched, json!({"rows": 2, "job": "one"}));
    assert_eq!(
        std::fs::read(in2.path().join("rain.csv")).unwrap(),
        bytes_of(70_000, 1)
    );
    assert_eq!(
        std::fs::read(in2.path().join("wind_speed.csv")).unwrap(),
        bytes_of(1234, 2)
    );
    assert!(!in2.path().join("notes.txt").exists());
    let listed: Vec<_> = std::fs::read_dir(in2.path()).unwrap().flatten().collect();
    assert_eq!(listed.len(), 3, "only data.json and the two files");

    // A second fetch finds everything in place and moves nothing; store again neither.
    let (again, _) = job2.expect(
        0,
        &[
            "fetch",
            &id,
            "--dir",
            in2.path().to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(
        names(&json_of(&again), "unchanged"),
        ["rain.csv", "wind_speed.csv"]
    );
    let (again, _) = job1.expect(
        0,
        &[
            "store",
            &id,
            "--glob",
            "*.csv",
            "--dir",
            out1.path().to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(
        names(&json_of(&again), "unchanged"),
        ["rain.csv", "wind_speed.csv"]
    );
    assert!(json_of(&again)["moved"].as_array().unwrap().is_empty());
    // The job's key uploaded it, and the record says so (its principal `key:<id>`).
    assert_eq!(
        record(&alice, &id, "rain.csv").unwrap()["uploaded_by"],
        format!("key:{}", &key[3..19])
    );
}

#[test]
fn a_multipart_file_is_stored_and_fetched_byte_identical() {
    let (alice, id, key) = owner_with_key("cli-mp-");
    let job = Job::with_key(&key);
    let dir = tempdir::Dir::new("cli-mp-");
    let body = bytes_of(12 * MIB + 77, 9);
    std::fs::write(dir.path().join("big.bin"), &body).unwrap();
    job.expect(
        0,
        &[
            "cp",
            dir.path().join("big.bin").to_str().unwrap(),
            &format!("{id}:"),
            "--quiet",
        ],
    );
    let rec = record(&alice, &id, "big.bin").unwrap();
    assert_eq!(rec["size"], body.len());
    assert!(rec["sha256"].as_str().unwrap().ends_with("-3"), "{rec}");
    let down = tempdir::Dir::new("cli-mp-down-");
    let dest = down.path().join("copy.bin");
    job.expect(
        0,
        &[
            "cp",
            &format!("{id}:big.bin"),
            dest.to_str().unwrap(),
            "--quiet",
        ],
    );
    assert!(
        std::fs::read(&dest).unwrap() == body,
        "downloaded bytes differ"
    );
    // `-`: the verified bytes on stdout, and nothing else there.
    let out = job.run(&["cp", &format!("{id}:big.bin"), "-", "--quiet"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout == body, "stdout differs from the file");
    // `cp - BUCKET:NAME`: stdin becomes the file of that (normalized) name.
    let mut up = job.command(&["cp", "-", &format!("{id}:From Stdin.txt"), "--quiet"]);
    let mut child = up.stdin(Stdio::piped()).spawn().unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"piped\n").unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(record(&alice, &id, "from_stdin.txt").unwrap()["size"], 6);
}

/// Waits until `check` is true (or panics after `secs`).
fn wait_for(secs: u64, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn recorded_count(owner: &Caller, id: &str) -> usize {
    owner
        .get(&format!("/v1/buckets/{id}/files?_limit=1000"))
        .expect(200)
        .json()["data"]
        .as_array()
        .unwrap()
        .len()
}

#[test]
fn a_store_killed_mid_way_and_run_again_sends_only_what_is_missing() {
    let (alice, id, key) = owner_with_key("cli-kill-");
    let job = Job::with_key(&key);
    let dir = tempdir::Dir::new("cli-kill-");
    for i in 0..40 {
        std::fs::write(
            dir.path().join(format!("part-{i:02}.dat")),
            bytes_of(200_000, i),
        )
        .unwrap();
    }
    let d = dir.path().to_str().unwrap();
    let mut child = job.spawn(&["store", &id, "--dir", d, "-j", "1"]);
    wait_for(120, "a few files recorded", || {
        recorded_count(&alice, &id) >= 3
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let before = recorded_count(&alice, &id);
    assert!(before < 40, "the store finished before it was killed");

    let (stdout, _) = job.expect(0, &["store", &id, "--dir", d, "--json"]);
    let v = json_of(&stdout);
    let unchanged = v["unchanged"].as_array().unwrap().len();
    assert!(unchanged >= before, "recorded files were sent again: {v}");
    assert_eq!(unchanged + v["moved"].as_array().unwrap().len(), 40, "{v}");
    assert_eq!(recorded_count(&alice, &id), 40);
}

#[test]
fn a_multipart_store_killed_mid_way_resumes_part_wise() {
    let (alice, id, key) = owner_with_key("cli-resume-");
    let job = Job::with_key(&key);
    let dir = tempdir::Dir::new("cli-resume-");
    let body = bytes_of(30 * MIB, 4);
    std::fs::write(dir.path().join("video.bin"), &body).unwrap();
    let d = dir.path().to_str().unwrap();
    let cache = job.home.path().join("cache/buckets/uploads");
    // 30 MiB at 4 MiB/s: about 8 s, so the kill lands between the parts.
    let mut child = job.spawn(&["store", &id, "--dir", d, "-j", "1", "--limit-rate", "4M"]);
    // The upload id is remembered before any part goes; wait for a part or two on S3.
    let mut status_uri = String::new();
    wait_for(120, "the remembered upload", || {
        std::fs::read_dir(&cache)
            .ok()
            .and_then(|mut r| r.next())
            .and_then(|e| std::fs::read(e.ok()?.path()).ok())
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .is_some_and(|v| {
                status_uri = v["status_uri"].as_str().unwrap_or("").to_string();
                !status_uri.is_empty()
            })
    });
    let parts = |who: &Caller| -> usize {
        let path = status_uri[status_uri.find("/v1/").unwrap()..].to_string();
        who.get(&format!("{path}/parts")).json()["data"]
            .as_array()
            .map_or(0, Vec::len)
    };
    // An upload is its uploader's: its parts are listed with the job's key.
    let uploader = Caller::with_token(key.clone());
    wait_for(120, "a part on S3", || parts(&uploader) >= 1);
    child.kill().unwrap();
    child.wait().unwrap();
    let held = parts(&uploader);
    assert!(held < 6, "every part was sent before the kill");

    let (_, stderr) = job.expect(0, &["store", &id, "--dir", d]);
    assert!(
        stderr.contains(&format!(
            "resuming, {held} {} already uploaded",
            if held == 1 { "part" } else { "parts" }
        )),
        "{stderr}"
    );
    let rec = record(&alice, &id, "video.bin").unwrap();
    assert_eq!(rec["size"], body.len());
    let down = tempdir::Dir::new("cli-resume-down-");
    job.expect(
        0,
        &[
            "fetch",
            &id,
            "--sync",
            "files",
            "--dir",
            down.path().to_str().unwrap(),
            "-q",
        ],
    );
    assert!(std::fs::read(down.path().join("video.bin")).unwrap() == body);
}

#[test]
fn a_file_changed_on_disk_during_its_upload_is_caught_by_its_checksum() {
    let (alice, id, key) = owner_with_key("cli-change-");
    let job = Job::with_key(&key);
    let dir = tempdir::Dir::new("cli-change-");
    for i in 0..60 {
        std::fs::write(
            dir.path().join(format!("a-{i:02}.dat")),
            bytes_of(100_000, i),
        )
        .unwrap();
    }
    let victim = dir.path().join("zz-victim.dat");
    std::fs::write(&victim, bytes_of(100_000, 99)).unwrap();
    let child = job.spawn(&[
        "store",
        &id,
        "--dir",
        dir.path().to_str().unwrap(),
        "-j",
        "1",
    ]);
    // Hashed and granted before the first upload lands; the victim goes last.
    wait_for(120, "the first file recorded", || {
        recorded_count(&alice, &id) >= 1
    });
    std::fs::write(&victim, bytes_of(100_000, 98)).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("failed: zz-victim.dat: the file changed on disk during upload"),
        "{stderr}"
    );
    assert!(record(&alice, &id, "zz-victim.dat").is_none());
    assert_eq!(recorded_count(&alice, &id), 60);
}

#[test]
fn refused_files_are_named_with_the_reason_and_the_others_stored() {
    let alice = Caller::user(&unique("cli-"), CREATOR);
    let id = unique("cli-refuse-");
    alice.create_bucket(
        &id,
        &json!({"data": {"limits": {"accepted_file_types": ["text/csv"], "max_file_size": 1000}}}),
    );
    let key = alice
        .post(
            "/v1/keys",
            &json!({"title": "job", "buckets": [{"id": id, "access": "write"}]}),
        )
        .expect(201)
        .json()["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let job = Job::with_key(&key);
    let dir = tempdir::Dir::new("cli-refuse-");
    std::fs::write(dir.path().join("ok.csv"), b"a,b\n1,2\n").unwrap();
    std::fs::write(dir.path().join("photo.png"), b"\x89PNG....").unwrap();
    std::fs::write(dir.path().join("huge.csv"), vec![b'x'; 5000]).unwrap();
    let (stdout, stderr) = job.expect(
        1,
        &[
            "store",
            &id,
            "--dir",
            dir.path().to_str().unwrap(),
            "--json",
        ],
    );
    let v = json_of(&stdout);
    assert_eq!(names(&v, "moved"), ["ok.csv"]);
    assert_eq!(names(&v, "refused"), ["huge.csv", "photo.png"]);
    assert!(
        stderr.contains("refused: photo.png: files[") && stderr.contains("content_type"),
        "{stderr}"
    );
    assert!(
        stderr.contains("refused: huge.csv: files[") && stderr.contains("size"),
        "{stderr}"
    );
    assert!(record(&alice, &id, "ok.csv").is_some());
}

#[test]
fn login_signs_in_through_the_advertised_sign_in_and_the_cli_acts_as_that_user() {
    let name = unique("cli-login-");
    local_script(
        "cognito_user.py",
        &[&name, COGNITO_PASSWORD, "create_buckets"],
    );
    let job = Job::with_key("");
    let mut login = job.command(&[
        "login",
        "--url",
        &api_url(),
        "--user",
        &name,
        "--password-stdin",
    ]);
    login
        .env_remove("BUCKETS_API_KEY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = login.spawn().unwrap();
    use std::io::Write;
    writeln!(child.stdin.take().unwrap(), "{COGNITO_PASSWORD}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cfg = job.home.path().join("config/buckets/config.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&cfg).unwrap().permissions().mode() & 0o077,
            0
        );
    }
    // The cached token is used: a bucket created with it is the user's.
    let id = unique("cli-login-");
    let mut create = job.command(&["create", &id, "--title", "Mine", "--json"]);
    create.env_remove("BUCKETS_API_KEY");
    let out = create.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created = json_of(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(created["data"]["id"], id);
    assert!(
        created["permissions"]["write"][0]
            .as_str()
            .unwrap()
            .starts_with("user:")
    );
    // Without credentials the API says who may not.
    let mut anon = job.command(&["info", &id]);
    anon.env_remove("BUCKETS_API_KEY")
        .env("BUCKETS_CONFIG", job.home.path().join("none.json"));
    assert_eq!(anon.output().unwrap().status.code(), Some(3));
}
