//! The directory's side: the local files that match, hashed; what a grant asks for each.

use super::*;

/// The directory's files that match, by normalized name; two files with one normalized name
/// are both refused (one would silently replace the other).
pub(super) fn local_files(
    dir: &Path,
    glob: &GlobMatcher,
    summary: &mut Summary,
) -> Result<Vec<(String, PathBuf)>, Failure> {
    let entries = std::fs::read_dir(dir).map_err(|e| Failure::io(&dir.display().to_string(), e))?;
    let mut by_name: HashMap<String, Vec<PathBuf>> = HashMap::new();
    for e in entries.flatten() {
        let file_name = e.file_name().to_string_lossy().to_string();
        if file_name.starts_with('.') || !e.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let name = normalize(&file_name);
        if glob.is_match(&name) || glob.is_match(&file_name) {
            by_name.entry(name).or_default().push(e.path());
        }
    }
    let mut out = Vec::new();
    for (name, paths) in by_name {
        if paths.len() > 1 {
            for p in &paths {
                summary.refuse(
                    &p.display().to_string(),
                    &format!("several files normalize to {name}"),
                );
            }
        } else {
            out.push((name, paths.into_iter().next().unwrap()));
        }
    }
    out.sort();
    Ok(out)
}

pub(super) fn hash_all(
    files: &[(String, PathBuf)],
    plan: &Plan,
    parallel: usize,
    summary: &mut Summary,
) -> Vec<Local> {
    let hashed = pool::run(files, parallel, |(name, path)| {
        digest_file(path, plan, crate::pool::cores()).map(|digests| Local {
            name: name.clone(),
            path: path.clone(),
            content_type: mime_guess::from_path(path)
                .first_or_octet_stream()
                .essence_str()
                .to_string(),
            digests,
        })
    });
    let mut out = Vec::new();
    for ((name, _), h) in files.iter().zip(hashed) {
        match h {
            Ok(l) => out.push(l),
            Err(e) => summary.fail(name, &format!("cannot read: {e}")),
        }
    }
    out
}

/// One file of a grant request: a single PUT is bound to its SHA-256 (multipart parts are
/// bound one by one instead: the API refuses a whole-file digest for them).
pub(super) fn grant_request(l: &Local, plan: &Plan) -> Value {
    let mut f = json!({"name": l.name, "size": l.digests.size, "content_type": l.content_type});
    if !plan.is_multipart(l.digests.size) {
        f["sha256"] = json!(l.digests.whole);
    }
    f
}
