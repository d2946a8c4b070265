//! Whom a webhook may reach: its URL's rules, and the addresses a delivery may connect to.

use std::net::IpAddr;

use super::MAX_URL_BYTES;
use crate::domain::error::RuleError;

/// Whom deliveries may reach: `allow_loopback` (a deployment setting for local tests only)
/// also lets `http` URLs and loopback addresses through.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UrlPolicy {
    pub allow_loopback: bool,
}

/// Where a URL points: what the delivery connects to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
    /// The host is an address, not a name (no DNS to check).
    pub ip: Option<IpAddr>,
}

/// Checks a webhook URL: absolute `https` (or `http` when loopback is allowed), a host, no
/// credentials, no fragment, bounded; an address literal must be allowed.
pub fn check_url(raw: &str, policy: UrlPolicy) -> Result<Target, RuleError> {
    let bad = |why: &str| RuleError::invalid("url", why.to_string());
    if raw.len() > MAX_URL_BYTES {
        return Err(bad(&format!("is longer than {MAX_URL_BYTES} bytes")));
    }
    if raw.chars().any(|c| c.is_control() || c.is_whitespace()) || raw.contains('#') {
        return Err(bad("may not hold spaces, control characters or a fragment"));
    }
    let uri: http::Uri = raw.parse().map_err(|_| bad("is not a URL"))?;
    let scheme = uri.scheme_str().unwrap_or_default();
    let default_port = match scheme {
        "https" => 443,
        "http" if policy.allow_loopback => 80,
        _ => return Err(bad("must be an https URL")),
    };
    let authority = uri.authority().ok_or_else(|| bad("has no host"))?;
    if authority.as_str().contains('@') {
        return Err(bad("may not carry credentials"));
    }
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    if host.is_empty() {
        return Err(bad("has no host"));
    }
    let host = host.to_ascii_lowercase();
    let ip = host.parse::<IpAddr>().ok();
    if let Some(ip) = ip
        && let Some(why) = address_refused(ip, policy)
    {
        return Err(bad(&format!("points at {ip}, {why}")));
    }
    if ip.is_none()
        && !policy.allow_loopback
        && (host == "localhost" || host.ends_with(".localhost"))
    {
        return Err(bad("points at a loopback name"));
    }
    let port = authority.port_u16().unwrap_or(default_port);
    if port == 0 {
        return Err(bad("has port 0"));
    }
    Ok(Target { host, port, ip })
}

/// Why a delivery may not connect to `ip`, `None` if it may: only globally reachable unicast
/// addresses (`domain::addresses`, the IANA registries) are allowed, and loopback when the
/// policy says so. The reason says nothing of the address's kind.
pub fn address_refused(ip: IpAddr, policy: UrlPolicy) -> Option<&'static str> {
    (!crate::domain::addresses::reachable(ip, policy.allow_loopback))
        .then_some("not a public address")
}
