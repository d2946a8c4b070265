//! The commands that are one or two API calls: buckets, files, data, keys, SFTP users. Each
//! prints a short human line (or a table), or the API's answer with `--json`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Subcommand;
use serde_json::{Value, json};

use crate::Command;
use crate::api::{Api, segment};
use crate::failure::Failure;
use crate::progress::Mode;
use crate::transfer::Sync;
use crate::{fetch, store};

pub struct Out {
    pub json: bool,
    /// `--limit-rate`, for `cp`.
    pub limit_rate: Option<u64>,
}

impl Out {
    /// The answer as JSON with `--json`, else `line`.
    pub fn print(&self, v: &Value, line: &str) {
        if self.json {
            println!("{v}");
        } else if !line.is_empty() {
            println!("{line}");
        }
    }

    /// The answer as JSON with `--json`, else pretty.
    pub fn show(&self, v: &Value) {
        if self.json {
            println!("{v}");
        } else {
            println!("{}", serde_json::to_string_pretty(v).unwrap());
        }
    }

    /// Items: JSON lines' array with `--json`, else one line each from `row`.
    pub fn table(&self, items: &[Value], row: impl Fn(&Value) -> String) {
        if self.json {
            println!("{}", Value::Array(items.to_vec()));
        } else {
            for i in items {
                println!("{}", row(i));
            }
        }
    }
}

#[derive(Subcommand)]
pub enum DataOp {
    /// Print the document (`--revision N`: a kept older one).
    Get {
        bucket: String,
        #[arg(long)]
        revision: Option<u64>,
    },
    /// Replace the document with a JSON file (`-`: stdin).
    Put {
        bucket: String,
        file: PathBuf,
        /// Only if the document is still at this revision (its ETag).
        #[arg(long)]
        if_match: Option<String>,
    },
    /// Merge a JSON file into the document (top-level keys; `--merge-patch` for RFC 7396).
    Patch {
        bucket: String,
        file: PathBuf,
        #[arg(long)]
        if_match: Option<String>,
        #[arg(long)]
        merge_patch: bool,
    },
}

#[derive(Subcommand)]
pub enum KeyOp {
    /// Your API keys.
    Ls,
    /// Make a key; its secret is printed once.
    Create {
        title: String,
        /// Privileges it gets (you must hold them), e.g. `create_buckets`.
        #[arg(long = "privilege")]
        privileges: Vec<String>,
        /// Restrict it to buckets: `ID` (read) or `ID:write`.
        #[arg(long = "bucket")]
        buckets: Vec<String>,
        /// Expiry, in ms since the epoch.
        #[arg(long)]
        expires_at: Option<i64>,
    },
    /// Revoke a key.
    Rm { id: String },
}

#[derive(Subcommand)]
pub enum UserOp {
    /// A bucket's SFTP users.
    Ls { bucket: String },
    /// Add an SFTP user with public keys (files of `ssh-… AAAA…` lines).
    Add {
        bucket: String,
        username: String,
        #[arg(long = "key", required = true)]
        keys: Vec<PathBuf>,
        #[arg(long, default_value = "read")]
        access: String,
    },
    /// Remove an SFTP user.
    Rm { bucket: String, username: String },
}

fn read_file(p: &Path) -> Result<Vec<u8>, Failure> {
    if p.as_os_str() == "-" {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut b)
            .map_err(|e| Failure::io("stdin", e))?;
        Ok(b)
    } else {
        std::fs::read(p).map_err(|e| Failure::io(&p.display().to_string(), e))
    }
}

fn read_json(p: &Path) -> Result<Value, Failure> {
    serde_json::from_slice(&read_file(p)?)
        .map_err(|e| Failure::usage(format!("{}: not JSON: {e}", p.display())))
}

/// `"3"` and `"\"3\""` both mean the ETag `"3"`.
fn quoted(etag: &str) -> String {
    if etag.starts_with('"') {
        etag.to_string()
    } else {
        format!("\"{etag}\"")
    }
}

