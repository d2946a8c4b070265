//! API keys: the key item (`K#<id>`, read by id on every request that presents the key) and
//! its listing entries (`KO#<owner>` and `KALL`, sort key the key id), written in one
//! transaction. Listings query an entry page and read the keys with one BatchGetItem, so
//! `last_used`, written to the key item alone, is always current.
//!
//! A key with `expires_at` carries a `ttl` a week after it on all three items: DynamoDB
//! removes expired keys eventually (until then they are refused, and listed as expired).
//!
//! The keys-per-owner limit is held by `KC#<owner>`/`KEYS`, whose string set `ids` names the
//! owner's keys (`<id>`, or `<id>#<ttl>` for a key the TTL will remove): a creation adds its
//! entry in its transaction, on the condition that the set holds fewer than
//! `MAX_KEYS_PER_OWNER`; a revocation removes it in its own. A set rather than a number,
//! because the TTL removes keys without touching it: the entries of removed keys can be found
//! (their key item is gone) and forgotten, exactly and idempotently, which a number cannot
//! say. `count_keys` does so once the set is full, reading only the keys whose `ttl` has
//! passed (none: one read), so a full set never refuses a creation for keys that are gone.

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};

use super::item::ItemExt;
use super::keys::{self, KEYS_LISTING};
use super::{DynamoStore, Item, json, n, s, string_list};
use crate::domain::keys::{ApiKey, LAST_USED_EVERY_MS, MAX_KEYS_PER_OWNER};
use crate::ports::{ApiKeyPage, KeyStore, StoreError};

/// How long an expired key is kept (seconds) before DynamoDB's TTL removes it.
const EXPIRED_KEPT_SECS: i64 = 7 * 24 * 3600;

fn ttl(key: &ApiKey) -> Option<i64> {
    key.expires_at.map(|ms| ms / 1000 + EXPIRED_KEPT_SECS)
}

pub(super) fn to_item(k: &ApiKey) -> Item {
    let mut item = keys::api_key(&k.id);
    item.insert("id".into(), s(&k.id));
    item.insert("title".into(), s(&k.title));
    item.insert("owner".into(), s(&k.owner));
    item.insert("privileges".into(), string_list(&k.privileges));
    if let Some(scope) = &k.buckets {
        item.insert("scope".into(), json(scope));
    }
    item.insert("created".into(), n(k.created));
    if let Some(at) = k.expires_at {
        item.insert("expires_at".into(), n(at));
    }
    if let Some(maker) = &k.created_by {
        item.insert("created_by".into(), s(maker));
    }
    item.insert("hash".into(), s(&k.secret_hash));
    if let Some(t) = ttl(k) {
        item.insert("ttl".into(), n(t));
    }
    item
}

pub(super) fn from_item(item: &Item) -> Result<ApiKey, StoreError> {
    Ok(ApiKey {
        id: item.string("id")?,
        title: item.string("title")?,
        owner: item.string("owner")?,
        privileges: item.strings("privileges")?,
        buckets: match item.opt_string("scope")? {
            Some(_) => Some(item.json("scope")?),
            None => None,
        },
        created: item.number("created")?,
        expires_at: item.opt_number("expires_at")?,
        last_used: item.opt_number("last_used")?,
        created_by: item.opt_string("created_by")?,
        secret_hash: item.string("hash")?,
    })
}

/// The attribute of `KC#<owner>`/`KEYS` naming the owner's keys.
const IDS: &str = "ids";

fn id_set<'a>(ids: impl IntoIterator<Item = &'a String>) -> AttributeValue {
    AttributeValue::Ss(ids.into_iter().cloned().collect())
}

/// Key `k`'s entry in its owner's count.
fn count_entry(k: &ApiKey) -> String {
    match ttl(k) {
        Some(t) => format!("{}#{t}", k.id),
        None => k.id.clone(),
    }
}

