//! Representations more than one route answers: upload grants (POST …/files and store) and
//! downloads (a file, a permalink).

use serde_json::{Value, json};

use crate::domain::files::FileRecord;
use crate::service::files::{Download, IssuedGrant, UploadStatus};

use super::request::Request;
use super::response::Response;

/// The grants of a POST .../files or a store, as the client reads them.
pub fn render_grants(req: &Request, bucket_id: &str, grants: &[IssuedGrant]) -> Vec<Value> {
    grants
        .iter()
        .map(|issued| {
            let g = &issued.grant;
            let status_uri = format!(
                "{}/v1/buckets/{bucket_id}/uploads/{}",
                req.base_path(),
                g.upload_id
            );
            let mut v = json!({
                "name": g.name,
                "original_name": issued.original_name,
                "size": g.size,
                "content_type": g.content_type,
                "upload_id": g.upload_id,
                "status_uri": status_uri,
            });
            if let Some(upload) = &issued.upload {
                v["upload"] = json!({
                    "url": upload.url,
                    "method": upload.method,
                    "headers": headers_json(&upload.headers),
                    "expires_at": g.expires_at,
                });
            }
            if let Some(mp) = &g.multipart {
                // Part URLs are signed with each part's SHA-256, which only the client knows:
                // AWS refuses an unsigned part of a SHA-256 multipart upload, so the first page
                // is empty and every URL comes from `parts_uri` (the shape keeps `parts` and
                // `next_part` for a page handed out here).
                v["multipart"] = json!({
                    "part_size": mp.plan.part_size,
                    "part_count": mp.plan.part_count,
                    "parts": [],
                    "next_part": 1,
                    "parts_uri": format!("{status_uri}/parts"),
                    "complete_uri": format!("{status_uri}/complete"),
                    "expires_at": g.expires_at,
                });
            }
            v
        })
        .collect()
}

/// Presigned headers as a JSON object.
pub fn headers_json(headers: &[(String, String)]) -> Value {
    Value::Object(headers.iter().map(|(k, v)| (k.clone(), json!(v))).collect())
}

/// A file record as clients read it: the record, and its `permalink` as an absolute URL
/// (`path` is xyOps's relative form, which is not a URL for this API).
pub fn render_file(req: &Request, bucket_id: &str, file: &FileRecord) -> Value {
    let mut v = file.to_json(bucket_id);
    v["permalink"] = json!(format!("{}/{}", req.base_url, file.path(bucket_id)));
    v
}

fn wants_json(req: &Request) -> bool {
    req.query_param("json").is_some()
        || req
            .header("accept")
            .ok()
            .flatten()
            .is_some_and(|a| a.contains("application/json"))
}

/// A download: a 302 to the presigned URL, or the URL as JSON (`?json` or `Accept`).
pub fn render_download(req: &Request, download: Download) -> Response {
    if wants_json(req) {
        Response::json(
            200,
            json!({"url": download.url, "expires_at": download.expires_at}),
        )
        .with_header("Cache-Control", "no-store")
    } else {
        Response::redirect(302, download.url).with_header("Cache-Control", "no-store")
    }
}

/// An upload's status as `GET …/uploads/{upload_id}` answers it.
pub fn render_status(req: &Request, id: &str, upload_id: &str, status: UploadStatus) -> Value {
    match status {
        UploadStatus::Rejected(r) => {
            json!({"upload_id": upload_id, "status": "rejected", "name": r.name, "reason": r.reason, "at": r.at})
        }
        UploadStatus::Recorded(g, f) => {
            json!({"upload_id": upload_id, "status": "recorded", "name": g.name, "file": render_file(req, id, &f)})
        }
        UploadStatus::Replaced(g) => {
            json!({"upload_id": upload_id, "status": "replaced", "name": g.name})
        }
        UploadStatus::Deleted(g) => {
            json!({"upload_id": upload_id, "status": "deleted", "name": g.name})
        }
        UploadStatus::Expired(g) => {
            json!({"upload_id": upload_id, "status": "expired", "name": g.name, "expires_at": g.expires_at})
        }
        UploadStatus::Pending(g) => {
            json!({"upload_id": upload_id, "status": "pending", "name": g.name, "expires_at": g.expires_at})
        }
    }
}
