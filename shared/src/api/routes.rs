//! Every route of the HTTP functions as typed values, each with the methods it serves: the
//! paths `infra/template.yaml` sends to each function (and the OpenAPI document describes).
//! A route's handler never sees a method its route does not list (`route::serve` answers
//! `405` with `Allow`), nor a path no route names (`404`).

use http::Method;

use super::route::{Methods, Route};

const GET: Methods = Methods::Only(&[Method::GET]);
const POST: Methods = Methods::Only(&[Method::POST]);
const GET_POST: Methods = Methods::Only(&[Method::GET, Method::POST]);
const GET_DELETE: Methods = Methods::Only(&[Method::GET, Method::DELETE]);
const GET_PATCH_DELETE: Methods = Methods::Only(&[Method::GET, Method::PATCH, Method::DELETE]);

/// The routes of the Buckets function (`api::entry`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// `/v1/batch`.
    Batch,
    Single(Single),
}

impl Route for Entry {
    fn parse(segments: &[&str]) -> Option<Entry> {
        match segments {
            ["v1", "batch"] => Some(Entry::Batch),
            _ => Single::parse(segments).map(Entry::Single),
        }
    }

    fn methods(&self) -> Methods {
        match self {
            Entry::Batch => POST,
            Entry::Single(single) => single.methods(),
        }
    }
}

/// Every route of the Buckets function but `/v1/batch`: what a batch's sub-requests reach
/// there (`api::root`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Single {
    /// A `307` to this path (`None`: the request's path under `/v1`).
    Redirect(Option<&'static str>),
    /// `/v1/`: the server's info.
    Root,
    /// `/v1/__api__`: the OpenAPI document.
    OpenApi,
    /// `/v1/buckets`.
    Buckets,
    /// `/v1/buckets/{id}`.
    Bucket(String),
    /// `/v1/keys`.
    Keys,
    /// `/v1/keys/{id}`.
    Key(String),
}

impl Route for Single {
    fn parse(segments: &[&str]) -> Option<Single> {
        Some(match segments {
            ["v1"] => Single::Redirect(Some("/v1/")),
            ["v1", ""] => Single::Root,
            ["v1", "__api__"] => Single::OpenApi,
            ["v1", "buckets"] => Single::Buckets,
            ["v1", "buckets", ""] => Single::Redirect(Some("/v1/buckets")),
            ["v1", "buckets", id] => Single::Bucket(id.to_string()),
            ["v1", "keys"] => Single::Keys,
            ["v1", "keys", ""] => Single::Redirect(Some("/v1/keys")),
            ["v1", "keys", id] => Single::Key(id.to_string()),
            ["v1", ..] => return None,
            // The console's own routes (`/console`, `/console/{proxy+}`) are the console
            // function's; `/console/` (an empty `{proxy+}`, which API Gateway's greedy variable
            // does not match) comes here, and goes to the console's page, not to `/v1/console/`.
            ["console", ""] => Single::Redirect(Some("/console/index.html")),
            // Kinto redirects unprefixed paths.
            _ => Single::Redirect(None),
        })
    }

    fn methods(&self) -> Methods {
        match self {
            Single::Redirect(_) => Methods::Any,
            Single::Root | Single::OpenApi => GET,
            Single::Buckets => Methods::Only(&[Method::GET, Method::POST, Method::DELETE]),
            Single::Bucket(_) => {
                Methods::Only(&[Method::GET, Method::PUT, Method::PATCH, Method::DELETE])
            }
            Single::Keys => GET_POST,
            Single::Key(_) => GET_PATCH_DELETE,
        }
    }
}

/// A route under `/v1/buckets/{id}/`: the bucket's path segment (as sent) and what follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Under<R> {
    pub bucket: String,
    pub route: R,
}

/// The routes under `/v1/buckets/{id}/` of one function, parsed from what follows the id.
pub trait BucketRoute: Sized {
    fn parse(rest: &[&str]) -> Option<Self>;
    fn methods(&self) -> Methods;
}

