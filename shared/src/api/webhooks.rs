//! The webhook routes of the activity function, `/v1/buckets/{id}/webhooks[/{wid}[/…]]`:
//! create (the secret shown once), list, read, change, delete, rotate the secret, ping, the
//! recent deliveries and a redelivery. Write permission on the bucket manages them. The
//! function's entry (`handle`) serves the history route too.

use http::Method;
use serde_json::{Value, json};

use crate::domain::webhooks::{
    UrlPolicy, Webhook, delivery_id_problem, parse_new_webhook, parse_webhook_patch,
    webhook_id_problem,
};
use crate::ports::{BucketStore, DeliveryQueue, HistoryStore, WebhookSender, WebhookStore};

use super::app::{App, InBucket};
use super::error::{ApiError, At, Location};
use super::paging::{page_request, page_response};
use super::request::Request;
use super::response::Response;
use super::route::{Area, serve};
use super::routes::{Activity, Under, Webhooks};

/// What the routes work with besides the app: the delivery queue and the receivers' client.
pub struct Outbound<'a, Q, W> {
    pub queue: &'a Q,
    pub sender: &'a W,
}

/// Answers any request that reaches the activity function (its history route too).
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
    serve(&ActivityFunction { app, outbound }, req).await
}

struct ActivityFunction<'a, 'o, S, O, Q, W> {
    app: &'a App<S, O>,
    outbound: &'a Outbound<'o, Q, W>,
}

impl<S, O, Q, W> Area for ActivityFunction<'_, '_, S, O, Q, W>
where
    S: BucketStore + HistoryStore + WebhookStore,
    Q: DeliveryQueue,
    W: WebhookSender,
{
    type Route = Under<Activity>;

    async fn answer(&self, route: Under<Activity>, req: &Request) -> Result<Response, ApiError> {
        let at = self.app.in_bucket(req, &route.bucket).await?;
        match route.route {
            Activity::History => super::history::list(self.app, req, &at).await,
            Activity::Webhooks(route) => webhooks(self.app, self.outbound, req, &at, route).await,
        }
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

async fn webhooks<S, O, Q, W>(
    app: &App<S, O>,
    outbound: &Outbound<'_, Q, W>,
    req: &Request,
    at: &InBucket,
    route: Webhooks,
) -> Result<Response, ApiError>
where
    S: BucketStore + WebhookStore,
    Q: DeliveryQueue,
    W: WebhookSender,
{
    let policy = UrlPolicy {
        allow_loopback: app.settings().webhooks_allow_loopback,
    };
    let services = &app.services;
    let (identity, bucket) = (&at.identity, &at.bucket);
    let post = req.method == Method::POST;
    match route {
        Webhooks::All if !post => {
            let (b, hooks) = services.list_webhooks(identity, bucket).await?;
            let data: Vec<Value> = hooks.iter().map(|h| h.to_json(&b.id)).collect();
            Ok(Response::json(200, json!({"data": data})))
        }
        Webhooks::All => {
            let body = req.json_body()?.unwrap_or(Value::Null);
            let new = parse_new_webhook(&body, policy).at(Location::Body)?;
            let (b, hook) = services
                .create_webhook(outbound.sender, identity, bucket, new)
                .await?;
            Ok(with_secret(&b.id, &hook, 201))
        }
        Webhooks::One(wid) => {
            let wid = webhook_id(&wid)?;
            let (b, hook) = match req.method {
                Method::GET => services.get_webhook(identity, bucket, wid).await?,
                Method::PATCH => {
                    let body = req.json_body()?.unwrap_or(Value::Null);
                    let patch = parse_webhook_patch(&body, policy).at(Location::Body)?;
                    services
                        .update_webhook(outbound.sender, identity, bucket, wid, Some(&patch))
                        .await?
                }
                // DELETE: the route serves no other method (`routes::Webhooks::One`).
                _ => {
                    services.delete_webhook(identity, bucket, wid).await?;
                    return Ok(Response::json(
                        200,
                        json!({"data": {"id": wid, "deleted": true}}),
                    ));
                }
            };
            Ok(Response::json(200, json!({"data": hook.to_json(&b.id)})))
        }
        Webhooks::Rotate(wid) => {
            let wid = webhook_id(&wid)?;
            req.fields_body(&[])?;
            let (b, hook) = services
                .update_webhook(outbound.sender, identity, bucket, wid, None)
                .await?;
            Ok(with_secret(&b.id, &hook, 200))
        }
        Webhooks::Ping(wid) => {
            let wid = webhook_id(&wid)?;
            req.fields_body(&[])?;
            let d = services
                .ping_webhook(outbound.queue, identity, bucket, wid)
                .await?;
            Ok(Response::json(202, json!({"data": d.to_json()})))
        }
        Webhooks::Deliveries(wid) => {
            let wid = webhook_id(&wid)?;
            let page = page_request(req, &app.cursor_keys)?;
            let before = page.after.as_deref();
            if let Some(why) = before.and_then(delivery_id_problem) {
                return Err(ApiError::invalid(Location::Querystring, "_token", why));
            }
            let found = services
                .list_deliveries(identity, bucket, wid, before, page.limit)
                .await?;
            let next = found.deliveries.last().map(|d| d.id.clone());
            let data = found.deliveries.iter().map(|d| d.to_json()).collect();
            Ok(page_response(
                req,
                &app.cursor_keys,
                &format!("/v1/buckets/{}/webhooks/{wid}/deliveries", at.segment),
                &[],
                data,
                found.has_more,
                next,
                page.limit,
            ))
        }
        Webhooks::Redeliver(wid, did) => {
            let wid = webhook_id(&wid)?;
            if let Some(why) = delivery_id_problem(&did) {
                return Err(ApiError::invalid(Location::Path, "delivery_id", why));
            }
            req.fields_body(&[])?;
            let d = services
                .redeliver(outbound.queue, identity, bucket, wid, &did)
                .await?;
            Ok(Response::json(202, json!({"data": d.to_json()})))
        }
    }
}
