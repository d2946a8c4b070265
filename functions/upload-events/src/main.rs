//! Lambda: S3 ObjectCreated events. Thin: build the services once at init, hand every event to
//! `shared::aws::lambda::s3` (which processes each object with `Services::process_upload`).

use shared::aws::Resources;
use shared::aws::lambda::init_tracing;
use shared::aws::lambda::s3::serve_upload_events;
use shared::service::Services;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let r = Resources::from_env().await?;
    let services = Box::leak(Box::new(Services::new(r.settings, r.store, r.objects)));
    serve_upload_events(services).await
}
