//! The commands people use beside fetch and store, the real binary against the local stack:
//! `whoami` (a key, a token, nothing), `history` with its filters, `webhooks` (create, list,
//! ping, deliveries, delete) with a receiver that verifies the printed secret, `--output
//! json|tsv|table`, no silent success without credentials, and the API's refusal of a key
//! printed as the API words it.

use buckets_e2e::{Caller, api_url, token, unique};
use serde_json::{Value, json};

use super::{CREATOR, Job, json_of, owner_with_key, tempdir};
use crate::webhooks::Receiver;

/// A job signed in with a bearer token instead of a key.
fn with_token(token: &str) -> Job {
    let mut job = Job::with_key("");
    job.env.push(("BUCKETS_TOKEN".into(), token.to_string()));
    job
}

fn lines(s: &str) -> Vec<&str> {
    s.lines().collect()
}

#[test]
fn whoami_says_who_with_which_credential_and_fails_clearly_without_one() {
    let (alice, id, key) = owner_with_key("cli-who-");
    let job = Job::with_key(&key);
    let (stdout, _) = job.expect(0, &["whoami", "--output", "json"]);
    let who = json_of(&stdout);
    assert_eq!(who["user"]["id"], alice.principal());
    assert_eq!(who["url"], api_url().trim_end_matches('/'));
    assert_eq!(who["credential"]["type"], "api_key");
    assert_eq!(who["credential"]["source"], "BUCKETS_API_KEY");
    let key_id = &key[3..19];
    assert_eq!(who["key"]["id"], key_id);
    let principals = who["user"]["principals"].as_array().unwrap();
    assert!(
        principals.contains(&json!(format!("key:{key_id}"))),
        "{who}"
    );
    // A table for people: the key, and what it may do.
    let (table, _) = job.expect(0, &["whoami", "-o", "table"]);
    assert!(
        table.contains(&format!("API key {key_id}, from BUCKETS_API_KEY")),
        "{table}"
    );
    assert!(table.contains(&alice.principal()), "{table}");
    // Its scope, from `GET /v1/`'s `user.key`.
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("scope:") && l.ends_with(&format!(" {id}:write"))),
        "{table}"
    );
    // A scoped key has no personal bucket: no such line.
    assert!(!table.contains("personal bucket"), "{table}");
    assert_eq!(
        who["user"]["key"]["buckets"],
        json!([{"id": id, "access": "write"}])
    );

    // A key that may read its own record (it holds create_keys) shows its scope.
    let maker = alice
        .post(
            "/v1/keys",
            &json!({"title": "maker", "privileges": ["create_keys"],
                    "buckets": [{"id": id, "access": "write"}]}),
        )
        .expect(201)
        .json()["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let (table, _) = Job::with_key(&maker).expect(0, &["whoami", "-o", "table"]);
    assert!(table.contains(&format!("{id}:write")), "{table}");
    assert!(table.contains("create_keys"), "{table}");

    // A token: its user and privileges.
    let tok = token(&unique("cli-who-"), CREATOR);
    let (stdout, _) = with_token(&tok).expect(0, &["whoami", "--json"]);
    let who = json_of(&stdout);
    assert_eq!(who["credential"]["type"], "token");
    assert_eq!(who["user"]["privileges"], json!(CREATOR));
    assert!(who["token"]["expires_at"].as_i64().unwrap() > 0);

    // Nothing: exit 3 and how to sign in, nothing on stdout.
    let (stdout, stderr) = Job::with_key("").expect(3, &["whoami"]);
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("not signed in") && stderr.contains("buckets login"),
        "{stderr}"
    );
}

#[test]
fn without_credentials_listing_fails_instead_of_printing_nothing() {
    for args in [
        &["ls"][..],
        &["keys", "ls"],
        &["files", "any"],
        &["history", "any"],
    ] {
        let (stdout, stderr) = Job::with_key("").expect(3, args);
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
        assert!(stderr.contains("BUCKETS_API_KEY"), "{args:?}: {stderr}");
    }
    // Anonymous on purpose: what everyone may read (here: no bucket), exit 0.
    let (stdout, _) = Job::with_key("").expect(0, &["ls", "--anonymous", "-o", "json"]);
    assert!(json_of(&stdout).is_array());
}

