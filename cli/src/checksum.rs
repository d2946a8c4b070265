//! Checksums of local files as the API records them.
//!
//! A single-PUT file's record holds the base64 SHA-256 of its bytes; a multipart file's holds
//! S3's composite `<base64 SHA-256 of the part digests>-<part count>`
//! (`rules::checksums::composite_sha256`). The part size follows the API's plan
//! (`rules::multipart::plan`).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

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
        rules::multipart::plan(size, self.part_size).part_size
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

/// S3's composite checksum of base64 part digests (empty when there is none).
pub fn composite(parts: &[String]) -> String {
    rules::checksums::composite_sha256(parts.iter().map(String::as_str)).unwrap_or_default()
}

/// Hashes a file: a single-PUT file in one streaming pass; a multipart file's parts on
/// `threads` threads at once (each part is a digest of its own, so they need no order, and a
/// big file hashes at the speed of the disk, not of one core).
pub fn digest_file(path: &Path, plan: &Plan, threads: usize) -> std::io::Result<Digests> {
    let size = std::fs::metadata(path)?.len();
    if !plan.is_multipart(size) {
        let mut hasher = Hasher::new(0);
        hash_range(path, 0, size, |b| hasher.update(b))?;
        return Ok(hasher.finish());
    }
    let part_size = plan.part_size_for(size);
    let offsets: Vec<u64> = (0..size.div_ceil(part_size).max(1))
        .map(|n| n * part_size)
        .collect();
    let parts = crate::pool::run(&offsets, threads, |&offset| {
        let mut part = Sha256::new();
        hash_range(path, offset, part_size.min(size - offset), |b| {
            part.update(b)
        })?;
        Ok::<_, std::io::Error>(STANDARD.encode(part.finalize()))
    });
    Ok(Digests {
        size,
        whole: String::new(),
        parts: parts.into_iter().collect::<Result<_, _>>()?,
        part_size,
    })
}

/// Feeds `len` bytes of `path` from `offset` to `sink`, 256 KiB at a time.
fn hash_range(
    path: &Path,
    offset: u64,
    len: u64,
    mut sink: impl FnMut(&[u8]),
) -> std::io::Result<()> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    let mut reader = file.take(len);
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        sink(&buf[..n]);
    }
}

/// Incremental hashing of a whole file, or of its parts when it has them (a multipart file's
/// record is the composite of its parts: its whole-file digest would be a wasted pass).
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
        self.size += bytes.len() as u64;
        if self.part_size == 0 {
            self.whole.update(bytes);
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
        let whole = if self.part_size == 0 {
            STANDARD.encode(self.whole.finalize())
        } else {
            String::new()
        };
        Digests {
            size: self.size,
            whole,
            parts: self.parts,
            part_size: self.part_size,
        }
    }
}

/// A recorded checksum in the form this module compares: base64 (the API may answer hex for a
/// whole-file digest given as hex).
pub fn canonical(recorded: &str) -> String {
    rules::checksums::sha256_base64(recorded).unwrap_or_else(|| recorded.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rules::multipart::MIB;

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

        // The file path hashes its parts on several threads to the same composite; a small
        // file is its whole digest.
        let dir = std::env::temp_dir().join(format!("buckets-digest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let plan = Plan {
            threshold: 8 * MIB,
            part_size: 5 * MIB,
        };
        std::fs::write(dir.join("big"), &body).unwrap();
        assert_eq!(
            digest_file(&dir.join("big"), &plan, 3)
                .unwrap()
                .recorded_form(),
            want
        );
        std::fs::write(dir.join("small"), &body[..1000]).unwrap();
        let small = digest_file(&dir.join("small"), &plan, 3).unwrap();
        assert_eq!(
            small.recorded_form(),
            STANDARD.encode(Sha256::digest(&body[..1000]))
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn names_normalize_as_the_api_does() {
        assert_eq!(rules::names::normalize("Q1 Report.CSV"), "q1_report.csv");
        assert_eq!(rules::names::normalize("a  &b.txt"), "a_b.txt");
    }

    #[test]
    fn hex_and_base64_digests_compare_equal() {
        let raw = Sha256::digest(b"x");
        assert_eq!(canonical(&hex::encode(raw)), STANDARD.encode(raw));
    }
}
