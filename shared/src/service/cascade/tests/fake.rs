//! A table and an object store in memory that keep to the services' limits and can be told to
//! fail: what the cascade engine's tests run over.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use super::super::*;
use crate::domain::cascade::Marker;
use crate::ports::{
    Completion, FailedKey, ItemSet, KeyPage, MarkerPage, MultipartSpec, ObjectMeta, ObjectPage,
    PartInfo, PartPage, PartSpec, Presigned, PutSpec,
};

#[derive(Default)]
pub(super) struct Fake {
    pub(super) objects: Mutex<BTreeSet<String>>,
    pub(super) items: Mutex<BTreeSet<ItemKey>>,
    pub(super) markers: Mutex<BTreeMap<String, Marker>>,
    /// Calls as the services would count them.
    pub(super) seen: Mutex<Tally>,
    /// The next N DeleteObjects report their first key as failed.
    pub(super) refuse_first_key: Mutex<u32>,
    /// The next N BatchWriteItems leave their last item unprocessed.
    pub(super) leave_last_item: Mutex<u32>,
    /// Every DeleteObjects fails.
    pub(super) s3_down: bool,
}

/// Up to `limit` of the sorted `all` after `after`, and the cursor of the next page (the last
/// key given) when more remain: how both services page.
fn page<'a, T: Clone + Ord + 'a>(
    all: impl Iterator<Item = &'a T>,
    after: Option<&T>,
    limit: usize,
) -> (Vec<T>, Option<T>) {
    let mut keys: Vec<T> = all
        .filter(|k| after.is_none_or(|a| *k > a))
        .take(limit + 1)
        .cloned()
        .collect();
    let more = keys.len() > limit;
    keys.truncate(limit);
    let next = more.then(|| keys.last().cloned()).flatten();
    (keys, next)
}

fn take(counter: &Mutex<u32>) -> bool {
    let mut c = counter.lock().unwrap();
    if *c > 0 {
        *c -= 1;
        true
    } else {
        false
    }
}

impl ObjectStore for Fake {
    async fn presign_put(&self, _: &PutSpec<'_>) -> Result<Presigned, StoreError> {
        unreachable!()
    }
    async fn presign_get(
        &self,
        _: &ObjectVersion,
        _: &str,
        _: u64,
    ) -> Result<Presigned, StoreError> {
        unreachable!()
    }
    async fn head(&self, _: &ObjectVersion) -> Result<Option<ObjectMeta>, StoreError> {
        unreachable!()
    }
    async fn delete(&self, _: &ObjectVersion) -> Result<(), StoreError> {
        unreachable!()
    }
    async fn copy_version(
        &self,
        _: &ObjectVersion,
        _: &str,
        _: &str,
        _: &str,
    ) -> Result<Option<String>, StoreError> {
        unreachable!()
    }
    async fn list_current(
        &self,
        _: &str,
        _: Option<&str>,
        _: usize,
    ) -> Result<crate::ports::CurrentPage, StoreError> {
        unreachable!()
    }
    async fn newest_versions(&self, _: &str, _: usize) -> Result<Vec<String>, StoreError> {
        unreachable!()
    }

    /// The fake is unversioned: one version (no id) per key.
    async fn list_versions(
        &self,
        prefix: &str,
        token: Option<String>,
        max: usize,
    ) -> Result<ObjectPage, StoreError> {
        assert!(
            max <= 1000,
            "ListObjectVersions returns at most 1000 versions"
        );
        self.seen.lock().unwrap().list_objects += 1;
        let objects = self.objects.lock().unwrap();
        let (keys, next) = page(
            objects.iter().filter(|k| k.starts_with(prefix)),
            token.as_ref(),
            max,
        );
        Ok(ObjectPage {
            objects: keys
                .into_iter()
                .map(|k| ObjectVersion::new(k, None))
                .collect(),
            next,
        })
    }

