//! The key layouts of the table (tabled in the `dynamodb` module doc), each declared once: its
//! prefix, its key builders, and what the delete cascade of a bucket incarnation does with it.
//! The cascade's list of what to purge (`incarnation_items`) is read off this registry, so a
//! partition cannot be added without deciding whether the cascade purges it; the tests below
//! check that every key naming an incarnation is purged.

use std::collections::HashMap;

use super::{Item, s};
use crate::ports::ItemSet;

/// What the delete cascade of a bucket incarnation does with a partition kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Purge {
    /// Each partition, `<prefix><id>#<generation>`, belongs to one incarnation: the cascade
    /// deletes all of it.
    Partition,
    /// The partition is shared; the cascade deletes the items whose sort key starts with
    /// `<id>#<generation>#`.
    SortKeyPrefix,
    /// Not the cascade's to delete, for the reason given.
    Kept(&'static str),
}

/// Declares `Partition` and `Partition::ALL` from one list, so that no partition kind can be
/// left out of the list the cascade reads, with its prefix and purge next to its name.
macro_rules! partitions {
    ($($(#[doc = $doc:literal])* $name:ident => $prefix:literal, $purge:expr;)*) => {
        /// The kinds of partition in the table.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(super) enum Partition {
            $($(#[doc = $doc])* $name,)*
        }

        impl Partition {
            /// Every kind, in declaration order (which is the order the cascade purges them).
            pub(super) const ALL: &[Partition] = &[$(Partition::$name,)*];

            /// The partition key, or its start.
            pub(super) const fn prefix(self) -> &'static str {
                match self {
                    $(Partition::$name => $prefix,)*
                }
            }

            pub(super) const fn purge(self) -> Purge {
                match self {
                    $(Partition::$name => $purge,)*
                }
            }
        }
    };
}

partitions! {
    /// `B#<id>`, sort key `B`: a bucket.
    Bucket => "B#", Purge::Kept(
        "keyed by the id alone, which a re-created bucket reuses: deleted in the transaction \
         that writes the incarnation's marker"
    );
    /// `P#<principal>`, sort key `<id>`: the listing index of a principal in the bucket's ACL.
    PrincipalListing => "P#", Purge::Kept(
        "keyed by the id alone: deleted with the bucket or right after it; those a crash left \
         go by `delete_stale_index` (the marker names them) while no bucket has that id again"
    );
    /// `ALL`, sort key `<id>`: the listing index of all buckets.
    AllListing => "ALL", Purge::Kept(
        "keyed by the id alone: deleted in the transaction that deletes the bucket"
    );
    /// `D#<id>#<generation>`, sort key `HEAD` or `R#<revision, 20 digits>`: data documents.
    Data => "D#", Purge::Partition;
    /// `F#<id>#<generation>`, sort key `<name>`: file records.
    Files => "F#", Purge::Partition;
    /// `U#<id>#<generation>`, sort key `<upload id>`: upload grants.
    Grants => "U#", Purge::Partition;
    /// `R#<id>#<generation>`, sort key `<upload id>`: upload rejections.
    Rejections => "R#", Purge::Partition;
    /// `V#<id>#<generation>`, sort key `<name>#<file hash>#<version id>`: replaced file
    /// versions kept for the retention (`kept_version`).
    KeptVersions => "V#", Purge::Partition;
    /// `S#<id>#<generation>`, sort key `<user name>`: SFTP users (`domain::sftp`). Their
    /// REMOVE records (this purge included) delete the Transfer users (`service::sftp`).
    SftpUsers => "S#", Purge::Partition;
    /// `C#<id>#<generation>`, sort key `SFTP` (how many SFTP users the incarnation has): the
    /// counts of per-bucket limits, each moved in the transaction that creates or deletes what
    /// it counts. After `S#` (a user's deletion moves its count only while the user is there).
    Counts => "C#", Purge::Partition;
    /// `H#<id>#<generation>`, sort key `<ms, 13 digits>#<stream sequence, 40 digits>`: the
    /// incarnation's history (`domain::history`), expiring by TTL after the retention. Its
    /// writes come from the stream, so an entry can land after the purge: the TTL takes it.
    History => "H#", Purge::Partition;
    /// `W#<id>#<generation>`, sort key `<webhook id>`: webhooks (`domain::webhooks`).
    Webhooks => "W#", Purge::Kept(
        "a deleted bucket's webhooks serve its `bucket.deleted` deliveries, which the activity \
         function makes while the cascade runs: it retires them (a TTL) once those are queued"
    );
    /// `WS#<id>#<generation>`, sort key `SEQ` (the last event number), `HOOKS` (how many
    /// webhooks the incarnation has: the limit's counter) or `<event id>` (an event's number,
    /// expiring by TTL): the bucket's event sequence and counters.
    EventSequences => "WS#", Purge::Kept(
        "the `bucket.deleted` event is numbered after the cascade starts: retired by TTL with \
         the webhooks"
    );
    /// `WD#<id>#<generation>`, sort key `<webhook id>#<delivery id>`: webhook deliveries,
    /// expiring by TTL after `DELIVERY_RETENTION_SECS`.
    Deliveries => "WD#", Purge::Kept(
        "a deleted bucket's last deliveries are still attempted: they expire by TTL"
    );
    /// `SFTP`, sort key `<id>#<generation>#`: incarnations that have had SFTP users, which
    /// the scheduled reconciliation pass visits.
    SftpBuckets => "SFTP", Purge::SortKeyPrefix;
    /// `K#<key id>`, sort key `K`: an API key.
    ApiKey => "K#", Purge::Kept("a key belongs to its owner, not to a bucket");
    /// `KO#<owner principal>`, sort key `<key id>`: the listing index of a user's keys.
    KeyOwnerListing => "KO#", Purge::Kept("a key belongs to its owner, not to a bucket");
    /// `KALL`, sort key `<key id>`: the listing index of all keys (an admin's listing).
    KeyListing => "KALL", Purge::Kept("a key belongs to its owner, not to a bucket");
    /// `KC#<owner principal>`, sort key `KEYS`: the ids of a user's keys (a string set, the
    /// count of the keys-per-owner limit), moved in the transactions that create and revoke
    /// keys.
    KeyCount => "KC#", Purge::Kept("a key belongs to its owner, not to a bucket");
    /// `CASCADE`, sort key `<id>#<generation>` (a deleted bucket incarnation) or
    /// `<id>#<generation>#<upload id>` (a deleted file's objects): pending cascades. An
    /// incarnation's cascade purges its file markers; its own marker is not among them (no
    /// trailing `#`): it drives the cascade, which deletes it once everything else is gone.
    Cascade => "CASCADE", Purge::SortKeyPrefix;
}

impl Partition {
    /// The kind of partition key `pk` and what follows its prefix (an incarnation's
    /// `<id>#<generation>`, a key id, …); the longest prefix wins.
    pub(super) fn parse(pk: &str) -> Option<(Partition, &str)> {
        Partition::ALL
            .iter()
            .filter_map(|p| Some((*p, pk.strip_prefix(p.prefix())?)))
            .max_by_key(|(p, _)| p.prefix().len())
    }
}

/// The sort key of a bucket item.
const BUCKET_SK: &str = "B";
/// The sort key of the current data document.
pub(super) const DATA_HEAD: &str = "HEAD";
/// The partition key of the listing of all buckets.
pub(super) const ALL_LISTING: &str = Partition::AllListing.prefix();
/// The partition key of the incarnations with SFTP users.
pub(super) const SFTP_BUCKETS: &str = Partition::SftpBuckets.prefix();
/// The partition key of the cascade markers.
pub(super) const MARKERS: &str = Partition::Cascade.prefix();

/// The key of the item `pk`/`sk`.
pub(super) fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([("pk".into(), s(pk)), ("sk".into(), s(sk))])
}

/// How keys name a bucket incarnation.
fn incarnation(id: &str, generation: &str) -> String {
    format!("{id}#{generation}")
}

impl Partition {
    /// The partition of incarnation `id`/`generation`, for kinds an incarnation owns.
    pub(super) fn of(self, id: &str, generation: &str) -> String {
        debug_assert_eq!(self.purge(), Purge::Partition, "{self:?} is shared");
        format!("{}{}", self.prefix(), incarnation(id, generation))
    }

    /// The key of item `sk` in the partition of incarnation `id`/`generation`.
    pub(super) fn item(self, id: &str, generation: &str, sk: &str) -> Item {
        key(self.of(id, generation), sk)
    }

    /// The key of item `sk` in a kept partition of incarnation `id`/`generation` (one the
    /// cascade leaves to the TTL).
    pub(super) fn kept_item(self, id: &str, generation: &str, sk: &str) -> Item {
        key(self.kept_partition(id, generation), sk)
    }

    /// The partition of incarnation `id`/`generation` in a kept kind.
    pub(super) fn kept_partition(self, id: &str, generation: &str) -> String {
        debug_assert!(matches!(self.purge(), Purge::Kept(_)), "{self:?} is purged");
        format!("{}{}", self.prefix(), incarnation(id, generation))
    }

    /// The items of this kind that the cascade of incarnation `id`/`generation` deletes.
    fn purged(self, id: &str, generation: &str) -> Option<ItemSet> {
        match self.purge() {
            Purge::Partition => Some(ItemSet {
                pk: self.of(id, generation),
                sk_prefix: None,
            }),
            Purge::SortKeyPrefix => Some(ItemSet {
                pk: self.prefix().into(),
                sk_prefix: Some(format!("{}#", incarnation(id, generation))),
            }),
            Purge::Kept(_) => None,
        }
    }
}

/// Every set of items the cascade of incarnation `id`/`generation` deletes, in registry order.
pub(super) fn incarnation_items(id: &str, generation: &str) -> Vec<ItemSet> {
    Partition::ALL
        .iter()
        .filter_map(|p| p.purged(id, generation))
        .collect()
}

/// The partition key of the listing of all API keys.
pub(super) const KEYS_LISTING: &str = Partition::KeyListing.prefix();
/// The sort key of an API key item.
const API_KEY_SK: &str = "K";

/// The key of API key `id`.
pub(super) fn api_key(id: &str) -> Item {
    key(api_key_pk(id), API_KEY_SK)
}

/// The partition key of API key `id`.
pub(super) fn api_key_pk(id: &str) -> String {
    format!("{}{id}", Partition::ApiKey.prefix())
}

/// The partition key of the listing of `owner`'s API keys.
pub(super) fn key_owner_listing(owner: &str) -> String {
    format!("{}{owner}", Partition::KeyOwnerListing.prefix())
}

/// The sort key of the count of an owner's keys.
const KEY_COUNT_SK: &str = "KEYS";

/// The key of the count of `owner`'s API keys.
pub(super) fn key_count(owner: &str) -> Item {
    key(
        format!("{}{owner}", Partition::KeyCount.prefix()),
        KEY_COUNT_SK,
    )
}

/// The sort key of the count of an incarnation's SFTP users.
const SFTP_COUNT_SK: &str = "SFTP";

/// The key of the count of incarnation `id`/`generation`'s SFTP users.
pub(super) fn sftp_count(id: &str, generation: &str) -> Item {
    Partition::Counts.item(id, generation, SFTP_COUNT_SK)
}

/// The key of bucket `id`.
pub(super) fn bucket(id: &str) -> Item {
    key(format!("{}{id}", Partition::Bucket.prefix()), BUCKET_SK)
}

/// The partition key of the listing of `principal`.
pub(super) fn principal_listing(principal: &str) -> String {
    format!("{}{principal}", Partition::PrincipalListing.prefix())
}

/// The key of bucket `id`'s entry in listing `listing` (`ALL_LISTING` or a principal's).
pub(super) fn listing_entry(listing: &str, id: &str) -> Item {
    key(listing, id)
}

/// The key of the marker `marker_key` (see `domain::cascade` for what marker keys are).
pub(super) fn marker(marker_key: &str) -> Item {
    key(MARKERS, marker_key)
}

/// The sort key of kept data revision `revision`: zero-padded, so that keys sort as numbers.
pub(super) fn data_revision(revision: i64) -> String {
    format!("R#{revision:020}")
}

/// The sort key of a kept version of file `name` (of the file whose permalink hash is
/// `hash`: a file deleted and uploaded again has a new hash, and none of its predecessor's
/// versions), version `version_id`; `kept_versions_of` is the prefix of them all.
pub(super) fn kept_version(name: &str, hash: &str, version_id: &str) -> String {
    format!("{}{version_id}", kept_versions_of(name, hash))
}

/// The sort-key prefix of the kept versions of file `name` with permalink hash `hash`.
/// The registration of incarnation `id`/`generation` among those with SFTP users.
pub(super) fn sftp_registration(id: &str, generation: &str) -> Item {
    key(SFTP_BUCKETS, format!("{}#", incarnation(id, generation)))
}

/// Normalized names hold no `#` (only `[a-z0-9_.-]`), so one file's prefix never matches
/// another's.
pub(super) fn kept_versions_of(name: &str, hash: &str) -> String {
    format!("{name}#{hash}#")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::cascade::{bucket_marker_key, file_marker_key};

    fn pk_sk(key: &Item) -> (&str, &str) {
        let text = |a: &str| key[a].as_s().expect("string key");
        (text("pk"), text("sk"))
    }

    /// Keys of every kind for incarnation `id`/`generation`, built with the builders the stores
    /// use. The match is exhaustive: a new kind does not compile until it has examples here.
    fn examples(p: Partition, id: &str, generation: &str) -> Vec<Item> {
        match p {
            Partition::Bucket => vec![bucket(id)],
            Partition::PrincipalListing => vec![listing_entry(&principal_listing("user:a"), id)],
            Partition::AllListing => vec![listing_entry(ALL_LISTING, id)],
            Partition::Data => vec![
                p.item(id, generation, DATA_HEAD),
                p.item(id, generation, &data_revision(42)),
            ],
            Partition::Files => vec![p.item(id, generation, "dir/a.txt")],
            Partition::Grants | Partition::Rejections => vec![p.item(id, generation, "u1")],
            Partition::KeptVersions => {
                vec![p.item(id, generation, &kept_version("dir/a.txt", "h1", "v1"))]
            }
            Partition::SftpUsers => vec![p.item(id, generation, "partner")],
            Partition::Counts => vec![sftp_count(id, generation)],
            Partition::History => vec![p.item(id, generation, "0000000001000#0042")],
            Partition::Webhooks | Partition::EventSequences | Partition::Deliveries => {
                vec![p.kept_item(id, generation, "wh_1")]
            }
            Partition::SftpBuckets => vec![sftp_registration(id, generation)],
            Partition::ApiKey => vec![api_key("0123456789abcdef")],
            Partition::KeyOwnerListing => vec![listing_entry(&key_owner_listing("user:a"), "k1")],
            Partition::KeyListing => vec![listing_entry(KEYS_LISTING, "k1")],
            Partition::KeyCount => vec![key_count("user:a")],
            Partition::Cascade => vec![
                marker(&bucket_marker_key(id, generation)),
                marker(&file_marker_key(id, generation, "u1")),
            ],
        }
    }

    /// Keys that name an incarnation but that its cascade leaves, and why.
    fn left_on_purpose(key: &Item, id: &str, generation: &str) -> Option<&'static str> {
        let (pk, _) = pk_sk(key);
        if [
            Partition::Webhooks,
            Partition::EventSequences,
            Partition::Deliveries,
        ]
        .iter()
        .any(|p| pk.starts_with(p.prefix()))
        {
            return Some("webhooks, events and deliveries expire by TTL (see their Purge)");
        }
        (*key == marker(&bucket_marker_key(id, generation)))
            .then_some("the incarnation's own marker: the cascade deletes it last")
    }

    fn purges(sets: &[ItemSet], key: &Item) -> bool {
        let (pk, sk) = pk_sk(key);
        sets.iter()
            .any(|set| set.pk == pk && sk.starts_with(set.sk_prefix.as_deref().unwrap_or("")))
    }

    #[test]
    fn every_key_naming_the_incarnation_is_purged() {
        let sets = incarnation_items("b1", "g1");
        for &p in Partition::ALL {
            for key in examples(p, "b1", "g1") {
                let (pk, sk) = pk_sk(&key);
                let names_it = pk.contains("b1#g1") || sk.contains("b1#g1");
                let purge = names_it && left_on_purpose(&key, "b1", "g1").is_none();
                assert_eq!(
                    purges(&sets, &key),
                    purge,
                    "{p:?} {pk}/{sk}: a key naming an incarnation must be purged with it (or be \
                     listed in `left_on_purpose`); other keys must not be"
                );
            }
        }
    }

    #[test]
    fn nothing_of_another_incarnation_is_purged() {
        let sets = incarnation_items("b1", "g1");
        for (id, generation) in [("b1", "g2"), ("b1", "g10"), ("b10", "g1")] {
            for &p in Partition::ALL {
                for key in examples(p, id, generation) {
                    assert!(!purges(&sets, &key), "{p:?} {:?}", pk_sk(&key));
                }
            }
        }
    }

    #[test]
    fn every_purged_kind_is_in_incarnation_items() {
        let sets = incarnation_items("b1", "g1");
        let purged: Vec<Partition> = Partition::ALL
            .iter()
            .copied()
            .filter(|p| !matches!(p.purge(), Purge::Kept(_)))
            .collect();
        assert_eq!(sets.len(), purged.len());
        for p in purged {
            let set = p.purged("b1", "g1").unwrap();
            assert!(sets.contains(&set), "{p:?} missing from incarnation_items");
        }
        // Every kept kind says why.
        for p in Partition::ALL {
            if let Purge::Kept(why) = p.purge() {
                assert!(!why.trim().is_empty(), "{p:?}");
            }
        }
    }

    #[test]
    fn incarnation_items_are_the_layout_the_cascade_always_purged() {
        let set = |pk: &str, sk_prefix: Option<&str>| ItemSet {
            pk: pk.into(),
            sk_prefix: sk_prefix.map(str::to_string),
        };
        assert_eq!(
            incarnation_items("b1", "g1"),
            [
                set("D#b1#g1", None),
                set("F#b1#g1", None),
                set("U#b1#g1", None),
                set("R#b1#g1", None),
                set("V#b1#g1", None),
                set("S#b1#g1", None),
                set("C#b1#g1", None),
                set("H#b1#g1", None),
                set("SFTP", Some("b1#g1#")),
                set("CASCADE", Some("b1#g1#")),
            ]
        );
    }

    #[test]
    fn builders_make_the_stored_keys() {
        let cases = [
            (bucket("b1"), ("B#b1", "B")),
            (
                listing_entry(&principal_listing("user:a"), "b1"),
                ("P#user:a", "b1"),
            ),
            (listing_entry(ALL_LISTING, "b1"), ("ALL", "b1")),
            (marker("b1#g1"), ("CASCADE", "b1#g1")),
            (
                Partition::Data.item("b1", "g1", DATA_HEAD),
                ("D#b1#g1", "HEAD"),
            ),
            (
                Partition::Data.item("b1", "g1", &data_revision(42)),
                ("D#b1#g1", "R#00000000000000000042"),
            ),
            (
                Partition::Files.item("b1", "g1", "a.txt"),
                ("F#b1#g1", "a.txt"),
            ),
            (Partition::Grants.item("b1", "g1", "u1"), ("U#b1#g1", "u1")),
            (sftp_count("b1", "g1"), ("C#b1#g1", "SFTP")),
            (key_count("user:a"), ("KC#user:a", "KEYS")),
            (
                Partition::Rejections.item("b1", "g1", "u1"),
                ("R#b1#g1", "u1"),
            ),
        ];
        for (key, expected) in &cases {
            assert_eq!(key.len(), 2, "{expected:?}: a key is pk and sk only");
            assert_eq!(pk_sk(key), *expected);
        }
    }

    #[test]
    fn the_module_documentation_tables_every_partition() {
        let table = include_str!("mod.rs");
        for p in Partition::ALL {
            assert!(
                table.contains(&format!("`{}", p.prefix())),
                "{p:?} ({}) is missing from the table in dynamodb/mod.rs",
                p.prefix()
            );
        }
    }

    #[test]
    fn revisions_sort_as_numbers() {
        let revisions = [1, 9, 10, 99, 100, 12_345_678_901];
        let sks: Vec<String> = revisions.iter().map(|r| data_revision(*r)).collect();
        assert!(sks.is_sorted(), "{sks:?}");
        assert!(sks.iter().all(|sk| sk.len() == "R#".len() + 20));
    }
}
