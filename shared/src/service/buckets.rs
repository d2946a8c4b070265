//! The bucket use cases (Kinto semantics): create, replace, patch, delete, list, delete all.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::Services;
use super::error::{Error, Result, deny};
use super::retry::{WRITE_ATTEMPTS, on_conflict};
use crate::domain::access::Identity;
use crate::domain::bounds::json_size_within;
use crate::domain::bucket::{Bucket, BucketBody, MAX_ATTRS_BYTES, clean_attrs};
use crate::domain::error::RuleError;
use crate::domain::ids::{self, BucketRef};
use crate::domain::pagination;
use crate::domain::patch::{self, PatchKind};
use crate::domain::permissions::{PartialPermissions, Permissions};
use crate::domain::preconditions::Preconditions;
use crate::domain::time::{next_timestamp, now_ms};
use crate::ports::{BucketPage, BucketStore, ListScope, StoreError};

const BUSY: &str = "The bucket is being written concurrently; retry";

/// How long one delete-all works before answering with where to continue.
const DELETE_ALL_BUDGET: Duration = Duration::from_secs(20);

/// What a delete-all did, and where the next one continues (`None`: nothing left).
#[derive(Debug, Clone, PartialEq)]
pub struct DeletedBuckets {
    pub tombstones: Vec<Value>,
    pub next_after: Option<String>,
}

impl<S: BucketStore, O> Services<S, O> {
    /// Creates a bucket (`data.id`, or a generated id). Kinto: a POST naming an existing id the
    /// caller may read answers that bucket (`false`: not created).
    pub async fn create_bucket(
        &self,
        identity: &Identity,
        pre: &Preconditions,
        body: &BucketBody,
    ) -> Result<(Bucket, bool)> {
        if !identity.is_authenticated() {
            return Err(deny(identity));
        }
        let given_id = body.given_id()?;
        on_conflict(WRITE_ATTEMPTS, BUSY, || async {
            // A generated id that collided is drawn again; a given one is read again.
            let id = given_id.clone().unwrap_or_else(ids::generate_bucket_id);
            let attrs = clean_attrs(&body.data, &id)?;
            if given_id.is_some()
                && let Some(existing) = self.store.get(&id).await?
            {
                if !identity.may_read(&existing.permissions) {
                    return Err(deny(identity));
                }
                if !pre.allows_write(Some(existing.last_modified)) {
                    return Err(Error::PreconditionFailed(Some(existing.envelope())));
                }
                return Ok((existing, false));
            }
            self.check_create(identity, &id, "data.id")?;
            if !pre.allows_write(None) {
                return Err(Error::PreconditionFailed(None));
            }
            let bucket = self.new_bucket(identity, &id, attrs, &body.permissions);
            self.store.create(&bucket).await?;
            Ok((bucket, true))
        })
        .await
    }

    /// Creates or replaces the bucket at `bucket` (`true`: created). Kinto: permissions given
    /// replace them all (lists left out become empty); none given keeps them.
    pub async fn put_bucket(
        &self,
        identity: &Identity,
        bucket: &BucketRef,
        pre: &Preconditions,
        body: &BucketBody,
    ) -> Result<(Bucket, bool)> {
        let id = self.resolve(bucket, identity)?;
        let attrs = clean_attrs(&body.data, &id)?;
        on_conflict(WRITE_ATTEMPTS, BUSY, || async {
            let Some(old) = self.store.get(&id).await? else {
                self.check_create(identity, &id, "id")?;
                if !pre.allows_write(None) {
                    return Err(Error::PreconditionFailed(None));
                }
                let new = self.new_bucket(identity, &id, attrs.clone(), &body.permissions);
                let created = self.store.create(&new).await;
                self.settle(created, &id, identity, pre).await?;
                return Ok((new, true));
            };
            if !identity.may_write(&old.permissions) {
                return Err(deny(identity));
            }
            if !pre.allows_write(Some(old.last_modified)) {
                return Err(Error::PreconditionFailed(Some(old.envelope())));
            }
            let base = if body.permissions == PartialPermissions::default() {
                old.permissions.clone()
            } else {
                Permissions::default()
            };
            let new = old.next_revision(attrs.clone(), base.overlay(&body.permissions), now_ms());
            let updated = self.store.update(&old, &new).await;
            self.settle(updated, &id, identity, pre).await?;
            Ok((new, false))
        })
        .await
    }

    /// Applies a patch of `kind` to the bucket's attributes and permissions. A patch that
    /// changes nothing writes nothing (Kinto answers the object as it is).
    pub async fn patch_bucket(
        &self,
        identity: &Identity,
        bucket: &BucketRef,
        pre: &Preconditions,
        kind: PatchKind,
        body: &Value,
    ) -> Result<Bucket> {
        let id = self.resolve(bucket, identity)?;
        if bucket.is_default() {
            self.ensure_default(identity).await?;
        }
        on_conflict(WRITE_ATTEMPTS, BUSY, || async {
            let old = self.readable(&id, identity).await?;
            if !identity.may_write(&old.permissions) {
                return Err(deny(identity));
            }
            if !pre.allows_write(Some(old.last_modified)) {
                return Err(Error::PreconditionFailed(Some(old.envelope())));
            }
            let target = patch::Target::Bucket {
                max_bytes: MAX_ATTRS_BYTES,
            };
            let patched = patch::apply(kind, target, &old.data(), &old.permissions, body)?;
            let attrs = clean_attrs(&patched.data, &id)?;
            let new = old.next_revision(attrs, patched.permissions, now_ms());
            if new.attrs == old.attrs && new.permissions == old.permissions {
                return Ok(old);
            }
            let updated = self.store.update(&old, &new).await;
            self.settle(updated, &id, identity, pre).await?;
            Ok(new)
        })
        .await
    }

