//! The JWKS source of a deployment: an HTTP GET of `JWT_JWKS_URL` (ureq, rustls with the
//! aws-lc-rs provider and the system's root certificates: both already in every function for
//! the AWS SDK, so the binaries grow little). ureq is blocking: the GET runs on tokio's
//! blocking pool, bounded in time and size.

use std::sync::Arc;

use super::jwks::{FETCH_TIMEOUT, FetchFuture, JwksSource, MAX_JWKS_BYTES};

pub struct HttpJwks {
    url: String,
    agent: ureq::Agent,
}

impl HttpJwks {
    /// No I/O but reading the system's root certificates.
    pub fn new(url: &str) -> Result<HttpJwks, String> {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(format!("JWT_JWKS_URL must be an http(s) URL, got {url:?}"));
        }
        let roots: Vec<ureq::tls::Certificate<'static>> = rustls_native_certs::load_native_certs()
            .certs
            .iter()
            .map(|der| ureq::tls::Certificate::from_der(der.as_ref()).to_owned())
            .collect();
        let tls = ureq::tls::TlsConfig::builder()
            .provider(ureq::tls::TlsProvider::Rustls)
            .root_certs(ureq::tls::RootCerts::new_with_certs(&roots))
            .unversioned_rustls_crypto_provider(Arc::new(
                rustls::crypto::aws_lc_rs::default_provider(),
            ))
            .build();
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(FETCH_TIMEOUT))
            .http_status_as_error(false)
            // The configured URL is the key set; a redirect elsewhere is not followed.
            .max_redirects(0)
            .tls_config(tls)
            .build()
            .into();
        Ok(HttpJwks {
            url: url.to_string(),
            agent,
        })
    }
}

impl JwksSource for HttpJwks {
    fn fetch(&self) -> FetchFuture<'_> {
        let (agent, url) = (self.agent.clone(), self.url.clone());
        Box::pin(async move {
            tokio::task::spawn_blocking(move || get(&agent, &url))
                .await
                .map_err(|e| format!("JWKS fetch task: {e}"))?
        })
    }
}

fn get(agent: &ureq::Agent, url: &str) -> Result<Vec<u8>, String> {
    let mut resp = agent
        .get(url)
        .header("Accept", "application/json")
        .call()
        .map_err(|e| format!("GET {url}: {e}"))?;
    if resp.status() != 200 {
        return Err(format!("GET {url}: status {}", resp.status()));
    }
    resp.body_mut()
        .with_config()
        .limit(MAX_JWKS_BYTES as u64)
        .read_to_vec()
        .map_err(|e| format!("GET {url}: the body (at most {MAX_JWKS_BYTES} bytes read): {e}"))
}