/// The key id of a count entry and when the TTL may remove the key (seconds).
fn parse_entry(entry: &str) -> (&str, Option<i64>) {
    match entry.split_once('#') {
        Some((id, t)) => (id, t.parse().ok()),
        None => (entry, None),
    }
}

impl DynamoStore {
    /// A transaction item that adds key `k` to its owner's count, while it names fewer than
    /// `MAX_KEYS_PER_OWNER` keys.
    fn count_key_tx(&self, k: &ApiKey) -> TransactWriteItem {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(keys::key_count(&k.owner)))
            .update_expression("ADD #ids :id")
            .condition_expression("attribute_not_exists(#ids) OR size(#ids) < :max")
            .expression_attribute_names("#ids", IDS)
            .expression_attribute_values(":id", id_set([&count_entry(k)]))
            .expression_attribute_values(":max", n(MAX_KEYS_PER_OWNER as i64))
            .build()
            .expect("table, key and update set");
        TransactWriteItem::builder().update(update).build()
    }

    /// A transaction item that removes key `k` from its owner's count (if it is there).
    fn uncount_key_tx(&self, k: &ApiKey) -> TransactWriteItem {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(keys::key_count(&k.owner)))
            .update_expression("DELETE #ids :id")
            .expression_attribute_names("#ids", IDS)
            .expression_attribute_values(":id", id_set([&count_entry(k)]))
            .build()
            .expect("table, key and update set");
        TransactWriteItem::builder().update(update).build()
    }

    /// A listing entry of key `k` in listing partition `listing`.
    fn key_entry(&self, listing: String, k: &ApiKey) -> TransactWriteItem {
        let mut item = keys::listing_entry(&listing, &k.id);
        if let Some(t) = ttl(k) {
            item.insert("ttl".into(), n(t));
        }
        self.put_tx(item)
    }
}

impl KeyStore for DynamoStore {
    async fn get_key(&self, id: &str) -> Result<Option<ApiKey>, StoreError> {
        self.get_item(keys::api_key(id))
            .await?
            .as_ref()
            .map(from_item)
            .transpose()
    }

