//! Validated base URLs: the API root and the IMS authority.

use std::net::IpAddr;

use crate::Error;
use crate::net_error::Role;

/// A base URL that ec3-gate may send credentials to: `https://` anywhere,
/// plain `http://` only to a loopback host. No user info, query or fragment;
/// no trailing slash (paths are appended to it). It also knows the proxy
/// that reaches it, if any.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    base: String,
    host: String,
    port: u16,
    https: bool,
    role: Role,
    proxy: Option<ureq::Proxy>,
}

impl Endpoint {
    /// Validates `url`; `what` names the setting in the error.
    pub(crate) fn parse(what: &str, url: &str) -> Result<Self, Error> {
        let bad = |reason: &str| {
            Error::config(
                what,
                format!("{reason} (got '{}')", crate::text::one_line(url, 200)),
            )
        };
        if url.contains('@') {
            // Not echoed: what looks like user info may be a password.
            return Err(Error::config(
                what,
                "URL must not contain '@' (user info); credentials come from the environment",
            ));
        }
        if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("URL must not contain spaces or control characters"));
        }
        let (https, rest) = if let Some(rest) = strip_prefix_ci(url, "https://") {
            (true, rest)
        } else if let Some(rest) = strip_prefix_ci(url, "http://") {
            (false, rest)
        } else {
            return Err(bad(
                "URL must start with https:// (or http:// for a loopback host)",
            ));
        };
        if rest.contains(['?', '#']) {
            return Err(bad("URL must not have a query or fragment"));
        }
        let authority = rest.split('/').next().unwrap_or_default();
        let (host, port) = host_of(authority).ok_or_else(|| bad("URL has no valid host"))?;
        if !https && !is_loopback(&host) {
            return Err(bad(
                "plain http:// is only allowed to a loopback host (127.0.0.0/8, ::1, localhost); use https://",
            ));
        }
        let scheme = if https { "https://" } else { "http://" };
        let base = format!("{scheme}{}", rest.trim_end_matches('/'));
        // ureq must accept it too; this catches anything the checks above missed.
        base.parse::<ureq::http::Uri>()
            .map_err(|_| bad("URL is not valid"))?;
        Ok(Self {
            base,
            host,
            port: port.unwrap_or(if https { 443 } else { 80 }),
            https,
            role: Role::Api,
            proxy: None,
        })
    }

    /// The same endpoint, named as `role` in network errors.
    pub(crate) fn with_role(mut self, role: Role) -> Self {
        self.role = role;
        self
    }

    /// Which endpoint this is.
    pub(crate) fn role(&self) -> Role {
        self.role
    }

    /// The port, explicit or the scheme's default.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// `base` + `path` (which starts with `/`).
    pub(crate) fn join(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The host, lowercased, without brackets for IPv6.
    pub(crate) fn host(&self) -> &str {
        &self.host
    }

    /// True for `https://`.
    pub(crate) fn is_https(&self) -> bool {
        self.https
    }

    /// Chooses the proxy for this endpoint from the environment read through
    /// `var` (see [`crate::proxy::select`]).
    pub(crate) fn with_proxy_from(
        mut self,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, Error> {
        self.proxy = crate::proxy::select(&self, var)?;
        Ok(self)
    }

    /// Where a redirect to `location` from `from` (a URL under this
    /// endpoint) leads: the target's endpoint (same role, no proxy chosen
    /// yet) and its URL. `None` when the location is neither an absolute
    /// `http(s)://` URL nor an absolute path, or its host is not valid.
    /// The target is not checked against the URL rule here: the caller
    /// applies it to each hop.
    pub(crate) fn redirect(&self, from: &str, location: &str) -> Option<(Self, String)> {
        let location = location.trim();
        let url = if location.starts_with('/') && !location.starts_with("//") {
            // An absolute path: same scheme, host and port as `from`.
            let scheme_end = from.find("://")? + 3;
            let (origin_start, rest) = from.split_at_checked(scheme_end)?;
            let authority = rest.split('/').next().unwrap_or_default();
            format!("{origin_start}{authority}{location}")
        } else {
            location.to_owned()
        };
        let (https, rest) = if let Some(rest) = strip_prefix_ci(&url, "https://") {
            (true, rest)
        } else {
            (false, strip_prefix_ci(&url, "http://")?)
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.contains('@') || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return None;
        }
        let (host, port) = host_of(authority)?;
        let scheme = if https { "https://" } else { "http://" };
        url.parse::<ureq::http::Uri>().ok()?;
        let target = Self {
            base: format!("{scheme}{authority}"),
            host,
            port: port.unwrap_or(if https { 443 } else { 80 }),
            https,
            role: self.role,
            proxy: None,
        };
        Some((target, url))
    }

    /// The proxy that reaches this endpoint, if any.
    pub(crate) fn proxy(&self) -> Option<&ureq::Proxy> {
        self.proxy.as_ref()
    }
}

pub(crate) fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let (head, rest) = s.split_at_checked(prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then_some(rest)
}

/// The host part of `host[:port]` or `[v6]:port`, lowercased, and the port
/// if given; `None` when the host is empty or the port is not a number.
fn host_of(authority: &str) -> Option<(String, Option<u16>)> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        h.parse::<std::net::Ipv6Addr>().ok()?;
        (h, after.strip_prefix(':'))
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok()?),
        None => None,
    };
    let valid = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b':'));
    valid.then(|| (host.to_ascii_lowercase(), port))
}

/// 127.0.0.0/8, ::1 (and IPv4-mapped loopback), or a loopback name
/// (`localhost`, `*.localhost`), which [`Resolver`] pins to loopback
/// addresses: a name counts as loopback only because it can reach nothing
/// else.
pub(crate) fn is_loopback(host: &str) -> bool {
    if is_loopback_name(host) {
        return true;
    }
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.is_loopback(),
        Ok(IpAddr::V6(v6)) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Err(_) => false,
    }
}

