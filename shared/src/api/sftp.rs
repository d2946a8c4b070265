//! The SFTP routes (the `sftp` function): a bucket's users, `/v1/buckets/{id}/users[/{username}]`,
//! and its on-demand reconciliation, `POST /v1/buckets/{id}/reconcile`.

use std::time::{Duration, Instant};

use http::Method;
use serde_json::{Value, json};

use crate::domain::error::RuleError;
use crate::domain::sftp::{parse_new_user, parse_user_patch, username_problem};
use crate::ports::{
    BucketStore, CascadeStore, FileStore, ObjectStore, SftpDirectory, SftpUserStore, WebhookStore,
};
use crate::service::reconcile::{API_SECONDS, PAGE_KEYS};

use super::app::{App, InBucket};
use super::error::{ApiError, At, Location};
use super::paging::{page_request, page_response};
use super::request::Request;
use super::response::Response;
use super::route::{Area, serve};
use super::routes::{Sftp, Under};

/// Answers any request that reaches the sftp function.
pub async fn handle<S, O, T>(app: &App<S, O>, directory: &T, req: &Request) -> Response
where
    S: BucketStore + FileStore + CascadeStore + SftpUserStore + WebhookStore,
    O: ObjectStore,
    T: SftpDirectory,
{
    serve(&SftpFunction { app, directory }, req).await
}

struct SftpFunction<'a, S, O, T> {
    app: &'a App<S, O>,
    directory: &'a T,
}

impl<S, O, T> Area for SftpFunction<'_, S, O, T>
where
    S: BucketStore + FileStore + CascadeStore + SftpUserStore + WebhookStore,
    O: ObjectStore,
    T: SftpDirectory,
{
    type Route = Under<Sftp>;

    async fn answer(&self, route: Under<Sftp>, req: &Request) -> Result<Response, ApiError> {
        let (app, directory) = (self.app, self.directory);
        let at = app.in_bucket(req, &route.bucket).await?;
        match route.route {
            Sftp::Users if req.method == Method::POST => create(app, directory, req, &at).await,
            Sftp::Users => list(app, req, &at).await,
            Sftp::User(name) => record(app, directory, req, &at, &name).await,
            Sftp::Reconcile => reconcile(app, req, &at).await,
        }
    }
}

async fn list<S: BucketStore + SftpUserStore, O>(
    app: &App<S, O>,
    req: &Request,
    at: &InBucket,
) -> Result<Response, ApiError> {
    let (identity, bucket) = (&at.identity, &at.bucket);
    let page = page_request(req, &app.cursor_keys)?;
    let (bucket, listing) = app
        .services
        .list_sftp_users(identity, bucket, page.after.as_deref(), page.limit)
        .await?;
    let host = app.settings().sftp_host.as_deref();
    let data: Vec<Value> = listing
        .users
        .iter()
        .map(|u| u.to_json(&bucket.id, host))
        .collect();
    let next = listing.users.last().map(|u| u.username.clone());
    Ok(page_response(
        req,
        &app.cursor_keys,
        &format!("/v1/buckets/{}/users", at.segment),
        &[],
        data,
        listing.has_more,
        next,
        page.limit,
    ))
}

async fn create<S: BucketStore + SftpUserStore, O, T: SftpDirectory>(
    app: &App<S, O>,
    directory: &T,
    req: &Request,
    at: &InBucket,
) -> Result<Response, ApiError> {
    let (identity, bucket) = (&at.identity, &at.bucket);
    let body = req.json_body()?.unwrap_or(Value::Null);
    let new = parse_new_user(&body).at(Location::Body)?;
    let (bucket, user) = app
        .services
        .create_sftp_user(directory, identity, bucket, new)
        .await?;
    let host = app.settings().sftp_host.as_deref();
    Ok(Response::json(
        201,
        json!({"data": user.to_json(&bucket.id, host)}),
    ))
}

async fn record<S: BucketStore + SftpUserStore, O, T: SftpDirectory>(
    app: &App<S, O>,
    directory: &T,
    req: &Request,
    at: &InBucket,
    username: &str,
) -> Result<Response, ApiError> {
    let (identity, bucket) = (&at.identity, &at.bucket);
    if let Some(why) = username_problem(username) {
        return Err(ApiError::invalid(Location::Path, "username", why));
    }
    let services = &app.services;
    let (bucket, user) = match req.method {
        Method::GET => services.get_sftp_user(identity, bucket, username).await?,
        Method::PATCH => {
            let body = req.json_body()?.unwrap_or(Value::Null);
            let patch = parse_user_patch(&body).at(Location::Body)?;
            if let Some(Value::String(name)) = body.get("username")
                && name != username
            {
                return Err(RuleError::invalid(
                    "username",
                    "cannot be changed (delete and create)",
                ))
                .at(Location::Body);
            }
            services
                .update_sftp_user(directory, identity, bucket, username, patch)
                .await?
        }
        // DELETE: the route serves no other method (`routes::Sftp::User`).
        _ => {
            services
                .delete_sftp_user(directory, identity, bucket, username)
                .await?;
            return Ok(Response::json(
                200,
                json!({"data": {"username": username, "deleted": true}}),
            ));
        }
    };
    let host = app.settings().sftp_host.as_deref();
    Ok(Response::json(
        200,
        json!({"data": user.to_json(&bucket.id, host)}),
    ))
}

/// One page of reconciliation (write permission): `{"after": <name>}` goes on from where the
/// previous page stopped (`next`).
async fn reconcile<S, O>(
    app: &App<S, O>,
    req: &Request,
    at: &InBucket,
) -> Result<Response, ApiError>
where
    S: BucketStore + FileStore + CascadeStore + SftpUserStore + WebhookStore,
    O: ObjectStore,
{
    let (identity, bucket) = (&at.identity, &at.bucket);
    let body = req.fields_body(&["after"])?.unwrap_or_default();
    let after = {
        match body.get("after") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.is_empty() => None,
            // A file name, as `next` gives it.
            Some(Value::String(s)) if s.len() <= 255 && !s.contains('/') => Some(s.clone()),
            Some(_) => {
                return Err(ApiError::invalid(
                    Location::Body,
                    "after",
                    "must be a file name (a previous answer's `next`)",
                ));
            }
        }
    };
    let bucket = app.services.writable(bucket, identity).await?;
    if after.is_none() {
        // A pass from the start also suspends users whose maker's key was revoked or expired.
        app.services.judge_sftp_origins(&bucket).await?;
    }
    let done = app
        .services
        .reconcile_page(
            &bucket,
            after.as_deref(),
            PAGE_KEYS,
            Some(Instant::now() + Duration::from_secs(API_SECONDS)),
        )
        .await?;
    Ok(Response::json(200, json!({"data": done})))
}
