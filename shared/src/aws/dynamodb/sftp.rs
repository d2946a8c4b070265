//! `SftpUserStore` on the table: a user is one item of `S#<id>#<generation>` whose `user`
//! attribute holds it as JSON (it is read and written whole); creating one (while the
//! incarnation lives) also registers the incarnation in `SFTP` for the scheduled
//! reconciliation pass. How many users an incarnation has is the count `C#…`/`SFTP`, moved in
//! the transactions that create and delete a user, so the limit holds against concurrent
//! creations.

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};

use super::item::ItemExt;
use super::keys::{self, Partition, SFTP_BUCKETS};
use super::{DynamoStore, Item, json, n};
use crate::domain::sftp::{MAX_USERS_PER_BUCKET, SftpUser};
use crate::ports::{SftpBucket, SftpUserPage, SftpUserStore, StoreError};

pub(super) fn to_item(id: &str, generation: &str, user: &SftpUser) -> Item {
    let mut item = Partition::SftpUsers.item(id, generation, &user.username);
    item.insert("user".into(), json(user));
    item.insert("modified".into(), n(user.last_modified));
    if user.suspended.is_some() {
        // Top level, for the SFTP function's stream filter (Transfer follows a suspension).
        item.insert("suspended".into(), AttributeValue::Bool(true));
    }
    item
}

pub(super) fn from_item(item: &Item) -> Result<SftpUser, StoreError> {
    item.json("user")
}

impl SftpUserStore for DynamoStore {
    async fn get_sftp_user(
        &self,
        id: &str,
        generation: &str,
        username: &str,
    ) -> Result<Option<SftpUser>, StoreError> {
        self.get_item(Partition::SftpUsers.item(id, generation, username))
            .await?
            .as_ref()
            .map(from_item)
            .transpose()
    }

    async fn list_sftp_users(
        &self,
        id: &str,
        generation: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<SftpUserPage, StoreError> {
        let pk = Partition::SftpUsers.of(id, generation);
        let (items, more) = self.query_after(&pk, after, limit, None).await?;
        Ok(SftpUserPage {
            users: items.iter().map(from_item).collect::<Result<_, _>>()?,
            has_more: more,
        })
    }

    async fn create_sftp_user(
        &self,
        id: &str,
        generation: &str,
        user: &SftpUser,
    ) -> Result<(), StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(to_item(id, generation, user)))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .expect("table and item set");
        // Only while the incarnation lives: a user written after its cascade purged the
        // partition would never be removed (nor its count).
        self.transact(vec![
            TransactWriteItem::builder().put(put).build(),
            self.put_tx(keys::sftp_registration(id, generation)),
            self.live_check(id, generation),
            self.count_tx(keys::sftp_count(id, generation), 1, MAX_USERS_PER_BUCKET),
        ])
        .await
    }

    async fn update_sftp_user(
        &self,
        id: &str,
        generation: &str,
        user: &SftpUser,
        previous_modified: i64,
    ) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(id, generation, user)))
            .condition_expression("modified = :previous")
            .expression_attribute_values(":previous", n(previous_modified))
            .send()
            .await
            .map_err(super::call::classify)?;
        Ok(())
    }

    async fn delete_sftp_user(
        &self,
        id: &str,
        generation: &str,
        username: &str,
    ) -> Result<(), StoreError> {
        let user = Partition::SftpUsers.item(id, generation, username);
        self.delete_counted(user, keys::sftp_count(id, generation), MAX_USERS_PER_BUCKET)
            .await
    }

    async fn list_sftp_buckets(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<SftpBucket>, StoreError> {
        let (items, _) = self
            .query_after(SFTP_BUCKETS, after, limit, Some("pk, sk"))
            .await?;
        let mut out = Vec::with_capacity(items.len());
        for item in &items {
            let sk = item.string("sk")?;
            if let Some((id, generation)) = sk.trim_end_matches('#').split_once('#') {
                out.push(SftpBucket {
                    id: id.into(),
                    generation: generation.into(),
                });
            }
        }
        Ok(out)
    }

    async fn register_sftp_bucket(&self, bucket: &SftpBucket) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(keys::sftp_registration(
                &bucket.id,
                &bucket.generation,
            )))
            .send()
            .await
            .map_err(super::call::classify)?;
        Ok(())
    }

    async fn unregister_sftp_bucket(&self, bucket: &SftpBucket) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(keys::sftp_registration(
                &bucket.id,
                &bucket.generation,
            )))
            .send()
            .await
            .map_err(super::call::classify)?;
        Ok(())
    }
}