pub fn run(api: &Api, command: Command, out: &Out, mode: Mode) -> Result<(), Failure> {
    let b = |id: &str| format!("/v1/buckets/{}", segment(id));
    match command {
        Command::Ls { limit } => {
            let items = api.all_pages("/v1/buckets?_limit=1000", limit)?;
            out.table(&items, |i| {
                format!(
                    "{}\t{}",
                    i["id"].as_str().unwrap_or(""),
                    i["title"].as_str().unwrap_or("")
                )
            });
        }
        Command::Create {
            id,
            title,
            icon,
            notes,
        } => {
            let mut data = json!({});
            for (k, v) in [
                ("id", id),
                ("title", title),
                ("icon", icon),
                ("notes", notes),
            ] {
                if let Some(v) = v {
                    data[k] = json!(v);
                }
            }
            let a = api
                .send("POST", "/v1/buckets", &json!({ "data": data }))?
                .body;
            out.print(&a, a["data"]["id"].as_str().unwrap_or(""));
        }
        Command::Info { bucket } => out.show(&api.get(&b(&bucket))?.body),
        Command::Edit {
            bucket,
            title,
            icon,
            notes,
            active,
            add_reader,
            add_writer,
        } => {
            let mut data = json!({});
            for (k, v) in [("title", title), ("icon", icon), ("notes", notes)] {
                if let Some(v) = v {
                    data[k] = json!(v);
                }
            }
            if let Some(a) = active {
                data["active"] = json!(a);
            }
            let mut body = json!({ "data": data });
            if !add_reader.is_empty() || !add_writer.is_empty() {
                // Adds to the current lists (a PATCH's permissions replace a list).
                let now = api.get(&b(&bucket))?.body;
                let mut lists = now["permissions"].clone();
                for (list, add) in [("read", &add_reader), ("write", &add_writer)] {
                    let mut cur: Vec<Value> = lists[list].as_array().cloned().unwrap_or_default();
                    for p in add {
                        if !cur.contains(&json!(p)) {
                            cur.push(json!(p));
                        }
                    }
                    lists[list] = Value::Array(cur);
                }
                body["permissions"] = lists;
            }
            let a = api.send("PATCH", &b(&bucket), &body)?.body;
            out.print(&a, &format!("{bucket} updated"));
        }
        Command::Rm { bucket, yes } => {
            if !yes {
                return Err(Failure::usage(format!(
                    "deleting {bucket} deletes its data, files and users: add --yes"
                )));
            }
            let a = api.call("DELETE", &b(&bucket), None, &[])?.body;
            out.print(&a, &format!("{bucket} deleted"));
        }
        Command::Files { bucket, glob } => {
            crate::glob(&glob)?;
            let q: String = form_glob(&glob);
            let items = api.all_pages(
                &format!("{}/files?_limit=1000&glob={q}", b(&bucket)),
                usize::MAX,
            )?;
            out.table(&items, |f| {
                format!(
                    "{}\t{}\t{}\t{}",
                    f["name"].as_str().unwrap_or(""),
                    f["size"],
                    f["content_type"].as_str().unwrap_or(""),
                    f["uploaded_by"].as_str().unwrap_or("")
                )
            });
        }
        Command::Cp { from, to } => cp(api, &from, &to, out, mode)?,
        Command::RmFile { bucket, name } => {
            let a = api
                .call(
                    "DELETE",
                    &format!("{}/files/{}", b(&bucket), segment(&name)),
                    None,
                    &[],
                )?
                .body;
            out.print(&a, &format!("{name} deleted"));
        }
        Command::Versions { bucket, name } => {
            let items = api.all_pages(
                &format!("{}/files/{}/versions", b(&bucket), segment(&name)),
                usize::MAX,
            )?;
            out.table(&items, |v| {
                format!(
                    "{}\t{}\t{}",
                    v["version_id"].as_str().unwrap_or(""),
                    v["size"],
                    v["replaced"]
                )
            });
        }
        Command::Restore {
            bucket,
            name,
            version_id,
        } => {
            let a = api
                .send(
                    "POST",
                    &format!(
                        "{}/files/{}/versions/{}/restore",
                        b(&bucket),
                        segment(&name),
                        segment(&version_id)
                    ),
                    &json!({}),
                )?
                .body;
            out.print(&a, &format!("{name} restored"));
        }
        Command::Empty {
            bucket,
            files,
            data,
        } => {
            if !files && !data {
                return Err(Failure::usage("say what to empty: --files, --data or both"));
            }
            let a = api
                .send(
                    "POST",
                    &format!("{}/empty", b(&bucket)),
                    &json!({"files": files, "data": data}),
                )?
                .body;
            out.print(
                &a,
                &format!(
                    "{} files deleted, data cleared: {}",
                    a["data"]["files_deleted"], a["data"]["data_cleared"]
                ),
            );
        }
        Command::Data { op } => data(api, op, out)?,
        Command::Keys { op } => keys(api, op, out)?,
        Command::Users { op } => users(api, op, out)?,
        Command::Login { .. }
        | Command::Logout
        | Command::Fetch { .. }
        | Command::Store { .. }
        | Command::Completions { .. } => unreachable!("handled in main"),
    }
    Ok(())
}

