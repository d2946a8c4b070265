//! `WebhookStore` over the in-memory table (`W#`, `WS#`, `WD#` partitions, as the DynamoDB
//! adapter keys them), and in-memory stand-ins for the delivery queue ([`MemoryQueue`]) and
//! the receivers ([`MemorySender`]): tests read what was queued and sent, and script answers.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{Item, MemoryStore, key, part_pk};
use crate::domain::webhooks::{
    Answer, Delivery, DeliveryMessage, Event, MAX_WEBHOOKS_PER_BUCKET, Target, UrlPolicy, Webhook,
};
use crate::ports::{DeliveryPage, DeliveryQueue, ItemKey, StoreError, WebhookSender, WebhookStore};

const SEQUENCE_SK: &str = "SEQ";

impl WebhookStore for MemoryStore {
    async fn list_webhooks(&self, id: &str, generation: &str) -> Result<Vec<Webhook>, StoreError> {
        let state = self.begin()?;
        let pk = part_pk("W", id, generation);
        Ok(state
            .partition(&pk, None)
            .filter_map(|(_, item)| item.as_webhook().cloned())
            .collect())
    }

    async fn get_webhook(
        &self,
        id: &str,
        generation: &str,
        webhook_id: &str,
    ) -> Result<Option<Webhook>, StoreError> {
        let state = self.begin()?;
        let k = key(part_pk("W", id, generation), webhook_id);
        Ok(state.read(&k, Item::as_webhook)?.cloned())
    }

    async fn put_webhook(
        &self,
        id: &str,
        generation: &str,
        hook: &Webhook,
        previous_modified: Option<i64>,
    ) -> Result<(), StoreError> {
        let mut state = self.begin()?;
        let k = key(part_pk("W", id, generation), &hook.id);
        let current = state
            .read(&k, Item::as_webhook)?
            .map(|h| (h.last_modified, h.retired));
        let allowed = match previous_modified {
            None => {
                current.is_none()
                    && state.live(id, generation)?
                    && state.partition(&part_pk("W", id, generation), None).count()
                        < MAX_WEBHOOKS_PER_BUCKET
            }
            // A retired webhook is not written again (its expiry stays).
            Some(previous) => current == Some((previous, false)),
        };
        if !allowed {
            return Err(StoreError::Conflict);
        }
        state.items.insert(k, Item::Webhook(hook.clone()));
        Ok(())
    }

    async fn delete_webhook(
        &self,
        id: &str,
        generation: &str,
        webhook_id: &str,
    ) -> Result<(), StoreError> {
        let mut state = self.begin()?;
        state
            .items
            .remove(&key(part_pk("W", id, generation), webhook_id));
        Ok(())
    }

    async fn retire_webhooks(
        &self,
        id: &str,
        generation: &str,
        _expires_at: i64,
    ) -> Result<(), StoreError> {
        // No TTL here: retired webhooks stay, marked, as on DynamoDB until it expires them.
        let mut state = self.begin()?;
        let pk = part_pk("W", id, generation);
        let hooks: Vec<ItemKey> = state.partition(&pk, None).map(|(k, _)| k.clone()).collect();
        for k in hooks {
            if let Some(Item::Webhook(h)) = state.items.get_mut(&k) {
                h.retired = true;
            }
        }
        Ok(())
    }

    async fn sequence_of(&self, event: &Event, _expires_at: i64) -> Result<i64, StoreError> {
        let mut state = self.begin()?;
        let pk = part_pk("WS", &event.bucket_id, &event.generation);
        if let Some(Item::Sequence(n)) = state.items.get(&key(pk.as_str(), event.id.as_str())) {
            return Ok(*n);
        }
        let next = match state.items.get(&key(pk.as_str(), SEQUENCE_SK)) {
            Some(Item::Sequence(n)) => n + 1,
            _ => 1,
        };
        state
            .items
            .insert(key(pk.as_str(), SEQUENCE_SK), Item::Sequence(next));
        state
            .items
            .insert(key(pk.as_str(), event.id.as_str()), Item::Sequence(next));
        Ok(next)
    }

    async fn create_delivery(&self, d: &Delivery, _expires_at: i64) -> Result<bool, StoreError> {
        let mut state = self.begin()?;
        let k = delivery_key(&d.bucket_id, &d.generation, &d.webhook_id, &d.id);
        if state.items.contains_key(&k) {
            return Ok(false);
        }
        state.items.insert(k, Item::Delivery(d.clone()));
        Ok(true)
    }

