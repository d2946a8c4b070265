//! `FileStore` over the in-memory table: file records (`F#<id>#<gen>`), kept versions
//! (`V#…`, sort key `<name>#<hash>#<version>`), upload grants (`U#…`) and rejections (`R#…`),
//! with the conditions of `aws::dynamodb::files`.

use std::collections::BTreeSet;

use super::journal::Deletion;
use super::{Item, MARKER_PK, MemoryStore, bucket_key, key, part_pk};
use crate::domain::cascade::Marker;
use crate::domain::files::{FileRecord, Grant, KeptVersion, ObjectVersion};
use crate::domain::time::now_ms;
use crate::ports::{FilePage, FileStore, KeptPage, Rejection, Room, StoreError};

fn file_key(id: &str, generation: &str, name: &str) -> crate::ports::ItemKey {
    key(part_pk("F", id, generation), name)
}

fn grant_key(id: &str, generation: &str, upload_id: &str) -> crate::ports::ItemKey {
    key(part_pk("U", id, generation), upload_id)
}

/// The prefix of the kept versions of a file (its name and permalink hash).
fn kept_prefix(name: &str, hash: &str) -> String {
    format!("{name}#{hash}#")
}

fn kept_key(id: &str, generation: &str, k: &KeptVersion) -> crate::ports::ItemKey {
    let r = &k.record;
    key(
        part_pk("V", id, generation),
        format!("{}{}", kept_prefix(&r.name, &r.hash), r.version_id),
    )
}

fn rejection_key(id: &str, generation: &str, upload_id: &str) -> crate::ports::ItemKey {
    key(part_pk("R", id, generation), upload_id)
}

impl FileStore for MemoryStore {
    async fn get_file(
        &self,
        id: &str,
        generation: &str,
        name: &str,
    ) -> Result<Option<FileRecord>, StoreError> {
        let state = self.begin()?;
        Ok(state
            .read(&file_key(id, generation, name), Item::as_file)?
            .cloned())
    }

