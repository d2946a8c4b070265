//! What every route holds: the token verifier and the services, and the first steps of every
//! bucket route (who is calling, which bucket the path names: `App::in_bucket`).

use crate::auth::{Verifier, bearer_credential};
use crate::config::Settings;
use crate::domain::access::Identity;
use crate::domain::ids::BucketRef;
use crate::domain::keys::looks_like_secret;
use crate::domain::pagination::CursorKeys;
use crate::ports::KeyStore;
use crate::service::Services;

use super::error::{ApiError, At, Location};
use super::request::Request;

pub struct App<S, O = ()> {
    pub verifier: Verifier,
    pub services: Services<S, O>,
    /// Signs and verifies page cursors (`_token`).
    pub cursor_keys: CursorKeys,
}

impl<S, O> App<S, O> {
    /// Refuses to start without `CURSOR_KEYS`: nothing insecure is derived in its place (a
    /// random per-process key would break pages across Lambda instances; a fixed one would let
    /// anyone forge cursors). The local stack passes a development key.
    pub fn new(settings: Settings, store: S, objects: O) -> Result<App<S, O>, String> {
        let verifier = Verifier::new(&settings.auth)?;
        let cursor_keys = settings.cursor_keys.clone().ok_or(
            "CURSOR_KEYS is required by the HTTP functions: <key id>:<secret of at least 32 bytes>[,<previous key id>:<secret>…]",
        )?;
        Ok(App {
            verifier,
            services: Services::new(settings, store, objects),
            cursor_keys,
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.services.settings
    }
}

impl<S: KeyStore, O> App<S, O> {
    /// Who calls: an API key (`X-API-Key: bk_…` or `Authorization: Bearer bk_…`), a token
    /// (`Authorization: Bearer <JWT>`), or nobody. Two credentials at once are refused rather
    /// than one silently chosen.
    pub async fn identify(&self, req: &Request) -> Result<Identity, ApiError> {
        let authorization = req.header("authorization")?;
        let bearer = authorization.and_then(bearer_credential);
        match (req.header("x-api-key")?, authorization) {
            (Some(_), Some(_)) => Err(ApiError::unauthorized(
                "Please authenticate yourself with one credential: X-API-Key or Authorization, not both.",
            )),
            (Some(secret), None) => Ok(self.services.authenticate_key(secret.trim()).await?),
            (None, _) if bearer.is_some_and(looks_like_secret) => Ok(self
                .services
                .authenticate_key(bearer.unwrap_or_default())
                .await?),
            (None, _) => Ok(self.verifier.identify(authorization).await?),
        }
    }

    /// The start of every route under `/v1/buckets/{id}/…`: who calls, and the bucket the
    /// path's `segment` names (a 401 before a 400 for the id).
    pub async fn in_bucket(&self, req: &Request, segment: &str) -> Result<InBucket, ApiError> {
        let identity = self.identify(req).await?;
        let bucket = bucket_ref(segment)?;
        Ok(InBucket {
            identity,
            bucket,
            segment: segment.to_string(),
        })
    }
}

/// Who calls a route under `/v1/buckets/{id}/…`, and which bucket (`App::in_bucket`). Loading
/// the bucket and checking the caller's permission on it are the use case's
/// (`service::Services`), which knows which permission it needs.
pub struct InBucket {
    pub identity: Identity,
    pub bucket: BucketRef,
    /// The id as the path spells it (`default` stays `default`), for links back to the path.
    pub segment: String,
}

/// The bucket a path segment names (`default`, or a valid id).
pub fn bucket_ref(segment: &str) -> Result<BucketRef, ApiError> {
    BucketRef::parse(segment).at(Location::Path)
}