impl<R: BucketRoute> Route for Under<R> {
    fn parse(segments: &[&str]) -> Option<Under<R>> {
        match segments {
            ["v1", "buckets", bucket, rest @ ..] => Some(Under {
                bucket: bucket.to_string(),
                route: R::parse(rest)?,
            }),
            _ => None,
        }
    }

    fn methods(&self) -> Methods {
        self.route.methods()
    }
}

/// The data function's route: `/v1/buckets/{id}/data` (`api::data`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Data;

impl BucketRoute for Data {
    fn parse(rest: &[&str]) -> Option<Data> {
        matches!(rest, ["data"]).then_some(Data)
    }

    fn methods(&self) -> Methods {
        Methods::Only(&[Method::GET, Method::PUT, Method::PATCH])
    }
}

/// The routes of the files function (`api::files`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Files {
    In(Under<InFiles>),
    /// `/files/bucket/{id}/{hash}/{filename}`: an xyOps permalink.
    Permalink {
        bucket: String,
        hash: String,
        filename: String,
    },
}

impl Route for Files {
    fn parse(segments: &[&str]) -> Option<Files> {
        match segments {
            ["files", "bucket", bucket, hash, filename] => Some(Files::Permalink {
                bucket: bucket.to_string(),
                hash: hash.to_string(),
                filename: filename.to_string(),
            }),
            _ => Under::parse(segments).map(Files::In),
        }
    }

    fn methods(&self) -> Methods {
        match self {
            Files::In(under) => under.methods(),
            Files::Permalink { .. } => GET,
        }
    }
}

/// The files function's routes under `/v1/buckets/{id}/`. Names and ids as sent (still
/// percent-encoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InFiles {
    /// `files`: the listing, and upload grants.
    Files,
    /// `files/{name}`.
    File(String),
    /// `files/{name}/versions`.
    Versions(String),
    /// `files/{name}/versions/{version_id}/restore`.
    Restore(String, String),
    /// `uploads/{upload_id}`: its status, or its abort.
    Upload(String),
    /// `uploads/{upload_id}/parts`.
    Parts(String),
    /// `uploads/{upload_id}/complete`.
    Complete(String),
    Fetch,
    Store,
    Empty,
}

impl BucketRoute for InFiles {
    fn parse(rest: &[&str]) -> Option<InFiles> {
        let s = |v: &&str| v.to_string();
        Some(match rest {
            ["files"] => InFiles::Files,
            ["files", name] => InFiles::File(s(name)),
            ["files", name, "versions"] => InFiles::Versions(s(name)),
            ["files", name, "versions", version, "restore"] => {
                InFiles::Restore(s(name), s(version))
            }
            ["uploads", id] => InFiles::Upload(s(id)),
            ["uploads", id, "parts"] => InFiles::Parts(s(id)),
            ["uploads", id, "complete"] => InFiles::Complete(s(id)),
            ["fetch"] => InFiles::Fetch,
            ["store"] => InFiles::Store,
            ["empty"] => InFiles::Empty,
            _ => return None,
        })
    }

    fn methods(&self) -> Methods {
        match self {
            InFiles::Files | InFiles::Parts(_) => GET_POST,
            InFiles::File(_) | InFiles::Upload(_) => GET_DELETE,
            InFiles::Versions(_) => GET,
            InFiles::Restore(..) | InFiles::Complete(_) => POST,
            InFiles::Fetch | InFiles::Store | InFiles::Empty => POST,
        }
    }
}

/// The sftp function's routes under `/v1/buckets/{id}/` (`api::sftp`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sftp {
    /// `users`.
    Users,
    /// `users/{username}`.
    User(String),
    /// `reconcile`.
    Reconcile,
}

impl BucketRoute for Sftp {
    fn parse(rest: &[&str]) -> Option<Sftp> {
        Some(match rest {
            ["users"] => Sftp::Users,
            ["users", name] => Sftp::User(name.to_string()),
            ["reconcile"] => Sftp::Reconcile,
            _ => return None,
        })
    }

