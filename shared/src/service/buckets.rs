//! The bucket use cases (Kinto semantics): create, replace, patch, delete, list, delete all.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::Services;
use super::error::{Error, Result, deny};
use super::retry::{WRITE_ATTEMPTS, on_conflict};
use crate::domain::access::Identity;
use crate::domain::bounds::json_size_within;
use crate::domain::bucket::{Bucket, BucketBody, MAX_ATTRS_BYTES, check_reserved, clean_attrs};
use crate::domain::error::RuleError;
use crate::domain::ids::{self, BucketRef};
use crate::domain::keys::{Access, ScopedBucket};
use crate::domain::limits;
use crate::domain::pagination;
use crate::domain::patch::{self, PatchKind};
use crate::domain::permissions::{PartialPermissions, Permissions};
use crate::domain::preconditions::Preconditions;
use crate::domain::time::{next_timestamp, now_ms};
use crate::ports::{BucketPage, BucketStore, ListScope, StoreError};

const BUSY: &str = "The bucket is being written concurrently; retry";
const NEEDS_CREATE: &str = "Creating buckets needs the create_buckets privilege.";

/// How long one delete-all works before answering with where to continue: well inside API
/// Gateway's 29 s limit of the HTTP functions, as the budget is checked before each deletion
/// (one deletion is one conditional write, milliseconds).
pub const DELETE_ALL_BUDGET: Duration = Duration::from_secs(20);

/// Buckets listed per page by a delete-all: small, so each page is quick to list and to go
/// through.
const DELETE_ALL_PAGE: usize = 100;

