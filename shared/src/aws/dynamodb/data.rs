//! Data documents in the table:
//!
//! | item | pk | sk |
//! |---|---|---|
//! | current document | `D#<id>#<generation>` | `HEAD` |
//! | kept revision | `D#<id>#<generation>` | `R#<revision, 20 digits>` |

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};

use super::{DynamoStore, Item, n, s};
use crate::domain::data::DataDoc;
use crate::ports::{DataStore, StoreError};

fn key(id: &str, generation: &str, sk: &str) -> Item {
    HashMap::from([
        ("pk".into(), s(format!("D#{id}#{generation}"))),
        ("sk".into(), s(sk)),
    ])
}

fn revision_sk(revision: i64) -> String {
    format!("R#{revision:020}")
}

fn doc_item(id: &str, generation: &str, sk: &str, d: &DataDoc) -> Item {
    let mut item = key(id, generation, sk);
    item.insert(
        "doc".into(),
        s(serde_json::to_string(&d.doc).unwrap_or_else(|_| "{}".into())),
    );
    item.insert("rev".into(), n(d.revision));
    item.insert("modified".into(), n(d.modified));
    item
}

fn doc_from(item: &Item) -> Result<DataDoc, StoreError> {
    let num = |k: &str| match item.get(k) {
        Some(AttributeValue::N(v)) => v
            .parse::<i64>()
            .map_err(|_| StoreError::Other(format!("bad {k}"))),
        _ => Err(StoreError::Other(format!("data item lacks {k}"))),
    };
    let doc = match item.get("doc") {
        Some(AttributeValue::S(v)) => {
            serde_json::from_str(v).map_err(|e| StoreError::Other(format!("bad data JSON: {e}")))?
        }
        _ => return Err(StoreError::Other("data item lacks doc".into())),
    };
    Ok(DataDoc {
        doc,
        revision: num("rev")?,
        modified: num("modified")?,
    })
}

impl DataStore for DynamoStore {
    async fn get_data(&self, id: &str, generation: &str) -> Result<Option<DataDoc>, StoreError> {
        self.get_item(key(id, generation, "HEAD"))
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
        self.get_item(key(id, generation, &revision_sk(revision)))
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
            .set_item(Some(doc_item(id, generation, "HEAD", new)));
        head = if previous == 0 {
            head.condition_expression("attribute_not_exists(pk)")
        } else {
            head.condition_expression("rev = :prev")
                .expression_attribute_values(":prev", n(previous))
        };
        let kept = Put::builder()
            .table_name(&self.table)
            .set_item(Some(doc_item(
                id,
                generation,
                &revision_sk(new.revision),
                new,
            )))
            .build()
            .expect("table and item set");
        let mut items = vec![
            TransactWriteItem::builder()
                .put(head.build().expect("table and item set"))
                .build(),
            TransactWriteItem::builder().put(kept).build(),
            self.live_check(id, generation),
        ];
        let forget = new.revision - i64::try_from(keep).unwrap_or(i64::MAX);
        if forget >= 1 {
            let delete = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key(id, generation, &revision_sk(forget))))
                .build()
                .expect("table and key set");
            items.push(TransactWriteItem::builder().delete(delete).build());
        }
        self.transact(items).await
    }
}
