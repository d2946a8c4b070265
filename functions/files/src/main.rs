//! Lambda: the file routes. Thin: build the app once at init, hand every event to
//! `shared::api::files::handle`.

use shared::api::app::App;
use shared::api::files;
use shared::aws::Resources;
use shared::aws::dynamodb::DynamoStore;
use shared::aws::lambda::http::serve_http;
use shared::aws::lambda::init_tracing;
use shared::aws::s3::S3Objects;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    init_tracing();
    let r = Resources::from_env().await?;
    let app: &'static App<DynamoStore, S3Objects> =
        Box::leak(Box::new(App::new(r.settings, r.store, r.objects)?));
    serve_http(app.settings(), |req| async move {
        files::handle(app, &req).await
    })
    .await
}
