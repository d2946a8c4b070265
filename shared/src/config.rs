//! Deployment settings, read once at Lambda init from the environment (no network).
//! Every setting, its variable and its default is listed in docs/configuration.md.

use crate::domain::multipart::{MAX_OBJECT_SIZE, MAX_PART_SIZE, MIB, MIN_PART_SIZE};
use crate::domain::pagination::CursorKeys;

/// xyOps's upload defaults: 100 files per bucket, 1 GiB per file, any type.
pub const DEFAULT_MAX_FILES_PER_BUCKET: u64 = 100;
pub const DEFAULT_MAX_FILE_SIZE: u64 = 1024 * 1024 * 1024;

/// The deployment's upload limits: a domain value (`domain::limits`), read here.
pub use crate::domain::limits::UploadSettings;

/// Multipart uploads: files of `threshold` bytes or more are uploaded in parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipartSettings {
    /// `MULTIPART_THRESHOLD` (default 64 MiB, at least 5 MiB: S3's smallest part).
    pub threshold: u64,
    /// `MULTIPART_PART_SIZE` (default 64 MiB, 5 MiB to 5 GiB); grown for files that would
    /// need more than 10,000 parts (`domain::multipart::plan`).
    pub part_size: u64,
    /// `MULTIPART_PLAN_TTL` (default 86400 s): how long a multipart grant stays open (part
    /// URLs themselves live `UPLOAD_URL_TTL`).
    pub plan_ttl_secs: u64,
}

/// The longest a token may live, `exp - iat`, by default (one day).
pub const DEFAULT_MAX_TOKEN_LIFETIME_SECS: u64 = 86_400;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSettings {
    pub hs256_secret: Option<String>,
    /// One or more PEM public keys (RSA → RS256, EC P-256 → ES256).
    pub public_keys_pem: Option<String>,
    /// A JWKS document given inline (never fetched).
    pub jwks: Option<String>,
    /// Required `iss` / `aud` of tokens verified with the keys above (not the provider's).
    pub issuer: Option<String>,
    pub audience: Option<String>,
    /// The identity provider's JWKS, fetched on first need (`JWT_JWKS_URL`).
    pub jwks_url: Option<String>,
    /// The `iss` of the provider's tokens (`JWT_JWKS_ISSUER`; required with the URL).
    pub jwks_issuer: Option<String>,
    /// The app client id the provider's tokens name in `aud` or `client_id`
    /// (`JWT_JWKS_AUDIENCE`; required with the URL).
    pub jwks_audience: Option<String>,
    /// How clients sign in, advertised by `GET /v1/` (nothing here is used to verify).
    pub sign_in: SignIn,
    /// A token whose `exp - iat` (or `exp - now` without `iat`) is longer is refused
    /// (`MAX_TOKEN_LIFETIME`, seconds).
    pub max_token_lifetime_secs: u64,
}

