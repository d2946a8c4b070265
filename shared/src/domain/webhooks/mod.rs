//! A bucket's webhooks: what a webhook is and accepts (here), whom a delivery may reach
//! (`url`: public addresses only, `domain::addresses`), how it is signed (`signing`, the
//! Standard Webhooks specification), the events a change makes (`events`) and how a delivery
//! is attempted and retried (`deliveries`).
//!
//! AWS-free: the activity function turns the store's changes into events, the webhooks
//! function delivers them; both decide with the rules here.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::error::RuleError;
use super::origin::Origin;

mod deliveries;
mod events;
mod signing;
mod url;

pub use deliveries::{Answer, Delivery, DeliveryMessage, Status, retry_delay};
pub use events::{PING_WINDOW_MS, event_of, ping_event};
pub use signing::{new_secret, signature, signature_header};
pub use url::{Target, UrlPolicy, address_refused, check_url};

/// The events a webhook can ask for.
pub const EVENTS: &[&str] = &[
    "bucket.updated",
    "bucket.deleted",
    "data.updated",
    "file.uploaded",
    "file.deleted",
    "file.rejected",
];
/// The last event of a bucket incarnation.
pub const BUCKET_DELETED: &str = "bucket.deleted";
/// The event of a test ping (`POST …/webhooks/{wid}/ping`), sent whatever `events` says.
pub const PING: &str = "webhook.ping";
/// Webhooks one bucket may have.
pub const MAX_WEBHOOKS_PER_BUCKET: usize = 20;
/// Longest URL accepted.
pub const MAX_URL_BYTES: usize = 2048;
/// One attempt, connection and answer, at most this long.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Waits after attempts 1, 2, … (Standard Webhooks' suggested schedule): 8 attempts over 27.6
/// hours, so a receiver down for a day still gets the event.
pub const RETRY_SCHEDULE_SECS: [u64; 7] = [5, 300, 1800, 7200, 18_000, 36_000, 36_000];
/// A claimed attempt (`Sending`) older than this is taken over by the message's redelivery
/// (the function that claimed it crashed): longer than any attempt.
pub const STALE_CLAIM_MS: i64 = 3 * ATTEMPT_TIMEOUT.as_millis() as i64;
/// After a rotation, deliveries are signed with the previous secret too for this long.
pub const ROTATION_GRACE_MS: i64 = 24 * 3600 * 1000;
/// Deliveries are listed (and can be redelivered) for this long.
pub const DELIVERY_RETENTION_SECS: i64 = 30 * 24 * 3600;
/// Events keep their sequence number this long (a stream redelivery comes within a day).
pub const EVENT_RETENTION_SECS: i64 = 3 * 24 * 3600;
/// Webhooks of a deleted bucket stay this long: its `bucket.deleted` deliveries need them.
pub const RETIRED_WEBHOOK_SECS: i64 = 3 * 24 * 3600;
const SECRET_PREFIX: &str = "whsec_";
/// Bytes of a receiver's answer kept with the delivery (an error's explanation).
pub const MAX_ERROR_BYTES: usize = 256;

/// A bucket's webhook as the table keeps it (the secret included; answers leave it out).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Webhook {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    pub glob: Option<String>,
    pub active: bool,
    pub secret: String,
    /// The secret before the last rotation, still signing until `previous_until` (ms).
    pub previous_secret: Option<String>,
    pub previous_until: Option<i64>,
    /// Why the service turned it off (a `410 Gone`), cleared when it is turned on again.
    pub disabled_reason: Option<String>,
    pub created: i64,
    pub created_by: String,
    pub last_modified: i64,
    /// Who made the last change (`system.Webhooks` when a `410 Gone` turned it off).
    #[serde(default)]
    pub modified_by: String,
    /// Who it sends the bucket's events for: its creator, or the writer whose change took it
    /// over last (`None`: made before origins were recorded; `created_by` stands for it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    /// Why it sends nothing, when its origin may no longer write the bucket; a current
    /// writer's change takes it over and ends this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspended: Option<String>,
    /// Its bucket is deleted: it is sent that `bucket.deleted` and nothing else, and expires.
    /// Kept beside the webhook by the store (not in its JSON, so a retirement is no change).
    #[serde(skip)]
    pub retired: bool,
}

