//! The Buckets routes: `/v1/buckets` and `/v1/buckets/{id}` (Kinto semantics).

use http::Method;
use serde_json::{Map, Value, json};

use crate::api::error::{ApiError, Location};
use crate::domain::access::Identity;
use crate::domain::bucket::{Bucket, clean_attrs};
use crate::domain::ids;
use crate::domain::pagination;
use crate::domain::patch::{self, PatchKind};
use crate::domain::permissions::{PartialPermissions, Permissions};
use crate::domain::preconditions::{Preconditions, ReadOutcome};
use crate::domain::time::{next_timestamp, now_ms};
use crate::ports::{BucketStore, ListScope, StoreError};

use super::app::{App, WRITE_ATTEMPTS, deny, new_bucket};
use super::paging::{next_page_links, page_request};
use super::request::Request;
use super::response::Response;

/// How long one `DELETE /v1/buckets` works before answering with a `Next-Page`.
const DELETE_ALL_BUDGET: std::time::Duration = std::time::Duration::from_secs(20);

/// `/v1/buckets`.
pub async fn collection<S: BucketStore>(app: &App<S>, req: &Request) -> Result<Response, ApiError> {
    let identity = app.identify(req)?;
    match req.method {
        Method::GET => list(app, req, &identity).await,
        Method::POST => create(app, req, &identity).await,
        Method::DELETE => delete_all(app, req, &identity).await,
        ref m => Err(ApiError::method_not_allowed(m.as_str())),
    }
}

/// `/v1/buckets/{id}` (`default` included).
pub async fn record<S: BucketStore>(
    app: &App<S>,
    req: &Request,
    segment: &str,
) -> Result<Response, ApiError> {
    let identity = app.identify(req)?;
    let id = app.resolve_id(segment, &identity)?;
    let pre = Preconditions::parse(req.header("if-match")?, req.header("if-none-match")?)?;
    match req.method {
        Method::GET => {
            if segment == ids::DEFAULT_ALIAS {
                app.ensure_default(&identity).await?;
            }
            get(app, &identity, &id, &pre).await
        }
        Method::PUT => put(app, req, &identity, &id, &pre).await,
        Method::PATCH => {
            if segment == ids::DEFAULT_ALIAS {
                app.ensure_default(&identity).await?;
            }
            patch(app, req, &identity, &id, &pre).await
        }
        Method::DELETE => delete(app, &identity, &id, &pre).await,
        ref m => Err(ApiError::method_not_allowed(m.as_str())),
    }
}

fn with_record_headers(resp: Response, bucket: &Bucket) -> Response {
    resp.with_header("ETag", bucket.etag())
        .with_header("Last-Modified", bucket.last_modified_http())
}

fn ok(status: u16, bucket: &Bucket) -> Response {
    with_record_headers(Response::json(status, bucket.envelope()), bucket)
}

async fn get<S: BucketStore>(
    app: &App<S>,
    identity: &Identity,
    id: &str,
    pre: &Preconditions,
) -> Result<Response, ApiError> {
    let bucket = app.readable_bucket(id, identity).await?;
    match pre.on_read(bucket.last_modified) {
        ReadOutcome::Proceed => Ok(ok(200, &bucket)),
        ReadOutcome::NotModified => Ok(with_record_headers(Response::empty(304), &bucket)),
        ReadOutcome::PreconditionFailed => {
            Err(ApiError::precondition_failed(Some(bucket.envelope())))
        }
    }
}

/// The `data` and `permissions` of a POST or PUT body (both optional).
fn parse_body(body: Option<Value>) -> Result<(Value, PartialPermissions), ApiError> {
    let body = match body {
        None => return Ok((json!({}), PartialPermissions::default())),
        Some(Value::Object(map)) => map,
        Some(_) => {
            return Err(ApiError::invalid(
                Location::Body,
                "body",
                "must be an object with 'data' and/or 'permissions'",
            ));
        }
    };
    let data = body.get("data").cloned().unwrap_or_else(|| json!({}));
    let permissions = match body.get("permissions") {
        None => PartialPermissions::default(),
        Some(p) => Permissions::parse_partial(p)?,
    };
    Ok((data, permissions))
}

