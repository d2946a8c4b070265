//! The Buckets core shared by every Lambda function.
//!
//! ## Module map
//!
//! | module | holds | depends on |
//! |---|---|---|
//! | `rules` (crate `buckets-rules`, re-exported) | the rules the `buckets` CLI shares, in one copy: name normalization, SHA-256 forms and S3's composite, the multipart plan, glob semantics, request bounds (`domain` re-exports them where they belong) | nothing |
//! | `domain` | the rules: buckets, ids, permissions, patches, preconditions, pagination, files, upload rules and per-bucket limits (`limits`, the tighter of the deployment's and the bucket's), cascade markers, the fields a body may hold (`fields::only_known`), who a grant, webhook or SFTP user acts for (`origin`), which addresses an outbound request may reach (`addresses`), what a history entry shows each viewer (`history::HistoryEntry::seen_by`); errors are `domain::error::RuleError` (which field, which rule, why) | nothing with I/O |
//! | `ports` | the traits the services need from storage and the outside (`BucketStore`, `KeyStore`, `FileStore`, `DataStore`, `CascadeStore`, `ObjectStore`, `HistoryStore`, `WebhookStore`, `DeliveryQueue`, `WebhookSender`, `SftpUserStore`, `SftpDirectory`) and `StoreError` | `domain` |
//! | `service` | the use cases, transport-free: who may do it, the rules, conditional writes with one retry loop (`service::retry`); errors are `service::Error` | `domain`, `ports`, `config` |
//! | `api` | HTTP: routing (`api::entry` is the Buckets function's, with `/v1/batch`), parsing, rendering, and the one HTTP error type (`api::error::ApiError`, the Kinto envelope), which alone knows where a value came from | `service`, `auth` |
//! | `auth`, `config` | token verification (`auth::jwks`: the identity provider's keys, fetched through the `JwksSource` port; `auth::http`: its HTTP GET, feature `jwks-http`); deployment settings | `domain`, `service::error` |
//! | `memory` (tests, feature `memory`) | an in-memory implementation of the ports, for the unit and route tests; never in a deployed function | `ports` |
//! | `aws` (feature `aws`) | one adapter per AWS service (`aws::dynamodb`, `aws::s3`, `aws::sqs`, `aws::transfer`, `aws::webhook_http`) the Lambda glue (`aws::lambda`) and what a function builds once at init (`aws::Resources`: settings, table, files bucket; `aws::Deliveries`: the webhook delivery function's) | everything above |
//!
//! No module imports one that imports it back (`infra/checks/module_cycles.py`, run by
//! `make test`).
//!
//! ## Where a change goes
//!
//! - **A new route**: parse and render in `api/<area>.rs` (dispatch in that function's
//!   `handle`/`route`), the use case as a method of `service::Services` in
//!   `service/<area>.rs`, rules it needs in `domain/`; the route in `infra/template.yaml`; its
//!   operation in the OpenAPI document (`infra/contract/openapi.py` writes `shared/openapi.json`;
//!   every test answer is checked against it); a route test over the memory store, an
//!   end-to-end test only for what the real stack shows.
//! - **A new rule**: a function in `domain/` returning `RuleError` naming the field; the route
//!   that reads the value locates it (`api::error::At`).
//! - **A new partition** (a new kind of item in the table): its key layout in the DynamoDB
//!   adapter's registry (`aws::dynamodb::keys`), saying whether the cascade purges it — a
//!   per-bucket partition that the cascade does not purge fails a unit test there; its methods
//!   on a port trait, implemented by `aws::dynamodb` and `memory`.
//! - **A new event** (a new trigger): its glue in `aws::lambda` (one file per event source),
//!   a thin main in `functions/<name>`, the use case in `service/`.
//! - **Something a caller makes that acts later** (a grant, a webhook, an SFTP user): record
//!   its `domain::origin::Origin` when it is made and judge it with
//!   `Services::origin_problem` when it takes effect (`service::origins` suspends standing
//!   ones when a bucket's ACL changes); its history entry gets a reader's view in
//!   `HistoryEntry::seen_by`.
//! - **A new request body**: name its fields (`Request::fields_body` / `fields::only_known`,
//!   nested objects too) and close its schema in the OpenAPI document
//!   (`additionalProperties: false`).
//! - **A new setting**: `config::Settings` (read once at init), the template parameter, the
//!   README's settings table.

pub use rules;

pub mod api;
pub mod auth;
pub mod config;
pub mod domain;
#[cfg(any(test, feature = "memory"))]
pub mod memory;
pub mod ports;
pub mod service;

#[cfg(feature = "aws")]
pub mod aws;
