//! What a command can fail with, and the exit code each failure maps to (documented in
//! docs/cli.md, "Exit codes", and in `buckets --help`).

use std::fmt;

/// Exit codes. 0 is success; clap itself exits 2 on a usage error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// 1: some files were refused or failed (each named on stderr, and in `--json`).
    Files = 1,
    /// 2: bad arguments or configuration.
    Usage = 2,
    /// 3: not signed in, or not allowed (401 / 403).
    Denied = 3,
    /// 4: no such bucket, file, version or key (404).
    NotFound = 4,
    /// 5: a precondition failed (412: `--if-match` lost to another writer).
    Conflict = 5,
    /// 6: the API refused the request (another 4xx), its message printed.
    Refused = 6,
    /// 7: the API or S3 could not be reached, or answered 5xx.
    Unavailable = 7,
}

#[derive(Debug)]
pub struct Failure {
    pub exit: Exit,
    pub message: String,
}

impl Failure {
    pub fn new(exit: Exit, message: impl Into<String>) -> Failure {
        Failure {
            exit,
            message: message.into(),
        }
    }

    pub fn usage(message: impl Into<String>) -> Failure {
        Failure::new(Exit::Usage, message)
    }

    pub fn network(url: &str, e: impl fmt::Display) -> Failure {
        // Never print a presigned URL's query (its signature) in an error.
        let shown = url.split('?').next().unwrap_or(url);
        Failure::new(Exit::Unavailable, format!("{shown}: {e}"))
    }

    pub fn io(what: &str, e: std::io::Error) -> Failure {
        Failure::new(Exit::Usage, format!("{what}: {e}"))
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
