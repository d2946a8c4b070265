//! The webhook routes of the activity function, `/v1/buckets/{id}/webhooks[/{wid}[/…]]`:
//! create (the secret shown once), list, read, change, delete, rotate the secret, ping, the
//! recent deliveries and a redelivery. Write permission on the bucket manages them. Anything
//! else goes to the history routes.

use http::Method;
use serde_json::{Value, json};

use crate::domain::webhooks::{
    UrlPolicy, Webhook, delivery_id_problem, parse_new_webhook, parse_webhook_patch,
    webhook_id_problem,
};
use crate::ports::{BucketStore, DeliveryQueue, HistoryStore, WebhookSender, WebhookStore};

use super::app::{App, bucket_ref};
use super::error::{ApiError, At, Location};
use super::paging::{page_request, page_response};
use super::request::Request;
use super::response::Response;

/// What the routes work with besides the app: the delivery queue and the receivers' client.
pub struct Outbound<'a, Q, W> {
    pub queue: &'a Q,
    pub sender: &'a W,
}

/// Answers any request that reaches the activity function.
pub async fn handle<S, O, Q, W>(
    app: &App<S, O>,
    outbound: &Outbound<'_, Q, W>,
    req: &Request,
) -> Response
where
    S: BucketStore + HistoryStore + WebhookStore,
    Q: DeliveryQueue,
    W: WebhookSender,
{
    let segments = req.segments();
    if !matches!(segments.as_slice(), ["v1", "buckets", _, "webhooks", ..]) {
        return super::history::handle(app, req).await;
    }
    match req.as_get_for_head() {
        Some(get) => route(app, outbound, &get)
            .await
            .unwrap_or_else(Response::from)
            .without_body(),
        None => route(app, outbound, req)
            .await
            .unwrap_or_else(Response::from),
    }
}

fn webhook_id(raw: &str) -> Result<&str, ApiError> {
    match webhook_id_problem(raw) {
        Some(why) => Err(ApiError::invalid(Location::Path, "webhook_id", why)),
        None => Ok(raw),
    }
}

fn with_secret(bucket_id: &str, hook: &Webhook, status: u16) -> Response {
    Response::json(
        status,
        json!({"data": hook.to_json(bucket_id), "secret": hook.secret}),
    )
}

async fn route<S, O, Q, W>(
    app: &App<S, O>,
    outbound: &Outbound<'_, Q, W>,
    req: &Request,
) -> Result<Response, ApiError>
where
    S: BucketStore + WebhookStore,
    Q: DeliveryQueue,
    W: WebhookSender,
{
    req.refuse_unknown_write_query()?;
    let segments = req.segments();
    let method = &req.method;
    let policy = UrlPolicy {
        allow_loopback: app.settings().webhooks_allow_loopback,
    };
    let services = &app.services;
    let (segment, rest) = match segments.as_slice() {
        ["v1", "buckets", id, "webhooks", rest @ ..] => (*id, rest.to_vec()),
        _ => return Err(ApiError::no_route()),
    };
    let not_allowed = || Err(ApiError::method_not_allowed(method.as_str()));
    let identity = app.identify(req).await?;
    let bucket = bucket_ref(segment)?;
    match (rest.as_slice(), method) {
        ([], &Method::GET) => {
            let (b, hooks) = services.list_webhooks(&identity, &bucket).await?;
            let data: Vec<Value> = hooks.iter().map(|h| h.to_json(&b.id)).collect();
            Ok(Response::json(200, json!({"data": data})))
        }
        ([], &Method::POST) => {
            let body = req.json_body()?.unwrap_or(Value::Null);
            let new = parse_new_webhook(&body, policy).at(Location::Body)?;
            let (b, hook) = services
                .create_webhook(outbound.sender, &identity, &bucket, new)
                .await?;
            Ok(with_secret(&b.id, &hook, 201))
        }
        ([], _) => not_allowed(),
        ([wid], m) => {
            let wid = webhook_id(wid)?;
            let (b, hook) = match *m {
                Method::GET => services.get_webhook(&identity, &bucket, wid).await?,
                Method::PATCH => {
                    let body = req.json_body()?.unwrap_or(Value::Null);
                    let patch = parse_webhook_patch(&body, policy).at(Location::Body)?;
                    services
                        .update_webhook(outbound.sender, &identity, &bucket, wid, Some(&patch))
                        .await?
                }
                Method::DELETE => {
                    services.delete_webhook(&identity, &bucket, wid).await?;
                    return Ok(Response::json(
                        200,
                        json!({"data": {"id": wid, "deleted": true}}),
                    ));
                }
                _ => return not_allowed(),
            };
            Ok(Response::json(200, json!({"data": hook.to_json(&b.id)})))
        }
        ([wid, "rotate"], &Method::POST) => {
            let wid = webhook_id(wid)?;
            req.fields_body(&[])?;
            let (b, hook) = services
                .update_webhook(outbound.sender, &identity, &bucket, wid, None)
                .await?;
            Ok(with_secret(&b.id, &hook, 200))
        }
        ([wid, "ping"], &Method::POST) => {
            let wid = webhook_id(wid)?;
            req.fields_body(&[])?;
            let d = services
                .ping_webhook(outbound.queue, &identity, &bucket, wid)
                .await?;
            Ok(Response::json(202, json!({"data": d.to_json()})))
        }
        ([wid, "deliveries"], &Method::GET) => {
            let wid = webhook_id(wid)?;
            let page = page_request(req, &app.cursor_keys)?;
            let before = page.after.as_deref();
            if let Some(why) = before.and_then(delivery_id_problem) {
                return Err(ApiError::invalid(Location::Querystring, "_token", why));
            }
            let found = services
                .list_deliveries(&identity, &bucket, wid, before, page.limit)
                .await?;
            let next = found.deliveries.last().map(|d| d.id.clone());
            let data = found.deliveries.iter().map(|d| d.to_json()).collect();
            Ok(page_response(
                req,
                &app.cursor_keys,
                &format!("/v1/buckets/{segment}/webhooks/{wid}/deliveries"),
                &[],
                data,
                found.has_more,
                next,
                page.limit,
            ))
        }
        ([wid, "deliveries", did, "redeliver"], &Method::POST) => {
            let wid = webhook_id(wid)?;
            if let Some(why) = delivery_id_problem(did) {
                return Err(ApiError::invalid(Location::Path, "delivery_id", why));
            }
            req.fields_body(&[])?;
            let d = services
                .redeliver(outbound.queue, &identity, &bucket, wid, did)
                .await?;
            Ok(Response::json(202, json!({"data": d.to_json()})))
        }
        ([_, "rotate" | "ping"] | [_, "deliveries"] | [_, "deliveries", _, "redeliver"], _) => {
            not_allowed()
        }
        _ => Err(ApiError::no_route()),
    }
}
