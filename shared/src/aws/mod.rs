//! The AWS side (feature `aws`): one adapter per service, and the Lambda glue.

pub mod dynamodb;
pub mod lambda;
pub mod s3;
