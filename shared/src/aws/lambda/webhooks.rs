//! The Lambda glue of the `webhooks` function: SQS batches of delivery attempts
//! (`DeliveryMessage` bodies) → `Services::deliver`, all of a batch at once (a slow receiver
//! holds up only its own attempt, bounded by `ATTEMPT_TIMEOUT`). A message whose attempt
//! fails to be recorded is reported in `batchItemFailures` (the mapping's
//! `ReportBatchItemFailures`), so only it comes back; a body that does not parse is dropped
//! with a log line (it would fail for ever).

use std::future::Future;

use futures_util::future::join_all;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

use crate::domain::webhooks::DeliveryMessage;

/// The messages of an SQS event: `(message id, parsed body)`, `None` for a body that is not a
/// delivery message.
pub fn sqs_messages(event: &Value) -> Vec<(String, Option<DeliveryMessage>)> {
    event["Records"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let id = r["messageId"].as_str().unwrap_or_default().to_string();
            let body = r["body"]
                .as_str()
                .and_then(|b| serde_json::from_str::<DeliveryMessage>(b).ok());
            (id, body)
        })
        .collect()
}

/// Serves SQS batches until the runtime stops; `deliver` makes one message's attempt.
pub async fn serve_webhooks<D, DF>(deliver: D) -> Result<(), Error>
where
    D: Fn(DeliveryMessage) -> DF + Send + Sync,
    DF: Future<Output = Result<String, String>> + Send,
{
    let deliver = &deliver;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let messages = sqs_messages(&event.payload);
        let attempts = messages.into_iter().map(|(id, message)| async move {
            let Some(message) = message else {
                tracing::error!(message_id = %id, "dropped a message that is not a delivery");
                return None;
            };
            match deliver(message).await {
                Ok(done) => {
                    tracing::info!(message_id = %id, %done, "webhook attempt");
                    None
                }
                Err(e) => {
                    tracing::warn!(message_id = %id, error = %e, "webhook attempt to be retried");
                    Some(json!({"itemIdentifier": id}))
                }
            }
        });
        let failures: Vec<Value> = join_all(attempts).await.into_iter().flatten().collect();
        Ok::<Value, Error>(json!({"batchItemFailures": failures}))
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_become_messages_and_junk_is_named() {
        let m = json!({"bucket_id": "b", "generation": "g", "webhook_id": "wh_1",
                       "delivery_id": "dl_1", "attempt": 2, "not_before": 5});
        let event = json!({"Records": [
            {"messageId": "m1", "body": m.to_string()},
            {"messageId": "m2", "body": "not json"},
        ]});
        let got = sqs_messages(&event);
        assert_eq!(got[0].0, "m1");
        assert_eq!(got[0].1.as_ref().unwrap().attempt, 2);
        assert_eq!((got[1].0.as_str(), got[1].1.is_none()), ("m2", true));
    }
}
