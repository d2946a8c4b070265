//! Lambda: the Buckets API (`/v1/`, `/v1/buckets`, `/v1/buckets/{id}`, the 307 redirects).
//! Thin: build the app once at init, then hand every event to `shared::api::entry::handle`.

use shared::api::app::App;
use shared::api::entry;
use shared::aws::Resources;
use shared::aws::dynamodb::DynamoStore;
use shared::aws::lambda::http::serve_http;
use shared::aws::lambda::init_tracing;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    init_tracing();
    let r = Resources::from_env().await?;
    let app: &'static App<DynamoStore> = Box::leak(Box::new(App::new(r.settings, r.store, ())?));
    serve_http(app.settings(), |req| async move {
        entry::handle(app, &req).await
    })
    .await
}
