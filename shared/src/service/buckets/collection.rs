//! The collection of buckets (`/v1/buckets`): a page of those the caller may read, and the
//! delete-all of Kinto's `DELETE /v1/buckets`, bounded by a time budget.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::super::Services;
use super::super::error::{Result, deny};
use crate::domain::access::Identity;
use crate::domain::bounds::json_size_within;
use crate::domain::keys::{Access, ScopedBucket};
use crate::domain::pagination;
use crate::domain::time::{next_timestamp, now_ms};
use crate::ports::{BucketPage, BucketStore, ListScope, StoreError};

/// How long one delete-all works before answering with where to continue: well inside API
/// Gateway's 29 s limit of the HTTP functions, as the budget is checked before each deletion
/// (one deletion is one conditional write, milliseconds).
pub const DELETE_ALL_BUDGET: Duration = Duration::from_secs(20);

/// Buckets listed per page by a delete-all: small, so each page is quick to list and to go
/// through.
const DELETE_ALL_PAGE: usize = 100;

/// What a delete-all did, and where the next one continues.
#[derive(Debug, Clone, PartialEq)]
pub struct DeletedBuckets {
    pub tombstones: Vec<Value>,
    /// Buckets may remain after `next_after` (the limit or the time budget stopped it).
    pub has_more: bool,
    /// The last id dealt with, where the next call continues (`None`: nothing left).
    pub next_after: Option<String>,
}

impl<S: BucketStore, O> Services<S, O> {
    /// A page of the buckets the caller may read, by id.
    pub async fn list_buckets(
        &self,
        identity: &Identity,
        after: Option<&str>,
        limit: usize,
    ) -> Result<BucketPage> {
        let mut page = match identity.key.as_ref().and_then(|k| k.buckets.as_ref()) {
            Some(scope) => self.list_scope(identity, scope, after, limit).await?,
            None => {
                let scope = if identity.reads_everything() {
                    ListScope::All
                } else {
                    ListScope::Principals(identity.principals())
                };
                self.store.list(&scope, after, limit).await?
            }
        };
        // Bounded in bytes as well as items: a page of large buckets ends early.
        let fit = pagination::items_within(
            page.buckets
                .iter()
                .map(|b| json_size_within(&b.data(), usize::MAX).unwrap_or(usize::MAX)),
            pagination::MAX_ANSWER_BYTES,
        );
        if fit < page.buckets.len() {
            page.buckets.truncate(fit);
            page.has_more = true;
            page.last_key = page.buckets.last().map(|b| b.id.clone());
        }
        Ok(page)
    }

    /// A page of a scoped key's buckets: its scope (at most `keys::MAX_SCOPE` entries, read
    /// by id) sorted by id, those still there and readable.
    async fn list_scope(
        &self,
        identity: &Identity,
        scope: &[ScopedBucket],
        after: Option<&str>,
        limit: usize,
    ) -> Result<BucketPage> {
        let mut ids: Vec<&str> = scope
            .iter()
            .map(|s| s.id.as_str())
            .filter(|id| after.is_none_or(|after| *id > after))
            .collect();
        ids.sort_unstable();
        let has_more = ids.len() > limit;
        ids.truncate(limit);
        let found =
            futures_util::future::try_join_all(ids.iter().map(|id| self.store.get(id))).await?;
        Ok(BucketPage {
            buckets: found
                .into_iter()
                .flatten()
                .filter(|b| identity.may_read(b))
                .collect(),
            has_more,
            last_key: ids.last().map(|id| id.to_string()),
        })
    }

    /// Deletes every bucket whose ACL names one of the caller's OWN principals
    /// (`Identity::own_principals`: `user:<sub>` and a key's `key:<id>`) in `write`, after `after`
    /// (at most `limit`), for up to `DELETE_ALL_BUDGET`. Never what `system.Authenticated` or
    /// `system.Everyone` may write, nor what a privilege reaches: those are other people's.
    pub async fn delete_all_buckets(
        &self,
        identity: &Identity,
        after: Option<String>,
        limit: Option<usize>,
    ) -> Result<DeletedBuckets> {
        self.delete_all_buckets_within(identity, after, limit, DELETE_ALL_BUDGET)
            .await
    }

    /// `delete_all_buckets` with its time budget given. The budget is checked before every
    /// deletion (not only between pages), so an answer comes within about one deletion past
    /// it; at least one bucket is deleted per call, so a client that follows `Next-Page`
    /// always progresses.
    pub async fn delete_all_buckets_within(
        &self,
        identity: &Identity,
        after: Option<String>,
        limit: Option<usize>,
        budget: Duration,
    ) -> Result<DeletedBuckets> {
        self.check_delete_enabled()?;
        if !identity.is_authenticated() {
            return Err(deny(identity));
        }
        let limit = limit.unwrap_or(usize::MAX);
        let started = Instant::now();
        let own = identity.own_principals();
        let scope = ListScope::Principals(own.clone());
        let mut tombstones = Vec::new();
        // The last id dealt with (deleted, skipped or lost to a race): where the next call
        // continues.
        let mut after = after;
        let mut has_more = true;
        let mut out_of_time = false;
        'pages: while has_more && tombstones.len() < limit {
            let want = (limit - tombstones.len()).min(DELETE_ALL_PAGE);
            let page = self.store.list(&scope, after.as_deref(), want).await?;
            has_more = page.has_more;
            let listed = page.buckets.len();
            for (i, bucket) in page.buckets.iter().enumerate() {
                let spent = started.elapsed() >= budget;
                if spent && !tombstones.is_empty() {
                    out_of_time = true;
                    has_more = has_more || i < listed;
                    break 'pages;
                }
                after = Some(bucket.id.clone());
                // A scoped key deletes only what its scope lets it write.
                if !bucket.permissions.can_write(&own)
                    || !identity.scope_allows(bucket, Access::Write)
                {
                    continue;
                }
                let deleted_at = next_timestamp(Some(bucket.last_modified), now_ms());
                match self.store.delete(bucket, deleted_at).await {
                    Ok(()) => tombstones.push(bucket.tombstone(deleted_at)),
                    // Changed or gone since listed: left; the caller can list again.
                    Err(StoreError::Conflict) => {}
                    Err(e) => return Err(e.into()),
                }
                if tombstones.len() >= limit {
                    has_more = has_more || i + 1 < listed;
                    break 'pages;
                }
            }
            after = page.last_key.clone().or(after);
        }
        if out_of_time {
            tracing::info!(
                deleted = tombstones.len(),
                "delete-all ran out of its time budget; the client continues with Next-Page"
            );
        }
        Ok(DeletedBuckets {
            tombstones,
            has_more,
            next_after: if has_more { after } else { None },
        })
    }
}
