//! What every handler shares: settings, the token verifier, the store, and the steps every
//! bucket route starts with (who is calling, which bucket, may they see it).

use serde_json::Map;

use crate::api::error::{ApiError, Location};
use crate::auth::Verifier;
use crate::config::Settings;
use crate::domain::access::Identity;
use crate::domain::bucket::Bucket;
use crate::domain::ids::{self, DEFAULT_ALIAS};
use crate::domain::permissions::Permissions;
use crate::domain::time::now_ms;
use crate::ports::{BucketStore, StoreError};

use super::request::Request;

/// Conditional writes that lose a race are retried this many times when the client asked for
/// no precondition (with one, the lost race is the client's 412).
pub const WRITE_ATTEMPTS: usize = 5;

pub struct App<S> {
    pub settings: Settings,
    pub verifier: Verifier,
    pub store: S,
}

impl<S: BucketStore> App<S> {
    pub fn new(settings: Settings, store: S) -> Result<App<S>, String> {
        let verifier = Verifier::new(&settings.auth)?;
        Ok(App {
            settings,
            verifier,
            store,
        })
    }

    pub fn identify(&self, req: &Request) -> Result<Identity, ApiError> {
        self.verifier.identify(req.header("authorization")?)
    }

    /// The bucket id a path segment names: `default` is the caller's personal bucket (401 for
    /// anonymous callers); anything else must be a valid id.
    pub fn resolve_id(&self, segment: &str, identity: &Identity) -> Result<String, ApiError> {
        if segment == DEFAULT_ALIAS {
            let user = identity.user_principal().ok_or_else(|| {
                ApiError::unauthorized("Please authenticate yourself to use your default bucket.")
            })?;
            return Ok(ids::default_bucket_id(&user));
        }
        if let Some(problem) = ids::id_problem(segment) {
            return Err(ApiError::invalid(Location::Path, "id", problem));
        }
        Ok(segment.to_string())
    }

    /// True when `id` is the caller's own personal bucket.
    pub fn is_own_default(&self, id: &str, identity: &Identity) -> bool {
        identity
            .user_principal()
            .is_some_and(|u| ids::default_bucket_id(&u) == id)
    }

    /// The caller's personal bucket, created on first use (no privilege needed).
    pub async fn ensure_default(&self, identity: &Identity) -> Result<Bucket, ApiError> {
        let Some(user) = identity.user_principal() else {
            return Err(ApiError::unauthorized(
                "Please authenticate yourself to use your default bucket.",
            ));
        };
        let id = ids::default_bucket_id(&user);
        for _ in 0..WRITE_ATTEMPTS {
            if let Some(bucket) = self.store.get(&id).await? {
                return Ok(bucket);
            }
            let bucket = new_bucket(&id, &user, Map::new(), Permissions::default(), now_ms());
            match self.store.create(&bucket).await {
                Ok(()) => return Ok(bucket),
                // Created by a concurrent first use: read it back.
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ApiError::conflict(
            "The default bucket is being created concurrently; retry",
        ))
    }

    /// The bucket a sub-resource route names (`/v1/buckets/{segment}/…`), for a caller who may
    /// read it; `default` is created on first use.
    pub async fn route_bucket(
        &self,
        segment: &str,
        identity: &Identity,
    ) -> Result<Bucket, ApiError> {
        let id = self.resolve_id(segment, identity)?;
        if segment == DEFAULT_ALIAS {
            self.ensure_default(identity).await?;
        }
        self.readable_bucket(&id, identity).await
    }

    /// The bucket the caller may read, or the error that never leaks existence: a missing
    /// bucket is 404 only for callers who could read any bucket, 403 (401 when anonymous) else.
    pub async fn readable_bucket(&self, id: &str, identity: &Identity) -> Result<Bucket, ApiError> {
        match self.store.get(id).await? {
            Some(b) if identity.may_read(&b.permissions) => Ok(b),
            None if identity.reads_everything() || self.is_own_default(id, identity) => {
                Err(ApiError::not_found("bucket", id))
            }
            _ => Err(deny(identity)),
        }
    }
}

/// Not allowed: 401 for an anonymous caller (who may be allowed once authenticated), 403 else.
pub fn deny(identity: &Identity) -> ApiError {
    if identity.is_authenticated() {
        ApiError::forbidden("This user cannot access this resource.")
    } else {
        ApiError::unauthorized("Please authenticate yourself to use this endpoint.")
    }
}

/// A new bucket incarnation owned by `owner`, who is always in `write`.
pub fn new_bucket(
    id: &str,
    owner: &str,
    attrs: Map<String, serde_json::Value>,
    mut permissions: Permissions,
    now: i64,
) -> Bucket {
    permissions.ensure_writer(owner);
    Bucket {
        id: id.to_string(),
        generation: ids::generate_generation(),
        attrs,
        permissions,
        owner: owner.to_string(),
        created: now,
        last_modified: now,
        revision: 1,
        file_count: 0,
        total_bytes: 0,
    }
}
