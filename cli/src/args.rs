//! The command line as clap reads it: the global options (under their own heading in every
//! command's `--help`) and the commands. Each command's examples are in `examples`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::commands::{DataOp, KeyOp, UserOp, WebhookOp};
use crate::examples as ex;
use crate::output::Format;
use crate::transfer::Sync;

pub const GLOBAL: &str = "Global options";

#[derive(Parser)]
#[command(
    name = "buckets",
    version,
    about = "Buckets from the command line: fetch and store for jobs, and everything else for people.",
    after_help = ex::TOP
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// What every command takes: where the API is, who calls it, how answers print.
#[derive(Args)]
pub struct Global {
    /// The API's base URL (`GET <URL>/v1/` answers); default: the one `buckets login` stored.
    #[arg(long, env = "BUCKETS_URL", global = true, help_heading = GLOBAL, value_name = "URL")]
    pub url: Option<String>,
    /// Act with this API key (`bk_…`): for jobs and scripts.
    #[arg(long, env = "BUCKETS_API_KEY", global = true, hide_env_values = true, help_heading = GLOBAL, value_name = "KEY")]
    pub api_key: Option<String>,
    /// Act with this bearer token (a JWT from the identity provider).
    #[arg(long, env = "BUCKETS_TOKEN", global = true, hide_env_values = true, help_heading = GLOBAL, value_name = "JWT")]
    pub token: Option<String>,
    /// Send no credentials, whatever key or token is set: read what everyone may read (a
    /// public bucket).
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub anonymous: bool,
    /// How answers print [default: table on a terminal, else tsv (single objects: JSON)].
    #[arg(long, short = 'o', env = "BUCKETS_OUTPUT", value_enum, global = true, help_heading = GLOBAL, value_name = "FORMAT")]
    pub output: Option<Format>,
    /// The same as --output json (answers, and the transfer summary of fetch and store).
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub json: bool,
    /// No progress and no lines but errors.
    #[arg(long, short, global = true, help_heading = GLOBAL)]
    pub quiet: bool,
}

impl Global {
    pub fn format(&self) -> Option<Format> {
        if self.json {
            Some(Format::Json)
        } else {
            self.output
        }
    }
}