    /// Deletes the bucket (its content goes by the cascade); answers its tombstone.
    pub async fn delete_bucket(
        &self,
        identity: &Identity,
        bucket: &BucketRef,
        pre: &Preconditions,
    ) -> Result<Value> {
        self.check_delete_enabled()?;
        let id = self.resolve(bucket, identity)?;
        on_conflict(WRITE_ATTEMPTS, BUSY, || async {
            let bucket = self.readable(&id, identity).await?;
            if !identity.may_delete(&bucket.permissions) {
                return Err(deny(identity));
            }
            if !pre.allows_write(Some(bucket.last_modified)) {
                return Err(Error::PreconditionFailed(Some(bucket.envelope())));
            }
            let deleted_at = next_timestamp(Some(bucket.last_modified), now_ms());
            let deleted = self.store.delete(&bucket, deleted_at).await;
            self.settle(deleted, &id, identity, pre).await?;
            Ok(bucket.tombstone(deleted_at))
        })
        .await
    }

    /// A page of the buckets the caller may read, by id.
    pub async fn list_buckets(
        &self,
        identity: &Identity,
        after: Option<&str>,
        limit: usize,
    ) -> Result<BucketPage> {
        let scope = if identity.reads_everything() {
            ListScope::All
        } else {
            ListScope::Principals(identity.principals())
        };
        let mut page = self.store.list(&scope, after, limit).await?;
        // Bounded in bytes as well as items: a page of large buckets ends early.
        let fit = pagination::items_within(
            page.buckets
                .iter()
                .map(|b| json_size_within(&b.data(), usize::MAX).unwrap_or(usize::MAX)),
            pagination::MAX_ANSWER_BYTES,
        );
        if fit < page.buckets.len() {
            page.buckets.truncate(fit);
            page.has_more = true;
            page.last_key = page.buckets.last().map(|b| b.id.clone());
        }
        Ok(page)
    }

    /// Deletes every bucket writable by the caller's own principals after `after` (at most
    /// `limit`), for up to `DELETE_ALL_BUDGET`.
    pub async fn delete_all_buckets(
        &self,
        identity: &Identity,
        after: Option<String>,
        limit: Option<usize>,
    ) -> Result<DeletedBuckets> {
        self.check_delete_enabled()?;
        if !identity.is_authenticated() {
            return Err(deny(identity));
        }
        let limit = limit.unwrap_or(usize::MAX);
        let started = Instant::now();
        let principals = identity.principals();
        let scope = ListScope::Principals(principals.clone());
        let mut tombstones = Vec::new();
        let mut after = after;
        let mut has_more = true;
        while tombstones.len() < limit && has_more && started.elapsed() < DELETE_ALL_BUDGET {
            let want = (limit - tombstones.len()).min(pagination::MAX_LIMIT);
            let page = self.store.list(&scope, after.as_deref(), want).await?;
            has_more = page.has_more;
            after = page.last_key.clone().or(after);
            for bucket in page
                .buckets
                .iter()
                .filter(|b| b.permissions.can_write(&principals))
            {
                let deleted_at = next_timestamp(Some(bucket.last_modified), now_ms());
                match self.store.delete(bucket, deleted_at).await {
                    Ok(()) => tombstones.push(bucket.tombstone(deleted_at)),
                    // Changed or gone since listed: left; the caller can list again.
                    Err(StoreError::Conflict) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(DeletedBuckets {
            tombstones,
            next_after: if has_more { after } else { None },
        })
    }

    fn new_bucket(
        &self,
        identity: &Identity,
        id: &str,
        attrs: serde_json::Map<String, Value>,
        permissions: &PartialPermissions,
    ) -> Bucket {
        let owner = identity.user_principal().unwrap_or_default();
        let acl = Permissions::default().overlay(permissions);
        Bucket::new_incarnation(id, &owner, attrs, acl, now_ms())
    }

    /// Whether the caller may create a bucket with this id (`field` names where the id came
    /// from): the personal bucket needs no privilege; reserved ids belong to their users.
    fn check_create(&self, identity: &Identity, id: &str, field: &str) -> Result<()> {
        if !identity.is_authenticated() {
            return Err(deny(identity));
        }
        if self.is_own_default(id, identity) {
            return Ok(());
        }
        if ids::is_reserved(id) {
            return Err(RuleError::invalid(field, "is reserved for personal buckets").into());
        }
        if !identity.may_create() {
            return Err(Error::Forbidden(
                "Creating buckets needs the create_buckets privilege.".into(),
            ));
        }
        Ok(())
    }

    fn check_delete_enabled(&self) -> Result<()> {
        if self.settings.api_delete_enabled {
            Ok(())
        } else {
            Err(Error::Forbidden(
                "Deleting buckets through the API is disabled in this deployment (API_DELETE_ENABLED=false).".into(),
            ))
        }
    }

    /// One conditional write's result: a lost race is the client's 412 when it sent a
    /// precondition (with the bucket as it is now); else it is left for `on_conflict`.
    async fn settle(
        &self,
        result: std::result::Result<(), StoreError>,
        id: &str,
        identity: &Identity,
        pre: &Preconditions,
    ) -> Result<()> {
        match result {
            Err(StoreError::Conflict) if !pre.is_empty() => {
                let existing = match self.store.get(id).await {
                    Ok(Some(b)) if identity.may_read(&b.permissions) => Some(b.envelope()),
                    _ => None,
                };
                Err(Error::PreconditionFailed(existing))
            }
            other => Ok(other?),
        }
    }
}
