//! One event for one webhook: a delivery, its attempts and when it is tried again.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use sha2::{Digest, Sha256};

use super::*;

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Waiting for attempt `attempts + 1`.
    Pending,
    /// Attempt `attempts` is under way (claimed at `claimed_at`).
    Sending,
    Delivered,
    /// Every attempt failed, or the receiver answered `410 Gone`.
    Failed,
}

/// One event for one webhook, with its attempts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: String,
    pub webhook_id: String,
    pub bucket_id: String,
    pub generation: String,
    pub event_id: String,
    pub event: String,
    pub sequence: i64,
    pub payload: String,
    pub status: Status,
    pub attempts: u32,
    /// Rounds of attempts: a redelivery starts the next, and the previous round's messages
    /// claim nothing.
    #[serde(default)]
    pub round: u32,
    /// Bumped by every write: writes are conditional on the version read.
    pub version: u64,
    pub created: i64,
    pub claimed_at: Option<i64>,
    pub last_attempt_at: Option<i64>,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<i64>,
}

impl Delivery {
    /// The delivery of `event` (numbered `sequence` in its bucket) to `webhook_id`. Its id
    /// comes from the event and the webhook: a repeated event makes the same delivery.
    pub fn new(event: &Event, sequence: i64, webhook_id: &str, now: i64) -> Delivery {
        let hash = Sha256::digest(format!("{}#{webhook_id}", event.id).as_bytes());
        Delivery {
            id: format!("dl_{:013}_{}", event.at.max(0), hex::encode(&hash[..8])),
            webhook_id: webhook_id.into(),
            bucket_id: event.bucket_id.clone(),
            generation: event.generation.clone(),
            event_id: event.id.clone(),
            event: event.kind.clone(),
            sequence,
            payload: event.payload(sequence),
            status: Status::Pending,
            attempts: 0,
            round: 0,
            version: 0,
            created: now,
            claimed_at: None,
            last_attempt_at: None,
            last_status: None,
            last_error: None,
            next_attempt_at: Some(now),
        }
    }

    /// The delivery as `…/deliveries` lists it.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "webhook_id": self.webhook_id,
            "event_id": self.event_id,
            "event": self.event,
            "sequence": self.sequence,
            "status": self.status,
            "attempts": self.attempts,
            "created": self.created,
            "last_attempt_at": self.last_attempt_at,
            "last_status": self.last_status,
            "last_error": self.last_error,
            "next_attempt_at": self.next_attempt_at,
        })
    }

    /// Whether the message of attempt `attempt` may make it now: the next one of a pending
    /// delivery, or a claimed one whose claimer is gone. Anything else is a duplicate message.
    pub fn may_claim(&self, round: u32, attempt: u32, now: i64) -> bool {
        if round != self.round {
            return false;
        }
        match self.status {
            Status::Pending => self.attempts + 1 == attempt,
            Status::Sending => {
                self.attempts == attempt
                    && self.claimed_at.is_none_or(|at| now - at > STALE_CLAIM_MS)
            }
            Status::Delivered | Status::Failed => false,
        }
    }
}

/// What one attempt got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The receiver answered with this status.
    Status(u16),
    /// No answer: refused address, DNS, connection, TLS or the timeout.
    Failed(String),
}

/// The wait before attempt `attempts + 1` after `attempts` failed ones, scaled by `factor`
/// (a deployment setting, 1 on AWS; local tests shorten the schedule); `None` after the last.
pub fn retry_delay(attempts: u32, factor: f64) -> Option<Duration> {
    let secs = *RETRY_SCHEDULE_SECS.get(attempts.checked_sub(1)? as usize)?;
    Some(Duration::from_secs_f64(secs as f64 * factor.max(0.0)))
}

/// What the webhooks function puts on its queue: one attempt of one delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryMessage {
    pub bucket_id: String,
    pub generation: String,
    pub webhook_id: String,
    pub delivery_id: String,
    pub attempt: u32,
    /// The delivery's round this attempt belongs to.
    #[serde(default)]
    pub round: u32,
    /// Not before (ms): a wait longer than the queue's longest delay (15 minutes) is
    /// waited out by sending the message on again.
    pub not_before: i64,
}

impl DeliveryMessage {
    pub fn of(d: &Delivery, attempt: u32, not_before: i64) -> DeliveryMessage {
        DeliveryMessage {
            bucket_id: d.bucket_id.clone(),
            generation: d.generation.clone(),
            webhook_id: d.webhook_id.clone(),
            delivery_id: d.id.clone(),
            attempt,
            round: d.round,
            not_before,
        }
    }
}