    async fn get_delivery(
        &self,
        id: &str,
        generation: &str,
        webhook_id: &str,
        delivery_id: &str,
    ) -> Result<Option<Delivery>, StoreError> {
        let state = self.begin()?;
        let k = delivery_key(id, generation, webhook_id, delivery_id);
        Ok(state.read(&k, Item::as_delivery)?.cloned())
    }

    async fn update_delivery(&self, d: &Delivery) -> Result<(), StoreError> {
        let mut state = self.begin()?;
        let k = delivery_key(&d.bucket_id, &d.generation, &d.webhook_id, &d.id);
        match state.write(&k, Item::as_delivery_mut)? {
            Some(current) if current.version + 1 == d.version => {
                *current = d.clone();
                Ok(())
            }
            _ => Err(StoreError::Conflict),
        }
    }

    async fn list_deliveries(
        &self,
        id: &str,
        generation: &str,
        webhook_id: &str,
        before: Option<&str>,
        limit: usize,
    ) -> Result<DeliveryPage, StoreError> {
        let state = self.begin()?;
        let pk = part_pk("WD", id, generation);
        let prefix = format!("{webhook_id}#");
        let below = before.map(|b| format!("{prefix}{b}"));
        let mut found: Vec<Delivery> = state
            .partition(&pk, None)
            .filter(|(k, _)| k.sk.starts_with(&prefix))
            .filter(|(k, _)| below.as_ref().is_none_or(|b| k.sk < *b))
            .filter_map(|(_, item)| item.as_delivery().cloned())
            .collect();
        found.reverse();
        let has_more = found.len() > limit;
        found.truncate(limit);
        Ok(DeliveryPage {
            deliveries: found,
            has_more,
        })
    }
}

fn delivery_key(
    id: &str,
    generation: &str,
    webhook_id: &str,
    delivery_id: &str,
) -> crate::ports::ItemKey {
    key(
        part_pk("WD", id, generation),
        format!("{webhook_id}#{delivery_id}"),
    )
}

/// What was put on the queue: messages with their delay, and the dead letters.
#[derive(Debug, Clone, Default)]
pub struct MemoryQueue {
    pub sent: Arc<Mutex<Vec<(DeliveryMessage, Duration)>>>,
    pub dead: Arc<Mutex<Vec<DeliveryMessage>>>,
}

impl MemoryQueue {
    /// Takes the messages queued so far (oldest first).
    pub fn take(&self) -> Vec<(DeliveryMessage, Duration)> {
        std::mem::take(&mut *self.sent.lock().unwrap())
    }
}

impl DeliveryQueue for MemoryQueue {
    async fn send(&self, message: &DeliveryMessage, delay: Duration) -> Result<(), StoreError> {
        self.sent.lock().unwrap().push((message.clone(), delay));
        Ok(())
    }

    async fn dead_letter(&self, message: &DeliveryMessage) -> Result<(), StoreError> {
        self.dead.lock().unwrap().push(message.clone());
        Ok(())
    }
}

/// A POST as the sender got it.
#[derive(Debug, Clone, PartialEq)]
pub struct SentRequest {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl SentRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Receivers that answer from a script (then `200`), recording every request.
#[derive(Debug, Clone, Default)]
pub struct MemorySender {
    pub answers: Arc<Mutex<VecDeque<Answer>>>,
    pub requests: Arc<Mutex<Vec<SentRequest>>>,
}

impl MemorySender {
    /// The next answers, in order.
    pub fn script(&self, answers: impl IntoIterator<Item = Answer>) {
        self.answers.lock().unwrap().extend(answers);
    }

    pub fn requests(&self) -> Vec<SentRequest> {
        self.requests.lock().unwrap().clone()
    }
}

impl WebhookSender for MemorySender {
    async fn post(
        &self,
        url: &str,
        _target: &Target,
        _policy: UrlPolicy,
        headers: &[(&str, String)],
        body: &str,
    ) -> Answer {
        self.requests.lock().unwrap().push(SentRequest {
            url: url.into(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            body: body.into(),
        });
        self.answers
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(Answer::Status(200))
    }

    /// Names are not resolved here: address literals are checked by `check_url`. It gives way
    /// once, as a DNS lookup would, so concurrent requests interleave around it.
    async fn vet(&self, _target: &Target, _policy: UrlPolicy) -> Result<(), String> {
        tokio::task::yield_now().await;
        Ok(())
    }
}
