#![recursion_limit = "256"]
//! Lambda: a bucket's history and webhooks. Thin: build the clients once at init, hand every
//! event to the shared core (`shared::aws::lambda::activity`).

use shared::api::app::App;
use shared::api::webhooks::Outbound;
use shared::aws::lambda::activity::serve_activity;
use shared::aws::lambda::{init_tracing, leak};
use shared::aws::{Resources, sqs::SqsQueue};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let r = Resources::from_env().await?;
    let queue = leak(SqsQueue::from_env(&r.sdk)?);
    let outbound = leak(Outbound {
        queue,
        sender: leak(Default::default()),
    });
    serve_activity(leak(App::new(r.settings, r.store, r.objects)?), outbound).await
}
