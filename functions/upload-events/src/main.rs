//! Lambda: S3 ObjectCreated events. Thin: build the clients once at init, hand every object key
//! to `shared::uploads::process`.

use shared::aws::Resources;
use shared::aws::lambda::{init_tracing, serve_s3_events};
use shared::service::uploads;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let r: &'static Resources = Box::leak(Box::new(Resources::from_env().await?));
    serve_s3_events(|key, written_at| async move {
        uploads::process(&r.store, &r.objects, &r.settings.upload, &key, written_at).await
    })
    .await
}
