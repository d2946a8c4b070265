//! The Lambda glue of the cascade function: events in, `service::cascade` passes out. The only
//! code that knows these events' shapes. Two kinds of event:
//! - DynamoDB stream records of cascade markers (INSERT when something is deleted, MODIFY when
//!   a pass saved its progress or an operator replayed it): one pass per marker;
//! - `{"replay": true}`, invoked by an operator: re-triggers every pending cascade (after
//!   failures went to the dead-letter queue); `{"replay": true, "idle_seconds": 3600}`, the
//!   hourly sweep: re-triggers those nobody has written for an hour (dead-lettered, or whose
//!   stream records outlived the stream's 24 h retention).
//!
//! A marker whose pass fails fails the invocation, so the event source mapping retries the batch
//! (every pass is idempotent) and, once its retries are spent, sends the batch's description
//! to the dead-letter queue; the marker itself stays in the table until replayed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

use crate::aws::Resources;
use crate::aws::dynamodb::stream::changes;
use crate::config::CascadeSettings;
use crate::domain::time::now_ms;
use crate::service::cascade::{self, Budget, Outcome};

/// Markers of one batch worked on at once (each with its own parallel deletes).
const PARALLEL_MARKERS: usize = 4;
/// Time kept back from the invocation's deadline for the last calls and the progress write.
const DEADLINE_MARGIN: Duration = Duration::from_secs(20);

/// The marker keys a stream event names, in order and once each; `None` when the event is not
/// a stream event. Deletions of markers (REMOVE) and other items are not work.
pub fn stream_marker_keys(event: &Value) -> Option<Vec<String>> {
    let mut keys: Vec<String> = Vec::new();
    for change in changes(event)? {
        if let Some(key) = change.marker_written()
            && !keys.iter().any(|k| k == key)
        {
            keys.push(key.to_string());
        }
    }
    Some(keys)
}

/// When a pass must stop: `pass_secs` from now, and well before the invocation's deadline.
fn pass_end(deadline_ms: u64, pass_secs: u64) -> Instant {
    let left_ms = (deadline_ms as i64 - now_ms()).max(0) as u64;
    let left = Duration::from_millis(left_ms).saturating_sub(DEADLINE_MARGIN);
    Instant::now() + left.min(Duration::from_secs(pass_secs))
}

static DELETE_CALLS: AtomicU64 = AtomicU64::new(0);

/// TEST ONLY: the fault hook of the end-to-end cascade tests. With `CASCADE_FAULT_AFTER_DELETES`
/// = n > 0 the process aborts after n delete calls, as an invocation killed mid-way, to show that
/// the cascade is redelivered and completes (tests/tests/cascade.rs switches it on through
/// infra/local/function_env.py).
///
/// It cannot be switched on in a deployment that is not local; two locks, both needed:
/// 1. the template passes the variable only when its `Environment` parameter is `local`
///    (condition `IsLocal`), and its rule `FaultHookOnlyLocally` refuses a non-zero
///    `CascadeFaultAfterDeletes` otherwise;
/// 2. here, it is honoured only when the SDK's calls go to a local emulator: `AWS_ENDPOINT_URL`
///    is set, it and every service-specific `AWS_ENDPOINT_URL_*` point at a loopback address,
///    and `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` does not make the SDK ignore them (ministack
///    sets `AWS_ENDPOINT_URL` for every function it runs). A function on AWS has no such
///    variable, and one whose calls all go to loopback there reaches no AWS service at all.
///    Set but not honoured, the variable is ignored and an error says so at every start.
///
/// `endpoint_vars` are the process's `AWS_ENDPOINT_URL*` and `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`
/// variables. Returns the number of delete calls after which to abort (0 = never).
fn armed_fault(settings: &CascadeSettings, endpoint_vars: &[(String, String)]) -> u64 {
    let after = settings.fault_after_deletes;
    if after == 0 {
        return 0;
    }
    match local_emulator(endpoint_vars) {
        Ok(()) => {
            // (Not naming the variable: the e2e tests count the lines that do, as kills.)
            tracing::warn!(
                after,
                "test-only fault hook armed: the process aborts after that many delete calls"
            );
            after
        }
        Err(why) => {
            tracing::error!(
                after,
                why,
                "CASCADE_FAULT_AFTER_DELETES IGNORED: it is a test-only setting, honoured only \
                 against a local emulator (AWS_ENDPOINT_URL on a loopback address); remove it \
                 from this deployment"
            );
            0
        }
    }
}

