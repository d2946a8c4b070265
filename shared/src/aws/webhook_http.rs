//! `WebhookSender` over the AWS SDK's own HTTP connector (hyper, rustls on aws-lc-rs, the
//! system's roots; already in every function, see `auth::http`), with a DNS resolver that
//! answers only addresses the policy allows. The connection is made to an address that was
//! checked in the same resolution, so a name that changes its answer between a check and the
//! connection (DNS rebinding) cannot reach a refused address. Redirects are not followed.

use std::net::IpAddr;
use std::sync::OnceLock;
use std::time::Duration;

use aws_smithy_http_client::Connector;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::dns::{DnsFuture, ResolveDns, ResolveDnsError};
use aws_smithy_runtime_api::client::http::{HttpConnector, HttpConnectorSettings};
use aws_smithy_runtime_api::http::Request;
use aws_smithy_types::body::SdkBody;

use crate::domain::webhooks::{ATTEMPT_TIMEOUT, Answer, Target, UrlPolicy, address_refused};
use crate::ports::WebhookSender;

/// A name that does not resolve in this long is refused (a request creating a webhook waits
/// for it).
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(3);

/// The addresses `name` resolves to, if every one is allowed: a name that answers a single
/// refused address among allowed ones is refused whole (the connector could pick it), before
/// any connection. The refusal names no address: what an internal name resolves to is not
/// for the webhook's creator to learn (the deliveries list shows this error).
async fn resolve_allowed(name: &str, policy: UrlPolicy) -> Result<Vec<IpAddr>, String> {
    let lookup = tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((name, 0)));
    let found: Vec<IpAddr> = lookup
        .await
        .map_err(|_| format!("{name} does not resolve within {RESOLVE_TIMEOUT:?}"))?
        .map_err(|_| format!("{name} does not resolve"))?
        .map(|a| a.ip())
        .collect();
    vet_addresses(name, found, policy)
}

/// The addresses a name resolved to, if there are some and every one is allowed.
fn vet_addresses(name: &str, found: Vec<IpAddr>, policy: UrlPolicy) -> Result<Vec<IpAddr>, String> {
    if found.is_empty() {
        return Err(format!("{name} resolves to no address"));
    }
    if found
        .iter()
        .any(|ip| address_refused(*ip, policy).is_some())
    {
        return Err(format!("{name} resolves to an address that is not public"));
    }
    Ok(found)
}

#[derive(Debug, Clone, Copy)]
struct VettingResolver {
    policy: UrlPolicy,
}

impl ResolveDns for VettingResolver {
    fn resolve_dns<'a>(&'a self, name: &'a str) -> DnsFuture<'a> {
        let policy = self.policy;
        DnsFuture::new(async move {
            resolve_allowed(name, policy)
                .await
                .map_err(ResolveDnsError::new)
        })
    }
}

/// Receivers over HTTPS (HTTP when the policy allows loopback).
#[derive(Default)]
pub struct HttpSender {
    /// Built on the first delivery (reading the system's roots is init time a request that
    /// never delivers does not need); the policy is the deployment's, the same every call.
    connector: OnceLock<Connector>,
}

impl HttpSender {
    fn connector(&self, policy: UrlPolicy) -> &Connector {
        self.connector.get_or_init(|| {
            Connector::builder()
                .connector_settings(
                    HttpConnectorSettings::builder()
                        .connect_timeout(Duration::from_secs(5))
                        .read_timeout(ATTEMPT_TIMEOUT)
                        .build(),
                )
                .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
                .build_with_resolver(VettingResolver { policy })
        })
    }
}

impl WebhookSender for HttpSender {
    async fn post(
        &self,
        url: &str,
        target: &Target,
        policy: UrlPolicy,
        headers: &[(&str, String)],
        body: &str,
    ) -> Answer {
        // An address literal skips the resolver: `check_url` refused the bad ones.
        if let Some(ip) = target.ip
            && let Some(why) = address_refused(ip, policy)
        {
            return Answer::Failed(format!("{ip} is {why}"));
        }
        let mut req = Request::new(SdkBody::from(body.to_string()));
        if let Err(e) = req.set_uri(url) {
            return Answer::Failed(format!("the URL is not usable: {e}"));
        }
        if let Err(e) = req.set_method("POST") {
            return Answer::Failed(format!("POST: {e}"));
        }
        for (name, value) in headers {
            req.headers_mut().insert(name.to_string(), value.clone());
        }
        match tokio::time::timeout(ATTEMPT_TIMEOUT, self.connector(policy).call(req)).await {
            Ok(Ok(resp)) => Answer::Status(resp.status().as_u16()),
            Ok(Err(e)) => Answer::Failed(describe(&e)),
            Err(_) => Answer::Failed(format!("no answer in {ATTEMPT_TIMEOUT:?}")),
        }
    }

    async fn vet(&self, target: &Target, policy: UrlPolicy) -> Result<(), String> {
        match target.ip {
            Some(_) => Ok(()),
            None => resolve_allowed(&target.host, policy).await.map(|_| ()),
        }
    }
}

/// The innermost cause of a connector error (what a user can act on: refused, DNS, TLS).
fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause: &(dyn std::error::Error + 'static) = e;
    let mut text = e.to_string();
    while let Some(next) = cause.source() {
        text = next.to_string();
        cause = next;
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: UrlPolicy = UrlPolicy {
        allow_loopback: false,
    };

    #[tokio::test]
    async fn names_that_reach_refused_addresses_are_refused() {
        let refused = resolve_allowed("localhost", STRICT).await.unwrap_err();
        assert_eq!(
            refused,
            "localhost resolves to an address that is not public"
        );
        let local = UrlPolicy {
            allow_loopback: true,
        };
        assert!(resolve_allowed("localhost", local).await.is_ok());
        // One refused address among public ones refuses the name, whatever its position.
        let ips = |list: &[&str]| list.iter().map(|a| a.parse().unwrap()).collect::<Vec<_>>();
        for list in [
            &["8.8.8.8", "10.0.0.1"][..],
            &["192.0.2.2", "8.8.8.8"],
            &["2606:4700::1111", "fec0::1"],
        ] {
            let why = vet_addresses("h.example", ips(list), STRICT).unwrap_err();
            assert_eq!(why, "h.example resolves to an address that is not public");
            assert!(vet_addresses("h.example", ips(list), local).is_err());
        }
        assert!(vet_addresses("h.example", ips(&["8.8.8.8", "2606:4700::1111"]), STRICT).is_ok());
        assert!(vet_addresses("h.example", vec![], STRICT).is_err());
    }

    #[tokio::test]
    async fn a_name_of_a_refused_address_is_never_connected_to() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let url = format!("http://localhost:{port}/");
        let target = Target {
            host: "localhost".into(),
            port,
            ip: None,
        };
        let got = HttpSender::default()
            .post(&url, &target, STRICT, &[], "{}")
            .await;
        assert_eq!(
            got,
            Answer::Failed("localhost resolves to an address that is not public".into())
        );
        let accepted = listener.accept();
        assert!(
            matches!(&accepted, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
            "the receiver was connected to: {accepted:?}"
        );
    }

    #[tokio::test]
    async fn a_refused_literal_is_never_connected_to() {
        let sender = HttpSender::default();
        let target = Target {
            host: "169.254.169.254".into(),
            port: 80,
            ip: Some("169.254.169.254".parse().unwrap()),
        };
        let got = sender
            .post("http://169.254.169.254/", &target, STRICT, &[], "{}")
            .await;
        assert!(
            matches!(got, Answer::Failed(ref why) if why == "169.254.169.254 is not a public address"),
            "{got:?}"
        );
    }
}
