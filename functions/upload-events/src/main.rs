//! Lambda: S3 ObjectCreated events. Thin: build the services once at init, hand every object
//! key to `Services::process_upload`.

use shared::aws::Resources;
use shared::aws::lambda::{init_tracing, serve_s3_events};
use shared::service::Services;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let r = Resources::from_env().await?;
    let services: &'static Services<_, _> =
        Box::leak(Box::new(Services::new(r.settings, r.store, r.objects)));
    serve_s3_events(
        |key, written_at| async move { services.process_upload(&key, written_at).await },
    )
    .await
}
