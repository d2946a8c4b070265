//! A bucket's webhooks: managed by whoever may write the bucket; fed by the table's stream
//! (`queue_events`, the activity function); delivered one attempt per queue message
//! (`deliver`, the webhooks function).
//!
//! At least once, never twice at the same time: an event makes one delivery per webhook (its
//! id comes from the event and the webhook, written conditionally), and each attempt is
//! claimed by a conditional write of the delivery before the POST. A message that finds its
//! attempt made (a duplicate) does nothing; one whose claimer crashed takes it over. Every
//! failure of a step fails the message, which the queue hands back later.

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

impl<S: BucketStore + WebhookStore, O> Services<S, O> {
    /// The deliveries the changes make, in order: for each event, one per webhook that wants
    /// it, written (once) and queued. A bucket's deletion retires its webhooks after its
    /// `bucket.deleted` deliveries: nothing else is sent for that incarnation.
    pub async fn queue_events<Q: DeliveryQueue>(
        &self,
        queue: &Q,
        changes: &[Change],
    ) -> Result<Queued> {
        let mut done = Queued::default();
        // One listing per incarnation per batch.
        let mut hooks: Vec<((String, String), Vec<Webhook>)> = Vec::new();
        for event in changes.iter().filter_map(event_of) {
            let incarnation = (event.bucket_id.clone(), event.generation.clone());
            let listed = match hooks.iter().position(|(k, _)| *k == incarnation) {
                Some(i) => &hooks[i].1,
                None => {
                    let listed = self
                        .store
                        .list_webhooks(&event.bucket_id, &event.generation)
                        .await?;
                    hooks.push((incarnation, listed));
                    &hooks[hooks.len() - 1].1
                }
            };
            let wanted: Vec<&Webhook> = listed.iter().filter(|h| h.wants(&event)).collect();
            if !wanted.is_empty() {
                done.events += 1;
                done.deliveries += self.queue_event(queue, &event, &wanted).await?;
            }
            if event.kind == webhooks::BUCKET_DELETED {
                // Its counter expires too, even when no webhook is left.
                let expires = secs(now_ms()) + RETIRED_WEBHOOK_SECS;
                self.store
                    .retire_webhooks(&event.bucket_id, &event.generation, expires)
                    .await?;
                if let Some((_, cached)) = hooks
                    .iter_mut()
                    .find(|(k, _)| k.0 == event.bucket_id && k.1 == event.generation)
                {
                    cached.iter_mut().for_each(|h| h.retired = true);
                }
            }
        }
        Ok(done)
    }

    async fn queue_event<Q: DeliveryQueue>(
        &self,
        queue: &Q,
        event: &Event,
        hooks: &[&Webhook],
    ) -> Result<usize> {
        let now = now_ms();
        let sequence = self
            .store
            .sequence_of(event, secs(now) + EVENT_RETENTION_SECS)
            .await?;
        let mut queued = 0;
        for hook in hooks {
            let fresh = Delivery::new(event, sequence, &hook.id, now);
            let created = self
                .store
                .create_delivery(&fresh, secs(now) + DELIVERY_RETENTION_SECS)
                .await?;
            // A repeated record queues the first attempt again while none was made (the
            // message may have been lost to a crash); a made one needs nothing.
            let first_pending = created
                || self
                    .store
                    .get_delivery(&fresh.bucket_id, &fresh.generation, &hook.id, &fresh.id)
                    .await?
                    .is_some_and(|d| d.status == Status::Pending && d.attempts == 0);
            if first_pending {
                queue
                    .send(&DeliveryMessage::of(&fresh, 1, now), Duration::ZERO)
                    .await?;
                queued += 1;
            }
        }
        Ok(queued)
    }

