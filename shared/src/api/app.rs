//! What every route holds: the token verifier and the services, and the first steps of every
//! bucket route (who is calling, which bucket the path names).

use crate::auth::Verifier;
use crate::config::Settings;
use crate::domain::access::Identity;
use crate::domain::ids::BucketRef;
use crate::service::Services;

use super::error::{ApiError, At, Location};
use super::request::Request;

pub struct App<S, O = ()> {
    pub verifier: Verifier,
    pub services: Services<S, O>,
}

impl<S, O> App<S, O> {
    pub fn new(settings: Settings, store: S, objects: O) -> Result<App<S, O>, String> {
        let verifier = Verifier::new(&settings.auth)?;
        Ok(App {
            verifier,
            services: Services::new(settings, store, objects),
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.services.settings
    }

    pub fn identify(&self, req: &Request) -> Result<Identity, ApiError> {
        Ok(self.verifier.identify(req.header("authorization")?)?)
    }
}

/// The bucket a path segment names (`default`, or a valid id).
pub fn bucket_ref(segment: &str) -> Result<BucketRef, ApiError> {
    BucketRef::parse(segment).at(Location::Path)
}
