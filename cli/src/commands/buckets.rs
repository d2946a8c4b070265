//! `buckets ls`, `create`, `edit`, `rm`, `empty`: buckets themselves.

use super::*;
use crate::args::Access;
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

/// Changes `data`'s attributes and the readers and writers `access` names, in one JSON Patch.
pub(super) fn edit(
    api: &Api,
    bucket: &str,
    data: &Value,
    access: &Access,
    out: &Out,
) -> Result<(), Failure> {
    let ops = edit_ops(data, access);
    if ops.is_empty() {
        return Err(Failure::usage(
            "edit: nothing to change (give --title, --notes, --active, --add-reader, \
             --remove-writer …)",
        ));
    }
    let a = api
        .call(
            "PATCH",
            &bucket_path(bucket),
            Some(&Value::Array(ops)),
            &[("content-type", "application/json-patch+json")],
        )?
        .body;
    out.print(&a, &format!("{bucket} updated"));
    Ok(())
}

/// The edit as JSON Patch operations over `{data, permissions}` (docs/api.md: a principal is
/// `/permissions/read/<principal>`), applied by the API at once to the lists as they are then.
fn edit_ops(data: &Value, access: &Access) -> Vec<Value> {
    let add = |path: String, value: &Value| json!({"op": "add", "path": path, "value": value});
    let mut ops: Vec<Value> = data
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| add(format!("/data/{}", segment_of(k)), v))
        .collect();
    let lists = [
        ("read", &access.add_reader, &access.remove_reader),
        ("write", &access.add_writer, &access.remove_writer),
    ];
    for (list, added, removed) in lists {
        let at = |p: &str| format!("/permissions/{list}/{}", segment_of(p));
        ops.extend(added.iter().map(|p| add(at(p), &json!(true))));
        // A `remove` needs its principal there (RFC 6902): added first, taking off one who is
        // not in the list is no error.
        for p in removed {
            ops.push(add(at(p), &json!(true)));
            ops.push(json!({"op": "remove", "path": at(p)}));
        }
    }
    ops
}

/// A JSON Pointer segment (RFC 6901): `~` as `~0`, `/` as `~1`.
fn segment_of(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

pub(super) fn rm(api: &Api, bucket: &str, yes: bool, out: &Out) -> Result<(), Failure> {
    if !yes {
        return Err(Failure::usage(format!(
            "deleting {bucket} deletes its data, files, webhooks and SFTP users: add --yes"
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Credential;

    #[test]
    fn an_edit_is_one_json_patch_that_adds_and_removes_principals() {
        let access = Access {
            add_reader: vec!["user:bob".into()],
            remove_reader: vec!["system.Everyone".into()],
            remove_writer: vec!["key:a/b~c".into()],
            ..Access::default()
        };
        let ops = edit_ops(&json!({"title": "Reports"}), &access);
        assert_eq!(
            Value::Array(ops),
            json!([
                {"op": "add", "path": "/data/title", "value": "Reports"},
                {"op": "add", "path": "/permissions/read/user:bob", "value": true},
                {"op": "add", "path": "/permissions/read/system.Everyone", "value": true},
                {"op": "remove", "path": "/permissions/read/system.Everyone"},
                {"op": "add", "path": "/permissions/write/key:a~1b~0c", "value": true},
                {"op": "remove", "path": "/permissions/write/key:a~1b~0c"},
            ])
        );
        assert!(edit_ops(&json!({}), &Access::default()).is_empty());
    }

    #[test]
    fn rm_without_yes_names_everything_that_goes_with_the_bucket() {
        let api = Api::new("https://api.example.com", Credential::None);
        let refused = rm(&api, "reports", false, &Out::with_terminal(None, false)).unwrap_err();
        assert_eq!(refused.exit, crate::failure::Exit::Usage);
        for what in ["data", "files", "webhooks", "SFTP users", "--yes"] {
            assert!(
                refused.message.contains(what),
                "{what}: {}",
                refused.message
            );
        }
    }
}
