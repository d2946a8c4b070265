//! Multipart uploads resumed across runs: the upload id remembered in the cache directory, the parts S3 holds already.

use super::*;
use crate::output::words::many;

/// The cache file remembering a multipart upload of this exact content.
pub(super) fn resume_file(bucket: &str, api: &Api, l: &Local) -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_CACHE_HOME") {
        Some(x) if !x.is_empty() => PathBuf::from(x),
        _ => PathBuf::from(std::env::var_os("HOME")?).join(".cache"),
    };
    let key = hex::encode(Sha256::digest(format!(
        "{}\n{bucket}\n{}\n{}",
        api.base,
        l.name,
        l.digests.recorded_form()
    )));
    Some(
        base.join("buckets")
            .join("uploads")
            .join(format!("{key}.json")),
    )
}

pub(super) fn remember(bucket: &str, api: &Api, l: &Local, status_uri: &str) {
    if let Some(p) = resume_file(bucket, api, l) {
        let _ = std::fs::create_dir_all(p.parent().unwrap());
        let _ = std::fs::write(p, json!({"status_uri": status_uri}).to_string());
    }
}

/// The status URI of an earlier run's multipart upload of this content, while it is open.
pub(super) fn resumable(api: &Api, bucket: &str, l: &Local) -> Option<String> {
    let p = resume_file(bucket, api, l)?;
    let saved: Value = serde_json::from_slice(&std::fs::read(&p).ok()?).ok()?;
    let uri = saved["status_uri"].as_str()?.to_string();
    let status = api.get(&uri).ok()?.body;
    if status["data"]["status"] == "pending" || status["status"] == "pending" {
        Some(uri)
    } else {
        let _ = std::fs::remove_file(p);
        None
    }
}

pub(super) fn forget(api: &Api, bucket: &str, l: &Local) {
    if let Some(p) = resume_file(bucket, api, l) {
        let _ = std::fs::remove_file(p);
    }
}

/// The parts of a multipart upload that S3 does not hold yet with their SHA-256, with URLs.
pub(super) fn part_pieces<'a>(
    api: &Api,
    m: &Sent<'a>,
    progress: &Progress,
) -> Result<Vec<Piece<'a>>, String> {
    let parts_uri = format!("{}/parts", m.status_uri);
    let received = api
        .all_pages(&format!("{parts_uri}?_limit=1000"), usize::MAX)
        .map_err(|e| e.message)?;
    let held: HashMap<u64, String> = received
        .iter()
        .filter_map(|p| {
            Some((
                p["number"].as_u64()?,
                crate::checksum::canonical(p["sha256"].as_str()?),
            ))
        })
        .collect();
    let missing: Vec<(u64, &String)> = m
        .file
        .digests
        .parts
        .iter()
        .enumerate()
        .map(|(i, sha)| (i as u64 + 1, sha))
        .filter(|(n, sha)| held.get(n) != Some(*sha))
        .collect();
    let skipped = m.file.digests.parts.len() - missing.len();
    if skipped > 0 {
        progress.say(&format!(
            "{}: resuming, {} already uploaded",
            m.file.name,
            many(skipped, "part")
        ));
        progress.skipped(skipped as u64 * m.file.digests.part_size);
    }
    let mut pieces = Vec::new();
    for chunk in missing.chunks(PART_URLS_PER_CALL) {
        let wanted: Vec<Value> = chunk
            .iter()
            .map(|(n, sha)| json!({"number": n, "sha256": sha}))
            .collect();
        let answer = api
            .send("POST", &parts_uri, &json!({"parts": wanted}))
            .map_err(|e| e.message)?
            .body;
        for url in answer["parts"].as_array().into_iter().flatten() {
            pieces.push(Piece::Part {
                file: m.file,
                number: url["number"].as_u64().unwrap_or(0),
                url: url.clone(),
            });
        }
    }
    Ok(pieces)
}
