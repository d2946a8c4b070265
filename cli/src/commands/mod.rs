//! The commands that are one or two API calls: buckets, files, data, keys, SFTP users. Each
//! prints a short human line (or a table), or the API's answer with `--json`.

mod cp;
mod data;
mod keys;
mod users;
pub use data::DataOp;
pub use keys::KeyOp;
pub use users::UserOp;

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
        Command::Cp { from, to } => cp::cp(api, &from, &to, out, mode)?,
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
        Command::Data { op } => data::data(api, op, out)?,
        Command::Keys { op } => keys::keys(api, op, out)?,
        Command::Users { op } => users::users(api, op, out)?,
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
