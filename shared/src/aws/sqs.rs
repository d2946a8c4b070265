//! `DeliveryQueue` over SQS: the webhook delivery queue and its dead-letter queue
//! (`WEBHOOK_QUEUE_URL`, `WEBHOOK_DEAD_LETTER_URL`). A message body is a `DeliveryMessage` as
//! JSON; the webhooks function reads them back (`aws::lambda::webhooks`).

use std::time::Duration;

use aws_sdk_sqs::Client;

use super::dynamodb::classify_sdk;
use crate::domain::webhooks::DeliveryMessage;
use crate::ports::{DeliveryQueue, StoreError};
use crate::service::webhooks::MAX_QUEUE_DELAY;

pub struct SqsQueue {
    client: Client,
    queue_url: String,
    dead_letter_url: String,
}

impl SqsQueue {
    /// From the environment (no network); `Err` names what is missing.
    pub fn from_env(sdk: &aws_config::SdkConfig) -> Result<SqsQueue, String> {
        let var = |k: &str| std::env::var(k).map_err(|_| format!("{k} is not set"));
        Ok(SqsQueue {
            client: Client::new(sdk),
            queue_url: var("WEBHOOK_QUEUE_URL")?,
            dead_letter_url: var("WEBHOOK_DEAD_LETTER_URL")?,
        })
    }

    async fn put(&self, url: &str, m: &DeliveryMessage, delay: Duration) -> Result<(), StoreError> {
        let body = serde_json::to_string(m).map_err(|e| StoreError::Other(e.to_string()))?;
        let delay = delay.min(MAX_QUEUE_DELAY).as_secs_f64().ceil() as i32;
        self.client
            .send_message()
            .queue_url(url)
            .message_body(body)
            .delay_seconds(delay)
            .send()
            .await
            .map(|_| ())
            .map_err(classify_sdk)
    }
}

impl DeliveryQueue for SqsQueue {
    async fn send(&self, message: &DeliveryMessage, delay: Duration) -> Result<(), StoreError> {
        self.put(&self.queue_url, message, delay).await
    }

    async fn dead_letter(&self, message: &DeliveryMessage) -> Result<(), StoreError> {
        self.put(&self.dead_letter_url, message, Duration::ZERO)
            .await
    }
}
