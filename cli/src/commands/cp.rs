//! `buckets cp`: one file between a bucket and the disk (`fetch` or `store` of one name); `-`
//! is stdout for a download and stdin for an upload, as `data put … -` reads stdin.

use std::io::Write;
use std::time::Duration;

use super::*;
use crate::failure::Exit;
use crate::progress::Mode;
use crate::transfer::Sync;
use crate::{fetch, fresh, store};

/// What every copy needs besides its two sides.
pub struct Job<'a> {
    pub api: &'a Api,
    pub out: &'a Out,
    pub mode: Mode,
    pub limit_rate: Option<u64>,
}

/// Where a download goes.
#[derive(Debug, PartialEq)]
enum Dest {
    /// `-`: the verified bytes on stdout, nothing else there.
    Stdout,
    /// An existing directory (or a path ending in `/`): the file keeps its name.
    Into(PathBuf),
    /// A file of another name, made in a directory of its own beside it first.
    Named(PathBuf),
}

fn dest(to: &str) -> Dest {
    let path = PathBuf::from(to);
    if to == "-" {
        Dest::Stdout
    } else if to.ends_with('/') || path.is_dir() {
        Dest::Into(path)
    } else {
        Dest::Named(path)
    }
}

/// `BUCKET:NAME` (NAME may be empty), else `None` (a local path).
fn remote(s: &str) -> Option<(String, String)> {
    let (b, n) = s.split_once(':')?;
    (!b.is_empty() && !b.contains('/')).then(|| (b.to_string(), n.to_string()))
}

/// `cp LOCAL BUCKET:[name]` uploads (through `store`, so with its checksum, multipart and
/// waiting); `cp BUCKET:name LOCAL` downloads (through `fetch`, verified).
pub fn cp(job: &Job, from: &str, to: &str) -> Result<(), Failure> {
    if let Some((bucket, name)) = remote(from) {
        if name.is_empty() {
            return Err(Failure::usage("cp BUCKET:NAME LOCAL: name the file"));
        }
        return download(job, &bucket, &name, dest(to));
    }
    let Some((bucket, name)) = remote(to) else {
        return Err(Failure::usage(
            "cp: one side is BUCKET:NAME (cp ./a.csv reports: or cp reports:a.csv ./a.csv)",
        ));
    };
    if from == "-" {
        return upload_stdin(job, bucket, &name);
    }
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
    upload(job, bucket, &file_name, parent(&path))
}

/// A path's directory (`.` for a bare name).
fn parent(path: &Path) -> PathBuf {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// A new private directory for a copy (`fresh::dir`).
fn work_dir(parent: &Path) -> Result<tempfile::TempDir, Failure> {
    fresh::dir(parent, ".buckets-cp-").map_err(|e| Failure::io(&parent.display().to_string(), e))
}

fn download(job: &Job, bucket: &str, name: &str, to: Dest) -> Result<(), Failure> {
    // Anywhere but into a directory, the file comes through a new private directory (beside
    // its destination, so it is renamed there, not copied): a file of the bucket's name
    // already there is neither moved nor overwritten, and no one else can reach it meanwhile.
    let new = |near: PathBuf| work_dir(&near).map(|w| (w.path().to_path_buf(), Some(w)));
    let (dir, _work) = match &to {
        Dest::Into(d) => (d.clone(), None),
        Dest::Named(path) => new(parent(path))?,
        Dest::Stdout => new(std::env::temp_dir())?,
    };
    fetch::fetch(
        job.api,
        fetch::FetchArgs {
            bucket: bucket.to_string(),
            sync: Sync::Files,
            glob: globset::escape(name),
            dir: Some(dir.clone()),
            data_out: None,
            parallel: 1,
            // On stdout the file's bytes are all there is.
            json: job.out.json() && to != Dest::Stdout,
            limit_rate: job.limit_rate,
        },
        job.mode,
    )?;
    let got = dir.join(rules::names::normalize(name));
    if !got.is_file() {
        return Err(Failure::new(
            Exit::NotFound,
            format!("{bucket} has no file {name:?}"),
        ));
    }
    match to {
        Dest::Into(_) => Ok(()),
        Dest::Named(path) => {
            std::fs::rename(&got, &path).map_err(|e| Failure::io(&path.display().to_string(), e))
        }
        Dest::Stdout => to_stdout(&got),
    }
}

/// The file's bytes on stdout; a closed pipe (`cp b:big.csv - | head`) ends quietly.
fn to_stdout(path: &Path) -> Result<(), Failure> {
    let mut file =
        std::fs::File::open(path).map_err(|e| Failure::io(&path.display().to_string(), e))?;
    let mut stdout = std::io::stdout().lock();
    match std::io::copy(&mut file, &mut stdout).and_then(|_| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Failure::io("stdout", e)),
        _ => Ok(()),
    }
}

/// `cp - BUCKET:NAME`: stdin, kept in a new private directory as NAME, then stored.
fn upload_stdin(job: &Job, bucket: String, name: &str) -> Result<(), Failure> {
    let work = work_dir(&std::env::temp_dir())?;
    let normalized = rules::names::normalize(name);
    let Some(path) = fetch::safe_dest(work.path(), &normalized) else {
        return Err(Failure::usage(
            "cp - BUCKET:NAME: name the file stdin becomes (a plain name: reports:rain.csv)",
        ));
    };
    let mut file = fresh::file(&path, 0o600).map_err(|e| Failure::io("stdin's copy", e))?;
    std::io::copy(&mut std::io::stdin().lock(), &mut file)
        .and_then(|_| file.flush())
        .map_err(|e| Failure::io("stdin", e))?;
    upload(job, bucket, &normalized, work.path().to_path_buf())
}

fn upload(job: &Job, bucket: String, file_name: &str, dir: PathBuf) -> Result<(), Failure> {
    store::store(
        job.api,
        store::StoreArgs {
            bucket,
            sync: Some(Sync::Files),
            glob: crate::glob(&globset::escape(file_name))?,
            dir,
            data: None,
            parallel: 8,
            wait: Duration::from_secs(300),
            json: job.out.json(),
            limit_rate: job.limit_rate,
        },
        job.mode,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Credential;

    #[test]
    fn a_dash_is_stdout_for_a_download_never_a_file_named_dash() {
        assert_eq!(dest("-"), Dest::Stdout);
        assert_eq!(dest("out/"), Dest::Into("out/".into()));
        assert_eq!(dest("./-"), Dest::Named("./-".into()));
        assert_eq!(dest("copy.csv"), Dest::Named("copy.csv".into()));
    }

    #[test]
    fn stdin_needs_a_plain_name_in_the_bucket() {
        let api = Api::new("https://api.example.com", Credential::None);
        let out = Out::with_terminal(None, false);
        let job = Job {
            api: &api,
            out: &out,
            mode: Mode::pick(true, false),
            limit_rate: None,
        };
        for to in ["reports:", "reports:..", "reports:.hidden"] {
            let refused = cp(&job, "-", to).unwrap_err();
            assert_eq!(refused.exit, Exit::Usage, "{to}");
            assert!(
                refused.message.contains("name the file stdin"),
                "{to}: {}",
                refused.message
            );
        }
    }
}
