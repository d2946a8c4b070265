//! Lambda: S3 ObjectCreated events. Thin: build the clients once at init, hand every event to
//! `shared::aws::lambda::s3` (which processes each object with `shared::service::uploads`).

use shared::aws::Resources;
use shared::aws::lambda::init_tracing;
use shared::aws::lambda::s3::serve_upload_events;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let r: &'static Resources = Box::leak(Box::new(Resources::from_env().await?));
    serve_upload_events(r).await
}
