//! The table's stream records, decoded into the domain's typed changes
//! (`domain::changes::Change`) with the same item readers the store uses, so that no code
//! outside this adapter knows a key prefix, an attribute name or a stream event name.
//!
//! A record arrives as DynamoDB JSON (`{"S": "…"}`, `{"N": "12"}`, …); its images are read
//! back into items, then by the partition kind of their key (`keys::Partition`). A record
//! whose image does not read as its kind is `Changed::Other` (logged): it cannot stop the
//! stream, and nothing is derived from what cannot be read. The template's stream filters
//! name the same kinds; `tests::the_templates_filters_pass_what_is_decoded` keeps them in step.

use std::collections::HashMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;

use super::item::ItemExt;
use super::keys::{DATA_HEAD, Partition};
use super::{Item, api_keys, buckets, cascade, data, files, sftp, webhooks};
use crate::domain::changes::{Change, Changed};
use crate::ports::StoreError;

/// The changes a stream event carries, in order; `None` when the event is not a stream event
/// (no `Records` list).
pub fn changes(event: &Value) -> Option<Vec<Change>> {
    let records = event.get("Records")?.as_array()?;
    Some(records.iter().map(decode).collect())
}

/// One stream record as a change.
fn decode(record: &Value) -> Change {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let d = &record["dynamodb"];
    let what = match what_changed(record) {
        Ok(what) => what,
        Err(e) => {
            tracing::warn!(event_id = %text(&record["eventID"]), error = ?e,
                "a stream record that does not read as its kind: nothing derived from it");
            Changed::Other
        }
    };
    Change {
        event_id: text(&record["eventID"]),
        sequence: text(&d["SequenceNumber"]),
        seen_at: d["ApproximateCreationDateTime"]
            .as_f64()
            .map(|secs| (secs * 1000.0) as i64),
        what,
    }
}

fn what_changed(record: &Value) -> Result<Changed, StoreError> {
    let d = &record["dynamodb"];
    let key = |k: &str| d["Keys"][k]["S"].as_str().unwrap_or_default();
    let (pk, sk) = (key("pk"), key("sk"));
    let event = record["eventName"].as_str().unwrap_or_default();
    // The images the event has (a creation has no old one, a removal no new one).
    let old = (event != "INSERT")
        .then(|| item_of(&d["OldImage"]))
        .flatten();
    let new = (event != "REMOVE")
        .then(|| item_of(&d["NewImage"]))
        .flatten();
    let Some((kind, rest)) = Partition::parse(pk) else {
        return Ok(Changed::Other);
    };
    let (bucket_id, generation) = rest.split_once('#').unwrap_or((rest, ""));
    let (bucket_id, generation) = (bucket_id.to_string(), generation.to_string());
    Ok(match kind {
        Partition::Bucket => Changed::Bucket {
            old: read(&old, buckets::from_item)?,
            new: read(&new, buckets::from_item)?,
        },
        Partition::Data if sk == DATA_HEAD => Changed::Data {
            bucket_id,
            generation,
            old: read(&old, data::doc_from)?,
            new: read(&new, data::doc_from)?,
        },
        Partition::Files => Changed::File {
            bucket_id,
            generation,
            old: read(&old, files::record_from)?,
            new: read(&new, files::record_from)?,
        },
        Partition::Rejections if event == "INSERT" => match &new {
            Some(item) => Changed::UploadRejected {
                bucket_id,
                generation,
                rejection: files::rejection_from(sk, item)?,
            },
            None => Changed::Other,
        },
        Partition::Webhooks => Changed::Webhook {
            bucket_id,
            generation,
            old: read(&old, webhooks::webhook_from)?,
            new: read(&new, webhooks::webhook_from)?,
        },
        Partition::ApiKey => Changed::Key {
            old: read(&old, api_keys::from_item)?,
            new: read(&new, api_keys::from_item)?,
        },
        // The user's keys name it whatever its images hold: a removal that cannot be read
        // still removes the Transfer user.
        Partition::SftpUsers => {
            let username = sk.to_string();
            match (read(&old, sftp::from_item), read(&new, sftp::from_item)) {
                (Ok(old), Ok(new)) => Changed::SftpUser {
                    bucket_id,
                    generation,
                    username,
                    old,
                    new,
                },
                // Its keys name a removed user whatever its image holds: the Transfer user
                // still goes.
                _ if event == "REMOVE" => Changed::SftpUser {
                    bucket_id,
                    generation,
                    username,
                    old: None,
                    new: None,
                },
                (Err(e), _) | (_, Err(e)) => return Err(e),
            }
        }
        Partition::Cascade => marker_change(event, sk, new.as_ref()),
        _ => Changed::Other,
    })
}

