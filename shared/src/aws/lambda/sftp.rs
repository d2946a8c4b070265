//! The Lambda glue of the `sftp` function, which gets three kinds of event:
//! - API Gateway HTTP API events (payload 2.0) of the SFTP routes → `api::sftp`;
//! - DynamoDB stream records (decoded by the store's adapter, `aws::dynamodb::stream`) of
//!   removed SFTP users (deleted by the API or by a bucket's delete cascade), suspended ones
//!   and buckets whose `active` changed → `Services::on_sftp_changes`;
//! - `{"reconcile": true}` from the schedule (or an operator) → `Services::sftp_scheduled_pass`.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use lambda_http::Body;
use lambda_http::request::LambdaRequest;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

use super::http::{to_lambda_response, to_request};
use crate::api::app::App;
use crate::api::request::Request;
use crate::api::response::Response;
use crate::api::sftp;
use crate::aws::dynamodb::DynamoStore;
use crate::aws::dynamodb::stream::changes;
use crate::aws::s3::S3Objects;
use crate::aws::transfer::TransferDirectory;
use crate::config::Settings;
use crate::domain::changes::Change;

/// What an event asks of the function.
pub enum SftpEvent {
    Http(Request),
    /// Stream records (the template's filters pass removed and suspended users, and buckets
    /// whose `active` changed), decoded by the store's adapter.
    Stream(Vec<Change>),
    Reconcile,
}

fn classify(settings: &Settings, payload: Value) -> Result<SftpEvent, Error> {
    if payload.get("reconcile").and_then(Value::as_bool) == Some(true) {
        return Ok(SftpEvent::Reconcile);
    }
    if payload.get("requestContext").is_some() {
        let event: ApiGatewayV2httpRequest = serde_json::from_value(payload)?;
        let request = http::Request::from(LambdaRequest::ApiGatewayV2(event));
        return Ok(SftpEvent::Http(to_request(settings, request)));
    }
    match changes(&payload) {
        Some(changes) => Ok(SftpEvent::Stream(changes)),
        None => Err(Error::from(
            "neither an HTTP API event, a stream event nor {\"reconcile\": true}",
        )),
    }
}

/// API Gateway's payload 2.0 answer.
pub(super) fn to_gateway(resp: Response) -> ApiGatewayV2httpResponse {
    let (parts, body) = to_lambda_response(resp).into_parts();
    let (body, is_base64_encoded) = match body {
        Body::Empty => (None, false),
        Body::Text(t) => (Some(Body::Text(t)), false),
        Body::Binary(b) => (Some(Body::Binary(b)), true),
        _ => (None, false),
    };
    let mut out = ApiGatewayV2httpResponse::default();
    out.status_code = i64::from(parts.status.as_u16());
    out.headers = parts.headers;
    out.body = body;
    out.is_base64_encoded = is_base64_encoded;
    out
}

/// Serves the function's events until the runtime stops: requests (the SFTP routes), stream
/// batches (an error fails the batch: the stream redelivers it) and the scheduled pass.
pub async fn serve_sftp(
    app: &'static App<DynamoStore, S3Objects>,
    directory: &'static TransferDirectory,
) -> Result<(), Error> {
    let services = &app.services;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let answer: Value = match classify(app.settings(), event.payload)? {
            SftpEvent::Http(req) => {
                serde_json::to_value(to_gateway(sftp::handle(app, directory, &req).await))?
            }
            SftpEvent::Stream(changes) => json!(
                services
                    .on_sftp_changes(directory, &changes)
                    .await
                    .map_err(|e| Error::from(format!("following SFTP changes: {e:?}")))?
            ),
            SftpEvent::Reconcile => {
                let done = services
                    .sftp_scheduled_pass(directory)
                    .await
                    .map_err(|e| Error::from(format!("scheduled pass failed: {e:?}")))?;
                tracing::info!(?done, "scheduled pass");
                json!(done)
            }
        };
        Ok::<Value, Error>(answer)
    }))
    .await
}
