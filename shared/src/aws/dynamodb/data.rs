//! Data documents (the `D#` partition of an incarnation; see `keys`).

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};

use super::item::ItemExt;
use super::keys::{DATA_HEAD, Partition, data_revision};
use super::{DynamoStore, Item, json, n, s};
use crate::domain::data::DataDoc;
use crate::ports::{DataStore, StoreError};

pub(super) fn doc_item(id: &str, generation: &str, sk: &str, d: &DataDoc) -> Item {
    let mut item = Partition::Data.item(id, generation, sk);
    item.insert("doc".into(), json(&d.doc));
    item.insert("rev".into(), n(d.revision));
    item.insert("modified".into(), n(d.modified));
    if !d.modified_by.is_empty() {
        item.insert("by".into(), s(&d.modified_by));
    }
    item
}

pub(super) fn doc_from(item: &Item) -> Result<DataDoc, StoreError> {
    // A document that cannot be read (written before `MAX_JSON_DEPTH` bounded it, nested
    // deeper than the reader goes) reads as empty at its revision, logged: the bucket's
    // writers can then replace it, and its bucket can still be emptied or deleted.
    let doc = item.json("doc").unwrap_or_else(|e| {
        tracing::error!(error = ?e, "unreadable data document read as empty");
        Default::default()
    });
    Ok(DataDoc {
        doc,
        revision: item.number("rev")?,
        modified: item.number("modified")?,
        modified_by: item.opt_string("by")?.unwrap_or_default(),
    })
}

impl DataStore for DynamoStore {
    async fn get_data(&self, id: &str, generation: &str) -> Result<Option<DataDoc>, StoreError> {
        self.get_item(Partition::Data.item(id, generation, DATA_HEAD))
            .await?
            .as_ref()
            .map(doc_from)
            .transpose()
    }

    async fn get_data_revision(
        &self,
        id: &str,
        generation: &str,
        revision: i64,
    ) -> Result<Option<DataDoc>, StoreError> {
        self.get_item(Partition::Data.item(id, generation, &data_revision(revision)))
            .await?
            .as_ref()
            .map(doc_from)
            .transpose()
    }

    async fn put_data(
        &self,
        id: &str,
        generation: &str,
        new: &DataDoc,
        previous: i64,
        keep: u64,
    ) -> Result<(), StoreError> {
        let mut head = Put::builder()
            .table_name(&self.table)
            .set_item(Some(doc_item(id, generation, DATA_HEAD, new)));
        head = if previous == 0 {
            head.condition_expression("attribute_not_exists(pk)")
        } else {
            head.condition_expression("rev = :prev")
                .expression_attribute_values(":prev", n(previous))
        };
        let kept = doc_item(id, generation, &data_revision(new.revision), new);
        let mut items = vec![
            TransactWriteItem::builder()
                .put(head.build().expect("table and item set"))
                .build(),
            self.put_tx(kept),
            self.live_check(id, generation),
        ];
        let forget = new.revision - i64::try_from(keep).unwrap_or(i64::MAX);
        if forget >= 1 {
            let forgotten = Partition::Data.item(id, generation, &data_revision(forget));
            items.push(self.delete_tx(forgotten));
        }
        self.transact(items).await
    }
}
