//! The ports: what the services need from storage, as traits with plain-value errors. Adapters
//! implement them (`aws::dynamodb`, `aws::s3`; `memory` for tests); services and the HTTP layer
//! depend only on these.

pub mod history;
pub mod objects;
pub mod sftp;
pub mod store;
pub mod webhooks;

pub use history::{HistoryPage, HistoryStore};
pub use objects::{
    Completion, CurrentObject, CurrentPage, FailedKey, MultipartSpec, ObjectMeta, ObjectPage,
    ObjectStore, ObjectVersion, PartInfo, PartPage, PartSpec, Presigned, PutSpec,
};
pub use sftp::{DirectoryUser, SftpBucket, SftpDirectory, SftpUserPage, SftpUserStore};
pub use store::{
    ApiKeyPage, BucketPage, BucketStore, CascadeStore, DataStore, FilePage, FileStore, ItemKey,
    ItemSet, KeptPage, KeyPage, KeyStore, ListScope, MarkerPage, Rejection, Room,
};
pub use webhooks::{DeliveryPage, DeliveryQueue, WebhookSender, WebhookStore};

/// Why a port call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// A condition failed: the object changed (or appeared, or vanished) since it was read.
    Conflict,
    /// The service is throttling or unavailable; the client may retry.
    Unavailable(String),
    /// Anything else; logged, never shown.
    Other(String),
}
