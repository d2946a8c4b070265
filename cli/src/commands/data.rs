//! `buckets data`: a bucket's data document (get, put, patch).

use super::*;

#[derive(Subcommand)]
pub enum DataOp {
    /// Print the document (`--revision N`: a kept older one).
    Get {
        bucket: String,
        #[arg(long)]
        revision: Option<u64>,
    },
    /// Replace the document with a JSON file (`-`: stdin).
    Put {
        bucket: String,
        file: PathBuf,
        /// Only if the document is still at this revision (its ETag).
        #[arg(long)]
        if_match: Option<String>,
    },
    /// Merge a JSON file into the document (top-level keys; `--merge-patch` for RFC 7396).
    Patch {
        bucket: String,
        file: PathBuf,
        #[arg(long)]
        if_match: Option<String>,
        #[arg(long)]
        merge_patch: bool,
    },
}

pub(super) fn data(api: &Api, op: DataOp, out: &Out) -> Result<(), Failure> {
    match op {
        DataOp::Get { bucket, revision } => {
            let mut path = format!("/v1/buckets/{}/data", segment(&bucket));
            if let Some(r) = revision {
                path.push_str(&format!("?revision={r}"));
            }
            let a = api.get(&path)?;
            if !out.json {
                eprintln!("revision {}", a.etag.as_deref().unwrap_or("?"));
            }
            out.show(&a.body["data"]);
        }
        DataOp::Put {
            bucket,
            file,
            if_match,
        } => {
            let doc = read_json(&file)?;
            let tag = if_match.as_deref().map(quoted);
            let headers: Vec<(&str, &str)> = tag.iter().map(|t| ("if-match", t.as_str())).collect();
            let a = api.call(
                "PUT",
                &format!("/v1/buckets/{}/data", segment(&bucket)),
                Some(&json!({ "data": doc })),
                &headers,
            )?;
            out.print(
                &a.body,
                &format!("saved, revision {}", a.etag.as_deref().unwrap_or("?")),
            );
        }
        DataOp::Patch {
            bucket,
            file,
            if_match,
            merge_patch,
        } => {
            let doc = read_json(&file)?;
            let tag = if_match.as_deref().map(quoted);
            let mut headers: Vec<(&str, &str)> =
                tag.iter().map(|t| ("if-match", t.as_str())).collect();
            let body = if merge_patch {
                headers.push(("content-type", "application/merge-patch+json"));
                json!({ "data": doc })
            } else {
                json!({ "data": doc })
            };
            let a = api.call(
                "PATCH",
                &format!("/v1/buckets/{}/data", segment(&bucket)),
                Some(&body),
                &headers,
            )?;
            out.print(
                &a.body,
                &format!("saved, revision {}", a.etag.as_deref().unwrap_or("?")),
            );
        }
    }
    Ok(())
}
