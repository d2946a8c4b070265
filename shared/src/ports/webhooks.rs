//! The webhook ports: webhooks, events and deliveries as the table keeps them
//! (`WebhookStore`), the queue of delivery attempts (`DeliveryQueue`) and the HTTP POST to a
//! receiver (`WebhookSender`).

use std::future::Future;
use std::time::Duration;

use super::StoreError;
use crate::domain::webhooks::{
    Answer, Delivery, DeliveryMessage, Event, Target, UrlPolicy, Webhook,
};

/// A page of a webhook's deliveries, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryPage {
    pub deliveries: Vec<Delivery>,
    pub has_more: bool,
}

pub trait WebhookStore: Send + Sync {
    /// The incarnation's webhooks (at most `MAX_WEBHOOKS_PER_BUCKET`, by id).
    fn list_webhooks(
        &self,
        id: &str,
        generation: &str,
    ) -> impl Future<Output = Result<Vec<Webhook>, StoreError>> + Send;

    fn get_webhook(
        &self,
        id: &str,
        generation: &str,
        webhook_id: &str,
    ) -> impl Future<Output = Result<Option<Webhook>, StoreError>> + Send;

    /// Writes a webhook: a new one (`previous_modified` `None`; `Conflict` if the id exists,
    /// the bucket incarnation is gone or already holds `MAX_WEBHOOKS_PER_BUCKET` webhooks:
    /// the limit holds against concurrent creations; or the write lost a race on the count)
    /// or one last written at `previous_modified` (`Conflict` if it changed since or is gone).
    fn put_webhook(
        &self,
        id: &str,
        generation: &str,
        hook: &Webhook,
        previous_modified: Option<i64>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Deletes a webhook (a missing one is not an error), freeing its place under the limit;
    /// `Conflict` if the write lost a race to another on the count (it is still there: try
    /// again).
    fn delete_webhook(
        &self,
        id: &str,
        generation: &str,
        webhook_id: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Keeps the incarnation's webhooks until `expires_at` (s) and no longer: its bucket is
    /// deleted, and they serve only its `bucket.deleted` deliveries.
    fn retire_webhooks(
        &self,
        id: &str,
        generation: &str,
        expires_at: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The sequence number of `event` in its bucket: the one it was given before (a
    /// redelivered record), else the bucket's next.
    fn sequence_of(
        &self,
        event: &Event,
        expires_at: i64,
    ) -> impl Future<Output = Result<i64, StoreError>> + Send;

    /// Writes a new delivery unless one with its id exists: `false` then.
    fn create_delivery(
        &self,
        delivery: &Delivery,
        expires_at: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    fn get_delivery(
        &self,
        id: &str,
        generation: &str,
        webhook_id: &str,
        delivery_id: &str,
    ) -> impl Future<Output = Result<Option<Delivery>, StoreError>> + Send;

    /// Replaces a delivery whose version is `delivery.version - 1` (`Conflict` else).
    fn update_delivery(
        &self,
        delivery: &Delivery,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Up to `limit` of a webhook's deliveries older than `before` (a delivery id), newest
    /// first.
    fn list_deliveries(
        &self,
        id: &str,
        generation: &str,
        webhook_id: &str,
        before: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<DeliveryPage, StoreError>> + Send;
}

/// The queue of delivery attempts (SQS), and its dead-letter queue.
pub trait DeliveryQueue: Send + Sync {
    /// Queues an attempt, visible after `delay` (at most 15 minutes).
    fn send(
        &self,
        message: &DeliveryMessage,
        delay: Duration,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Parks a delivery whose attempts are over in the dead-letter queue.
    fn dead_letter(
        &self,
        message: &DeliveryMessage,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// A POST to a receiver.
pub trait WebhookSender: Send + Sync {
    /// POSTs `body` with `headers` to `url` (pointing at `target`), connecting only to
    /// addresses the policy allows, after resolving its name now; bounded by
    /// `ATTEMPT_TIMEOUT`. Never follows a redirect.
    fn post(
        &self,
        url: &str,
        target: &Target,
        policy: UrlPolicy,
        headers: &[(&str, String)],
        body: &str,
    ) -> impl Future<Output = Answer> + Send;

    /// Why `target` may not be delivered to now (its name resolves to no address, or to one
    /// the policy refuses), `Ok` if it may: checked when a webhook is created or its URL
    /// changed, and by every `post`.
    fn vet(
        &self,
        target: &Target,
        policy: UrlPolicy,
    ) -> impl Future<Output = Result<(), String>> + Send;
}
