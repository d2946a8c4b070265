//! The one serving function of every HTTP function: a request's path is parsed once into its
//! function's typed route (`api::routes`), which knows the methods it serves; `serve` answers
//! what every route shares, so that no handler repeats it:
//!
//! - a path no route serves: `404` (errno 111);
//! - a method the route does not serve: `405` (errno 115) with `Allow` naming those it does;
//! - `HEAD` wherever `GET` is served: the `GET` answer without its body;
//! - a write's query that names anything but a page: `400` (`Request::refuse_unknown_write_query`);
//! - any error: rendered once as the Kinto envelope (`Response::from(ApiError)`).
//!
//! What comes after (who calls, which bucket) is the area's `Area::answer`; the routes under
//! `/v1/buckets/{id}/…` start with `App::in_bucket`.

use std::future::Future;

use http::Method;

use super::error::ApiError;
use super::request::Request;
use super::response::Response;

/// The methods a route serves. `HEAD` is never listed: it is served wherever `GET` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Methods {
    /// Any method (the `307` redirects keep the method and body).
    Any,
    Only(&'static [Method]),
}

impl Methods {
    pub fn allows(self, method: &Method) -> bool {
        match self {
            Methods::Any => true,
            Methods::Only(served) => {
                served.contains(method)
                    || (*method == Method::HEAD && served.contains(&Method::GET))
            }
        }
    }

    /// The `Allow` header of a `405`: the methods served, `HEAD` after `GET`.
    pub fn allow_header(self) -> String {
        let served: &[Method] = match self {
            Methods::Any => &[],
            Methods::Only(served) => served,
        };
        let mut names = vec![];
        for m in served {
            names.push(m.as_str());
            if *m == Method::GET {
                names.push("HEAD");
            }
        }
        names.join(", ")
    }
}

/// A function's routes as one typed value: the path parsed once.
pub trait Route: Sized {
    /// The route that these path segments (the path after its leading `/`, split on `/`)
    /// name; `None` when none does (`404`).
    fn parse(segments: &[&str]) -> Option<Self>;

    /// The methods it serves.
    fn methods(&self) -> Methods;
}

/// One HTTP function's answers: what it holds (the app, and any client its routes need) and
/// the answer of each route to a method it serves (`HEAD` arrives as `GET`).
pub trait Area {
    type Route: Route;

    /// Only ever called with a method `route` serves.
    fn answer(
        &self,
        route: Self::Route,
        req: &Request,
    ) -> impl Future<Output = Result<Response, ApiError>>;
}

/// Answers any request that reaches the function `area` stands for (see the module's comment).
pub async fn serve<A: Area>(area: &A, req: &Request) -> Response {
    let head = req.method == Method::HEAD;
    let answer = match allowed::<A::Route>(req) {
        Err(refused) => refused,
        Ok(route) if head => {
            // The very `GET` answer (its status, validators, links), its body dropped after.
            let get = Request {
                method: Method::GET,
                ..req.clone()
            };
            area.answer(route, &get)
                .await
                .unwrap_or_else(Response::from)
        }
        Ok(route) => area.answer(route, req).await.unwrap_or_else(Response::from),
    };
    // Answers depend on who asks and change with every write: a browser (or any cache) keeps
    // a read only to revalidate it (`If-None-Match` → `304`), never to serve it as is. The
    // answer to a write is never stored: it may hold a secret (a key's, a webhook's) or
    // presigned URLs (grants, parts, fetch), capabilities until they expire. A read that
    // holds one (a download's URL as JSON) says `no-store` itself.
    let answer = if answer.header("cache-control").is_some() {
        answer
    } else if matches!(req.method, Method::GET | Method::HEAD) {
        answer.with_header("Cache-Control", "no-cache")
    } else {
        answer.with_header("Cache-Control", "no-store")
    };
    if head { answer.without_body() } else { answer }
}

/// The route of `req` if it serves the method, else the refusal.
fn allowed<R: Route>(req: &Request) -> Result<R, Response> {
    let route = R::parse(&req.segments()).ok_or_else(|| Response::from(ApiError::no_route()))?;
    let methods = route.methods();
    if !methods.allows(&req.method) {
        let refusal = Response::from(ApiError::method_not_allowed(req.method.as_str()));
        return Err(refusal.with_header("Allow", methods.allow_header()));
    }
    req.refuse_unknown_write_query().map_err(Response::from)?;
    Ok(route)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_is_allowed_where_get_is_and_listed_after_it() {
        let get_post = Methods::Only(&[Method::GET, Method::POST]);
        assert!(get_post.allows(&Method::HEAD));
        assert!(!get_post.allows(&Method::DELETE));
        assert_eq!(get_post.allow_header(), "GET, HEAD, POST");
        let post = Methods::Only(&[Method::POST]);
        assert!(!post.allows(&Method::HEAD));
        assert_eq!(post.allow_header(), "POST");
        assert!(Methods::Any.allows(&Method::OPTIONS));
    }
}
