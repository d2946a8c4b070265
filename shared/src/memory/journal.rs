//! The in-memory table's stream: every item a port call changed becomes one typed change
//! (`domain::changes`), as the DynamoDB adapter decodes its stream records, so the route tests
//! drive history entries, webhook events and origin judging with what the store really did
//! (`MemoryStore::take_changes`).
//!
//! `Table` wraps the items and remembers, for each key a call touches, the item before; at
//! the start of the next call (or when a test takes the changes) those become changes, one
//! per item that differs, in key order.

use std::collections::BTreeMap;
use std::ops::RangeBounds;

use super::Item;
use crate::domain::cascade::Marker;
use crate::domain::changes::{Change, Changed};
use crate::domain::time::now_ms;
use crate::ports::ItemKey;

/// What a deletion's marker records beside the marker (the adapter writes it on the item).
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Deletion {
    pub(super) name: Option<String>,
    pub(super) by: Option<String>,
}

#[derive(Debug, Default)]
pub(super) struct Table {
    items: BTreeMap<ItemKey, Item>,
    /// The item before, for each key changed since the last flush.
    touched: BTreeMap<ItemKey, Option<Item>>,
    deletions: BTreeMap<String, Deletion>,
    changes: Vec<Change>,
    sequence: u64,
}

impl Table {
    pub(super) fn get(&self, k: &ItemKey) -> Option<&Item> {
        self.items.get(k)
    }

    pub(super) fn contains_key(&self, k: &ItemKey) -> bool {
        self.items.contains_key(k)
    }

    pub(super) fn keys(&self) -> impl Iterator<Item = &ItemKey> {
        self.items.keys()
    }

    pub(super) fn values(&self) -> impl Iterator<Item = &Item> {
        self.items.values()
    }

    pub(super) fn len(&self) -> usize {
        self.items.len()
    }

    pub(super) fn range<R: RangeBounds<ItemKey>>(
        &self,
        range: R,
    ) -> impl Iterator<Item = (&ItemKey, &Item)> {
        self.items.range(range)
    }

    pub(super) fn insert(&mut self, k: ItemKey, item: Item) -> Option<Item> {
        self.touch(&k);
        self.items.insert(k, item)
    }

    pub(super) fn remove(&mut self, k: &ItemKey) -> Option<Item> {
        self.touch(k);
        self.items.remove(k)
    }

    pub(super) fn get_mut(&mut self, k: &ItemKey) -> Option<&mut Item> {
        if self.items.contains_key(k) {
            self.touch(k);
        }
        self.items.get_mut(k)
    }

    /// Notes who deleted what for the marker `marker` (the deleting call writes it).
    pub(super) fn note_deletion(&mut self, marker: &str, deletion: Deletion) {
        self.deletions.insert(marker.to_string(), deletion);
    }

    fn touch(&mut self, k: &ItemKey) {
        if !self.touched.contains_key(k) {
            let before = self.items.get(k).cloned();
            self.touched.insert(k.clone(), before);
        }
    }

    /// The changes of the calls made so far become the stream's.
    pub(super) fn flush(&mut self) {
        for (k, old) in std::mem::take(&mut self.touched) {
            let new = self.items.get(&k).cloned();
            if old == new {
                continue;
            }
            if let Some(what) = self.changed(&k, old, new) {
                self.sequence += 1;
                self.changes.push(Change {
                    event_id: format!("memory-{}", self.sequence),
                    sequence: format!("{:020}", self.sequence),
                    seen_at: Some(now_ms()),
                    what,
                });
            }
        }
    }

    /// Every change since the last call, in order.
    pub(super) fn take_changes(&mut self) -> Vec<Change> {
        self.flush();
        std::mem::take(&mut self.changes)
    }

    fn changed(&self, k: &ItemKey, old: Option<Item>, new: Option<Item>) -> Option<Changed> {
        // `<kind>#<id>#<generation>`: this store's own keys (see the module map).
        let mut parts = k.pk.splitn(3, '#').skip(1);
        let (bucket_id, generation) = (
            parts.next().unwrap_or_default().to_string(),
            parts.next().unwrap_or_default().to_string(),
        );
        let created = old.is_none();
        macro_rules! pair {
            ($variant:ident) => {{
                let of = |i: Option<Item>| match i {
                    Some(Item::$variant(v)) => Some(Box::new(v)),
                    _ => None,
                };
                (of(old), of(new))
            }};
        }
        let sample = new.as_ref().or(old.as_ref())?;
        Some(match sample {
            Item::Bucket(_) => {
                let (old, new) = pair!(Bucket);
                Changed::Bucket { old, new }
            }
            Item::Data(_) if k.sk == super::DATA_HEAD => {
                let (old, new) = pair!(Data);
                Changed::Data {
                    bucket_id,
                    generation,
                    old,
                    new,
                }
            }
            Item::File(_) => {
                let (old, new) = pair!(File);
                Changed::File {
                    bucket_id,
                    generation,
                    old,
                    new,
                }
            }
            Item::Rejection(r) if created => Changed::UploadRejected {
                bucket_id,
                generation,
                rejection: r.clone(),
            },
            Item::Webhook(_) => {
                let (old, new) = pair!(Webhook);
                Changed::Webhook {
                    bucket_id,
                    generation,
                    old,
                    new,
                }
            }
            Item::Key(_) => {
                let (old, new) = pair!(Key);
                Changed::Key { old, new }
            }
            Item::SftpUser(_) => {
                let (old, new) = pair!(SftpUser);
                Changed::SftpUser {
                    bucket_id,
                    generation,
                    username: k.sk.clone(),
                    old,
                    new,
                }
            }
            Item::Marker(m) if new.is_some() => self.marker_change(m, created),
            _ => return None,
        })
    }

    fn marker_change(&self, marker: &Marker, created: bool) -> Changed {
        if !created {
            return Changed::MarkerWritten {
                marker: marker.key.clone(),
            };
        }
        let noted = self.deletions.get(&marker.key).cloned().unwrap_or_default();
        Changed::of_new_marker(marker, noted.name, noted.by, marker.updated)
    }
}
