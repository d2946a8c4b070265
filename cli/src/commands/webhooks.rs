//! `buckets webhooks`: a bucket's webhooks (create, list, get, edit, delete, ping, rotate) and
//! their deliveries (list, redeliver). A signing secret is printed once, when it is made.

use super::*;

#[derive(Subcommand)]
pub enum WebhookOp {
    /// List a bucket's webhooks (never their secrets).
    #[command(
        visible_alias = "ls",
        after_help = "Examples:\n  buckets webhooks list reports"
    )]
    List {
        /// The bucket's id.
        bucket: String,
    },
    /// Show one webhook.
    #[command(after_help = "Examples:\n  buckets webhooks get reports wh_5a1c0e9b2f3d4a6b7c8d9e0f")]
    Get {
        /// The bucket's id.
        bucket: String,
        /// The webhook's id (`wh_…`).
        webhook: String,
    },
    /// Add a webhook; prints its id and its signing secret, once.
    #[command(after_help = "Examples:
  buckets webhooks create reports --endpoint https://hooks.example.com/buckets --events file.uploaded
  buckets webhooks create reports --endpoint https://hooks.example.com/csv --events file.uploaded,file.deleted --glob '*.csv'
  buckets webhooks create reports --endpoint http://127.0.0.1:8080/hook --events data.updated   (local stack only)")]
    Create {
        /// The bucket's id.
        bucket: String,
        #[command(flatten)]
        hook: Hook,
        /// Create it turned off (nothing is sent until `webhooks edit --active true`).
        #[arg(long)]
        inactive: bool,
    },
    /// Change a webhook's endpoint, events, glob, or turn it on or off.
    #[command(after_help = "Examples:
  buckets webhooks edit reports wh_5a1c0e9b2f3d4a6b7c8d9e0f --events file.uploaded,file.deleted
  buckets webhooks edit reports wh_5a1c0e9b2f3d4a6b7c8d9e0f --active true
  buckets webhooks edit reports wh_5a1c0e9b2f3d4a6b7c8d9e0f --glob ''     every file again")]
    Edit {
        /// The bucket's id.
        bucket: String,
        /// The webhook's id (`wh_…`).
        webhook: String,
        #[command(flatten)]
        hook: HookChange,
        /// Turn it on (true) or off (false).
        #[arg(long, value_name = "true|false")]
        active: Option<bool>,
    },
    /// Delete a webhook.
    #[command(
        visible_alias = "rm",
        after_help = "Examples:\n  buckets webhooks delete reports wh_5a1c0e9b2f3d4a6b7c8d9e0f"
    )]
    Delete {
        /// The bucket's id.
        bucket: String,
        /// The webhook's id (`wh_…`).
        webhook: String,
    },
    /// Send a `webhook.ping` event now (to test a receiver).
    #[command(
        after_help = "Examples:\n  buckets webhooks ping reports wh_5a1c0e9b2f3d4a6b7c8d9e0f"
    )]
    Ping {
        /// The bucket's id.
        bucket: String,
        /// The webhook's id (`wh_…`).
        webhook: String,
    },
    /// Make a new signing secret (printed once); the old one also signs for 24 hours.
    #[command(
        after_help = "Examples:\n  buckets webhooks rotate reports wh_5a1c0e9b2f3d4a6b7c8d9e0f"
    )]
    Rotate {
        /// The bucket's id.
        bucket: String,
        /// The webhook's id (`wh_…`).
        webhook: String,
    },
    /// List a webhook's recent deliveries (kept 30 days), newest first.
    #[command(after_help = "Examples:
  buckets webhooks deliveries reports wh_5a1c0e9b2f3d4a6b7c8d9e0f
  buckets webhooks deliveries reports wh_5a1c0e9b2f3d4a6b7c8d9e0f --all --output json")]
    Deliveries {
        /// The bucket's id.
        bucket: String,
        /// The webhook's id (`wh_…`).
        webhook: String,
        /// At most this many deliveries, the newest.
        #[arg(long, default_value_t = 100, value_name = "N")]
        limit: usize,
        /// Every delivery kept (all pages), whatever --limit says.
        #[arg(long)]
        all: bool,
    },
    /// Send a delivery again (a new round of attempts).
    #[command(after_help = "Examples:
  buckets webhooks redeliver reports wh_5a1c0e9b2f3d4a6b7c8d9e0f dl_1765101234120_0123456789abcdef")]
    Redeliver {
        /// The bucket's id.
        bucket: String,
        /// The webhook's id (`wh_…`).
        webhook: String,
        /// The delivery's id (`dl_…`, from `webhooks deliveries`).
        delivery: String,
    },
}

/// What a new webhook is. Its URL is `--endpoint` (the API's `url`): `--url` is the API's.
#[derive(clap::Args)]
pub struct Hook {
    /// The URL events are POSTed to (the API's `url`): https, of a public address.
    #[arg(long, value_name = "URL")]
    endpoint: String,
    /// The events to send, comma-separated or repeated: bucket.updated, bucket.deleted,
    /// data.updated, file.uploaded, file.deleted, file.rejected.
    #[arg(
        long,
        alias = "event",
        value_delimiter = ',',
        required = true,
        value_name = "EVENT,…"
    )]
    events: Vec<String>,
    /// Only file events of the files whose name matches this glob (e.g. `*.csv`).
    #[arg(long)]
    glob: Option<String>,
}

