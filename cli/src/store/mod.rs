//! `buckets store`: a job's outputs into a bucket (xyOps's Store action).
//!
//! 1. the directory's files matching the glob (top level, regular, not hidden; names compared
//!    in the API's normalized form) are hashed, in parallel;
//! 2. files the bucket records already with the same checksum are skipped (a re-run after an
//!    interruption sends only what is missing);
//! 3. grants come from `POST …/store`, 100 files a call (the data document rides with the
//!    first), each single PUT signed with the file's SHA-256;
//! 4. bodies are streamed to S3 on `--parallel` threads; a multipart file's parts go in
//!    parallel too, and its upload id is remembered in the cache directory so that a re-run
//!    resumes it part-wise (parts S3 holds with the same SHA-256 are not sent again);
//! 5. the run waits until every upload is recorded (the listing, then `status_uri` for the
//!    rest) and names every refused file with the API's reason.

mod local;
mod resume;
mod wait;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use globset::GlobMatcher;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::api::{Api, segment};
use crate::checksum::{Digests, Plan, digest_file};
use crate::failure::Failure;
use crate::pool;
use crate::progress::Progress;
use crate::transfer::{Summary, Sync, plan, put_range, recorded};
use local::{grant_request, hash_all, local_files};
use resume::{forget, part_pieces, remember, resumable};
use rules::names::normalize;
use wait::wait_recorded;

/// Files a grant call carries (the API's bound).
const GRANTS_PER_CALL: usize = rules::requests::MAX_FILES_PER_REQUEST;
/// Part URLs asked for at once (the API's bound).
const PART_URLS_PER_CALL: usize = rules::requests::MAX_PARTS_PER_PAGE;

pub struct StoreArgs {
    pub bucket: String,
    pub sync: Option<Sync>,
    pub glob: GlobMatcher,
    pub dir: PathBuf,
    pub data: Option<PathBuf>,
    pub parallel: usize,
    pub wait: Duration,
    pub json: bool,
    pub limit_rate: Option<u64>,
}

/// A local file to store.
struct Local {
    name: String,
    path: PathBuf,
    digests: Digests,
    content_type: String,
}

/// One piece of work for the pool: a whole file, or one part of a multipart upload.
enum Piece<'a> {
    Whole {
        file: &'a Local,
        grant: Value,
    },
    Part {
        file: &'a Local,
        number: u64,
        url: Value,
    },
}

/// A file whose bytes went (or are going) up, and the upload to watch.
struct Sent<'a> {
    file: &'a Local,
    status_uri: String,
}

