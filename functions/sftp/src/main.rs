#![recursion_limit = "256"]
//! Lambda: SFTP users of buckets. Thin: build the app and the Transfer client once at init,
//! hand every event to the shared core (`shared::aws::lambda::sftp`): the SFTP routes, the
//! stream records of removed users, the reconciliation schedule.

use serde_json::json;
use shared::api::app::App;
use shared::api::sftp;
use shared::aws::Resources;
use shared::aws::dynamodb::DynamoStore;
use shared::aws::lambda::init_tracing;
use shared::aws::lambda::sftp::serve_sftp;
use shared::aws::s3::S3Objects;
use shared::aws::transfer::TransferDirectory;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let r = Resources::from_env().await?;
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let directory: &'static TransferDirectory = Box::leak(Box::new(TransferDirectory::new(
        &r.sdk,
        var("SFTP_SERVER_ID"),
        var("SFTP_ROLE_ARN"),
    )));
    let app: &'static App<DynamoStore, S3Objects> =
        Box::leak(Box::new(App::new(r.settings, r.store, r.objects)?));
    let services = &app.services;
    serve_sftp(
        app.settings(),
        |req| async move { sftp::handle(app, directory, &req).await },
        |changes| async move {
            for (id, generation, username) in changes.removed {
                services
                    .sftp_user_removed(directory, &id, &generation, &username)
                    .await
                    .map_err(|e| format!("removing SFTP user {id}.{username}: {e:?}"))?;
            }
            for (id, generation, username) in changes.changed {
                services
                    .sftp_user_changed(directory, &id, &generation, &username)
                    .await
                    .map_err(|e| format!("SFTP user {id}.{username}: {e:?}"))?;
            }
            for id in changes.activity {
                services
                    .sftp_bucket_activity(directory, &id)
                    .await
                    .map_err(|e| format!("SFTP policies of bucket {id}: {e:?}"))?;
            }
            Ok(())
        },
        || async move {
            let done = services
                .reconcile_registered()
                .await
                .map_err(|e| format!("reconciliation failed: {e:?}"))?;
            let resynced = services
                .resync_suspended_users(directory)
                .await
                .map_err(|e| format!("syncing suspended SFTP users: {e:?}"))?;
            Ok(json!({"reconciled": done, "suspended_synced": resynced}))
        },
    )
    .await
}
