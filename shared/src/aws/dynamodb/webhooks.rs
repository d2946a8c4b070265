//! Webhooks, event sequences and deliveries (the `W#`, `WS#` and `WD#` partitions of an
//! incarnation; see `keys`). Each webhook and delivery is one item holding its JSON, with the
//! attribute its writes are conditional on (`modified`, `version`) and a `ttl` where it
//! expires.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::call::classify;
use super::item::ItemExt;
use super::keys::Partition;
use super::{DynamoStore, Item, json, n, s};
use crate::domain::webhooks::{Delivery, Event, MAX_WEBHOOKS_PER_BUCKET, Webhook};
use crate::ports::{DeliveryPage, StoreError, WebhookStore};

/// The sort key of a bucket's last event number.
const SEQUENCE_SK: &str = "SEQ";
/// The sort key of the count of an incarnation's webhooks (the limit's counter).
const COUNT_SK: &str = "HOOKS";

fn count_key(id: &str, generation: &str) -> Item {
    Partition::EventSequences.kept_item(id, generation, COUNT_SK)
}

pub(super) fn webhook_key(id: &str, generation: &str, webhook_id: &str) -> Item {
    Partition::Webhooks.kept_item(id, generation, webhook_id)
}

fn delivery_key(id: &str, generation: &str, webhook_id: &str, delivery_id: &str) -> Item {
    Partition::Deliveries.kept_item(id, generation, &format!("{webhook_id}#{delivery_id}"))
}

fn number_of(item: &Item, k: &str) -> Option<i64> {
    match item.get(k) {
        Some(AttributeValue::N(v)) => v.parse().ok(),
        _ => None,
    }
}

impl DynamoStore {
    async fn put_conditional(
        &self,
        item: Item,
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<(), StoreError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition);
        for (k, v) in values {
            put = put.expression_attribute_values(k, v);
        }
        put.send().await.map(|_| ()).map_err(classify)
    }

    async fn event_number(&self, key: Item) -> Result<Option<i64>, StoreError> {
        Ok(self
            .get_item(key)
            .await?
            .and_then(|item| number_of(&item, "n")))
    }
}

/// A webhook item's webhook, `retired` when its bucket's deletion marked it.
pub(super) fn webhook_from(item: &Item) -> Result<Webhook, StoreError> {
    let mut hook = item.json::<Webhook>("hook")?;
    hook.retired = item.contains_key("retired_at");
    Ok(hook)
}

impl WebhookStore for DynamoStore {
    async fn list_webhooks(&self, id: &str, generation: &str) -> Result<Vec<Webhook>, StoreError> {
        let pk = Partition::Webhooks.kept_partition(id, generation);
        let out = self
            .query(&pk, MAX_WEBHOOKS_PER_BUCKET + 1, None)
            .key_condition_expression("pk = :pk")
            .send()
            .await
            .map_err(classify)?;
        out.items
            .unwrap_or_default()
            .iter()
            .map(webhook_from)
            .collect()
    }

    async fn get_webhook(
        &self,
        id: &str,
        generation: &str,
        webhook_id: &str,
    ) -> Result<Option<Webhook>, StoreError> {
        self.get_item(webhook_key(id, generation, webhook_id))
            .await?
            .map(|item| webhook_from(&item))
            .transpose()
    }

