//! The events webhooks are sent: the one each change makes (`event_of`, from the store's
//! typed changes and the history entry it makes) and test pings.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::{BUCKET_DELETED, Event, PING};
use crate::domain::changes::{Change, Changed};
use crate::domain::history::{UNKNOWN_USER, entry_of};

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
    let mut detail = Map::new();
    let (kind, bucket_id, generation, at, user_id, file_name) = match &change.what {
        // An upload that broke a rule.
        Changed::UploadRejected {
            bucket_id,
            generation,
            rejection,
        } => {
            let name = rejection.name.clone();
            detail.insert("file".into(), json!({"name": name}));
            detail.insert("reason".into(), json!(rejection.reason));
            (
                "file.rejected",
                bucket_id.clone(),
                generation.clone(),
                rejection.at,
                UNKNOWN_USER.to_string(),
                Some(name),
            )
        }
        // A bucket's deletion: the marker of its incarnation's cascade.
        Changed::BucketDeleted {
            bucket_id,
            generation,
            by,
            at,
            ..
        } => (
            BUCKET_DELETED,
            bucket_id.clone(),
            generation.clone(),
            *at,
            by.clone().unwrap_or_else(|| UNKNOWN_USER.to_string()),
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
