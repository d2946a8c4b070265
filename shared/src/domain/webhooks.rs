//! A bucket's webhooks: what a webhook is and accepts, the events a change makes, how a
//! delivery is signed (the Standard Webhooks specification), whom it may reach (public
//! addresses only, `domain::addresses`) and when a failed one is tried again.
//!
//! AWS-free: the activity function turns stream records into events (`event_of`), the
//! webhooks function delivers them; both decide with the rules here.

use std::net::IpAddr;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::error::RuleError;
use super::history::{Change, HistoryEntry, entry_id, entry_of};
use super::origin::Origin;

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

/// Whom deliveries may reach: `allow_loopback` (a deployment setting for local tests only)
/// also lets `http` URLs and loopback addresses through.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UrlPolicy {
    pub allow_loopback: bool,
}

/// Where a URL points: what the delivery connects to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
    /// The host is an address, not a name (no DNS to check).
    pub ip: Option<IpAddr>,
}

/// Checks a webhook URL: absolute `https` (or `http` when loopback is allowed), a host, no
/// credentials, no fragment, bounded; an address literal must be allowed.
pub fn check_url(raw: &str, policy: UrlPolicy) -> Result<Target, RuleError> {
    let bad = |why: &str| RuleError::invalid("url", why.to_string());
    if raw.len() > MAX_URL_BYTES {
        return Err(bad(&format!("is longer than {MAX_URL_BYTES} bytes")));
    }
    if raw.chars().any(|c| c.is_control() || c.is_whitespace()) || raw.contains('#') {
        return Err(bad("may not hold spaces, control characters or a fragment"));
    }
    let uri: http::Uri = raw.parse().map_err(|_| bad("is not a URL"))?;
    let scheme = uri.scheme_str().unwrap_or_default();
    let default_port = match scheme {
        "https" => 443,
        "http" if policy.allow_loopback => 80,
        _ => return Err(bad("must be an https URL")),
    };
    let authority = uri.authority().ok_or_else(|| bad("has no host"))?;
    if authority.as_str().contains('@') {
        return Err(bad("may not carry credentials"));
    }
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    if host.is_empty() {
        return Err(bad("has no host"));
    }
    let host = host.to_ascii_lowercase();
    let ip = host.parse::<IpAddr>().ok();
    if let Some(ip) = ip
        && let Some(why) = address_refused(ip, policy)
    {
        return Err(bad(&format!("points at {ip}, {why}")));
    }
    if ip.is_none()
        && !policy.allow_loopback
        && (host == "localhost" || host.ends_with(".localhost"))
    {
        return Err(bad("points at a loopback name"));
    }
    let port = authority.port_u16().unwrap_or(default_port);
    if port == 0 {
        return Err(bad("has port 0"));
    }
    Ok(Target { host, port, ip })
}

/// Why a delivery may not connect to `ip`, `None` if it may: only globally reachable unicast
/// addresses (`domain::addresses`, the IANA registries) are allowed, and loopback when the
/// policy says so. The reason says nothing of the address's kind.
pub fn address_refused(ip: IpAddr, policy: UrlPolicy) -> Option<&'static str> {
    (!super::addresses::reachable(ip, policy.allow_loopback)).then_some("not a public address")
}

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

/// A new signing secret, `whsec_` and 32 random bytes in base64 (Standard Webhooks' form).
pub fn new_secret() -> String {
    let mut raw = [0u8; 32];
    super::ids::fill_random(&mut raw);
    format!("{SECRET_PREFIX}{}", BASE64.encode(raw))
}

/// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` with one `whsec_` secret.
pub fn signature(secret: &str, msg_id: &str, timestamp: i64, body: &str) -> String {
    let key = BASE64
        .decode(secret.trim_start_matches(SECRET_PREFIX))
        .unwrap_or_else(|_| secret.as_bytes().to_vec());
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(format!("{msg_id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()))
}

/// The `webhook-signature` header: one signature per secret, space-separated.
pub fn signature_header(secrets: &[&str], msg_id: &str, timestamp: i64, body: &str) -> String {
    secrets
        .iter()
        .map(|s| signature(s, msg_id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
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

/// Pings of one webhook within this many ms are one ping: a repeat answers the first one's
/// delivery and sends nothing, so a writer cannot turn pings into a stream of requests at a
/// receiver.
pub const PING_WINDOW_MS: i64 = 10_000;

/// The ping event of `webhook_id` at `at`: one per webhook and window (its id and time are
/// the window's), so that ping's delivery is written once.
pub fn ping_event(
    bucket_id: &str,
    generation: &str,
    webhook_id: &str,
    user_id: &str,
    at: i64,
) -> Event {
    let window = at - at.rem_euclid(PING_WINDOW_MS);
    Event {
        id: event_id(&format!(
            "ping#{bucket_id}#{generation}#{webhook_id}#{window}"
        )),
        kind: PING.into(),
        bucket_id: bucket_id.into(),
        generation: generation.into(),
        at: window,
        user_id: user_id.into(),
        file_name: None,
        detail: Map::new(),
    }
}

fn event_id(stream_event_id: &str) -> String {
    format!(
        "evt_{}",
        hex::encode(&Sha256::digest(stream_event_id.as_bytes())[..12])
    )
}

/// The event a change makes, `None` for changes no webhook hears of (a bucket's creation: it
/// has no webhooks yet; counters; anything outside a bucket).
pub fn event_of(change: &Change) -> Option<Event> {
    let new = change.new.as_ref()?;
    let text = |k: &str| new.get(k).and_then(Value::as_str).map(str::to_string);
    let number = |k: &str| new.get(k).and_then(Value::as_i64);
    let insert = change.event_name == "INSERT";
    let mut detail = Map::new();
    let (kind, bucket_id, generation, at, user_id, file_name) = match change.pk.split_once('#') {
        // An upload that broke a rule: its rejection (`R#<id>#<gen>`, sort key the upload id).
        Some(("R", rest)) if insert => {
            let (id, generation) = rest.split_once('#')?;
            let name = text("name")?;
            detail.insert("file".into(), json!({"name": name}));
            detail.insert("reason".into(), json!(text("reason").unwrap_or_default()));
            (
                "file.rejected",
                id.to_string(),
                generation.to_string(),
                number("at")?,
                super::history::UNKNOWN_USER.to_string(),
                Some(name),
            )
        }
        // A bucket's deletion: the marker of its incarnation's cascade.
        None if change.pk == "CASCADE" && insert && text("kind").as_deref() == Some("bucket") => (
            "bucket.deleted",
            text("id")?,
            text("gen")?,
            number("deleted_at")?,
            text("by").unwrap_or_else(|| super::history::UNKNOWN_USER.to_string()),
            None,
        ),
        _ => {
            let entry = entry_of(change)?;
            let target = entry.target.get("data").cloned().unwrap_or(Value::Null);
            let (kind, name) = match (entry.resource_name.as_str(), entry.action.as_str()) {
                ("bucket", "update") => {
                    detail.insert("bucket".into(), target);
                    ("bucket.updated", None)
                }
                ("data", _) => {
                    detail.insert("data".into(), json!({"revision": entry.target["revision"]}));
                    ("data.updated", None)
                }
                ("file", "delete") | ("file", "create" | "update") => {
                    let name = target["name"].as_str()?.to_string();
                    detail.insert("file".into(), target);
                    let kind = if entry.action == "delete" {
                        "file.deleted"
                    } else {
                        "file.uploaded"
                    };
                    (kind, Some(name))
                }
                _ => return None,
            };
            (
                kind,
                entry.bucket_id,
                entry.generation,
                entry.last_modified,
                entry.user_id,
                name,
            )
        }
    };
    Some(Event {
        id: event_id(&change.event_id),
        kind: kind.into(),
        bucket_id,
        generation,
        at,
        user_id,
        file_name,
        detail,
    })
}

/// The history entry of a webhook's creation, change or deletion (`W#<id>#<gen>` records),
/// never showing its secret; `None` for a write that changed nothing a user did (retiring).
pub fn webhook_entry(change: &Change) -> Option<HistoryEntry> {
    let rest = change.pk.strip_prefix("W#")?;
    let (id, generation) = rest.split_once('#')?;
    let hook_of = |image: &Option<Map<String, Value>>| {
        image
            .as_ref()
            .and_then(|m| m.get("hook"))
            .and_then(Value::as_str)
            .and_then(|raw| serde_json::from_str::<Webhook>(raw).ok())
    };
    let (old, new) = (hook_of(&change.old), hook_of(&change.new));
    let (action, hook, at, by) = match (change.event_name.as_str(), old, new) {
        ("INSERT", _, Some(h)) => ("create", h.clone(), h.last_modified, h.modified_by),
        ("MODIFY", old, Some(h)) if old.as_ref() != Some(&h) => {
            ("update", h.clone(), h.last_modified, h.modified_by)
        }
        // A retired webhook's expiry (its item has a `ttl`) is no one's change: its bucket's
        // history went with the bucket.
        ("REMOVE", _, _) if change.old.as_ref().is_some_and(|o| o.contains_key("ttl")) => {
            return None;
        }
        ("REMOVE", Some(h), _) => {
            let at = change.approximate_ms.unwrap_or(h.last_modified);
            (
                "delete",
                h.clone(),
                at,
                super::history::UNKNOWN_USER.to_string(),
            )
        }
        _ => return None,
    };
    Some(HistoryEntry {
        bucket_id: id.into(),
        generation: generation.into(),
        id: entry_id(&change.event_id),
        last_modified: at,
        uri: format!("/buckets/{id}/webhooks/{}", hook.id),
        action: action.into(),
        resource_name: "webhook".into(),
        target: json!({"data": hook.to_json(id)}),
        user_id: if by.is_empty() {
            super::history::UNKNOWN_USER.into()
        } else {
            by
        },
        sequence: change.sequence.clone(),
    })
}

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

/// RFC 3339 UTC with milliseconds (the payload's `timestamp`).
pub fn rfc3339(ms: i64) -> String {
    let ms = ms.max(0);
    let (secs, milli) = (ms / 1000, ms % 1000);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{milli:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: UrlPolicy = UrlPolicy {
        allow_loopback: false,
    };
    const LOCAL: UrlPolicy = UrlPolicy {
        allow_loopback: true,
    };

    #[test]
    fn signatures_match_the_standard_webhooks_reference_vector() {
        // The test vector of the Standard Webhooks libraries (standard-webhooks/libraries).
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let got = signature(
            secret,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(got, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        let both = signature_header(&[secret, secret], "m", 1, "b");
        assert_eq!(both.split(' ').count(), 2);
    }

    #[test]
    fn only_public_https_urls_are_accepted() {
        for bad in [
            "http://example.com/hook",
            "ftp://example.com/",
            "https://user:pw@example.com/",
            "https://127.0.0.1/",
            "https://10.1.2.3/",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/",
            "https://[::ffff:10.0.0.1]/",
            "https://[fd00:ec2::254]/",
            "https://[fe80::1]/",
            "https://[64:ff9b::a9fe:a9fe]/",
            "https://[64:ff9b:1::808:808]/",
            "https://[2002:a9fe:a9fe::1]/",
            "https://[2002:0a00:0001::]/",
            "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
            "https://[2001:db8::1]/",
            "https://[100::1]/",
            "https://100.64.0.1/",
            "https://192.0.2.2/",
            "https://198.51.100.1/",
            "https://203.0.113.1/",
            "https://[::ffff:0:c000:202]/",
            "https://[::8.8.8.8]/",
            "https://[fec0::1]/",
            "https://0.0.0.0/",
            "https://localhost/",
            "https://example.com/#frag",
            "https://exa mple.com/",
            "/relative",
            "",
        ] {
            assert!(check_url(bad, STRICT).is_err(), "{bad:?} was accepted");
        }
        let t = check_url("https://hooks.example.com:8443/in?x=1", STRICT).unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.ip),
            ("hooks.example.com", 8443, None)
        );
        assert_eq!(check_url("https://8.8.8.8/", STRICT).unwrap().port, 443);
        // 6to4 of a public address, and ordinary global IPv6, pass.
        assert!(check_url("https://[2002:808:808::1]/", STRICT).is_ok());
        assert!(check_url("https://[2606:4700::1111]/", STRICT).is_ok());
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_BYTES));
        assert!(check_url(&long, STRICT).is_err());
        // The local setting lets loopback (and plain http) through, nothing else.
        assert!(check_url("http://127.0.0.1:9/hook", LOCAL).is_ok());
        assert!(check_url("http://10.0.0.1/hook", LOCAL).is_err());
        assert!(check_url("http://169.254.169.254/", LOCAL).is_err());
        assert!(check_url("http://192.0.2.2:9/hook", LOCAL).is_err());
        let why = check_url("https://10.0.0.1/", STRICT).unwrap_err();
        assert_eq!(why.field, "url");
        assert!(
            why.reason.contains("not a public address"),
            "{}",
            why.reason
        );
    }

    #[test]
    fn bodies_are_checked_field_by_field() {
        let ok = parse_new_webhook(
            &json!({"url": "https://example.com/h", "events": ["file.uploaded", "file.uploaded"], "glob": "*.csv"}),
            STRICT,
        )
        .unwrap();
        assert_eq!(ok.events, vec!["file.uploaded"]);
        assert!(ok.active);
        let field = |body: Value| parse_new_webhook(&body, STRICT).unwrap_err().field;
        assert_eq!(field(json!({"events": ["file.uploaded"]})), "url");
        assert_eq!(
            field(json!({"url": "https://e.com", "events": []})),
            "events"
        );
        assert_eq!(
            field(json!({"url": "https://e.com", "events": ["nope"]})),
            "events"
        );
        assert_eq!(
            field(json!({"url": "https://e.com", "events": ["data.updated"], "glob": 3})),
            "glob"
        );
        assert_eq!(
            field(json!({"url": "https://e.com", "events": ["data.updated"], "x": 1})),
            "x"
        );
        assert_eq!(field(json!([1])), "body");
        // `{}` changes no field: it only takes the webhook over (`service::webhooks`).
        assert_eq!(
            parse_webhook_patch(&json!({}), STRICT).unwrap(),
            WebhookPatch::default()
        );
        let p = parse_webhook_patch(&json!({"glob": null, "active": false}), STRICT).unwrap();
        assert_eq!((p.glob, p.active), (Some(None), Some(false)));
    }

    fn hook(events: &[&str], glob: Option<&str>) -> Webhook {
        Webhook {
            id: new_webhook_id(),
            url: "https://example.com".into(),
            events: events.iter().map(|e| e.to_string()).collect(),
            glob: glob.map(str::to_string),
            active: true,
            secret: new_secret(),
            previous_secret: None,
            previous_until: None,
            disabled_reason: None,
            created: 0,
            created_by: "user:a".into(),
            last_modified: 0,
            modified_by: "user:a".into(),
            origin: None,
            suspended: None,
            retired: false,
        }
    }

    fn change(pk: &str, sk: &str, name: &str, new: Value) -> Change {
        Change {
            event_id: format!("ev-{pk}-{sk}"),
            sequence: "100".into(),
            event_name: name.into(),
            pk: pk.into(),
            sk: sk.into(),
            old: None,
            new: new.as_object().cloned(),
            approximate_ms: None,
        }
    }

    #[test]
    fn changes_make_the_events_webhooks_ask_for() {
        let upload = change(
            "F#b1#g1",
            "a.csv",
            "INSERT",
            json!({"name": "a.csv", "upload_id": "u1", "modified": 5, "size": 3, "uploaded_by": "user:a"}),
        );
        let e = event_of(&upload).unwrap();
        assert_eq!(
            (e.kind.as_str(), e.file_name.as_deref()),
            ("file.uploaded", Some("a.csv"))
        );
        assert_eq!((e.bucket_id.as_str(), e.generation.as_str()), ("b1", "g1"));
        assert_eq!(
            e.id,
            event_of(&upload).unwrap().id,
            "the same record, the same event"
        );
        assert!(hook(&["file.uploaded"], Some("*.csv")).wants(&e));
        assert!(!hook(&["file.uploaded"], Some("*.txt")).wants(&e));
        assert!(!hook(&["file.deleted"], None).wants(&e));
        let mut off = hook(&["file.uploaded"], None);
        off.active = false;
        assert!(!off.wants(&e));
        let mut retired = hook(&["file.uploaded", "bucket.deleted"], None);
        retired.retired = true;
        assert!(!retired.wants(&e), "nothing after bucket.deleted");

        let rejected = change(
            "R#b1#g1",
            "u2",
            "INSERT",
            json!({"name": "big.bin", "reason": "too large", "at": 9}),
        );
        let e = event_of(&rejected).unwrap();
        assert_eq!(e.kind, "file.rejected");
        assert_eq!(e.detail["reason"], "too large");
        let deleted = change(
            "CASCADE",
            "b1#g1",
            "INSERT",
            json!({"kind": "bucket", "id": "b1", "gen": "g1", "deleted_at": 10}),
        );
        assert_eq!(event_of(&deleted).unwrap().kind, "bucket.deleted");
        let data = change(
            "D#b1#g1",
            "HEAD",
            "MODIFY",
            json!({"doc": "{}", "rev": 2, "modified": 11, "by": "user:a"}),
        );
        let e = event_of(&data).unwrap();
        assert_eq!(
            (e.kind.as_str(), e.detail["data"]["revision"].clone()),
            ("data.updated", json!(2))
        );
        let payload: Value = serde_json::from_str(&e.payload(7)).unwrap();
        assert_eq!(payload["type"], "data.updated");
        assert_eq!(payload["data"]["sequence"], 7);
        assert_eq!(payload["data"]["bucket_id"], "b1");
        assert_eq!(payload["timestamp"], "1970-01-01T00:00:00.011Z");
        // A bucket's creation is nobody's event: it has no webhooks yet.
        let created = change(
            "B#b1",
            "B",
            "INSERT",
            json!({"id": "b1", "gen": "g1", "last_modified": 1, "revision": 1}),
        );
        assert!(event_of(&created).is_none());
    }

    #[test]
    fn webhook_changes_are_history_entries_without_the_secret() {
        let h = hook(&["file.uploaded"], None);
        let image = |h: &Webhook| json!({"hook": serde_json::to_string(h).unwrap()});
        let mut c = change("W#b1#g1", &h.id, "INSERT", image(&h));
        let created = webhook_entry(&c).unwrap();
        assert_eq!(
            (created.action.as_str(), created.resource_name.as_str()),
            ("create", "webhook")
        );
        assert_eq!(created.user_id, "user:a");
        assert!(
            !created.target.to_string().contains(&h.secret),
            "no secret in the history"
        );
        // A retirement (only the TTL moved) is no change.
        c.event_name = "MODIFY".into();
        c.old = c.new.clone();
        assert!(webhook_entry(&c).is_none());
        let mut off = h.clone();
        off.active = false;
        c.new = image(&off).as_object().cloned();
        assert_eq!(webhook_entry(&c).unwrap().action, "update");
        let removed = Change {
            event_name: "REMOVE".into(),
            new: None,
            approximate_ms: Some(77_000),
            ..c
        };
        let gone = webhook_entry(&removed).unwrap();
        assert_eq!(
            (gone.action.as_str(), gone.last_modified),
            ("delete", 77_000)
        );
        assert!(webhook_entry(&change("F#b1#g1", "a", "INSERT", json!({}))).is_none());
    }

    #[test]
    fn attempts_are_claimed_once_and_retried_on_schedule() {
        let e = ping_event("b1", "g1", "wh_x", "user:a", 1000);
        let mut d = Delivery::new(&e, 1, "wh_x", 1000);
        assert!(d.may_claim(0, 1, 1000));
        assert!(!d.may_claim(0, 2, 1000), "a message from the future");
        d.status = Status::Sending;
        d.attempts = 1;
        d.claimed_at = Some(1000);
        assert!(
            !d.may_claim(0, 1, 1000 + 1),
            "a duplicate while the claimer works"
        );
        assert!(
            d.may_claim(0, 1, 1000 + STALE_CLAIM_MS + 1),
            "the claimer crashed"
        );
        assert!(
            !d.may_claim(1, 1, 1000 + STALE_CLAIM_MS + 1),
            "another round's message"
        );
        d.status = Status::Delivered;
        assert!(!d.may_claim(0, 1, i64::MAX));
        let total: u64 = RETRY_SCHEDULE_SECS.iter().sum();
        assert!(total >= 24 * 3600, "retried for at least a day");
        assert_eq!(retry_delay(1, 1.0), Some(Duration::from_secs(5)));
        assert_eq!(retry_delay(7, 1.0), Some(Duration::from_secs(36_000)));
        assert_eq!(retry_delay(8, 1.0), None, "8 attempts in all");
        assert_eq!(retry_delay(0, 1.0), None);
        assert_eq!(retry_delay(2, 0.01), Some(Duration::from_secs(3)));
    }

    #[test]
    fn ids_are_checked_and_times_formatted() {
        assert!(webhook_id_problem(&new_webhook_id()).is_none());
        assert!(webhook_id_problem("wh_../../x").is_some());
        let d = Delivery::new(
            &ping_event("b", "g", "wh_x", "u", 1_765_000_000_000),
            1,
            "wh_x",
            0,
        );
        assert!(delivery_id_problem(&d.id).is_none(), "{}", d.id);
        assert!(delivery_id_problem("dl_x").is_some());
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_614_265_330_123), "2021-02-25T15:02:10.123Z");
        assert!(new_secret().starts_with("whsec_"));
    }
}
