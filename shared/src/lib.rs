//! The Buckets core shared by every Lambda function.
//!
//! - `domain`: the rules (AWS-free, unit-tested).
//! - `ports`: the storage traits the services need.
//! - `service`: the use cases (transport-free).
//! - `auth`, `config`: identity, settings.
//! - `memory`: in-memory adapters of the ports, for tests (AWS-free).
//! - `api`: the HTTP routes over the services (AWS-free), and the one HTTP error type.
//! - `aws` (feature `aws`): the DynamoDB and S3 adapters and the Lambda glue.

pub mod api;
pub mod auth;
pub mod config;
pub mod domain;
pub mod memory;
pub mod ports;
pub mod service;

#[cfg(feature = "aws")]
pub mod aws;