    async fn put_webhook(
        &self,
        id: &str,
        generation: &str,
        hook: &Webhook,
        previous_modified: Option<i64>,
    ) -> Result<(), StoreError> {
        match previous_modified {
            // An update of these two only: a retired webhook (`retired_at`, `ttl`) is not
            // written again, so it keeps its expiry.
            Some(previous) => self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(webhook_key(id, generation, &hook.id)))
                .update_expression("SET hook = :h, modified = :new")
                .condition_expression("modified = :m AND attribute_not_exists(retired_at)")
                .expression_attribute_values(":h", json(hook))
                .expression_attribute_values(":new", n(hook.last_modified))
                .expression_attribute_values(":m", n(previous))
                .send()
                .await
                .map(|_| ())
                .map_err(classify),
            // A new webhook only while its incarnation lives.
            None => {
                let mut item = webhook_key(id, generation, &hook.id);
                item.insert("hook".into(), json(hook));
                item.insert("modified".into(), n(hook.last_modified));
                self.transact(vec![
                    self.live_check(id, generation),
                    self.put_tx_if_absent(item),
                    self.count_tx(count_key(id, generation), 1, MAX_WEBHOOKS_PER_BUCKET),
                ])
                .await
            }
        }
    }

    async fn delete_webhook(
        &self,
        id: &str,
        generation: &str,
        webhook_id: &str,
    ) -> Result<(), StoreError> {
        let hook = webhook_key(id, generation, webhook_id);
        self.delete_counted(hook, count_key(id, generation), MAX_WEBHOOKS_PER_BUCKET)
            .await
    }

    async fn retire_webhooks(
        &self,
        id: &str,
        generation: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let mut keys: Vec<Item> = self
            .list_webhooks(id, generation)
            .await?
            .iter()
            .map(|h| webhook_key(id, generation, &h.id))
            .collect();
        keys.push(Partition::EventSequences.kept_item(id, generation, SEQUENCE_SK));
        keys.push(count_key(id, generation));
        for key in keys {
            let set = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key))
                .update_expression("SET #ttl = :ttl, retired_at = if_not_exists(retired_at, :ttl)")
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_names("#ttl", "ttl")
                .expression_attribute_values(":ttl", n(expires_at))
                .send()
                .await
                .map_err(classify);
            match set {
                Ok(_) | Err(StoreError::Conflict) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    async fn sequence_of(&self, event: &Event, expires_at: i64) -> Result<i64, StoreError> {
        let (id, generation) = (&event.bucket_id, &event.generation);
        let event_key = Partition::EventSequences.kept_item(id, generation, &event.id);
        if let Some(number) = self.event_number(event_key.clone()).await? {
            return Ok(number);
        }
        let counted = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Partition::EventSequences.kept_item(
                id,
                generation,
                SEQUENCE_SK,
            )))
            .update_expression("ADD n :one")
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(classify)?;
        let number = counted
            .attributes
            .as_ref()
            .and_then(|a| number_of(a, "n"))
            .ok_or_else(|| StoreError::Other("the event counter returned no number".into()))?;
        let mut item = event_key.clone();
        item.insert("n".into(), n(number));
        item.insert("ttl".into(), n(expires_at));
        match self
            .put_conditional(item, "attribute_not_exists(pk)", vec![])
            .await
        {
            Ok(()) => Ok(number),
            // Numbered meanwhile by a concurrent delivery of the same record: its number
            // stands (this one is a gap).
            Err(StoreError::Conflict) => self
                .event_number(event_key)
                .await?
                .ok_or(StoreError::Conflict),
            Err(e) => Err(e),
        }
    }

    async fn create_delivery(&self, d: &Delivery, expires_at: i64) -> Result<bool, StoreError> {
        let mut item = delivery_key(&d.bucket_id, &d.generation, &d.webhook_id, &d.id);
        item.insert("delivery".into(), json(d));
        item.insert("version".into(), n(d.version as i64));
        item.insert("ttl".into(), n(expires_at));
        match self
            .put_conditional(item, "attribute_not_exists(pk)", vec![])
            .await
        {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn get_delivery(
        &self,
        id: &str,
        generation: &str,
        webhook_id: &str,
        delivery_id: &str,
    ) -> Result<Option<Delivery>, StoreError> {
        self.get_item(delivery_key(id, generation, webhook_id, delivery_id))
            .await?
            .map(|item| item.json::<Delivery>("delivery"))
            .transpose()
    }

    async fn update_delivery(&self, d: &Delivery) -> Result<(), StoreError> {
        let previous = d.version.checked_sub(1).ok_or(StoreError::Conflict)?;
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(delivery_key(
                &d.bucket_id,
                &d.generation,
                &d.webhook_id,
                &d.id,
            )))
            .update_expression("SET delivery = :d, version = :v")
            .condition_expression("version = :previous")
            .expression_attribute_values(":d", json(d))
            .expression_attribute_values(":v", n(d.version as i64))
            .expression_attribute_values(":previous", n(previous as i64))
            .send()
            .await
            .map(|_| ())
            .map_err(classify)
    }

    async fn list_deliveries(
        &self,
        id: &str,
        generation: &str,
        webhook_id: &str,
        before: Option<&str>,
        limit: usize,
    ) -> Result<DeliveryPage, StoreError> {
        let pk = &Partition::Deliveries.kept_partition(id, generation);
        let prefix = &format!("{webhook_id}#");
        // The cursor's own item is read again (BETWEEN is inclusive) and dropped.
        let read = limit + 1 + usize::from(before.is_some());
        let q = self.query(pk, read, None).scan_index_forward(false);
        let q = match before {
            // Below the cursor, within the webhook's prefix.
            Some(before) => q
                .key_condition_expression("pk = :pk AND sk BETWEEN :lo AND :hi")
                .expression_attribute_values(":lo", s(prefix.as_str()))
                .expression_attribute_values(":hi", s(format!("{prefix}{before}"))),
            None => q
                .key_condition_expression("pk = :pk AND begins_with(sk, :lo)")
                .expression_attribute_values(":lo", s(prefix.as_str())),
        };
        let out = q.send().await.map_err(classify)?;
        let mut deliveries: Vec<Delivery> = Vec::new();
        for item in out.items.unwrap_or_default() {
            let d = item.json::<Delivery>("delivery")?;
            if Some(d.id.as_str()) != before {
                deliveries.push(d);
            }
        }
        let has_more = deliveries.len() > limit || out.last_evaluated_key.is_some();
        deliveries.truncate(limit);
        Ok(DeliveryPage {
            deliveries,
            has_more,
        })
    }
}