    async fn list_files(
        &self,
        id: &str,
        generation: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<FilePage, StoreError> {
        let state = self.begin()?;
        let pk = part_pk("F", id, generation);
        let mut files = Vec::new();
        for (k, item) in state.partition(&pk, after).take(limit.saturating_add(1)) {
            let record = item
                .as_file()
                .ok_or_else(|| super::mismatch(k, item.kind()))?;
            files.push(record.clone());
        }
        let has_more = files.len() > limit;
        files.truncate(limit);
        let last_key = files.last().map(|f| f.name.clone());
        Ok(FilePage {
            files,
            has_more,
            last_key,
        })
    }

    /// Each name of `names` that has a record, once, in the order first asked, with its size.
    async fn existing_sizes(
        &self,
        id: &str,
        generation: &str,
        names: &[String],
    ) -> Result<Vec<(String, u64)>, StoreError> {
        let state = self.begin()?;
        let mut seen = BTreeSet::new();
        let mut found = Vec::new();
        for name in names {
            if seen.insert(name.as_str())
                && let Some(record) = state.read(&file_key(id, generation, name), Item::as_file)?
            {
                found.push((name.clone(), record.size));
            }
        }
        Ok(found)
    }

    /// Writes the grants (replacing any with the same upload id, unspent again: the adapter's
    /// item has no `recorded` attribute until the upload is recorded) while the incarnation is
    /// live, else `Conflict`. No grants: nothing is checked.
    async fn put_grants(
        &self,
        id: &str,
        generation: &str,
        grants: &[Grant],
    ) -> Result<(), StoreError> {
        let mut state = self.begin()?;
        if grants.is_empty() {
            return Ok(());
        }
        if !state.live(id, generation)? {
            return Err(StoreError::Conflict);
        }
        for g in grants {
            let stored = Grant {
                recorded: false,
                ..g.clone()
            };
            state
                .items
                .insert(grant_key(id, generation, &g.upload_id), Item::Grant(stored));
        }
        Ok(())
    }

    async fn get_grant(
        &self,
        id: &str,
        generation: &str,
        upload_id: &str,
    ) -> Result<Option<Grant>, StoreError> {
        let state = self.begin()?;
        Ok(state
            .read(&grant_key(id, generation, upload_id), Item::as_grant)?
            .cloned())
    }

    /// Removes the grants; missing ones are no error.
    async fn delete_grants(
        &self,
        id: &str,
        generation: &str,
        upload_ids: &[String],
    ) -> Result<(), StoreError> {
        let mut state = self.begin()?;
        for upload_id in upload_ids {
            state.items.remove(&grant_key(id, generation, upload_id));
        }
        Ok(())
    }

    /// Removes the grant unless it is spent (`Conflict`); a missing one is no error.
    async fn withdraw_grant(
        &self,
        id: &str,
        generation: &str,
        upload_id: &str,
    ) -> Result<(), StoreError> {
        let mut state = self.begin()?;
        let gk = grant_key(id, generation, upload_id);
        if state.read(&gk, Item::as_grant)?.is_some_and(|g| g.recorded) {
            return Err(StoreError::Conflict);
        }
        state.items.remove(&gk);
        Ok(())
    }

    /// The adapter's transaction. Conditions: the stored record's `version_id` is
    /// `previous`'s (or no record exists when `previous` is `None`); the grant of
    /// `record.upload_id` exists and is unspent; the bucket is this generation (and
    /// `room.revision`, when given), for a new name holds fewer than `room.max_files`, and, when
    /// the write grows `total_bytes` by `delta = record.size - (previous.size or 0)`, holds at
    /// most `room.max_bytes - delta` (the adapter's `total_bytes <= :room`, computed by the
    /// caller since conditions have no arithmetic). Then: the record is written as given, the grant is
    /// spent, and the counters move (+1 file and `record.size` bytes for a new name; bytes by
    /// `record.size - previous.size` for a replacement), and `kept` is written.
    async fn record_upload(
        &self,
        id: &str,
        generation: &str,
        record: &FileRecord,
        previous: Option<&FileRecord>,
        kept: Option<&KeptVersion>,
        room: &Room,
    ) -> Result<(), StoreError> {
        let mut state = self.begin()?;
        let fk = file_key(id, generation, &record.name);
        let stored = state.read(&fk, Item::as_file)?;
        let record_holds = match previous {
            None => stored.is_none(),
            Some(prev) => stored.is_some_and(|s| s.version_id == prev.version_id),
        };
        let gk = grant_key(id, generation, &record.upload_id);
        let grant_holds = state
            .read(&gk, Item::as_grant)?
            .is_some_and(|g| !g.recorded);
        let max = i64::try_from(room.max_files).unwrap_or(i64::MAX);
        let delta = record.size as i64 - previous.map_or(0, |p| p.size as i64);
        let bytes_room = room.bytes_room(delta);
        let bucket_holds = state.bucket(id)?.is_some_and(|b| {
            b.generation == generation
                && room.revision.is_none_or(|r| b.revision == r)
                && (previous.is_some() || b.file_count < max)
                && bytes_room.is_none_or(|room| b.total_bytes <= room)
        });
        if !(record_holds && grant_holds && bucket_holds) {
            return Err(StoreError::Conflict);
        }
        state.items.insert(fk, Item::File(record.clone()));
        if let Some(k) = kept {
            state
                .items
                .insert(kept_key(id, generation, k), Item::Kept(k.clone()));
        }
        if let Some(grant) = state.write(&gk, Item::as_grant_mut)? {
            grant.recorded = true;
        }
        if let Some(bucket) = state.write(&bucket_key(id), Item::as_bucket_mut)? {
            match previous {
                None => {
                    bucket.file_count += 1;
                    bucket.total_bytes += record.size as i64;
                }
                Some(prev) => bucket.total_bytes += record.size as i64 - prev.size as i64,
            }
        }
        Ok(())
    }

    /// Up to `limit` kept versions of `file` after version `after`, by version id.
    async fn list_kept_versions(
        &self,
        id: &str,
        generation: &str,
        file: &FileRecord,
        after: Option<&str>,
        limit: usize,
    ) -> Result<KeptPage, StoreError> {
        let state = self.begin()?;
        let pk = part_pk("V", id, generation);
        let prefix = kept_prefix(&file.name, &file.hash);
        let start = format!("{prefix}{}", after.unwrap_or_default());
        let mut versions = Vec::new();
        for (k, item) in state.partition(&pk, Some(&start)) {
            if !k.sk.starts_with(&prefix) || versions.len() > limit {
                break;
            }
            let kept = item
                .as_kept()
                .ok_or_else(|| super::mismatch(k, item.kind()))?;
            versions.push(kept.clone());
        }
        let more = versions.len() > limit;
        versions.truncate(limit);
        let last = more
            .then(|| versions.last().map(|k| k.record.version_id.clone()))
            .flatten();
        Ok(KeptPage { versions, last })
    }

    async fn get_kept_version(
        &self,
        id: &str,
        generation: &str,
        file: &FileRecord,
        version_id: &str,
    ) -> Result<Option<KeptVersion>, StoreError> {
        let state = self.begin()?;
        let k = key(
            part_pk("V", id, generation),
            format!("{}{version_id}", kept_prefix(&file.name, &file.hash)),
        );
        Ok(state.read(&k, Item::as_kept)?.cloned())
    }

    /// Conditions: the stored record's `version_id` is `record`'s, and the bucket is this
    /// generation. Then: the record goes, the counters drop by one file and `record.size`
    /// bytes, and the marker `file_marker_key(id, generation, record.upload_id)` is written
    /// with `Job::Objects` of `objects` (`updated` = now).
    async fn delete_file(
        &self,
        id: &str,
        generation: &str,
        record: &FileRecord,
        objects: Vec<ObjectVersion>,
        by: &str,
    ) -> Result<(), StoreError> {
        let mut state = self.begin()?;
        let fk = file_key(id, generation, &record.name);
        let record_holds = state
            .read(&fk, Item::as_file)?
            .is_some_and(|s| s.version_id == record.version_id);
        if !(record_holds && state.live(id, generation)?) {
            return Err(StoreError::Conflict);
        }
        state.items.remove(&fk);
        if let Some(bucket) = state.write(&bucket_key(id), Item::as_bucket_mut)? {
            bucket.file_count -= 1;
            bucket.total_bytes -= record.size as i64;
        }
        let marker = Marker::for_file(id, generation, record, objects, now_ms());
        let deletion = Deletion {
            name: Some(record.name.clone()),
            by: Some(by.to_string()),
        };
        state.items.note_deletion(&marker.key, deletion);
        state
            .items
            .insert(key(MARKER_PK, &marker.key), Item::Marker(marker));
        Ok(())
    }

    /// Writes (or replaces) the rejection while the incarnation is live, else `Conflict`.
    async fn put_rejection(
        &self,
        id: &str,
        generation: &str,
        rejection: &Rejection,
    ) -> Result<(), StoreError> {
        let mut state = self.begin()?;
        if !state.live(id, generation)? {
            return Err(StoreError::Conflict);
        }
        state.items.insert(
            rejection_key(id, generation, &rejection.upload_id),
            Item::Rejection(rejection.clone()),
        );
        Ok(())
    }

    async fn get_rejection(
        &self,
        id: &str,
        generation: &str,
        upload_id: &str,
    ) -> Result<Option<Rejection>, StoreError> {
        let state = self.begin()?;
        Ok(state
            .read(
                &rejection_key(id, generation, upload_id),
                Item::as_rejection,
            )?
            .cloned())
    }
}
