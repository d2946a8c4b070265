//! API keys: authenticating a request by its key, and the keys' lifecycle. A key acts as its
//! owner plus its own principal, never beyond what its creator held when creating it.

use super::Services;
use super::error::{Error, Result};
use super::retry::{WRITE_ATTEMPTS, on_conflict};
use crate::domain::access::{
    ADMIN, CREATE_BUCKETS, CREATE_KEYS, DELETE_BUCKETS, EDIT_BUCKETS, Identity,
};
use crate::domain::bucket::Bucket;
use crate::domain::error::RuleError;
use crate::domain::keys::{
    self, Access, ApiKey, NewKey, ScopedBucket, generate_secret, key_principal, secret_key_id,
    secret_matches,
};
use crate::domain::origin::Origin;
use crate::domain::time::now_ms;
use crate::ports::{ApiKeyPage, BucketStore, KeyStore, StoreError};

pub use crate::domain::keys::MAX_KEYS_PER_OWNER;

/// Compared with when no key has the presented id, so an unknown key costs the same hash and
/// comparison as a known one with a wrong secret.
const NO_KEY_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Refuses a scope entry the new key itself would not reach: a key acts as its owner's
/// principals (its own `key:<id>` is named in no ACL yet) with its own `privileges`, so a
/// creator who reaches `bucket` only through a privilege the key does not get, or only
/// because the ACL names the creating key, would make a key that answers 403 on every use.
fn refuse_unreachable(
    creator: &Identity,
    privileges: &[String],
    bucket: &Bucket,
    access: Access,
) -> Result<()> {
    let as_key = Identity {
        sub: creator.sub.clone(),
        privileges: privileges.to_vec(),
        key: None,
    };
    let (reaches, verb) = match access {
        Access::Read => (as_key.may_read(bucket), "read"),
        Access::Write => (as_key.may_write(bucket), "write"),
    };
    if reaches {
        return Ok(());
    }
    let through_acl = |principals: &[String]| match access {
        Access::Read => bucket.permissions.can_read(principals),
        Access::Write => bucket.permissions.can_write(principals),
    };
    let why = match creator.key_principal() {
        Some(maker) if through_acl(std::slice::from_ref(&maker)) => format!(
            "its permissions name {maker}, the key making this one, not its owner; have them \
             name the owner, or the new key itself once made"
        ),
        _ => {
            // The smallest privilege that reaches it: writing takes edit_buckets; reading
            // either, whichever the creator holds.
            let needed = match access {
                Access::Read if !creator.has(EDIT_BUCKETS) => DELETE_BUCKETS,
                _ => EDIT_BUCKETS,
            };
            format!(
                "you reach it only through a privilege, which the key does not get; give the \
                 key {needed:?} in `privileges`, or have the bucket's permissions name you"
            )
        }
    };
    Err(RuleError::invalid(
        "buckets",
        format!("the key could not {verb} bucket {:?}: {why}", bucket.id),
    )
    .into())
}

/// The one answer for a key that is malformed, unknown, revoked, expired or wrong.
fn bad_key() -> Error {
    Error::Unauthenticated(
        "Please authenticate yourself to use this endpoint: the API key is not valid.".into(),
    )
}

impl<S: KeyStore, O> Services<S, O> {
    /// The caller a presented API key secret stands for. Unknown, revoked (deleted) and expired
    /// keys and wrong secrets take the same path (one strongly consistent read by the id in
    /// the secret, one hash and one constant-time comparison) and get the same `401`.
    pub async fn authenticate_key(&self, secret: &str) -> Result<Identity> {
        let id = secret_key_id(secret).ok_or_else(bad_key)?;
        let found = self.store.get_key(id).await?;
        let hash = found
            .as_ref()
            .map_or(NO_KEY_HASH, |k| k.secret_hash.as_str());
        let matches = secret_matches(secret, hash);
        let now = now_ms();
        let key = found
            .filter(|k| matches && !k.is_expired(now))
            .ok_or_else(bad_key)?;
        if !self.maker_alive(&key, now).await? {
            return Err(bad_key());
        }
        if key.needs_touch(now) {
            // At most once a minute per key (the store's condition); a failure costs the
            // caller nothing but a stale `last_used`.
            if let Err(e) = self.store.touch_key(&key.id, now).await {
                tracing::warn!(key = %key.id, error = ?e, "could not record the key's last use");
            }
        }
        Ok(Identity::of_key(&key))
    }

    /// A key made by a key lives only while its maker does (a second read, for such keys
    /// alone): revoking a leaked key revokes what it made. Makers are made by users (a key
    /// made by a key cannot make keys), so there is one level to check.
    async fn maker_alive(&self, key: &ApiKey, now: i64) -> Result<bool> {
        let Some(maker) = &key.created_by else {
            return Ok(true);
        };
        Ok(self
            .store
            .get_key(maker)
            .await?
            .is_some_and(|m| !m.is_expired(now)))
    }

