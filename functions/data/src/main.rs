//! Lambda: the data document routes. Thin: build the app once at init, hand every event to
//! `shared::api::data::handle`.

use shared::api::app::App;
use shared::api::data;
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
        data::handle(app, &req).await
    })
    .await
}
