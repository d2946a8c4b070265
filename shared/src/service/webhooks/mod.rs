//! A bucket's webhooks: managed by whoever may write the bucket; fed by the table's stream
//! (`queue_events`, the activity function); delivered one attempt per queue message
//! (`deliver`, the webhooks function).
//!
//! At least once, never twice at the same time: an event makes one delivery per webhook (its
//! id comes from the event and the webhook, written conditionally), and each attempt is
//! claimed by a conditional write of the delivery before the POST. A message that finds its
//! attempt made (a duplicate) does nothing; one whose claimer crashed takes it over. Every
//! failure of a step fails the message, which the queue hands back later.

mod delivery;

use std::time::Duration;

use super::Services;
use super::error::{Error, Result};
use super::retry::{WRITE_ATTEMPTS, on_conflict};
use crate::domain::access::Identity;
use crate::domain::bucket::Bucket;
use crate::domain::changes::Change;
use crate::domain::error::RuleError;
use crate::domain::ids::BucketRef;
use crate::domain::origin::{Origin, SUSPENDER};
use crate::domain::time::now_ms;
use crate::domain::webhooks::{
    self, ATTEMPT_TIMEOUT, Answer, DELIVERY_RETENTION_SECS, Delivery, DeliveryMessage,
    EVENT_RETENTION_SECS, Event, MAX_ERROR_BYTES, MAX_WEBHOOKS_PER_BUCKET, NewWebhook,
    RETIRED_WEBHOOK_SECS, ROTATION_GRACE_MS, Status, UrlPolicy, Webhook, WebhookPatch, check_url,
    event_of, new_secret, new_webhook_id, ping_event, retry_delay, signature_header,
};
use crate::ports::{
    BucketStore, DeliveryPage, DeliveryQueue, StoreError, WebhookSender, WebhookStore,
};

/// The longest delay a queue message can have (SQS: 15 minutes); longer waits are waited out
/// by sending the message on (`DeliveryMessage::not_before`).
pub const MAX_QUEUE_DELAY: Duration = Duration::from_secs(900);

/// What `queue_events` did with a batch.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Queued {
    pub events: usize,
    pub deliveries: usize,
}

/// What one message did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempted {
    /// Not due yet: sent on.
    Waiting,
    /// Its attempt was made (or the delivery is over): nothing to do.
    Duplicate,
    /// The delivery or its webhook is gone.
    Dropped,
    Delivered(u16),
    /// Failed; attempt `n` is queued.
    Retrying(u32),
    /// The last attempt failed, or the receiver answered `410 Gone` (the webhook is off).
    Failed,
    /// Not sent: the webhook's origin may no longer write the bucket (it is suspended).
    Suspended,
}

fn secs(ms: i64) -> i64 {
    ms / 1000
}

impl<S, O> Services<S, O> {
    fn url_policy(&self) -> UrlPolicy {
        UrlPolicy {
            allow_loopback: self.settings.webhooks_allow_loopback,
        }
    }

    fn retry_factor(&self) -> f64 {
        self.settings.webhook_retry_percent as f64 / 100.0
    }
}

impl<S: BucketStore + WebhookStore, O> Services<S, O> {
    async fn webhook_of(&self, bucket: &Bucket, webhook_id: &str) -> Result<Webhook> {
        self.store
            .get_webhook(&bucket.id, &bucket.generation, webhook_id)
            .await?
            .ok_or_else(|| Error::not_found("webhook", webhook_id))
    }

    pub async fn list_webhooks(
        &self,
        identity: &Identity,
        bucket: &BucketRef,
    ) -> Result<(Bucket, Vec<Webhook>)> {
        let bucket = self.writable(bucket, identity).await?;
        let hooks = self
            .store
            .list_webhooks(&bucket.id, &bucket.generation)
            .await?;
        Ok((bucket, hooks))
    }

    pub async fn get_webhook(
        &self,
        identity: &Identity,
        bucket: &BucketRef,
        webhook_id: &str,
    ) -> Result<(Bucket, Webhook)> {
        let bucket = self.writable(bucket, identity).await?;
        let hook = self.webhook_of(&bucket, webhook_id).await?;
        Ok((bucket, hook))
    }

