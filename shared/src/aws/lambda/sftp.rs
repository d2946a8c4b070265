//! The Lambda glue of the `sftp` function, which gets three kinds of event:
//! - API Gateway HTTP API events (payload 2.0) of the SFTP routes → `api::sftp`;
//! - DynamoDB stream records of removed SFTP user items (`S#…`, deleted by the API or by a
//!   bucket's delete cascade) → the Transfer user goes (`Services::sftp_user_removed`);
//! - `{"reconcile": true}` from the schedule (or an operator) → the reconciliation pass over
//!   every bucket with SFTP users (`Services::reconcile_registered`).

use std::future::Future;

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use lambda_http::Body;
use lambda_http::request::LambdaRequest;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

use super::http::{to_lambda_response, to_request};
use crate::api::request::Request;
use crate::api::response::Response;
use crate::config::Settings;

/// An SFTP user item whose stream record says it was removed: (bucket id, generation, name).
pub fn removed_users(event: &Value) -> Option<Vec<(String, String, String)>> {
    let records = event.get("Records")?.as_array()?;
    let mut out = Vec::new();
    for record in records {
        if record.get("eventName").and_then(Value::as_str) != Some("REMOVE") {
            continue;
        }
        let keys = &record["dynamodb"]["Keys"];
        let (Some(pk), Some(sk)) = (keys["pk"]["S"].as_str(), keys["sk"]["S"].as_str()) else {
            continue;
        };
        if let Some((id, generation)) = pk.strip_prefix("S#").and_then(|p| p.split_once('#')) {
            out.push((id.to_string(), generation.to_string(), sk.to_string()));
        }
    }
    Some(out)
}

/// What an event asks of the function.
pub enum SftpEvent {
    Http(Request),
    UsersRemoved(Vec<(String, String, String)>),
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
    match removed_users(&payload) {
        Some(users) => Ok(SftpEvent::UsersRemoved(users)),
        None => Err(Error::from(
            "neither an HTTP API event, a stream event nor {\"reconcile\": true}",
        )),
    }
}

/// API Gateway's payload 2.0 answer.
fn to_gateway(resp: Response) -> ApiGatewayV2httpResponse {
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

/// Serves the function's events until the runtime stops: `http` answers requests, `removed`
/// handles removed users (an error fails the batch: the stream redelivers it), `reconcile`
/// runs the pass.
pub async fn serve_sftp<H, HF, U, UF, R, RF>(
    settings: &'static Settings,
    http: H,
    removed: U,
    reconcile: R,
) -> Result<(), Error>
where
    H: Fn(Request) -> HF + Send + Sync,
    HF: Future<Output = Response> + Send,
    U: Fn(Vec<(String, String, String)>) -> UF + Send + Sync,
    UF: Future<Output = Result<(), String>> + Send,
    R: Fn() -> RF + Send + Sync,
    RF: Future<Output = Result<Value, String>> + Send,
{
    let (http, removed, reconcile) = (&http, &removed, &reconcile);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let answer: Result<Value, Error> = match classify(settings, event.payload)? {
            SftpEvent::Http(req) => Ok(serde_json::to_value(to_gateway(http(req).await))?),
            SftpEvent::UsersRemoved(users) => {
                let n = users.len();
                removed(users).await.map_err(Error::from)?;
                Ok(json!({"removed": n}))
            }
            SftpEvent::Reconcile => {
                let done = reconcile().await.map_err(Error::from)?;
                tracing::info!(%done, "reconciliation pass");
                Ok(done)
            }
        };
        answer
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removed_user_items_are_read_off_stream_records() {
        let event = json!({"Records": [
            {"eventName": "REMOVE", "dynamodb": {"Keys": {"pk": {"S": "S#b1#g1"}, "sk": {"S": "alice"}}}},
            {"eventName": "INSERT", "dynamodb": {"Keys": {"pk": {"S": "S#b1#g1"}, "sk": {"S": "bob"}}}},
            {"eventName": "REMOVE", "dynamodb": {"Keys": {"pk": {"S": "F#b1#g1"}, "sk": {"S": "a.txt"}}}},
        ]});
        assert_eq!(
            removed_users(&event).unwrap(),
            vec![("b1".into(), "g1".into(), "alice".into())]
        );
        assert!(removed_users(&json!({"x": 1})).is_none());
    }
}
