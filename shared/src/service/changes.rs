//! What the functions that hear of the store's changes do with a batch of them
//! (`domain::changes`): the activity function records history, judges what acts for whom and
//! queues webhook events; the SFTP function makes Transfer follow its users and buckets. A
//! failing step fails the batch, which the stream redelivers: every step is idempotent.

use serde::Serialize;

use super::Services;
use super::error::Result;
use crate::domain::changes::Change;
use crate::ports::{
    BucketStore, CascadeStore, DeliveryQueue, FileStore, HistoryStore, ObjectStore, SftpDirectory,
    SftpUserStore, WebhookStore,
};

/// What the activity function did with a batch.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Activity {
    /// History entries written, and those already there (a redelivered record).
    pub written: usize,
    pub repeated: usize,
    /// Webhook events and their deliveries queued.
    pub events: usize,
    pub deliveries: usize,
    /// Webhooks and SFTP users suspended because their maker lost write.
    pub suspended: usize,
}

/// What the SFTP function did with a batch.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SftpFollowed {
    pub removed: usize,
    pub suspended: usize,
    pub activity: usize,
}

impl<S: BucketStore + HistoryStore + WebhookStore + SftpUserStore, O> Services<S, O> {
    /// The activity function's work on a batch: history entries, then the judging of
    /// origins, then webhook events (a webhook whose maker just lost write is sent nothing of
    /// this batch).
    pub async fn on_activity<Q: DeliveryQueue>(
        &self,
        queue: &Q,
        changes: &[Change],
    ) -> Result<Activity> {
        let history = self.record_changes(changes).await?;
        let suspended = self.judge_origins(changes).await?;
        let queued = self.queue_events(queue, changes).await?;
        Ok(Activity {
            written: history.written,
            repeated: history.repeated,
            events: queued.events,
            deliveries: queued.deliveries,
            suspended,
        })
    }
}

impl<S: BucketStore + SftpUserStore, O> Services<S, O> {
    /// The SFTP function's work on a batch: removed users leave Transfer, suspended ones lose
    /// their keys, and the session policies of buckets whose `active` flipped follow it.
    pub async fn on_sftp_changes<T: SftpDirectory>(
        &self,
        directory: &T,
        changes: &[Change],
    ) -> Result<SftpFollowed> {
        let mut done = SftpFollowed::default();
        for (id, generation, username) in changes.iter().filter_map(Change::sftp_user_removed) {
            self.sftp_user_removed(directory, id, generation, username)
                .await?;
            done.removed += 1;
        }
        for (id, generation, username) in changes.iter().filter_map(Change::sftp_user_suspended) {
            self.sftp_user_changed(directory, id, generation, username)
                .await?;
            done.suspended += 1;
        }
        let mut flipped: Vec<&str> = Vec::new();
        for id in changes.iter().filter_map(Change::activity_changed) {
            if !flipped.contains(&id) {
                flipped.push(id);
                self.sftp_bucket_activity(directory, id).await?;
            }
        }
        done.activity = flipped.len();
        Ok(done)
    }
}

/// What the SFTP function's scheduled pass did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScheduledPass {
    pub reconciled: super::reconcile::Reconciled,
    pub suspended_synced: usize,
}

impl<S, O> Services<S, O>
where
    S: BucketStore + FileStore + CascadeStore + SftpUserStore + WebhookStore,
    O: ObjectStore,
{
    /// The SFTP function's scheduled pass: the reconciliation of every bucket with SFTP
    /// users, then Transfer's suspended users synced (a lost stream record or a crash
    /// mid-change leaves keys for one period at most).
    pub async fn sftp_scheduled_pass<T: SftpDirectory>(
        &self,
        directory: &T,
    ) -> Result<ScheduledPass> {
        Ok(ScheduledPass {
            reconciled: self.reconcile_registered().await?,
            suspended_synced: self.resync_suspended_users(directory).await?,
        })
    }
}