/// `localhost` and `*.localhost` (RFC 6761), with or without a final dot.
fn is_loopback_name(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    host.eq_ignore_ascii_case("localhost")
        || host
            .len()
            .checked_sub(".localhost".len())
            .and_then(|i| host.get(i..))
            .is_some_and(|tail| tail.eq_ignore_ascii_case(".localhost"))
}

/// The address rule of every connection ureq opens, redirects included:
/// loopback names are pinned to `127.0.0.1` and `::1` (as browsers do, so
/// DNS can never send a "loopback" URL elsewhere), and a plain `http://`
/// URL must be a loopback address or name; only the proxies the client was
/// configured with (which carry `https://` requests) are exempt.
#[derive(Debug, Clone, Default)]
pub(crate) struct Resolver {
    /// `(host, port)` of each configured proxy.
    proxies: Vec<(String, u16)>,
}

/// The error a plain-http connection to a non-loopback host fails with.
#[derive(Debug)]
pub(crate) struct LeftLoopback;

impl std::fmt::Display for LeftLoopback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("refused plain http to a host that is not loopback (a redirect?)")
    }
}

impl std::error::Error for LeftLoopback {}

impl Resolver {
    /// The rule, exempting the proxies of `endpoints`.
    pub(crate) fn new(endpoints: &[&Endpoint]) -> Self {
        let proxies = endpoints
            .iter()
            .filter_map(|e| e.proxy())
            .map(|p| (p.host().to_ascii_lowercase(), p.port()))
            .collect();
        Self { proxies }
    }
}

impl ureq::unversioned::resolver::Resolver for Resolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
        let https = uri
            .scheme_str()
            .is_some_and(|s| s.eq_ignore_ascii_case("https"));
        let host = uri.host().unwrap_or_default();
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        if is_loopback_name(&host) {
            let mut addrs = self.empty();
            addrs.truncate(0);
            addrs.push(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
            addrs.push(SocketAddr::from((Ipv6Addr::LOCALHOST, port)));
            return Ok(addrs);
        }
        let proxy = self.proxies.iter().any(|(h, p)| *h == host && *p == port);
        if !https && !proxy && !is_loopback(&host) {
            return Err(ureq::Error::Other(Box::new(LeftLoopback)));
        }
        // The lookup itself (on a helper thread, waited for without std's
        // channels) is resolver.rs's business.
        ureq::unversioned::resolver::Resolver::resolve(
            &crate::resolver::Resolver,
            uri,
            config,
            timeout,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_https_and_loopback_http() {
        let e = Endpoint::parse("ITWIN_API_URL", "https://api.bentley.com/").unwrap();
        assert_eq!(e.join("/x"), "https://api.bentley.com/x");
        assert_eq!(e.host(), "api.bentley.com");
        for ok in [
            "http://127.0.0.1:8080",
            "http://127.1.2.3",
            "http://localhost:1/prefix",
            "http://[::1]:9",
            "HTTPS://Dev-Api.Bentley.com",
        ] {
            assert!(Endpoint::parse("x", ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_insecure_or_odd_urls() {
        for bad in [
            "http://api.bentley.com",
            "http://10.0.0.1",
            "http://127.0.0.1.evil.com",
            "http://localhost@evil.com",
            "https://user:pw@api.bentley.com",
            "ftp://x",
            "api.bentley.com",
            "https://",
            "https://a.com?x=1",
            "https://a.com#f",
            "https://a.com:99999",
            "https://a .com",
            "https://a.com\n",
        ] {
            let err = Endpoint::parse("ITWIN_API_URL", bad).unwrap_err();
            assert!(
                err.to_string().starts_with("ITWIN_API_URL: "),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn loopback_names_are_pinned_and_plain_http_stays_on_loopback() {
        use ureq::unversioned::resolver::Resolver as _;
        let config = ureq::config::Config::default();
        let resolve = |url: &str| {
            let uri: ureq::http::Uri = url.parse().unwrap();
            Resolver::default().resolve(
                &uri,
                &config,
                ureq::unversioned::transport::NextTimeout::default(),
            )
        };
        for name in [
            "http://localhost:9",
            "http://evil.localhost:9",
            "https://A.LOCALHOST.:9",
        ] {
            let addrs = resolve(name).unwrap();
            assert!(
                addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 9),
                "{name}"
            );
        }
        for bad in [
            "http://example.com/",
            "http://10.0.0.1:80",
            "http://localhost.evil.com",
        ] {
            let err = resolve(bad).unwrap_err();
            assert!(err.to_string().contains("not loopback"), "{bad}: {err}");
        }
        assert!(resolve("http://127.0.0.1:9").is_ok());
        let via_proxy = Resolver {
            proxies: vec![("proxy.corp".into(), 3128)],
        };
        let uri: ureq::http::Uri = "http://proxy.corp:3128".parse().unwrap();
        let err = via_proxy
            .resolve(
                &uri,
                &config,
                ureq::unversioned::transport::NextTimeout::default(),
            )
            .map(|_| ())
            .map_err(|e| e.to_string());
        assert!(!err.is_err_and(|e| e.contains("not loopback")));
    }

    #[test]
    fn errors_never_echo_user_info_or_raw_newlines() {
        let err = Endpoint::parse("x", "https://a.com\n::error::x")
            .unwrap_err()
            .to_string();
        assert!(!err.contains('\n'));
        let err = Endpoint::parse("x", "https://me:hunter2@a.com")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("hunter2"), "{err}");
    }
}