/// `--parallel` and `--limit-rate` of the commands that move files.
#[derive(Args, Clone, Copy)]
pub struct Transfer {
    /// How many files (or parts of one large file) move at once.
    #[arg(long, short = 'j', default_value_t = 8, value_name = "N")]
    pub parallel: usize,
    /// Cap all transfers together at this rate, in bytes/s (K, M, G suffixes: 500K, 10M).
    #[arg(long, value_parser = parse_rate, value_name = "RATE")]
    pub limit_rate: Option<u64>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Sign in through the sign-in the API advertises (user name and password), or store an
    /// API key; cached in the config file with its refresh token.
    #[command(after_help = ex::LOGIN)]
    Login {
        /// The user name (else prompted).
        #[arg(long)]
        user: Option<String>,
        /// Read the password from stdin's first line (else BUCKETS_PASSWORD, else prompted).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Forget the cached sign-in (token or key) of the config file.
    #[command(after_help = ex::LOGOUT)]
    Logout,
    /// Who the commands act as: the user, the credential (key or token) and what it may do.
    #[command(after_help = ex::WHOAMI)]
    Whoami,
    /// List the buckets you can read.
    #[command(after_help = ex::LS)]
    Ls {
        /// At most this many buckets.
        #[arg(long, default_value_t = 1000, value_name = "N")]
        limit: usize,
    },
    /// Create a bucket (a generated id unless given); prints its id.
    #[command(after_help = ex::CREATE)]
    Create {
        /// The new bucket's id (letters, digits, `-`, `_`); default: one generated.
        id: Option<String>,
        #[command(flatten)]
        attributes: Attributes,
    },
    /// Show a bucket: its attributes and permissions.
    #[command(after_help = ex::INFO)]
    Info {
        /// The bucket's id.
        bucket: String,
    },
    /// Change a bucket's attributes, or add and remove readers and writers (in one change).
    #[command(after_help = ex::EDIT)]
    Edit {
        /// The bucket's id.
        bucket: String,
        #[command(flatten)]
        attributes: Attributes,
        /// Turn the bucket on or off (an inactive bucket grants no uploads or downloads).
        #[arg(long, value_name = "true|false")]
        active: Option<bool>,
        #[command(flatten)]
        access: Access,
    },
    /// Delete a bucket, its data, files, webhooks and SFTP users.
    #[command(after_help = ex::RM)]
    Rm {
        /// The bucket's id.
        bucket: String,
        /// Required: deleting cannot be undone.
        #[arg(long)]
        yes: bool,
    },
    /// List a bucket's files.
    #[command(after_help = ex::FILES)]
    Files {
        /// The bucket's id.
        bucket: String,
        /// Only the files whose name matches this glob.
        #[arg(long, default_value = "*")]
        glob: String,
    },
    /// Copy one file between the disk and a bucket (checksummed, multipart when large).
    #[command(after_help = ex::CP)]
    Cp {
        /// A local file to upload, or `BUCKET:NAME` to download.
        from: String,
        /// `BUCKET:` to upload into, or a local path (file or directory) to download to.
        to: String,
        /// Cap the transfer at this rate, in bytes/s (K, M, G suffixes: 500K, 10M).
        #[arg(long, value_parser = parse_rate, value_name = "RATE")]
        limit_rate: Option<u64>,
    },
    /// Delete one file (and its kept versions).
    #[command(after_help = ex::RM_FILE)]
    RmFile {
        /// The bucket's id.
        bucket: String,
        /// The file's name.
        name: String,
    },
    /// List a file's kept versions (replaced ones, restorable).
    #[command(after_help = ex::VERSIONS)]
    Versions {
        /// The bucket's id.
        bucket: String,
        /// The file's name.
        name: String,
    },
    /// Make a kept version of a file current again.
    #[command(after_help = ex::RESTORE)]
    Restore {
        /// The bucket's id.
        bucket: String,
        /// The file's name.
        name: String,
        /// The version to restore (a VERSION of `buckets versions`).
        version_id: String,
    },
    /// Delete every file and/or clear the data document.
    #[command(after_help = ex::EMPTY)]
    Empty {
        /// The bucket's id.
        bucket: String,
        /// Delete every file.
        #[arg(long)]
        files: bool,
        /// Clear the data document.
        #[arg(long)]
        data: bool,
    },
    /// A bucket's data document: get, put, patch.
    #[command(after_help = ex::DATA)]
    Data {
        #[command(subcommand)]
        op: DataOp,
    },
    /// A bucket's history: who changed what, newest first.
    #[command(after_help = ex::HISTORY)]
    History(crate::commands::HistoryArgs),
    /// Your API keys: list, create (the secret is printed once), revoke.
    #[command(after_help = ex::KEYS)]
    Keys {
        #[command(subcommand)]
        op: KeyOp,
    },
    /// A bucket's SFTP users.
    #[command(after_help = ex::USERS)]
    Users {
        #[command(subcommand)]
        op: UserOp,
    },
    /// A bucket's webhooks and their deliveries.
    #[command(after_help = ex::WEBHOOKS)]
    Webhooks {
        #[command(subcommand)]
        op: WebhookOp,
    },
    /// Fetch a bucket's data and matching files into a directory (skips files present with
    /// the same checksum; every download verified).
    #[command(after_help = ex::FETCH)]
    Fetch {
        /// The bucket's id.
        bucket: String,
        /// What to fetch.
        #[arg(long, value_enum, default_value = "data_and_files")]
        sync: Sync,
        /// Only the files whose name matches this glob.
        #[arg(long, default_value = "*")]
        glob: String,
        /// The directory (default: the current one; the data then goes to stdout).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Where the data goes (`-`: stdout; default `<dir>/data.json`).
        #[arg(long = "data-out", value_name = "FILE")]
        data_out: Option<PathBuf>,
        #[command(flatten)]
        transfer: Transfer,
    },
    /// Store a directory's matching files (and a data document) into a bucket; waits until
    /// each upload is recorded; a re-run sends only what is missing.
    #[command(after_help = ex::STORE)]
    Store {
        /// The bucket's id.
        bucket: String,
        /// What to store [default: data_and_files with --data, else files].
        #[arg(long, value_enum)]
        sync: Option<Sync>,
        /// Only the files whose name matches this glob.
        #[arg(long, default_value = "*")]
        glob: String,
        /// The directory whose top-level files are stored.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// A JSON object merged into the data document (`-`: stdin).
        #[arg(long, value_name = "FILE")]
        data: Option<PathBuf>,
        /// How long to wait for the uploads to be recorded, in seconds.
        #[arg(long, default_value_t = 300, value_name = "SECONDS")]
        wait: u64,
        #[command(flatten)]
        transfer: Transfer,
    },
    /// Print shell completions.
    #[command(after_help = ex::COMPLETIONS)]
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
}

/// `1000`, `500K`, `10M`, `1G` (powers of 1024) → bytes per second.
pub fn parse_rate(s: &str) -> Result<u64, String> {
    let (num, mult) = match s.chars().last() {
        Some('k' | 'K') => (&s[..s.len() - 1], 1024),
        Some('m' | 'M') => (&s[..s.len() - 1], 1024 * 1024),
        Some('g' | 'G') => (&s[..s.len() - 1], 1024 * 1024 * 1024),
        _ => (s, 1),
    };
    num.parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("{s:?} is not a rate such as 500K or 10M"))
}

/// The attributes people give a bucket, when creating it or changing it.
#[derive(clap::Args, Debug)]
pub struct Attributes {
    /// The title people see.
    #[arg(long)]
    pub title: Option<String>,
    /// An icon (an emoji or a short text).
    #[arg(long)]
    pub icon: Option<String>,
    /// Free notes about the bucket.
    #[arg(long)]
    pub notes: Option<String>,
}

impl Attributes {
    /// The attributes given, as the bucket's `data` fields (those left out are not sent).
    pub fn fields(self) -> [(&'static str, Option<String>); 3] {
        [
            ("title", self.title),
            ("icon", self.icon),
            ("notes", self.notes),
        ]
    }
}

/// Readers and writers a bucket's edit adds or takes off its lists.
#[derive(clap::Args, Debug, Default)]
pub struct Access {
    /// A principal who may read it (`user:bob`, `key:<id>`, `system.Authenticated`); repeatable.
    #[arg(long = "add-reader", value_name = "PRINCIPAL")]
    pub add_reader: Vec<String>,
    /// A principal who may write it; repeatable.
    #[arg(long = "add-writer", value_name = "PRINCIPAL")]
    pub add_writer: Vec<String>,
    /// A principal who may no longer read it (one not in the list is no error); repeatable.
    #[arg(long = "remove-reader", value_name = "PRINCIPAL")]
    pub remove_reader: Vec<String>,
    /// A principal who may no longer write it (the bucket's owner always stays); repeatable.
    #[arg(long = "remove-writer", value_name = "PRINCIPAL")]
    pub remove_writer: Vec<String>,
}
