//! `buckets fetch`: a bucket's data and files into a job's directory (xyOps's Fetch action).
//! One `POST …/fetch` answers the data and a presigned URL (and the recorded SHA-256) of every
//! matching file; files already present with the same checksum are skipped, the others are
//! downloaded on `--parallel` threads, each verified before it takes its name.

use crate::output::words::count;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::api::{Api, segment};
use crate::checksum::{Plan, digest_file};
use crate::failure::Failure;
use crate::pool;
use crate::progress::{Mode, Progress};
use crate::transfer::{Summary, Sync, download, download_parts, plan};

pub struct FetchArgs {
    pub bucket: String,
    pub sync: Sync,
    pub glob: String,
    pub dir: Option<PathBuf>,
    /// Where the data goes: a file, `-` for stdout; default `<dir>/data.json`, or stdout
    /// without `--dir`.
    pub data_out: Option<PathBuf>,
    pub parallel: usize,
    pub json: bool,
    pub limit_rate: Option<u64>,
}

pub fn fetch(api: &Api, args: FetchArgs, mode: Mode) -> Result<(), Failure> {
    let plan = plan(api)?;
    let answer = api
        .send(
            "POST",
            &format!("/v1/buckets/{}/fetch", segment(&args.bucket)),
            &json!({"sync": args.sync.as_str(), "glob": args.glob}),
        )?
        .body;
    let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    if args.sync.files() {
        std::fs::create_dir_all(&dir).map_err(|e| Failure::io(&dir.display().to_string(), e))?;
    }
    let mut summary = Summary::default();
    if args.sync.data() {
        write_data(&answer["data"], &args, &dir)?;
        if args.json {
            summary.data = Some(answer["data"].clone());
        }
    }
    let files: Vec<Value> = answer["files"].as_array().cloned().unwrap_or_default();
    // Present already with the same bytes: skipped (the hashing is the cost of a re-run).
    let present = pool::run(&files, args.parallel, |f| same_as_local(f, &dir, &plan));
    let mut todo: Vec<Value> = Vec::new();
    for (f, same) in files.iter().zip(present) {
        if same {
            summary.keep(
                f["name"].as_str().unwrap_or_default(),
                f["size"].as_u64().unwrap_or(0),
            );
        } else {
            todo.push(f.clone());
        }
    }
    let total: u64 = todo.iter().filter_map(|f| f["size"].as_u64()).sum();
    let progress = Progress::new(mode, "fetch", todo.len(), total).with_rate_limit(args.limit_rate);
    let done = std::sync::atomic::AtomicUsize::new(0);
    // A multipart file comes by its parts on all the threads at once; other files each on
    // one thread, `--parallel` of them at a time.
    let in_parts = |f: &Value| {
        let size = f["size"].as_u64().unwrap_or(0);
        f["sha256"].as_str().is_some_and(|s| s.contains('-')) && size > plan.part_size_for(size)
    };
    todo.sort_by_key(|f| in_parts(f));
    let one = |f: &Value, parts_at_once: usize| {
        let name = f["name"].as_str().unwrap_or_default();
        let size = f["size"].as_u64().unwrap_or(0);
        let dest = match safe_dest(&dir, name) {
            Some(d) => d,
            None => return Err(format!("{name:?} is not a plain file name")),
        };
        let bar = progress.file(name, size);
        let url = f["url"].as_str().unwrap_or_default();
        match f["sha256"].as_str() {
            Some(sha) if in_parts(f) => download_parts(
                api,
                url,
                &dest,
                size,
                sha,
                plan.part_size_for(size),
                parts_at_once,
                &bar,
                &progress,
            ),
            sha => download(api, url, &dest, size, sha, &plan, &bar, &progress),
        }?;
        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        progress.done(
            &format!("fetched {name} ({})", count(size, "byte")),
            n,
            todo.len(),
        );
        Ok(())
    };
    let whole = todo.iter().take_while(|f| !in_parts(f)).count();
    let mut results = pool::run(&todo[..whole], args.parallel, |f| one(f, 1));
    for f in &todo[whole..] {
        results.push(one(f, args.parallel));
    }
    for (f, r) in todo.iter().zip(results) {
        let name = f["name"].as_str().unwrap_or_default();
        match r {
            Ok(()) => summary.moved.push(json!({"name": name, "size": f["size"]})),
            Err(e) => summary.fail(name, &e),
        }
    }
    progress.finish();
    summary.report("fetch", args.json, &progress)
}

fn write_data(data: &Value, args: &FetchArgs, dir: &Path) -> Result<(), Failure> {
    let pretty = crate::output::safe::json(data, true) + "\n";
    let target = match (&args.data_out, &args.dir) {
        (Some(p), _) if p.as_os_str() == "-" => None,
        (Some(p), _) => Some(p.clone()),
        (None, Some(_)) => Some(dir.join("data.json")),
        (None, None) => None,
    };
    match target {
        None if !args.json => {
            print!("{pretty}");
            Ok(())
        }
        None => Ok(()),
        Some(p) => std::fs::write(&p, pretty).map_err(|e| Failure::io(&p.display().to_string(), e)),
    }
}

/// The API's names are normalized (no `/`, no `..`): anything else is refused, never written
/// outside the directory.
pub fn safe_dest(dir: &Path, name: &str) -> Option<PathBuf> {
    let plain = !name.is_empty()
        && !name.contains(['/', '\\'])
        && name != "."
        && name != ".."
        && !name.starts_with('.');
    plain.then(|| dir.join(name))
}

fn same_as_local(f: &Value, dir: &Path, plan: &Plan) -> bool {
    let (Some(name), Some(size), Some(sha)) =
        (f["name"].as_str(), f["size"].as_u64(), f["sha256"].as_str())
    else {
        return false;
    };
    let Some(path) = safe_dest(dir, name) else {
        return false;
    };
    if std::fs::metadata(&path).map(|m| m.len()).ok() != Some(size) {
        return false;
    }
    digest_file(&path, plan, crate::pool::cores())
        .is_ok_and(|d| d.recorded_form() == crate::checksum::canonical(sha))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_never_leave_the_directory() {
        let d = Path::new("/tmp/x");
        assert!(safe_dest(d, "../etc").is_none());
        assert!(safe_dest(d, "a/b").is_none());
        assert!(safe_dest(d, ".hidden").is_none());
        assert_eq!(safe_dest(d, "a.csv"), Some(PathBuf::from("/tmp/x/a.csv")));
    }
}