fn form_glob(g: &str) -> String {
    segment(g)
}

fn data(api: &Api, op: DataOp, out: &Out) -> Result<(), Failure> {
    match op {
        DataOp::Get { bucket, revision } => {
            let mut path = format!("/v1/buckets/{}/data", segment(&bucket));
            if let Some(r) = revision {
                path.push_str(&format!("?revision={r}"));
            }
            let a = api.get(&path)?;
            if !out.json {
                eprintln!("revision {}", a.etag.as_deref().unwrap_or("?"));
            }
            out.show(&a.body["data"]);
        }
        DataOp::Put {
            bucket,
            file,
            if_match,
        } => {
            let doc = read_json(&file)?;
            let tag = if_match.as_deref().map(quoted);
            let headers: Vec<(&str, &str)> = tag.iter().map(|t| ("if-match", t.as_str())).collect();
            let a = api.call(
                "PUT",
                &format!("/v1/buckets/{}/data", segment(&bucket)),
                Some(&json!({ "data": doc })),
                &headers,
            )?;
            out.print(
                &a.body,
                &format!("saved, revision {}", a.etag.as_deref().unwrap_or("?")),
            );
        }
        DataOp::Patch {
            bucket,
            file,
            if_match,
            merge_patch,
        } => {
            let doc = read_json(&file)?;
            let tag = if_match.as_deref().map(quoted);
            let mut headers: Vec<(&str, &str)> =
                tag.iter().map(|t| ("if-match", t.as_str())).collect();
            let body = if merge_patch {
                headers.push(("content-type", "application/merge-patch+json"));
                json!({ "data": doc })
            } else {
                json!({ "data": doc })
            };
            let a = api.call(
                "PATCH",
                &format!("/v1/buckets/{}/data", segment(&bucket)),
                Some(&body),
                &headers,
            )?;
            out.print(
                &a.body,
                &format!("saved, revision {}", a.etag.as_deref().unwrap_or("?")),
            );
        }
    }
    Ok(())
}

fn keys(api: &Api, op: KeyOp, out: &Out) -> Result<(), Failure> {
    match op {
        KeyOp::Ls => {
            let items = api.all_pages("/v1/keys?_limit=100", usize::MAX)?;
            out.table(&items, |k| {
                format!(
                    "{}\t{}\t{}",
                    k["id"].as_str().unwrap_or(""),
                    k["title"].as_str().unwrap_or(""),
                    k["prefix"].as_str().unwrap_or("")
                )
            });
        }
        KeyOp::Create {
            title,
            privileges,
            buckets,
            expires_at,
        } => {
            let mut body = json!({"title": title, "privileges": privileges});
            if !buckets.is_empty() {
                let scope: Vec<Value> = buckets
                    .iter()
                    .map(|b| match b.rsplit_once(':') {
                        Some((id, access)) => json!({"id": id, "access": access}),
                        None => json!({"id": b, "access": "read"}),
                    })
                    .collect();
                body["buckets"] = Value::Array(scope);
            }
            if let Some(e) = expires_at {
                body["expires_at"] = json!(e);
            }
            let a = api.send("POST", "/v1/keys", &body)?.body;
            out.print(&a, a["secret"].as_str().unwrap_or(""));
        }
        KeyOp::Rm { id } => {
            let a = api
                .call("DELETE", &format!("/v1/keys/{}", segment(&id)), None, &[])?
                .body;
            out.print(&a, &format!("{id} revoked"));
        }
    }
    Ok(())
}

