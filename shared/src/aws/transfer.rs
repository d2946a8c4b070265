//! `SftpDirectory` on AWS Transfer Family: service-managed users of the deployment's SFTP
//! server, each with a logical home (`/` → the bucket incarnation's prefix), the role Transfer
//! assumes for S3, and the session policy that confines him.

use aws_sdk_transfer::Client;
use aws_sdk_transfer::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_transfer::types::{DescribedUser, HomeDirectoryMapEntry, HomeDirectoryType};

use serde_json::json;

use crate::domain::cascade::object_prefix;
use crate::domain::sftp::SessionRights;
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

/// The IAM session policy that confines a Transfer user to `rights`
/// (`domain::sftp::SessionRights`): list and read under its incarnation's prefix; put and
/// delete too when it may write.
pub fn session_policy(rights: &SessionRights) -> String {
    let files_bucket = &rights.files_bucket;
    let prefix = object_prefix(&rights.id, &rights.generation);
    let objects = format!("arn:aws:s3:::{files_bucket}/{prefix}*");
    let mut statements = vec![
        json!({
            "Sid": "ListHome",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": format!("arn:aws:s3:::{files_bucket}"),
            "Condition": {"StringLike": {"s3:prefix": [prefix.clone(), format!("{prefix}*")]}},
        }),
        json!({
            "Sid": "Read",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": objects,
        }),
    ];
    if rights.write {
        statements.push(json!({
            "Sid": "Write",
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:DeleteObject"],
            "Resource": objects,
        }));
        // No server-side copies: Transfer renames by CopyObject, which would carry the
        // original's upload id (its grant) to the new name. A rename is refused; the user
        // downloads and uploads again (`service::direct_writes`).
        statements.push(json!({
            "Sid": "NoCopies",
            "Effect": "Deny",
            "Action": "s3:PutObject",
            "Resource": objects,
            "Condition": {"Null": {"s3:x-amz-copy-source": "false"}},
        }));
    }
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
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
            .policy(session_policy(&user.rights));
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

    async fn set_policy(&self, login: &str, rights: &SessionRights) -> Result<(), StoreError> {
        let out = self
            .client
            .update_user()
            .server_id(&self.server_id)
            .user_name(login)
            .policy(session_policy(rights))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::sftp::home_target;
    use serde_json::Value;

    #[test]
    fn the_session_policy_writes_only_when_asked() {
        let rights = |write| SessionRights {
            files_bucket: "files".into(),
            id: "b1".into(),
            generation: "g1".into(),
            write,
        };
        let read: Value = serde_json::from_str(&session_policy(&rights(false))).unwrap();
        let write: Value = serde_json::from_str(&session_policy(&rights(true))).unwrap();
        let actions = |p: &Value| p["Statement"].to_string();
        assert!(!actions(&read).contains("s3:PutObject"));
        assert!(actions(&write).contains("s3:PutObject"));
        assert!(actions(&read).contains("arn:aws:s3:::files/b1/g1/*"));
        // Writers may not copy (an SFTP rename): a Deny on PutObject with a copy source.
        assert!(actions(&write).contains("s3:x-amz-copy-source"));
        assert_eq!(home_target("files", "b1", "g1"), "/files/b1/g1");
    }
}
