//! File deletion: the record and a cascade marker naming its versions in one transaction, then
//! the versions purged inline (what is left goes to the cascade function).

use std::time::{Duration, Instant};

use super::ALL_FILES_PAGE;
use crate::domain::access::Identity;
use crate::domain::bucket::Bucket;
use crate::domain::cascade::{Job, Tally, file_marker_key};
use crate::domain::files::{FileRecord, ObjectVersion};
use crate::domain::ids::BucketRef;
use crate::ports::{BucketStore, CascadeStore, FileStore, ObjectStore, StoreError};
use crate::service::Services;
use crate::service::cascade::{self, Budget};
use crate::service::error::{Error, Result};
use crate::service::retry::{WRITE_ATTEMPTS, on_conflict};

/// How long a file deletion works on its objects before leaving them to the cascade.
const INLINE_PURGE_BUDGET: Duration = Duration::from_secs(5);

/// Most versions a file deletion's marker names: its own and its kept ones (the rest are
/// deleted before it). A DynamoDB item holds at most 400 KB: 500 versions of a key of up to
/// ~330 bytes stay under half of that.
const MAX_VERSIONS_DELETED_WITH_FILE: usize = 500;

impl<S: BucketStore + FileStore + CascadeStore, O: ObjectStore> Services<S, O> {
    /// Deletes the file `name`; write permission.
    pub async fn delete_file(
        &self,
        identity: &Identity,
        bucket: &BucketRef,
        name: &str,
    ) -> Result<()> {
        let bucket = self.writable(bucket, identity).await?;
        on_conflict(
            WRITE_ATTEMPTS,
            "The file is being written concurrently; retry",
            || async {
                let record = self
                    .store
                    .get_file(&bucket.id, &bucket.generation, name)
                    .await?
                    .ok_or_else(|| Error::not_found("file", name))?;
                // A lost race (replaced meanwhile) reads again and deletes what is there now.
                let by = identity.acting_principal();
                self.remove_file(&bucket, &record, &by).await
            },
        )
        .await
    }

    /// Deletes `record` if it is still the stored one (a lost race else), then its object
    /// versions: its own and those kept of it (a deleted file has no history). The record
    /// goes in one transaction with a cascade marker naming those versions, so a crash or an
    /// S3 failure after it leaves work for the cascade function, never an orphan. The marker
    /// names versions, never the key: a file uploaded again under the name meanwhile keeps
    /// its bytes.
    /// `by`: who deletes it (its marker records it for the bucket's history).
    pub(in crate::service) async fn remove_file(
        &self,
        bucket: &Bucket,
        record: &FileRecord,
        by: &str,
    ) -> Result<()> {
        let (id, generation) = (&bucket.id, &bucket.generation);
        let mut versions = vec![record.object(id, generation)];
        let mut after: Option<String> = None;
        // Kept versions are few (one per replacement within the retention). Those past what
        // one marker item names are deleted now, before the record: a crash in between
        // leaves the file with fewer kept versions (a restore of one is a 404), never a
        // version without its file. Every deletion names a version, never the key: a key-level
        // delete (a delete marker) would hide whatever upload of the name is latest by then.
        loop {
            let page = self
                .store
                .list_kept_versions(id, generation, record, after.as_deref(), ALL_FILES_PAGE)
                .await?;
            let mut kept: Vec<ObjectVersion> = page
                .versions
                .iter()
                .map(|k| k.record.object(id, generation))
                .collect();
            let room = MAX_VERSIONS_DELETED_WITH_FILE.saturating_sub(versions.len());
            let beyond = kept.split_off(room.min(kept.len()));
            versions.extend(kept);
            if !beyond.is_empty() {
                let failed = self.objects.delete_versions(&beyond).await?;
                if let Some(first) = failed.first() {
                    return Err(Error::Store(StoreError::Unavailable(format!(
                        "{} versions of {} could not be deleted ({}); retry",
                        failed.len(),
                        record.name,
                        first.code
                    ))));
                }
            }
            match page.last {
                Some(last) => after = Some(last),
                None => break,
            }
        }
        self.store
            .delete_file(id, generation, record, versions.clone(), by)
            .await?;
        let job = Job::Objects { objects: versions };
        let budget = Budget {
            until: Instant::now() + INLINE_PURGE_BUDGET,
            after_delete_call: &|| {},
        };
        let marker = file_marker_key(&bucket.id, &bucket.generation, &record.upload_id);
        let mut tally = Tally::default();
        // The same pass the cascade function would run; if it fails, the function does.
        let purged =
            match cascade::run_pass(&self.store, &self.objects, &job, &budget, &mut tally).await {
                Ok(_) => self.store.delete_marker(&marker).await,
                Err(e) => Err(e),
            };
        if let Err(e) = purged {
            tracing::warn!(marker, error = ?e, "file objects left to the cascade");
        }
        Ok(())
    }
}
