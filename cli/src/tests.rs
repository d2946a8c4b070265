//! The command line's shape: every command and argument described, every command with examples
//! that parse, global options under their own heading; and what a command without credentials
//! does.

use clap::{CommandFactory, Parser};
use serde_json::json;

use crate::args::{Cli, Command, GLOBAL};
use crate::config::{Given, connect_with};
use crate::failure::Exit;
use crate::output::Format;

fn built() -> clap::Command {
    let mut c = Cli::command();
    c.build();
    c
}

/// Every command under `cmd` with its path (`buckets webhooks create`).
fn commands(cmd: &clap::Command, path: &str, out: &mut Vec<(String, clap::Command)>) {
    out.push((path.to_string(), cmd.clone()));
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        commands(sub, &format!("{path} {}", sub.get_name()), out);
    }
}

fn all_commands() -> Vec<(String, clap::Command)> {
    let mut out = Vec::new();
    commands(&built(), "buckets", &mut out);
    out
}

#[test]
fn every_command_and_every_argument_is_described() {
    let mut missing = Vec::new();
    let all = all_commands();
    assert!(all.len() > 40, "the walk found {} commands", all.len());
    for (path, cmd) in &all {
        if cmd
            .get_about()
            .is_none_or(|a| a.to_string().trim().is_empty())
        {
            missing.push(format!("{path}: no description"));
        }
        for arg in cmd.get_arguments() {
            let id = arg.get_id().as_str();
            if ["help", "version"].contains(&id) {
                continue;
            }
            if arg
                .get_help()
                .is_none_or(|h| h.to_string().trim().is_empty())
            {
                missing.push(format!("{path}: argument {id} has no help"));
            }
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");
}

/// The command line of an example line: from `buckets ` to the first pipe, redirection,
/// `)` or the three spaces before its comment; words split as a shell splits quoted words.
fn example_words(line: &str) -> Option<Vec<String>> {
    let start = line.find("buckets ")?;
    let mut rest = &line[start..];
    for stop in ["   ", " | ", " > ", " < ", ")"] {
        if let Some(i) = rest.find(stop) {
            rest = &rest[..i];
        }
    }
    let (mut words, mut word, mut quote, mut any) = (Vec::new(), String::new(), None, false);
    for c in rest.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => (quote, any) = (Some(c), true),
            (None, ' ') => {
                if any || !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                any = false;
            }
            (None, c) => word.push(c),
        }
    }
    if any || !word.is_empty() {
        words.push(word);
    }
    Some(words)
}

