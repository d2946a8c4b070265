//! The Lambda glue of the upload-events function: S3 ObjectCreated events in, one
//! `Services::process_upload` call per object; ObjectRemoved:DeleteMarkerCreated events (a key
//! deleted over SFTP), one `Services::object_removed` call. The only code that knows that event's shape.

use aws_lambda_events::event::s3::S3Event;
use lambda_runtime::{Error, LambdaEvent, service_fn};

use crate::aws::dynamodb::DynamoStore;
use crate::aws::s3::S3Objects;
use crate::service::Services;

/// Serves S3 ObjectCreated events until the runtime stops: each object of an event is processed
/// in turn with the event time (ms). A failed object fails the invocation, so Lambda retries the
/// event (and, once its retries are spent, sends it to the dead-letter queue); processing is
/// idempotent, so objects already done are harmless to see again.
pub async fn serve_upload_events(
    services: &'static Services<DynamoStore, S3Objects>,
) -> Result<(), Error> {
    lambda_runtime::run(service_fn(move |event: LambdaEvent<S3Event>| async move {
        for record in event.payload.records {
            let Some(raw) = record.s3.object.key else {
                continue;
            };
            let key = object_key(&raw);
            if record
                .event_name
                .as_deref()
                .is_some_and(|n| n.starts_with("ObjectRemoved"))
            {
                match services.object_removed(&key).await {
                    Ok(removed) => tracing::info!(key, removed, "removal event processed"),
                    Err(e) => {
                        tracing::error!(key, error = ?e, "removal event failed; it will be retried");
                        return Err(Error::from(format!("processing {key} failed: {e:?}")));
                    }
                }
                continue;
            }
            // The version this event is about (the files bucket is versioned).
            let version = record.s3.object.version_id.filter(|v| !v.is_empty());
            let event_time = Some(record.event_time.timestamp_millis()).filter(|t| *t > 0);
            match services
                .process_upload(&key, version.as_deref(), event_time)
                .await
            {
                Ok(outcome) => {
                    tracing::info!(key, ?version, ?outcome, "upload event processed")
                }
                Err(e) => {
                    tracing::error!(key, error = ?e, "upload event failed; it will be retried");
                    return Err(Error::from(format!("processing {key} failed: {e:?}")));
                }
            }
        }
        Ok::<(), Error>(())
    }))
    .await
}

/// The object key an S3 event names: URL-encoded, with `+` for spaces.
fn object_key(raw: &str) -> String {
    percent_encoding::percent_decode_str(&raw.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_keys_are_decoded() {
        assert_eq!(
            object_key("b1/g1/u1/a+b%2Bc%C3%A9.txt"),
            "b1/g1/u1/a b+cé.txt"
        );
        assert_eq!(object_key("plain.csv"), "plain.csv");
    }
}
