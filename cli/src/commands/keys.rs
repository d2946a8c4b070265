//! `buckets keys`: the caller's API keys.

use super::*;
use crate::output::time::{now_ms, parse_duration, parse_time};

#[derive(Subcommand)]
pub enum KeyOp {
    /// List your API keys.
    #[command(
        visible_alias = "list",
        after_help = "Examples:\n  buckets keys ls\n  buckets keys ls --output json"
    )]
    Ls,
    /// Show one key: its privileges, scope, expiry, last use.
    #[command(after_help = "Examples:\n  buckets keys get 3f0c9a1b2c3d4e5f")]
    Get {
        /// The key's id (the 16 hex digits after `bk_`).
        id: String,
    },
    /// Make a key; its secret is printed once. The API refuses (exit 6, its message printed) a
    /// key that could never do what it asks.
    #[command(after_help = "Examples:
  buckets keys create 'nightly export' --bucket reports:write --expires-in 90d
  buckets keys create 'reader' --bucket reports --bucket archive
  buckets keys create 'bucket maker' --privilege create_buckets --expires-at 2027-01-01
  KEY=$(buckets keys create job --bucket reports:write --output tsv)   the secret alone")]
    Create {
        /// A title to recognise it by.
        title: String,
        /// A privilege it gets (you must hold it), e.g. `create_buckets`; repeatable.
        #[arg(long = "privilege", value_name = "PRIVILEGE")]
        privileges: Vec<String>,
        /// Restrict it to a bucket: `ID` (read) or `ID:write`; repeatable. A scoped key reaches
        /// nothing else and creates no buckets.
        #[arg(long = "bucket", value_name = "ID[:read|write]")]
        buckets: Vec<String>,
        /// When it stops working: ms since the epoch, `2027-01-01` or `2027-01-01T00:00:00Z`.
        #[arg(long, value_name = "TIME", value_parser = |s: &str| parse_time(s, now_ms(), false))]
        expires_at: Option<i64>,
        /// When it stops working, from now: `12h`, `30d`, `2w`.
        #[arg(long, value_name = "DURATION", conflicts_with = "expires_at", value_parser = |s: &str| parse_duration(s).ok_or(format!("{s:?} is not a duration such as 12h or 30d")))]
        expires_in: Option<i64>,
    },
    /// Revoke a key: the next request with it is refused.
    #[command(visible_aliases = ["delete", "revoke"], after_help = "Examples:\n  buckets keys rm 3f0c9a1b2c3d4e5f")]
    Rm {
        /// The key's id (the 16 hex digits after `bk_`).
        id: String,
    },
}

/// A key's scope as `id:access` items, or `all` (no scope: whatever its owner reaches).
pub(super) fn scope(v: &Value) -> String {
    match v.as_array() {
        None => "all".into(),
        Some(items) => items
            .iter()
            .map(|b| {
                format!(
                    "{}:{}",
                    b["id"].as_str().unwrap_or(""),
                    b["access"].as_str().unwrap_or("")
                )
            })
            .collect::<Vec<_>>()
            .join(","),
    }
}

const COLUMNS: [Col; 7] = [
    col("ID", "/id"),
    col("TITLE", "/title"),
    col("PREFIX", "/prefix"),
    col("PRIVILEGES", "/privileges").table_only(),
    col("SCOPE", "/buckets").with(scope).table_only(),
    col("EXPIRES", "/expires_at").time().table_only(),
    col("LAST USED", "/last_used").time().table_only(),
];

fn key_path(id: &str) -> String {
    format!("/v1/keys/{}", segment(id))
}

pub(super) fn keys(api: &Api, op: KeyOp, out: &Out) -> Result<(), Failure> {
    match op {
        KeyOp::Ls => {
            let items = api.all_pages("/v1/keys?_limit=100", usize::MAX)?;
            out.list(&items, &COLUMNS, "key");
        }
        KeyOp::Get { id } => out.show(&api.get(&key_path(&id))?.body),
        KeyOp::Create {
            title,
            privileges,
            buckets,
            expires_at,
            expires_in,
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
            if let Some(e) = expires_at.or(expires_in.map(|d| now_ms() + d)) {
                body["expires_at"] = json!(e);
            }
            let a = api.send("POST", "/v1/keys", &body)?.body;
            let secret = a["secret"].as_str().unwrap_or("");
            let told = format!(
                "Key {} ({}) created, scope {}.\nIts secret, shown only this once (keep it now):\n{secret}",
                a["data"]["id"].as_str().unwrap_or(""),
                a["data"]["title"].as_str().unwrap_or(""),
                scope(&a["data"]["buckets"])
            );
            out.print_as(&a, &told, secret);
        }
        KeyOp::Rm { id } => {
            let a = api.call("DELETE", &key_path(&id), None, &[])?.body;
            out.print(&a, &format!("{id} revoked"));
        }
    }
    Ok(())
}
