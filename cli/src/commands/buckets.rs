//! `buckets ls`, `create`, `edit`, `rm`, `empty`: buckets themselves.

use super::*;
use crate::output::words::count;

const COLUMNS: [Col; 4] = [
    col("ID", "/id"),
    col("TITLE", "/title"),
    col("ACTIVE", "/active").table_only(),
    col("MODIFIED", "/last_modified").time().table_only(),
];

pub(super) fn ls(api: &Api, limit: usize, out: &Out) -> Result<(), Failure> {
    let items = pages(api, "/v1/buckets", limit, false)?;
    out.list(&items, &COLUMNS, "bucket");
    Ok(())
}

pub(super) fn create(
    api: &Api,
    id: Option<String>,
    mut data: Value,
    out: &Out,
) -> Result<(), Failure> {
    if let Some(id) = id {
        data["id"] = json!(id);
    }
    let a = api
        .send("POST", "/v1/buckets", &json!({ "data": data }))?
        .body;
    out.print(&a, a["data"]["id"].as_str().unwrap_or(""));
    Ok(())
}

/// Changes `data`'s attributes and adds `[readers, writers]` to the current lists (a PATCH's
/// permissions replace a list).
pub(super) fn edit(
    api: &Api,
    bucket: &str,
    data: Value,
    add: [Vec<String>; 2],
    out: &Out,
) -> Result<(), Failure> {
    let mut body = json!({ "data": data });
    if add.iter().any(|a| !a.is_empty()) {
        let now = api.get(&bucket_path(bucket))?.body;
        let mut lists = now["permissions"].clone();
        for (list, more) in ["read", "write"].into_iter().zip(&add) {
            let mut cur: Vec<Value> = lists[list].as_array().cloned().unwrap_or_default();
            for p in more {
                if !cur.contains(&json!(p)) {
                    cur.push(json!(p));
                }
            }
            lists[list] = Value::Array(cur);
        }
        body["permissions"] = lists;
    }
    let a = api.send("PATCH", &bucket_path(bucket), &body)?.body;
    out.print(&a, &format!("{bucket} updated"));
    Ok(())
}

pub(super) fn rm(api: &Api, bucket: &str, yes: bool, out: &Out) -> Result<(), Failure> {
    if !yes {
        return Err(Failure::usage(format!(
            "deleting {bucket} deletes its data, files and users: add --yes"
        )));
    }
    let a = api.call("DELETE", &bucket_path(bucket), None, &[])?.body;
    out.print(&a, &format!("{bucket} deleted"));
    Ok(())
}

pub(super) fn empty(
    api: &Api,
    bucket: &str,
    files: bool,
    data: bool,
    out: &Out,
) -> Result<(), Failure> {
    if !files && !data {
        return Err(Failure::usage("say what to empty: --files, --data or both"));
    }
    let a = api
        .send(
            "POST",
            &format!("{}/empty", bucket_path(bucket)),
            &json!({"files": files, "data": data}),
        )?
        .body;
    let deleted = a["data"]["files_deleted"].as_u64().unwrap_or(0);
    let cleared = if a["data"]["data_cleared"].as_bool() == Some(true) {
        "data cleared"
    } else {
        "data kept"
    };
    out.print(
        &a,
        &format!("{} deleted, {cleared}", count(deleted, "file")),
    );
    Ok(())
}
