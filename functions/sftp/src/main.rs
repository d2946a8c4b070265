#![recursion_limit = "256"]
//! Lambda: SFTP users of buckets. Thin: build the app and the Transfer client once at init,
//! hand every event to the shared core (`shared::aws::lambda::sftp`).

use shared::api::app::App;
use shared::aws::Resources;
use shared::aws::lambda::sftp::serve_sftp;
use shared::aws::lambda::{init_tracing, leak};
use shared::aws::transfer::TransferDirectory;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let r = Resources::from_env().await?;
    let (server, role) = (
        r.settings.sftp_server_id.clone(),
        r.settings.sftp_role_arn.clone(),
    );
    let directory = leak(TransferDirectory::new(&r.sdk, server, role));
    serve_sftp(leak(App::new(r.settings, r.store, r.objects)?), directory).await
}
