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

use super::error::RuleError;

/// The resources an entry can name (`resource_name`).
pub const RESOURCES: &[&str] = &["bucket", "data", "file", "webhook", "key", "sftp_user"];
/// What happened to it (`action`).
pub const ACTIONS: &[&str] = &["create", "update", "delete"];
/// A data document larger than this (serialized) is recorded without its content
/// (`target.truncated`): an entry is one DynamoDB item (400 KB at most), and a history is
/// for who changed what, not a second copy of every revision.
pub const MAX_TARGET_BYTES: usize = 16 * 1024;
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

/// A stream record in plain terms: the item's keys and images with DynamoDB's type tags
/// removed (`S` → string, `N` → number, `BOOL`, `L`, `M`, `SS`; see `aws::lambda::activity`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Change {
    pub event_id: String,
    pub sequence: String,
    /// `INSERT`, `MODIFY` or `REMOVE`.
    pub event_name: String,
    pub pk: String,
    pub sk: String,
    pub old: Option<Map<String, Value>>,
    pub new: Option<Map<String, Value>>,
    /// When the stream saw the change (`ApproximateCreationDateTime`, ms): the time of a
    /// removal, whose item no longer says.
    pub approximate_ms: Option<i64>,
}

/// The entry a change makes, `None` when it is not one a history shows: counters moving, a
/// cascade's progress, removals (a deletion is recorded from the marker its transaction writes,
/// which names who deleted), anything outside a bucket.
pub fn entry_of(change: &Change) -> Option<HistoryEntry> {
    let new = change.new.as_ref()?;
    let insert = change.event_name == "INSERT";
    if !insert && change.event_name != "MODIFY" {
        return None;
    }
    let action = if insert { "create" } else { "update" };
    let text = |k: &str| new.get(k).and_then(Value::as_str).map(str::to_string);
    let number = |k: &str| new.get(k).and_then(Value::as_i64);
    let old_text = |k: &str| {
        change
            .old
            .as_ref()
            .and_then(|o| o.get(k))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let parsed = |k: &str| {
        text(k)
            .and_then(|raw| serde_json::from_str::<Value>(&raw).ok())
            .unwrap_or(Value::Null)
    };
    let by = |k: &str| text(k).unwrap_or_else(|| UNKNOWN_USER.to_string());
    let (kind, rest) = change.pk.split_once('#').unwrap_or((&change.pk, ""));
    let mut entry = match kind {
        "B" => {
            let old_revision = change
                .old
                .as_ref()
                .and_then(|o| o.get("revision"))
                .and_then(Value::as_i64);
            if !insert && old_revision == number("revision") {
                return None; // counters (file_count, total_bytes), not the bucket's attributes
            }
            let id = text("id")?;
            let last_modified = number("last_modified")?;
            let mut data = match parsed("attrs") {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            data.insert("id".into(), json!(id));
            data.insert("last_modified".into(), json!(last_modified));
            HistoryEntry {
                uri: format!("/buckets/{id}"),
                bucket_id: id,
                generation: text("gen")?,
                last_modified,
                action: action.into(),
                resource_name: "bucket".into(),
                target: json!({"data": data, "permissions": parsed("acl")}),
                user_id: text("by").or_else(|| text("owner")).unwrap_or_default(),
                ..empty()
            }
        }
        "D" if change.sk == "HEAD" => {
            let (id, generation) = rest.split_once('#')?;
            let doc = parsed("doc");
            let doc_bytes = text("doc").map(|d| d.len()).unwrap_or(0);
            let revision = number("rev")?;
            let target = if doc_bytes <= MAX_TARGET_BYTES {
                json!({"data": doc, "revision": revision})
            } else {
                json!({"data": null, "revision": revision, "truncated": true})
            };
            HistoryEntry {
                bucket_id: id.into(),
                generation: generation.into(),
                uri: format!("/buckets/{id}/data"),
                last_modified: number("modified")?,
                action: action.into(),
                resource_name: "data".into(),
                target,
                user_id: by("by"),
                ..empty()
            }
        }
        "F" => {
            let (id, generation) = rest.split_once('#')?;
            // A write that kept the upload (nothing a user did to the file) is not a change.
            if !insert && old_text("upload_id") == text("upload_id") {
                return None;
            }
            let name = text("name")?;
            let mut data = Map::new();
            for k in ["name", "content_type", "sha256", "version_id"] {
                if let Some(v) = text(k) {
                    data.insert(k.into(), json!(v));
                }
            }
            for k in ["size", "modified"] {
                if let Some(v) = number(k) {
                    data.insert(k.into(), json!(v));
                }
            }
            HistoryEntry {
                bucket_id: id.into(),
                generation: generation.into(),
                uri: file_uri(id, &name),
                last_modified: number("modified")?,
                action: action.into(),
                resource_name: "file".into(),
                target: json!({ "data": data }),
                user_id: by("uploaded_by"),
                ..empty()
            }
        }
        // A deleted file's marker (`<id>#<generation>#<upload id>`), written in the deleting
        // transaction; its later writes (a cascade's progress) are MODIFY records.
        "CASCADE" if insert && text("kind").as_deref() == Some("objects") => {
            let mut parts = change.sk.splitn(3, '#');
            let (id, generation) = (parts.next()?, parts.next()?);
            let name = text("name")?;
            HistoryEntry {
                bucket_id: id.into(),
                generation: generation.into(),
                uri: file_uri(id, &name),
                last_modified: number("deleted_at")?,
                action: "delete".into(),
                resource_name: "file".into(),
                target: json!({"data": {"name": name, "deleted": true}}),
                user_id: by("by"),
                ..empty()
            }
        }
        _ => return None,
    };
    entry.id = entry_id(&change.event_id);
    entry.sequence = change.sequence.clone();
    Some(entry)
}

/// The bucket whose permissions a change changed (a bucket item's `acl` differs between its
/// images), if it is one: what webhooks and SFTP users act for is judged again then.
pub fn acl_changed(change: &Change) -> Option<String> {
    if change.event_name != "MODIFY" || !change.pk.starts_with("B#") {
        return None;
    }
    let acl = |m: &Option<Map<String, Value>>| m.as_ref().and_then(|m| m.get("acl")).cloned();
    let new = change.new.as_ref()?;
    (acl(&change.old) != acl(&change.new))
        .then(|| new.get("id").and_then(Value::as_str).map(str::to_string))
        .flatten()
}

/// A bucket a key's scope names, and the incarnation it was made for (keys made before
/// scopes recorded it: `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopedBucket {
    pub id: String,
    pub generation: Option<String>,
}

/// Buckets a key's scope names, at most (a key's scope is bounded by the same number).
const MAX_KEY_SCOPE: usize = 20;

/// An API key's change (`K#<key id>` records) as the buckets its scope names see it: their
/// ids, and the entry (bucket and generation left empty: the key's item does not know the
/// incarnation). `None` for keys without a scope (they reach whatever their owner reaches;
/// the history shows their use as `key:<id>`) and for writes that changed nothing a user did
/// (`last_used`).
pub fn key_change(change: &Change) -> Option<(Vec<ScopedBucket>, HistoryEntry)> {
    if !change.pk.starts_with("K#") || change.sk != "K" {
        return None;
    }
    let text = |m: Option<&Map<String, Value>>, k: &str| {
        m.and_then(|m| m.get(k))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let (old, new) = (change.old.as_ref(), change.new.as_ref());
    let image = new.or(old)?;
    let scope: Vec<Value> = serde_json::from_str(&text(Some(image), "scope")?).ok()?;
    let ids: Vec<ScopedBucket> = scope
        .iter()
        .filter_map(|b| {
            Some(ScopedBucket {
                id: b["id"].as_str()?.to_string(),
                generation: b["generation"].as_str().map(str::to_string),
            })
        })
        .take(MAX_KEY_SCOPE)
        .collect();
    let owner = text(Some(image), "owner").unwrap_or_else(|| UNKNOWN_USER.to_string());
    let (action, at, by) = match change.event_name.as_str() {
        "INSERT" => (
            "create",
            image.get("created").and_then(Value::as_i64)?,
            text(Some(image), "created_by")
                .map(|maker| super::keys::key_principal(&maker))
                .unwrap_or(owner),
        ),
        "MODIFY" if text(old, "title") != text(new, "title") => {
            ("update", change.approximate_ms?, UNKNOWN_USER.to_string())
        }
        "REMOVE" => ("delete", change.approximate_ms?, UNKNOWN_USER.to_string()),
        _ => return None,
    };
    let key_id = text(Some(image), "id")?;
    let mut data = Map::new();
    for k in ["id", "title", "owner"] {
        data.insert(k.into(), json!(text(Some(image), k)));
    }
    data.insert(
        "privileges".into(),
        image.get("privileges").cloned().unwrap_or(json!([])),
    );
    data.insert("buckets".into(), Value::Array(scope));
    data.insert(
        "expires_at".into(),
        image.get("expires_at").cloned().unwrap_or(Value::Null),
    );
    let entry = HistoryEntry {
        uri: format!("/keys/{key_id}"),
        last_modified: at,
        action: action.into(),
        resource_name: "key".into(),
        target: json!({ "data": data }),
        user_id: by,
        sequence: change.sequence.clone(),
        ..empty()
    };
    Some((ids, entry))
}

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

fn file_uri(id: &str, name: &str) -> String {
    let encoded = percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC);
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

/// The filters of `GET /v1/buckets/{id}/history` (Kinto's names).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryFilter {
    /// Entries strictly newer than this (ms).
    pub since: Option<i64>,
    /// Entries strictly older than this (ms).
    pub before: Option<i64>,
    pub resource_name: Option<String>,
    pub action: Option<String>,
    pub user_id: Option<String>,
}

/// Longest `user_id` filter accepted (principals are bounded well below it).
const MAX_USER_ID: usize = 512;

impl HistoryFilter {
    /// The filters from query parameters (`get` reads one by name). Bad values name their field.
    pub fn parse(get: impl Fn(&str) -> Option<String>) -> Result<HistoryFilter, RuleError> {
        let time = |k: &str| -> Result<Option<i64>, RuleError> {
            match get(k) {
                None => Ok(None),
                Some(raw) => raw
                    .trim_matches('"')
                    .parse::<i64>()
                    .ok()
                    .filter(|v| (0..=i64::from(u32::MAX) * 1000).contains(v))
                    .map(Some)
                    .ok_or_else(|| RuleError::invalid(k, "must be a time in ms since the epoch")),
            }
        };
        let one_of = |k: &str, allowed: &[&str]| -> Result<Option<String>, RuleError> {
            match get(k) {
                None => Ok(None),
                Some(v) if allowed.contains(&v.as_str()) => Ok(Some(v)),
                Some(_) => Err(RuleError::invalid(
                    k,
                    format!("must be one of {}", allowed.join(", ")),
                )),
            }
        };
        if let Some(sort) = get("_sort")
            && sort != "-last_modified"
        {
            return Err(RuleError::invalid(
                "_sort",
                "history is sorted newest first only (-last_modified)",
            ));
        }
        let user_id = match get("user_id") {
            Some(u) if u.is_empty() || u.len() > MAX_USER_ID => {
                return Err(RuleError::invalid("user_id", "is not a principal"));
            }
            other => other,
        };
        Ok(HistoryFilter {
            since: time("_since")?,
            before: time("_before")?,
            resource_name: one_of("resource_name", RESOURCES)?,
            action: one_of("action", ACTIONS)?,
            user_id,
        })
    }

    /// Whether `entry` passes the filters that are not key ranges.
    pub fn admits(&self, entry: &HistoryEntry) -> bool {
        self.resource_name
            .as_ref()
            .is_none_or(|r| *r == entry.resource_name)
            && self.action.as_ref().is_none_or(|a| *a == entry.action)
            && self.user_id.as_ref().is_none_or(|u| *u == entry.user_id)
    }

    /// The sort key range `(above, below)`, both exclusive, from the times and a page cursor
    /// (the last sort key of the previous page, which is below the rest).
    pub fn range(&self, cursor: Option<&str>) -> (Option<String>, Option<String>) {
        let above = self.since.map(|ms| time_bound(ms, true));
        let before = self.before.map(|ms| time_bound(ms, false));
        let below = match (before, cursor) {
            (Some(b), Some(c)) => Some(if c < b.as_str() { c.to_string() } else { b }),
            (b, c) => b.or_else(|| c.map(str::to_string)),
        };
        (above, below)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(v: Value) -> Option<Map<String, Value>> {
        v.as_object().cloned()
    }

    #[test]
    fn a_scoped_key_is_in_the_history_of_its_buckets() {
        let key = json!({"id": "k1", "title": "ci", "owner": "user:alice", "privileges": [],
                         "scope": r#"[{"id":"b1","access":"write"},{"id":"b2","access":"read"}]"#,
                         "created": 5, "hash": "secret-hash"});
        let (ids, entry) =
            key_change(&change("INSERT", "K#k1", "K", Value::Null, key.clone())).unwrap();
        let names: Vec<&str> = ids.iter().map(|b| b.id.as_str()).collect();
        assert_eq!(names, ["b1", "b2"]);
        assert_eq!(
            (entry.action.as_str(), entry.resource_name.as_str()),
            ("create", "key")
        );
        assert_eq!(
            (entry.user_id.as_str(), entry.last_modified),
            ("user:alice", 5)
        );
        assert!(!entry.target.to_string().contains("secret-hash"));
        let mut by_key = key.clone();
        by_key["created_by"] = json!("k0");
        let (_, made) = key_change(&change("INSERT", "K#k1", "K", Value::Null, by_key)).unwrap();
        assert_eq!(
            made.user_id, "key:k0",
            "a key made by a key: that key acted"
        );
        let mut used = key.clone();
        used["last_used"] = json!(9);
        let touch = change("MODIFY", "K#k1", "K", key.clone(), used);
        assert!(key_change(&touch).is_none(), "last_used is no change");
        let mut removed = change("REMOVE", "K#k1", "K", key.clone(), Value::Null);
        removed.approximate_ms = Some(70);
        assert_eq!(key_change(&removed).unwrap().1.action, "delete");
        let mut unscoped = key;
        unscoped.as_object_mut().unwrap().remove("scope");
        assert!(key_change(&change("INSERT", "K#k1", "K", Value::Null, unscoped)).is_none());
    }

    #[test]
    fn origins_keep_no_credentials_path_or_query() {
        for (url, origin) in [
            (
                "https://hooks.slack.com/services/T000/B000/XXXX?token=abc",
                Some("https://hooks.slack.com"),
            ),
            (
                "https://user:pass@Example.COM:8443/in?x=1",
                Some("https://example.com:8443"),
            ),
            ("http://[::1]:9/hook", Some("http://[::1]:9")),
            ("https://u@h.example/", Some("https://h.example")),
            ("not a url", None),
            ("/relative/only", None),
        ] {
            assert_eq!(url_origin(url).as_deref(), origin, "{url}");
        }
    }

    fn entry(resource: &str, data: Value) -> HistoryEntry {
        HistoryEntry {
            bucket_id: "b1".into(),
            resource_name: resource.into(),
            target: json!({ "data": data }),
            user_id: "user:alice".into(),
            ..empty()
        }
    }

    #[test]
    fn readers_see_of_a_writers_resource_only_what_identifies_it() {
        let hook = entry(
            "webhook",
            json!({"id": "wh_1", "bucket_id": "b1", "url": "https://u:p@h.example/x/TOKEN?t=SECRET",
                   "events": ["data.updated"], "glob": null, "active": true, "owner": "user:alice",
                   "created_by": "user:alice", "secret": "whsec_x"}),
        );
        let seen = hook.seen_by(Viewer::Reader);
        assert_eq!(
            seen.target["data"],
            json!({"id": "wh_1", "bucket_id": "b1", "url": "https://h.example",
                   "events": ["data.updated"], "glob": null, "active": true})
        );
        let writer = hook.seen_by(Viewer::Writer);
        assert_eq!(
            writer.target["data"]["url"],
            "https://u:p@h.example/x/TOKEN?t=SECRET"
        );
        assert!(!writer.target.to_string().contains("whsec_"));

        let key = entry(
            "key",
            json!({"id": "k1", "title": "ci", "owner": "user:alice", "privileges": ["admin"],
                   "expires_at": 9, "buckets": [{"id": "other", "access": "write", "generation": "g0"},
                                                 {"id": "b1", "access": "read", "generation": "g1"}]}),
        );
        let seen = key.seen_by(Viewer::Reader);
        assert_eq!(
            seen.target["data"],
            json!({"id": "k1", "buckets": [{"id": "b1", "access": "read"}]})
        );
        assert_eq!(seen.user_id, UNKNOWN_USER);
        let writer = key.seen_by(Viewer::Writer);
        assert_eq!(
            writer.target["data"],
            json!({"id": "k1", "title": "ci", "owner": "user:alice",
                   "expires_at": 9, "buckets": [{"id": "b1", "access": "read"}]})
        );
        assert_eq!(writer.user_id, "user:alice");

        let user = entry(
            "sftp_user",
            json!({"username": "partner", "access": "write", "ssh_public_keys": [{"key": "ssh-ed25519 A me@host"}]}),
        );
        assert_eq!(
            user.seen_by(Viewer::Reader).target["data"],
            json!({"username": "partner", "access": "write"})
        );
        assert_eq!(user.seen_by(Viewer::Writer), user);
        // What a reader reads through the routes anyway, and what no code knows of.
        let file = entry("file", json!({"name": "a.csv", "version_id": "v"}));
        assert_eq!(file.seen_by(Viewer::Reader), file);
        let unknown = entry("grant", json!({"x": 1}));
        assert_eq!(unknown.seen_by(Viewer::Reader).target, json!({"data": {}}));
    }

    fn change(name: &str, pk: &str, sk: &str, old: Value, new: Value) -> Change {
        Change {
            event_id: format!("ev-{pk}-{sk}-{name}"),
            sequence: "100".into(),
            event_name: name.into(),
            pk: pk.into(),
            sk: sk.into(),
            old: image(old),
            new: image(new),
            approximate_ms: None,
        }
    }

    fn bucket(revision: i64, by: &str) -> Value {
        json!({"id": "b1", "gen": "g1", "attrs": "{\"title\":\"T\"}", "acl": "{\"write\":[\"user:a\"]}",
               "owner": "user:a", "last_modified": 1000 + revision, "revision": revision, "by": by})
    }

    #[test]
    fn bucket_writes_are_entries_and_counter_moves_are_not() {
        let created = entry_of(&change(
            "INSERT",
            "B#b1",
            "B",
            Value::Null,
            bucket(1, "user:a"),
        ))
        .unwrap();
        assert_eq!(created.action, "create");
        assert_eq!(created.resource_name, "bucket");
        assert_eq!(created.uri, "/buckets/b1");
        assert_eq!(created.user_id, "user:a");
        assert_eq!(created.target["data"]["title"], "T");
        assert_eq!(created.target["permissions"]["write"][0], "user:a");
        let updated = entry_of(&change(
            "MODIFY",
            "B#b1",
            "B",
            bucket(1, "user:a"),
            bucket(2, "key:k1"),
        ))
        .unwrap();
        assert_eq!(
            (updated.action.as_str(), updated.user_id.as_str()),
            ("update", "key:k1")
        );
        let counters = change(
            "MODIFY",
            "B#b1",
            "B",
            bucket(2, "user:a"),
            bucket(2, "user:a"),
        );
        assert!(entry_of(&counters).is_none());
        assert!(
            entry_of(&change(
                "REMOVE",
                "B#b1",
                "B",
                bucket(2, "user:a"),
                Value::Null
            ))
            .is_none()
        );
    }

    #[test]
    fn data_file_and_deletion_entries() {
        let doc = json!({"doc": "{\"a\":1}", "rev": 3, "modified": 5000, "by": "user:b"});
        let data = entry_of(&change("MODIFY", "D#b1#g1", "HEAD", Value::Null, doc)).unwrap();
        assert_eq!(
            (data.resource_name.as_str(), data.uri.as_str()),
            ("data", "/buckets/b1/data")
        );
        assert_eq!(data.target, json!({"data": {"a": 1}, "revision": 3}));
        assert!(
            entry_of(&change(
                "INSERT",
                "D#b1#g1",
                "R#00000000000000000003",
                Value::Null,
                json!({"doc": "{}", "rev": 3, "modified": 5000})
            ))
            .is_none()
        );
        let big = json!({"doc": format!("{{\"a\":\"{}\"}}", "x".repeat(MAX_TARGET_BYTES)), "rev": 4, "modified": 6000});
        let truncated = entry_of(&change("MODIFY", "D#b1#g1", "HEAD", Value::Null, big)).unwrap();
        assert_eq!(truncated.target["truncated"], true);
        assert_eq!(truncated.user_id, UNKNOWN_USER);

        let file = |upload: &str| {
            json!({"name": "a b.csv", "size": 3, "content_type": "text/csv",
            "modified": 7000, "uploaded_by": "user:c", "upload_id": upload, "version_id": "v"})
        };
        let up = entry_of(&change(
            "INSERT",
            "F#b1#g1",
            "a b.csv",
            Value::Null,
            file("u1"),
        ))
        .unwrap();
        assert_eq!(
            (up.action.as_str(), up.uri.as_str()),
            ("create", "/buckets/b1/files/a%20b%2Ecsv")
        );
        assert_eq!(up.target["data"]["size"], 3);
        let replaced = entry_of(&change(
            "MODIFY",
            "F#b1#g1",
            "a b.csv",
            file("u1"),
            file("u2"),
        ))
        .unwrap();
        assert_eq!(replaced.action, "update");
        assert!(
            entry_of(&change(
                "MODIFY",
                "F#b1#g1",
                "a b.csv",
                file("u2"),
                file("u2")
            ))
            .is_none()
        );

        let marker =
            json!({"kind": "objects", "name": "a b.csv", "deleted_at": 8000, "by": "user:d"});
        let deleted = entry_of(&change(
            "INSERT",
            "CASCADE",
            "b1#g1#u2",
            Value::Null,
            marker.clone(),
        ))
        .unwrap();
        assert_eq!(
            (deleted.action.as_str(), deleted.user_id.as_str()),
            ("delete", "user:d")
        );
        assert_eq!(
            (deleted.bucket_id.as_str(), deleted.generation.as_str()),
            ("b1", "g1")
        );
        assert!(
            entry_of(&change(
                "MODIFY",
                "CASCADE",
                "b1#g1#u2",
                marker.clone(),
                marker
            ))
            .is_none()
        );
        let bucket_marker = json!({"kind": "bucket", "id": "b1", "gen": "g1", "deleted_at": 1});
        assert!(
            entry_of(&change(
                "INSERT",
                "CASCADE",
                "b1#g1",
                Value::Null,
                bucket_marker
            ))
            .is_none()
        );
    }

    #[test]
    fn the_same_record_makes_the_same_entry() {
        let c = change("INSERT", "B#b1", "B", Value::Null, bucket(1, "user:a"));
        let (a, b) = (entry_of(&c).unwrap(), entry_of(&c).unwrap());
        assert_eq!(a, b);
        assert_eq!(a.id.len(), 36);
        let mut other = c.clone();
        other.event_id = "another".into();
        assert_ne!(entry_of(&other).unwrap().id, a.id);
        assert_eq!(a.sort_key(), format!("0000000001001#{:0>40}", "100"));
    }

    #[test]
    fn filters_parse_and_bound_the_range() {
        let q = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let f = HistoryFilter::parse(q(&[
            ("_since", "10"),
            ("_before", "\"20\""),
            ("action", "update"),
        ]))
        .unwrap();
        assert_eq!((f.since, f.before), (Some(10), Some(20)));
        let (above, below) = f.range(None);
        assert_eq!(above.unwrap(), time_bound(10, true));
        assert_eq!(below.unwrap(), time_bound(20, false));
        // A cursor below `_before` wins; one above it does not.
        assert_eq!(
            f.range(Some("0000000000015#x")).1.unwrap(),
            "0000000000015#x"
        );
        assert_eq!(
            f.range(Some("0000000000025#x")).1.unwrap(),
            time_bound(20, false)
        );
        for (k, v) in [
            ("_since", "x"),
            ("_before", "-1"),
            ("action", "drop"),
            ("resource_name", "record"),
            ("_sort", "last_modified"),
            ("user_id", ""),
        ] {
            let pairs: &'static [(&'static str, &'static str)] = Box::leak(Box::new([(k, v)]));
            assert_eq!(HistoryFilter::parse(q(pairs)).unwrap_err().field, k);
        }
    }
}
