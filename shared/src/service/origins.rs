//! Standing grants that act for their maker — a bucket's webhooks and SFTP users — stop when
//! that maker may no longer write the bucket (`domain::origin`): they are marked suspended
//! (nothing delivered, no login) until a current writer's change takes them over.
//!
//! They are judged when it can change: when a bucket's permissions change (the activity
//! function, from the stream), on every webhook delivery (`webhooks::deliver`, which also sees a
//! revoked key at once), and on every reconciliation pass for SFTP users (the schedule: a
//! revoked or expired key that made an SFTP user stops it within one period).

use super::Services;
use super::error::Result;
use crate::domain::bucket::Bucket;
use crate::domain::changes::Change;
use crate::domain::origin::SUSPENDER;
use crate::domain::sftp::SftpUser;
use crate::domain::time::now_ms;
use crate::ports::{BucketStore, SftpUserStore, StoreError, WebhookStore};

impl<S: BucketStore + WebhookStore + SftpUserStore, O> Services<S, O> {
    /// The buckets whose permissions `changes` changed: their webhooks and SFTP users whose
    /// origin may no longer write are suspended. Returns how many were.
    pub async fn judge_origins(&self, changes: &[Change]) -> Result<usize> {
        let mut ids: Vec<String> = Vec::new();
        for id in changes.iter().filter_map(Change::acl_changed) {
            if !ids.iter().any(|i| i == id) {
                ids.push(id.to_string());
            }
        }
        let mut suspended = 0;
        for id in ids {
            // Read as it is now: a late or repeated record judges the current ACL.
            let Some(bucket) = self.store.get(&id).await? else {
                continue;
            };
            suspended += self.judge_webhook_origins(&bucket).await?;
            suspended += self.judge_sftp_origins(&bucket).await?;
        }
        Ok(suspended)
    }

    async fn judge_webhook_origins(&self, bucket: &Bucket) -> Result<usize> {
        let mut suspended = 0;
        for hook in self
            .store
            .list_webhooks(&bucket.id, &bucket.generation)
            .await?
        {
            if hook.suspended.is_some() || hook.retired {
                continue;
            }
            if let Some(why) = self.origin_problem(Some(bucket), &hook.origin()).await?
                && self
                    .suspend_webhook(&bucket.id, &bucket.generation, &hook, &why)
                    .await?
            {
                suspended += 1;
            }
        }
        Ok(suspended)
    }

    /// Suspends the bucket's SFTP users whose origin may no longer write it (their Transfer
    /// users lose their keys: the SFTP function follows the item's change on the stream).
    pub async fn judge_sftp_origins(&self, bucket: &Bucket) -> Result<usize> {
        let mut suspended = 0;
        for user in self.sftp_users_of(bucket).await? {
            if self.suspend_user_if_orphaned(bucket, user).await? {
                suspended += 1;
            }
        }
        Ok(suspended)
    }

    /// Suspends `user` if its origin may no longer write `bucket`. A lost race re-reads the
    /// user and judges again: the other write may have been the service's own (Transfer's key
    /// ids recorded), which keeps the same origin; a writer's takeover changes it.
    async fn suspend_user_if_orphaned(&self, bucket: &Bucket, mut user: SftpUser) -> Result<bool> {
        for _ in 0..3 {
            if user.suspended.is_some() {
                return Ok(false);
            }
            let Some(why) = self.origin_problem(Some(bucket), &user.origin()).await? else {
                return Ok(false);
            };
            let mut off = user.clone();
            off.suspended = Some(why.clone());
            off.modified_by = SUSPENDER.into();
            off.last_modified = now_ms().max(user.last_modified + 1);
            match self
                .store
                .update_sftp_user(&bucket.id, &bucket.generation, &off, user.last_modified)
                .await
            {
                Err(StoreError::Conflict) => {
                    match self
                        .store
                        .get_sftp_user(&bucket.id, &bucket.generation, &user.username)
                        .await?
                    {
                        Some(now) => user = now,
                        None => return Ok(false),
                    }
                }
                other => {
                    other?;
                    tracing::info!(bucket = %bucket.id, user = %user.username, why, "SFTP user suspended");
                    return Ok(true);
                }
            }
        }
        Err(super::Error::Busy(format!(
            "SFTP user {} kept changing",
            user.username
        )))
    }
}
