//! S3's multipart bounds and the plan of a large file: how the service cuts it into parts, and
//! how a client hashes it to the composite the service expects.

pub use crate::requests::MAX_PARTS_PER_PAGE;

pub const MIB: u64 = 1024 * 1024;
/// S3's smallest part (all but the last).
pub const MIN_PART_SIZE: u64 = 5 * MIB;
/// S3's largest part.
pub const MAX_PART_SIZE: u64 = 5 * 1024 * MIB;
/// S3's most parts per upload.
pub const MAX_PARTS: u32 = 10_000;
/// S3's largest object (5 TiB).
pub const MAX_OBJECT_SIZE: u64 = 5 * 1024 * 1024 * MIB;

/// How a file is cut into parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub part_size: u64,
    pub part_count: u32,
}

/// The plan of a `size`-byte file: part size = max(setting, ceil(size / 10000)) rounded up
/// to a whole MiB, at least 5 MiB (S3's minimum), at most 5 GiB; part count =
/// ceil(size / part size) (≤ 10,000 for any size up to 5 TiB).
pub fn plan(size: u64, part_size_setting: u64) -> Plan {
    let wanted = part_size_setting.max(size.div_ceil(u64::from(MAX_PARTS)));
    let part_size = wanted
        .div_ceil(MIB)
        .saturating_mul(MIB)
        .clamp(MIN_PART_SIZE, MAX_PART_SIZE);
    let part_count = size.div_ceil(part_size).max(1);
    Plan {
        part_size,
        part_count: u32::try_from(part_count).unwrap_or(u32::MAX),
    }
}

impl Plan {
    /// The byte length of part `number` (1-based) of a `size`-byte file.
    pub fn part_len(&self, size: u64, number: u32) -> u64 {
        let start = u64::from(number.saturating_sub(1)) * self.part_size;
        size.saturating_sub(start).min(self.part_size)
    }

    /// Whether `number` is a part of this plan (1..=count).
    pub fn has_part(&self, number: u32) -> bool {
        (1..=self.part_count).contains(&number)
    }

    /// The part numbers of the page starting at `first`: at most `MAX_PARTS_PER_PAGE`, and the
    /// number after the page if parts remain.
    pub fn page(&self, first: u32) -> (Vec<u32>, Option<u32>) {
        if !self.has_part(first) {
            return (vec![], None);
        }
        let last = self
            .part_count
            .min(first.saturating_add(MAX_PARTS_PER_PAGE as u32 - 1));
        let next = (last < self.part_count).then_some(last + 1);
        ((first..=last).collect(), next)
    }
}