/// Who turns a webhook off when its receiver answers `410 Gone`.
pub const SERVICE_PRINCIPAL: &str = "system.Webhooks";

impl Webhook {
    /// The webhook as answers show it: never the secret.
    pub fn to_json(&self, bucket_id: &str) -> Value {
        json!({
            "id": self.id,
            "bucket_id": bucket_id,
            "url": self.url,
            "events": self.events,
            "glob": self.glob,
            "active": self.active,
            "disabled_reason": self.disabled_reason,
            "created": self.created,
            "created_by": self.created_by,
            "owner": self.origin().acting(),
            "suspended": self.suspended.is_some(),
            "suspended_reason": self.suspended,
            "last_modified": self.last_modified,
        })
    }

    /// Whether `other` is this webhook, retired or not (a retirement changes nothing a
    /// person set).
    pub fn same_but_retirement(&self, other: &Webhook) -> bool {
        Webhook {
            retired: other.retired,
            ..self.clone()
        } == *other
    }

    /// Who it acts for (see `domain::origin`).
    pub fn origin(&self) -> Origin {
        self.origin
            .clone()
            .unwrap_or_else(|| Origin::legacy(&self.created_by))
    }

    /// Whether this webhook is sent `event` (active, subscribed, the file name matching).
    pub fn wants(&self, event: &Event) -> bool {
        if !self.active || self.suspended.is_some() || !self.events.contains(&event.kind) {
            return false;
        }
        if self.retired && event.kind != BUCKET_DELETED {
            return false;
        }
        match (&self.glob, &event.file_name) {
            (Some(glob), Some(name)) => super::files::glob_matcher(Some(glob))
                .map(|m| m.is_match(name))
                .unwrap_or(false),
            _ => true,
        }
    }

    /// The secrets that sign a delivery at `now`: the current one, and the previous one
    /// during its grace period (receivers that have not switched yet still verify).
    pub fn signing_secrets(&self, now: i64) -> Vec<&str> {
        let mut secrets = vec![self.secret.as_str()];
        if let (Some(old), Some(until)) = (&self.previous_secret, self.previous_until)
            && now < until
        {
            secrets.push(old);
        }
        secrets
    }
}

/// A new webhook as a request asks for it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewWebhook {
    pub url: String,
    pub events: Vec<String>,
    pub glob: Option<String>,
    pub active: bool,
}

/// A change to a webhook; `glob: Some(None)` removes the filter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub glob: Option<Option<String>>,
    pub active: Option<bool>,
}

impl WebhookPatch {
    pub fn apply(&self, hook: &mut Webhook) {
        if let Some(url) = &self.url {
            hook.url = url.clone();
        }
        if let Some(events) = &self.events {
            hook.events = events.clone();
        }
        if let Some(glob) = &self.glob {
            hook.glob = glob.clone();
        }
        if let Some(active) = self.active {
            hook.active = active;
            if active {
                hook.disabled_reason = None;
            }
        }
    }
}

const FIELDS: [&str; 4] = ["url", "events", "glob", "active"];

fn object(body: &Value) -> Result<&Map<String, Value>, RuleError> {
    let map = body
        .as_object()
        .ok_or_else(|| RuleError::invalid("body", "must be a JSON object"))?;
    super::fields::only_known(map, "", &FIELDS)?;
    Ok(map)
}

fn url_of(v: &Value, policy: UrlPolicy) -> Result<String, RuleError> {
    let url = v
        .as_str()
        .ok_or_else(|| RuleError::invalid("url", "must be a string"))?;
    check_url(url, policy)?;
    Ok(url.to_string())
}

fn events_of(v: &Value) -> Result<Vec<String>, RuleError> {
    let bad = || {
        RuleError::invalid(
            "events",
            format!("must be a non-empty list of {}", EVENTS.join(", ")),
        )
    };
    let list = v.as_array().filter(|l| !l.is_empty()).ok_or_else(bad)?;
    let mut events: Vec<String> = Vec::new();
    for e in list {
        let e = e.as_str().filter(|e| EVENTS.contains(e)).ok_or_else(bad)?;
        if !events.iter().any(|x| x == e) {
            events.push(e.to_string());
        }
    }
    Ok(events)
}

