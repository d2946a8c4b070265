//! `buckets users`: a bucket's SFTP users.

use super::*;

#[derive(Subcommand)]
pub enum UserOp {
    /// List a bucket's SFTP users.
    #[command(
        visible_alias = "list",
        after_help = "Examples:\n  buckets users ls reports"
    )]
    Ls {
        /// The bucket's id.
        bucket: String,
    },
    /// Add an SFTP user with public keys; prints its login and host.
    #[command(after_help = "Examples:
  buckets users add reports partner --key ~/.ssh/id_ed25519.pub
  buckets users add reports uploader --key keys.pub --access write")]
    Add {
        /// The bucket's id.
        bucket: String,
        /// The user's name within the bucket.
        username: String,
        /// A file of public keys (`ssh-ed25519 AAAA…` lines; `-`: stdin); repeatable.
        #[arg(long = "key", required = true, value_name = "FILE")]
        keys: Vec<PathBuf>,
        /// What the user may do: `read` (download) or `write` (upload too).
        #[arg(long, default_value = "read")]
        access: String,
    },
    /// Remove an SFTP user.
    #[command(
        visible_alias = "delete",
        after_help = "Examples:\n  buckets users rm reports partner"
    )]
    Rm {
        /// The bucket's id.
        bucket: String,
        /// The user's name within the bucket.
        username: String,
    },
}

pub(super) fn users(api: &Api, op: UserOp, out: &Out) -> Result<(), Failure> {
    match op {
        UserOp::Ls { bucket } => {
            let items = api.all_pages(
                &format!("/v1/buckets/{}/users", segment(&bucket)),
                usize::MAX,
            )?;
            const COLUMNS: [Col; 4] = [
                col("USER", "/username"),
                col("LOGIN", "/login"),
                col("ACCESS", "/access"),
                col("HOST", "/host").table_only(),
            ];
            out.list(&items, &COLUMNS, "SFTP user");
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