pub fn store(
    api: &Api,
    args: StoreArgs,
    progress_mode: crate::progress::Mode,
) -> Result<(), Failure> {
    let sync = args.sync.unwrap_or(if args.data.is_some() {
        Sync::DataAndFiles
    } else {
        Sync::Files
    });
    let data = match (&args.data, sync.data()) {
        (Some(p), true) => Some(read_json(p)?),
        (None, true) => {
            return Err(Failure::usage(
                "--sync data / data_and_files needs --data FILE (the JSON to merge)",
            ));
        }
        (_, false) => None,
    };
    let plan = plan(api)?;
    let bucket = segment(&args.bucket);
    let mut summary = Summary::default();

    let locals = if sync.files() {
        hash_all(
            &local_files(&args.dir, &args.glob, &mut summary)?,
            &plan,
            args.parallel,
            &mut summary,
        )
    } else {
        Vec::new()
    };
    let known = if locals.is_empty() {
        HashMap::new()
    } else {
        recorded(api, &args.bucket)?
    };
    let mut to_send: Vec<&Local> = Vec::new();
    for l in &locals {
        let same = known.get(&l.name).is_some_and(|(size, sha)| {
            *size == l.digests.size && sha.as_deref() == Some(&l.digests.recorded_form())
        });
        if same {
            summary.keep(&l.name, l.digests.size);
        } else {
            to_send.push(l);
        }
    }

    // Multipart uploads begun by an earlier run, still open: resumed, not granted again.
    let mut resumed: Vec<(&Local, String)> = Vec::new();
    let mut to_grant: Vec<&Local> = Vec::new();
    for l in to_send {
        match resumable(api, &args.bucket, l) {
            Some(uri) => resumed.push((l, uri)),
            None => to_grant.push(l),
        }
    }

    let total: u64 = resumed
        .iter()
        .map(|(l, _)| l.digests.size)
        .chain(to_grant.iter().map(|l| l.digests.size))
        .sum();
    let files_count = resumed.len() + to_grant.len();
    let progress =
        Progress::new(progress_mode, "store", files_count, total).with_rate_limit(args.limit_rate);

    // Grants (and the data document, with the first call).
    let mut grants: Vec<(&Local, Value)> = Vec::new();
    let mut data_left = data;
    let chunks: Vec<&[&Local]> = to_grant.chunks(GRANTS_PER_CALL).collect();
    if chunks.is_empty() && data_left.is_some() {
        let answer = api.send(
            "POST",
            &format!("/v1/buckets/{bucket}/store"),
            &json!({"sync": "data", "data": data_left.take()}),
        )?;
        summary.data = Some(answer.body["data"].clone());
    }
    for chunk in chunks {
        let mut chunk: Vec<&Local> = chunk.to_vec();
        let answer = loop {
            if chunk.is_empty() {
                break json!({});
            }
            let files: Vec<Value> = chunk.iter().map(|l| grant_request(l, &plan)).collect();
            let mut body = json!({"sync": if data_left.is_some() { "data_and_files" } else { "files" }, "files": files});
            if let Some(d) = &data_left {
                body["data"] = d.clone();
            }
            let answer = api.raw(
                "POST",
                &format!("/v1/buckets/{bucket}/store"),
                Some(&body),
                &[],
            )?;
            if (200..300).contains(&answer.status) {
                data_left = None;
                break answer.body;
            }
            // A store is all or nothing: the files the API names are refused with its
            // reason, and the others asked again.
            let named = refused_files(&answer.body, chunk.len());
            if named.is_empty() || !(400..500).contains(&answer.status) {
                return Err(crate::api::api_failure(&answer));
            }
            let mut kept = Vec::new();
            for (i, l) in chunk.into_iter().enumerate() {
                match named.iter().find(|(n, _)| *n == i) {
                    Some((_, why)) => summary.refuse(&l.name, why),
                    None => kept.push(l),
                }
            }
            chunk = kept;
        };
        if chunk.is_empty() {
            continue;
        }
        if answer.get("data").is_some_and(|d| d.is_object())
            && summary.data.is_none()
            && sync.data()
        {
            summary.data = Some(answer["data"].clone());
        }
        let by_name: HashMap<&str, &Value> = answer["files"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|g| Some((g["name"].as_str()?, g)))
            .collect();
        for l in chunk {
            match by_name.get(l.name.as_str()) {
                Some(g) => grants.push((l, (*g).clone())),
                None => summary.refuse(
                    &l.name,
                    "the API gave no grant for it (the glob left it out)",
                ),
            }
        }
    }

    // The pieces: whole files, and the parts of multipart files still missing from S3.
    let mut pieces: Vec<Piece> = Vec::new();
    let mut sent: Vec<Sent> = Vec::new();
    let mut multipart: Vec<Sent> = Vec::new();
    for (l, g) in &grants {
        let status_uri = g["status_uri"].as_str().unwrap_or_default().to_string();
        if g.get("multipart").is_some() {
            remember(&args.bucket, api, l, &status_uri);
            multipart.push(Sent {
                file: l,
                status_uri,
            });
        } else {
            pieces.push(Piece::Whole {
                file: l,
                grant: g.clone(),
            });
            sent.push(Sent {
                file: l,
                status_uri,
            });
        }
    }
    for (l, uri) in &resumed {
        multipart.push(Sent {
            file: l,
            status_uri: uri.clone(),
        });
    }
    for m in &multipart {
        match part_pieces(api, m, &progress) {
            Ok(mut p) => pieces.append(&mut p),
            Err(e) => summary.fail(&m.file.name, &e),
        }
    }

    let outcomes = pool::run(&pieces, args.parallel, |piece| match piece {
        Piece::Whole { file, grant } => {
            let bar = progress.file(&file.name, file.digests.size);
            let up = &grant["upload"];
            put_range(
                api,
                up["url"].as_str().unwrap_or_default(),
                up["headers"].as_object().unwrap_or(&serde_json::Map::new()),
                &file.path,
                0,
                file.digests.size,
                &bar,
                &progress,
            )
            .map_err(|e| (file.name.clone(), e))
        }
        Piece::Part { file, number, url } => {
            let size = url["size"].as_u64().unwrap_or(0);
            let bar = progress.file(&format!("{} part {number}", file.name), size);
            put_range(
                api,
                url["url"].as_str().unwrap_or_default(),
                url["headers"]
                    .as_object()
                    .unwrap_or(&serde_json::Map::new()),
                &file.path,
                (number - 1) * file.digests.part_size,
                size,
                &bar,
                &progress,
            )
            .map_err(|e| (file.name.clone(), e))
        }
    });
    let mut broken: HashMap<String, String> = HashMap::new();
    for o in outcomes {
        if let Err((name, e)) = o {
            broken.entry(name).or_insert(e);
        }
    }
    let already_failed: Vec<String> = summary
        .failed
        .iter()
        .filter_map(|f| f["name"].as_str().map(str::to_string))
        .collect();
    for m in multipart {
        if broken.contains_key(&m.file.name) || already_failed.contains(&m.file.name) {
            continue;
        }
        let complete = format!("{}/complete", m.status_uri);
        match api.send(
            "POST",
            &complete,
            &json!({"sha256": m.file.digests.recorded_form()}),
        ) {
            Ok(_) => sent.push(m),
            Err(e) => {
                broken.insert(m.file.name.clone(), e.message);
            }
        }
    }
    sent.retain(|s| match broken.get(&s.file.name) {
        Some(e) => {
            summary.fail(&s.file.name, e);
            false
        }
        None => true,
    });

    wait_recorded(
        api,
        &args.bucket,
        sent,
        args.wait,
        &progress,
        files_count,
        &mut summary,
    )?;
    progress.finish();
    summary.report("store", args.json, &progress)
}