    fn methods(&self) -> Methods {
        match self {
            Sftp::Users => GET_POST,
            Sftp::User(_) => GET_PATCH_DELETE,
            Sftp::Reconcile => POST,
        }
    }
}

/// The activity function's routes under `/v1/buckets/{id}/` (`api::webhooks`, `api::history`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Activity {
    /// `history`.
    History,
    /// `webhooks[/…]`.
    Webhooks(Webhooks),
}

/// The webhook routes under `/v1/buckets/{id}/webhooks`. Webhook and delivery ids as sent
/// (checked by the handlers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Webhooks {
    /// `webhooks`.
    All,
    /// `webhooks/{wid}`.
    One(String),
    /// `webhooks/{wid}/rotate`.
    Rotate(String),
    /// `webhooks/{wid}/ping`.
    Ping(String),
    /// `webhooks/{wid}/deliveries`.
    Deliveries(String),
    /// `webhooks/{wid}/deliveries/{did}/redeliver`.
    Redeliver(String, String),
}

impl BucketRoute for Activity {
    fn parse(rest: &[&str]) -> Option<Activity> {
        let s = |v: &&str| v.to_string();
        let hooks = match rest {
            ["history"] => return Some(Activity::History),
            ["webhooks"] => Webhooks::All,
            ["webhooks", wid] => Webhooks::One(s(wid)),
            ["webhooks", wid, "rotate"] => Webhooks::Rotate(s(wid)),
            ["webhooks", wid, "ping"] => Webhooks::Ping(s(wid)),
            ["webhooks", wid, "deliveries"] => Webhooks::Deliveries(s(wid)),
            ["webhooks", wid, "deliveries", did, "redeliver"] => {
                Webhooks::Redeliver(s(wid), s(did))
            }
            _ => return None,
        };
        Some(Activity::Webhooks(hooks))
    }

    fn methods(&self) -> Methods {
        match self {
            Activity::History | Activity::Webhooks(Webhooks::Deliveries(_)) => GET,
            Activity::Webhooks(Webhooks::All) => GET_POST,
            Activity::Webhooks(Webhooks::One(_)) => GET_PATCH_DELETE,
            Activity::Webhooks(
                Webhooks::Rotate(_) | Webhooks::Ping(_) | Webhooks::Redeliver(..),
            ) => POST,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse<R: Route>(path: &str) -> Option<R> {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        R::parse(&segments)
    }

    #[test]
    fn paths_parse_once_into_their_routes() {
        assert_eq!(parse::<Entry>("/v1/batch"), Some(Entry::Batch));
        assert_eq!(
            parse::<Entry>("/v1/buckets/b1"),
            Some(Entry::Single(Single::Bucket("b1".into())))
        );
        assert_eq!(parse::<Single>("/buckets"), Some(Single::Redirect(None)));
        assert_eq!(
            parse::<Single>("/console/"),
            Some(Single::Redirect(Some("/console/index.html")))
        );
        assert_eq!(parse::<Single>("/v1/nothing"), None);
        assert_eq!(
            parse::<Files>("/v1/buckets/b1/files/a.csv/versions/v1/restore"),
            Some(Files::In(Under {
                bucket: "b1".into(),
                route: InFiles::Restore("a.csv".into(), "v1".into()),
            }))
        );
        assert_eq!(parse::<Files>("/v1/buckets/b1/nothing"), None);
        assert_eq!(parse::<Under<Data>>("/v1/buckets/b1/data/x"), None);
        assert_eq!(
            parse::<Under<Activity>>("/v1/buckets/b1/webhooks/w/deliveries/d/redeliver")
                .map(|u| u.route),
            Some(Activity::Webhooks(Webhooks::Redeliver(
                "w".into(),
                "d".into()
            )))
        );
    }
}
