//! `buckets data`: a bucket's data document (get, put, patch).

use super::*;

#[derive(Subcommand)]
pub enum DataOp {
    /// Print the document (its revision on stderr).
    #[command(
        after_help = "Examples:\n  buckets data get reports\n  buckets data get reports --revision 3 > old.json"
    )]
    Get {
        /// The bucket's id.
        bucket: String,
        /// A kept older revision instead of the current one.
        #[arg(long, value_name = "N")]
        revision: Option<u64>,
    },
    /// Replace the document with a JSON file.
    #[command(
        after_help = "Examples:\n  buckets data put reports doc.json\n  echo '{\"rows\": 2}' | buckets data put reports - --if-match 7"
    )]
    Put {
        /// The bucket's id.
        bucket: String,
        /// The JSON object to store (`-`: stdin).
        file: PathBuf,
        /// Only if the document is still at this revision (its ETag); else exit 5.
        #[arg(long, value_name = "REVISION")]
        if_match: Option<String>,
    },
    /// Merge a JSON file into the document (its top-level keys replace the document's).
    #[command(
        after_help = "Examples:\n  buckets data patch reports changes.json\n  echo '{\"old\": null}' | buckets data patch reports - --merge-patch"
    )]
    Patch {
        /// The bucket's id.
        bucket: String,
        /// The JSON object to merge (`-`: stdin).
        file: PathBuf,
        /// Only if the document is still at this revision (its ETag); else exit 5.
        #[arg(long, value_name = "REVISION")]
        if_match: Option<String>,
        /// Merge as RFC 7396 JSON Merge Patch (nested objects merged, `null` removes a key).
        #[arg(long)]
        merge_patch: bool,
    },
}

pub(super) fn data(api: &Api, op: DataOp, out: &Out) -> Result<(), Failure> {
    match op {
        DataOp::Get { bucket, revision } => {
            let mut path = data_path(&bucket);
            if let Some(r) = revision {
                path.push_str(&format!("?revision={r}"));
            }
            let a = api.get(&path)?;
            if !out.json() {
                eprintln!("revision {}", a.etag.as_deref().unwrap_or("?"));
            }
            out.document(&a.body["data"]);
            Ok(())
        }
        DataOp::Put {
            bucket,
            file,
            if_match,
        } => save(api, "PUT", &bucket, &file, if_match, None, out),
        DataOp::Patch {
            bucket,
            file,
            if_match,
            merge_patch,
        } => {
            let merge = merge_patch.then_some("application/merge-patch+json");
            save(api, "PATCH", &bucket, &file, if_match, merge, out)
        }
    }
}

fn data_path(bucket: &str) -> String {
    format!("{}/data", bucket_path(bucket))
}

/// A PUT or PATCH of the document in `file`, `--if-match` and the content type as given.
fn save(
    api: &Api,
    method: &str,
    bucket: &str,
    file: &Path,
    if_match: Option<String>,
    content_type: Option<&str>,
    out: &Out,
) -> Result<(), Failure> {
    let doc = read_json(file)?;
    let tag = if_match.as_deref().map(quoted);
    let mut headers: Vec<(&str, &str)> = tag.iter().map(|t| ("if-match", t.as_str())).collect();
    headers.extend(content_type.map(|t| ("content-type", t)));
    let a = api.call(
        method,
        &data_path(bucket),
        Some(&json!({ "data": doc })),
        &headers,
    )?;
    let revision = a.etag.as_deref().unwrap_or("?");
    out.print(&a.body, &format!("saved, revision {revision}"));
    Ok(())
}
