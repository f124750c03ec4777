//! Network failures in words: which endpoint, which phase, what cause, and
//! whether trying again can help.
//!
//! [`classify`] turns what ureq reports (often a bare `io::Error`) into a
//! [`NetError`]; [`NetError::persistence`] is the one place that decides
//! whether a failure is final, worth a brief retry, or worth retrying until
//! the deadline. The CLI, the C library and the Action print its `Display`.

use std::fmt;
use std::io;

use crate::endpoint::{Endpoint, LeftLoopback};
use crate::text::one_line;

/// Which endpoint a request was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Role {
    /// The Carbon Calculation API.
    Api,
    /// The IMS authority that issues tokens.
    Authority,
    /// An HTTP proxy on the way to the API or the authority.
    Proxy,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Api => "API",
            Self::Authority => "authority",
            Self::Proxy => "proxy",
        })
    }
}

/// How far a request got before it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Phase {
    /// Looking up the host's addresses.
    Resolve,
    /// Opening the TCP connection (or the proxy's tunnel).
    Connect,
    /// The TLS handshake, including the certificate check.
    Tls,
    /// Sending the request.
    Send,
    /// Reading the answer.
    Read,
}

/// What was wrong with a server's certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertProblem {
    /// A CA certificate presented as the server's own: what `openssl req
    /// -x509` makes by default, a self-signed certificate.
    SelfSigned,
    /// Signed by no trusted authority (self-signed, or a private CA that is
    /// not in the trust store).
    UnknownIssuer,
    /// Past its validity period.
    Expired,
    /// Not yet in its validity period.
    NotYetValid,
    /// Revoked by its issuer.
    Revoked,
    /// Issued for other names than the one asked for.
    NotValidFor(String),
    /// Anything else rustls refused, in its words.
    Other(String),
}

impl fmt::Display for CertProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SelfSigned => f.write_str("self-signed"),
            Self::UnknownIssuer => f.write_str(
                "unknown issuer: self-signed, or from a CA that is not trusted here; see --ca-cert",
            ),
            Self::Expired => f.write_str("expired"),
            Self::NotYetValid => f.write_str("not yet valid"),
            Self::Revoked => f.write_str("revoked"),
            Self::NotValidFor(name) => write!(f, "not valid for {name}"),
            Self::Other(what) => f.write_str(what),
        }
    }
}

/// The cause of a network failure.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Cause {
    /// The host name does not resolve.
    NotResolved,
    /// Nothing listens on the port (or a firewall said no).
    Refused,
    /// The connection was reset or closed before the answer was complete.
    Reset,
    /// The phase did not finish in time.
    TimedOut,
    /// The server's certificate is not trusted.
    Certificate(CertProblem),
    /// The TLS handshake failed for another reason (rustls's words).
    Tls(String),
    /// The proxy answered `CONNECT` with this status.
    ProxyRefused(u16),
    /// A redirect that can never be followed (too many, to another scheme,
    /// from https to http), or a URL ureq cannot use.
    Unusable(String),
    /// The deadline passed before the request could be sent.
    DeadlineReached,
    /// Anything else, in words (never an `io::ErrorKind` alone).
    Other(String),
}

/// Whether trying again can help, decided by [`NetError::persistence`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    /// It will fail the same way: stop at once.
    Permanent,
    /// It may heal soon (a resolver hiccup), but not in minutes: retry only
    /// a few times, within 30 seconds in all.
    Brief,
    /// It may heal (a restart, a network blip): retry until the deadline.
    UntilDeadline,
}

/// A network failure: the endpoint, the phase and the cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetError {
    role: Role,
    host: String,
    port: u16,
    phase: Phase,
    cause: Cause,
    /// For a proxy: the endpoint the proxy was asked to reach.
    via_for: Option<String>,
}

impl NetError {
    /// A failure of `phase` at `host:port` (the `role` endpoint).
    pub fn new(role: Role, host: &str, port: u16, phase: Phase, cause: Cause) -> Self {
        Self {
            role,
            host: host.to_owned(),
            port,
            phase,
            cause,
            via_for: None,
        }
    }

    /// Which endpoint failed.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The host that failed (the proxy's, for [`Role::Proxy`]).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port that failed.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// How far the request got.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// What went wrong.
    pub fn cause(&self) -> &Cause {
        &self.cause
    }