fn glob_of(v: &Value) -> Result<Option<String>, RuleError> {
    match v {
        Value::Null => Ok(None),
        Value::String(g) if g.is_empty() => Ok(None),
        Value::String(g) => {
            super::files::glob_matcher(Some(g))?;
            Ok(Some(g.clone()))
        }
        _ => Err(RuleError::invalid("glob", "must be a string or null")),
    }
}

fn active_of(v: &Value) -> Result<bool, RuleError> {
    v.as_bool()
        .ok_or_else(|| RuleError::invalid("active", "must be true or false"))
}

/// `{"url", "events", "glob"?, "active"?}` (400 naming the field at fault).
pub fn parse_new_webhook(body: &Value, policy: UrlPolicy) -> Result<NewWebhook, RuleError> {
    let map = object(body)?;
    let required = |k: &str| {
        map.get(k)
            .ok_or_else(|| RuleError::invalid(k, "is required"))
    };
    Ok(NewWebhook {
        url: url_of(required("url")?, policy)?,
        events: events_of(required("events")?)?,
        glob: map.get("glob").map(glob_of).transpose()?.flatten(),
        active: map
            .get("active")
            .map(active_of)
            .transpose()?
            .unwrap_or(true),
    })
}

/// A PATCH body: any of the fields; `{}` changes none of them, and only takes the webhook
/// over (it then acts for the caller, and resumes if it was suspended).
pub fn parse_webhook_patch(body: &Value, policy: UrlPolicy) -> Result<WebhookPatch, RuleError> {
    let map = object(body)?;
    Ok(WebhookPatch {
        url: map.get("url").map(|v| url_of(v, policy)).transpose()?,
        events: map.get("events").map(events_of).transpose()?,
        glob: map.get("glob").map(glob_of).transpose()?,
        active: map.get("active").map(active_of).transpose()?,
    })
}

/// A webhook id as a path names it: `wh_` and 24 hex digits.
pub fn webhook_id_problem(id: &str) -> Option<&'static str> {
    let ok =
        id.len() == 27 && id.starts_with("wh_") && id[3..].bytes().all(|b| b.is_ascii_hexdigit());
    (!ok).then_some("is not a webhook id (wh_ and 24 hex digits)")
}

/// A delivery id as a path names it: `dl_`, 13 digits, `_`, 16 hex digits.
pub fn delivery_id_problem(id: &str) -> Option<&'static str> {
    let ok = id.is_ascii()
        && id.len() == 33
        && id.starts_with("dl_")
        && id[3..16].bytes().all(|b| b.is_ascii_digit())
        && id.as_bytes()[16] == b'_'
        && id[17..].bytes().all(|b| b.is_ascii_hexdigit());
    (!ok).then_some("is not a delivery id")
}

/// A new webhook id (96 random bits).
pub fn new_webhook_id() -> String {
    let mut raw = [0u8; 12];
    super::ids::fill_random(&mut raw);
    format!("wh_{}", hex::encode(raw))
}

/// What happened to a bucket, as webhooks tell it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The `webhook-id` of its deliveries: derived from the stream record, so a redelivered
    /// record makes the same event.
    pub id: String,
    pub kind: String,
    pub bucket_id: String,
    pub generation: String,
    /// When it happened (ms).
    pub at: i64,
    pub user_id: String,
    /// The file an event of a file names (what `glob` filters).
    pub file_name: Option<String>,
    /// What the payload tells of it (`file`, `bucket`, `data`, `reason`).
    pub detail: Map<String, Value>,
}

impl Event {
    /// The body of its deliveries (Standard Webhooks' `{type, timestamp, data}`), with the
    /// bucket's sequence number of the event: receivers order events by it.
    pub fn payload(&self, sequence: i64) -> String {
        let mut data = self.detail.clone();
        data.insert("bucket_id".into(), json!(self.bucket_id));
        data.insert("sequence".into(), json!(sequence));
        data.insert("user_id".into(), json!(self.user_id));
        json!({"type": self.kind, "timestamp": rfc3339(self.at), "data": data}).to_string()
    }
}

/// RFC 3339 UTC with milliseconds (the payload's `timestamp`).
pub fn rfc3339(ms: i64) -> String {
    rules::time::rfc3339_millis(ms)
}

#[cfg(test)]
mod tests;
