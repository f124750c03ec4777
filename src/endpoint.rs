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

    /// The proxy that reaches this endpoint, if any.
    pub(crate) fn proxy(&self) -> Option<&ureq::Proxy> {
        self.proxy.as_ref()
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
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

/// 127.0.0.0/8, ::1 (and IPv4-mapped loopback), or `localhost`.
pub(crate) fn is_loopback(host: &str) -> bool {
    if host == "localhost" || host.ends_with(".localhost") {
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
