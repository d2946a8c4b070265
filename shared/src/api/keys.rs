//! The API key routes: `/v1/keys` and `/v1/keys/{id}`.

use http::Method;
use serde_json::{Value, json};

use crate::domain::keys::{ApiKey, is_key_id, parse_key_patch, parse_new_key};
use crate::domain::permissions::principal_problem;
use crate::domain::time::now_ms;
use crate::ports::BucketStore;

use super::app::App;
use super::error::{ApiError, At, Location};
use super::paging::{next_after, page_request, page_response};
use super::request::Request;
use super::response::Response;

/// `/v1/keys`: the caller's keys (an admin's: everyone's, or `?owner=`), and new keys.
pub async fn collection<S: BucketStore, O>(
    app: &App<S, O>,
    req: &Request,
) -> Result<Response, ApiError> {
    let identity = app.identify(req).await?;
    let services = &app.services;
    match req.method {
        Method::GET => {
            let page = page_request(req, &app.cursor_keys)?;
            let owner = req.query_param("owner");
            if let Some(why) = owner.as_deref().and_then(principal_problem) {
                return Err(ApiError::invalid(Location::Querystring, "owner", why));
            }
            let result = services
                .list_keys(
                    &identity,
                    owner.as_deref(),
                    page.after.as_deref(),
                    page.limit,
                )
                .await?;
            let data: Vec<Value> = result.keys.iter().map(ApiKey::data).collect();
            let next = next_after(result.has_more, result.last_key, page.after);
            let extra: Vec<(&str, &str)> =
                owner.as_deref().map(|o| ("owner", o)).into_iter().collect();
            Ok(page_response(
                req,
                &app.cursor_keys,
                "/v1/keys",
                &extra,
                data,
                result.has_more,
                next,
                page.limit,
            ))
        }
        // POST: the route serves no other method (`routes::Single::Keys`).
        _ => {
            let new = parse_new_key(req.json_body()?, now_ms()).at(Location::Body)?;
            let (key, secret) = services.create_key(&identity, new).await?;
            // The one answer that holds the secret: no cache may keep it.
            Ok(
                Response::json(201, json!({"data": key.data(), "secret": secret}))
                    .with_header("Cache-Control", "no-store"),
            )
        }
    }
}

/// `/v1/keys/{id}`: read, rename (`title`), revoke.
pub async fn record<S: BucketStore, O>(
    app: &App<S, O>,
    req: &Request,
    id: &str,
) -> Result<Response, ApiError> {
    let identity = app.identify(req).await?;
    if !is_key_id(id) {
        return Err(ApiError::invalid(
            Location::Path,
            "id",
            "must be a key id (16 lowercase hexadecimal characters)",
        ));
    }
    let services = &app.services;
    let key = match req.method {
        Method::GET => services.get_key(&identity, id).await?,
        Method::PATCH => {
            let title = parse_key_patch(req.json_body()?).at(Location::Body)?;
            services.rename_key(&identity, id, &title).await?
        }
        // DELETE: the route serves no other method (`routes::Single::Key`).
        _ => {
            let key = services.revoke_key(&identity, id).await?;
            let mut data = key.data();
            data["deleted"] = json!(true);
            return Ok(Response::json(200, json!({ "data": data })));
        }
    };
    Ok(Response::json(200, json!({ "data": key.data() })))
}