/// The identity provider as `GET /v1/` advertises it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignIn {
    /// `cognito` or `oidc` (`AUTH_PROVIDER`); unset: no provider is advertised.
    pub provider: Option<String>,
    /// `COGNITO_USER_POOL_ID`, `COGNITO_REGION`.
    pub user_pool_id: Option<String>,
    pub region: Option<String>,
    /// The cognito-idp endpoint clients call `InitiateAuth` on (`COGNITO_ENDPOINT`).
    pub endpoint: Option<String>,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            hs256_secret: None,
            public_keys_pem: None,
            jwks: None,
            issuer: None,
            audience: None,
            jwks_url: None,
            jwks_issuer: None,
            jwks_audience: None,
            sign_in: SignIn::default(),
            max_token_lifetime_secs: DEFAULT_MAX_TOKEN_LIFETIME_SECS,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The public base URL (scheme, host and any path prefix) for absolute URLs in responses;
    /// when unset it is taken from the request.
    pub public_base_url: Option<String>,
    /// `false` turns both DELETE bucket routes off (usebuckets' account setting).
    pub api_delete_enabled: bool,
    pub upload: UploadSettings,
    pub auth: AuthSettings,
    /// Lifetime of presigned upload URLs (default 15 min).
    pub upload_url_ttl_secs: u64,
    /// Lifetime of presigned download URLs (default 5 min).
    pub download_url_ttl_secs: u64,
    /// Days a replaced file version is kept (default 7); S3's lifecycle rule expires it.
    pub version_retention_days: u64,
    /// `true`: a permalink also needs read permission on the bucket (default: the link is a
    /// capability, as in xyOps).
    pub permalink_requires_read: bool,
    /// Largest data document, in bytes of JSON (default 256 KiB).
    pub data_max_bytes: u64,
    /// Older revisions of a data document kept readable (default 10).
    pub data_revisions_kept: u64,
    /// Days a bucket's history entries are kept (`HISTORY_RETENTION_DAYS`, default 90; the
    /// table's TTL removes older ones).
    pub history_retention_days: u64,
    /// `WEBHOOKS_ALLOW_LOOPBACK`: webhooks may point at loopback addresses over plain http
    /// (local tests only; default false: https and public addresses only).
    pub webhooks_allow_loopback: bool,
    /// `WEBHOOK_RETRY_PERCENT`: the retry schedule's waits, in percent (default 100; local
    /// tests shorten it).
    pub webhook_retry_percent: u64,
    pub cascade: CascadeSettings,
    pub multipart: MultipartSettings,
    /// The keys that sign page cursors (`CURSOR_KEYS`: `kid:secret[,kid:secret…]`, current
    /// first). Only the HTTP functions read cursors, and they refuse to start without it
    /// (`api::app::App::new`): a per-process random key would not verify across Lambda
    /// instances, and a built-in one would let anyone forge cursors.
    pub cursor_keys: Option<CursorKeys>,
    /// The deployment's SFTP endpoint (`host`, `host:port` when not 22) shown on buckets and
    /// users; `None`: no SFTP server (`SFTP_HOST`).
    pub sftp_host: Option<String>,
    /// The files bucket (`FILES_BUCKET`): SFTP users' homes and session policies name it.
    pub files_bucket: Option<String>,
    /// The Transfer Family server SFTP users are made on (`SFTP_SERVER_ID`) and the role
    /// their sessions assume (`SFTP_ROLE_ARN`); empty when the deployment has no SFTP.
    pub sftp_server_id: String,
    pub sftp_role_arn: String,
}

/// The delete cascade's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CascadeSettings {
    /// Seconds of work one pass (one invocation) does before it saves its progress and hands
    /// over to the next (default 300; the function's timeout is 900).
    pub pass_secs: u64,
}