#[test]
fn history_lists_changes_newest_first_with_filters_in_each_format() {
    let (_, id, key) = owner_with_key("cli-hist-");
    let job = Job::with_key(&key);
    let dir = tempdir::Dir::new("cli-hist-");
    std::fs::write(dir.path().join("rain.csv"), b"a,b\n1,2\n").unwrap();
    let file = dir.path().join("rain.csv");
    job.expect(0, &["cp", file.to_str().unwrap(), &format!("{id}:"), "-q"]);
    let doc = dir.path().join("doc.json");
    std::fs::write(&doc, r#"{"rows": 1}"#).unwrap();
    job.expect(0, &["data", "put", &id, doc.to_str().unwrap()]);
    // Entries are written from the table's stream: wait for the three changes.
    let mut all = Value::Null;
    super::wait_for(60, "three history entries", || {
        let (stdout, _) = job.expect(0, &["history", &id, "--output", "json"]);
        all = json_of(&stdout);
        all.as_array().unwrap().len() >= 3
    });
    let entries = all.as_array().unwrap();
    let times: Vec<i64> = entries
        .iter()
        .map(|e| e["last_modified"].as_i64().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {all}"
    );
    let kinds: Vec<&str> = entries
        .iter()
        .map(|e| e["resource_name"].as_str().unwrap())
        .collect();
    for kind in ["bucket", "file", "data"] {
        assert!(kinds.contains(&kind), "{kinds:?}");
    }

    let (stdout, _) = job.expect(0, &["history", &id, "--resource", "file", "--json"]);
    let files = json_of(&stdout);
    assert_eq!(files.as_array().unwrap().len(), 1, "{files}");
    assert_eq!(files[0]["target"]["data"]["name"], "rain.csv");
    let (stdout, _) = job.expect(0, &["history", &id, "--limit", "1", "--json"]);
    assert_eq!(json_of(&stdout).as_array().unwrap().len(), 1);
    let (stdout, _) = job.expect(0, &["history", &id, "--since", "1h", "--all", "--json"]);
    assert_eq!(json_of(&stdout).as_array().unwrap().len(), entries.len());
    let (stdout, _) = job.expect(0, &["history", &id, "--since", "2099-01-01", "--json"]);
    assert_eq!(json_of(&stdout), json!([]));

    // tsv: no header, one line per entry: time (ms), action, resource, target, by.
    let (tsv, _) = job.expect(0, &["history", &id, "--resource", "file", "-o", "tsv"]);
    let row: Vec<&str> = tsv.trim_end().split('\t').collect();
    // The key uploaded the file: the entry names it (`key:<id>`).
    let by = format!("key:{}", &key[3..19]);
    assert_eq!(row[1..], ["create", "file", "rain.csv", &by], "{tsv}");
    assert_eq!(row[0], files[0]["last_modified"].to_string());
    // table: headers, dates, and the count under it.
    let (table, _) = job.expect(0, &["history", &id, "-o", "table"]);
    let t = lines(&table);
    assert!(
        t[0].starts_with("TIME") && t[0].contains("RESOURCE"),
        "{table}"
    );
    assert!(t[1].starts_with("20") && t[1].contains('T'), "{table}");
    assert_eq!(*t.last().unwrap(), format!("{} changes", entries.len()));
    // A bad filter is the API's refusal, its message printed.
    let (_, stderr) = job.expect(6, &["history", &id, "--action", "rename"]);
    assert!(stderr.contains("action in querystring"), "{stderr}");
}

#[test]
fn webhooks_are_created_listed_pinged_and_deleted_and_the_printed_secret_signs() {
    let (_, id, key) = owner_with_key("cli-hook-");
    let job = Job::with_key(&key);
    let receiver = Receiver::start();
    let path = "/cli-hook";
    let (stdout, _) = job.expect(
        0,
        &[
            "webhooks",
            "create",
            &id,
            "--endpoint",
            &receiver.url(path),
            "--events",
            "file.uploaded,file.deleted",
            "--glob",
            "*.csv",
            "-o",
            "tsv",
        ],
    );
    // tsv: the id and the secret, once.
    let (hook, secret) = stdout.trim_end().split_once('\t').unwrap();
    assert!(
        hook.starts_with("wh_") && secret.starts_with("whsec_"),
        "{stdout}"
    );
    receiver.secret(path, secret);

    let (stdout, _) = job.expect(0, &["webhooks", "list", &id, "--output", "json"]);
    let listed = json_of(&stdout);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], hook);
    assert_eq!(
        listed[0]["events"],
        json!(["file.uploaded", "file.deleted"])
    );
    assert!(!stdout.contains(secret), "a listing never shows the secret");
    let (table, _) = job.expect(0, &["webhooks", "ls", &id, "-o", "table"]);
    assert!(
        table.starts_with("ID ") && table.contains("*.csv"),
        "{table}"
    );
    assert!(table.ends_with("1 webhook\n"), "{table}");

    let (delivery, _) = job.expect(0, &["webhooks", "ping", &id, hook, "-o", "tsv"]);
    let got = receiver.wait_for(path, 1);
    assert_eq!(
        got[0]["verified"], true,
        "signed with the printed secret: {got:?}"
    );
    assert_eq!(got[0]["body"]["type"], "webhook.ping");
    let mut deliveries = Value::Null;
    super::wait_for(30, "the ping listed as delivered", || {
        let (stdout, _) = job.expect(0, &["webhooks", "deliveries", &id, hook, "--json"]);
        deliveries = json_of(&stdout);
        deliveries[0]["status"] == "delivered"
    });
    assert_eq!(deliveries[0]["id"], delivery.trim_end());
    assert_eq!(deliveries[0]["event"], "webhook.ping");
    let (tsv, _) = job.expect(0, &["webhooks", "deliveries", &id, hook, "-o", "tsv"]);
    let row: Vec<&str> = lines(&tsv)[0].split('\t').collect();
    assert_eq!(
        row[..4],
        [delivery.trim_end(), "webhook.ping", "delivered", "1"]
    );
    let (table, _) = job.expect(0, &["webhooks", "deliveries", &id, hook, "-o", "table"]);
    assert!(table.ends_with("1 delivery\n"), "{table}");

    let (stdout, _) = job.expect(0, &["webhooks", "delete", &id, hook]);
    assert_eq!(stdout, format!("{hook} deleted\n"));
    let (table, _) = job.expect(0, &["webhooks", "list", &id, "-o", "table"]);
    assert_eq!(table, "0 webhooks\n");
    job.expect(4, &["webhooks", "get", &id, hook]);
}

