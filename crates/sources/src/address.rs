//! Which hosts and addresses a source may connect to.
//!
//! Link-local addresses (169.254.0.0/16, fe80::/10) and cloud instance-metadata endpoints are refused unless a
//! spec sets `allowLinkLocal`: a catalog URL pointing there is almost always an attempt to read cloud
//! credentials from inside the cluster. Loopback and private ranges stay allowed (local use, tests, in-cluster
//! registries). Hosts are checked twice: literally before a request or redirect ([`check_url`]), and after DNS
//! resolution ([`GuardedResolver`]), so a name that resolves to a forbidden address is refused before any
//! connection is made.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Host names of cloud metadata services (compared case-insensitively, without a trailing dot).
const METADATA_HOSTS: &[&str] = &[
    "metadata.google.internal",
    "metadata.goog",
    "metadata",
    "instance-data",
    "instance-data.ec2.internal",
    "metadata.azure.internal",
    "metadata.tencentyun.com",
    "metadata.platformequinix.com",
];

/// Metadata addresses outside the link-local ranges.
const METADATA_ADDRS: &[IpAddr] = &[
    // AWS IMDS over IPv6.
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)),
    // Alibaba Cloud.
    IpAddr::V4(Ipv4Addr::new(100, 100, 100, 200)),
];

/// A connection refused by the address policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("refusing to connect to {host}: {reason}")]
pub(crate) struct Refused {
    /// The host as written in the URL.
    pub host: String,
    /// Why (names the offending address).
    pub reason: String,
}

/// Why `ip` is refused, if it is.
pub(crate) fn forbidden_ip(ip: IpAddr) -> Option<&'static str> {
    let ip = ip.to_canonical();
    if METADATA_ADDRS.contains(&ip) {
        return Some("a cloud metadata address");
    }
    match ip {
        IpAddr::V4(v4) if v4.is_link_local() => Some("a link-local address (169.254.0.0/16, cloud metadata)"),
        IpAddr::V6(v6) if v6.is_unicast_link_local() => Some("a link-local address (fe80::/10)"),
        _ => None,
    }
}

/// Whether `host` (a DNS name) is a cloud metadata service name.
fn forbidden_name(host: &str) -> bool {
    let host = host.trim_end_matches('.');
    METADATA_HOSTS.iter().any(|m| m.eq_ignore_ascii_case(host))
}

/// Checks the host of `url` as written (IP literal or metadata name); DNS names are checked on resolution.
pub(crate) fn check_url(url: &Url, allow_link_local: bool) -> Result<(), Refused> {
    if allow_link_local {
        return Ok(());
    }
    let refused = |reason: &str| Refused { host: url.host_str().unwrap_or_default().to_owned(), reason: reason.into() };
    match url.host() {
        Some(::url::Host::Ipv4(v4)) => forbidden_ip(IpAddr::V4(v4)).map_or(Ok(()), |r| Err(refused(r))),
        Some(::url::Host::Ipv6(v6)) => forbidden_ip(IpAddr::V6(v6)).map_or(Ok(()), |r| Err(refused(r))),
        Some(::url::Host::Domain(name)) if forbidden_name(name) => Err(refused("a cloud metadata host name")),
        _ => Ok(()),
    }
}

/// Checks resolved addresses of `host`: all must be allowed.
pub(crate) fn check_resolved(host: &str, addrs: &[SocketAddr]) -> Result<(), Refused> {
    if forbidden_name(host) {
        return Err(Refused { host: host.to_owned(), reason: "a cloud metadata host name".into() });
    }
    for addr in addrs {
        if let Some(reason) = forbidden_ip(addr.ip()) {
            return Err(Refused { host: host.to_owned(), reason: format!("it resolves to {}, {reason}", addr.ip()) });
        }
    }
    Ok(())
}

/// A DNS resolver (the system's, via `getaddrinfo`) that refuses names resolving to forbidden addresses.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GuardedResolver;

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            check_resolved(&host, &addrs)?;
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

    #[test]
    fn link_local_and_metadata_literals_are_refused() {
        for bad in [
            "http://169.254.169.254/latest/meta-data/",
            "http://169.254.1.2:8080/x",
            "http://[fe80::1]/",
            "http://[fd00:ec2::254]/",
            "http://[::ffff:169.254.169.254]/",
            "http://100.100.100.200/",
            "http://metadata.google.internal/computeMetadata/v1/",
            "http://METADATA.GOOGLE.INTERNAL./",
        ] {
            assert!(check_url(&url(bad), false).is_err(), "{bad} should be refused");
            assert!(check_url(&url(bad), true).is_ok(), "{bad} should be allowed with allowLinkLocal");
        }
    }

    #[test]
    fn loopback_private_and_public_hosts_are_allowed() {
        for good in [
            "http://127.0.0.1:8080/",
            "http://[::1]/",
            "http://localhost/",
            "http://10.0.0.1/",
            "https://registry.modelcontextprotocol.io/",
        ] {
            assert!(check_url(&url(good), false).is_ok(), "{good} should be allowed");
        }
    }

    #[test]
    fn names_resolving_to_forbidden_addresses_are_refused() {
        let ok: SocketAddr = "127.0.0.1:0".parse().expect("addr");
        let bad: SocketAddr = "169.254.169.254:0".parse().expect("addr");
        let bad6: SocketAddr = "[fe80::1]:0".parse().expect("addr");
        assert!(check_resolved("internal.example", &[ok]).is_ok());
        let err = check_resolved("evil.example", &[ok, bad]).expect_err("refused");
        assert_eq!(err.host, "evil.example");
        assert!(err.reason.contains("169.254.169.254"), "{}", err.reason);
        assert!(check_resolved("evil6.example", &[bad6]).is_err());
    }

    #[tokio::test]
    async fn the_resolver_resolves_localhost() {
        let name: Name = "localhost".parse().expect("name");
        let addrs: Vec<_> = GuardedResolver.resolve(name).await.expect("resolves").collect();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()), "{addrs:?}");
    }
}
