//! The data document use cases: read (current or a kept revision) and write (replace, or one of
//! the three patch kinds). Concurrent writers never lose an update: every write is conditional
//! on the revision it read, and retried on a lost race.

use serde_json::{Value, json};

use super::Services;
use super::error::{Error, Result};
use super::retry::on_conflict;
use crate::domain::access::Identity;
use crate::domain::bucket::Bucket;
use crate::domain::data::{DataDoc, check_document};
use crate::domain::ids::BucketRef;
use crate::domain::patch::{self, PatchKind};
use crate::domain::permissions::Permissions;
use crate::domain::preconditions::Preconditions;
use crate::domain::time::{next_timestamp, now_ms};
use crate::ports::{BucketStore, DataStore, StoreError};

/// Lost races a write retries before answering busy: many jobs may merge into one document at
/// once, and each round one of them wins.
const DATA_WRITE_ATTEMPTS: usize = 50;

/// What a write does to the document.
#[derive(Debug, Clone, PartialEq)]
pub enum DataChange {
    /// PUT: the new document.
    Replace(Value),
    /// PATCH: a patch body of this kind (`{"data": …}`, or a JSON Patch over `/data/…`).
    Patch(PatchKind, Value),
}

impl<S: BucketStore + DataStore, O> Services<S, O> {
    /// The current document (an empty one, revision 0, when never written).
    pub async fn get_data(&self, identity: &Identity, bucket: &BucketRef) -> Result<DataDoc> {
        let bucket = self.bucket_for(bucket, identity).await?;
        Ok(self.current_doc(&bucket).await?)
    }

    /// A kept revision.
    pub async fn get_data_revision(
        &self,
        identity: &Identity,
        bucket: &BucketRef,
        revision: i64,
    ) -> Result<DataDoc> {
        let bucket = self.bucket_for(bucket, identity).await?;
        self.store
            .get_data_revision(&bucket.id, &bucket.generation, revision)
            .await?
            .ok_or_else(|| Error::not_found("revision", revision.to_string()))
    }

    /// Replaces or patches the document; write permission.
    pub async fn write_data(
        &self,
        identity: &Identity,
        bucket: &BucketRef,
        pre: &Preconditions,
        change: &DataChange,
    ) -> Result<DataDoc> {
        let bucket = self.writable(bucket, identity).await?;
        let skip_unchanged = matches!(change, DataChange::Patch(..));
        let by = identity.acting_principal();
        self.write_doc(&bucket, pre, skip_unchanged, &by, |current| match change {
            DataChange::Replace(doc) => Ok(doc.clone()),
            DataChange::Patch(kind, body) => Ok(patch::apply(
                *kind,
                patch::Target::Document {
                    max_bytes: usize::try_from(self.settings.data_max_bytes).unwrap_or(usize::MAX),
                },
                &Value::Object(current.doc.clone()),
                &Permissions::default(),
                body,
            )?
            .data),
        })
        .await
    }

    async fn current_doc(&self, bucket: &Bucket) -> std::result::Result<DataDoc, StoreError> {
        Ok(self
            .store
            .get_data(&bucket.id, &bucket.generation)
            .await?
            .unwrap_or_else(DataDoc::empty))
    }

    /// Writes the document `change` computes from the current one, conditional on the revision
    /// read, retrying lost races (412 instead when the client sent a precondition). With
    /// `skip_unchanged`, a change that changes nothing writes nothing. Shared by the data
    /// routes and the jobs.
    pub(super) async fn write_doc(
        &self,
        bucket: &Bucket,
        pre: &Preconditions,
        skip_unchanged: bool,
        by: &str,
        change: impl Fn(&DataDoc) -> Result<Value>,
    ) -> Result<DataDoc> {
        let settings = &self.settings;
        let change = &change;
        on_conflict(
            DATA_WRITE_ATTEMPTS,
            "The data document is being written by many writers at once; retry",
            || async move {
                let current = self.current_doc(bucket).await?;
                if !pre.allows_write(Some(current.revision)) {
                    return Err(Error::PreconditionFailed(Some(
                        json!({"data": current.doc}),
                    )));
                }
                let doc = check_document(&change(&current)?, settings.data_max_bytes)?;
                if skip_unchanged && doc == current.doc {
                    return Ok(current);
                }
                let new = DataDoc {
                    doc,
                    revision: current.revision + 1,
                    modified: next_timestamp(Some(current.modified), now_ms()),
                    modified_by: by.to_string(),
                };
                let written = self
                    .store
                    .put_data(
                        &bucket.id,
                        &bucket.generation,
                        &new,
                        current.revision,
                        settings.data_revisions_kept,
                    )
                    .await;
                match written {
                    Err(StoreError::Conflict) if !pre.is_empty() => {
                        let now = self.current_doc(bucket).await?;
                        Err(Error::PreconditionFailed(Some(json!({"data": now.doc}))))
                    }
                    other => Ok(other.map(|()| new)?),
                }
            },
        )
        .await
    }
}
