//! `buckets`: the command line for Buckets. A job stores its outputs with one command and the
//! next job fetches them with another; people manage buckets, files, data, keys and SFTP users.
//! Exit codes: see `failure::Exit` (and `buckets --help`).

mod api;
mod checksum;
mod commands;
mod config;
mod failure;
mod fetch;
mod pool;
mod progress;
mod store;
mod transfer;

use std::path::PathBuf;
use std::time::Duration;

use clap::{CommandFactory, Parser, Subcommand};

use crate::failure::Failure;
use crate::transfer::Sync;

const EXIT_CODES: &str = "Exit codes: 0 done; 1 some files refused or failed (each named); \
2 bad arguments or configuration; 3 not signed in or not allowed (401/403); 4 not found (404); \
5 precondition failed (412, --if-match); 6 other refusal by the API (4xx); 7 API or S3 unreachable or 5xx.";

#[derive(Parser)]
#[command(name = "buckets", version, about = "Buckets from the command line: fetch and store for jobs, and everything else for people.", after_help = EXIT_CODES)]
struct Cli {
    /// The API's base URL (as `GET /v1/` is served under it).
    #[arg(long, env = "BUCKETS_URL", global = true)]
    url: Option<String>,
    /// An API key (`bk_…`), for jobs and scripts.
    #[arg(long, env = "BUCKETS_API_KEY", global = true, hide_env_values = true)]
    api_key: Option<String>,
    /// A bearer token (a JWT from the identity provider).
    #[arg(long, env = "BUCKETS_TOKEN", global = true, hide_env_values = true)]
    token: Option<String>,
    /// Print answers and summaries as JSON on stdout.
    #[arg(long, global = true)]
    json: bool,
    /// No progress and no lines but errors.
    #[arg(long, short, global = true)]
    quiet: bool,
    /// Cap all transfers together at this rate (bytes/s; K, M, G suffixes: `--limit-rate 10M`).
    #[arg(long, global = true, value_parser = parse_rate)]
    limit_rate: Option<u64>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Sign in through the sign-in the API advertises (user name and password), or store an
    /// API key; cached in the config file with its refresh token.
    Login {
        #[arg(long)]
        user: Option<String>,
        /// The password on stdin's first line (else prompted, or BUCKETS_PASSWORD).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Forget the cached sign-in.
    Logout,
    /// List the buckets you can read.
    Ls {
        #[arg(long, default_value_t = 1000)]
        limit: usize,
    },
    /// Create a bucket (a generated id unless given).
    Create {
        id: Option<String>,
        #[arg(long)]
        title: Option<String>,
        #[arg(long)]
        icon: Option<String>,
        #[arg(long)]
        notes: Option<String>,
    },
    /// Show a bucket.
    Info { bucket: String },
    /// Change a bucket's attributes.
    Edit {
        bucket: String,
        #[arg(long)]
        title: Option<String>,
        #[arg(long)]
        icon: Option<String>,
        #[arg(long)]
        notes: Option<String>,
        #[arg(long)]
        active: Option<bool>,
        /// Readers to add (principals such as `user:bob`, `system.Authenticated`).
        #[arg(long = "add-reader")]
        add_reader: Vec<String>,
        #[arg(long = "add-writer")]
        add_writer: Vec<String>,
    },
    /// Delete a bucket, its data, files and users.
    Rm {
        bucket: String,
        /// Required: deleting cannot be undone.
        #[arg(long)]
        yes: bool,
    },
    /// List a bucket's files.
    Files {
        bucket: String,
        #[arg(long, default_value = "*")]
        glob: String,
    },
    /// Copy one file: `buckets cp ./a.csv BUCKET:` (upload) or `buckets cp BUCKET:a.csv ./a.csv`.
    Cp { from: String, to: String },
    /// Delete one file (and its kept versions).
    RmFile { bucket: String, name: String },
    /// A file's kept versions.
    Versions { bucket: String, name: String },
    /// Make a kept version current again.
    Restore {
        bucket: String,
        name: String,
        version_id: String,
    },
    /// Delete every file and/or clear the data.
    Empty {
        bucket: String,
        #[arg(long)]
        files: bool,
        #[arg(long)]
        data: bool,
    },
    /// The data document.
    Data {
        #[command(subcommand)]
        op: commands::DataOp,
    },
    /// API keys.
    Keys {
        #[command(subcommand)]
        op: commands::KeyOp,
    },
    /// A bucket's SFTP users.
    Users {
        #[command(subcommand)]
        op: commands::UserOp,
    },
    /// Fetch a bucket's data and matching files into a directory (skips files present with
    /// the same checksum; every download verified).
    Fetch {
        bucket: String,
        #[arg(long, value_enum, default_value = "data_and_files")]
        sync: Sync,
        #[arg(long, default_value = "*")]
        glob: String,
        /// The directory (default: the current one; the data then goes to stdout).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Where the data goes (`-`: stdout; default `<dir>/data.json`).
        #[arg(long = "data-out")]
        data_out: Option<PathBuf>,
        #[arg(long, short = 'j', default_value_t = 8)]
        parallel: usize,
    },
    /// Store a directory's matching files (and a data document) into a bucket; waits until
    /// each upload is recorded; a re-run sends only what is missing.
    Store {
        bucket: String,
        /// Default: data_and_files with --data, else files.
        #[arg(long, value_enum)]
        sync: Option<Sync>,
        #[arg(long, default_value = "*")]
        glob: String,
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// A JSON object merged into the data document (`-`: stdin).
        #[arg(long)]
        data: Option<PathBuf>,
        #[arg(long, short = 'j', default_value_t = 8)]
        parallel: usize,
        /// How long to wait for the uploads to be recorded, in seconds.
        #[arg(long, default_value_t = 300)]
        wait: u64,
    },
    /// Shell completions: `buckets completions bash > /etc/bash_completion.d/buckets`.
    Completions { shell: clap_complete::Shell },
}

fn main() {
    let cli = Cli::parse();
    if let Err(f) = run(cli) {
        eprintln!("buckets: {}", f.message);
        std::process::exit(f.exit as i32);
    }
}

/// `1000`, `500K`, `10M`, `1G` (powers of 1024) → bytes per second.
fn parse_rate(s: &str) -> Result<u64, String> {
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

/// The glob as the API reads it (`rules::glob`: its semantics and bounds).
fn glob(g: &str) -> Result<globset::GlobMatcher, Failure> {
    rules::glob::matcher(Some(g)).map_err(|why| Failure::usage(format!("--glob {g:?} {why}")))
}

fn run(cli: Cli) -> Result<(), Failure> {
    let mode = progress::Mode::pick(cli.quiet, cli.json);
    let out = commands::Out {
        json: cli.json,
        limit_rate: cli.limit_rate,
    };
    let connect = || config::connect(cli.url.clone(), cli.api_key.clone(), cli.token.clone());
    match cli.command {
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "buckets",
                &mut std::io::stdout(),
            );
            Ok(())
        }
        Command::Login {
            user,
            password_stdin,
        } => {
            let url = cli
                .url
                .clone()
                .or_else(|| config::read_config()["url"].as_str().map(str::to_string))
                .ok_or_else(|| Failure::usage("give --url (or BUCKETS_URL)"))?;
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .map_err(|e| Failure::io("stdin", e))?;
                Some(line.trim_end_matches(['\r', '\n']).to_string())
            } else {
                std::env::var("BUCKETS_PASSWORD").ok()
            };
            let who = config::login(&url, user, password, cli.api_key.clone())?;
            out.print(&who, &format!("signed in to {url}"));
            Ok(())
        }
        Command::Logout => config::logout(),
        Command::Fetch {
            bucket,
            sync,
            glob: g,
            dir,
            data_out,
            parallel,
        } => {
            glob(&g)?;
            fetch::fetch(
                &connect()?,
                fetch::FetchArgs {
                    bucket,
                    sync,
                    glob: g,
                    dir,
                    data_out,
                    parallel,
                    json: cli.json,
                    limit_rate: cli.limit_rate,
                },
                mode,
            )
        }
        Command::Store {
            bucket,
            sync,
            glob: g,
            dir,
            data,
            parallel,
            wait,
        } => store::store(
            &connect()?,
            store::StoreArgs {
                bucket,
                sync,
                glob: glob(&g)?,
                dir,
                data,
                parallel,
                wait: Duration::from_secs(wait),
                json: cli.json,
                limit_rate: cli.limit_rate,
            },
            mode,
        ),
        other => commands::run(&connect()?, other, &out, mode),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn rates_parse_with_suffixes() {
        assert_eq!(super::parse_rate("10M"), Ok(10 * 1024 * 1024));
        assert_eq!(super::parse_rate("512k"), Ok(512 * 1024));
        assert_eq!(super::parse_rate("100"), Ok(100));
        assert!(super::parse_rate("0").is_err() && super::parse_rate("fast").is_err());
    }
}
