//! CORS, as Kinto does by default: any origin may call the API with a bearer token (no cookies
//! are used, so `*` is safe), and browsers may read the headers the protocol relies on.

use http::Method;

use super::request::Request;
use super::response::Response;

const EXPOSED: &str = "ETag, Last-Modified, Next-Page, Location, Retry-After, Content-Length";
const ALLOWED_HEADERS: &str = "Authorization, Content-Type, If-Match, If-None-Match";
const ALLOWED_METHODS: &str = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";

/// The answer to a preflight request, if this is one.
pub fn preflight(req: &Request) -> Option<Response> {
    (req.method == Method::OPTIONS).then(|| {
        Response::empty(204)
            .with_header("Access-Control-Allow-Methods", ALLOWED_METHODS)
            .with_header("Access-Control-Allow-Headers", ALLOWED_HEADERS)
            .with_header("Access-Control-Max-Age", "3600")
    })
}

/// Adds the CORS headers every response carries.
pub fn decorate(resp: Response) -> Response {
    resp.with_header("Access-Control-Allow-Origin", "*")
        .with_header("Access-Control-Expose-Headers", EXPOSED)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::request::test_request;

    #[test]
    fn preflight_only_for_options() {
        assert!(preflight(&test_request(Method::GET, "/v1/", "")).is_none());
        let r = preflight(&test_request(Method::OPTIONS, "/v1/buckets", "")).unwrap();
        assert_eq!(r.status, 204);
        assert!(
            r.header("access-control-allow-headers")
                .unwrap()
                .contains("If-Match")
        );
        let r = decorate(Response::empty(200));
        assert_eq!(r.header("access-control-allow-origin"), Some("*"));
        assert!(
            r.header("access-control-expose-headers")
                .unwrap()
                .contains("Next-Page")
        );
    }
}