/// What a delete-all did, and where the next one continues.
#[derive(Debug, Clone, PartialEq)]
pub struct DeletedBuckets {
    pub tombstones: Vec<Value>,
    /// Buckets may remain after `next_after` (the limit or the time budget stopped it).
    pub has_more: bool,
    /// The last id dealt with, where the next call continues (`None`: nothing left).
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
        if given_id.is_none() && !identity.may_create() {
            // A generated id names no existing bucket: the precise reason leaks nothing.
            return Err(Error::Forbidden(NEEDS_CREATE.into()));
        }
        on_conflict(WRITE_ATTEMPTS, BUSY, || async {
            // A generated id that collided is drawn again; a given one is read again.
            let id = given_id.clone().unwrap_or_else(ids::generate_bucket_id);
            let mut attrs = clean_attrs(&body.data, &id)?;
            limits::clean_in(&mut attrs, None, &self.settings.upload)?;
            if given_id.is_some()
                && let Some(existing) = self.store.get(&id).await?
            {
                if !identity.may_read(&existing) {
                    return Err(self.as_if_missing(identity, &id, "data.id", pre));
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
            self.check_reserved(&body.data, &bucket, true)?;
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
                let mut attrs = attrs.clone();
                limits::clean_in(&mut attrs, None, &self.settings.upload)?;
                let new = self.new_bucket(identity, &id, attrs, &body.permissions);
                self.check_reserved(&body.data, &new, true)?;
                let created = self.store.create(&new).await;
                self.settle(created, &id, identity, pre).await?;
                return Ok((new, true));
            };
            if !identity.may_read(&old) {
                return Err(self.as_if_missing(identity, &id, "id", pre));
            }
            if !identity.may_write(&old) {
                return Err(deny(identity));
            }
            if !pre.allows_write(Some(old.last_modified)) {
                return Err(Error::PreconditionFailed(Some(old.envelope())));
            }
            self.check_reserved(&body.data, &old, false)?;
            let base = if body.permissions == PartialPermissions::default() {
                old.permissions.clone()
            } else {
                Permissions::default()
            };
            let mut attrs = attrs.clone();
            limits::clean_in(&mut attrs, Some(&old.attrs), &self.settings.upload)?;
            let mut new = old.next_revision(attrs, base.overlay(&body.permissions), now_ms());
            new.modified_by = identity.acting_principal();
            check_acl_change(identity, &old, &new)?;
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
            if !identity.may_write(&old) {
                return Err(deny(identity));
            }
            if !pre.allows_write(Some(old.last_modified)) {
                return Err(Error::PreconditionFailed(Some(old.envelope())));
            }
            let target = patch::Target::Bucket {
                max_bytes: MAX_ATTRS_BYTES,
            };
            let patched = patch::apply(kind, target, &old.data(), &old.permissions, body)?;
            self.check_reserved(&patched.data, &old, false)?;
            let mut attrs = clean_attrs(&patched.data, &id)?;
            limits::clean_in(&mut attrs, Some(&old.attrs), &self.settings.upload)?;
            let mut new = old.next_revision(attrs, patched.permissions, now_ms());
            new.modified_by = identity.acting_principal();
            if new.attrs == old.attrs && new.permissions == old.permissions {
                return Ok(old);
            }
            check_acl_change(identity, &old, &new)?;
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
            if !identity.may_delete(&bucket) {
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
        let mut page = match identity.key.as_ref().and_then(|k| k.buckets.as_ref()) {
            Some(scope) => self.list_scope(identity, scope, after, limit).await?,
            None => {
                let scope = if identity.reads_everything() {
                    ListScope::All
                } else {
                    ListScope::Principals(identity.principals())
                };
                self.store.list(&scope, after, limit).await?
            }
        };
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

    /// A page of a scoped key's buckets: its scope (at most `keys::MAX_SCOPE` entries, read
    /// by id) sorted by id, those still there and readable.
    async fn list_scope(
        &self,
        identity: &Identity,
        scope: &[ScopedBucket],
        after: Option<&str>,
        limit: usize,
    ) -> Result<BucketPage> {
        let mut ids: Vec<&str> = scope
            .iter()
            .map(|s| s.id.as_str())
            .filter(|id| after.is_none_or(|after| *id > after))
            .collect();
        ids.sort_unstable();
        let has_more = ids.len() > limit;
        ids.truncate(limit);
        let found =
            futures_util::future::try_join_all(ids.iter().map(|id| self.store.get(id))).await?;
        Ok(BucketPage {
            buckets: found
                .into_iter()
                .flatten()
                .filter(|b| identity.may_read(b))
                .collect(),
            has_more,
            last_key: ids.last().map(|id| id.to_string()),
        })
    }

    /// Deletes every bucket whose ACL names one of the caller's OWN principals
    /// (`Identity::own_principals`: `user:<sub>` and a key's `key:<id>`) in `write`, after `after`
    /// (at most `limit`), for up to `DELETE_ALL_BUDGET`. Never what `system.Authenticated` or
    /// `system.Everyone` may write, nor what a privilege reaches: those are other people's.
    pub async fn delete_all_buckets(
        &self,
        identity: &Identity,
        after: Option<String>,
        limit: Option<usize>,
    ) -> Result<DeletedBuckets> {
        self.delete_all_buckets_within(identity, after, limit, DELETE_ALL_BUDGET)
            .await
    }

    /// `delete_all_buckets` with its time budget given. The budget is checked before every
    /// deletion (not only between pages), so an answer comes within about one deletion past
    /// it; at least one bucket is deleted per call, so a client that follows `Next-Page`
    /// always progresses.
    pub async fn delete_all_buckets_within(
        &self,
        identity: &Identity,
        after: Option<String>,
        limit: Option<usize>,
        budget: Duration,
    ) -> Result<DeletedBuckets> {
        self.check_delete_enabled()?;
        if !identity.is_authenticated() {
            return Err(deny(identity));
        }
        let limit = limit.unwrap_or(usize::MAX);
        let started = Instant::now();
        let own = identity.own_principals();
        let scope = ListScope::Principals(own.clone());
        let mut tombstones = Vec::new();
        // The last id dealt with (deleted, skipped or lost to a race): where the next call
        // continues.
        let mut after = after;
        let mut has_more = true;
        let mut out_of_time = false;
        'pages: while has_more && tombstones.len() < limit {
            let want = (limit - tombstones.len()).min(DELETE_ALL_PAGE);
            let page = self.store.list(&scope, after.as_deref(), want).await?;
            has_more = page.has_more;
            let listed = page.buckets.len();
            for (i, bucket) in page.buckets.iter().enumerate() {
                let spent = started.elapsed() >= budget;
                if spent && !tombstones.is_empty() {
                    out_of_time = true;
                    has_more = has_more || i < listed;
                    break 'pages;
                }
                after = Some(bucket.id.clone());
                // A scoped key deletes only what its scope lets it write.
                if !bucket.permissions.can_write(&own)
                    || !identity.scope_allows(bucket, Access::Write)
                {
                    continue;
                }
                let deleted_at = next_timestamp(Some(bucket.last_modified), now_ms());
                match self.store.delete(bucket, deleted_at).await {
                    Ok(()) => tombstones.push(bucket.tombstone(deleted_at)),
                    // Changed or gone since listed: left; the caller can list again.
                    Err(StoreError::Conflict) => {}
                    Err(e) => return Err(e.into()),
                }
                if tombstones.len() >= limit {
                    has_more = has_more || i + 1 < listed;
                    break 'pages;
                }
            }
            after = page.last_key.clone().or(after);
        }
        if out_of_time {
            tracing::info!(
                deleted = tombstones.len(),
                "delete-all ran out of its time budget; the client continues with Next-Page"
            );
        }
        Ok(DeletedBuckets {
            tombstones,
            has_more,
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
        let mut bucket = Bucket::new_incarnation(id, &owner, attrs, acl, now_ms());
        bucket.modified_by = identity.acting_principal();
        bucket
    }

    /// Whether the caller may create a bucket with this id (`field` names where the id came
    /// from): the personal bucket needs no privilege; reserved ids belong to their users.
    fn check_create(&self, identity: &Identity, id: &str, field: &str) -> Result<()> {
        if !identity.is_authenticated() {
            return Err(deny(identity));
        }
        // A scoped key creates nothing, its owner's personal bucket included (it would choose
        // that bucket's ACL for its owner).
        if identity.is_scoped() {
            return Err(deny(identity));
        }
        if self.is_own_default(id, identity) {
            return Ok(());
        }
        // Refusals here are the very answer a caller gets for an existing bucket it may not
        // read (`deny`), so that they tell nothing about whether the id exists; only callers
        // who read every bucket (and so know anyway) get the precise reason.
        if ids::is_reserved(id) {
            if !identity.reads_everything() {
                return Err(deny(identity));
            }
            return Err(RuleError::invalid(field, "is reserved for personal buckets").into());
        }
        if !identity.may_create() {
            if !identity.reads_everything() {
                return Err(deny(identity));
            }
            return Err(Error::Forbidden(NEEDS_CREATE.into()));
        }
        Ok(())
    }

    /// The refusal a create of the missing bucket `id` would get, for a caller who may not
    /// read the existing one: the same answer whatever exists. Only a caller who could create
    /// the id gets a refusal there (the id is taken), which no answer could hide.
    fn as_if_missing(
        &self,
        identity: &Identity,
        id: &str,
        field: &str,
        pre: &Preconditions,
    ) -> Error {
        if let Err(refused) = self.check_create(identity, id, field) {
            return refused;
        }
        if !pre.allows_write(None) {
            return Error::PreconditionFailed(None);
        }
        deny(identity)
    }

    /// The server-managed names in a write's `data` against `server` (`domain::bucket::
    /// check_reserved`); called once the caller may make the write.
    fn check_reserved(&self, data: &Value, server: &Bucket, is_new: bool) -> Result<()> {
        let host = self.settings.sftp_host.as_deref();
        Ok(check_reserved(data, server, is_new, host)?)
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
                    Ok(Some(b)) if identity.may_read(&b) => Some(b.envelope()),
                    _ => None,
                };
                Err(Error::PreconditionFailed(existing))
            }
            other => Ok(other?),
        }
    }
}

/// An ACL change (`old` → `new`) needs write through `old`'s ACL itself, or `admin`: a global
/// privilege (`edit_buckets`, `delete_buckets`) never becomes a grant its holder did not have.
/// The owner is put back in `write` by `next_revision`, so a change that only drops the owner
/// is no change, and nobody can use the owner rule to add himself.
fn check_acl_change(identity: &Identity, old: &Bucket, new: &Bucket) -> Result<()> {
    if new.permissions == old.permissions || identity.may_change_acl(old) {
        return Ok(());
    }
    Err(Error::Forbidden(
        "Changing a bucket's permissions needs write permission in its own ACL; edit_buckets does not grant it.".into(),
    ))
}