    /// Whether trying again can help: the one rule for every caller.
    /// Certificates, a proxy refusing us (4xx, such as `407`) and unusable
    /// URLs never heal by waiting; a name that does not resolve rarely does
    /// (CI resolvers hiccup, typos do not heal); the rest may.
    pub fn persistence(&self) -> Persistence {
        match &self.cause {
            Cause::Certificate(_) | Cause::Tls(_) | Cause::Unusable(_) => Persistence::Permanent,
            Cause::ProxyRefused(status) if (400..500).contains(status) => Persistence::Permanent,
            Cause::NotResolved => Persistence::Brief,
            Cause::TimedOut if self.phase == Phase::Resolve => Persistence::Brief,
            _ => Persistence::UntilDeadline,
        }
    }

    /// True when the request surely never reached the server, so even a
    /// request that must not run twice may be sent again.
    pub(crate) fn surely_not_sent(&self) -> bool {
        matches!(self.phase, Phase::Resolve | Phase::Connect | Phase::Tls)
    }

    fn at(endpoint: &Endpoint, phase: Phase, cause: Cause) -> Self {
        Self::new(
            endpoint.role(),
            endpoint.host(),
            endpoint.port(),
            phase,
            cause,
        )
    }

    /// The same failure, blamed on the proxy that reaches `endpoint`.
    fn at_proxy(endpoint: &Endpoint, proxy: &ureq::Proxy, phase: Phase, cause: Cause) -> Self {
        Self {
            via_for: Some(format!(
                "{} {}:{}",
                endpoint.role(),
                endpoint.host(),
                endpoint.port()
            )),
            ..Self::new(Role::Proxy, proxy.host(), proxy.port(), phase, cause)
        }
    }

    /// A request to `endpoint` that cannot be made as asked (a redirect
    /// that cannot be followed): final, named.
    pub(crate) fn unusable(endpoint: &Endpoint, phase: Phase, what: impl Into<String>) -> Self {
        Self::at(endpoint, phase, Cause::Unusable(what.into()))
    }

    /// The deadline passed before a request to `endpoint` could be sent.
    pub(crate) fn deadline(endpoint: &Endpoint) -> Self {
        Self::at(endpoint, Phase::Send, Cause::DeadlineReached)
    }
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let phase = match self.phase {
            Phase::Resolve => "resolving",
            Phase::Connect => "connecting to",
            Phase::Tls => "TLS handshake with",
            Phase::Send => "sending to",
            Phase::Read => "reading from",
        };
        let (role, host, port) = (self.role, &self.host, self.port);
        write!(f, "{phase} {role} {host}:{port}")?;
        if let Some(target) = &self.via_for {
            write!(f, " (for {target})")?;
        }
        f.write_str(": ")?;
        match &self.cause {
            Cause::NotResolved => write!(f, "could not resolve host {host}"),
            Cause::Refused => f.write_str("connection refused"),
            Cause::Reset => f.write_str("connection reset or closed by the server"),
            Cause::TimedOut => f.write_str("timed out"),
            Cause::Certificate(problem) => write!(f, "certificate not trusted ({problem})"),
            Cause::Tls(what) => write!(f, "TLS handshake failed: {what}"),
            Cause::ProxyRefused(status) => {
                let reason = ureq::http::StatusCode::from_u16(*status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("");
                write!(f, "proxy {host}:{port} refused CONNECT: {status} {reason}")
            }
            Cause::Unusable(what) | Cause::Other(what) => f.write_str(what),
            Cause::DeadlineReached => f.write_str("deadline reached before the request was sent"),
        }
    }
}