#[test]
fn listings_print_tsv_without_header_json_arrays_and_tables_with_headers() {
    let (_, id, key) = owner_with_key("cli-out-");
    let job = Job::with_key(&key);
    let dir = tempdir::Dir::new("cli-out-");
    std::fs::write(dir.path().join("a.csv"), b"1\n").unwrap();
    std::fs::write(dir.path().join("b.csv"), b"22\n").unwrap();
    job.expect(
        0,
        &["store", &id, "--dir", dir.path().to_str().unwrap(), "-q"],
    );

    // Not a terminal, no --output: what scripts read before (tab-separated, no header).
    let (plain, _) = job.expect(0, &["files", &id]);
    let (tsv, _) = job.expect(0, &["files", &id, "--output", "tsv"]);
    assert_eq!(plain, tsv);
    let rows: Vec<Vec<&str>> = lines(&tsv)
        .iter()
        .map(|l| l.split('\t').collect())
        .collect();
    assert_eq!(rows.len(), 2, "{tsv}");
    assert_eq!(rows[0][..3], ["a.csv", "2", "text/csv"]);
    assert_eq!(rows[1][..2], ["b.csv", "3"]);
    let (json, _) = job.expect(0, &["files", &id, "--output", "json"]);
    let v = json_of(&json);
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert_eq!(v[0]["name"], "a.csv");
    let (table, _) = job.expect(0, &["files", &id, "-o", "table"]);
    let t = lines(&table);
    assert!(t[0].starts_with("NAME") && t[0].contains("SIZE"), "{table}");
    assert!(t[1].starts_with("a.csv") && t[1].contains("2 B"), "{table}");
    assert_eq!(t[3], "2 files");

    // The scoped key lists exactly its bucket.
    let (ls, _) = job.expect(0, &["ls", "-o", "tsv"]);
    assert_eq!(ls.split('\t').next(), Some(id.as_str()));
    // A single object: indented JSON when piped, fields with --output tsv.
    let (info, _) = job.expect(0, &["info", &id]);
    assert_eq!(json_of(&info)["data"]["id"], id);
    let (fields, _) = job.expect(0, &["info", &id, "-o", "tsv"]);
    // The bucket's own attributes under `data.`: none poses as `permissions.…`.
    assert!(
        fields.lines().any(|l| l == format!("data.id\t{id}")),
        "{fields}"
    );
    // Counts read as words: one file, two files.
    let (summary, _) = job.expect(0, &["empty", &id, "--files"]);
    assert_eq!(summary, "2 files deleted, data kept\n");
}

#[test]
fn a_key_the_api_refuses_is_not_made_and_its_message_is_printed_as_the_api_words_it() {
    let alice = Caller::user(&unique("cli-trap-"), &["create_buckets", "edit_buckets"]);
    let id = unique("cli-trap-");
    alice.create_bucket(&id, &json!({}));
    // `create_buckets` with a scope: a scoped key never creates a bucket.
    let body = json!({"title": "trap", "privileges": ["create_buckets"],
                      "buckets": [{"id": id, "access": "write"}]});
    let answer = alice.post("/v1/keys", &body).json();
    let message = answer["message"].as_str().unwrap_or_else(|| {
        panic!("the API should refuse a scoped key with create_buckets: {answer}")
    });
    assert_eq!(answer["code"], 400, "{answer}");
    let job = with_token(alice.token.as_ref().unwrap());
    let (stdout, stderr) = job.expect(
        6,
        &[
            "keys",
            "create",
            "trap",
            "--privilege",
            "create_buckets",
            "--bucket",
            &format!("{id}:write"),
        ],
    );
    assert!(stdout.is_empty(), "no secret printed: {stdout}");
    assert_eq!(stderr, format!("buckets: {message} (400)\n"));
    let (keys, _) = job.expect(0, &["keys", "ls", "--json"]);
    assert_eq!(json_of(&keys), json!([]), "no key was made");
}
