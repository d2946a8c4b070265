#![recursion_limit = "256"]
//! Lambda: webhook deliveries. Thin: build the clients once at init, hand every SQS batch to
//! the shared core (`shared::aws::lambda::webhooks`), one attempt per message
//! (`Services::deliver`).

use shared::aws::dynamodb::DynamoStore;
use shared::aws::lambda::init_tracing;
use shared::aws::lambda::webhooks::serve_webhooks;
use shared::aws::sqs::SqsQueue;
use shared::aws::webhook_http::HttpSender;
use shared::config::Settings;
use shared::service::Services;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let settings = Settings::from_env()?;
    let table = std::env::var("TABLE_NAME").map_err(|_| "TABLE_NAME is not set")?;
    let sdk = shared::aws::lambda::sdk_config().await;
    let store = DynamoStore::from_sdk(&sdk, table);
    let queue: &'static SqsQueue = Box::leak(Box::new(SqsQueue::from_env(&sdk)?));
    let sender: &'static HttpSender = Box::leak(Box::default());
    let services: &'static Services<DynamoStore> =
        Box::leak(Box::new(Services::new(settings, store, ())));
    serve_webhooks(|message| async move {
        services
            .deliver(queue, sender, &message)
            .await
            .map(|done| format!("{done:?}"))
            .map_err(|e| format!("{e:?}"))
    })
    .await
}
