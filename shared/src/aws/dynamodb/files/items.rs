//! The items of a bucket's files: how a file record, a kept version, an upload grant and a
//! rejection are written and read back (their attributes; the keys are `keys`').

use aws_sdk_dynamodb::types::AttributeValue;

use super::super::item::ItemExt;
use super::super::keys::{self, Partition};
use super::super::{Item, n, s};
use crate::domain::files::{FileRecord, Grant, KeptVersion, MultipartGrant};
use crate::domain::multipart::Plan;
use crate::ports::{Rejection, StoreError};

/// Grants and rejections stay readable this long after they stop mattering.
const GRANT_KEEP_SECS: i64 = 7 * 24 * 3600;
const REJECTION_KEEP_SECS: i64 = 30 * 24 * 3600;

pub(in crate::aws::dynamodb) fn record_item(id: &str, generation: &str, r: &FileRecord) -> Item {
    let mut item = Partition::Files.item(id, generation, &r.name);
    describe(&mut item, r);
    item
}

/// The attributes of a record, on its item and on a kept version's.
pub(in crate::aws::dynamodb) fn describe(item: &mut Item, r: &FileRecord) {
    item.insert("size".into(), n(r.size as i64));
    item.insert("content_type".into(), s(&r.content_type));
    item.insert("etag".into(), s(&r.etag));
    if let Some(sha) = &r.sha256 {
        item.insert("sha256".into(), s(sha));
    }
    item.insert("modified".into(), n(r.modified));
    item.insert("uploaded_by".into(), s(&r.uploaded_by));
    item.insert("hash".into(), s(&r.hash));
    item.insert("version_id".into(), s(&r.version_id));
    item.insert("upload_id".into(), s(&r.upload_id));
    item.insert("name".into(), s(&r.name));
}

/// Required: what serving and replacing the file needs; the rest describes it and reads as
/// empty when absent.
pub(in crate::aws::dynamodb) fn record_from(item: &Item) -> Result<FileRecord, StoreError> {
    Ok(FileRecord {
        // Kept versions' sort keys are not the name: the attribute is on every item.
        name: match item.opt_string("name")? {
            Some(name) => name,
            None => item.string("sk")?,
        },
        size: item.number("size")?.max(0) as u64,
        content_type: item.string("content_type")?,
        etag: item.opt_string("etag")?.unwrap_or_default(),
        sha256: item.opt_string("sha256")?,
        modified: item.opt_number("modified")?.unwrap_or_default(),
        uploaded_by: item.opt_string("uploaded_by")?.unwrap_or_default(),
        hash: item.string("hash")?,
        version_id: item.string("version_id")?,
        upload_id: item.opt_string("upload_id")?.unwrap_or_default(),
    })
}

/// A kept version's item: the record as it was, when it was replaced, and a TTL a day after
/// S3's lifecycle expires the object version (so the item always outlives it).
pub(in crate::aws::dynamodb) fn kept_item(id: &str, generation: &str, k: &KeptVersion) -> Item {
    let r = &k.record;
    let sk = keys::kept_version(&r.name, &r.hash, &r.version_id);
    let mut item = Partition::KeptVersions.item(id, generation, &sk);
    describe(&mut item, r);
    item.insert("replaced".into(), n(k.replaced));
    item.insert("expires_at".into(), n(k.expires_at));
    item.insert("ttl".into(), n(k.expires_at / 1000 + 24 * 3600));
    item
}

pub(in crate::aws::dynamodb) fn kept_from(item: &Item) -> Result<KeptVersion, StoreError> {
    Ok(KeptVersion {
        record: record_from(item)?,
        replaced: item.opt_number("replaced")?.unwrap_or_default(),
        expires_at: item.opt_number("expires_at")?.unwrap_or_default(),
    })
}

pub(in crate::aws::dynamodb) fn grant_item(id: &str, generation: &str, g: &Grant) -> Item {
    let mut item = Partition::Grants.item(id, generation, &g.upload_id);
    item.insert("name".into(), s(&g.name));
    item.insert("size".into(), n(g.size as i64));
    item.insert("content_type".into(), s(&g.content_type));
    if let Some(sha) = &g.sha256 {
        item.insert("sha256".into(), s(sha));
    }
    item.insert("uploaded_by".into(), s(&g.uploaded_by));
    item.insert("expires_at".into(), n(g.expires_at));
    if g.by_privilege {
        item.insert("by_privilege".into(), AttributeValue::Bool(true));
    }
    if let Some(key) = &g.via_key {
        item.insert("via_key".into(), s(key));
    }
    if let Some(mp) = &g.multipart {
        item.insert("mp_upload".into(), s(&mp.s3_upload_id));
        item.insert("mp_part_size".into(), n(mp.plan.part_size as i64));
        item.insert("mp_part_count".into(), n(i64::from(mp.plan.part_count)));
    }
    item.insert("ttl".into(), n(g.expires_at / 1000 + GRANT_KEEP_SECS));
    item
}

/// Required as for a file record: what checking and recording the upload needs.
pub(in crate::aws::dynamodb) fn grant_from(item: &Item) -> Result<Grant, StoreError> {
    Ok(Grant {
        upload_id: item.string("sk")?,
        // Kept versions' sort keys are not the name: the attribute is on every item.
        name: match item.opt_string("name")? {
            Some(name) => name,
            None => item.string("sk")?,
        },
        size: item.number("size")?.max(0) as u64,
        content_type: item.string("content_type")?,
        sha256: item.opt_string("sha256")?,
        uploaded_by: item.opt_string("uploaded_by")?.unwrap_or_default(),
        expires_at: item.opt_number("expires_at")?.unwrap_or_default(),
        recorded: item.flag("recorded")?,
        // Absent on grants issued before the attribute existed: re-checked against the ACL.
        by_privilege: item.flag("by_privilege")?,
        via_key: item.opt_string("via_key")?,
        multipart: match item.opt_string("mp_upload")? {
            None => None,
            Some(s3_upload_id) => Some(MultipartGrant {
                s3_upload_id,
                plan: Plan {
                    part_size: item.number("mp_part_size")?.max(0) as u64,
                    part_count: u32::try_from(item.number("mp_part_count")?.max(0))
                        .unwrap_or(u32::MAX),
                },
            }),
        },
    })
}

pub(in crate::aws::dynamodb) fn rejection_item(id: &str, generation: &str, r: &Rejection) -> Item {
    let mut item = Partition::Rejections.item(id, generation, &r.upload_id);
    item.insert("name".into(), s(&r.name));
    item.insert("reason".into(), s(&r.reason));
    item.insert("at".into(), n(r.at));
    item.insert("ttl".into(), n(r.at / 1000 + REJECTION_KEEP_SECS));
    item
}

/// A rejection only explains a failed upload: every attribute reads as empty when absent.
pub(in crate::aws::dynamodb) fn rejection_from(
    upload_id: &str,
    item: &Item,
) -> Result<Rejection, StoreError> {
    Ok(Rejection {
        upload_id: upload_id.to_string(),
        name: item.opt_string("name")?.unwrap_or_default(),
        reason: item.opt_string("reason")?.unwrap_or_default(),
        at: item.opt_number("at")?.unwrap_or_default(),
    })
}
