//! The Lambda glue of the `activity` function, which gets two kinds of event:
//! - API Gateway HTTP API events (payload 2.0) of `GET /v1/buckets/{id}/history` →
//!   `api::history`;
//! - DynamoDB stream records of buckets, data documents, file records and file deletion markers
//!   (the template's filter passes only those) → `Services::record_changes`, one history entry
//!   per change. A failing batch fails the invocation and the stream redelivers it: entries are
//!   keyed by their record, so none is written twice.

use std::future::Future;

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use lambda_http::request::LambdaRequest;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Map, Value, json};

use super::http::to_request;
use super::sftp::to_gateway;
use crate::api::request::Request;
use crate::api::response::Response;
use crate::config::Settings;
use crate::domain::history::Change;

/// A DynamoDB-typed attribute value (`{"S": "…"}`, `{"N": "12"}`, …) as plain JSON.
fn plain(typed: &Value) -> Value {
    let Some((tag, v)) = typed.as_object().and_then(|m| m.iter().next()) else {
        return Value::Null;
    };
    match tag.as_str() {
        "S" | "BOOL" => v.clone(),
        "N" => v
            .as_str()
            .and_then(|n| {
                n.parse::<i64>()
                    .ok()
                    .map(Value::from)
                    .or_else(|| n.parse::<f64>().ok().map(Value::from))
            })
            .unwrap_or(Value::Null),
        "L" => Value::Array(v.as_array().into_iter().flatten().map(plain).collect()),
        "M" => Value::Object(image(v).unwrap_or_default()),
        "SS" | "NS" => v.clone(),
        _ => Value::Null,
    }
}

fn image(typed: &Value) -> Option<Map<String, Value>> {
    typed
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), plain(v))).collect())
}

/// The changes a stream event carries, in order; `None` when the event is not a stream event.
pub fn stream_changes(event: &Value) -> Option<Vec<Change>> {
    let records = event.get("Records")?.as_array()?;
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    Some(
        records
            .iter()
            .map(|r| {
                let d = &r["dynamodb"];
                Change {
                    event_id: text(&r["eventID"]),
                    sequence: text(&d["SequenceNumber"]),
                    event_name: text(&r["eventName"]),
                    pk: text(&d["Keys"]["pk"]["S"]),
                    sk: text(&d["Keys"]["sk"]["S"]),
                    old: d.get("OldImage").and_then(image),
                    new: d.get("NewImage").and_then(image),
                    approximate_ms: d["ApproximateCreationDateTime"]
                        .as_f64()
                        .map(|secs| (secs * 1000.0) as i64),
                }
            })
            .collect(),
    )
}

/// Serves the function's events until the runtime stops: `http` answers requests, `stream`
/// records a batch of changes (an error fails the batch: the stream redelivers it).
pub async fn serve_activity<H, HF, U, UF>(
    settings: &'static Settings,
    http: H,
    stream: U,
) -> Result<(), Error>
where
    H: Fn(Request) -> HF + Send + Sync,
    HF: Future<Output = Response> + Send,
    U: Fn(Vec<Change>) -> UF + Send + Sync,
    UF: Future<Output = Result<Value, String>> + Send,
{
    let (http, stream) = (&http, &stream);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let payload = event.payload;
        if payload.get("requestContext").is_some() {
            let event: ApiGatewayV2httpRequest = serde_json::from_value(payload)?;
            let request = http::Request::from(LambdaRequest::ApiGatewayV2(event));
            let resp = http(to_request(settings, request)).await;
            return Ok::<Value, Error>(serde_json::to_value(to_gateway(resp))?);
        }
        let Some(changes) = stream_changes(&payload) else {
            return Err(Error::from("neither an HTTP API event nor a stream event"));
        };
        let done = stream(changes).await.map_err(Error::from)?;
        tracing::info!(%done, "history recorded");
        Ok(json!(done))
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_records_become_plain_changes() {
        let event = json!({"Records": [{
            "eventID": "e1", "eventName": "MODIFY",
            "dynamodb": {
                "SequenceNumber": "4200",
                "Keys": {"pk": {"S": "B#b1"}, "sk": {"S": "B"}},
                "OldImage": {"revision": {"N": "1"}},
                "NewImage": {"revision": {"N": "2"}, "active": {"BOOL": true},
                             "l": {"L": [{"S": "x"}]}, "m": {"M": {"n": {"N": "1.5"}}}}
            }
        }]});
        let changes = stream_changes(&event).unwrap();
        assert_eq!(changes.len(), 1);
        let c = &changes[0];
        assert_eq!((c.event_id.as_str(), c.sequence.as_str()), ("e1", "4200"));
        assert_eq!(
            (c.pk.as_str(), c.sk.as_str(), c.event_name.as_str()),
            ("B#b1", "B", "MODIFY")
        );
        assert_eq!(c.old.as_ref().unwrap()["revision"], 1);
        let new = c.new.as_ref().unwrap();
        assert_eq!(
            (new["revision"].clone(), new["active"].clone()),
            (json!(2), json!(true))
        );
        assert_eq!(new["l"], json!(["x"]));
        assert_eq!(new["m"], json!({"n": 1.5}));
        assert!(stream_changes(&json!({"x": 1})).is_none());
    }
}
