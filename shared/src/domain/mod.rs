//! The domain: buckets, ids, permissions, pagination cursors, patches and preconditions.
//! Pure rules, no I/O and no AWS crate, so every rule is unit-tested on its own.

pub mod access;
pub mod addresses;
pub mod bounds;
pub mod bucket;
pub mod cascade;
pub mod changes;
pub mod data;
pub mod error;
pub mod fields;
pub mod files;
pub mod history;
pub mod ids;
pub mod keys;
pub mod limits;
pub mod multipart;
pub mod origin;
pub mod pagination;
pub mod patch;
pub mod permissions;
pub mod preconditions;
pub mod privileges;
#[cfg(test)]
mod proptests;
pub mod sftp;
pub mod time;
pub mod types;
pub mod uploads;
pub mod webhooks;
