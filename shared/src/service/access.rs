//! Which bucket a request means, and whether the caller may see it. Every bucket route starts
//! here; a caller who may not read a bucket learns nothing about it.

use serde_json::Map;

use super::Services;
use super::error::{Error, Result, deny};
use super::retry::{WRITE_ATTEMPTS, on_conflict};
use crate::domain::access::Identity;
use crate::domain::bucket::Bucket;
use crate::domain::ids::{self, BucketRef};
use crate::domain::permissions::Permissions;
use crate::domain::time::now_ms;
use crate::ports::BucketStore;

const SIGN_IN_FOR_DEFAULT: &str = "Please authenticate yourself to use your default bucket.";

impl<S: BucketStore, O> Services<S, O> {
    /// The id a reference names: `default` is the caller's personal bucket (anonymous callers
    /// have none).
    pub fn resolve(&self, bucket: &BucketRef, identity: &Identity) -> Result<String> {
        match bucket {
            BucketRef::Id(id) => Ok(id.clone()),
            BucketRef::Default => identity
                .user_principal()
                .map(|user| ids::default_bucket_id(&user))
                .ok_or_else(|| Error::Unauthenticated(SIGN_IN_FOR_DEFAULT.into())),
        }
    }

    /// True when `id` is the caller's own personal bucket.
    pub fn is_own_default(&self, id: &str, identity: &Identity) -> bool {
        identity
            .user_principal()
            .is_some_and(|u| ids::default_bucket_id(&u) == id)
    }

    /// The caller's personal bucket, created on first use (no privilege needed).
    pub async fn ensure_default(&self, identity: &Identity) -> Result<Bucket> {
        let user = identity
            .user_principal()
            .ok_or_else(|| Error::Unauthenticated(SIGN_IN_FOR_DEFAULT.into()))?;
        let id = ids::default_bucket_id(&user);
        on_conflict(
            WRITE_ATTEMPTS,
            "The default bucket is being created concurrently; retry",
            || async {
                if let Some(bucket) = self.store.get(&id).await? {
                    return Ok(bucket);
                }
                let bucket = Bucket::new_incarnation(
                    &id,
                    &user,
                    Map::new(),
                    Permissions::default(),
                    now_ms(),
                );
                // A lost race is a concurrent first use: the next attempt reads it back.
                self.store.create(&bucket).await?;
                Ok(bucket)
            },
        )
        .await
    }

    /// The bucket a sub-resource route names, for a caller who may read it; `default` is
    /// created on first use.
    pub async fn bucket_for(&self, bucket: &BucketRef, identity: &Identity) -> Result<Bucket> {
        let id = self.resolve(bucket, identity)?;
        // A scoped key never creates its owner's personal bucket (it reaches it only if its
        // scope names it, and then it exists).
        if bucket.is_default() && !identity.is_scoped() {
            self.ensure_default(identity).await?;
        }
        self.readable(&id, identity).await
    }

    /// The bucket the caller may read, or the error that never leaks existence: a missing
    /// bucket is 404 only for callers who could read any bucket, a refusal else.
    pub async fn readable(&self, id: &str, identity: &Identity) -> Result<Bucket> {
        match self.store.get(id).await? {
            Some(b) if identity.may_read(&b) => Ok(b),
            None if identity.reads_everything() || self.is_own_default(id, identity) => {
                Err(Error::not_found("bucket", id))
            }
            _ => Err(deny(identity)),
        }
    }

    /// The bucket the caller may write (read first, so a refusal leaks nothing).
    pub async fn writable(&self, bucket: &BucketRef, identity: &Identity) -> Result<Bucket> {
        let bucket = self.bucket_for(bucket, identity).await?;
        if !identity.may_write(&bucket) {
            return Err(deny(identity));
        }
        Ok(bucket)
    }
}