    /// A new webhook (its secret is in the answer, this once). Its URL's name must resolve to
    /// allowed addresses now (`vet`), as each delivery checks again.
    pub async fn create_webhook<W: WebhookSender>(
        &self,
        sender: &W,
        identity: &Identity,
        bucket: &BucketRef,
        new: NewWebhook,
    ) -> Result<(Bucket, Webhook)> {
        let bucket = self.writable(bucket, identity).await?;
        // Checked before the URL's name is resolved; the write checks again, atomically.
        self.refuse_if_full(&bucket).await?;
        self.vet_url(sender, &new.url).await?;
        let now = now_ms();
        let hook = Webhook {
            id: new_webhook_id(),
            url: new.url,
            events: new.events,
            glob: new.glob,
            active: new.active,
            secret: new_secret(),
            previous_secret: None,
            previous_until: None,
            disabled_reason: None,
            created: now,
            created_by: identity.acting_principal(),
            last_modified: now,
            modified_by: identity.acting_principal(),
            origin: Some(Origin::of(identity, &bucket)),
            suspended: None,
            retired: false,
        };
        on_conflict(
            WRITE_ATTEMPTS,
            "The bucket's webhooks were changed concurrently; retry",
            || async {
                match self
                    .store
                    .put_webhook(&bucket.id, &bucket.generation, &hook, None)
                    .await
                {
                    // Full (creations raced past the check above), the bucket is gone, or the
                    // write lost a race on the count to another (then again).
                    Err(StoreError::Conflict) => {
                        self.refuse_if_full(&bucket).await?;
                        match self.store.get(&bucket.id).await? {
                            Some(b) if b.generation == bucket.generation => {
                                Err(StoreError::Conflict.into())
                            }
                            _ => Err(Error::not_found("bucket", bucket.id.as_str())),
                        }
                    }
                    other => Ok(other?),
                }
            },
        )
        .await?;
        Ok((bucket, hook))
    }

    async fn refuse_if_full(&self, bucket: &Bucket) -> Result<()> {
        let present = self
            .store
            .list_webhooks(&bucket.id, &bucket.generation)
            .await?;
        if present.len() >= MAX_WEBHOOKS_PER_BUCKET {
            return Err(RuleError::invalid(
                "url",
                format!("the bucket already has {MAX_WEBHOOKS_PER_BUCKET} webhooks (the limit)"),
            )
            .into());
        }
        Ok(())
    }

    async fn vet_url<W: WebhookSender>(&self, sender: &W, url: &str) -> Result<()> {
        let target = check_url(url, self.url_policy())?;
        sender
            .vet(&target, self.url_policy())
            .await
            .map_err(|why| RuleError::invalid("url", why).into())
    }

    /// Changes a webhook (`patch`) or rotates its secret (`rotate`: the old one keeps signing
    /// for `ROTATION_GRACE_MS`); written only if nobody changed it meanwhile.
    pub async fn update_webhook<W: WebhookSender>(
        &self,
        sender: &W,
        identity: &Identity,
        bucket: &BucketRef,
        webhook_id: &str,
        patch: Option<&WebhookPatch>,
    ) -> Result<(Bucket, Webhook)> {
        let bucket = self.writable(bucket, identity).await?;
        let current = self.webhook_of(&bucket, webhook_id).await?;
        let mut hook = current.clone();
        let now = now_ms();
        match patch {
            Some(patch) => {
                // A writer's change takes the webhook over: it sends for that writer from now
                // on, and a suspended one resumes — only once the writer names where it sends
                // (the suspended maker chose the URL, and may be its receiver).
                if current.suspended.is_some() && patch.url.is_none() {
                    return Err(RuleError::invalid(
                        "url",
                        "the webhook is suspended: a takeover names the URL it is to send to",
                    )
                    .into());
                }
                if let Some(url) = &patch.url {
                    self.vet_url(sender, url).await?;
                }
                patch.apply(&mut hook);
                hook.origin = Some(Origin::of(identity, &bucket));
                hook.suspended = None;
            }
            // A rotation changes the secret only: a suspended webhook stays suspended.
            None => {
                hook.previous_secret = Some(std::mem::replace(&mut hook.secret, new_secret()));
                hook.previous_until = Some(now + ROTATION_GRACE_MS);
            }
        }
        hook.last_modified = crate::domain::time::next_timestamp(Some(current.last_modified), now);
        hook.modified_by = identity.acting_principal();
        match self
            .store
            .put_webhook(
                &bucket.id,
                &bucket.generation,
                &hook,
                Some(current.last_modified),
            )
            .await
        {
            Err(StoreError::Conflict) => Err(Error::Busy(format!(
                "webhook {webhook_id} changed meanwhile; read it again"
            ))),
            other => Ok(other.map(|()| (bucket, hook))?),
        }
    }