/// Whether the caller may create a bucket with this id (the personal bucket needs no
/// privilege; reserved ids belong to their users).
fn check_create<S: BucketStore>(
    app: &App<S>,
    identity: &Identity,
    id: &str,
) -> Result<(), ApiError> {
    if !identity.is_authenticated() {
        return Err(deny(identity));
    }
    if app.is_own_default(id, identity) {
        return Ok(());
    }
    if ids::is_reserved(id) {
        return Err(ApiError::invalid(
            Location::Path,
            "id",
            "is reserved for personal buckets",
        ));
    }
    if !identity.may_create() {
        return Err(ApiError::forbidden(
            "Creating buckets needs the create_buckets privilege.",
        ));
    }
    Ok(())
}

async fn create<S: BucketStore>(
    app: &App<S>,
    req: &Request,
    identity: &Identity,
) -> Result<Response, ApiError> {
    if !identity.is_authenticated() {
        return Err(deny(identity));
    }
    let pre = Preconditions::parse(req.header("if-match")?, req.header("if-none-match")?)?;
    let (data, partial) = parse_body(req.json_body()?)?;
    let given_id = match data.get("id") {
        None => None,
        Some(Value::String(id)) => {
            if let Some(problem) = ids::id_problem(id) {
                return Err(ApiError::invalid(Location::Body, "data.id", problem));
            }
            Some(id.clone())
        }
        Some(_) => {
            return Err(ApiError::invalid(
                Location::Body,
                "data.id",
                "must be a string",
            ));
        }
    };
    let id = given_id.clone().unwrap_or_else(ids::generate_bucket_id);
    let attrs = clean_attrs(&data, &id)?;
    for _ in 0..WRITE_ATTEMPTS {
        // POST with an existing id answers the existing bucket (Kinto), if the caller may read it.
        if given_id.is_some()
            && let Some(existing) = app.store.get(&id).await?
        {
            if !identity.may_read(&existing.permissions) {
                return Err(deny(identity));
            }
            if !pre.allows_write(Some(existing.last_modified)) {
                return Err(ApiError::precondition_failed(Some(existing.envelope())));
            }
            return Ok(ok(200, &existing));
        }
        check_create(app, identity, &id)?;
        if !pre.allows_write(None) {
            return Err(ApiError::precondition_failed(None));
        }
        let owner = identity.user_principal().unwrap_or_default();
        let bucket = new_bucket(
            &id,
            &owner,
            attrs.clone(),
            Permissions::default().overlay(&partial),
            now_ms(),
        );
        match app.store.create(&bucket).await {
            Ok(()) => return Ok(ok(201, &bucket)),
            // A generated id that collided: draw another. A given id: answer what exists now.
            Err(StoreError::Conflict) if given_id.is_none() => {
                return Box::pin(create(app, req, identity)).await;
            }
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(busy())
}

async fn put<S: BucketStore>(
    app: &App<S>,
    req: &Request,
    identity: &Identity,
    id: &str,
    pre: &Preconditions,
) -> Result<Response, ApiError> {
    let (data, partial) = parse_body(req.json_body()?)?;
    let attrs = clean_attrs(&data, id)?;
    for _ in 0..WRITE_ATTEMPTS {
        let existing = app.store.get(id).await?;
        let result = match &existing {
            Some(old) => {
                if !identity.may_write(&old.permissions) {
                    return Err(
                        if identity.may_read(&old.permissions) || !identity.is_authenticated() {
                            deny(identity)
                        } else {
                            ApiError::forbidden("This user cannot access this resource.")
                        },
                    );
                }
                if !pre.allows_write(Some(old.last_modified)) {
                    return Err(ApiError::precondition_failed(Some(old.envelope())));
                }
                // Kinto: a PUT that gives permissions replaces them all (lists it omits become
                // empty); one that gives none keeps them.
                let base = if partial == PartialPermissions::default() {
                    old.permissions.clone()
                } else {
                    Permissions::default()
                };
                let new = replaced(old, attrs.clone(), base.overlay(&partial));
                app.store.update(old, &new).await.map(|()| ok(200, &new))
            }
            None => {
                check_create(app, identity, id)?;
                if !pre.allows_write(None) {
                    return Err(ApiError::precondition_failed(None));
                }
                let owner = identity.user_principal().unwrap_or_default();
                let new = new_bucket(
                    id,
                    &owner,
                    attrs.clone(),
                    Permissions::default().overlay(&partial),
                    now_ms(),
                );
                app.store.create(&new).await.map(|()| ok(201, &new))
            }
        };
        if let Some(resp) = settle(app, id, identity, pre, result).await? {
            return Ok(resp);
        }
    }
    Err(busy())
}

async fn patch<S: BucketStore>(
    app: &App<S>,
    req: &Request,
    identity: &Identity,
    id: &str,
    pre: &Preconditions,
) -> Result<Response, ApiError> {
    let kind = PatchKind::from_content_type(req.header("content-type")?)?;
    let body = req
        .any_json_body()?
        .ok_or_else(|| ApiError::invalid(Location::Body, "body", "a PATCH needs a body"))?;
    for _ in 0..WRITE_ATTEMPTS {
        let old = app.readable_bucket(id, identity).await?;
        if !identity.may_write(&old.permissions) {
            return Err(deny(identity));
        }
        if !pre.allows_write(Some(old.last_modified)) {
            return Err(ApiError::precondition_failed(Some(old.envelope())));
        }
        let patched = patch::apply(kind, &old.data(), &old.permissions, &body)?;
        let attrs = clean_attrs(&patched.data, id)?;
        let new = replaced(&old, attrs, patched.permissions);
        if new.attrs == old.attrs && new.permissions == old.permissions {
            // Nothing changed: no new revision (Kinto answers the object as it is).
            return Ok(ok(200, &old));
        }
        let result = app.store.update(&old, &new).await.map(|()| ok(200, &new));
        if let Some(resp) = settle(app, id, identity, pre, result).await? {
            return Ok(resp);
        }
    }
    Err(busy())
}

async fn delete<S: BucketStore>(
    app: &App<S>,
    identity: &Identity,
    id: &str,
    pre: &Preconditions,
) -> Result<Response, ApiError> {
    check_delete_enabled(app)?;
    for _ in 0..WRITE_ATTEMPTS {
        let bucket = app.readable_bucket(id, identity).await?;
        if !identity.may_delete(&bucket.permissions) {
            return Err(deny(identity));
        }
        if !pre.allows_write(Some(bucket.last_modified)) {
            return Err(ApiError::precondition_failed(Some(bucket.envelope())));
        }
        let deleted_at = next_timestamp(Some(bucket.last_modified), now_ms());
        let result = app
            .store
            .delete(&bucket, deleted_at)
            .await
            .map(|()| Response::json(200, json!({"data": bucket.tombstone(deleted_at)})));
        if let Some(resp) = settle(app, id, identity, pre, result).await? {
            return Ok(resp);
        }
    }
    Err(busy())
}

fn check_delete_enabled<S>(app: &App<S>) -> Result<(), ApiError> {
    if app.settings.api_delete_enabled {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "Deleting buckets through the API is disabled in this deployment (API_DELETE_ENABLED=false).",
        ))
    }
}

