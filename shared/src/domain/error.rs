//! The one error the rules return: which field broke which rule, and why. It knows nothing of
//! HTTP: where the value came from (body, path, query string, header) is the HTTP layer's to
//! say when it renders the error (`api::error`).

/// The kind of rule broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    /// A value of the wrong shape, type or content.
    Invalid,
    /// A value over a size bound.
    TooLarge,
}

/// A value that breaks a rule. `field` names it the way the client wrote it (`data.title`,
/// `files[2].size`, `_limit`); `reason` says why, without the field's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub kind: RuleKind,
    pub field: String,
    pub reason: String,
}

impl RuleError {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        RuleError {
            kind: RuleKind::Invalid,
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub fn too_large(field: impl Into<String>, reason: impl Into<String>) -> Self {
        RuleError {
            kind: RuleKind::TooLarge,
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The same rule, for a value the caller names otherwise (a file name from the path is
    /// `name`, not `files[0].name`).
    pub fn renamed(self, field: impl Into<String>) -> Self {
        RuleError {
            field: field.into(),
            ..self
        }
    }
}

impl std::fmt::Display for RuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl std::error::Error for RuleError {}
