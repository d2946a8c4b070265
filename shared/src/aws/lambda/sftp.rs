//! The Lambda glue of the `sftp` function, which gets three kinds of event:
//! - API Gateway HTTP API events (payload 2.0) of the SFTP routes → `api::sftp`;
//! - DynamoDB stream records of removed SFTP user items (`S#…`, deleted by the API or by a
//!   bucket's delete cascade) → the Transfer user goes (`Services::sftp_user_removed`); of
//!   suspended ones → the Transfer user loses its keys (`Services::sftp_user_changed`); and of
//!   buckets whose `active` changed → their users' session policies follow
//!   (`Services::sftp_bucket_activity`);
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

/// An SFTP user: (bucket id, generation, name).
pub type UserRef = (String, String, String);

/// The SFTP user items whose stream records say they were removed.
pub fn removed_users(event: &Value) -> Option<Vec<UserRef>> {
    users_with(event, "REMOVE")
}

/// The SFTP user items the service changed so that Transfer must follow (the filter passes
/// only suspended ones: `suspended` on the item).
pub fn changed_users(event: &Value) -> Vec<UserRef> {
    users_with(event, "MODIFY").unwrap_or_default()
}

fn users_with(event: &Value, event_name: &str) -> Option<Vec<UserRef>> {
    let records = event.get("Records")?.as_array()?;
    let mut out = Vec::new();
    for record in records {
        if record.get("eventName").and_then(Value::as_str) != Some(event_name) {
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

/// Buckets whose stream records say `active` changed (MODIFY of `B#<id>` items; the filter
/// passes only those), each once.
pub fn activity_changes(event: &Value) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for record in event
        .get("Records")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if record.get("eventName").and_then(Value::as_str) != Some("MODIFY") {
            continue;
        }
        let image = |which: &str| record["dynamodb"][which]["active"]["BOOL"].as_bool();
        if image("OldImage") == image("NewImage") {
            continue;
        }
        if let Some(id) = record["dynamodb"]["Keys"]["pk"]["S"]
            .as_str()
            .and_then(|pk| pk.strip_prefix("B#"))
            && !ids.iter().any(|i| i == id)
        {
            ids.push(id.to_string());
        }
    }
    ids
}

/// What the stream records of a batch ask of the function.
#[derive(Debug, Default, PartialEq)]
pub struct SftpChanges {
    pub removed: Vec<UserRef>,
    pub changed: Vec<UserRef>,
    pub activity: Vec<String>,
}

/// What an event asks of the function.
pub enum SftpEvent {
    Http(Request),
    /// Stream records: removed and suspended users, and buckets whose `active` changed.
    Stream(SftpChanges),
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
        Some(removed) => Ok(SftpEvent::Stream(SftpChanges {
            removed,
            changed: changed_users(&payload),
            activity: activity_changes(&payload),
        })),
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

/// Serves the function's events until the runtime stops: `http` answers requests, `stream`
/// handles removed users and buckets whose `active` changed (an error fails the batch: the
/// stream redelivers it), `reconcile` runs the pass.
pub async fn serve_sftp<H, HF, U, UF, R, RF>(
    settings: &'static Settings,
    http: H,
    stream: U,
    reconcile: R,
) -> Result<(), Error>
where
    H: Fn(Request) -> HF + Send + Sync,
    HF: Future<Output = Response> + Send,
    U: Fn(SftpChanges) -> UF + Send + Sync,
    UF: Future<Output = Result<(), String>> + Send,
    R: Fn() -> RF + Send + Sync,
    RF: Future<Output = Result<Value, String>> + Send,
{
    let (http, stream, reconcile) = (&http, &stream, &reconcile);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let answer: Result<Value, Error> = match classify(settings, event.payload)? {
            SftpEvent::Http(req) => Ok(serde_json::to_value(to_gateway(http(req).await))?),
            SftpEvent::Stream(changes) => {
                let counts = json!({"removed": changes.removed.len(),
                    "changed": changes.changed.len(), "activity": changes.activity.len()});
                stream(changes).await.map_err(Error::from)?;
                Ok(counts)
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
        assert_eq!(
            changed_users(&event),
            Vec::<UserRef>::new(),
            "an INSERT is no change"
        );
        let modify = json!({"Records": [{"eventName": "MODIFY", "dynamodb": {"Keys":
            {"pk": {"S": "S#b1#g1"}, "sk": {"S": "carol"}}}}]});
        assert_eq!(
            changed_users(&modify),
            vec![("b1".into(), "g1".into(), "carol".into())]
        );
    }

    #[test]
    fn buckets_whose_active_flag_changed_are_read_off_stream_records() {
        let record = |pk: &str, old: bool, new: bool| {
            json!({"eventName": "MODIFY", "dynamodb": {
                "Keys": {"pk": {"S": pk}, "sk": {"S": "B"}},
                "OldImage": {"active": {"BOOL": old}}, "NewImage": {"active": {"BOOL": new}}}})
        };
        let event = json!({"Records": [
            record("B#b1", true, false),
            record("B#b2", true, true),
            record("B#b1", false, true),
            record("B#b3", false, true),
        ]});
        assert_eq!(activity_changes(&event), ["b1", "b3"]);
    }
}