fn users(api: &Api, op: UserOp, out: &Out) -> Result<(), Failure> {
    match op {
        UserOp::Ls { bucket } => {
            let items = api.all_pages(
                &format!("/v1/buckets/{}/users", segment(&bucket)),
                usize::MAX,
            )?;
            out.table(&items, |u| {
                format!(
                    "{}\t{}\t{}",
                    u["username"].as_str().unwrap_or(""),
                    u["login"].as_str().unwrap_or(""),
                    u["access"].as_str().unwrap_or("")
                )
            });
        }
        UserOp::Add {
            bucket,
            username,
            keys,
            access,
        } => {
            let mut lines = Vec::new();
            for k in keys {
                let text = String::from_utf8_lossy(&read_file(&k)?).to_string();
                lines.extend(
                    text.lines()
                        .filter(|l| !l.trim().is_empty())
                        .map(|l| json!(l.trim())),
                );
            }
            let a = api
                .send(
                    "POST",
                    &format!("/v1/buckets/{}/users", segment(&bucket)),
                    &json!({"username": username, "ssh_public_keys": lines, "access": access}),
                )?
                .body;
            out.print(
                &a,
                &format!(
                    "sftp login {} at {}",
                    a["data"]["login"].as_str().unwrap_or(""),
                    a["data"]["host"].as_str().unwrap_or("")
                ),
            );
        }
        UserOp::Rm { bucket, username } => {
            let a = api
                .call(
                    "DELETE",
                    &format!(
                        "/v1/buckets/{}/users/{}",
                        segment(&bucket),
                        segment(&username)
                    ),
                    None,
                    &[],
                )?
                .body;
            out.print(&a, &format!("{username} removed"));
        }
    }
    Ok(())
}

/// `cp LOCAL BUCKET:[name]` uploads (through `store`, so with its checksum, multipart and
/// waiting); `cp BUCKET:name LOCAL` downloads (through `fetch`, verified).
fn cp(api: &Api, from: &str, to: &str, out: &Out, mode: Mode) -> Result<(), Failure> {
    let remote = |s: &str| -> Option<(String, String)> {
        let (b, n) = s.split_once(':')?;
        (!b.is_empty() && !b.contains('/')).then(|| (b.to_string(), n.to_string()))
    };
    if let Some((bucket, name)) = remote(from) {
        if name.is_empty() {
            return Err(Failure::usage("cp BUCKET:NAME LOCAL: name the file"));
        }
        let dest = PathBuf::from(to);
        let (dir, rename) = if to.ends_with('/') || dest.is_dir() {
            (dest, None)
        } else {
            let dir = dest
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from("."));
            (dir, Some(dest))
        };
        fetch::fetch(
            api,
            fetch::FetchArgs {
                bucket,
                sync: Sync::Files,
                glob: globset::escape(&name),
                dir: Some(dir.clone()),
                data_out: None,
                parallel: 1,
                json: out.json,
                limit_rate: out.limit_rate,
            },
            mode,
        )?;
        if let Some(dest) = rename {
            let got = dir.join(&name);
            if got != dest {
                std::fs::rename(&got, &dest)
                    .map_err(|e| Failure::io(&dest.display().to_string(), e))?;
            }
        }
        return Ok(());
    }
    let Some((bucket, name)) = remote(to) else {
        return Err(Failure::usage(
            "cp: one side is BUCKET:NAME (cp ./a.csv reports: or cp reports:a.csv ./a.csv)",
        ));
    };
    let path = PathBuf::from(from);
    let file_name = path
        .file_name()
        .ok_or_else(|| Failure::usage(format!("{from}: not a file")))?
        .to_string_lossy()
        .to_string();
    if !name.is_empty() && rules::names::normalize(&name) != rules::names::normalize(&file_name) {
        return Err(Failure::usage(
            "cp: the bucket's file takes the local file's name (rename it locally first)",
        ));
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    store::store(
        api,
        store::StoreArgs {
            bucket,
            sync: Some(Sync::Files),
            glob: crate::glob(&globset::escape(&file_name))?,
            dir,
            data: None,
            parallel: 8,
            wait: Duration::from_secs(300),
            json: out.json,
            limit_rate: out.limit_rate,
        },
        mode,
    )
}