impl Settings {
    pub fn from_env() -> Result<Settings, String> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` (the environment in production, a map in tests).
    /// Empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Settings, String> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let number = |name: &str, default: u64| -> Result<u64, String> {
            match get(name) {
                None => Ok(default),
                Some(v) => v
                    .parse()
                    .map_err(|_| format!("{name} must be a whole number, got {v:?}")),
            }
        };
        let flag = |name: &str, default: bool| -> Result<bool, String> {
            match get(name).as_deref() {
                None => Ok(default),
                Some("true") | Some("1") | Some("yes") => Ok(true),
                Some("false") | Some("0") | Some("no") => Ok(false),
                Some(other) => Err(format!("{name} must be true or false, got {other:?}")),
            }
        };
        let api_delete_enabled = flag("API_DELETE_ENABLED", true)?;
        let sign_in = SignIn {
            provider: match get("AUTH_PROVIDER") {
                Some(p) if p == "cognito" || p == "oidc" => Some(p),
                Some(p) => return Err(format!("AUTH_PROVIDER must be cognito or oidc, got {p:?}")),
                None => None,
            },
            user_pool_id: get("COGNITO_USER_POOL_ID"),
            region: get("COGNITO_REGION").or_else(|| get("AWS_REGION")),
            endpoint: get("COGNITO_ENDPOINT"),
        };
        let cognito = cognito_provider(&sign_in, get("COGNITO_CLIENT_ID"))?;
        Ok(Settings {
            public_base_url: get("PUBLIC_BASE_URL").map(|u| u.trim_end_matches('/').to_string()),
            api_delete_enabled,
            upload: UploadSettings {
                max_files_per_bucket: number("MAX_FILES_PER_BUCKET", DEFAULT_MAX_FILES_PER_BUCKET)?,
                max_file_size: match number("MAX_FILE_SIZE", DEFAULT_MAX_FILE_SIZE)? {
                    n if n > MAX_OBJECT_SIZE => {
                        return Err(format!(
                            "MAX_FILE_SIZE must be at most {MAX_OBJECT_SIZE} (5 TiB, S3's largest object)"
                        ));
                    }
                    n => n,
                },
                accepted_file_types: get("ACCEPTED_FILE_TYPES")
                    .map(|v| {
                        v.split(',')
                            .map(|t| t.trim().to_string())
                            .filter(|t| !t.is_empty())
                            .collect()
                    })
                    .unwrap_or_default(),
                max_bytes_per_bucket: number("MAX_BYTES_PER_BUCKET", 0)?,
            },
            auth: AuthSettings {
                hs256_secret: get("JWT_HS256_SECRET"),
                public_keys_pem: get("JWT_PUBLIC_KEYS"),
                jwks: get("JWT_JWKS"),
                issuer: get("JWT_ISSUER"),
                audience: get("JWT_AUDIENCE"),
                jwks_url: get("JWT_JWKS_URL").or(cognito.jwks_url),
                jwks_issuer: get("JWT_JWKS_ISSUER").or(cognito.issuer),
                jwks_audience: get("JWT_JWKS_AUDIENCE").or(cognito.client_id),
                sign_in: SignIn {
                    endpoint: cognito.endpoint.or(sign_in.endpoint),
                    ..sign_in
                },
                max_token_lifetime_secs: match number(
                    "MAX_TOKEN_LIFETIME",
                    DEFAULT_MAX_TOKEN_LIFETIME_SECS,
                )? {
                    0 => return Err("MAX_TOKEN_LIFETIME must be at least 1 second".into()),
                    n => n,
                },
            },
            upload_url_ttl_secs: number("UPLOAD_URL_TTL", 900)?,
            download_url_ttl_secs: number("DOWNLOAD_URL_TTL", 300)?,
            version_retention_days: match number("FILE_VERSION_RETENTION_DAYS", 7)? {
                0 => return Err("FILE_VERSION_RETENTION_DAYS must be at least 1".into()),
                n => n.min(3650),
            },
            permalink_requires_read: flag("PERMALINK_REQUIRES_READ", false)?,
            sftp_host: get("SFTP_HOST"),
            files_bucket: get("FILES_BUCKET"),
            sftp_server_id: get("SFTP_SERVER_ID").unwrap_or_default(),
            sftp_role_arn: get("SFTP_ROLE_ARN").unwrap_or_default(),
            data_max_bytes: number("DATA_MAX_BYTES", 256 * 1024)?,
            data_revisions_kept: number("DATA_REVISIONS_KEPT", 10)?,
            webhooks_allow_loopback: flag("WEBHOOKS_ALLOW_LOOPBACK", false)?,
            webhook_retry_percent: number("WEBHOOK_RETRY_PERCENT", 100)?,
            history_retention_days: number(
                "HISTORY_RETENTION_DAYS",
                crate::domain::history::DEFAULT_RETENTION_DAYS,
            )?,
            cascade: CascadeSettings {
                pass_secs: number("CASCADE_PASS_SECONDS", 300)?,
            },
            multipart: MultipartSettings {
                threshold: match number("MULTIPART_THRESHOLD", 64 * MIB)? {
                    n if n < MIN_PART_SIZE => {
                        return Err("MULTIPART_THRESHOLD must be at least 5242880 (5 MiB)".into());
                    }
                    n => n,
                },
                part_size: match number("MULTIPART_PART_SIZE", 64 * MIB)? {
                    n if !(MIN_PART_SIZE..=MAX_PART_SIZE).contains(&n) => {
                        return Err(
                            "MULTIPART_PART_SIZE must be from 5242880 (5 MiB) to 5 GiB".into()
                        );
                    }
                    n => n,
                },
                // At most a day: the files bucket's lifecycle rule aborts an incomplete multipart
                // upload a day after it started, and a plan must not outlive its S3 upload.
                plan_ttl_secs: match number("MULTIPART_PLAN_TTL", 86_400)? {
                    0 => return Err("MULTIPART_PLAN_TTL must be at least 1 second".into()),
                    n if n > 86_400 => {
                        return Err("MULTIPART_PLAN_TTL is at most 86400 (the lifecycle rule \
                                    aborts incomplete uploads after a day)"
                            .into());
                    }
                    n => n,
                },
            },
            cursor_keys: get("CURSOR_KEYS")
                .map(|v| CursorKeys::parse(&v))
                .transpose()?,
        })
    }
}

/// What a Cognito user pool implies (`AUTH_PROVIDER=cognito` with `COGNITO_USER_POOL_ID`):
/// its issuer (always the AWS form: the emulator signs with it too), its JWKS under the
/// cognito-idp endpoint (`COGNITO_ENDPOINT`, default AWS's for the region: locally the
/// emulator, since the AWS issuer does not resolve there), the app client as audience.
#[derive(Default)]
struct CognitoProvider {
    issuer: Option<String>,
    jwks_url: Option<String>,
    client_id: Option<String>,
    endpoint: Option<String>,
}

fn cognito_provider(
    sign_in: &SignIn,
    client_id: Option<String>,
) -> Result<CognitoProvider, String> {
    let (Some("cognito"), Some(pool)) = (sign_in.provider.as_deref(), &sign_in.user_pool_id) else {
        return Ok(CognitoProvider::default());
    };
    let region = sign_in
        .region
        .as_deref()
        .ok_or("AUTH_PROVIDER=cognito needs COGNITO_REGION (or AWS_REGION)")?;
    let aws = format!("https://cognito-idp.{region}.amazonaws.com");
    let endpoint = sign_in
        .endpoint
        .as_deref()
        .unwrap_or(&aws)
        .trim_end_matches('/');
    Ok(CognitoProvider {
        issuer: Some(format!("{aws}/{pool}")),
        jwks_url: Some(format!("{endpoint}/{pool}/.well-known/jwks.json")),
        client_id,
        endpoint: Some(format!("{endpoint}/")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults() {
        let s = settings(&[]).unwrap();
        assert!(s.api_delete_enabled);
        assert_eq!(s.upload.max_files_per_bucket, 100);
        assert_eq!(s.upload.max_file_size, 1 << 30);
        assert!(s.upload.accepted_file_types.is_empty());
        assert_eq!(s.upload.max_bytes_per_bucket, 0);
        assert_eq!(s.upload.max_bytes(), None);
        assert_eq!(s.public_base_url, None);
        assert_eq!(s.auth, AuthSettings::default());
        assert_eq!((s.upload_url_ttl_secs, s.download_url_ttl_secs), (900, 300));
        assert!(!s.permalink_requires_read);
        assert_eq!(s.cascade.pass_secs, 300);
        assert_eq!(s.auth.max_token_lifetime_secs, 86_400);
        assert_eq!(s.cursor_keys, None);
    }

    #[test]
    fn token_lifetime_and_cursor_keys() {
        let s = settings(&[
            ("MAX_TOKEN_LIFETIME", "3600"),
            (
                "CURSOR_KEYS",
                "k2:0123456789abcdef0123456789abcdef,k1:fedcba9876543210fedcba9876543210",
            ),
        ])
        .unwrap();
        assert_eq!(s.auth.max_token_lifetime_secs, 3600);
        assert_eq!(s.cursor_keys.unwrap().current_id(), "k2");
        assert!(settings(&[("MAX_TOKEN_LIFETIME", "0")]).is_err());
        assert!(settings(&[("MAX_TOKEN_LIFETIME", "-5")]).is_err());
        assert!(settings(&[("CURSOR_KEYS", "k1:too-short")]).is_err());
        assert!(settings(&[("CURSOR_KEYS", "no-secret")]).is_err());
    }

    #[test]
    fn byte_quota_per_bucket() {
        let s = settings(&[("MAX_BYTES_PER_BUCKET", "5000")]).unwrap();
        assert_eq!(s.upload.max_bytes_per_bucket, 5000);
        assert_eq!(s.upload.max_bytes(), Some(5000));
        assert_eq!(
            settings(&[("MAX_BYTES_PER_BUCKET", "0")])
                .unwrap()
                .upload
                .max_bytes(),
            None
        );
        assert!(settings(&[("MAX_BYTES_PER_BUCKET", "-1")]).is_err());
        assert!(settings(&[("MAX_BYTES_PER_BUCKET", "5 GB")]).is_err());
    }

    #[test]
    fn a_cognito_pool_implies_issuer_jwks_audience_and_endpoint() {
        let cognito = [
            ("AUTH_PROVIDER", "cognito"),
            ("COGNITO_USER_POOL_ID", "eu-west-1_p"),
            ("COGNITO_CLIENT_ID", "client"),
            ("COGNITO_REGION", "eu-west-1"),
        ];
        let s = settings(&cognito).unwrap().auth;
        assert_eq!(
            s.jwks_issuer.as_deref(),
            Some("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_p")
        );
        assert_eq!(
            s.jwks_url.as_deref(),
            Some("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_p/.well-known/jwks.json")
        );
        assert_eq!(s.jwks_audience.as_deref(), Some("client"));
        assert_eq!(
            s.sign_in.endpoint.as_deref(),
            Some("https://cognito-idp.eu-west-1.amazonaws.com/")
        );
        // Locally: the JWKS from the emulator; the issuer keeps the AWS form.
        let local = [
            cognito.as_slice(),
            &[("COGNITO_ENDPOINT", "http://127.0.0.1:4577")],
        ]
        .concat();
        let local = settings(&local).unwrap().auth;
        assert_eq!(
            local.jwks_url.as_deref(),
            Some("http://127.0.0.1:4577/eu-west-1_p/.well-known/jwks.json")
        );
        assert_eq!(local.jwks_issuer, s.jwks_issuer);
        assert_eq!(
            local.sign_in.endpoint.as_deref(),
            Some("http://127.0.0.1:4577/")
        );
        // A region is needed to name the issuer.
        assert!(settings(&cognito[..3]).is_err());
        // An external issuer: given as is.
        let oidc = settings(&[
            ("AUTH_PROVIDER", "oidc"),
            ("JWT_JWKS_URL", "https://login.example.com/jwks"),
            ("JWT_JWKS_ISSUER", "https://login.example.com/"),
            ("JWT_JWKS_AUDIENCE", "buckets"),
        ])
        .unwrap()
        .auth;
        assert_eq!(
            oidc.jwks_url.as_deref(),
            Some("https://login.example.com/jwks")
        );
        assert_eq!(oidc.sign_in.endpoint, None);
    }

    #[test]
    fn values_and_errors() {
        let s = settings(&[
            ("API_DELETE_ENABLED", "false"),
            ("PUBLIC_BASE_URL", "http://x/y/"),
            ("ACCEPTED_FILE_TYPES", "image/*, text/csv"),
            ("JWT_HS256_SECRET", "s"),
        ])
        .unwrap();
        assert!(!s.api_delete_enabled);
        assert_eq!(s.public_base_url.as_deref(), Some("http://x/y"));
        assert_eq!(s.upload.accepted_file_types, vec!["image/*", "text/csv"]);
        assert_eq!(s.auth.hs256_secret.as_deref(), Some("s"));
        assert!(settings(&[("API_DELETE_ENABLED", "maybe")]).is_err());
        assert!(settings(&[("AUTH_PROVIDER", "saml")]).is_err());
        assert!(settings(&[("MAX_FILE_SIZE", "big")]).is_err());
        assert!(settings(&[("MAX_FILE_SIZE", "5497558138881")]).is_err());
        assert!(settings(&[("MAX_FILE_SIZE", "5497558138880")]).is_ok());
        assert!(settings(&[("MULTIPART_THRESHOLD", "5242879")]).is_err());
        assert!(settings(&[("MULTIPART_PART_SIZE", "1024")]).is_err());
        assert!(settings(&[("MULTIPART_PLAN_TTL", "0")]).is_err());
        let s = settings(&[]).unwrap();
        assert_eq!(
            (
                s.multipart.threshold,
                s.multipart.part_size,
                s.multipart.plan_ttl_secs
            ),
            (64 << 20, 64 << 20, 86_400)
        );
    }
}