/// What ureq reported for a request to `endpoint`, in words. `None` for
/// errors that are not about the network (an oversized body is the
/// service's fault, not the network's).
pub(crate) fn classify(error: &ureq::Error, endpoint: &Endpoint) -> Option<NetError> {
    use ureq::{Error as E, Timeout as T};
    let proxy = endpoint.proxy();
    // Until the tunnel stands, a failure is the proxy's.
    let early = |phase: Phase, cause: Cause| match proxy {
        Some(p) => NetError::at_proxy(endpoint, p, phase, cause),
        None => NetError::at(endpoint, phase, cause),
    };
    let late = |phase: Phase, cause: Cause| NetError::at(endpoint, phase, cause);
    Some(match error {
        E::HostNotFound => early(Phase::Resolve, Cause::NotResolved),
        E::Timeout(T::Resolve) => early(Phase::Resolve, Cause::TimedOut),
        E::Timeout(T::Connect) => early(Phase::Connect, Cause::TimedOut),
        E::Timeout(T::SendRequest | T::SendBody | T::PerWrite | T::Await100) => {
            late(Phase::Send, Cause::TimedOut)
        }
        E::Timeout(_) => late(Phase::Read, Cause::TimedOut),
        E::ConnectionFailed => early(Phase::Connect, Cause::Refused),
        E::ConnectProxyFailed(reason) => match proxy_status(reason) {
            Some(status) => early(Phase::Connect, Cause::ProxyRefused(status)),
            None => early(Phase::Connect, Cause::Other(one_line(reason, 200))),
        },
        E::Rustls(e) => late(Phase::Tls, tls_cause(e)),
        E::Tls(what) => late(Phase::Tls, Cause::Tls((*what).to_owned())),
        E::TooManyRedirects => late(Phase::Read, Cause::Unusable("too many redirects".into())),
        E::RedirectFailed => late(
            Phase::Read,
            Cause::Unusable("a redirect could not be followed".into()),
        ),
        E::RequireHttpsOnly(_) => late(
            Phase::Read,
            Cause::Unusable("refused a redirect from https to plain http".into()),
        ),
        E::BadUri(_) => late(
            Phase::Send,
            Cause::Unusable("URL not usable (unsupported scheme or malformed)".into()),
        ),
        E::Io(e) => io_error(e, early, late),
        // The connection rule (endpoint.rs) refused a plain-http host off
        // loopback, as a redirect can ask: following it never will work.
        E::Other(e) if e.is::<LeftLoopback>() => {
            late(Phase::Connect, Cause::Unusable(LeftLoopback.to_string()))
        }
        E::BodyExceedsLimit(_) => return None,
        E::BodyStalled => late(Phase::Read, Cause::TimedOut),
        E::InvalidProxyUrl => early(
            Phase::Connect,
            Cause::Unusable("the proxy URL is not usable".into()),
        ),
        // A network failure of some other kind (a resolver's own error, say)
        // may pass.
        E::Other(e) => late(Phase::Read, Cause::Other(one_line(&e.to_string(), 200))),
        // The rest is an answer no retry changes (a malformed status line,
        // an oversized header, a body that does not decode) or a setting
        // that is wrong: final at once, named.
        other => late(
            Phase::Read,
            Cause::Unusable(one_line(&other.to_string(), 200)),
        ),
    })
}

fn io_error(
    e: &io::Error,
    early: impl Fn(Phase, Cause) -> NetError,
    late: impl Fn(Phase, Cause) -> NetError,
) -> NetError {
    use io::ErrorKind as K;
    // rustls reports a failed handshake as an io::Error wrapping its own.
    if let Some(tls) = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        return late(Phase::Tls, tls_cause(tls));
    }
    match e.kind() {
        K::ConnectionRefused => early(Phase::Connect, Cause::Refused),
        K::TimedOut | K::WouldBlock => early(Phase::Connect, Cause::TimedOut),
        K::NetworkUnreachable => early(Phase::Connect, Cause::Other("network unreachable".into())),
        K::HostUnreachable => early(Phase::Connect, Cause::Other("host unreachable".into())),
        K::NetworkDown => early(Phase::Connect, Cause::Other("network is down".into())),
        K::AddrNotAvailable => early(
            Phase::Connect,
            Cause::Other("no local address to connect from".into()),
        ),
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
            late(Phase::Read, Cause::Reset)
        }
        // The message says more than the kind ("uncategorized error").
        _ => late(Phase::Read, Cause::Other(one_line(&e.to_string(), 200))),
    }
}

/// `407` from ureq's "proxy server responded 407/407".
fn proxy_status(reason: &str) -> Option<u16> {
    let rest = reason.strip_prefix("proxy server responded ")?;
    rest.split('/').next()?.trim().parse().ok()
}

