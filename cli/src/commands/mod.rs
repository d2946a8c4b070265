//! The commands that are one or a few API calls: buckets, files, data, history, keys, SFTP
//! users, webhooks, whoami. Each prints a short human line, a table, or the API's answer
//! (`output`).

mod buckets;
mod cp;
mod data;
mod files;
mod history;
mod keys;
mod users;
mod webhooks;
mod whoami;
pub use cp::{Job as CpJob, cp};
pub use data::DataOp;
pub use history::HistoryArgs;
pub use keys::KeyOp;
pub use users::UserOp;
pub use webhooks::WebhookOp;

use std::path::{Path, PathBuf};

use clap::Subcommand;
use serde_json::{Value, json};

use crate::api::{Api, segment};
use crate::args::Command;
use crate::failure::Failure;
use crate::output::{Col, Out, col, text};

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

/// `/v1/buckets/{id}`.
fn bucket_path(id: &str) -> String {
    format!("/v1/buckets/{}", segment(id))
}

/// A JSON object of the options given (`None`s left out).
fn fields<const N: usize>(pairs: [(&str, Option<String>); N]) -> Value {
    let mut data = json!({});
    for (k, v) in pairs {
        if let Some(v) = v {
            data[k] = json!(v);
        }
    }
    data
}

/// Pages of `first` until `limit` items (or every page with `all`), at most 1,000 a call.
fn pages(api: &Api, first: &str, limit: usize, all: bool) -> Result<Vec<Value>, Failure> {
    let max = if all { usize::MAX } else { limit };
    let sep = if first.contains('?') { '&' } else { '?' };
    api.all_pages(&format!("{first}{sep}_limit={}", max.clamp(1, 1000)), max)
}

pub fn run(api: &Api, command: Command, out: &Out) -> Result<(), Failure> {
    match command {
        Command::Whoami => whoami::whoami(api, out),
        Command::Ls { limit } => buckets::ls(api, limit, out),
        Command::Create { id, attributes } => {
            buckets::create(api, id, fields(attributes.fields()), out)
        }
        Command::Info { bucket } => {
            out.show(&api.get(&bucket_path(&bucket))?.body);
            Ok(())
        }
        Command::Edit {
            bucket,
            attributes,
            active,
            access,
        } => {
            let mut data = fields(attributes.fields());
            if let Some(a) = active {
                data["active"] = json!(a);
            }
            buckets::edit(api, &bucket, &data, &access, out)
        }
        Command::Rm { bucket, yes } => buckets::rm(api, &bucket, yes, out),
        Command::Empty {
            bucket,
            files,
            data,
        } => buckets::empty(api, &bucket, files, data, out),
        Command::Files { bucket, glob } => files::list(api, &bucket, &glob, out),
        Command::RmFile { bucket, name } => files::rm(api, &bucket, &name, out),
        Command::Versions { bucket, name } => files::versions(api, &bucket, &name, out),
        Command::Restore {
            bucket,
            name,
            version_id,
        } => files::restore(api, &bucket, &name, &version_id, out),
        Command::Data { op } => data::data(api, op, out),
        Command::History(args) => history::history(api, args, out),
        Command::Keys { op } => keys::keys(api, op, out),
        Command::Users { op } => users::users(api, op, out),
        Command::Webhooks { op } => webhooks::webhooks(api, op, out),
        Command::Login { .. }
        | Command::Logout
        | Command::Cp { .. }
        | Command::Fetch { .. }
        | Command::Store { .. }
        | Command::Completions { .. } => unreachable!("handled in main"),
    }
}
