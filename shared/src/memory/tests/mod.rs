//! The memory adapters against the ports' contract, and the services over them.

use serde_json::Map;

use super::*;
use crate::domain::permissions::Permissions;

mod buckets;
mod cascade;
mod data;
mod files;
mod objects;
mod services;

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| v.to_string()).collect()
}

/// Bucket `id`, incarnation `generation`, revision 1, owned by the first writer.
fn bucket(id: &str, generation: &str, read: &[&str], write: &[&str]) -> Bucket {
    let owner = write.first().copied().unwrap_or("user:owner");
    let mut b = Bucket::new_incarnation(id, owner, Map::new(), Permissions::default(), 1);
    // Exactly this ACL (the constructor makes the owner a writer).
    b.permissions = Permissions {
        read: strings(read),
        write: strings(write),
    };
    b.generation = generation.into();
    b
}

/// An unspent grant to upload `name`.
fn grant(upload_id: &str, name: &str, size: u64) -> Grant {
    Grant {
        upload_id: upload_id.into(),
        name: name.into(),
        size,
        content_type: "text/csv".into(),
        sha256: None,
        uploaded_by: "user:w".into(),
        expires_at: 1_000,
        recorded: false,
        by_privilege: false,
        via_key: None,
        multipart: None,
    }
}

/// The record of upload `upload_id` of `name`, as S3 version `v-<upload_id>` of its key.
fn record(upload_id: &str, name: &str, size: u64) -> FileRecord {
    FileRecord {
        name: name.into(),
        size,
        content_type: "text/csv".into(),
        etag: "e".into(),
        sha256: None,
        modified: 1,
        uploaded_by: "user:w".into(),
        hash: "h".into(),
        version_id: format!("v-{upload_id}"),
        upload_id: upload_id.into(),
    }
}

/// What a replacement of `record` keeps of it (replaced at `at`, kept for a day).
fn kept(record: &FileRecord, at: i64) -> KeptVersion {
    KeptVersion {
        record: record.clone(),
        replaced: at,
        expires_at: at + 86_400_000,
    }
}

fn k(pk: &str, sk: &str) -> ItemKey {
    key(pk, sk)
}
