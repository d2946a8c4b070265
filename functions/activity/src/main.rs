#![recursion_limit = "256"]
//! Lambda: a bucket's history. Thin: build the app once at init, hand every event to the shared
//! core (`shared::aws::lambda::activity`): the history route, and the stream records that
//! become history entries.

use serde_json::json;
use shared::api::app::App;
use shared::api::history;
use shared::aws::Resources;
use shared::aws::dynamodb::DynamoStore;
use shared::aws::lambda::activity::serve_activity;
use shared::aws::lambda::init_tracing;
use shared::aws::s3::S3Objects;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let r = Resources::from_env().await?;
    let app: &'static App<DynamoStore, S3Objects> =
        Box::leak(Box::new(App::new(r.settings, r.store, r.objects)?));
    let services = &app.services;
    serve_activity(
        app.settings(),
        |req| async move { history::handle(app, &req).await },
        |changes| async move {
            let done = services
                .record_changes(&changes)
                .await
                .map_err(|e| format!("recording history: {e:?}"))?;
            Ok(json!({"written": done.written, "repeated": done.repeated}))
        },
    )
    .await
}