    async fn create_key(&self, k: &ApiKey) -> Result<(), StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(to_item(k)))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .expect("table and item set");
        self.transact(vec![
            TransactWriteItem::builder().put(put).build(),
            self.key_entry(keys::key_owner_listing(&k.owner), k),
            self.key_entry(KEYS_LISTING.to_string(), k),
            self.count_key_tx(k),
        ])
        .await
    }

    async fn rename_key(&self, id: &str, title: &str) -> Result<Option<ApiKey>, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::api_key(id)))
            .update_expression("SET title = :title")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":title", s(title))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        match out.map_err(super::call::classify) {
            Ok(out) => out.attributes.as_ref().map(from_item).transpose(),
            Err(StoreError::Conflict) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn delete_key(&self, k: &ApiKey) -> Result<(), StoreError> {
        let delete = aws_sdk_dynamodb::types::Delete::builder()
            .table_name(&self.table)
            .set_key(Some(keys::api_key(&k.id)))
            .condition_expression("attribute_exists(pk)")
            .build()
            .expect("table and key set");
        self.transact(vec![
            TransactWriteItem::builder().delete(delete).build(),
            self.delete_tx(keys::listing_entry(
                &keys::key_owner_listing(&k.owner),
                &k.id,
            )),
            self.delete_tx(keys::listing_entry(KEYS_LISTING, &k.id)),
            self.uncount_key_tx(k),
        ])
        .await
    }

    async fn touch_key(&self, id: &str, at: i64) -> Result<(), StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::api_key(id)))
            .update_expression("SET last_used = :at")
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(last_used) OR last_used <= :due)",
            )
            .expression_attribute_values(":at", n(at))
            .expression_attribute_values(":due", n(at - LAST_USED_EVERY_MS))
            .send()
            .await;
        match out.map_err(super::call::classify) {
            // Recorded within the minute by another request, or revoked meanwhile.
            Ok(_) | Err(StoreError::Conflict) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn count_keys(&self, owner: &str) -> Result<usize, StoreError> {
        let counted: Vec<String> = match self.get_item(keys::key_count(owner)).await? {
            Some(item) => match item.get(IDS) {
                Some(AttributeValue::Ss(ids)) => ids.clone(),
                Some(_) => return Err(StoreError::Other(format!("{IDS} is not a string set"))),
                None => Vec::new(),
            },
            None => Vec::new(),
        };
        if counted.len() < MAX_KEYS_PER_OWNER {
            return Ok(counted.len());
        }
        // Full: forget the keys the TTL removed (only those whose `ttl` passed may be gone).
        // An entry is in the set only once its key was written (one transaction), and ids
        // are not reused, so a key item missing now (read strongly consistent) is gone for
        // good.
        let now_secs = crate::domain::time::now_ms() / 1000;
        let due: Vec<&String> = counted
            .iter()
            .filter(|e| parse_entry(e).1.is_some_and(|t| t <= now_secs))
            .collect();
        if due.is_empty() {
            return Ok(counted.len());
        }
        let found = self
            .batch_get_items(
                due.iter()
                    .map(|e| keys::api_key(parse_entry(e).0))
                    .collect(),
                Some("pk"),
            )
            .await?;
        let present: std::collections::HashSet<String> = found
            .iter()
            .map(|item| item.string("pk"))
            .collect::<Result<_, _>>()?;
        let gone: Vec<&String> = due
            .into_iter()
            .filter(|e| !present.contains(&keys::api_key_pk(parse_entry(e).0)))
            .collect();
        if gone.is_empty() {
            return Ok(counted.len());
        }
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::key_count(owner)))
            .update_expression("DELETE #ids :gone")
            .expression_attribute_names("#ids", IDS)
            .expression_attribute_values(":gone", id_set(gone.iter().copied()))
            .send()
            .await
            .map_err(super::call::classify)?;
        tracing::info!(
            owner,
            forgotten = gone.len(),
            "keys removed by the TTL uncounted"
        );
        Ok(counted.len() - gone.len())
    }

    async fn list_keys(
        &self,
        owner: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<ApiKeyPage, StoreError> {
        let listing = owner.map_or_else(|| KEYS_LISTING.to_string(), keys::key_owner_listing);
        let (entries, more) = self.query_after(&listing, after, limit, Some("sk")).await?;
        let ids: Vec<String> = entries
            .iter()
            .map(|e| e.string("sk"))
            .collect::<Result<_, _>>()?;
        let found = self
            .batch_get_items(ids.iter().map(|id| keys::api_key(id)).collect(), None)
            .await?;
        let mut keys: Vec<ApiKey> = found.iter().map(from_item).collect::<Result<_, _>>()?;
        // BatchGetItem answers in no particular order.
        keys.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(ApiKeyPage {
            keys,
            has_more: more,
            last_key: ids.last().cloned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, expires_at: Option<i64>) -> ApiKey {
        ApiKey {
            id: id.into(),
            title: "t".into(),
            owner: "user:a".into(),
            privileges: vec![],
            buckets: None,
            created: 0,
            expires_at,
            last_used: None,
            created_by: None,
            secret_hash: String::new(),
        }
    }

    #[test]
    fn count_entries_name_the_key_and_when_the_ttl_may_remove_it() {
        let forever = count_entry(&key("0123456789abcdef", None));
        assert_eq!(forever, "0123456789abcdef");
        assert_eq!(parse_entry(&forever), ("0123456789abcdef", None));
        let expiring = count_entry(&key("0123456789abcdef", Some(5_000)));
        assert_eq!(
            parse_entry(&expiring),
            ("0123456789abcdef", Some(5 + EXPIRED_KEPT_SECS))
        );
    }
}