    /// Whether key `id` works now, with its whole chain: it exists and has not expired, and
    /// neither has the key that made it. What a key made or asked for (an upload grant, a
    /// webhook, an SFTP user) is checked with this when it takes effect.
    pub async fn key_chain_alive(&self, id: &str) -> Result<bool> {
        let now = now_ms();
        match self.store.get_key(id).await? {
            Some(key) if !key.is_expired(now) => self.maker_alive(&key, now).await,
            _ => Ok(false),
        }
    }

    /// Why `origin` may no longer act in `bucket`, if it may not: its maker left the bucket's
    /// write list, or the key that made it (or that key's maker) is revoked or expired.
    /// Without a bucket (a deleted one's last event) only the key chain is judged.
    pub async fn origin_problem(
        &self,
        bucket: Option<&Bucket>,
        origin: &Origin,
    ) -> Result<Option<String>> {
        if let Some(why) = bucket.and_then(|b| origin.acl_problem(b)) {
            return Ok(Some(why));
        }
        if let Some(id) = &origin.via_key
            && !self.key_chain_alive(id).await?
        {
            return Ok(Some(format!(
                "the API key {} that made it was revoked or expired",
                key_principal(id)
            )));
        }
        Ok(None)
    }
}

impl<S: BucketStore, O> Services<S, O> {
    /// Creates a key for the caller's user; the answer holds the secret, which is never shown
    /// again. The key's privileges must be the caller's (a signed-in user may also give
    /// `create_keys`); a caller that is itself a scoped key may only narrow its scope.
    pub async fn create_key(&self, identity: &Identity, new: NewKey) -> Result<(ApiKey, String)> {
        let owner = self.key_manager(identity)?;
        for p in &new.privileges {
            // A user may give what he holds, and `create_keys`; a key what it holds, except
            // `create_keys` (keys made by keys make none: one level to revoke).
            let held = match &identity.key {
                None => identity.has(p) || p == CREATE_KEYS,
                Some(_) => p != CREATE_KEYS && identity.has(p),
            };
            if !held {
                return Err(Error::Forbidden(format!(
                    "A key cannot have the privilege {p:?}: the caller may not give it."
                )));
            }
        }
        let buckets = self
            .resolve_scope(identity, &new.privileges, new.buckets)
            .await?;
        if buckets.is_some() && new.privileges.iter().any(|p| p == CREATE_BUCKETS) {
            // `may_create` refuses every scoped caller: such a key would carry a privilege it
            // can never use. Refused here, where the mistake is made, not at each use.
            return Err(RuleError::invalid(
                "privileges",
                "a key with a bucket scope creates no bucket (it could not reach what it \
                 created): drop create_buckets, or the scope",
            )
            .into());
        }
        let expires_at = self.capped_expiry(identity, new.expires_at).await?;
        // Counted last (the cheap refusals come first): the early refusal. The store checks the
        // count again in the write, which is what holds against creations sent at once.
        self.refuse_if_full_of_keys(&owner).await?;
        on_conflict(
            WRITE_ATTEMPTS,
            "Could not write the key (its id was taken, or other keys were written at once); retry",
            || async {
                let fresh = generate_secret();
                let key = ApiKey {
                    id: fresh.id,
                    title: new.title.clone(),
                    owner: owner.clone(),
                    privileges: new.privileges.clone(),
                    buckets: buckets.clone(),
                    created: now_ms(),
                    expires_at,
                    last_used: None,
                    created_by: identity.key.as_ref().map(|k| k.id.clone()),
                    secret_hash: fresh.hash,
                };
                match self.store.create_key(&key).await {
                    Err(StoreError::Conflict) => {
                        // Full (creations raced past the early refusal), else the id was taken
                        // or the write lost a race on the count: again, with a new id.
                        self.refuse_if_full_of_keys(&owner).await?;
                        Err(StoreError::Conflict.into())
                    }
                    other => other.map(|()| (key, fresh.secret)).map_err(Error::from),
                }
            },
        )
        .await
    }

    async fn refuse_if_full_of_keys(&self, owner: &str) -> Result<()> {
        if self.store.count_keys(owner).await? >= MAX_KEYS_PER_OWNER {
            return Err(Error::Forbidden(format!(
                "A user holds at most {MAX_KEYS_PER_OWNER} API keys; revoke one first."
            )));
        }
        Ok(())
    }

    /// The scope of a new key: each bucket resolved to the incarnation it is now, which the
    /// caller must reach with the access asked for, and which the key itself will reach (its
    /// owner's principals with the key's own `privileges`: a creator who reaches a bucket only
    /// through a privilege the key does not get would make a key that answers 403 on every
    /// use). A scoped caller's key is scoped too: without `buckets` it gets the caller's scope.
    async fn resolve_scope(
        &self,
        identity: &Identity,
        privileges: &[String],
        wanted: Option<Vec<keys::WantedScope>>,
    ) -> Result<Option<Vec<ScopedBucket>>> {
        let Some(wanted) = wanted else {
            let inherited = identity.key.as_ref().and_then(|k| k.buckets.clone());
            for s in inherited.iter().flatten() {
                // A bucket of the maker's scope that is gone (or re-created) is out of both
                // scopes already; one that lives must be reachable by the new key too.
                if let Some(bucket) = self.store.get(&s.id).await?
                    && bucket.generation == s.generation
                {
                    refuse_unreachable(identity, privileges, &bucket, s.access)?;
                }
            }
            return Ok(inherited);
        };
        let mut scope = Vec::with_capacity(wanted.len());
        for w in wanted {
            let bucket = self.bucket_for(&w.bucket, identity).await?;
            if w.access == Access::Write && !identity.may_write(&bucket) {
                return Err(Error::Forbidden(format!(
                    "A key cannot write bucket {:?}: the caller may not.",
                    bucket.id
                )));
            }
            refuse_unreachable(identity, privileges, &bucket, w.access)?;
            if scope.iter().any(|s: &ScopedBucket| s.id == bucket.id) {
                return Err(RuleError::invalid("buckets", "names a bucket twice").into());
            }
            scope.push(ScopedBucket {
                id: bucket.id,
                generation: bucket.generation,
                access: w.access,
            });
        }
        Ok(Some(scope))
    }

