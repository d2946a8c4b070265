//! Feeding and delivering: the deliveries the stream's changes make (`queue_events`), one
//! attempt per queue message (`deliver`), and the suspension of a webhook whose maker lost
//! write (`suspend_webhook`).

use super::*;

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

    pub(super) async fn queue_event<Q: DeliveryQueue>(
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
    pub(super) async fn settle_delivery(
        &self,
        d: &Delivery,
        outcome: Attempted,
    ) -> Result<Attempted> {
        match self.store.update_delivery(d).await {
            Err(StoreError::Conflict) => Ok(Attempted::Duplicate),
            other => Ok(other.map(|()| outcome)?),
        }
    }

    pub(super) async fn post<W: WebhookSender>(
        &self,
        sender: &W,
        hook: &Webhook,
        d: &Delivery,
    ) -> Answer {
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
    pub(super) async fn hook_problem(
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
    pub(in crate::service) async fn suspend_webhook(
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
    pub(super) async fn disable(&self, id: &str, generation: &str, hook: &Webhook) -> Result<()> {
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
