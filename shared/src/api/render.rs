//! Representations more than one route answers: upload grants (POST …/files and store) and
//! downloads (a file, a permalink).

use serde_json::{Value, json};

use crate::domain::files::FileRecord;
use crate::service::files::{Download, IssuedGrant};

use super::request::Request;
use super::response::Response;

/// The grants of a POST .../files or a store, as the client reads them.
pub fn render_grants(req: &Request, bucket_id: &str, grants: &[IssuedGrant]) -> Vec<Value> {
    grants
        .iter()
        .map(|issued| {
            let g = &issued.grant;
            let headers: serde_json::Map<String, Value> = issued
                .upload
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect();
            json!({
                "name": g.name,
                "original_name": issued.original_name,
                "size": g.size,
                "content_type": g.content_type,
                "upload_id": g.upload_id,
                "status_uri": format!("{}/v1/buckets/{bucket_id}/uploads/{}", req.base_path(), g.upload_id),
                "upload": {
                    "url": issued.upload.url,
                    "method": issued.upload.method,
                    "headers": headers,
                    "expires_at": g.expires_at,
                },
            })
        })
        .collect()
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
    } else {
        Response::redirect(302, download.url).with_header("Cache-Control", "no-store")
    }
}
