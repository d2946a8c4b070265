//! The HTTP API, AWS-free: requests and responses as plain values. Each function's paths parse
//! once into its typed route (`routes`), served by one function (`route::serve`); each route
//! parses its inputs, calls a use case of `service::Services` and renders its answer. The
//! Lambda glue (`aws::lambda`) converts API Gateway events to and from these types.

pub mod app;
pub mod batch;
pub mod buckets;
pub mod data;
pub mod entry;
pub mod error;
pub mod file_paths;
pub mod files;
pub mod history;
pub mod jobs;
pub mod keys;
pub mod multipart;
pub mod paging;
pub mod render;
pub mod request;
pub mod response;
pub mod root;
pub mod route;
pub mod routes;
pub mod sftp;
pub mod versions;
pub mod webhooks;
