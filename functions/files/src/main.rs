//! Lambda: the file routes. Thin: build the app once at init, hand every event to
//! `shared::api::files::handle`.

use shared::api::app::App;
use shared::api::files::{self, FilesApp};
use shared::aws::dynamodb::DynamoStore;
use shared::aws::lambda::{init_tracing, sdk_config, serve_http};
use shared::aws::s3::S3Objects;
use shared::config::Settings;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    init_tracing();
    let settings = Settings::from_env()?;
    let table = std::env::var("TABLE_NAME").map_err(|_| "TABLE_NAME is not set")?;
    let files_bucket = std::env::var("FILES_BUCKET").map_err(|_| "FILES_BUCKET is not set")?;
    let sdk = sdk_config().await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table);
    let app: &'static FilesApp<DynamoStore, S3Objects> = Box::leak(Box::new(FilesApp {
        core: App::new(settings, store)?,
        objects: S3Objects::new(&sdk, files_bucket),
    }));
    serve_http(&app.core.settings, |req| async move {
        files::handle(app, &req).await
    })
    .await
}
