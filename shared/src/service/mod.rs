//! The use cases, transport-free: what a request or an event asks, over the ports. Each
//! function checks who may do it, applies the domain's rules, and writes conditionally
//! (`retry::on_conflict`). The HTTP layer (`api`) parses and renders; the event functions call
//! `uploads` and `cascade` directly.

pub mod access;
pub mod buckets;
pub mod cascade;
pub mod changes;
pub mod data;
pub mod direct_writes;
pub mod error;
pub mod files;
pub mod history;
pub mod jobs;
pub mod keys;
pub mod multipart;
pub mod origins;
pub mod reconcile;
pub mod retry;
pub mod sftp;
pub mod uploads;
pub mod versions;
pub mod webhooks;

pub use error::{Error, Result};

use crate::config::Settings;

/// What every use case works with: the deployment's settings and the ports. `O` is the object
/// store, `()` for functions that never touch S3.
pub struct Services<S, O = ()> {
    pub settings: Settings,
    pub store: S,
    pub objects: O,
}

impl<S, O> Services<S, O> {
    pub fn new(settings: Settings, store: S, objects: O) -> Self {
        Services {
            settings,
            store,
            objects,
        }
    }
}
