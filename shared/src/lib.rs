//! The Buckets core shared by every Lambda function.
//!
//! - `domain`: the rules (AWS-free, unit-tested).
//! - `auth`, `config`, `error`: identity, settings, the one error type.
//! - `api`: the HTTP routes over the `store` port (AWS-free).
//! - `aws` (feature `aws`): the DynamoDB adapter and the Lambda glue.

pub mod api;
pub mod auth;
pub mod cascade;
pub mod config;
pub mod domain;
pub mod error;
pub mod objects;
pub mod store;
pub mod uploads;

#[cfg(feature = "aws")]
pub mod aws;
