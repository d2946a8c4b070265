#![recursion_limit = "256"]
//! Lambda: webhook deliveries. Thin: build the clients once at init (`shared::aws::Deliveries`),
//! hand every SQS batch to the shared core (`shared::aws::lambda::webhooks`), one attempt per
//! message (`Services::deliver`).

use shared::aws::Deliveries;
use shared::aws::lambda::init_tracing;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let deliveries: &'static Deliveries = Box::leak(Box::new(Deliveries::from_env().await?));
    deliveries.serve().await
}
