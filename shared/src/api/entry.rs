//! The entry of the Buckets function (`routes::Entry`): `/v1/batch` (whose sub-requests go to
//! `root::serve_single`), every other route to `root::single`.

use crate::ports::{BucketStore, DataStore};

use super::app::App;
use super::batch;
use super::error::ApiError;
use super::request::Request;
use super::response::Response;
use super::root::single;
use super::route::{Area, serve};
use super::routes::Entry;

/// Answers any request that reaches the Buckets function.
pub async fn handle<S: BucketStore + DataStore, O>(app: &App<S, O>, req: &Request) -> Response {
    serve(&BucketsFunction(app), req).await
}

struct BucketsFunction<'a, S, O>(&'a App<S, O>);

impl<S: BucketStore + DataStore, O> Area for BucketsFunction<'_, S, O> {
    type Route = Entry;

    async fn answer(&self, route: Entry, req: &Request) -> Result<Response, ApiError> {
        match route {
            Entry::Batch => batch::batch(self.0, req).await,
            Entry::Single(route) => single(self.0, route, req).await,
        }
    }
}
