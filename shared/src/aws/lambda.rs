//! The Lambda glue for HTTP functions: API Gateway (HTTP API, payload 2.0) events in, plain
//! `api::Request`s to the handler, `api::Response`s out. The only code that knows the event shape.

use std::future::Future;

use lambda_http::{
    Body, Error, Request as LambdaRequest, RequestExt, Response as LambdaResponse, service_fn,
};

use crate::api::request::Request;
use crate::api::response::{JSON_CONTENT_TYPE, Response};
use crate::config::Settings;

/// JSON logs at the level `RUST_LOG` names (`error`, `warn`, `info` (default), `debug`,
/// `trace`). Cheap: no I/O. A plain level, not filter directives: the directive parser pulls a
/// regex engine into every function.
pub fn init_tracing() {
    let level = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| {
            v.trim()
                .parse::<tracing_subscriber::filter::LevelFilter>()
                .ok()
        })
        .unwrap_or(tracing_subscriber::filter::LevelFilter::INFO);
    tracing_subscriber::fmt()
        .json()
        .with_max_level(level)
        .with_target(false)
        .without_time()
        .init();
}

/// The SDK configuration from the Lambda environment (region and credentials from variables;
/// nothing is fetched until the first call).
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await
}

/// Serves HTTP events with `handler` until the runtime stops.
pub async fn serve_http<F, Fut>(settings: &'static Settings, handler: F) -> Result<(), Error>
where
    F: Fn(Request) -> Fut + Send + Sync,
    Fut: Future<Output = Response> + Send,
{
    lambda_http::run(service_fn(|event: LambdaRequest| {
        // CORS (preflights and headers) is the HTTP API's job: see CorsConfiguration in the template.
        let response = handler(to_request(settings, event));
        async move { Ok::<_, Error>(to_lambda_response(response.await)) }
    }))
    .await
}

fn to_request(settings: &Settings, event: LambdaRequest) -> Request {
    let base_url = match &settings.public_base_url {
        Some(url) => url.clone(),
        None => base_url_from(&event),
    };
    let (parts, body) = event.into_parts();
    let body = match body {
        Body::Empty => bytes::Bytes::new(),
        Body::Text(t) => bytes::Bytes::from(t),
        Body::Binary(b) => bytes::Bytes::from(b),
        _ => bytes::Bytes::new(),
    };
    Request {
        method: parts.method,
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or("").to_string(),
        headers: parts.headers,
        body,
        base_url,
    }
}

/// `https://<Host>` as the client addressed us (API Gateway sets Host and X-Forwarded-Proto).
fn base_url_from(event: &LambdaRequest) -> String {
    let header = |name: &str| {
        event
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let proto = header("x-forwarded-proto").unwrap_or_else(|| "https".into());
    let host = header("host").or_else(|| match event.request_context_ref() {
        Some(lambda_http::request::RequestContext::ApiGatewayV2(ctx)) => ctx.domain_name.clone(),
        _ => None,
    });
    format!("{proto}://{}", host.unwrap_or_else(|| "localhost".into()))
}

fn to_lambda_response(resp: Response) -> LambdaResponse<Body> {
    let mut builder = LambdaResponse::builder().status(resp.status);
    for (k, v) in &resp.headers {
        builder = builder.header(k, v);
    }
    let body = match resp.body_bytes() {
        Some(bytes) => {
            builder = builder.header("content-type", JSON_CONTENT_TYPE);
            Body::Text(String::from_utf8(bytes).unwrap_or_default())
        }
        None => Body::Empty,
    };
    builder.body(body).unwrap_or_else(|_| {
        // Only an invalid header value can fail here; answer a bare 500 rather than nothing.
        let mut r = LambdaResponse::new(Body::Empty);
        *r.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
        r
    })
}

/// Serves S3 ObjectCreated events: `handler` gets each object key (decoded) and the event time
/// (ms). A failed key fails the invocation, so Lambda retries the event; the handler must be
/// idempotent.
pub async fn serve_s3_events<F, Fut>(handler: F) -> Result<(), Error>
where
    F: Fn(String, Option<i64>) -> Fut + Send + Sync,
    Fut: Future<Output = Result<crate::service::uploads::Outcome, crate::service::Error>> + Send,
{
    use aws_lambda_events::event::s3::S3Event;
    use lambda_runtime::LambdaEvent;
    let handler = &handler;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: LambdaEvent<S3Event>| async move {
            for record in event.payload.records {
                let Some(raw) = record.s3.object.key else {
                    continue;
                };
                // Keys in S3 events are URL-encoded, with '+' for spaces.
                let key = percent_encoding::percent_decode_str(&raw.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned();
                let event_time = Some(record.event_time.timestamp_millis()).filter(|t| *t > 0);
                match handler(key.clone(), event_time).await {
                    Ok(outcome) => tracing::info!(key, ?outcome, "upload event processed"),
                    Err(e) => {
                        tracing::error!(key, error = ?e, "upload event failed; it will be retried");
                        return Err(Error::from(format!("processing {key} failed: {e:?}")));
                    }
                }
            }
            Ok::<(), Error>(())
        },
    ))
    .await
}