#[test]
fn every_command_has_examples_and_every_example_parses() {
    let mut problems = Vec::new();
    let mut parsed = 0;
    for (path, cmd) in all_commands() {
        let help = cmd
            .get_after_help()
            .map(|h| h.to_string())
            .unwrap_or_default();
        let Some((_, examples)) = help.split_once("Examples:") else {
            problems.push(format!("{path}: no Examples:"));
            continue;
        };
        let lines = examples
            .lines()
            .take_while(|l| !l.trim().is_empty() || l.is_empty());
        for line in lines.filter(|l| l.starts_with("  ")) {
            let Some(words) = example_words(line) else {
                continue;
            };
            match Cli::try_parse_from(&words) {
                Ok(_) => parsed += 1,
                Err(e) => problems.push(format!("{path}: {line:?}: {}", e.kind())),
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(parsed > 60, "{parsed} examples parsed");
}

#[test]
fn a_commands_own_options_come_first_and_the_global_ones_under_their_heading() {
    let mut c = built();
    let help = c
        .find_subcommand_mut("history")
        .unwrap()
        .render_help()
        .to_string();
    let own = help.find("--since").unwrap();
    let heading = help
        .find(&format!("{GLOBAL}:"))
        .unwrap_or_else(|| panic!("{help}"));
    assert!(own < heading, "{help}");
    for global in [
        "--url",
        "--api-key",
        "--token",
        "--output",
        "--quiet",
        "--anonymous",
    ] {
        let at = help
            .find(global)
            .unwrap_or_else(|| panic!("{global}: {help}"));
        assert!(at > heading, "{global} is not under {GLOBAL}: {help}");
    }
}

/// A command's own argument named as a global one would be merged with it by clap (a webhook's
/// `--url` once replaced the API's URL).
#[test]
fn no_command_reuses_the_name_of_a_global_option() {
    let top = Cli::command();
    let globals: Vec<(String, Option<String>)> = top
        .get_arguments()
        .filter(|a| a.is_global_set())
        .map(|a| (a.get_id().to_string(), a.get_long().map(str::to_string)))
        .collect();
    let mut all = Vec::new();
    commands(&top, "buckets", &mut all);
    for (path, cmd) in all.iter().skip(1) {
        for arg in cmd.get_arguments() {
            let (id, long) = (arg.get_id().to_string(), arg.get_long().map(str::to_string));
            let clash = globals
                .iter()
                .any(|(g, l)| *g == id || (long.is_some() && *l == long));
            assert!(!clash, "{path}: {id} is also a global option");
        }
    }
}

#[test]
fn output_formats_parse_and_json_is_an_alias() {
    let format = |args: &[&str]| Cli::try_parse_from(args).unwrap().global.format();
    assert_eq!(format(&["buckets", "ls", "-o", "tsv"]), Some(Format::Tsv));
    assert_eq!(
        format(&["buckets", "--output", "table", "ls"]),
        Some(Format::Table)
    );
    assert_eq!(format(&["buckets", "ls", "--json"]), Some(Format::Json));
    assert!(Cli::try_parse_from(["buckets", "ls", "-o", "yaml"]).is_err());
    let cli = Cli::try_parse_from(["buckets", "store", "b", "--limit-rate", "4M", "-j", "2"]);
    match cli.unwrap().command {
        Command::Store { transfer, .. } => {
            assert_eq!((transfer.parallel, transfer.limit_rate), (2, Some(4 << 20)));
        }
        _ => panic!("not store"),
    }
}

#[test]
fn rates_parse_with_suffixes() {
    use crate::args::parse_rate;
    assert_eq!(parse_rate("10M"), Ok(10 * 1024 * 1024));
    assert_eq!(parse_rate("512k"), Ok(512 * 1024));
    assert_eq!(parse_rate("100"), Ok(100));
    assert!(parse_rate("0").is_err() && parse_rate("fast").is_err());
}

fn given(url: &str) -> Given {
    Given {
        url: Some(url.into()),
        api_key: None,
        token: None,
        anonymous: false,
    }
}

#[test]
fn without_credentials_a_command_fails_and_says_how_to_sign_in() {
    let f = connect_with(given("https://api.example.com"), json!({}))
        .err()
        .unwrap();
    assert_eq!(f.exit, Exit::Denied);
    assert!(
        f.message
            .contains("not signed in to https://api.example.com"),
        "{}",
        f.message
    );
    assert!(f.message.contains("buckets login") && f.message.contains("BUCKETS_API_KEY"));
    // A sign-in cached for another API is not used, and the message says so.
    let other =
        json!({"url": "https://other.example.com", "id_token": "x", "expires_at": i64::MAX});
    let f = connect_with(given("https://api.example.com"), other)
        .err()
        .unwrap();
    assert!(
        f.message
            .contains("the cached sign-in is for https://other.example.com")
    );
    // Signed out (the config keeps its URL only).
    let f = connect_with(
        given("https://api.example.com/"),
        json!({"url": "https://api.example.com"}),
    );
    assert_eq!(f.err().unwrap().exit, Exit::Denied);
    // No credentials on purpose.
    let anonymous = Given {
        anonymous: true,
        ..given("https://api.example.com")
    };
    assert!(connect_with(anonymous, json!({})).is_ok());
    // No URL at all is a usage error.
    let f = connect_with(
        Given {
            url: None,
            ..given("")
        },
        json!({}),
    )
    .err()
    .unwrap();
    assert_eq!(f.exit, Exit::Usage);
}

#[test]
fn a_key_a_token_or_the_cached_sign_in_is_used_and_its_source_named() {
    let api = connect_with(
        Given {
            api_key: Some("bk_0123456789abcdef_x".into()),
            ..given("https://api.example.com")
        },
        json!({}),
    )
    .unwrap();
    assert!(matches!(
        api.credential(),
        crate::api::Credential::ApiKey(_)
    ));
    assert!(api.source.contains("api-key") || api.source.contains("BUCKETS_API_KEY"));
    let cached =
        json!({"url": "https://api.example.com", "id_token": "t", "expires_at": i64::MAX / 2});
    let api = connect_with(given("https://api.example.com/"), cached).unwrap();
    assert!(matches!(api.credential(), crate::api::Credential::Token(t) if t == "t"));
    assert!(api.source.starts_with("the config file"), "{}", api.source);
}

/// A wrong API URL is refused before anything is sent, with what to give instead (exit 2):
/// not a URL at all, or the base with `/v1` (every route would be a 404).
#[test]
fn an_api_url_that_cannot_work_is_refused_with_the_reason() {
    use crate::config::checked_url;
    assert_eq!(
        checked_url("http://127.0.0.1:4566/_aws/execute-api/x/$default/").unwrap(),
        "http://127.0.0.1:4566/_aws/execute-api/x/$default"
    );
    assert_eq!(
        checked_url("https://api.example.com").unwrap(),
        "https://api.example.com"
    );
    for (bad, says) in [
        ("", "not an absolute http(s) URL"),
        ("api.example.com", "not an absolute http(s) URL"),
        ("https://", "not an absolute http(s) URL"),
        ("https://api.example.com/v1", "without /v1"),
        ("https://api.example.com/v1/", "without /v1"),
    ] {
        let refused = checked_url(bad).unwrap_err();
        assert_eq!(refused.exit, crate::failure::Exit::Usage, "{bad:?}");
        assert!(
            refused.message.contains(says),
            "{bad:?}: {}",
            refused.message
        );
    }
}

/// A key, a token or a password never crosses the network in cleartext: plain http is for a
/// stack on this machine only (exit 2, saying why), for the API and the sign-in endpoint alike.
#[test]
fn plain_http_is_refused_unless_the_host_is_this_machine() {
    use crate::config::{checked_url, cleartext_refused};
    for local in [
        "http://127.0.0.1:4566/_aws/execute-api/x/$default",
        "http://localhost:8080",
        "http://LOCALHOST",
        "http://[::1]:4566/",
        "http://127.5.6.7/api",
        "https://api.example.com",
    ] {
        assert!(checked_url(local).is_ok(), "{local}");
        assert!(
            cleartext_refused("the sign-in endpoint", local).is_ok(),
            "{local}"
        );
    }
    for remote in [
        "http://api.example.com",
        "http://10.0.0.5:4566",
        "http://127.0.0.1.example.com/",
        "http://localhost.example.com",
        "http://[::2]/",
    ] {
        let refused = checked_url(remote).unwrap_err();
        assert_eq!(refused.exit, Exit::Usage, "{remote}");
        assert!(
            refused.message.contains("is not https")
                && refused.message.contains("readable by anyone"),
            "{remote}: {}",
            refused.message
        );
        assert!(
            cleartext_refused("the sign-in endpoint", remote).is_err(),
            "{remote}"
        );
    }
}
