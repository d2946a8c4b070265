//! `buckets keys`: the caller's API keys.

use super::*;

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

pub(super) fn keys(api: &Api, op: KeyOp, out: &Out) -> Result<(), Failure> {
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
