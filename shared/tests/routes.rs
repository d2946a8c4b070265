//! Every route's behaviour over the in-memory store, in milliseconds and without AWS: statuses,
//! headers, preconditions, ACLs, limits, paging, uploads and their events, jobs, deployment
//! settings and delete cascades. One test binary (it compiles once); the modules are in
//! `routes/`, the harness in `routes/common.rs`. What only the real stack shows (S3 signatures,
//! real events and streams, CORS, the cascade function's invocation) stays in `tests/`.

#[path = "routes/answers.rs"]
mod answers;
#[path = "routes/common.rs"]
mod common;
#[path = "routes/gateway.rs"]
mod gateway;

#[path = "routes/bounds.rs"]
mod bounds;
#[path = "routes/bucket_patches.rs"]
mod bucket_patches;
#[path = "routes/buckets.rs"]
mod buckets;
#[path = "routes/cascade.rs"]
mod cascade;
#[path = "routes/contract.rs"]
mod contract;
#[path = "routes/data.rs"]
mod data;
#[path = "routes/escalation.rs"]
mod escalation;
#[path = "routes/files.rs"]
mod files;
#[path = "routes/grants.rs"]
mod grants;
#[path = "routes/half_written.rs"]
mod half_written;
#[path = "routes/history.rs"]
mod history;
#[path = "routes/inputs.rs"]
mod inputs;
#[path = "routes/jobs.rs"]
mod jobs;
#[path = "routes/keys.rs"]
mod keys;
#[path = "routes/leaks.rs"]
mod leaks;
#[path = "routes/limits.rs"]
mod limits;
#[path = "routes/methods.rs"]
mod methods;
#[path = "routes/multipart.rs"]
mod multipart;
#[path = "routes/origins.rs"]
mod origins;
#[path = "routes/overwrites.rs"]
mod overwrites;
#[path = "routes/paging.rs"]
mod paging;
#[path = "routes/permalinks.rs"]
mod permalinks;
#[path = "routes/permissions.rs"]
mod permissions;
#[path = "routes/races.rs"]
mod races;
#[path = "routes/root.rs"]
mod root;
#[path = "routes/settings.rs"]
mod settings;
#[path = "routes/sftp.rs"]
mod sftp;
#[path = "routes/stream.rs"]
mod stream;
#[path = "routes/tokens.rs"]
mod tokens;
#[path = "routes/uploads.rs"]
mod uploads;
#[path = "routes/versions.rs"]
mod versions;
#[path = "routes/webhooks.rs"]
mod webhooks;
