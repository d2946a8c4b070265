//! The global privileges a caller may hold: from the token's `privileges` claim (or the identity
//! provider's groups), or given to an API key by its creator.

pub const CREATE_BUCKETS: &str = "create_buckets";
pub const EDIT_BUCKETS: &str = "edit_buckets";
pub const DELETE_BUCKETS: &str = "delete_buckets";
pub const ADMIN: &str = "admin";
/// Lets an API key create keys and manage its owner's keys (a signed-in user needs none).
pub const CREATE_KEYS: &str = "create_keys";

/// Every privilege name, as an API key may carry them.
pub const ALL: [&str; 5] = [
    CREATE_BUCKETS,
    EDIT_BUCKETS,
    DELETE_BUCKETS,
    ADMIN,
    CREATE_KEYS,
];
