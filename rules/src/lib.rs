//! The rules the service (`buckets-shared`, which re-exports them through its `domain`) and the
//! `buckets` CLI share, in one copy: a client that computes what the server will record (a
//! normalized name, a checksum, a part size) computes it with the server's own code.
//!
//! | module | holds |
//! |---|---|
//! | [`names`] | the xyOps name normalization and the name bounds |
//! | [`checksums`] | SHA-256 forms (hex or base64) and S3's composite SHA-256 of parts |
//! | [`multipart`] | S3's multipart bounds and the plan of a large file (part size, count, pages) |
//! | [`glob`] | glob semantics (globset, `*` by default) and the bounds on a glob |
//! | [`requests`] | how many files or parts one request names |
//! | [`time`] | times in milliseconds since the epoch written and read as RFC 3339 UTC |
//!
//! Nothing here does I/O; errors are the reason as text (the service's domain wraps it in a
//! `RuleError` naming the field, the CLI in its usage error).

pub mod checksums;
pub mod glob;
pub mod multipart;
pub mod names;
pub mod requests;
pub mod time;
