//! `buckets files`, `rm-file`, `versions`, `restore`: a bucket's files.

use super::*;

pub(super) fn list(api: &Api, bucket: &str, glob: &str, out: &Out) -> Result<(), Failure> {
    crate::glob(glob)?;
    let items = api.all_pages(
        &format!(
            "{}/files?_limit=1000&glob={}",
            bucket_path(bucket),
            segment(glob)
        ),
        usize::MAX,
    )?;
    const COLUMNS: [Col; 5] = [
        col("NAME", "/name"),
        col("SIZE", "/size").bytes(),
        col("TYPE", "/content_type"),
        col("UPLOADED BY", "/uploaded_by"),
        col("MODIFIED", "/last_modified").time().table_only(),
    ];
    out.list(&items, &COLUMNS, "file");
    Ok(())
}

fn file_path(bucket: &str, name: &str) -> String {
    format!("{}/files/{}", bucket_path(bucket), segment(name))
}

pub(super) fn rm(api: &Api, bucket: &str, name: &str, out: &Out) -> Result<(), Failure> {
    let a = api
        .call("DELETE", &file_path(bucket, name), None, &[])?
        .body;
    out.print(&a, &format!("{name} deleted"));
    Ok(())
}

pub(super) fn versions(api: &Api, bucket: &str, name: &str, out: &Out) -> Result<(), Failure> {
    let items = api.all_pages(&format!("{}/versions", file_path(bucket, name)), usize::MAX)?;
    const COLUMNS: [Col; 4] = [
        col("VERSION", "/version_id"),
        col("SIZE", "/size").bytes(),
        col("REPLACED", "/replaced").time(),
        col("SHA-256", "/sha256").table_only(),
    ];
    out.list(&items, &COLUMNS, "version");
    Ok(())
}

pub(super) fn restore(
    api: &Api,
    bucket: &str,
    name: &str,
    version: &str,
    out: &Out,
) -> Result<(), Failure> {
    let path = format!(
        "{}/versions/{}/restore",
        file_path(bucket, name),
        segment(version)
    );
    let a = api.send("POST", &path, &json!({}))?.body;
    out.print(&a, &format!("{name} restored"));
    Ok(())
}