/// What a change of a webhook may change.
#[derive(clap::Args)]
pub struct HookChange {
    /// A new URL to POST events to.
    #[arg(long, value_name = "URL")]
    endpoint: Option<String>,
    /// The new list of events, comma-separated or repeated.
    #[arg(long, alias = "event", value_delimiter = ',', value_name = "EVENT,…")]
    events: Vec<String>,
    /// A new glob for file events (`''`: every file).
    #[arg(long)]
    glob: Option<String>,
}

fn hooks_path(bucket: &str) -> String {
    format!("{}/webhooks", bucket_path(bucket))
}

fn hook_path(bucket: &str, hook: &str) -> String {
    format!("{}/{}", hooks_path(bucket), segment(hook))
}

const HOOKS: [Col; 6] = [
    col("ID", "/id"),
    col("URL", "/url"),
    col("EVENTS", "/events"),
    col("GLOB", "/glob"),
    col("ACTIVE", "/active"),
    col("CREATED", "/created").time(),
];

const DELIVERIES: [Col; 8] = [
    col("ID", "/id"),
    col("EVENT", "/event"),
    col("STATUS", "/status"),
    col("ATTEMPTS", "/attempts"),
    col("LAST STATUS", "/last_status"),
    col("LAST ATTEMPT", "/last_attempt_at").time(),
    col("NEXT ATTEMPT", "/next_attempt_at").time(),
    col("LAST ERROR", "/last_error"),
];

/// An answer holding a new secret: the webhook and the secret, said once and plainly.
fn with_secret(a: &Value, verb: &str, out: &Out) {
    let (id, secret) = (
        a["data"]["id"].as_str().unwrap_or(""),
        a["secret"].as_str().unwrap_or(""),
    );
    let told = format!(
        "Webhook {id} {verb}: {} to {}.\nIts signing secret, shown only this once (keep it now):\n{secret}",
        text(&a["data"]["events"], ", "),
        a["data"]["url"].as_str().unwrap_or("")
    );
    out.print_as(a, &told, &format!("{id}\t{secret}"));
}

pub(super) fn webhooks(api: &Api, op: WebhookOp, out: &Out) -> Result<(), Failure> {
    match op {
        WebhookOp::List { bucket } => {
            let items = api.get(&hooks_path(&bucket))?.body["data"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            out.list(&items, &HOOKS, "webhook");
        }
        WebhookOp::Get { bucket, webhook } => {
            out.show(&api.get(&hook_path(&bucket, &webhook))?.body)
        }
        WebhookOp::Create {
            bucket,
            hook,
            inactive,
        } => {
            let mut body =
                json!({"url": hook.endpoint, "events": hook.events, "active": !inactive});
            if let Some(g) = hook.glob {
                body["glob"] = json!(g);
            }
            let a = api.send("POST", &hooks_path(&bucket), &body)?.body;
            with_secret(&a, "created", out);
        }
        WebhookOp::Edit {
            bucket,
            webhook,
            hook,
            active,
        } => {
            let mut body = fields([("url", hook.endpoint), ("glob", hook.glob)]);
            if !hook.events.is_empty() {
                body["events"] = json!(hook.events);
            }
            if let Some(a) = active {
                body["active"] = json!(a);
            }
            let a = api
                .send("PATCH", &hook_path(&bucket, &webhook), &body)?
                .body;
            out.print(&a, &format!("{webhook} updated"));
        }
        WebhookOp::Delete { bucket, webhook } => {
            let a = api
                .call("DELETE", &hook_path(&bucket, &webhook), None, &[])?
                .body;
            out.print(&a, &format!("{webhook} deleted"));
        }
        WebhookOp::Ping { bucket, webhook } => {
            let path = format!("{}/ping", hook_path(&bucket, &webhook));
            let a = api.send("POST", &path, &json!({}))?.body;
            let id = a["data"]["id"].as_str().unwrap_or("");
            out.print_as(&a, &format!("ping sent: delivery {id}"), id);
        }
        WebhookOp::Rotate { bucket, webhook } => {
            let path = format!("{}/rotate", hook_path(&bucket, &webhook));
            let a = api.send("POST", &path, &json!({}))?.body;
            with_secret(&a, "has a new secret", out);
        }
        WebhookOp::Deliveries {
            bucket,
            webhook,
            limit,
            all,
        } => {
            let path = format!("{}/deliveries", hook_path(&bucket, &webhook));
            let items = pages(api, &path, limit, all)?;
            out.list(&items, &DELIVERIES, "delivery");
        }
        WebhookOp::Redeliver {
            bucket,
            webhook,
            delivery,
        } => {
            let path = format!(
                "{}/deliveries/{}/redeliver",
                hook_path(&bucket, &webhook),
                segment(&delivery)
            );
            let a = api.send("POST", &path, &json!({}))?.body;
            out.print(&a, &format!("{delivery} queued again"));
        }
    }
    Ok(())
}
