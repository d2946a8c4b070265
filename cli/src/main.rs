//! `buckets`: the command line for Buckets. A job stores its outputs with one command and the
//! next job fetches them with another; people manage buckets, files, data, keys, webhooks and
//! SFTP users. Exit codes: see `failure::Exit` (and `buckets --help`).

mod api;
mod args;
mod checksum;
mod commands;
mod config;
mod examples;
mod failure;
mod fetch;
mod fresh;
mod output;
mod pool;
mod progress;
mod store;
mod transfer;

use std::time::Duration;

use clap::{CommandFactory, Parser};

use crate::args::{Cli, Command};
use crate::failure::Failure;
use crate::output::Out;

fn main() {
    let cli = Cli::parse();
    if let Err(f) = run(cli) {
        eprintln!("buckets: {}", f.message);
        std::process::exit(f.exit as i32);
    }
}

/// The glob as the API reads it (`rules::glob`: its semantics and bounds).
fn glob(g: &str) -> Result<globset::GlobMatcher, Failure> {
    rules::glob::matcher(Some(g)).map_err(|why| Failure::usage(format!("--glob {g:?} {why}")))
}

fn run(cli: Cli) -> Result<(), Failure> {
    let g = &cli.global;
    let out = Out::new(g.format());
    let mode = progress::Mode::pick(g.quiet, out.json());
    let connect = || {
        config::connect(config::Given {
            url: g.url.clone(),
            api_key: g.api_key.clone(),
            token: g.token.clone(),
            anonymous: g.anonymous,
        })
    };
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
            let url = g
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
            let who = config::login(&url, user, password, g.api_key.clone())?;
            out.print(&who, &format!("signed in to {url}"));
            Ok(())
        }
        Command::Logout => config::logout(),
        Command::Fetch {
            bucket,
            sync,
            glob: pattern,
            dir,
            data_out,
            transfer,
        } => {
            glob(&pattern)?;
            fetch::fetch(
                &connect()?,
                fetch::FetchArgs {
                    bucket,
                    sync,
                    glob: pattern,
                    dir,
                    data_out,
                    parallel: transfer.parallel,
                    json: out.json(),
                    limit_rate: transfer.limit_rate,
                },
                mode,
            )
        }
        Command::Store {
            bucket,
            sync,
            glob: pattern,
            dir,
            data,
            wait,
            transfer,
        } => store::store(
            &connect()?,
            store::StoreArgs {
                bucket,
                sync,
                glob: glob(&pattern)?,
                dir,
                data,
                parallel: transfer.parallel,
                wait: Duration::from_secs(wait),
                json: out.json(),
                limit_rate: transfer.limit_rate,
            },
            mode,
        ),
        Command::Cp {
            from,
            to,
            limit_rate,
        } => {
            let api = connect()?;
            let job = commands::CpJob {
                api: &api,
                out: &out,
                mode,
                limit_rate,
            };
            commands::cp(&job, &from, &to)
        }
        other => commands::run(&connect()?, other, &out),
    }
}

#[cfg(test)]
mod tests;