fn tls_cause(e: &rustls::Error) -> Cause {
    use rustls::CertificateError as C;
    let rustls::Error::InvalidCertificate(cert) = e else {
        return Cause::Tls(one_line(&e.to_string(), 200));
    };
    Cause::Certificate(match cert {
        C::UnknownIssuer => CertProblem::UnknownIssuer,
        C::Expired | C::ExpiredContext { .. } => CertProblem::Expired,
        C::NotValidYet | C::NotValidYetContext { .. } => CertProblem::NotYetValid,
        C::Revoked => CertProblem::Revoked,
        C::NotValidForNameContext { expected, .. } => {
            CertProblem::NotValidFor(one_line(&expected.to_str(), 260))
        }
        C::NotValidForName => CertProblem::NotValidFor("this host name".into()),
        // webpki's name for it; rustls passes it on only as text.
        C::Other(e) if format!("{e:?}").contains("CaUsedAsEndEntity") => CertProblem::SelfSigned,
        other => CertProblem::Other(one_line(&format!("{other:?}"), 200)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api() -> Endpoint {
        Endpoint::parse("API URL", "https://api.bentley.com").unwrap()
    }

    fn proxied() -> Endpoint {
        api()
            .with_proxy_from(|n| (n == "HTTPS_PROXY").then(|| "http://127.0.0.1:3128".into()))
            .unwrap()
    }

    fn classified(e: ureq::Error, endpoint: &Endpoint) -> NetError {
        classify(&e, endpoint).unwrap()
    }

    #[test]
    fn persistence_is_decided_by_the_cause() {
        use Persistence::*;
        let io = |k: io::ErrorKind| ureq::Error::Io(io::Error::from(k));
        let cert = |c: rustls::CertificateError| {
            ureq::Error::Io(io::Error::new(
                io::ErrorKind::InvalidData,
                rustls::Error::InvalidCertificate(c),
            ))
        };
        let cases = [
            (ureq::Error::HostNotFound, Brief),
            (ureq::Error::Timeout(ureq::Timeout::Resolve), Brief),
            (io(io::ErrorKind::ConnectionRefused), UntilDeadline),
            (io(io::ErrorKind::ConnectionReset), UntilDeadline),
            (ureq::Error::Timeout(ureq::Timeout::Connect), UntilDeadline),
            (
                ureq::Error::Timeout(ureq::Timeout::RecvResponse),
                UntilDeadline,
            ),
            (cert(rustls::CertificateError::UnknownIssuer), Permanent),
            (cert(rustls::CertificateError::Expired), Permanent),
            (
                ureq::Error::ConnectProxyFailed("proxy server responded 407/407".into()),
                Permanent,
            ),
            (
                ureq::Error::ConnectProxyFailed("proxy server responded 502/502".into()),
                UntilDeadline,
            ),
            (ureq::Error::TooManyRedirects, Permanent),
            // No retry heals these (issue 21).
            (ureq::Error::LargeResponseHeader(65_000, 64_000), Permanent),
            (ureq::Error::InvalidProxyUrl, Permanent),
            (ureq::Error::BodyStalled, UntilDeadline),
        ];
        for (error, expected) in cases {
            let text = error.to_string();
            assert_eq!(classified(error, &api()).persistence(), expected, "{text}");
        }
    }

    #[test]
    fn messages_name_endpoint_phase_and_cause() {
        let dns = classified(ureq::Error::HostNotFound, &api());
        assert_eq!(
            dns.to_string(),
            "resolving API api.bentley.com:443: could not resolve host api.bentley.com"
        );
        let refused = classified(
            ureq::Error::Io(io::Error::from(io::ErrorKind::ConnectionRefused)),
            &api().with_role(Role::Authority),
        );
        assert_eq!(
            refused.to_string(),
            "connecting to authority api.bentley.com:443: connection refused"
        );
        let proxy = classified(
            ureq::Error::ConnectProxyFailed("proxy server responded 407/407".into()),
            &proxied(),
        );
        assert_eq!(
            proxy.to_string(),
            "connecting to proxy 127.0.0.1:3128 (for API api.bentley.com:443): \
             proxy 127.0.0.1:3128 refused CONNECT: 407 Proxy Authentication Required"
        );
        // Before the tunnel stands, failures are the proxy's; after, the API's.
        assert_eq!(
            classified(ureq::Error::HostNotFound, &proxied()).role(),
            Role::Proxy
        );
        let other = classified(
            ureq::Error::Io(io::Error::other("failed to lookup address information")),
            &api(),
        );
        assert!(!other.to_string().contains("uncategorized"), "{other}");
    }

    #[test]
    fn only_early_failures_count_as_not_sent() {
        let reset = classified(
            ureq::Error::Io(io::Error::from(io::ErrorKind::ConnectionReset)),
            &api(),
        );
        assert!(!reset.surely_not_sent());
        assert!(classified(ureq::Error::ConnectionFailed, &api()).surely_not_sent());
    }
}
