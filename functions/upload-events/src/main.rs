//! Lambda: S3 ObjectCreated events. Thin: build the clients once at init, hand every object key
//! to `shared::uploads::process`.

use shared::aws::dynamodb::DynamoStore;
use shared::aws::lambda::{init_tracing, sdk_config, serve_s3_events};
use shared::aws::s3::S3Objects;
use shared::config::Settings;
use shared::uploads;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let settings = Settings::from_env()?;
    let table = std::env::var("TABLE_NAME").map_err(|_| "TABLE_NAME is not set")?;
    let files_bucket = std::env::var("FILES_BUCKET").map_err(|_| "FILES_BUCKET is not set")?;
    let sdk = sdk_config().await;
    let store: &'static DynamoStore = Box::leak(Box::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        table,
    )));
    let objects: &'static S3Objects = Box::leak(Box::new(S3Objects::new(&sdk, files_bucket)));
    let limits: &'static _ = Box::leak(Box::new(settings.upload));
    serve_s3_events(|key| async move { uploads::process(store, objects, limits, &key).await }).await
}
