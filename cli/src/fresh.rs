//! Files and directories a command makes beside other people's (a download's partial file and
//! work directory, the config file's temporary copy): always new, never one found there (left
//! over, or planted by another user of a shared directory), never reached through a symlink.

use std::fs::File;
use std::io;
use std::path::Path;

/// `path` made anew: what is there is removed first (a symlink itself, not what it points
/// to), then the file is created exclusively (`O_EXCL`: a file or link put back meanwhile
/// fails the call). `mode` on Unix, less the umask (`0o666` as usual, `0o600` for secrets).
pub fn file(path: &Path, mode: u32) -> io::Result<File> {
    let _ = std::fs::remove_file(path);
    let mut options = File::options();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    options.open(path)
}

/// A new directory in `parent`, `<prefix>` and a random name, only its owner's (0700), removed
/// with what it holds when dropped.
pub fn dir(parent: &Path, prefix: &str) -> io::Result<tempfile::TempDir> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(prefix);
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700));
    builder.tempdir_in(parent)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_file_is_made_anew_never_through_a_planted_link_or_an_old_file() {
        let d = dir(&std::env::temp_dir(), "fresh-test-").unwrap();
        let victim = d.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let planted = d.path().join(".a.csv.buckets-partial");
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        file(&planted, 0o666)
            .unwrap()
            .write_all(b"download")
            .unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert_eq!(std::fs::read_to_string(&planted).unwrap(), "download");
        assert!(!std::fs::symlink_metadata(&planted).unwrap().is_symlink());
        // A stale file (another owner's mode) is replaced: the new one has the mode asked for.
        let secret = d.path().join("config.tmp");
        std::fs::write(&secret, "old").unwrap();
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
        file(&secret, 0o600).unwrap();
        assert_eq!(mode(&secret), 0o600);
        assert_eq!(std::fs::read(&secret).unwrap(), b"");
    }

    #[test]
    fn a_work_directory_is_new_random_and_private() {
        let parent = dir(&std::env::temp_dir(), "fresh-test-").unwrap();
        let (a, b) = (
            dir(parent.path(), ".buckets-cp-").unwrap(),
            dir(parent.path(), ".buckets-cp-").unwrap(),
        );
        assert_ne!(a.path(), b.path());
        assert_eq!(a.path().parent(), Some(parent.path()));
        let name = a.path().file_name().unwrap().to_string_lossy().to_string();
        assert!(
            name.starts_with(".buckets-cp-") && name.len() > 14,
            "{name}"
        );
        assert_eq!(mode(a.path()), 0o700);
        let gone = a.path().to_path_buf();
        drop(a);
        assert!(!gone.exists());
    }
}
