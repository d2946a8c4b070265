//! Lambda: the web console. Serves the built single-page app (console/dist, embedded at
//! compile time by build.rs) under `/console/`, from the API's own origin, so the console calls
//! the API without CORS. Thin on purpose: no AWS SDK, no token verification (the page holds no
//! secret; every call it makes is authorized by the API itself).

mod site;

use lambda_http::{Error, Request, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let headers: &'static site::Headers = Box::leak(Box::new(site::Headers::from_env()));
    lambda_http::run(service_fn(move |req: Request| async move {
        Ok::<_, Error>(site::answer(
            site::ASSETS,
            headers,
            req.method().as_str(),
            req.uri().path(),
        ))
    }))
    .await
}
