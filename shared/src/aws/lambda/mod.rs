//! The Lambda glue: the only code that knows the shapes of Lambda events. One module per kind of
//! event, each turning events into calls of the AWS-free core and its answers back into what
//! Lambda expects:
//!
//! - [`activity`]: the history and webhook routes, and the stream records that make history
//!   entries and webhook events → `api::webhooks`, `service::history`, `service::webhooks`;
//! - [`http`]: API Gateway HTTP API events (payload 2.0) → `api::Request`, `api::Response` back;
//! - [`s3`]: S3 ObjectCreated events → `service::uploads`;
//! - [`sftp`]: the SFTP routes, removed SFTP users' stream records and the reconciliation
//!   schedule → `api::sftp`, `service::sftp`, `service::reconcile`;
//! - [`stream`]: DynamoDB stream records of cascade markers (and an operator's or the hourly
//!   sweep's `{"replay": true}`) → `service::cascade`;
//! - [`webhooks`]: SQS batches of webhook delivery attempts → `service::webhooks`.
//!
//! And what every function does once at init: [`init_tracing`], [`sdk_config`].

pub mod activity;
pub mod http;
pub mod s3;
pub mod sftp;
pub mod stream;
pub mod webhooks;

use tracing_subscriber::filter::LevelFilter;

/// A value built once at init that lives as long as the process (what every handler borrows).
pub fn leak<T>(value: T) -> &'static T {
    Box::leak(Box::new(value))
}

/// JSON logs at the level `RUST_LOG` names: `error`, `warn`, `info` (default), `debug` or
/// `trace`. Cheap: no I/O. A plain level only, not filter directives (`crate=level`): the
/// directive parser pulls a regex engine into every function. Anything else logs a warning and
/// runs at `info` (the template's `LogLevel` allows only the plain levels).
pub fn init_tracing() {
    let raw = std::env::var("RUST_LOG").ok();
    let (level, refused) = log_level(raw.as_deref());
    tracing_subscriber::fmt()
        .json()
        .with_max_level(level)
        .with_target(false)
        .without_time()
        .init();
    if let Some(value) = refused {
        tracing::warn!(
            rust_log = value,
            "RUST_LOG is not a plain level (error, warn, info, debug or trace); logging at info"
        );
    }
}

/// The level `RUST_LOG` names (unset or empty: `info`), and the value itself when it is not a
/// plain level.
fn log_level(raw: Option<&str>) -> (LevelFilter, Option<&str>) {
    match raw.map(str::trim).filter(|v| !v.is_empty()) {
        None => (LevelFilter::INFO, None),
        Some(v) => match v.parse::<LevelFilter>() {
            // `off` and numbers parse too; only the five names are documented and accepted.
            Ok(level)
                if ["error", "warn", "info", "debug", "trace"]
                    .iter()
                    .any(|name| name.eq_ignore_ascii_case(v)) =>
            {
                (level, None)
            }
            _ => (LevelFilter::INFO, Some(v)),
        },
    }
}

/// The SDK configuration from the Lambda environment (region and credentials from variables;
/// nothing is fetched until the first call).
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_log_takes_plain_levels_and_reports_anything_else() {
        assert_eq!(log_level(None), (LevelFilter::INFO, None));
        assert_eq!(log_level(Some(" ")), (LevelFilter::INFO, None));
        assert_eq!(log_level(Some("debug")), (LevelFilter::DEBUG, None));
        assert_eq!(log_level(Some(" WARN ")), (LevelFilter::WARN, None));
        assert_eq!(log_level(Some("trace")), (LevelFilter::TRACE, None));
        assert_eq!(
            log_level(Some("buckets=debug")),
            (LevelFilter::INFO, Some("buckets=debug"))
        );
        assert_eq!(
            log_level(Some("info,shared=trace")),
            (LevelFilter::INFO, Some("info,shared=trace"))
        );
        assert_eq!(log_level(Some("off")), (LevelFilter::INFO, Some("off")));
    }
}
