//! `SftpDirectory` on AWS Transfer Family: service-managed users of the deployment's SFTP
//! server, each with a logical home (`/` → the bucket incarnation's prefix), the role Transfer
//! assumes for S3, and the session policy that confines him.

use aws_sdk_transfer::Client;
use aws_sdk_transfer::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_transfer::types::{DescribedUser, HomeDirectoryMapEntry, HomeDirectoryType};

use crate::ports::{DirectoryUser, SftpDirectory, StoreError};

pub struct TransferDirectory {
    client: Client,
    server_id: String,
    role_arn: String,
}

impl TransferDirectory {
    pub fn new(sdk: &aws_config::SdkConfig, server_id: String, role_arn: String) -> Self {
        TransferDirectory {
            client: Client::new(sdk),
            server_id,
            role_arn,
        }
    }
}

fn classify<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    err: SdkError<E, R>,
) -> StoreError {
    match &err {
        SdkError::ServiceError(e) => match e.err().code() {
            Some("ResourceExistsException") => StoreError::Conflict,
            Some("ThrottlingException" | "ServiceUnavailableException") => {
                StoreError::Unavailable(format!("{err:?}"))
            }
            _ => StoreError::Other(format!("{err:?}")),
        },
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => {
            StoreError::Unavailable(format!("{err:?}"))
        }
        _ => StoreError::Other(format!("{err:?}")),
    }
}

fn not_found<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    matches!(err, SdkError::ServiceError(e) if e.err().code() == Some("ResourceNotFoundException"))
}

/// A call's answer, a missing user (or key) counting as `None`.
fn unless_missing<T, E, R>(result: Result<T, SdkError<E, R>>) -> Result<Option<T>, StoreError>
where
    E: ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    match result {
        Ok(out) => Ok(Some(out)),
        Err(e) if not_found(&e) => Ok(None),
        Err(e) => Err(classify(e)),
    }
}

impl TransferDirectory {
    /// DescribeUser; `None` if there is no such user.
    async fn describe(&self, login: &str) -> Result<Option<DescribedUser>, StoreError> {
        let out = self
            .client
            .describe_user()
            .server_id(&self.server_id)
            .user_name(login)
            .send()
            .await;
        Ok(unless_missing(out)?.and_then(|o| o.user))
    }
}

impl SftpDirectory for TransferDirectory {
    async fn create_user(&self, user: &DirectoryUser) -> Result<Vec<String>, StoreError> {
        let home = HomeDirectoryMapEntry::builder()
            .entry("/")
            .target(&user.home)
            .build()
            .map_err(|e| StoreError::Other(e.to_string()))?;
        // CreateUser takes one key; the others are imported after it.
        let mut create = self
            .client
            .create_user()
            .server_id(&self.server_id)
            .user_name(&user.login)
            .role(&self.role_arn)
            .home_directory_type(HomeDirectoryType::Logical)
            .home_directory_mappings(home)
            .policy(&user.policy);
        if let Some(first) = user.keys.first() {
            create = create.ssh_public_key_body(first);
        }
        create.send().await.map_err(classify)?;
        let mut ids = Vec::with_capacity(user.keys.len());
        if !user.keys.is_empty() {
            // The id Transfer gave the key imported with the user.
            let first = self.keys_of(&user.login).await?.unwrap_or_default();
            ids.push(
                first
                    .into_iter()
                    .next()
                    .map(|(id, _)| id)
                    .unwrap_or_default(),
            );
        }
        for body in user.keys.iter().skip(1) {
            ids.push(self.import_key(&user.login, body).await?);
        }
        Ok(ids)
    }

    async fn set_policy(&self, login: &str, policy: &str) -> Result<(), StoreError> {
        let out = self
            .client
            .update_user()
            .server_id(&self.server_id)
            .user_name(login)
            .policy(policy)
            .send()
            .await;
        // As the port says: a missing user is `Conflict`.
        unless_missing(out)?.map(|_| ()).ok_or(StoreError::Conflict)
    }

    async fn import_key(&self, login: &str, body: &str) -> Result<String, StoreError> {
        let out = self
            .client
            .import_ssh_public_key()
            .server_id(&self.server_id)
            .user_name(login)
            .ssh_public_key_body(body)
            .send()
            .await
            .map_err(classify)?;
        Ok(out.ssh_public_key_id().to_string())
    }

    async fn delete_key(&self, login: &str, key_id: &str) -> Result<(), StoreError> {
        let out = self
            .client
            .delete_ssh_public_key()
            .server_id(&self.server_id)
            .user_name(login)
            .ssh_public_key_id(key_id)
            .send()
            .await;
        unless_missing(out).map(|_| ())
    }

    async fn keys_of(&self, login: &str) -> Result<Option<Vec<(String, String)>>, StoreError> {
        Ok(self.describe(login).await?.map(|u| {
            u.ssh_public_keys()
                .iter()
                .map(|k| {
                    (
                        k.ssh_public_key_id().to_string(),
                        k.ssh_public_key_body().to_string(),
                    )
                })
                .collect()
        }))
    }

    async fn home_of(&self, login: &str) -> Result<Option<String>, StoreError> {
        Ok(self.describe(login).await?.and_then(|u| {
            u.home_directory_mappings()
                .iter()
                .find(|m| m.entry() == "/")
                .map(|m| m.target().to_string())
        }))
    }

    async fn delete_user(&self, login: &str) -> Result<(), StoreError> {
        let out = self
            .client
            .delete_user()
            .server_id(&self.server_id)
            .user_name(login)
            .send()
            .await;
        unless_missing(out).map(|_| ())
    }
}
