//! The end-to-end tests on the local stack, one test binary (one link instead of one per
//! file): each module is one area (`cargo test -p buckets-e2e --test e2e files::` runs one).
//! Their tests run side by side, so none of them changes the deployed stack's settings. The
//! tests that do, `tests/cascade.rs` and `tests/deployment_settings.rs`, are binaries of their
//! own: cargo runs test binaries one after another, so no other test sees a changed setting.

mod buckets;
mod cli;
mod cognito;
mod contract;
mod data;
mod files;
mod hardening_inputs;
mod history;
mod jobs;
mod keys;
mod listing_and_permissions;
mod multipart;
mod root_and_auth;
mod sftp;
mod versions;
mod webhooks;