/// The process's variables that decide where the SDK's calls go.
fn endpoint_vars() -> Vec<(String, String)> {
    std::env::vars()
        .filter(|(k, _)| {
            k.starts_with("AWS_ENDPOINT_URL") || k == "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"
        })
        .collect()
}

/// `Ok` when every SDK call goes to a loopback address (a local emulator), else why not.
fn local_emulator(vars: &[(String, String)]) -> Result<(), String> {
    let get = |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim());
    if let Some(v) = get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        && !v.is_empty()
        && !v.eq_ignore_ascii_case("false")
    {
        return Err("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is set".into());
    }
    if get("AWS_ENDPOINT_URL").is_none_or(str::is_empty) {
        return Err("AWS_ENDPOINT_URL is not set".into());
    }
    for (name, value) in vars {
        if name.starts_with("AWS_ENDPOINT_URL") && !is_loopback_url(value) {
            return Err(format!("{name}={value:?} is not a loopback address"));
        }
    }
    Ok(())
}

/// Whether `url`'s host is a loopback address (`127.0.0.0/8`, `::1`, `localhost`,
/// `*.localhost`).
fn is_loopback_url(url: &str) -> bool {
    let Some(host) = url
        .trim()
        .parse::<::http::Uri>()
        .ok()
        .and_then(|u| u.host().map(str::to_ascii_lowercase))
    else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host.ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The hook the cascade calls after each delete call: aborts the process once `after` (> 0)
/// calls were made.
fn fault_hook(after: u64) -> impl Fn() + Send + Sync + use<> {
    move || {
        if after > 0 && DELETE_CALLS.fetch_add(1, Ordering::SeqCst) + 1 >= after {
            tracing::error!(
                after,
                "CASCADE_FAULT_AFTER_DELETES: killing the process mid-cascade (test setting)"
            );
            std::process::abort();
        }
    }
}

/// Serves cascade events until the runtime stops.
pub async fn serve_cascade(r: &'static Resources) -> Result<(), Error> {
    let fault_after = armed_fault(&r.settings.cascade, &endpoint_vars());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handle(r, event.payload, event.context.deadline, fault_after).await
    }))
    .await
}