/// The outcome of one conditional write attempt: its response, or `None` to read again and
/// retry. A lost race is the client's 412 when it sent a precondition.
async fn settle<S: BucketStore>(
    app: &App<S>,
    id: &str,
    identity: &Identity,
    pre: &Preconditions,
    result: Result<Response, StoreError>,
) -> Result<Option<Response>, ApiError> {
    match result {
        Ok(resp) => Ok(Some(resp)),
        Err(StoreError::Conflict) if !pre.is_empty() => {
            Err(precondition_failed_now(app, id, identity).await)
        }
        Err(StoreError::Conflict) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Every attempt lost a race: the bucket is being written by others right now.
fn busy() -> ApiError {
    ApiError::conflict("The bucket is being written concurrently; retry")
}

/// The 412 for a write that lost a race against another writer, with the object as it is now.
async fn precondition_failed_now<S: BucketStore>(
    app: &App<S>,
    id: &str,
    identity: &Identity,
) -> ApiError {
    let existing = match app.store.get(id).await {
        Ok(Some(b)) if identity.may_read(&b.permissions) => Some(b.envelope()),
        _ => None,
    };
    ApiError::precondition_failed(existing)
}

/// `old` with new attributes and permissions: the next revision of the same incarnation.
fn replaced(old: &Bucket, attrs: Map<String, Value>, mut permissions: Permissions) -> Bucket {
    permissions.ensure_writer(&old.owner);
    Bucket {
        attrs,
        permissions,
        revision: old.revision + 1,
        last_modified: next_timestamp(Some(old.last_modified), now_ms()),
        ..old.clone()
    }
}

async fn list<S: BucketStore>(
    app: &App<S>,
    req: &Request,
    identity: &Identity,
) -> Result<Response, ApiError> {
    let page = page_request(req)?;
    let scope = if identity.reads_everything() {
        ListScope::All
    } else {
        ListScope::Principals(identity.principals())
    };
    let result = app
        .store
        .list(&scope, page.after.as_deref(), page.limit)
        .await?;
    let data: Vec<Value> = result.buckets.iter().map(Bucket::data).collect();
    let last = result.last_key.clone().or(page.after.clone());
    let mut body = json!({"data": data, "has_more": result.has_more, "next_uri": null});
    let mut resp_headers = vec![];
    if result.has_more
        && let Some(last) = last
    {
        let (absolute, relative) = next_page_links(req, "/v1/buckets", &[], page.limit, &last);
        body["next_uri"] = json!(relative);
        resp_headers.push(("Next-Page".to_string(), absolute));
    }
    let mut resp = Response::json(200, body);
    resp.headers.extend(resp_headers);
    Ok(resp)
}

/// Deletes every bucket writable by the caller's own principals (Kinto clients send one DELETE
/// and read no `Next-Page`), or at most `_limit` when given. Work stops after
/// `DELETE_ALL_BUDGET`; `Next-Page` then says more remain.
async fn delete_all<S: BucketStore>(
    app: &App<S>,
    req: &Request,
    identity: &Identity,
) -> Result<Response, ApiError> {
    check_delete_enabled(app)?;
    if !identity.is_authenticated() {
        return Err(deny(identity));
    }
    let page = page_request(req)?;
    let limit = if req.query_param("_limit").is_some() {
        page.limit
    } else {
        usize::MAX
    };
    let started = std::time::Instant::now();
    let principals = identity.principals();
    let scope = ListScope::Principals(principals.clone());
    let mut tombstones = Vec::new();
    let mut after = page.after.clone();
    let mut has_more = true;
    while tombstones.len() < limit && has_more && started.elapsed() < DELETE_ALL_BUDGET {
        let want = (limit - tombstones.len()).min(pagination::MAX_LIMIT);
        let result = app.store.list(&scope, after.as_deref(), want).await?;
        has_more = result.has_more;
        after = result.last_key.clone().or(after);
        for bucket in result
            .buckets
            .iter()
            .filter(|b| b.permissions.can_write(&principals))
        {
            let deleted_at = next_timestamp(Some(bucket.last_modified), now_ms());
            match app.store.delete(bucket, deleted_at).await {
                Ok(()) => tombstones.push(bucket.tombstone(deleted_at)),
                // Changed or gone since listed: leave it; the caller can list again.
                Err(StoreError::Conflict) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    let mut resp = Response::json(200, json!({"data": tombstones}));
    if has_more && let Some(last) = after {
        resp = resp.with_header(
            "Next-Page",
            next_page_links(req, "/v1/buckets", &[], page.limit, &last).0,
        );
    }
    Ok(resp)
}
