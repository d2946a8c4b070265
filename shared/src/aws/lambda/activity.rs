//! The Lambda glue of the `activity` function, which gets two kinds of event:
//! - API Gateway HTTP API events (payload 2.0) of the history and webhook routes →
//!   `api::webhooks::handle`;
//! - DynamoDB stream records (decoded by the store's adapter, `aws::dynamodb::stream`) →
//!   `Services::on_activity`: history entries, origins judged, webhook events queued. A
//!   failing batch fails the invocation and the stream redelivers it: entries and events are
//!   keyed by their record, so none is made twice.

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use lambda_http::request::LambdaRequest;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

use super::http::to_request;
use super::sftp::to_gateway;
use crate::api::app::App;
use crate::api::webhooks::{self, Outbound};
use crate::aws::dynamodb::DynamoStore;
use crate::aws::dynamodb::stream::changes;
use crate::aws::s3::S3Objects;
use crate::aws::sqs::SqsQueue;
use crate::aws::webhook_http::HttpSender;

/// Serves the function's events until the runtime stops: requests (history and webhook
/// routes) and stream batches (an error fails the batch: the stream redelivers it).
pub async fn serve_activity(
    app: &'static App<DynamoStore, S3Objects>,
    outbound: &'static Outbound<'static, SqsQueue, HttpSender>,
) -> Result<(), Error> {
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let payload = event.payload;
        if payload.get("requestContext").is_some() {
            let event: ApiGatewayV2httpRequest = serde_json::from_value(payload)?;
            let request = http::Request::from(LambdaRequest::ApiGatewayV2(event));
            let resp = webhooks::handle(app, outbound, &to_request(app.settings(), request)).await;
            return Ok::<Value, Error>(serde_json::to_value(to_gateway(resp))?);
        }
        let Some(changes) = changes(&payload) else {
            return Err(Error::from("neither an HTTP API event nor a stream event"));
        };
        let done = app
            .services
            .on_activity(outbound.queue, &changes)
            .await
            .map_err(|e| Error::from(format!("a batch of changes failed: {e:?}")))?;
        tracing::info!(?done, "changes recorded");
        Ok(json!(done))
    }))
    .await
}
