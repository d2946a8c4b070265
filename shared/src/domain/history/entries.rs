//! The history entry each change makes (`entry_of`), from the typed changes the store reports
//! (`domain::changes`): the bucket, its data document, its files, webhooks and SFTP users;
//! scoped keys through `key_change` (their entries go to every bucket their scope names).

use serde_json::{Map, Value, json};

use super::{HistoryEntry, UNKNOWN_USER, entry_id, file_uri};
use crate::domain::changes::{Change, Changed};
use crate::domain::data::DataDoc;
use crate::domain::files::FileRecord;
use crate::domain::keys::{ApiKey, key_principal};
use crate::domain::sftp::SftpUser;
use crate::domain::webhooks::Webhook;

/// A data document larger than this (serialized) is recorded without its content
/// (`target.truncated`): an entry is one DynamoDB item (400 KB at most), and a history is
/// for who changed what, not a second copy of every revision.
pub const MAX_TARGET_BYTES: usize = 16 * 1024;

/// The entry a change makes, `None` when it is not one a history shows: counters moving, a
/// cascade's progress, removals of buckets and files (a deletion is recorded from the marker
/// its transaction writes, which names who deleted), a retired webhook's expiry, keys (see
/// `key_change`), anything outside a bucket.
pub fn entry_of(change: &Change) -> Option<HistoryEntry> {
    let action = |created: bool| if created { "create" } else { "update" };
    let mut entry = match &change.what {
        Changed::Bucket { old, new: Some(b) } => {
            if old.as_ref().is_some_and(|o| o.revision == b.revision) {
                return None; // counters (file_count, total_bytes), not the bucket's attributes
            }
            HistoryEntry {
                uri: format!("/buckets/{}", b.id),
                bucket_id: b.id.clone(),
                generation: b.generation.clone(),
                last_modified: b.last_modified,
                action: action(old.is_none()).into(),
                resource_name: "bucket".into(),
                target: b.envelope(),
                user_id: if b.modified_by.is_empty() {
                    b.owner.clone()
                } else {
                    b.modified_by.clone()
                },
                ..HistoryEntry::empty()
            }
        }
        Changed::Data {
            bucket_id,
            generation,
            old,
            new: Some(doc),
        } => HistoryEntry {
            bucket_id: bucket_id.clone(),
            generation: generation.clone(),
            uri: format!("/buckets/{bucket_id}/data"),
            last_modified: doc.modified,
            action: action(old.is_none()).into(),
            resource_name: "data".into(),
            target: data_target(doc),
            user_id: by(&doc.modified_by),
            ..HistoryEntry::empty()
        },
        Changed::File {
            bucket_id,
            generation,
            old,
            new: Some(record),
        } => {
            // A write that kept the upload (nothing a user did to the file) is not a change.
            if old
                .as_ref()
                .is_some_and(|o| o.upload_id == record.upload_id)
            {
                return None;
            }
            HistoryEntry {
                bucket_id: bucket_id.clone(),
                generation: generation.clone(),
                uri: file_uri(bucket_id, &record.name),
                last_modified: record.modified,
                action: action(old.is_none()).into(),
                resource_name: "file".into(),
                target: json!({ "data": file_data(record) }),
                user_id: by(&record.uploaded_by),
                ..HistoryEntry::empty()
            }
        }
        Changed::FileDeleted {
            bucket_id,
            generation,
            name,
            by: who,
            at,
            ..
        } => HistoryEntry {
            bucket_id: bucket_id.clone(),
            generation: generation.clone(),
            uri: file_uri(bucket_id, name),
            last_modified: *at,
            action: "delete".into(),
            resource_name: "file".into(),
            target: json!({"data": {"name": name, "deleted": true}}),
            user_id: by(who.as_deref().unwrap_or_default()),
            ..HistoryEntry::empty()
        },
        Changed::Webhook {
            bucket_id,
            generation,
            old,
            new,
        } => webhook_entry(
            change,
            bucket_id,
            generation,
            old.as_deref(),
            new.as_deref(),
        )?,
        Changed::SftpUser {
            bucket_id,
            generation,
            old,
            new,
            ..
        } => sftp_user_entry(
            change,
            bucket_id,
            generation,
            old.as_deref(),
            new.as_deref(),
        )?,
        _ => return None,
    };
    entry.id = entry_id(&change.event_id);
    entry.sequence = change.sequence.clone();
    Some(entry)
}

/// Who acted, as an entry names them (`system.Unknown` when the item does not say).
fn by(principal: &str) -> String {
    match principal {
        "" => UNKNOWN_USER.to_string(),
        p => p.to_string(),
    }
}

fn data_target(doc: &DataDoc) -> Value {
    let bytes = serde_json::to_string(&doc.doc)
        .map(|d| d.len())
        .unwrap_or(0);
    if bytes <= MAX_TARGET_BYTES {
        json!({"data": doc.doc, "revision": doc.revision})
    } else {
        json!({"data": null, "revision": doc.revision, "truncated": true})
    }
}