fn read_json(path: &Path) -> Result<Value, Failure> {
    let bytes = if path.as_os_str() == "-" {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut b)
            .map_err(|e| Failure::io("stdin", e))?;
        b
    } else {
        std::fs::read(path).map_err(|e| Failure::io(&path.display().to_string(), e))?
    };
    let v: Value = serde_json::from_slice(&bytes)
        .map_err(|e| Failure::usage(format!("{}: not JSON: {e}", path.display())))?;
    if !v.is_object() {
        return Err(Failure::usage(format!(
            "{}: the data must be a JSON object",
            path.display()
        )));
    }
    Ok(v)
}

/// The files an error envelope names (`details[].name` = `files[i]…`), with the reason.
fn refused_files(envelope: &Value, count: usize) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for d in envelope["details"].as_array().into_iter().flatten() {
        let name = d["name"].as_str().unwrap_or("");
        let Some(rest) = name.strip_prefix("files[") else {
            continue;
        };
        let Some(i) = rest.split(']').next().and_then(|n| n.parse::<usize>().ok()) else {
            continue;
        };
        if i < count {
            let why = d["description"]
                .as_str()
                .or(envelope["message"].as_str())
                .unwrap_or("refused");
            out.push((i, format!("{name} {why}")));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn the_envelope_names_the_refused_files() {
        let env = json!({"code": 400, "message": "files[1].content_type in body: not accepted",
            "details": [{"location": "body", "name": "files[1].content_type", "description": "is not accepted"}]});
        assert_eq!(
            super::refused_files(&env, 3),
            vec![(1, "files[1].content_type is not accepted".to_string())]
        );
        assert!(super::refused_files(&json!({"details": [{"name": "files"}]}), 3).is_empty());
    }
}
