//! Lambda: the Buckets API (`/v1/`, `/v1/buckets`, `/v1/buckets/{id}`, the 307 redirects).
//! Thin: build the app once at init, then hand every event to `shared::api::root::handle`.

use shared::api::app::App;
use shared::api::root;
use shared::aws::dynamodb::DynamoStore;
use shared::aws::lambda::{init_tracing, sdk_config, serve_http};
use shared::config::Settings;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    init_tracing();
    let settings = Settings::from_env()?;
    let table = std::env::var("TABLE_NAME").map_err(|_| "TABLE_NAME is not set")?;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk_config().await), table);
    let app: &'static App<DynamoStore> = Box::leak(Box::new(App::new(settings.clone(), store)?));
    serve_http(
        &app.settings,
        |req| async move { root::handle(app, &req).await },
    )
    .await
}
