//! What changed in the store, in the domain's terms: the input of everything that acts on a
//! change after it is written (a bucket's history, webhook events, the judging of what acts
//! for someone, SFTP users following their items, delete cascades).
//!
//! The DynamoDB adapter decodes its stream records into these (`aws::dynamodb::stream`, with
//! the same item readers the store uses), and the in-memory store records the same values as
//! it writes (`memory`), so the code that computes history entries and events never sees a
//! key prefix or an attribute name, and the route tests exercise it with what the store
//! really did. A new kind of item that something must hear about is a new variant here and a
//! decoder there.

use super::bucket::Bucket;
use super::cascade::{Job, Marker, file_marker_incarnation};
use super::data::DataDoc;
use super::files::{FileRecord, Rejection};
use super::keys::ApiKey;
use super::sftp::SftpUser;
use super::webhooks::Webhook;

/// One change, as the stream delivers it: at most once per write, possibly again (a
/// redelivered batch), in order per item.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The stream record's id: what is derived from a change (history entries, webhook
    /// events) takes its id from this, so a redelivered record makes the same ones.
    pub event_id: String,
    /// The stream's sequence number: orders changes of the same millisecond.
    pub sequence: String,
    /// When the stream saw the change (ms): the time of a removal, whose item no longer says.
    pub seen_at: Option<i64>,
    pub what: Changed,
}

/// What changed. `old`/`new`: the item before and after (`None` before a creation and after
/// a removal).
#[derive(Debug, Clone, PartialEq)]
pub enum Changed {
    /// A bucket's item: its attributes, permissions or counters.
    Bucket {
        old: Option<Box<Bucket>>,
        new: Option<Box<Bucket>>,
    },
    /// A bucket's current data document.
    Data {
        bucket_id: String,
        generation: String,
        old: Option<Box<DataDoc>>,
        new: Option<Box<DataDoc>>,
    },
    /// A file's record (an upload recorded, a version restored, its removal).
    File {
        bucket_id: String,
        generation: String,
        old: Option<Box<FileRecord>>,
        new: Option<Box<FileRecord>>,
    },
    /// A file was deleted: the marker of its objects' cascade, written in the deleting
    /// transaction (which names who deleted it).
    FileDeleted {
        bucket_id: String,
        generation: String,
        name: String,
        by: Option<String>,
        at: i64,
        marker: String,
    },
    /// A bucket incarnation was deleted: the marker of its cascade.
    BucketDeleted {
        bucket_id: String,
        generation: String,
        by: Option<String>,
        at: i64,
        marker: String,
    },
    /// A cascade's marker written again (a pass saved its progress, an operator replayed it).
    MarkerWritten { marker: String },
    /// An upload broke a rule and was removed.
    UploadRejected {
        bucket_id: String,
        generation: String,
        rejection: Rejection,
    },
    /// A webhook (its `retired` says whether its bucket's deletion retired it).
    Webhook {
        bucket_id: String,
        generation: String,
        old: Option<Box<Webhook>>,
        new: Option<Box<Webhook>>,
    },
    /// An API key.
    Key {
        old: Option<Box<ApiKey>>,
        new: Option<Box<ApiKey>>,
    },
    /// A bucket's SFTP user.
    SftpUser {
        bucket_id: String,
        generation: String,
        username: String,
        old: Option<Box<SftpUser>>,
        new: Option<Box<SftpUser>>,
    },
    /// Anything nobody acts on (listings, grants, counters of other kinds, history entries).
    Other,
}

impl Changed {
    /// What a new cascade marker records: a bucket incarnation's deletion, or a file's when
    /// the deleting write noted its `name` (`by`: who deleted it; `at`: when). A file marker
    /// that does not say which file is work for the cascade only.
    pub fn of_new_marker(
        marker: &Marker,
        name: Option<String>,
        by: Option<String>,
        at: i64,
    ) -> Changed {
        let key = marker.key.clone();
        match (&marker.job, name, file_marker_incarnation(&key)) {
            (Job::Bucket { id, generation, .. }, _, _) => Changed::BucketDeleted {
                bucket_id: id.clone(),
                generation: generation.clone(),
                by,
                at,
                marker: key,
            },
            (Job::Objects { .. }, Some(name), Some((id, generation))) => Changed::FileDeleted {
                bucket_id: id.into(),
                generation: generation.into(),
                name,
                by,
                at,
                marker: key,
            },
            (Job::Objects { .. }, _, _) => Changed::MarkerWritten { marker: key },
        }
    }
}

impl Change {
    /// The key of the cascade marker this change wrote (created or written again): work for
    /// the cascade function.
    pub fn marker_written(&self) -> Option<&str> {
        match &self.what {
            Changed::FileDeleted { marker, .. }
            | Changed::BucketDeleted { marker, .. }
            | Changed::MarkerWritten { marker } => Some(marker),
            _ => None,
        }
    }

    /// The bucket whose permissions this change changed, if it is one: what webhooks and SFTP
    /// users act for is judged again then.
    pub fn acl_changed(&self) -> Option<&str> {
        match &self.what {
            Changed::Bucket {
                old: Some(old),
                new: Some(new),
            } if old.permissions != new.permissions => Some(&new.id),
            _ => None,
        }
    }

    /// The bucket whose `active` this change flipped, if it is one (SFTP session policies
    /// follow it).
    pub fn activity_changed(&self) -> Option<&str> {
        match &self.what {
            Changed::Bucket {
                old: Some(old),
                new: Some(new),
            } if old.is_active() != new.is_active() => Some(&new.id),
            _ => None,
        }
    }

    /// The SFTP user this change removed: (bucket id, generation, user name).
    pub fn sftp_user_removed(&self) -> Option<(&str, &str, &str)> {
        match &self.what {
            Changed::SftpUser {
                bucket_id,
                generation,
                username,
                new: None,
                ..
            } => Some((bucket_id, generation, username)),
            _ => None,
        }
    }

    /// The SFTP user this change suspended (or changed while suspended): Transfer must take
    /// its keys away.
    pub fn sftp_user_suspended(&self) -> Option<(&str, &str, &str)> {
        match &self.what {
            Changed::SftpUser {
                bucket_id,
                generation,
                username,
                old: Some(_),
                new: Some(new),
            } if new.suspended.is_some() => Some((bucket_id, generation, username)),
            _ => None,
        }
    }
}