/// What a file entry shows of the record: what identifies the bytes, not its permalink.
fn file_data(r: &FileRecord) -> Map<String, Value> {
    let mut data = Map::new();
    data.insert("name".into(), json!(r.name));
    data.insert("content_type".into(), json!(r.content_type));
    if let Some(sha) = &r.sha256 {
        data.insert("sha256".into(), json!(sha));
    }
    data.insert("version_id".into(), json!(r.version_id));
    data.insert("size".into(), json!(r.size));
    data.insert("last_modified".into(), json!(r.modified));
    data
}

/// A webhook's creation, change or deletion, never showing its secret; `None` for a write
/// that changed nothing a user did (retiring it) and for a retired webhook's expiry (its
/// bucket's history went with the bucket).
fn webhook_entry(
    change: &Change,
    bucket_id: &str,
    generation: &str,
    old: Option<&Webhook>,
    new: Option<&Webhook>,
) -> Option<HistoryEntry> {
    let (action, hook, at, user_id) = match (old, new) {
        (None, Some(h)) => ("create", h, h.last_modified, by(&h.modified_by)),
        // Its retirement (the bucket deleted) is no one's change of the webhook.
        (Some(o), Some(h)) if !o.same_but_retirement(h) => {
            ("update", h, h.last_modified, by(&h.modified_by))
        }
        (Some(h), None) if !h.retired => (
            "delete",
            h,
            change.seen_at.unwrap_or(h.last_modified),
            UNKNOWN_USER.to_string(),
        ),
        _ => return None,
    };
    Some(HistoryEntry {
        bucket_id: bucket_id.into(),
        generation: generation.into(),
        last_modified: at,
        uri: format!("/buckets/{bucket_id}/webhooks/{}", hook.id),
        action: action.into(),
        resource_name: "webhook".into(),
        target: json!({"data": hook.to_json(bucket_id)}),
        user_id,
        ..HistoryEntry::empty()
    })
}

/// An SFTP user's creation, change (a suspension included) or deletion; `None` for writes
/// that changed nothing a person sees (Transfer's key ids recorded).
fn sftp_user_entry(
    change: &Change,
    bucket_id: &str,
    generation: &str,
    old: Option<&SftpUser>,
    new: Option<&SftpUser>,
) -> Option<HistoryEntry> {
    let (action, user, at, user_id) = match (old, new) {
        (None, Some(u)) => ("create", u, u.created, u.origin().acting()),
        (Some(o), Some(u)) if o.seen() != u.seen() => {
            ("update", u, u.last_modified, by(&u.modified_by))
        }
        (Some(u), None) => (
            "delete",
            u,
            change.seen_at.unwrap_or(u.last_modified),
            UNKNOWN_USER.to_string(),
        ),
        _ => return None,
    };
    let mut data = user.to_json(bucket_id, None);
    if let Some(m) = data.as_object_mut() {
        m.remove("host");
    }
    Some(HistoryEntry {
        bucket_id: bucket_id.into(),
        generation: generation.into(),
        last_modified: at,
        uri: format!("/buckets/{bucket_id}/users/{}", user.username),
        action: action.into(),
        resource_name: "sftp_user".into(),
        target: json!({ "data": data }),
        user_id,
        ..HistoryEntry::empty()
    })
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

/// An API key's change as the buckets its scope names see it: their ids, and the entry
/// (bucket and generation left empty: the key does not know the incarnation). `None` for keys
/// without a scope (they reach whatever their owner reaches; the history shows their use as
/// `key:<id>`) and for writes that changed nothing a user did (`last_used`).
pub fn key_change(change: &Change) -> Option<(Vec<ScopedBucket>, HistoryEntry)> {
    let Changed::Key { old, new } = &change.what else {
        return None;
    };
    let key: &ApiKey = new.as_deref().or(old.as_deref())?;
    let scope = key.buckets.as_ref()?;
    let ids: Vec<ScopedBucket> = scope
        .iter()
        .map(|b| ScopedBucket {
            id: b.id.clone(),
            generation: (!b.generation.is_empty()).then(|| b.generation.clone()),
        })
        .take(MAX_KEY_SCOPE)
        .collect();
    let (action, at, user_id) = match (old, new) {
        (None, Some(k)) => (
            "create",
            k.created,
            k.created_by
                .as_deref()
                .map(key_principal)
                .unwrap_or_else(|| k.owner.clone()),
        ),
        (Some(o), Some(k)) if o.title != k.title => {
            ("update", change.seen_at?, UNKNOWN_USER.to_string())
        }
        (Some(_), None) => ("delete", change.seen_at?, UNKNOWN_USER.to_string()),
        _ => return None,
    };
    let data = json!({
        "id": key.id,
        "title": key.title,
        "owner": key.owner,
        "privileges": key.privileges,
        "buckets": scope,
        "expires_at": key.expires_at,
    });
    let entry = HistoryEntry {
        uri: format!("/keys/{}", key.id),
        last_modified: at,
        action: action.into(),
        resource_name: "key".into(),
        target: json!({ "data": data }),
        user_id,
        sequence: change.sequence.clone(),
        ..HistoryEntry::empty()
    };
    Some((ids, entry))
}
