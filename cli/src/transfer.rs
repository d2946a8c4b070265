//! Moving bytes between a directory and S3 through the API's presigned URLs: the pieces that
//! `store` and `fetch` share (what the deployment plans, sending a body with progress, reading
//! one with verification, the summary a run prints).

use crate::output::words::{count, many};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use serde_json::{Value, json};

use crate::api::{Api, segment};
use crate::checksum::{Hasher, Plan, canonical};
use crate::failure::{Exit, Failure};
use crate::progress::{FileBar, Progress};

const BUF: usize = 256 * 1024;

/// What a job syncs, as the API names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Sync {
    /// The data document only.
    Data,
    /// The files only.
    Files,
    /// The data document and the files.
    #[value(name = "data_and_files")]
    DataAndFiles,
}

impl Sync {
    pub fn as_str(self) -> &'static str {
        match self {
            Sync::Data => "data",
            Sync::Files => "files",
            Sync::DataAndFiles => "data_and_files",
        }
    }
    pub fn data(self) -> bool {
        self != Sync::Files
    }
    pub fn files(self) -> bool {
        self != Sync::Data
    }
}

/// The deployment's upload plan (`GET /v1/` → `settings.upload`).
pub fn plan(api: &Api) -> Result<Plan, Failure> {
    let root = api.get("/v1/")?.body;
    let up = &root["settings"]["upload"];
    Ok(Plan {
        threshold: up["multipart_threshold"].as_u64().unwrap_or(u64::MAX),
        part_size: up["multipart_part_size"]
            .as_u64()
            .unwrap_or(64 * 1024 * 1024),
    })
}

/// Every file record of a bucket, by name: `(size, canonical sha256)`.
pub fn recorded(
    api: &Api,
    bucket: &str,
) -> Result<std::collections::HashMap<String, (u64, Option<String>)>, Failure> {
    let items = api.all_pages(
        &format!("/v1/buckets/{}/files?_limit=1000", segment(bucket)),
        usize::MAX,
    )?;
    Ok(items
        .into_iter()
        .filter_map(|f| {
            Some((
                f["name"].as_str()?.to_string(),
                (
                    f["size"].as_u64().unwrap_or(0),
                    f["sha256"].as_str().map(canonical),
                ),
            ))
        })
        .collect())
}

/// A reader that counts what passes into the file's bar and the total.
struct Counted<'a, R> {
    inner: R,
    bar: &'a FileBar,
    progress: &'a Progress,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bar.inc(n as u64);
        self.progress.bytes(n as u64);
        Ok(n)
    }
}

/// PUTs `len` bytes of `path` from `offset` to a presigned URL with its signed headers.
/// S3 checks the signed length and checksum: a file changed on disk since it was hashed is
/// refused (`BadDigest`), which is reported as such.
#[allow(clippy::too_many_arguments)] // the URL's parts, the file's range, and where progress goes
pub fn put_range(
    api: &Api,
    url: &str,
    headers: &serde_json::Map<String, Value>,
    path: &Path,
    offset: u64,
    len: u64,
    bar: &FileBar,
    progress: &Progress,
) -> Result<(), String> {
    let mut file = File::open(path).map_err(|e| format!("cannot read: {e}"))?;
    let now = file.metadata().map(|m| m.len()).unwrap_or(0);
    if now < offset + len {
        return Err("the file changed on disk during upload (it is shorter now)".into());
    }
    file.seek(SeekFrom::Start(offset))
        .map_err(|e| format!("cannot read: {e}"))?;
    let mut body = Counted {
        inner: std::io::BufReader::with_capacity(BUF, file.take(len)),
        bar,
        progress,
    };
    let mut req = http::Request::builder().method("PUT").uri(url);
    for (k, v) in headers {
        if !k.eq_ignore_ascii_case("content-length") {
            req = req.header(k.as_str(), v.as_str().unwrap_or_default());
        }
    }
    let req = req
        .header("content-length", len.to_string())
        .body(ureq::SendBody::from_reader(&mut body))
        .map_err(|e| e.to_string())?;
    let mut resp = api.agent().run(req).map_err(|e| {
        format!(
            "upload failed: {e} ({})",
            url.split('?').next().unwrap_or("")
        )
    })?;
    let status = resp.status().as_u16();
    if status == 200 {
        return Ok(());
    }
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    if text.contains("BadDigest") || text.contains("XAmzContentSHA256Mismatch") {
        return Err(
            "the file changed on disk during upload (its SHA-256 no longer matches)".into(),
        );
    }
    let code = text
        .split("<Code>")
        .nth(1)
        .and_then(|s| s.split("</Code>").next())
        .unwrap_or("");
    Err(format!("S3 refused the upload: {status} {code}"))
}