    pub async fn delete_webhook(
        &self,
        identity: &Identity,
        bucket: &BucketRef,
        webhook_id: &str,
    ) -> Result<()> {
        let bucket = self.writable(bucket, identity).await?;
        self.webhook_of(&bucket, webhook_id).await?;
        on_conflict(
            WRITE_ATTEMPTS,
            "The bucket's webhooks were changed concurrently; retry",
            || async {
                Ok(self
                    .store
                    .delete_webhook(&bucket.id, &bucket.generation, webhook_id)
                    .await?)
            },
        )
        .await
    }

    /// Sends a `webhook.ping` to the webhook (whatever its events; even an inactive one), once
    /// per `PING_WINDOW_MS`: a repeat within it answers that ping's delivery.
    pub async fn ping_webhook<Q: DeliveryQueue>(
        &self,
        queue: &Q,
        identity: &Identity,
        bucket: &BucketRef,
        webhook_id: &str,
    ) -> Result<Delivery> {
        let bucket = self.writable(bucket, identity).await?;
        let hook = self.webhook_of(&bucket, webhook_id).await?;
        let now = now_ms();
        let user = identity.acting_principal();
        let event = ping_event(&bucket.id, &bucket.generation, &hook.id, &user, now);
        // Not a change of the bucket: no number of its sequence (0), no gap in it.
        let delivery = Delivery::new(&event, 0, &hook.id, now);
        let created = self
            .store
            .create_delivery(&delivery, secs(now) + DELIVERY_RETENTION_SECS)
            .await?;
        if !created {
            // Pinged already in this window: that ping stands, as it is now.
            let first = self
                .store
                .get_delivery(&bucket.id, &bucket.generation, &hook.id, &delivery.id)
                .await?;
            return Ok(first.unwrap_or(delivery));
        }
        queue
            .send(&DeliveryMessage::of(&delivery, 1, now), Duration::ZERO)
            .await?;
        Ok(delivery)
    }

    pub async fn list_deliveries(
        &self,
        identity: &Identity,
        bucket: &BucketRef,
        webhook_id: &str,
        before: Option<&str>,
        limit: usize,
    ) -> Result<DeliveryPage> {
        let bucket = self.writable(bucket, identity).await?;
        self.webhook_of(&bucket, webhook_id).await?;
        Ok(self
            .store
            .list_deliveries(&bucket.id, &bucket.generation, webhook_id, before, limit)
            .await?)
    }

    /// Starts a delivery over: a new round of attempts from the first (one under way is
    /// left to finish: 409).
    pub async fn redeliver<Q: DeliveryQueue>(
        &self,
        queue: &Q,
        identity: &Identity,
        bucket: &BucketRef,
        webhook_id: &str,
        delivery_id: &str,
    ) -> Result<Delivery> {
        let bucket = self.writable(bucket, identity).await?;
        self.webhook_of(&bucket, webhook_id).await?;
        let current = self
            .store
            .get_delivery(&bucket.id, &bucket.generation, webhook_id, delivery_id)
            .await?
            .ok_or_else(|| Error::not_found("delivery", delivery_id))?;
        let now = now_ms();
        if current.status == Status::Sending
            && !current.may_claim(current.round, current.attempts, now)
        {
            return Err(Error::Busy(format!(
                "delivery {delivery_id} is being attempted; try again in a few seconds"
            )));
        }
        let mut d = current;
        d.status = Status::Pending;
        d.attempts = 0;
        d.round += 1;
        d.claimed_at = None;
        d.next_attempt_at = Some(now);
        d.version += 1;
        match self.store.update_delivery(&d).await {
            Err(StoreError::Conflict) => {
                return Err(Error::Busy(format!(
                    "delivery {delivery_id} changed meanwhile; try again"
                )));
            }
            other => other?,
        }
        queue
            .send(&DeliveryMessage::of(&d, 1, now), Duration::ZERO)
            .await?;
        Ok(d)
    }
}
