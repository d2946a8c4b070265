//! Lambda: delete cascades. Thin: build the clients once at init, hand every stream batch (or
//! an operator's `{"replay": true}`) to `shared::aws::lambda::stream`.

use shared::aws::Resources;
use shared::aws::lambda::init_tracing;
use shared::aws::lambda::stream::serve_cascade;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let r: &'static Resources = Box::leak(Box::new(Resources::from_env().await?));
    serve_cascade(r).await
}
