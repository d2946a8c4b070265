//! The Lambda glue: the only code that knows the shapes of Lambda events. One module per kind of
//! event, each turning events into calls of the AWS-free core and its answers back into what
//! Lambda expects:
//!
//! - [`http`]: API Gateway HTTP API events (payload 2.0) → `api::Request`, `api::Response` back;
//! - [`s3`]: S3 ObjectCreated events → `service::uploads`;
//! - [`stream`]: DynamoDB stream records of cascade markers (and an operator's or the hourly
//!   sweep's `{"replay": true}`) → `service::cascade`.
//!
//! And what every function does once at init: [`init_tracing`], [`sdk_config`].

pub mod http;
pub mod s3;
pub mod stream;

/// JSON logs at the level `RUST_LOG` names (`error`, `warn`, `info` (default), `debug`,
/// `trace`). Cheap: no I/O. A plain level, not filter directives: the directive parser pulls a
/// regex engine into every function.
pub fn init_tracing() {
    let level = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| {
            v.trim()
                .parse::<tracing_subscriber::filter::LevelFilter>()
                .ok()
        })
        .unwrap_or(tracing_subscriber::filter::LevelFilter::INFO);
    tracing_subscriber::fmt()
        .json()
        .with_max_level(level)
        .with_target(false)
        .without_time()
        .init();
}

/// The SDK configuration from the Lambda environment (region and credentials from variables;
/// nothing is fetched until the first call).
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await
}
