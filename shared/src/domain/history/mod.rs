//! A bucket's history, as Kinto's history plugin serves it: one entry per change of the bucket
//! (attributes and permissions), its data document, its files (uploaded, replaced, deleted).
//!
//! Entries are derived from the table's stream records (`entry_of`), never written by the request
//! path. An entry's sort key and id come from the record alone (its item's time, its sequence
//! number, its event id), so a redelivered record yields the same entry and the conditional put
//! of the store keeps exactly one.
//!
//! Whoever may read a bucket reads its history, so an entry is rendered for its reader
//! (`HistoryEntry::seen_by`): a reader sees of each resource what the routes show a reader, a
//! writer what they show a writer. Bucket, data and file entries hold only what a reader reads
//! anyway (attributes, `permissions`, the document, a file's record and version). Webhooks, SFTP
//! users and keys are a writer's (or their owner's): a reader sees that one changed, and only
//! what identifies it — a webhook's id, events, glob, `active` and its URL's origin (never its
//! path, query or credentials); an SFTP user's name and access; a key's id and this bucket's
//! element of its scope (not its title, owner, privileges or expiry; the entry's `user_id`,
//! its owner, is `system.Unknown`). Rendering at read time covers entries already stored; the
//! stored key entry itself names only its bucket's scope element, never another bucket or a
//! `generation`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

mod entries;
mod filter;

pub use entries::{MAX_TARGET_BYTES, ScopedBucket, entry_of, key_change};
pub use filter::HistoryFilter;

/// The resources an entry can name (`resource_name`).
pub const RESOURCES: &[&str] = &["bucket", "data", "file", "webhook", "key", "sftp_user"];
/// What happened to it (`action`).
pub const ACTIONS: &[&str] = &["create", "update", "delete"];
/// Default retention of entries (days); the deployment setting `HISTORY_RETENTION_DAYS`.
pub const DEFAULT_RETENTION_DAYS: u64 = 90;
/// Who acted when the item does not say (items written before they recorded it).
pub const UNKNOWN_USER: &str = "system.Unknown";

/// One entry of a bucket's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub bucket_id: String,
    /// The incarnation it belongs to (a re-created bucket starts a new history).
    pub generation: String,
    pub id: String,
    pub last_modified: i64,
    pub uri: String,
    pub action: String,
    pub resource_name: String,
    pub target: Value,
    pub user_id: String,
    /// The stream record's sequence number: orders entries of the same millisecond.
    pub sequence: String,
}

impl HistoryEntry {
    /// Newest first is descending sort key order: the time, then the sequence number (both
    /// zero-padded so that string order is numeric order).
    pub fn sort_key(&self) -> String {
        sort_key(self.last_modified, &self.sequence)
    }

    /// The entry as Kinto answers it.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "last_modified": self.last_modified,
            "uri": self.uri,
            "action": self.action,
            "resource_name": self.resource_name,
            "target": self.target,
            "user_id": self.user_id,
            "bucket_id": self.bucket_id,
        })
    }

    /// The entry as `viewer` may see it (see the module's documentation). Filters apply to
    /// what the viewer sees: a `user_id` a reader is not shown matches nothing for them.
    pub fn seen_by(&self, viewer: Viewer) -> HistoryEntry {
        let mut seen = self.clone();
        let data = self.target.get("data").unwrap_or(&Value::Null);
        let reader = viewer == Viewer::Reader;
        match self.resource_name.as_str() {
            // A reader reads all of these through the bucket, data and file routes.
            "bucket" | "data" | "file" => {}
            "key" => {
                let mut shown = key_data_in(data, &self.bucket_id);
                if reader {
                    shown.retain(|k, _| k == "id" || k == "buckets");
                    seen.user_id = UNKNOWN_USER.into();
                }
                seen.target = json!({ "data": shown });
            }
            "webhook" if reader => {
                let mut shown = pick(data, &["id", "bucket_id", "events", "glob", "active"]);
                let origin = data["url"].as_str().and_then(url_origin);
                shown.insert("url".into(), json!(origin));
                seen.target = json!({ "data": shown });
            }
            "webhook" => {
                let mut shown = data.as_object().cloned().unwrap_or_default();
                shown.retain(|k, _| !k.contains("secret"));
                seen.target = json!({ "data": shown });
            }
            "sftp_user" if reader => {
                seen.target = json!({ "data": pick(data, &["username", "access"]) });
            }
            // A resource this code does not know: its writers' alone.
            _ if reader => seen.target = json!({ "data": {} }),
            _ => {}
        }
        seen
    }
}

/// Who reads a history: a writer of the bucket, or a reader (anonymous on a public bucket
/// included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    Writer,
    Reader,
}

fn pick(data: &Value, keys: &[&str]) -> Map<String, Value> {
    keys.iter()
        .filter_map(|k| Some((k.to_string(), data.get(*k)?.clone())))
        .collect()
}

/// A URL reduced to its origin, `scheme://host[:port]`: no credentials, path or query (where
/// tokens live). `None` when it does not parse.
fn url_origin(raw: &str) -> Option<String> {
    let uri: http::Uri = raw.parse().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let host = uri.host().filter(|h| !h.is_empty())?.to_ascii_lowercase();
    Some(match uri.port_u16() {
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    })
}

/// What a key entry in bucket `bucket_id`'s history holds of the key (`data`): its id, title,
/// owner and expiry, and of its scope only that bucket's element (`{id, access}`). Never its
/// privileges: they are its owner's global powers, none of this bucket's writers' business
/// (the key routes show them to the owner alone).
pub fn key_data_in(data: &Value, bucket_id: &str) -> Map<String, Value> {
    let mut shown = pick(data, &["id", "title", "owner", "expires_at"]);
    let scope: Vec<Value> = data["buckets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| b["id"].as_str() == Some(bucket_id))
        .take(1)
        .map(|b| json!({"id": bucket_id, "access": b["access"]}))
        .collect();
    shown.insert("buckets".into(), Value::Array(scope));
    shown
}

fn sort_key(ms: i64, sequence: &str) -> String {
    format!("{:013}#{:0>40}", ms.max(0), sequence)
}

/// The sort key below every entry of millisecond `ms` (`_before`) or above them (`_since`).
pub fn time_bound(ms: i64, above: bool) -> String {
    if above {
        format!("{:013}#~", ms.max(0))
    } else {
        format!("{:013}#", ms.max(0))
    }
}

impl HistoryEntry {
    /// An entry with nothing set, for the builders to fill.
    fn empty() -> HistoryEntry {
        HistoryEntry {
            bucket_id: String::new(),
            generation: String::new(),
            id: String::new(),
            last_modified: 0,
            uri: String::new(),
            action: String::new(),
            resource_name: String::new(),
            target: Value::Null,
            user_id: String::new(),
            sequence: String::new(),
        }
    }
}

/// What a file's name keeps as is in an entry's `uri`: RFC 3986's unreserved characters (every
/// normalized name is made of them), the rest percent-encoded.
const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn file_uri(id: &str, name: &str) -> String {
    let encoded = percent_encoding::utf8_percent_encode(name, PATH_SEGMENT);
    format!("/buckets/{id}/files/{encoded}")
}

/// A UUID-shaped id derived from the stream record's event id: the same record always makes
/// the same id.
pub fn entry_id(event_id: &str) -> String {
    let h = hex::encode(&Sha256::digest(event_id.as_bytes())[..16]);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests;
