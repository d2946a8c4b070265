//! The AWS side (feature `aws`): one adapter per service, and the Lambda glue (`lambda/`, one
//! module per kind of event).

pub mod dynamodb;
pub mod lambda;
pub mod s3;
pub mod sqs;
pub mod transfer;
pub mod webhook_http;

use crate::config::Settings;
use crate::service::Services;
use dynamodb::DynamoStore;
use s3::S3Objects;
use sqs::SqsQueue;
use webhook_http::HttpSender;

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
        let table = var("TABLE_NAME")?;
        let files_bucket = var("FILES_BUCKET")?;
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

/// A variable every deployed function has (the template's Globals), or an error naming it.
fn var(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

/// What the webhook delivery function builds once at init (no network): the services over the
/// table (no files), the delivery queue and the HTTP sender.
pub struct Deliveries {
    pub services: Services<DynamoStore>,
    pub queue: SqsQueue,
    pub sender: HttpSender,
}

impl Deliveries {
    pub async fn from_env() -> Result<Deliveries, String> {
        let settings = Settings::from_env()?;
        let table = var("TABLE_NAME")?;
        let sdk = lambda::sdk_config().await;
        Ok(Deliveries {
            services: Services::new(settings, DynamoStore::from_sdk(&sdk, table), ()),
            queue: SqsQueue::from_env(&sdk)?,
            sender: HttpSender::default(),
        })
    }

    /// Serves SQS batches of delivery attempts until the runtime stops, one attempt per
    /// message (`Services::deliver`).
    pub async fn serve(&'static self) -> Result<(), lambda_runtime::Error> {
        lambda::webhooks::serve_webhooks(|message| async move {
            self.services
                .deliver(&self.queue, &self.sender, &message)
                .await
                .map(|done| format!("{done:?}"))
                .map_err(|e| format!("{e:?}"))
        })
        .await
    }
}