    /// Makes the attempt a message asks for, if it is due and still to be made.
    pub async fn deliver<Q: DeliveryQueue, W: WebhookSender>(
        &self,
        queue: &Q,
        sender: &W,
        message: &DeliveryMessage,
    ) -> Result<Attempted> {
        let now = now_ms();
        if message.not_before > now + 1000 {
            let wait = Duration::from_millis((message.not_before - now) as u64);
            queue.send(message, wait.min(MAX_QUEUE_DELAY)).await?;
            return Ok(Attempted::Waiting);
        }
        let m = message;
        let Some(current) = self
            .store
            .get_delivery(&m.bucket_id, &m.generation, &m.webhook_id, &m.delivery_id)
            .await?
        else {
            return Ok(Attempted::Dropped);
        };
        if !current.may_claim(m.round, m.attempt, now) {
            return Ok(Attempted::Duplicate);
        }
        let hook = self
            .store
            .get_webhook(&m.bucket_id, &m.generation, &m.webhook_id)
            .await?;
        let mut d = current;
        let usable = |h: &Webhook| {
            (h.active || d.event == webhooks::PING)
                && (!h.retired || d.event == webhooks::BUCKET_DELETED)
        };
        let Some(hook) = hook.filter(usable) else {
            d.status = Status::Failed;
            d.last_error =
                Some("the webhook is deleted or not active, or its bucket is deleted".into());
            d.next_attempt_at = None;
            d.version += 1;
            return self.settle_delivery(&d, Attempted::Dropped).await;
        };
        // Sent only while whoever it sends for may still write the bucket (checked now, not
        // when the event was queued): otherwise it is suspended, and this delivery ends.
        if let Some(why) = self.hook_problem(&m.bucket_id, &hook, &d).await? {
            self.suspend_webhook(&m.bucket_id, &m.generation, &hook, &why)
                .await?;
            d.status = Status::Failed;
            d.last_error = Some(
                format!("the webhook is suspended: {why}")
                    .chars()
                    .take(MAX_ERROR_BYTES)
                    .collect(),
            );
            d.next_attempt_at = None;
            d.version += 1;
            return self.settle_delivery(&d, Attempted::Suspended).await;
        }
        // The claim: only one message makes this attempt.
        d.status = Status::Sending;
        d.attempts = m.attempt;
        d.claimed_at = Some(now);
        d.version += 1;
        match self.store.update_delivery(&d).await {
            Err(StoreError::Conflict) => return Ok(Attempted::Duplicate),
            other => other?,
        }
        let answer = self.post(sender, &hook, &d).await;
        let after = now_ms();
        d.last_attempt_at = Some(after);
        d.claimed_at = None;
        d.version += 1;
        let (status, error) = match &answer {
            Answer::Status(code) => (Some(*code), None),
            Answer::Failed(why) => (None, Some(why.clone())),
        };
        d.last_status = status;
        d.last_error = error.map(|e| e.chars().take(MAX_ERROR_BYTES).collect());
        let outcome = match status {
            Some(code @ 200..=299) => {
                d.status = Status::Delivered;
                d.next_attempt_at = None;
                Attempted::Delivered(code)
            }
            Some(410) => {
                d.status = Status::Failed;
                d.next_attempt_at = None;
                self.disable(&m.bucket_id, &m.generation, &hook).await?;
                Attempted::Failed
            }
            _ => match retry_delay(m.attempt, self.retry_factor()) {
                Some(wait) => {
                    let due = after + wait.as_millis() as i64;
                    let next = DeliveryMessage::of(&d, m.attempt + 1, due);
                    // Queued before the delivery says so: a crash in between fails this
                    // message, whose redelivery takes the claim over.
                    queue.send(&next, wait.min(MAX_QUEUE_DELAY)).await?;
                    d.status = Status::Pending;
                    d.next_attempt_at = Some(due);
                    Attempted::Retrying(m.attempt + 1)
                }
                None => {
                    queue.dead_letter(m).await?;
                    d.status = Status::Failed;
                    d.next_attempt_at = None;
                    Attempted::Failed
                }
            },
        };
        self.settle_delivery(&d, outcome).await
    }

    /// Writes the delivery's outcome; a lost race means a takeover wrote a newer one.
    async fn settle_delivery(&self, d: &Delivery, outcome: Attempted) -> Result<Attempted> {
        match self.store.update_delivery(d).await {
            Err(StoreError::Conflict) => Ok(Attempted::Duplicate),
            other => Ok(other.map(|()| outcome)?),
        }
    }