async fn handle(
    r: &Resources,
    payload: Value,
    deadline_ms: u64,
    fault_after: u64,
) -> Result<Value, Error> {
    if payload.get("replay").and_then(Value::as_bool) == Some(true) {
        // `idle_seconds` (the hourly sweep): only markers nobody has written for that long.
        let idle_since = payload
            .get("idle_seconds")
            .and_then(Value::as_i64)
            .map(|secs| now_ms() - secs * 1000);
        let touched = cascade::replay(&r.store, idle_since)
            .await
            .map_err(|e| Error::from(format!("replay failed: {e:?}")))?;
        tracing::info!(touched, "pending cascades replayed");
        return Ok(json!({"replayed": touched}));
    }
    let Some(keys) = stream_marker_keys(&payload) else {
        return Err(Error::from(
            "not a DynamoDB stream event nor {\"replay\": true}",
        ));
    };
    let hook = fault_hook(fault_after);
    let budget = Budget {
        until: pass_end(deadline_ms, r.settings.cascade.pass_secs),
        after_delete_call: &hook,
    };
    let budget = &budget;
    let results: Vec<_> = stream::iter(keys)
        .map(|key| async move {
            let started = Instant::now();
            let result = cascade::process_marker(&r.store, &r.objects, &key, budget).await;
            (key, started.elapsed(), result)
        })
        .buffer_unordered(PARALLEL_MARKERS)
        .collect()
        .await;
    let mut failed = Vec::new();
    for (marker, elapsed, result) in results {
        let ms = elapsed.as_millis() as u64;
        match result {
            Ok(Outcome::Finished { passes, tally }) => tracing::info!(
                marker,
                passes,
                last_pass_ms = ms,
                calls = tally.calls(),
                list_objects = tally.list_objects,
                delete_objects = tally.delete_objects,
                query = tally.query,
                batch_write_item = tally.batch_write_item,
                other_calls = tally.other_calls,
                objects_deleted = tally.objects_deleted,
                items_deleted = tally.items_deleted,
                "cascade finished"
            ),
            Ok(Outcome::Continued { passes }) => {
                tracing::info!(
                    marker,
                    passes,
                    pass_ms = ms,
                    "cascade continues in a new pass"
                )
            }
            Ok(Outcome::AlreadyDone) => tracing::debug!(marker, "cascade already finished"),
            Err(e) => {
                tracing::error!(marker, error = ?e, "cascade pass failed; it will be retried");
                failed.push(marker);
            }
        }
    }
    if failed.is_empty() {
        Ok(json!({"failed": []}))
    } else {
        // The whole batch is retried: finished markers are gone, so only the failed ones work.
        Err(Error::from(format!("cascade passes failed: {failed:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_events_name_each_marker_to_work_on_once() {
        // The decoding of records is the adapter's (`aws::dynamodb::stream`).
        assert_eq!(stream_marker_keys(&json!({"replay": true})), None);
        assert_eq!(
            stream_marker_keys(&json!({"Records": []})).unwrap().len(),
            0
        );
    }

    #[test]
    fn the_fault_hook_is_armed_only_against_a_loopback_emulator() {
        let on = CascadeSettings {
            pass_secs: 300,
            fault_after_deletes: 2,
        };
        let vars = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        for local in [
            "http://127.0.0.1:4566",
            "http://localhost:4571/",
            "http://[::1]:4566",
            "http://s3.localhost:4566",
            "http://127.1.2.3",
        ] {
            let env = vars(&[("AWS_ENDPOINT_URL", local)]);
            assert_eq!(armed_fault(&on, &env), 2, "{local}");
        }
        let local = ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566");
        for remote in [
            vars(&[]),
            vars(&[("AWS_ENDPOINT_URL", "")]),
            vars(&[(
                "AWS_ENDPOINT_URL",
                "https://dynamodb.us-east-1.amazonaws.com",
            )]),
            vars(&[("AWS_ENDPOINT_URL", "http://10.0.0.1:4566")]),
            vars(&[("AWS_ENDPOINT_URL", "http://localhost.example.com")]),
            vars(&[("AWS_ENDPOINT_URL", "http://127.0.0.1.nip.io")]),
            vars(&[("AWS_ENDPOINT_URL", "not a url")]),
            // A service going elsewhere, or the SDK told to ignore the variables.
            vars(&[local, ("AWS_ENDPOINT_URL_S3", "https://s3.amazonaws.com")]),
            vars(&[local, ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")]),
        ] {
            assert_eq!(armed_fault(&on, &remote), 0, "{remote:?}");
        }
        let env = vars(&[
            local,
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://localhost:4566"),
            ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "false"),
        ]);
        assert_eq!(armed_fault(&on, &env), 2);
        let off = CascadeSettings {
            fault_after_deletes: 0,
            ..on
        };
        assert_eq!(armed_fault(&off, &vars(&[local])), 0);
    }

    #[test]
    fn a_pass_ends_before_the_deadline_and_within_its_seconds() {
        let now = now_ms() as u64;
        let soon = pass_end(now + 900_000, 300);
        let d = soon.duration_since(Instant::now());
        assert!(
            d <= Duration::from_secs(300) && d > Duration::from_secs(290),
            "{d:?}"
        );
        let tight = pass_end(now + 30_000, 300);
        assert!(tight.duration_since(Instant::now()) <= Duration::from_secs(10));
        // Past the deadline: no time, but still a pass (each pass gets through one page).
        assert!(pass_end(now - 1_000, 300) <= Instant::now() + Duration::from_millis(5));
    }
}
