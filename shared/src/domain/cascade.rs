//! What a delete cascade is asked to do, as its durable marker records it. The engine that does
//! it is `service::cascade`; the marker item's layout is the adapter's.

use serde::{Deserialize, Serialize};

use super::files::{FileRecord, ObjectVersion};

/// What a marker asks to remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    /// Everything under a deleted bucket incarnation. `stale_index` names the principals whose
    /// listing entries may have outlived the bucket (only when its deletion was too large for one
    /// transaction); they are removed only while no bucket with that id exists again.
    Bucket {
        id: String,
        generation: String,
        stale_index: Vec<String>,
    },
    /// The object versions of one deleted file (its record is already gone).
    Objects { objects: Vec<ObjectVersion> },
}

/// A pending cascade, as its marker item holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    pub key: String,
    pub job: Job,
    /// Passes finished so far (each one saved on the marker).
    pub passes: u64,
    /// What the earlier passes did.
    pub tally: Tally,
    /// When the marker was last written (ms): created, a pass saved, or replayed.
    pub updated: i64,
}

impl Marker {
    /// The marker of deleted bucket incarnation `id`/`generation`, written at `at` (ms).
    /// `stale_index`: principals whose listing entries may outlive the bucket (when its
    /// deletion did not fit one transaction).
    pub fn for_bucket(id: &str, generation: &str, stale_index: Vec<String>, at: i64) -> Marker {
        Marker::new(
            bucket_marker_key(id, generation),
            Job::Bucket {
                id: id.to_string(),
                generation: generation.to_string(),
                stale_index,
            },
            at,
        )
    }

    /// The marker of a deleted file's object versions (`objects`: its current one and its
    /// kept ones), written at `at` (ms).
    pub fn for_file(
        id: &str,
        generation: &str,
        record: &FileRecord,
        objects: Vec<ObjectVersion>,
        at: i64,
    ) -> Marker {
        Marker::new(
            file_marker_key(id, generation, &record.upload_id),
            Job::Objects { objects },
            at,
        )
    }

    fn new(key: String, job: Job, at: i64) -> Marker {
        Marker {
            key,
            job,
            passes: 0,
            tally: Tally::default(),
            updated: at,
        }
    }
}

/// The marker key of a bucket incarnation's cascade.
pub fn bucket_marker_key(id: &str, generation: &str) -> String {
    format!("{id}#{generation}")
}

/// The marker key of a deleted file's objects (under its bucket's, so a bucket cascade finds the
/// file markers of its incarnation by prefix).
pub fn file_marker_key(id: &str, generation: &str, upload_id: &str) -> String {
    format!("{id}#{generation}#{upload_id}")
}

/// The bucket id and generation a file marker's key names.
pub fn file_marker_incarnation(key: &str) -> Option<(&str, &str)> {
    let mut parts = key.splitn(3, '#');
    let (id, generation, _upload) = (parts.next()?, parts.next()?, parts.next()?);
    Some((id, generation))
}

/// The S3 prefix of every object of a bucket incarnation.
pub fn object_prefix(id: &str, generation: &str) -> String {
    format!("{id}/{generation}/")
}

/// AWS calls made and things deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub list_objects: u64,
    pub delete_objects: u64,
    pub query: u64,
    pub batch_write_item: u64,
    /// Marker reads and writes, stale index removals.
    pub other_calls: u64,
    pub objects_deleted: u64,
    pub items_deleted: u64,
}

impl Tally {
    pub fn add(&mut self, o: &Tally) {
        self.list_objects += o.list_objects;
        self.delete_objects += o.delete_objects;
        self.query += o.query;
        self.batch_write_item += o.batch_write_item;
        self.other_calls += o.other_calls;
        self.objects_deleted += o.objects_deleted;
        self.items_deleted += o.items_deleted;
    }

    pub fn calls(&self) -> u64 {
        self.list_objects
            + self.delete_objects
            + self.query
            + self.batch_write_item
            + self.other_calls
    }
}
