//! The JWKS source of a deployment: an HTTP GET of `JWT_JWKS_URL` through the AWS SDK's own
//! HTTP connector (hyper, rustls on aws-lc-rs, the system's root certificates). Every function
//! already carries that code for DynamoDB and S3, so fetching adds almost nothing to the
//! binaries (a separate HTTP client cost ~120 KB of zip, past the 4 MB budget of `files`).
//! Bounded in time ([`FETCH_TIMEOUT`], also enforced by the cache) and size.

use std::time::Duration;

use aws_smithy_http_client::Connector;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::{HttpConnector, HttpConnectorSettings};
use aws_smithy_runtime_api::http::Request;
use http_body_util::{BodyExt, Limited};

use super::jwks::{FETCH_TIMEOUT, FetchFuture, JwksSource, MAX_JWKS_BYTES};

pub struct HttpJwks {
    url: String,
    /// Built on the first fetch: a TLS configuration reads the system's root certificates,
    /// init time that a function serving API keys or dev tokens never needs.
    connector: std::sync::OnceLock<Connector>,
}

impl HttpJwks {
    /// No I/O: connections are made on the first fetch.
    pub fn new(url: &str) -> Result<HttpJwks, String> {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(format!("JWT_JWKS_URL must be an http(s) URL, got {url:?}"));
        }
        Request::get(url).map_err(|e| format!("JWT_JWKS_URL {url:?}: {e}"))?;
        Ok(HttpJwks {
            url: url.to_string(),
            connector: std::sync::OnceLock::new(),
        })
    }

    fn connector(&self) -> &Connector {
        self.connector.get_or_init(|| {
            Connector::builder()
                .connector_settings(
                    HttpConnectorSettings::builder()
                        .connect_timeout(Duration::from_secs(2))
                        .read_timeout(FETCH_TIMEOUT)
                        .build(),
                )
                .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
                .build()
        })
    }
}

impl JwksSource for HttpJwks {
    fn fetch(&self) -> FetchFuture<'_> {
        Box::pin(async move {
            let url = &self.url;
            let mut req = Request::get(url).map_err(|e| format!("GET {url}: {e}"))?;
            req.headers_mut().insert("accept", "application/json");
            // The connector does not follow redirects: the configured URL is the key set.
            let resp = self
                .connector()
                .call(req)
                .await
                .map_err(|e| format!("GET {url}: {e}"))?;
            let status = resp.status().as_u16();
            if status != 200 {
                return Err(format!("GET {url}: status {status}"));
            }
            let body = Limited::new(resp.into_body(), MAX_JWKS_BYTES)
                .collect()
                .await
                .map_err(|e| {
                    format!("GET {url}: the body (at most {MAX_JWKS_BYTES} bytes): {e}")
                })?;
            Ok(body.to_bytes().to_vec())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_urls_are_accepted_and_nothing_is_fetched_at_init() {
        for bad in ["", "file:///etc/passwd", "ftp://x/jwks", "https://"] {
            assert!(HttpJwks::new(bad).is_err(), "{bad:?}");
        }
        // Port 9 has no listener: building must not connect.
        assert!(HttpJwks::new("http://127.0.0.1:9/.well-known/jwks.json").is_ok());
    }

    #[tokio::test]
    async fn an_unreachable_url_is_an_error_not_a_hang() {
        let source = HttpJwks::new("http://127.0.0.1:9/.well-known/jwks.json").unwrap();
        let got = tokio::time::timeout(FETCH_TIMEOUT * 2, source.fetch()).await;
        assert!(matches!(got, Ok(Err(_))), "{got:?}");
    }
}
