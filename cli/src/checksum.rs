//! Checksums as the API records them, and names as the API normalizes them.
//!
//! A single-PUT file's record holds the base64 SHA-256 of its bytes; a multipart file's holds
//! S3's composite `<base64 SHA-256 of the part digests>-<part count>`. The part size follows the
//! API's plan: `max(multipart_part_size, ⌈size / 10000⌉)` rounded up to a MiB, at least 5 MiB.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

const MIB: u64 = 1024 * 1024;
const MAX_PARTS: u64 = 10_000;

/// The deployment's upload settings (`GET /v1/` → `settings.upload`).
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    pub threshold: u64,
    pub part_size: u64,
}

impl Plan {
    pub fn is_multipart(&self, size: u64) -> bool {
        size >= self.threshold
    }

    /// The part size the API plans for a file of `size` bytes.
    pub fn part_size_for(&self, size: u64) -> u64 {
        let wanted = self.part_size.max(size.div_ceil(MAX_PARTS));
        wanted.div_ceil(MIB).max(5) * MIB
    }
}

/// What a local file hashes to: its whole-file digest and, when it is uploaded in parts, each
/// part's digest and the composite.
#[derive(Clone, Debug)]
pub struct Digests {
    pub size: u64,
    pub whole: String,
    pub parts: Vec<String>,
    pub part_size: u64,
}

impl Digests {
    /// The value a record of this file holds.
    pub fn recorded_form(&self) -> String {
        if self.parts.is_empty() {
            self.whole.clone()
        } else {
            composite(&self.parts)
        }
    }
}

/// S3's composite checksum of base64 part digests.
pub fn composite(parts: &[String]) -> String {
    let mut all = Sha256::new();
    for p in parts {
        all.update(STANDARD.decode(p).unwrap_or_default());
    }
    format!("{}-{}", STANDARD.encode(all.finalize()), parts.len())
}

/// Hashes a file in one streaming pass (part digests too when `plan` makes it multipart).
pub fn digest_file(path: &Path, plan: &Plan) -> std::io::Result<Digests> {
    let file = File::open(path)?;
    let size = file.metadata()?.len();
    let part_size = if plan.is_multipart(size) {
        plan.part_size_for(size)
    } else {
        0
    };
    let mut hasher = Hasher::new(part_size);
    let mut reader = BufReader::with_capacity(256 * 1024, file);
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finish())
}

/// Incremental hashing of a whole file and of its parts (for downloads, which verify as they
/// write).
pub struct Hasher {
    whole: Sha256,
    part: Sha256,
    part_size: u64,
    in_part: u64,
    size: u64,
    parts: Vec<String>,
}

impl Hasher {
    /// `part_size` 0: no parts.
    pub fn new(part_size: u64) -> Hasher {
        Hasher {
            whole: Sha256::new(),
            part: Sha256::new(),
            part_size,
            in_part: 0,
            size: 0,
            parts: Vec::new(),
        }
    }

    pub fn update(&mut self, mut bytes: &[u8]) {
        self.whole.update(bytes);
        self.size += bytes.len() as u64;
        if self.part_size == 0 {
            return;
        }
        while !bytes.is_empty() {
            let room = (self.part_size - self.in_part) as usize;
            let take = room.min(bytes.len());
            self.part.update(&bytes[..take]);
            self.in_part += take as u64;
            bytes = &bytes[take..];
            if self.in_part == self.part_size {
                self.close_part();
            }
        }
    }

    fn close_part(&mut self) {
        let done = std::mem::replace(&mut self.part, Sha256::new());
        self.parts.push(STANDARD.encode(done.finalize()));
        self.in_part = 0;
    }

    pub fn finish(mut self) -> Digests {
        if self.part_size > 0 && (self.in_part > 0 || self.parts.is_empty()) {
            self.close_part();
        }
        Digests {
            size: self.size,
            whole: STANDARD.encode(self.whole.finalize()),
            parts: self.parts,
            part_size: self.part_size,
        }
    }
}

/// The API's name normalization (xyOps's): runs of characters other than letters, digits,
/// `_`, `-`, `.` become one `_`, then lowercase.
pub fn normalize(name: &str) -> String {
    let mut out = String::new();
    let mut in_run = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
            out.push(c.to_ascii_lowercase());
            in_run = false;
        } else if !in_run {
            out.push('_');
            in_run = true;
        }
    }
    out
}

/// A recorded checksum in the form this module compares: base64 (the API may answer hex for a
/// whole-file digest given as hex).
pub fn canonical(recorded: &str) -> String {
    if recorded.len() == 64
        && recorded.bytes().all(|b| b.is_ascii_hexdigit())
        && let Ok(raw) = hex::decode(recorded)
    {
        return STANDARD.encode(raw);
    }
    recorded.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_sizes_follow_the_api_plan() {
        let plan = Plan {
            threshold: 64 * MIB,
            part_size: 64 * MIB,
        };
        assert_eq!(plan.part_size_for(512 * MIB), 64 * MIB);
        // 5 TiB: past 10,000 parts of 64 MiB, so ⌈size/10000⌉ rounded up to a MiB.
        assert_eq!(plan.part_size_for(5 * 1024 * 1024 * MIB), 525 * MIB);
        let small = Plan {
            threshold: 5 * MIB,
            part_size: MIB,
        };
        assert_eq!(small.part_size_for(12 * MIB), 5 * MIB);
    }

    #[test]
    fn the_composite_is_the_digest_of_the_part_digests() {
        let body: Vec<u8> = (0..(11 * MIB as usize)).map(|i| (i % 251) as u8).collect();
        let mut h = Hasher::new(5 * MIB);
        for chunk in body.chunks(100_000) {
            h.update(chunk);
        }
        let d = h.finish();
        assert_eq!(d.parts.len(), 3);
        let mut all = Vec::new();
        for p in body.chunks(5 * MIB as usize) {
            all.extend(Sha256::digest(p));
        }
        let want = format!("{}-3", STANDARD.encode(Sha256::digest(&all)));
        assert_eq!(d.recorded_form(), want);
        assert_eq!(d.whole, STANDARD.encode(Sha256::digest(&body)));
    }

    #[test]
    fn names_normalize_as_the_api_does() {
        assert_eq!(normalize("Q1 Report.CSV"), "q1_report.csv");
        assert_eq!(normalize("a  &b.txt"), "a_b.txt");
    }

    #[test]
    fn hex_and_base64_digests_compare_equal() {
        let raw = Sha256::digest(b"x");
        assert_eq!(canonical(&hex::encode(raw)), STANDARD.encode(raw));
    }
}
