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
    /// Add an SFTP user with public keys; prints the `sftp` command that signs it in.
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
                &sftp_command(
                    a["data"]["login"].as_str().unwrap_or(""),
                    a["data"]["host"].as_str().unwrap_or(""),
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

/// The command that signs `login` in at `host` (`host:port`; `-P` unless the port is 22):
/// `sftp -P 2222 reports.partner@127.0.0.1`.
fn sftp_command(login: &str, host: &str) -> String {
    let (name, port) = match host.rsplit_once(':') {
        // A port, not a bare IPv6 address (`::1`); `[::1]:2222` has one.
        Some((name, port))
            if !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && (name.ends_with(']') || !name.contains(':')) =>
        {
            (name, Some(port))
        }
        _ => (host, None),
    };
    match port {
        Some(p) if p != "22" => format!("sftp -P {p} {login}@{name}"),
        _ => format!("sftp {login}@{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_is_the_sftp_command_that_works() {
        let cmd = |host| sftp_command("reports.partner", host);
        assert_eq!(
            cmd("127.0.0.1:2222"),
            "sftp -P 2222 reports.partner@127.0.0.1"
        );
        assert_eq!(
            cmd("s-1234.server.transfer.us-east-1.amazonaws.com"),
            "sftp reports.partner@s-1234.server.transfer.us-east-1.amazonaws.com"
        );
        assert_eq!(
            cmd("sftp.example.com:22"),
            "sftp reports.partner@sftp.example.com"
        );
        assert_eq!(cmd("[::1]:2222"), "sftp -P 2222 reports.partner@[::1]");
        assert_eq!(cmd("::1"), "sftp reports.partner@::1");
    }
}
