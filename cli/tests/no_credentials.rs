//! Every command that calls the API, found by walking `--help` (so a new command is covered
//! without being listed here), run with an API URL but no credentials: each must fail with exit
//! code 3 and say how to sign in, before any request (the URL answers nothing, so a request
//! would exit 7 instead). Also: `--help` shows the command's own options before the global ones.

use std::process::{Command, Output};

/// Commands that need no credentials.
const WITHOUT_CREDENTIALS: [&str; 4] = ["login", "logout", "completions", "help"];

fn buckets(args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_buckets"))
        .args(args)
        .env_remove("BUCKETS_API_KEY")
        .env_remove("BUCKETS_TOKEN")
        .env_remove("BUCKETS_OUTPUT")
        .env("BUCKETS_URL", "http://127.0.0.1:9/nothing-answers-here")
        .env("BUCKETS_CONFIG", "/nonexistent/buckets/config.json")
        .output()
        .unwrap()
}

fn help(path: &[String]) -> String {
    let mut args = path.to_vec();
    args.push("--help".into());
    let out = buckets(&args);
    assert!(out.status.success(), "{args:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// The names under "Commands:" of a help text.
fn subcommands(help: &str) -> Vec<String> {
    help.split("Commands:")
        .nth(1)
        .map(|rest| {
            rest.lines()
                .skip(1)
                .take_while(|l| l.starts_with("  "))
                .filter_map(|l| l.split_whitespace().next())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// A command line from a usage line: the required options and positionals, each given `x`
/// (or a value its parser takes).
fn required_args(help: &str) -> Vec<String> {
    let usage = help.lines().find(|l| l.starts_with("Usage:")).unwrap();
    let mut args = Vec::new();
    let mut depth = 0;
    for word in usage.split_whitespace().skip(1) {
        depth += word.matches('[').count();
        let optional = depth > 0;
        depth -= word.matches(']').count();
        if optional || !(word.starts_with('<') || word.starts_with("--")) {
            continue;
        }
        args.push(if word.starts_with('<') {
            "x".to_string()
        } else {
            word.to_string()
        });
    }
    args
}

#[test]
fn every_command_that_calls_the_api_fails_without_credentials_and_says_how_to_sign_in() {
    let mut todo: Vec<Vec<String>> = vec![vec![]];
    let mut checked = Vec::new();
    while let Some(path) = todo.pop() {
        let text = help(&path);
        let subs = subcommands(&text);
        if !subs.is_empty() {
            for s in subs
                .iter()
                .filter(|s| !WITHOUT_CREDENTIALS.contains(&s.as_str()))
            {
                let mut p = path.clone();
                p.push(s.clone());
                todo.push(p);
            }
            continue;
        }
        let mut args = path.clone();
        args.extend(required_args(&text));
        let out = buckets(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "buckets {args:?}: {stderr}");
        assert!(
            stderr.contains("not signed in") && stderr.contains("buckets login"),
            "buckets {args:?}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "buckets {args:?} printed something");
        checked.push(args.join(" "));
    }
    assert!(checked.len() >= 34, "{checked:#?}");
    for needed in [
        "whoami",
        "ls",
        "history x",
        "webhooks deliveries x x",
        "keys ls",
    ] {
        assert!(
            checked.iter().any(|c| c == needed),
            "{needed} not checked: {checked:#?}"
        );
    }
}

#[test]
fn a_commands_help_shows_its_own_options_then_the_global_ones() {
    let text = help(&["webhooks".into(), "create".into()]);
    let (own, global) = text.split_once("Global options:").unwrap();
    assert!(
        own.contains("--endpoint <URL>") && own.contains("--events"),
        "{text}"
    );
    assert!(global.contains("--url <URL>"), "{text}");
    assert!(
        global.contains("--api-key") && global.contains("--output"),
        "{text}"
    );
    assert!(text.contains("Examples:"), "{text}");
}
