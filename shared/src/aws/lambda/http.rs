//! The Lambda glue of the HTTP functions (buckets, files, data): API Gateway HTTP API events
//! (payload 2.0) in, plain `api::Request`s to the handler, `api::Response`s out. The only code
//! that knows that event's shape.

use std::future::Future;

use lambda_http::{
    Body, Error, Request as LambdaRequest, RequestExt, Response as LambdaResponse, service_fn,
};

use crate::api::request::Request;
use crate::api::response::{JSON_CONTENT_TYPE, Response};
use crate::config::Settings;

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

pub(super) fn to_request(settings: &Settings, event: LambdaRequest) -> Request {
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

pub(super) fn to_lambda_response(resp: Response) -> LambdaResponse<Body> {
    let mut builder = LambdaResponse::builder().status(resp.status);
    for (k, v) in &resp.headers {
        builder = builder.header(k, v);
    }
    let body = match resp.body_bytes() {
        Some(bytes) => {
            builder = builder.header("content-type", JSON_CONTENT_TYPE);
            Body::Text(String::from_utf8(bytes).unwrap_or_default())
        }
        None => {
            // API Gateway (AWS and ministack alike) answers `Content-Type: application/json`
            // when the function names none: a redirect's empty body says what it is instead.
            let is_redirect = (300..400).contains(&resp.status) && resp.status != 304;
            if is_redirect && resp.header("content-type").is_none() {
                builder = builder.header("content-type", "text/plain; charset=utf-8");
            }
            Body::Empty
        }
    };
    builder.body(body).unwrap_or_else(|_| {
        // Only an invalid header value can fail here; answer a bare 500 rather than nothing.
        let mut r = LambdaResponse::new(Body::Empty);
        *r.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
        r
    })
}
