//! The Lambda glue of the cascade function: events in, `service::cascade` passes out. The only
//! code that knows these events' shapes. Two kinds of event:
//! - DynamoDB stream records of cascade markers (INSERT when something is deleted, MODIFY when
//!   a pass saved its progress or an operator replayed it): one pass per marker;
//! - `{"replay": true}`, invoked by an operator: re-triggers every pending cascade (after
//!   failures went to the dead-letter queue); `{"replay": true, "idle_seconds": 3600}`, the
//!   hourly sweep: re-triggers those nobody has written for an hour (dead-lettered, or whose
//!   stream records outlived the stream's 24 h retention).
//!
//! A marker whose pass fails fails the invocation, so the event source mapping retries the batch
//! (every pass is idempotent) and, once its retries are spent, sends the batch's description
//! to the dead-letter queue; the marker itself stays in the table until replayed.

use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

use crate::aws::Resources;
use crate::aws::dynamodb::stream::changes;
use crate::domain::time::now_ms;
use crate::service::cascade::{self, Budget, Outcome};

/// Markers of one batch worked on at once (each with its own parallel deletes).
const PARALLEL_MARKERS: usize = 4;
/// Time kept back from the invocation's deadline for the last calls and the progress write.
const DEADLINE_MARGIN: Duration = Duration::from_secs(20);

/// The marker keys a stream event names, in order and once each; `None` when the event is not
/// a stream event. Deletions of markers (REMOVE) and other items are not work.
pub fn stream_marker_keys(event: &Value) -> Option<Vec<String>> {
    let mut keys: Vec<String> = Vec::new();
    for change in changes(event)? {
        if let Some(key) = change.marker_written()
            && !keys.iter().any(|k| k == key)
        {
            keys.push(key.to_string());
        }
    }
    Some(keys)
}

/// When a pass must stop: `pass_secs` from now, and well before the invocation's deadline.
fn pass_end(deadline_ms: u64, pass_secs: u64) -> Instant {
    let left_ms = (deadline_ms as i64 - now_ms()).max(0) as u64;
    let left = Duration::from_millis(left_ms).saturating_sub(DEADLINE_MARGIN);
    Instant::now() + left.min(Duration::from_secs(pass_secs))
}

/// Serves cascade events until the runtime stops.
pub async fn serve_cascade(r: &'static Resources) -> Result<(), Error> {
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handle(r, event.payload, event.context.deadline).await
    }))
    .await
}

async fn handle(r: &Resources, payload: Value, deadline_ms: u64) -> Result<Value, Error> {
    if payload.get("replay").and_then(Value::as_bool) == Some(true) {
        // `idle_seconds` (the hourly sweep): only markers nobody has written for that long.
        let idle_since = payload
            .get("idle_seconds")
            .and_then(Value::as_i64)
            .map(|secs| now_ms() - secs * 1000);
        let touched = cascade::replay(&r.store, idle_since)
            .await
            .map_err(|e| Error::from(format!("replay failed: {e:?}")))?;
        tracing::info!(touched, "pending cascades replayed");
        return Ok(json!({"replayed": touched}));
    }
    let Some(keys) = stream_marker_keys(&payload) else {
        return Err(Error::from(
            "not a DynamoDB stream event nor {\"replay\": true}",
        ));
    };
    let budget = Budget {
        until: pass_end(deadline_ms, r.settings.cascade.pass_secs),
        after_delete_call: &|| {},
    };
    let budget = &budget;
    let results: Vec<_> = stream::iter(keys)
        .map(|key| async move {
            let started = Instant::now();
            let result = cascade::process_marker(&r.store, &r.objects, &key, budget).await;
            (key, started.elapsed(), result)
        })
        .buffer_unordered(PARALLEL_MARKERS)
        .collect()
        .await;
    let mut failed = Vec::new();
    for (marker, elapsed, result) in results {
        let ms = elapsed.as_millis() as u64;
        match result {
            Ok(Outcome::Finished { passes, tally }) => tracing::info!(
                marker,
                passes,
                last_pass_ms = ms,
                calls = tally.calls(),
                list_objects = tally.list_objects,
                delete_objects = tally.delete_objects,
                query = tally.query,
                batch_write_item = tally.batch_write_item,
                other_calls = tally.other_calls,
                objects_deleted = tally.objects_deleted,
                items_deleted = tally.items_deleted,
                "cascade finished"
            ),
            Ok(Outcome::Continued { passes }) => {
                tracing::info!(
                    marker,
                    passes,
                    pass_ms = ms,
                    "cascade continues in a new pass"
                )
            }
            Ok(Outcome::AlreadyDone) => tracing::debug!(marker, "cascade already finished"),
            Err(e) => {
                tracing::error!(marker, error = ?e, "cascade pass failed; it will be retried");
                failed.push(marker);
            }
        }
    }
    if failed.is_empty() {
        Ok(json!({"failed": []}))
    } else {
        // The whole batch is retried: finished markers are gone, so only the failed ones work.
        Err(Error::from(format!("cascade passes failed: {failed:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_events_name_each_marker_to_work_on_once() {
        // The decoding of records is the adapter's (`aws::dynamodb::stream`).
        assert_eq!(stream_marker_keys(&json!({"replay": true})), None);
        assert_eq!(
            stream_marker_keys(&json!({"Records": []})).unwrap().len(),
            0
        );
    }

    #[test]
    fn a_pass_ends_before_the_deadline_and_within_its_seconds() {
        let now = now_ms() as u64;
        let soon = pass_end(now + 900_000, 300);
        let d = soon.duration_since(Instant::now());
        assert!(
            d <= Duration::from_secs(300) && d > Duration::from_secs(290),
            "{d:?}"
        );
        let tight = pass_end(now + 30_000, 300);
        assert!(tight.duration_since(Instant::now()) <= Duration::from_secs(10));
        // Past the deadline: no time, but still a pass (each pass gets through one page).
        assert!(pass_end(now - 1_000, 300) <= Instant::now() + Duration::from_millis(5));
    }
}
