//! The Buckets core shared by every Lambda function.
//!
//! ## Module map
//!
//! | module | holds | depends on |
//! |---|---|---|
//! | `rules` (crate `buckets-rules`, re-exported) | the rules the `buckets` CLI shares, in one copy: name normalization, SHA-256 forms and S3's composite, the multipart plan, glob semantics, request bounds (`domain` re-exports them where they belong) | nothing |
//! | `domain` | the rules: buckets, ids, permissions, patches, preconditions, pagination, files, upload rules and per-bucket limits (`limits`, the tighter of the deployment's and the bucket's), cascade markers, what changed in the store (`changes`: the typed changes the stream reports), the history entry and webhook event each change makes (`history::entry_of`, `webhooks::event_of`), the fields a body may hold (`fields::only_known`), who a grant, webhook or SFTP user acts for (`origin`), which addresses an outbound request may reach (`addresses`), what a history entry shows each viewer (`history::HistoryEntry::seen_by`); errors are `domain::error::RuleError` (which field, which rule, why) | nothing with I/O |
//! | `ports` | the traits the services need from storage and the outside (`BucketStore`, `KeyStore`, `FileStore`, `DataStore`, `CascadeStore`, `ObjectStore`, `HistoryStore`, `WebhookStore`, `DeliveryQueue`, `WebhookSender`, `SftpUserStore`, `SftpDirectory`) and `StoreError` | `domain` |
//! | `service` | the use cases, transport-free: who may do it, the rules, conditional writes with one retry loop (`service::retry`); errors are `service::Error` | `domain`, `ports`, `config` |
//! | `api` | HTTP: every function's routes as typed values (`api::routes`), the one serving function (`api::route::serve`: 404, 405 with `Allow`, HEAD as GET, error rendering), each function's answers (`api::entry` is the Buckets function's, with `/v1/batch`; `api::data`, `api::files`, `api::sftp`, `api::webhooks` the others'), parsing, rendering, and the one HTTP error type (`api::error::ApiError`, the Kinto envelope), which alone knows where a value came from | `service`, `auth` |
//! | `auth`, `config` | token verification (`auth::jwks`: the identity provider's keys, fetched through the `JwksSource` port; `auth::http`: its HTTP GET, feature `jwks-http`); deployment settings | `domain`, `service::error` |
//! | `memory` (tests, feature `memory`) | an in-memory implementation of the ports, for the unit and route tests; never in a deployed function. It reports what each call changed as typed changes (`MemoryStore::take_changes`, `memory::journal`), as the stream does | `ports` |
//! | `aws` (feature `aws`) | one adapter per AWS service (`aws::dynamodb`, `aws::s3`, `aws::sqs`, `aws::transfer`, `aws::webhook_http`) the Lambda glue (`aws::lambda`) and what a function builds once at init (`aws::Resources`: settings, table, files bucket; `aws::Deliveries`: the webhook delivery function's). `aws::dynamodb` alone knows the table: its keys (`keys`, the registry), its attributes (one reader and writer per item kind) and its stream records (`stream`, decoded into `domain::changes`); `make check` fails on a key or attribute name elsewhere | everything above |
//!
//! No module imports one that imports it back, and the domain imports nothing outside itself
//! (`infra/checks/module_cycles.py`, run by `make check`).
//!
//! ## Where a change goes
//!
//! - **A new route**: a variant of its function's route in `api/routes.rs` (parsed from the
//!   path, with the methods it serves: `404`, `405` with `Allow` and `HEAD` follow, never by
//!   hand), its arm in that function's `Area::answer` (`api/<area>.rs`; a route under
//!   `/v1/buckets/{id}/` gets who calls and which bucket from `App::in_bucket`), parsing and
//!   rendering in `api/<area>.rs`, the use case as a method of `service::Services` in
//!   `service/<area>.rs`, rules it needs in `domain/`; the route in `infra/template.yaml`; its
//!   operation in the OpenAPI document (`infra/contract/openapi.py` writes `shared/openapi.json`;
//!   every test answer is checked against it); a route test over the memory store (its methods
//!   in `tests/routes/methods.rs`), an end-to-end test only for what the real stack shows.
//! - **A new rule**: a function in `domain/` returning `RuleError` naming the field; the route
//!   that reads the value locates it (`api::error::At`).
//! - **A new partition** (a new kind of item in the table): its key layout in the DynamoDB
//!   adapter's registry (`aws::dynamodb::keys`), saying whether the cascade purges it — a
//!   per-bucket partition that the cascade does not purge fails a unit test there, and so
//!   does one missing from the adapter's module table; its methods on a port trait,
//!   implemented by `aws::dynamodb` and `memory`.
//! - **A new field on a bucket or a file** (server-managed or not): the domain type
//!   (`domain::bucket::Bucket` with its constructor and `data()`, or
//!   `domain::files::FileRecord` with `to_json`) and the adapter's writer and reader of that
//!   item (`aws::dynamodb::buckets::{to_item, from_item}`, `files::{record_item,
//!   record_from}`). Nothing else: the routes render the type, the stream's changes carry it
//!   (decoded by the same reader), so history entries (`target`) and webhook payloads
//!   (`bucket.updated`'s `bucket`) show it; the memory store keeps the type itself. A field a
//!   request may set also goes in its body's parser and OpenAPI schema.
//! - **A new webhook event** (something webhooks hear of): its name in
//!   `domain::webhooks::EVENTS`; the change that makes it — an arm of
//!   `domain::webhooks::event_of` over `domain::changes::Changed` (a new kind of change: a
//!   variant there, decoded in `aws::dynamodb::stream` and reported by `memory::journal`,
//!   and the activity function's stream filter in the template, which
//!   `aws::dynamodb::stream`'s test keeps in step with what is decoded); its payload in the
//!   docs/api.md's webhooks section; a route test that drives it from a write
//!   (`tests/routes/stream.rs`).
//! - **A new trigger** (a new event source for a function): its glue in `aws::lambda` (one
//!   file per function: it tells the events apart and decodes them with the adapter that
//!   owns their shape), the function's work in `service/` (for stream batches, beside
//!   `service::changes`), a main in `functions/<name>` that only builds its clients and
//!   calls the glue (≤ 25 lines), the event source in `infra/template.yaml`.
//! - **Something a caller makes that acts later** (a grant, a webhook, an SFTP user): record
//!   its `domain::origin::Origin` when it is made and judge it with
//!   `Services::origin_problem` when it takes effect (`service::origins` suspends standing
//!   ones when a bucket's ACL changes); its history entry gets a reader's view in
//!   `HistoryEntry::seen_by`.
//! - **A new request body**: name its fields (`Request::fields_body` / `fields::only_known`,
//!   nested objects too) and close its schema in the OpenAPI document
//!   (`additionalProperties: false`).
//! - **A new setting**: `config::Settings` (read once at init), the template parameter, the
//!   docs/configuration.md's settings table.
//! - **Anything a user does or reads** (a route, a field, a CLI command, a console pane): its
//!   reference in `docs/` (the API's in `docs/api.md`, the CLI's in `docs/cli.md`), and a task a
//!   newcomer comes for gets a short guide in `README.md`. Shell examples there are run by
//!   `make docs` (`infra/checks/doc_examples.py`) in a clean shell: an example must work as
//!   printed, or say why not with `<!-- not run: … -->`.

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