/// Downloads `url` into `dest` (through a hidden partial file renamed at the end), verifying
/// the bytes against `sha256` as recorded (base64, or a composite `<b64>-N` checked part-wise
/// with the plan's part size). Nothing is left at `dest` when the check fails.
#[allow(clippy::too_many_arguments)] // the URL, the destination, the record's size and checksum, progress
pub fn download(
    api: &Api,
    url: &str,
    dest: &Path,
    size: u64,
    sha256: Option<&str>,
    plan: &Plan,
    bar: &FileBar,
    progress: &Progress,
) -> Result<(), String> {
    let part_size = match sha256 {
        Some(s) if s.contains('-') => plan.part_size_for(size),
        _ => 0,
    };
    let partial = partial_path(dest);
    let result = (|| {
        let mut resp = api
            .agent()
            .get(url)
            .call()
            .map_err(|e| format!("download failed: {e}"))?;
        let status = resp.status().as_u16();
        if status != 200 {
            return Err(format!("S3 answered {status}"));
        }
        let mut reader = resp.body_mut().with_config().limit(u64::MAX).reader();
        let mut out = std::io::BufWriter::with_capacity(BUF, new_partial(&partial)?);
        let mut hasher = Hasher::new(part_size);
        write_hashed(&mut reader, &mut out, |b| hasher.update(b), bar, progress)?;
        let got = hasher.finish();
        if got.size != size {
            return Err(format!("got {} bytes, the record says {size}", got.size));
        }
        if let Some(want) = sha256
            && got.recorded_form() != canonical(want)
        {
            return Err("the downloaded bytes do not match the recorded SHA-256".into());
        }
        std::fs::rename(&partial, dest).map_err(|e| format!("cannot write: {e}"))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

/// Downloads a multipart file by its parts at once (`parallel` ranged GETs, as the AWS CLI
/// does), each written at its offset of the partial file and hashed as it arrives; the
/// composite of the part digests must be the recorded one before the file takes its name.
#[allow(clippy::too_many_arguments)] // as `download`, plus the part size and the parallelism
pub fn download_parts(
    api: &Api,
    url: &str,
    dest: &Path,
    size: u64,
    sha256: &str,
    part_size: u64,
    parallel: usize,
    bar: &FileBar,
    progress: &Progress,
) -> Result<(), String> {
    let partial = partial_path(dest);
    let result = (|| {
        let file = new_partial(&partial)?;
        file.set_len(size)
            .map_err(|e| format!("cannot write: {e}"))?;
        let offsets: Vec<u64> = (0..size.div_ceil(part_size))
            .map(|n| n * part_size)
            .collect();
        let parts = crate::pool::run(&offsets, parallel, |&offset| {
            let len = part_size.min(size - offset);
            download_range(api, url, &file, offset, len, bar, progress)
        });
        let parts: Vec<String> = parts.into_iter().collect::<Result<_, _>>()?;
        if crate::checksum::composite(&parts) != canonical(sha256) {
            return Err("the downloaded bytes do not match the recorded SHA-256".into());
        }
        std::fs::rename(&partial, dest).map_err(|e| format!("cannot write: {e}"))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

/// One part of `download_parts`: bytes `offset..offset+len` of `url` into the same bytes of
/// `partial` (the file made for this download, written through its handle, never reopened by
/// name); answers the part's base64 SHA-256.
fn download_range(
    api: &Api,
    url: &str,
    partial: &File,
    offset: u64,
    len: u64,
    bar: &FileBar,
    progress: &Progress,
) -> Result<String, String> {
    use sha2::Digest;
    let mut resp = api
        .agent()
        .get(url)
        .header("Range", format!("bytes={offset}-{}", offset + len - 1))
        .call()
        .map_err(|e| format!("download failed: {e}"))?;
    let status = resp.status().as_u16();
    if status != 206 {
        return Err(format!("S3 answered {status} to a ranged GET"));
    }
    let mut out = std::io::BufWriter::with_capacity(
        BUF,
        At {
            file: partial,
            offset,
        },
    );
    let mut reader = resp.body_mut().with_config().limit(len).reader();
    let mut hasher = sha2::Sha256::new();
    let got = write_hashed(&mut reader, &mut out, |b| hasher.update(b), bar, progress)?;
    if got != len {
        return Err(format!("a part came short: {got} of {len} bytes"));
    }
    use base64::Engine;
    Ok(base64::engine::general_purpose::STANDARD.encode(hasher.finalize()))
}

/// Writes to a file from `offset` on, through a handle the threads share (positioned writes:
/// no seek, so no thread moves another's place).
struct At<'a> {
    file: &'a File,
    offset: u64,
}

impl Write for At<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        #[cfg(unix)]
        let n = std::os::unix::fs::FileExt::write_at(self.file, buf, self.offset)?;
        #[cfg(windows)]
        let n = std::os::windows::fs::FileExt::seek_write(self.file, buf, self.offset)?;
        self.offset += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Copies a download's body to `out` through one buffer, feeding each chunk to `hash` and to
/// the progress bars; answers the bytes copied (flushed).
fn write_hashed(
    reader: &mut impl Read,
    out: &mut impl Write,
    mut hash: impl FnMut(&[u8]),
    bar: &FileBar,
    progress: &Progress,
) -> Result<u64, String> {
    let mut buf = vec![0u8; BUF];
    let mut got = 0u64;
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|e| format!("download failed: {e}"))?;
        if n == 0 {
            break;
        }
        hash(&buf[..n]);
        out.write_all(&buf[..n])
            .map_err(|e| format!("cannot write: {e}"))?;
        got += n as u64;
        bar.inc(n as u64);
        progress.bytes(n as u64);
    }
    out.flush().map_err(|e| format!("cannot write: {e}"))?;
    Ok(got)
}

/// A download's partial file, made anew (`fresh::file`: a stale one or a planted link is
/// neither reused nor followed).
fn new_partial(partial: &Path) -> Result<File, String> {
    crate::fresh::file(partial, 0o666).map_err(|e| format!("cannot write: {e}"))
}

/// Where a download is written before it is verified: hidden, beside its destination.
pub fn partial_path(dest: &Path) -> std::path::PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    dest.with_file_name(format!(".{name}.buckets-partial"))
}

/// What a run did, printed at the end: a line per problem on stderr, the whole as JSON with
/// `--json`; exit 1 when any file was refused or failed.
#[derive(Default)]
pub struct Summary {
    /// `{name, size}` of each file moved, and of each left as it was (the same shape).
    pub moved: Vec<Value>,
    pub unchanged: Vec<Value>,
    pub refused: Vec<Value>,
    pub failed: Vec<Value>,
    pub data: Option<Value>,
}

impl Summary {
    pub fn keep(&mut self, name: &str, size: u64) {
        self.unchanged.push(json!({"name": name, "size": size}));
    }
    pub fn refuse(&mut self, name: &str, reason: &str) {
        self.refused.push(json!({"name": name, "reason": reason}));
    }
    pub fn fail(&mut self, name: &str, error: &str) {
        self.failed.push(json!({"name": name, "error": error}));
    }

    /// `{moved, unchanged, refused, failed, data?}`: what `--json` prints.
    fn json(&self) -> Value {
        let mut out = json!({
            "moved": self.moved, "unchanged": self.unchanged,
            "refused": self.refused, "failed": self.failed,
        });
        if let Some(d) = &self.data {
            out["data"] = d.clone();
        }
        out
    }

    /// Prints it; answers the failure to exit with, if any.
    pub fn report(self, verb: &str, json_out: bool, progress: &Progress) -> Result<(), Failure> {
        for r in &self.refused {
            eprintln!(
                "refused: {}: {}",
                r["name"].as_str().unwrap_or(""),
                r["reason"].as_str().unwrap_or("")
            );
        }
        for f in &self.failed {
            eprintln!(
                "failed: {}: {}",
                f["name"].as_str().unwrap_or(""),
                f["error"].as_str().unwrap_or("")
            );
        }
        let bytes: u64 = self.moved.iter().filter_map(|m| m["size"].as_u64()).sum();
        progress.say(&format!(
            "{verb}: {} ({}) moved, {} unchanged, {} refused, {} failed",
            many(self.moved.len(), "file"),
            count(bytes, "byte"),
            self.unchanged.len(),
            self.refused.len(),
            self.failed.len()
        ));
        let problems = self.refused.len() + self.failed.len();
        if json_out {
            println!("{}", crate::output::safe::json(&self.json(), false));
        }
        if problems > 0 {
            Err(Failure::new(
                Exit::Files,
                format!("{verb}: {} refused or failed", many(problems, "file")),
            ))
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moved_and_unchanged_files_are_reported_in_one_shape() {
        let mut s = Summary::default();
        s.moved.push(json!({"name": "a.csv", "size": 3}));
        s.keep("b.csv", 5);
        s.refuse("c.csv", "too large");
        let v = s.json();
        assert_eq!(v["unchanged"], json!([{"name": "b.csv", "size": 5}]));
        assert_eq!(v["moved"][0]["name"], "a.csv");
        assert_eq!(v["refused"][0]["name"], "c.csv");
        assert_eq!(v["failed"], json!([]));
        assert!(v.get("data").is_none());
        s.data = Some(json!({"rows": 2}));
        assert_eq!(s.json()["data"], json!({"rows": 2}));
    }
}
