//! `DataStore` over the in-memory table: the current document (`D#<id>#<gen>`/`HEAD`) and kept
//! revisions (`R#<revision, 20 digits>`), with the conditions of `aws::dynamodb::data`.

use super::{Item, MemoryStore, key, part_pk};
use crate::domain::data::DataDoc;
use crate::ports::{DataStore, ItemKey, StoreError};

fn data_key(id: &str, generation: &str, sk: &str) -> ItemKey {
    key(part_pk("D", id, generation), sk)
}

fn revision_sk(revision: i64) -> String {
    format!("R#{revision:020}")
}

impl DataStore for MemoryStore {
    async fn get_data(&self, id: &str, generation: &str) -> Result<Option<DataDoc>, StoreError> {
        let state = self.begin()?;
        Ok(state
            .read(&data_key(id, generation, super::DATA_HEAD), Item::as_data)?
            .cloned())
    }

    async fn get_data_revision(
        &self,
        id: &str,
        generation: &str,
        revision: i64,
    ) -> Result<Option<DataDoc>, StoreError> {
        let state = self.begin()?;
        Ok(state
            .read(
                &data_key(id, generation, &revision_sk(revision)),
                Item::as_data,
            )?
            .cloned())
    }

    /// Conditions: no document when `previous` is 0, else the stored one has revision
    /// `previous`; the incarnation is live. Then `new` becomes the document and is kept as
    /// revision `new.revision`, and revision `new.revision - keep` (if at least 1) is
    /// forgotten, so the `keep` most recent revisions stay. `new.revision` is taken as given.
    ///
    /// `keep` = 0 fails with `Other`, as the adapter's transaction does: it would both write
    /// and delete the same revision item, which DynamoDB refuses.
    async fn put_data(
        &self,
        id: &str,
        generation: &str,
        new: &DataDoc,
        previous: i64,
        keep: u64,
    ) -> Result<(), StoreError> {
        let mut state = self.begin()?;
        let forget = new.revision - i64::try_from(keep).unwrap_or(i64::MAX);
        if forget >= 1 && forget == new.revision {
            return Err(StoreError::Other(
                "ValidationException: a transaction cannot write and delete one item \
                 (keep must be at least 1)"
                    .into(),
            ));
        }
        let head = data_key(id, generation, super::DATA_HEAD);
        let head_holds = match state.read(&head, Item::as_data)? {
            None => previous == 0,
            Some(stored) => previous != 0 && stored.revision == previous,
        };
        if !(head_holds && state.live(id, generation)?) {
            return Err(StoreError::Conflict);
        }
        state.items.insert(head, Item::Data(new.clone()));
        state.items.insert(
            data_key(id, generation, &revision_sk(new.revision)),
            Item::Data(new.clone()),
        );
        if forget >= 1 {
            state
                .items
                .remove(&data_key(id, generation, &revision_sk(forget)));
        }
        Ok(())
    }
}
