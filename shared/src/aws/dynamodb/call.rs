//! What every store shares to talk to DynamoDB: error mapping, transactions, reads and queries.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Delete, KeysAndAttributes, Put, TransactWriteItem, Update};

use super::{DynamoStore, Item, MAX_BATCH_GET, MAX_TRANSACTION_ITEMS, n, s};
use crate::ports::StoreError;

/// Maps an SDK error: failed conditions are conflicts, throttling and transport trouble are
/// retryable, the rest is a fault.
pub(crate) fn classify<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    match &err {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or_default();
            match code {
                "ConditionalCheckFailedException" | "TransactionConflictException" => {
                    StoreError::Conflict
                }
                "ProvisionedThroughputExceededException"
                | "RequestLimitExceeded"
                | "ThrottlingException"
                | "InternalServerError"
                | "ServiceUnavailable"
                | "TransactionInProgressException" => {
                    StoreError::Unavailable(format!("{code}: {:?}", service.err().message()))
                }
                _ => StoreError::Other(format!("{code}: {:?}", service.err().message())),
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            StoreError::Unavailable(format!("{err:?}"))
        }
        _ => StoreError::Other(format!("{err:?}")),
    }
}

/// As `classify`, reading a cancelled transaction's reasons: the error code alone
/// (TransactionCanceledException) does not say whether a condition failed or it was throttled.
fn classify_transaction<R: std::fmt::Debug>(
    err: SdkError<TransactWriteItemsError, R>,
) -> StoreError {
    if let Some(TransactWriteItemsError::TransactionCanceledException(e)) = err.as_service_error() {
        let codes: Vec<&str> = e
            .cancellation_reasons()
            .iter()
            .filter_map(|r| r.code())
            .collect();
        if codes
            .iter()
            .any(|c| *c == "ConditionalCheckFailed" || *c == "TransactionConflict")
        {
            return StoreError::Conflict;
        }
        if codes
            .iter()
            .any(|c| *c == "ThrottlingError" || *c == "ProvisionedThroughputExceeded")
        {
            return StoreError::Unavailable(format!("transaction throttled: {codes:?}"));
        }
        return StoreError::Other(format!("transaction cancelled: {codes:?}"));
    }
    classify(err)
}

impl DynamoStore {
    /// A transaction item that writes `item` whatever is there.
    pub(super) fn put_tx(&self, item: Item) -> TransactWriteItem {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()
            .expect("table and item set");
        TransactWriteItem::builder().put(put).build()
    }

    /// A transaction item that writes `item` unless an item with its key exists.
    pub(super) fn put_tx_if_absent(&self, item: Item) -> TransactWriteItem {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .expect("table and item set");
        TransactWriteItem::builder().put(put).build()
    }

    /// A transaction item that deletes the item at `key`, if any.
    pub(super) fn delete_tx(&self, key: Item) -> TransactWriteItem {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .build()
            .expect("table and key set");
        TransactWriteItem::builder().delete(delete).build()
    }

    /// A transaction item that moves the counter `n` at `key` by `delta`; a rise only while
    /// the counter is below `max`. Written in the same transaction as what it counts, it holds
    /// a limit that a check before the write cannot (concurrent writers all pass the check).
    pub(super) fn count_tx(&self, key: Item, delta: i64, max: usize) -> TransactWriteItem {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression("ADD n :delta")
            .expression_attribute_values(":delta", n(delta));
        let update = if delta > 0 {
            update
                .condition_expression("attribute_not_exists(n) OR n < :max")
                .expression_attribute_values(":max", n(max as i64))
        } else {
            update
        };
        TransactWriteItem::builder()
            .update(update.build().expect("table, key and update set"))
            .build()
    }

    /// Deletes the item at `key` and counts it down in `count`, in one transaction. Counted
    /// down only with the item it deletes: a repeated delete frees no second place; a delete
    /// that lost a race on the count (the item still there) is a `Conflict` to try again.
    pub(super) async fn delete_counted(
        &self,
        key: Item,
        count: Item,
        max: usize,
    ) -> Result<(), StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key.clone()))
            .condition_expression("attribute_exists(pk)")
            .build()
            .expect("table and key set");
        match self
            .transact(vec![
                TransactWriteItem::builder().delete(delete).build(),
                self.count_tx(count, -1, max),
            ])
            .await
        {
            Err(StoreError::Conflict) => match self.get_item(key).await? {
                None => Ok(()),
                Some(_) => Err(StoreError::Conflict),
            },
            other => other,
        }
    }

    pub(super) async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), StoreError> {
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map(|_| ())
            .map_err(classify_transaction)
    }

    /// Writes that do not fit one transaction, in transactions of their own (each item is
    /// idempotent, so a retry of the whole request repairs a partial run).
    pub(super) async fn transact_chunks(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<(), StoreError> {
        let mut items = items;
        while !items.is_empty() {
            let rest = items.split_off(items.len().min(MAX_TRANSACTION_ITEMS));
            self.transact(items).await?;
            items = rest;
        }
        Ok(())
    }

    /// The item at `key` (strongly consistent), if any.
    pub(super) async fn get_item(&self, key: Item) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        Ok(out.item)
    }

    /// A strongly consistent query of partition `pk`, at most `limit` items, only the attributes
    /// in `projection` when given; the caller adds the key condition (`:pk` is bound).
    pub(super) fn query(
        &self,
        pk: &str,
        limit: usize,
        projection: Option<&str>,
    ) -> QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .set_projection_expression(projection.map(str::to_string))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .expression_attribute_values(":pk", s(pk))
    }

    /// Up to `limit` items of partition `pk` with sort keys after `after`, in order (strongly
    /// consistent), and whether DynamoDB stopped with more to read.
    pub(super) async fn query_after(
        &self,
        pk: &str,
        after: Option<&str>,
        limit: usize,
        projection: Option<&str>,
    ) -> Result<(Vec<Item>, bool), StoreError> {
        let q = self.query(pk, limit, projection);
        let q = match after {
            Some(after) => q
                .key_condition_expression("pk = :pk AND sk > :after")
                .expression_attribute_values(":after", s(after)),
            None => q.key_condition_expression("pk = :pk"),
        };
        let out = q.send().await.map_err(classify)?;
        let more = out.last_evaluated_key.is_some();
        Ok((out.items.unwrap_or_default(), more))
    }

    /// Reads `keys` with strongly consistent BatchGetItems of at most 100 keys, retrying
    /// unprocessed keys with backoff. `projection` limits the attributes read.
    pub(super) async fn batch_get_items(
        &self,
        keys: Vec<Item>,
        projection: Option<&str>,
    ) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(MAX_BATCH_GET) {
            let mut pending = chunk.to_vec();
            let mut attempt = 0u32;
            while !pending.is_empty() {
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(pending))
                    .consistent_read(true)
                    .set_projection_expression(projection.map(str::to_string))
                    .build()
                    .expect("keys set");
                let mut out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(classify)?;
                // Moved out, not cloned: a page of 100 buckets is most of a listing's work.
                if let Some(items) = out.responses.as_mut().and_then(|r| r.remove(&self.table)) {
                    found.extend(items);
                }
                pending = out
                    .unprocessed_keys
                    .as_mut()
                    .and_then(|u| u.remove(&self.table))
                    .map(|k| k.keys)
                    .unwrap_or_default();
                if !pending.is_empty() {
                    attempt += 1;
                    if attempt > 8 {
                        return Err(StoreError::Unavailable(
                            "BatchGetItem kept returning unprocessed keys".into(),
                        ));
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(10 << attempt.min(6)))
                        .await;
                }
            }
        }
        Ok(found)
    }
}
