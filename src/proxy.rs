//! Proxy selection with curl's semantics.
//!
//! ureq alone uses one proxy for every scheme (even `http://127.0.0.1`) and
//! does not trim spaces in `NO_PROXY`. Users expect what curl does, so the
//! choice is made here, per endpoint, and handed to ureq explicitly.

use std::net::IpAddr;

use crate::Error;
use crate::endpoint::{Endpoint, is_loopback};

/// The proxy to use for `endpoint`, read through `var` (the environment in
/// production, a map in tests):
/// - `https://` uses `https_proxy`/`HTTPS_PROXY`; `http://` uses `http_proxy`
///   (lowercase only, as curl, because `HTTP_PROXY` can be set by a CGI
///   request header); both fall back to `all_proxy`/`ALL_PROXY`.
/// - `no_proxy`/`NO_PROXY`: comma-separated, spaces trimmed, `*` for all,
///   domain suffixes with or without a leading dot, IP addresses and CIDR ranges.
/// - Loopback hosts never go through a proxy.
///
/// Empty variables count as unset.
pub(crate) fn select(
    endpoint: &Endpoint,
    var: impl Fn(&str) -> Option<String>,
) -> Result<Option<ureq::Proxy>, Error> {
    let get = |names: &[&str]| {
        names.iter().find_map(|&n| {
            var(n)
                .filter(|v| !v.trim().is_empty())
                .map(|v| (n.to_owned(), v))
        })
    };
    let host = endpoint.host();
    if is_loopback(host) {
        return Ok(None);
    }
    if let Some((_, list)) = get(&["no_proxy", "NO_PROXY"]) {
        if no_proxy_matches(&list, host) {
            return Ok(None);
        }
    }
    let chosen = if endpoint.is_https() {
        get(&["https_proxy", "HTTPS_PROXY"])
    } else {
        get(&["http_proxy"])
    }
    .or_else(|| get(&["all_proxy", "ALL_PROXY"]));
    let Some((name, value)) = chosen else {
        return Ok(None);
    };
    parse(&name, value.trim()).map(Some)
}

fn parse(name: &str, value: &str) -> Result<ureq::Proxy, Error> {
    let url = if value.contains("://") {
        value.to_owned()
    } else {
        format!("http://{value}")
    };
    let scheme = url
        .split("://")
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(Error::config(
            name,
            format!(
                "proxy scheme '{}' is not supported (use http:// or https://)",
                crate::text::one_line(&scheme, 20)
            ),
        ));
    }
    // The value is not echoed: proxy URLs often carry a password.
    ureq::Proxy::new(&url).map_err(|_| Error::config(name, "not a valid proxy URL"))
}

/// curl's `NO_PROXY` matching for one host (already lowercased).
fn no_proxy_matches(list: &str, host: &str) -> bool {
    let host_ip = host.parse::<IpAddr>().ok();
    list.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            let entry = entry.to_ascii_lowercase();
            if let Some(ip) = host_ip {
                return ip_matches(ip, entry.trim_start_matches('[').trim_end_matches(']'));
            }
            let domain = entry.trim_start_matches('.');
            host == domain
                || host
                    .strip_suffix(domain)
                    .is_some_and(|rest| rest.ends_with('.'))
        })
}

fn ip_matches(ip: IpAddr, entry: &str) -> bool {
    let (net, bits) = match entry.split_once('/') {
        Some((net, bits)) => match bits.parse::<u32>() {
            Ok(bits) => (net, bits),
            Err(_) => return false,
        },
        None => (entry, u32::MAX),
    };
    match (ip, net.parse::<IpAddr>()) {
        (IpAddr::V4(a), Ok(IpAddr::V4(b))) => prefix_eq(&a.octets(), &b.octets(), bits.min(32)),
        (IpAddr::V6(a), Ok(IpAddr::V6(b))) => prefix_eq(&a.octets(), &b.octets(), bits.min(128)),
        _ => false,
    }
}

fn prefix_eq(a: &[u8], b: &[u8], bits: u32) -> bool {
    let full = (bits / 8) as usize;
    let rest = bits % 8;
    a[..full] == b[..full] && (rest == 0 || (a[full] ^ b[full]) >> (8 - rest) == 0)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn pick(url: &str, vars: &[(&str, &str)]) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let endpoint = Endpoint::parse("url", url).unwrap();
        select(&endpoint, |n| map.get(n).cloned())
            .unwrap()
            .map(|p| format!("{}:{}", p.host(), p.port()))
    }

    #[test]
    fn scheme_specific_then_all_proxy() {
        let vars = [("HTTPS_PROXY", "sec:3128"), ("ALL_PROXY", "all:1")];
        assert_eq!(
            pick("https://api.bentley.com", &vars).as_deref(),
            Some("sec:3128")
        );
        assert_eq!(
            pick("https://api.bentley.com", &[("ALL_PROXY", "all:1")]).as_deref(),
            Some("all:1")
        );
        assert_eq!(pick("https://api.bentley.com", &[]), None);
        assert_eq!(
            pick("https://api.bentley.com", &[("HTTPS_PROXY", "")]),
            None
        );
    }

    #[test]
    fn loopback_is_never_proxied() {
        let vars = [("http_proxy", "p:1"), ("ALL_PROXY", "p:1")];
        assert_eq!(pick("http://127.0.0.1:9", &vars), None);
        assert_eq!(pick("http://localhost:9", &vars), None);
    }

    #[test]
    fn no_proxy_like_curl() {
        let proxied =
            |url: &str, no: &str| pick(url, &[("HTTPS_PROXY", "p:1"), ("NO_PROXY", no)]).is_some();
        assert!(!proxied("https://api.bentley.com", "a.com, bentley.com"));
        assert!(!proxied("https://api.bentley.com", " .bentley.com "));
        assert!(!proxied("https://api.bentley.com", "*"));
        assert!(proxied("https://api.bentley.com", "tley.com"));
        assert!(proxied("https://api.bentley.com", "other.com"));
        assert!(!proxied("https://10.1.2.3", "10.0.0.0/8"));
        assert!(proxied("https://11.1.2.3", "10.0.0.0/8"));
        assert!(!proxied("https://10.1.2.3", "10.1.2.3"));
        assert!(!proxied("https://API.Bentley.COM", "BENTLEY.com"));
    }

    #[test]
    fn unsupported_or_bad_proxy_is_a_config_error_without_echo() {
        let endpoint = Endpoint::parse("url", "https://api.bentley.com").unwrap();
        let err = select(&endpoint, |n| {
            (n == "HTTPS_PROXY").then(|| "socks5://u:pw@h:1".into())
        })
        .unwrap_err();
        assert!(err.is_usage());
        assert!(!err.to_string().contains("pw"));
    }
}
