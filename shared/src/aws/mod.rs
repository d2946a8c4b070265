//! The AWS side (feature `aws`): one adapter per service, and the Lambda glue (`lambda/`, one
//! module per kind of event).

pub mod dynamodb;
pub mod lambda;
pub mod s3;
pub mod sqs;
pub mod transfer;
pub mod webhook_http;

use crate::config::Settings;
use dynamodb::DynamoStore;
use s3::S3Objects;

/// What every function builds once at init: settings, the table and the files bucket. Reads the
/// environment only (no network).
pub struct Resources {
    pub settings: Settings,
    pub store: DynamoStore,
    pub objects: S3Objects,
    /// The SDK configuration the clients were built from (for a function's other clients).
    pub sdk: aws_config::SdkConfig,
}

impl Resources {
    pub async fn from_env() -> Result<Resources, String> {
        let settings = Settings::from_env()?;
        let table = std::env::var("TABLE_NAME").map_err(|_| "TABLE_NAME is not set")?;
        let files_bucket = std::env::var("FILES_BUCKET").map_err(|_| "FILES_BUCKET is not set")?;
        Ok(Resources::new(
            settings,
            lambda::sdk_config().await,
            table,
            files_bucket,
        ))
    }

    /// The clients of `table` and `files_bucket` from `sdk` (the end-to-end crash test builds
    /// the cascade's this way, against the local stack).
    pub fn new(
        settings: Settings,
        sdk: aws_config::SdkConfig,
        table: String,
        files_bucket: String,
    ) -> Resources {
        Resources {
            settings,
            store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table),
            objects: S3Objects::new(&sdk, files_bucket),
            sdk,
        }
    }
}