    async fn delete_versions(
        &self,
        versions: &[ObjectVersion],
    ) -> Result<Vec<FailedKey>, StoreError> {
        assert!(
            versions.len() <= 1000,
            "DeleteObjects takes at most 1000 keys"
        );
        let keys: Vec<String> = versions.iter().map(|v| v.key.clone()).collect();
        self.seen.lock().unwrap().delete_objects += 1;
        if self.s3_down {
            return Err(StoreError::Other("AccessDenied".into()));
        }
        let refused = take(&self.refuse_first_key).then(|| keys[0].clone());
        let mut objects = self.objects.lock().unwrap();
        let mut failed = vec![];
        for k in &keys {
            if Some(k) == refused.as_ref() {
                failed.push(FailedKey {
                    object: ObjectVersion::new(k.clone(), None),
                    code: "InternalError".into(),
                });
            } else {
                objects.remove(k);
            }
        }
        Ok(failed)
    }
    async fn create_multipart(&self, _: &MultipartSpec<'_>) -> Result<String, StoreError> {
        unreachable!()
    }
    async fn presign_part(&self, _: &PartSpec<'_>) -> Result<Presigned, StoreError> {
        unreachable!()
    }
    async fn list_parts(
        &self,
        _: &str,
        _: &str,
        _: Option<u32>,
        _: usize,
    ) -> Result<Option<PartPage>, StoreError> {
        unreachable!()
    }
    async fn complete_multipart(
        &self,
        _: &str,
        _: &str,
        _: &[PartInfo],
        _: u64,
        _: Option<&str>,
    ) -> Result<Completion, StoreError> {
        unreachable!()
    }
    async fn abort_multipart(&self, _: &str, _: &str) -> Result<(), StoreError> {
        unreachable!()
    }
}

impl CascadeStore for Fake {
    async fn get_marker(&self, key: &str) -> Result<Option<Marker>, StoreError> {
        Ok(self.markers.lock().unwrap().get(key).cloned())
    }
    async fn save_pass(&self, marker: &Marker) -> Result<(), StoreError> {
        if let Some(m) = self.markers.lock().unwrap().get_mut(&marker.key) {
            *m = marker.clone();
        }
        Ok(())
    }
    async fn delete_marker(&self, key: &str) -> Result<(), StoreError> {
        self.markers.lock().unwrap().remove(key);
        Ok(())
    }
    async fn list_markers(
        &self,
        after: Option<&str>,
        limit: usize,
        idle_since: Option<i64>,
    ) -> Result<MarkerPage, StoreError> {
        let markers = self.markers.lock().unwrap();
        let after = after.map(str::to_string);
        let (page_keys, next) = page(markers.keys(), after.as_ref(), limit);
        let keys = page_keys
            .into_iter()
            .filter(|k| idle_since.is_none_or(|since| markers[k].updated < since))
            .collect();
        Ok(MarkerPage { keys, next })
    }
    async fn touch_marker(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.markers.lock().unwrap().contains_key(key))
    }
    fn incarnation_items(&self, id: &str, generation: &str) -> Vec<ItemSet> {
        // The engine reads these keys back as it gets them: any names do.
        let mut sets: Vec<ItemSet> = ["data", "files", "grants", "rejections"]
            .iter()
            .map(|p| ItemSet {
                pk: format!("{p}:{id}#{generation}"),
                sk_prefix: None,
            })
            .collect();
        sets.push(ItemSet {
            pk: "markers".into(),
            sk_prefix: Some(format!("{id}#{generation}#")),
        });
        sets
    }
    async fn item_keys(
        &self,
        set: &ItemSet,
        after: Option<ItemKey>,
        limit: usize,
    ) -> Result<KeyPage, StoreError> {
        self.seen.lock().unwrap().query += 1;
        let items = self.items.lock().unwrap();
        let in_set = items.iter().filter(|k| {
            k.pk == set.pk && set.sk_prefix.as_ref().is_none_or(|p| k.sk.starts_with(p))
        });
        let (keys, last) = page(in_set, after.as_ref(), limit);
        Ok(KeyPage { keys, last })
    }
    async fn delete_items(&self, keys: &[ItemKey]) -> Result<Vec<ItemKey>, StoreError> {
        assert!(keys.len() <= 25, "BatchWriteItem takes at most 25 requests");
        self.seen.lock().unwrap().batch_write_item += 1;
        let leave = take(&self.leave_last_item)
            .then(|| keys.last().cloned())
            .flatten();
        let mut items = self.items.lock().unwrap();
        let mut unprocessed = vec![];
        for k in keys {
            if Some(k) == leave.as_ref() {
                unprocessed.push(k.clone());
            } else {
                items.remove(k);
            }
        }
        Ok(unprocessed)
    }
    async fn delete_stale_index(&self, id: &str, principals: &[String]) -> Result<u64, StoreError> {
        let mut items = self.items.lock().unwrap();
        for p in principals {
            items.remove(&key(&format!("listing:{p}"), id));
        }
        Ok(1)
    }
}

pub(super) fn key(pk: &str, sk: &str) -> ItemKey {
    ItemKey {
        pk: pk.into(),
        sk: sk.into(),
    }
}
