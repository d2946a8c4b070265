//! `buckets history`: who changed what in a bucket, newest first, with the API's filters.

use clap::Args;

use super::*;
use crate::output::time::{now_ms, parse_time};

fn time_ago(s: &str) -> Result<i64, String> {
    parse_time(s, now_ms(), true)
}

#[derive(Args)]
pub struct HistoryArgs {
    /// The bucket's id.
    pub bucket: String,
    /// Only changes after this time: ms since the epoch, `2026-12-31`, `2026-12-31T08:00:00Z`
    /// (UTC), or a duration ago: `30m`, `2h`, `7d`.
    #[arg(long, value_name = "TIME", value_parser = time_ago)]
    pub since: Option<i64>,
    /// Only changes before this time (the same forms as --since).
    #[arg(long, value_name = "TIME", value_parser = time_ago)]
    pub before: Option<i64>,
    /// Only changes of this kind of thing: bucket, data, file, webhook, key, sftp_user.
    #[arg(long, value_name = "KIND")]
    pub resource: Option<String>,
    /// Only this action: create, update or delete.
    #[arg(long)]
    pub action: Option<String>,
    /// Only what this principal did (`user:…`, `key:…`).
    #[arg(long = "user", value_name = "PRINCIPAL")]
    pub user_id: Option<String>,
    /// At most this many changes, the newest.
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub limit: usize,
    /// Every change that matches (all pages), whatever --limit says.
    #[arg(long)]
    pub all: bool,
}

/// What an entry is about, in a word: a file's or user's name, a key's or webhook's id, a
/// data revision.
fn what(entry: &Value) -> String {
    let data = &entry["target"]["data"];
    let name = ["name", "username", "id"]
        .iter()
        .find_map(|k| data[k].as_str().map(str::to_string));
    match (entry["resource_name"].as_str(), name) {
        (Some("data"), _) => match &entry["target"]["revision"] {
            Value::Null => String::new(),
            r => format!("revision {}", text(r, "")),
        },
        (_, Some(n)) => n,
        _ => entry["uri"].as_str().unwrap_or("").to_string(),
    }
}

const COLUMNS: [Col; 6] = [
    col("TIME", "/last_modified").time(),
    col("ACTION", "/action"),
    col("RESOURCE", "/resource_name"),
    col("TARGET", "").with(what),
    col("BY", "/user_id"),
    col("URI", "/uri").table_only(),
];

pub(super) fn history(api: &Api, args: HistoryArgs, out: &Out) -> Result<(), Failure> {
    let mut query = Vec::new();
    let filters = [
        ("_since", args.since.map(|t| t.to_string())),
        ("_before", args.before.map(|t| t.to_string())),
        ("resource_name", args.resource),
        ("action", args.action),
        ("user_id", args.user_id),
    ];
    for (k, v) in filters {
        if let Some(v) = v {
            query.push(format!("{k}={}", segment(&v)));
        }
    }
    let first = format!("{}/history?{}", bucket_path(&args.bucket), query.join("&"));
    let items = pages(api, first.trim_end_matches('?'), args.limit, args.all)?;
    out.list(&items, &COLUMNS, "change");
    Ok(())
}