    async fn post<W: WebhookSender>(&self, sender: &W, hook: &Webhook, d: &Delivery) -> Answer {
        let target = match check_url(&hook.url, self.url_policy()) {
            Ok(t) => t,
            Err(e) => return Answer::Failed(format!("the URL is refused: {}", e.reason)),
        };
        let now = now_ms();
        let timestamp = secs(now);
        let headers = [
            ("content-type", "application/json".to_string()),
            ("user-agent", "Buckets-Webhooks/1".to_string()),
            ("webhook-id", d.event_id.clone()),
            ("webhook-timestamp", timestamp.to_string()),
            (
                "webhook-signature",
                signature_header(
                    &hook.signing_secrets(now),
                    &d.event_id,
                    timestamp,
                    &d.payload,
                ),
            ),
        ];
        let sent = sender.post(&hook.url, &target, self.url_policy(), &headers, &d.payload);
        tokio::time::timeout(ATTEMPT_TIMEOUT, sent)
            .await
            .unwrap_or_else(|_| Answer::Failed(format!("no answer in {ATTEMPT_TIMEOUT:?}")))
    }

    /// Why `hook` may not send delivery `d` now, if it may not: it is suspended, or its
    /// origin may no longer write the bucket (for a `bucket.deleted`, whose bucket is gone,
    /// only its key chain is judged).
    async fn hook_problem(
        &self,
        bucket_id: &str,
        hook: &Webhook,
        d: &Delivery,
    ) -> Result<Option<String>> {
        if let Some(why) = &hook.suspended {
            return Ok(Some(why.clone()));
        }
        let bucket = match d.event.as_str() {
            webhooks::BUCKET_DELETED => None,
            _ => self.store.get(bucket_id).await?,
        };
        self.origin_problem(bucket.as_ref(), &hook.origin()).await
    }

    /// Marks `hook` suspended (`why`), unless it changed meanwhile (a writer's change took it
    /// over: that change stands) or is suspended already.
    pub(super) async fn suspend_webhook(
        &self,
        id: &str,
        generation: &str,
        hook: &Webhook,
        why: &str,
    ) -> Result<bool> {
        if hook.suspended.is_some() || hook.retired {
            return Ok(false);
        }
        let mut off = hook.clone();
        off.suspended = Some(why.to_string());
        off.modified_by = SUSPENDER.into();
        off.last_modified = crate::domain::time::next_timestamp(Some(hook.last_modified), now_ms());
        match self
            .store
            .put_webhook(id, generation, &off, Some(hook.last_modified))
            .await
        {
            Err(StoreError::Conflict) => Ok(false),
            other => {
                other?;
                tracing::info!(bucket = id, webhook = %hook.id, why, "webhook suspended");
                Ok(true)
            }
        }
    }

    /// Turns a webhook off after a `410 Gone` (unless its URL changed meanwhile).
    async fn disable(&self, id: &str, generation: &str, hook: &Webhook) -> Result<()> {
        let mut current = hook.clone();
        for _ in 0..3 {
            // Changed to another URL, or its bucket gone: the 410 is not about it any more.
            if current.url != hook.url || current.retired {
                return Ok(());
            }
            let mut off = current.clone();
            off.active = false;
            off.disabled_reason = Some("the receiver answered 410 Gone".into());
            off.modified_by = webhooks::SERVICE_PRINCIPAL.into();
            off.last_modified =
                crate::domain::time::next_timestamp(Some(current.last_modified), now_ms());
            match self
                .store
                .put_webhook(id, generation, &off, Some(current.last_modified))
                .await
            {
                Err(StoreError::Conflict) => {}
                other => return Ok(other?),
            }
            match self.store.get_webhook(id, generation, &hook.id).await? {
                Some(h) => current = h,
                None => return Ok(()),
            }
        }
        Err(Error::Busy(format!("webhook {} kept changing", hook.id)))
    }
}
