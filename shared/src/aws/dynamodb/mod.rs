//! The DynamoDB adapter of the stores. One table, keys `pk`/`sk`:
//!
//! | item | pk | sk |
//! |---|---|---|
//! | bucket | `B#<id>` | `B` |
//! | listing index, per principal in the ACL | `P#<principal>` | `<id>` |
//! | listing index of all buckets | `ALL` | `<id>` |
//! | current data document | `D#<id>#<generation>` | `HEAD` |
//! | kept data revision | `D#<id>#<generation>` | `R#<revision, 20 digits>` |
//! | file record | `F#<id>#<generation>` | `<name>` |
//! | kept file version (expires by TTL: the retention and a day) | `V#<id>#<generation>` | `<name>#<permalink hash>#<version id>` |
//! | upload grant (expires by TTL) | `U#<id>#<generation>` | `<upload id>` |
//! | upload rejection (expires by TTL) | `R#<id>#<generation>` | `<upload id>` |
//! | pending cascade of a deleted bucket incarnation | `CASCADE` | `<id>#<generation>` |
//! | pending cascade of a deleted file's objects | `CASCADE` | `<id>#<generation>#<upload id>` |
//! | SFTP user of a bucket | `S#<id>#<generation>` | `<user name>` |
//! | count of a bucket's SFTP users (the limit's) | `C#<id>#<generation>` | `SFTP` |
//! | history entry (expires by TTL) | `H#<id>#<generation>` | `<ms>#<stream sequence>` |
//! | webhook (expires by TTL once its bucket is deleted) | `W#<id>#<generation>` | `<webhook id>` |
//! | a bucket's last event number / one event's (TTL) | `WS#<id>#<generation>` | `SEQ` / `<event id>` |
//! | webhook delivery (expires by TTL) | `WD#<id>#<generation>` | `<webhook id>#<delivery id>` |
//! | incarnation with SFTP users (reconciled on schedule) | `SFTP` | `<id>#<generation>#` |
//! | API key (expires by TTL a week after `expires_at`) | `K#<key id>` | `K` |
//! | listing index of a user's keys / of all keys | `KO#<owner>` / `KALL` | `<key id>` |
//! | ids of a user's keys (the limit's count) | `KC#<owner>` | `KEYS` |
//!
//! `keys` declares these layouts once, with what the delete cascade of an incarnation purges
//! (a test there fails when a partition is missing from this table); `item` reads attributes
//! back; `stream` decodes the table's stream records into the domain's typed changes. One file per store: `buckets`, `api_keys`, `files`, `data`, `cascade`;
//! `call` holds what they share to talk to DynamoDB (error mapping, transactions, queries).

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;

mod api_keys;
mod buckets;
mod call;
mod cascade;
mod data;
mod files;
mod history;
mod item;
pub mod keys;
mod sftp;
pub mod stream;
mod webhooks;

/// The SDK error mapping, for the other AWS adapters (SQS) whose errors read alike.
pub(crate) use call::classify as classify_sdk;

/// DynamoDB's limit of items in one TransactWriteItems.
const MAX_TRANSACTION_ITEMS: usize = 100;
/// DynamoDB's limit of keys in one BatchGetItem.
const MAX_BATCH_GET: usize = 100;

type Item = HashMap<String, AttributeValue>;

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: String) -> Self {
        DynamoStore { client, table }
    }

    /// Over the table `table`, with a client of the SDK configuration `sdk`.
    pub fn from_sdk(sdk: &aws_config::SdkConfig, table: String) -> Self {
        DynamoStore::new(Client::new(sdk), table)
    }
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// `v` as a JSON string attribute. What is stored this way (bucket attributes and ACL, data
/// documents) are JSON maps and string lists, whose serialization does not fail: the fallback
/// only keeps the write infallible.
fn json(v: &impl Serialize) -> AttributeValue {
    s(serde_json::to_string(v).unwrap_or_else(|_| "{}".into()))
}

fn string_list(values: &[String]) -> AttributeValue {
    AttributeValue::L(values.iter().map(s).collect())
}