    /// A key made by a key expires no later than its maker.
    async fn capped_expiry(&self, identity: &Identity, wanted: Option<i64>) -> Result<Option<i64>> {
        let Some(maker) = &identity.key else {
            return Ok(wanted);
        };
        let maker_expiry = self
            .store
            .get_key(&maker.id)
            .await?
            .ok_or_else(bad_key)?
            .expires_at;
        Ok(match (wanted, maker_expiry) {
            (Some(w), Some(m)) => Some(w.min(m)),
            (w, m) => w.or(m),
        })
    }

    /// A page of keys: a user's own (an admin's listing covers every user's unless `owner`
    /// narrows it); a key's, itself and those it made.
    pub async fn list_keys(
        &self,
        identity: &Identity,
        owner: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<ApiKeyPage> {
        let own = self.key_manager(identity)?;
        let admin = is_admin(identity);
        let listed = match owner {
            Some(o) if o != own && !admin => {
                return Err(Error::Forbidden(
                    "Only an admin lists other users' keys.".into(),
                ));
            }
            Some(o) => Some(o.to_string()),
            None if admin => None,
            None => Some(own),
        };
        let mut page = self
            .store
            .list_keys(listed.as_deref(), after, limit)
            .await?;
        page.keys.retain(|k| manages(identity, k));
        Ok(page)
    }

    /// The key `id`, when the caller manages it; `404` otherwise, so that ids of other users'
    /// keys cannot be probed.
    pub async fn get_key(&self, identity: &Identity, id: &str) -> Result<ApiKey> {
        self.key_manager(identity)?;
        match self.store.get_key(id).await? {
            Some(k) if manages(identity, &k) => Ok(k),
            _ => Err(Error::not_found("key", id)),
        }
    }

    /// Renames key `id` (the title is all that changes).
    pub async fn rename_key(&self, identity: &Identity, id: &str, title: &str) -> Result<ApiKey> {
        self.get_key(identity, id).await?;
        self.store
            .rename_key(id, title)
            .await?
            .ok_or_else(|| Error::not_found("key", id))
    }

    /// Revokes key `id` at once: the next request with it, or with a key it made, is refused.
    pub async fn revoke_key(&self, identity: &Identity, id: &str) -> Result<ApiKey> {
        let key = self.get_key(identity, id).await?;
        on_conflict(
            WRITE_ATTEMPTS,
            "The key was changed concurrently; retry",
            || async {
                match self.store.delete_key(&key).await {
                    // Revoked meanwhile, else the write lost a race on its owner's count.
                    Err(StoreError::Conflict) => match self.store.get_key(id).await? {
                        None => Err(Error::not_found("key", id)),
                        Some(_) => Err(StoreError::Conflict.into()),
                    },
                    other => Ok(other?),
                }
            },
        )
        .await?;
        Ok(key)
    }

    /// The caller's user principal, if the caller may manage keys: a signed-in user may; an
    /// API key only holding `create_keys` itself (not through `admin`: a leaked job key
    /// cannot mint or revoke keys unless it was made for that).
    fn key_manager(&self, identity: &Identity) -> Result<String> {
        let owner = identity.user_principal().ok_or_else(|| {
            Error::Unauthenticated("Please authenticate yourself to manage API keys.".into())
        })?;
        if identity.key.is_some() && !identity.privileges.iter().any(|p| p == CREATE_KEYS) {
            return Err(Error::Forbidden(
                "An API key needs the create_keys privilege to manage keys.".into(),
            ));
        }
        Ok(owner)
    }
}

/// Whether the caller manages key `k`: a user his own keys (an admin every key); a key itself
/// and the keys it made, nothing else of its owner's.
fn manages(identity: &Identity, k: &ApiKey) -> bool {
    match &identity.key {
        Some(me) => k.id == me.id || k.created_by.as_deref() == Some(me.id.as_str()),
        None => is_admin(identity) || identity.user_principal().as_deref() == Some(&k.owner),
    }
}

/// A signed-in admin manages every user's keys. A key never does, whatever it holds: key
/// management across users is a person's act.
fn is_admin(identity: &Identity) -> bool {
    identity.key.is_none() && identity.privileges.iter().any(|p| p == ADMIN)
}
