//! `buckets users`: a bucket's SFTP users.

use super::*;

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

pub(super) fn users(api: &Api, op: UserOp, out: &Out) -> Result<(), Failure> {
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