/// An image read by one of the store's item readers.
fn read<T>(
    image: &Option<Item>,
    reader: fn(&Item) -> Result<T, StoreError>,
) -> Result<Option<Box<T>>, StoreError> {
    image
        .as_ref()
        .map(reader)
        .transpose()
        .map(|v| v.map(Box::new))
}

/// A cascade marker's record: work for the cascade function whenever it is written (from
/// its key alone: a marker whose image cannot be read is still worked on), and a deletion
/// when it is created (the deleting transaction wrote who deleted what); its removal is
/// nobody's concern.
fn marker_change(event: &str, sk: &str, new: Option<&Item>) -> Changed {
    let marker = sk.to_string();
    match event {
        "REMOVE" => Changed::Other,
        "INSERT" => new
            .and_then(|item| deletion(item).ok())
            .unwrap_or(Changed::MarkerWritten { marker }),
        _ => Changed::MarkerWritten { marker },
    }
}

/// The deletion a new marker records (`Changed::of_new_marker`), from what the deleting
/// write put on it.
fn deletion(item: &Item) -> Result<Changed, StoreError> {
    let marker = cascade::marker_from(item)?;
    let (name, by) = (item.opt_string("name")?, item.opt_string("by")?);
    Ok(Changed::of_new_marker(
        &marker,
        name,
        by,
        item.number("deleted_at")?,
    ))
}

/// A stream image (DynamoDB JSON) as an item; `None` when absent or not an object.
fn item_of(image: &Value) -> Option<Item> {
    let map = image.as_object()?;
    Some(
        map.iter()
            .filter_map(|(k, v)| Some((k.clone(), attribute(v)?)))
            .collect(),
    )
}

/// One DynamoDB JSON value (`{"<type>": value}`) as the SDK's attribute value.
fn attribute(typed: &Value) -> Option<AttributeValue> {
    let (tag, v) = typed.as_object()?.iter().next()?;
    let strings = |v: &Value| -> Option<Vec<String>> {
        v.as_array()?
            .iter()
            .map(|s| s.as_str().map(str::to_string))
            .collect()
    };
    let blob = |v: &Value| {
        v.as_str()
            .and_then(|b| BASE64.decode(b).ok())
            .map(Blob::new)
    };
    Some(match tag.as_str() {
        "S" => AttributeValue::S(v.as_str()?.to_string()),
        "N" => AttributeValue::N(v.as_str()?.to_string()),
        "BOOL" => AttributeValue::Bool(v.as_bool()?),
        "NULL" => AttributeValue::Null(true),
        "B" => AttributeValue::B(blob(v)?),
        "SS" => AttributeValue::Ss(strings(v)?),
        "NS" => AttributeValue::Ns(strings(v)?),
        "BS" => AttributeValue::Bs(v.as_array()?.iter().map(blob).collect::<Option<_>>()?),
        "L" => AttributeValue::L(v.as_array()?.iter().map(attribute).collect::<Option<_>>()?),
        "M" => AttributeValue::M(
            v.as_object()?
                .iter()
                .map(|(k, v)| Some((k.clone(), attribute(v)?)))
                .collect::<Option<HashMap<_, _>>>()?,
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests;
