//! `buckets cp`: one file between a bucket and the disk (`fetch` or `store` of one name).

use std::time::Duration;

use super::*;
use crate::failure::Exit;
use crate::progress::Mode;
use crate::transfer::Sync;
use crate::{fetch, store};

/// `cp LOCAL BUCKET:[name]` uploads (through `store`, so with its checksum, multipart and
/// waiting); `cp BUCKET:name LOCAL` downloads (through `fetch`, verified).
pub fn cp(
    api: &Api,
    from: &str,
    to: &str,
    out: &Out,
    mode: Mode,
    limit_rate: Option<u64>,
) -> Result<(), Failure> {
    let remote = |s: &str| -> Option<(String, String)> {
        let (b, n) = s.split_once(':')?;
        (!b.is_empty() && !b.contains('/')).then(|| (b.to_string(), n.to_string()))
    };
    if let Some((bucket, name)) = remote(from) {
        if name.is_empty() {
            return Err(Failure::usage("cp BUCKET:NAME LOCAL: name the file"));
        }
        let dest = PathBuf::from(to);
        let into_dir = to.ends_with('/') || dest.is_dir();
        let dir = if into_dir {
            dest.clone()
        } else {
            dest.parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from("."))
        };
        // A download to another name goes through a directory of its own beside it: a file of
        // the bucket's name already there is neither moved nor overwritten.
        let work = if into_dir {
            dir.clone()
        } else {
            dir.join(format!(".buckets-cp-{}", std::process::id()))
        };
        let fetched = fetch::fetch(
            api,
            fetch::FetchArgs {
                bucket: bucket.clone(),
                sync: Sync::Files,
                glob: globset::escape(&name),
                dir: Some(work.clone()),
                data_out: None,
                parallel: 1,
                json: out.json(),
                limit_rate,
            },
            mode,
        );
        let got = work.join(rules::names::normalize(&name));
        let placed = fetched.and_then(|()| match (got.is_file(), into_dir) {
            (false, _) => Err(Failure::new(
                Exit::NotFound,
                format!("{bucket} has no file {name:?}"),
            )),
            (true, true) => Ok(()),
            (true, false) => std::fs::rename(&got, &dest)
                .map_err(|e| Failure::io(&dest.display().to_string(), e)),
        });
        if !into_dir {
            let _ = std::fs::remove_dir_all(&work);
        }
        return placed;
    }
    let Some((bucket, name)) = remote(to) else {
        return Err(Failure::usage(
            "cp: one side is BUCKET:NAME (cp ./a.csv reports: or cp reports:a.csv ./a.csv)",
        ));
    };
    let path = PathBuf::from(from);
    let file_name = path
        .file_name()
        .ok_or_else(|| Failure::usage(format!("{from}: not a file")))?
        .to_string_lossy()
        .to_string();
    if !name.is_empty() && rules::names::normalize(&name) != rules::names::normalize(&file_name) {
        return Err(Failure::usage(
            "cp: the bucket's file takes the local file's name (rename it locally first)",
        ));
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    store::store(
        api,
        store::StoreArgs {
            bucket,
            sync: Some(Sync::Files),
            glob: crate::glob(&globset::escape(&file_name))?,
            dir,
            data: None,
            parallel: 8,
            wait: Duration::from_secs(300),
            json: out.json(),
            limit_rate,
        },
        mode,
    )
}
