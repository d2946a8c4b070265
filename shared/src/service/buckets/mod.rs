//! The bucket use cases (Kinto semantics): create, replace, patch, delete, list, delete all.

use serde_json::Value;

use super::Services;
use super::error::{Error, Result, deny};
use super::retry::{WRITE_ATTEMPTS, on_conflict};
use crate::domain::access::Identity;
use crate::domain::bucket::{Bucket, BucketBody, MAX_ATTRS_BYTES, check_reserved, clean_attrs};
use crate::domain::error::RuleError;
use crate::domain::ids::{self, BucketRef};
use crate::domain::limits;
use crate::domain::patch::{self, PatchKind};
use crate::domain::permissions::{PartialPermissions, Permissions};
use crate::domain::preconditions::Preconditions;
use crate::domain::time::{next_timestamp, now_ms};
use crate::ports::{BucketStore, StoreError};

mod collection;

pub use collection::{DELETE_ALL_BUDGET, DeletedBuckets};

const BUSY: &str = "The bucket is being written concurrently; retry";
const NEEDS_CREATE: &str = "Creating buckets needs the create_buckets privilege.";
const SCOPED_CREATES_NONE: &str =
    "An API key with a bucket scope creates no bucket (it could not reach what it created).";

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
            return Err(Error::Forbidden(
                if identity.is_scoped() {
                    SCOPED_CREATES_NONE
                } else {
                    NEEDS_CREATE
                }
                .into(),
            ));
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
