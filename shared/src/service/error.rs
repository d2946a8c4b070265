//! What a use case answers when it does not succeed: a broken rule, a refusal, a missing or
//! changed resource, or a port failure. The HTTP layer maps each to the Kinto envelope.

use serde_json::Value;

use crate::domain::access::Identity;
use crate::domain::error::RuleError;
use crate::ports::StoreError;

#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// An input breaks a rule.
    Rule(RuleError),
    /// The caller must authenticate (or authenticate otherwise) first.
    Unauthenticated(String),
    /// The caller may not do this.
    Forbidden(String),
    /// No such resource, for a caller allowed to know it.
    NotFound { resource: &'static str, id: String },
    /// Others kept winning the race to write; the client may retry.
    Busy(String),
    /// The client's precondition does not hold; the resource as it is now, when the caller may
    /// read it.
    PreconditionFailed(Option<Value>),
    /// Something the request needs other than the store cannot be had right now (the identity
    /// provider's signing keys); the client may retry.
    Unavailable(String),
    /// A port failed (a lost race the service did not retry is `StoreError::Conflict`).
    Store(StoreError),
}

impl Error {
    pub fn not_found(resource: &'static str, id: impl Into<String>) -> Self {
        Error::NotFound {
            resource,
            id: id.into(),
        }
    }

    /// A lost race (a conditional write that failed): what `retry::on_conflict` retries.
    pub fn is_lost_race(&self) -> bool {
        matches!(self, Error::Store(StoreError::Conflict))
    }
}

impl From<RuleError> for Error {
    fn from(e: RuleError) -> Self {
        Error::Rule(e)
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Error::Store(e)
    }
}

/// Not allowed: unauthenticated for an anonymous caller (who may be allowed once signed in),
/// forbidden else.
pub fn deny(identity: &Identity) -> Error {
    if identity.is_authenticated() {
        Error::Forbidden("This user cannot access this resource.".into())
    } else {
        Error::Unauthenticated("Please authenticate yourself to use this endpoint.".into())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
