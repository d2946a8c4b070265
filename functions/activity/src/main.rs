#![recursion_limit = "256"]
//! Lambda: a bucket's history and webhooks. Thin: build the app once at init, hand every event
//! to the shared core (`shared::aws::lambda::activity`): the history and webhook routes, and
//! the stream records that become history entries and webhook deliveries.

use serde_json::json;
use shared::api::app::App;
use shared::api::webhooks::{self, Outbound};
use shared::aws::Resources;
use shared::aws::dynamodb::DynamoStore;
use shared::aws::lambda::activity::serve_activity;
use shared::aws::lambda::init_tracing;
use shared::aws::s3::S3Objects;
use shared::aws::sqs::SqsQueue;
use shared::aws::webhook_http::HttpSender;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let r = Resources::from_env().await?;
    let queue: &'static SqsQueue = Box::leak(Box::new(SqsQueue::from_env(&r.sdk)?));
    let sender: &'static HttpSender = Box::leak(Box::default());
    let app: &'static App<DynamoStore, S3Objects> =
        Box::leak(Box::new(App::new(r.settings, r.store, r.objects)?));
    let outbound: &'static Outbound<'static, SqsQueue, HttpSender> =
        Box::leak(Box::new(Outbound { queue, sender }));
    let services = &app.services;
    serve_activity(
        app.settings(),
        |req| async move { webhooks::handle(app, outbound, &req).await },
        |changes| async move {
            let history = services
                .record_changes(&changes)
                .await
                .map_err(|e| format!("recording history: {e:?}"))?;
            // Before the events are queued: a webhook whose maker just lost write is sent
            // nothing of this batch.
            let suspended = services
                .judge_origins(&changes)
                .await
                .map_err(|e| format!("judging webhooks and SFTP users: {e:?}"))?;
            let queued = services
                .queue_events(queue, &changes)
                .await
                .map_err(|e| format!("queueing webhook deliveries: {e:?}"))?;
            Ok(json!({
                "written": history.written,
                "repeated": history.repeated,
                "events": queued.events,
                "deliveries": queued.deliveries,
                "suspended": suspended,
            }))
        },
    )
    .await
}
