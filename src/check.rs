//! End-to-end checks of a configuration, without touching a job: what
//! `ec3-gate doctor` shows. Each step's failure is the same [`Error`] a real
//! call would end with, so its text and exit code match.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs as _};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::certinfo::describe_issuer;
use crate::client::{Client, MAX_CONNECT_TIME, Method, Request};
use crate::endpoint::Endpoint;
use crate::net_error::{Cause, classify};
use crate::{Cancel, Credentials, Error, Secret, Timeout, TrustSource};

/// One step of a check: what was checked, and what was found (a line of
/// text for people, never a secret) or why it failed.
#[derive(Debug)]
#[non_exhaustive]
pub struct Check {
    /// What was checked, such as `API api.bentley.com:443 resolve`.
    pub step: String,
    /// What was found, or the error a real call would end with.
    pub result: Result<String, Error>,
    /// More about a failure, such as the issuer of an untrusted certificate
    /// (read from the certificate without trusting it).
    pub note: Option<String>,
}

impl Check {
    /// How long each network step may take unless told (10 s): as long as
    /// connecting may take in a real call.
    pub const DEFAULT_TIMEOUT_MS: u64 = MAX_CONNECT_TIME.as_millis() as u64;
}

impl Client {
    /// Checks trust, proxies, and for the API and (with client credentials)
    /// the authority: name resolution, connection and TLS; then the token
    /// (fetched with client credentials, or a given token's expiry when it
    /// is a JWT, read without trusting it). Stops checking an endpoint at
    /// its first failure; never sends anything to a job.
    /// Each network step gets at most `timeout`.
    pub fn check(&self, timeout: Timeout, cancel: &Cancel) -> Vec<Check> {
        let timeout = timeout.get();
        let mut checks = vec![Check {
            step: "trust".into(),
            result: Ok(match self.trust_source() {
                TrustSource::Platform => "the platform's certificate store".to_owned(),
                TrustSource::PlatformAndExtra => format!(
                    "the platform's certificates and {} extra CA certificate(s)",
                    self.trust().extra_count()
                ),
                TrustSource::Compiled => {
                    "no system store found: the compiled-in Mozilla roots".to_owned()
                }
                TrustSource::ExtraOnly => format!(
                    "no system store found: only the {} extra CA certificate(s)",
                    self.trust().extra_count()
                ),
            }),
            note: None,
        }];
        let client_credentials = matches!(
            self.auth().credentials(),
            Credentials::ClientCredentials { .. }
        );
        let mut endpoints = vec![self.api_endpoint()];
        if client_credentials {
            endpoints.push(self.auth().endpoint());
        }
        let mut reachable = true;
        for endpoint in endpoints {
            reachable &= self.check_endpoint(endpoint, timeout, cancel, &mut checks);
        }
        if reachable {
            checks.push(self.check_token(timeout, cancel));
        }
        checks
    }

    /// Appends the steps for `endpoint`; false when one failed.
    fn check_endpoint(
        &self,
        endpoint: &Endpoint,
        timeout: Duration,
        cancel: &Cancel,
        checks: &mut Vec<Check>,
    ) -> bool {
        let name = format!(
            "{} {}:{}",
            endpoint.role(),
            endpoint.host(),
            endpoint.port()
        );
        let (host, port) = match endpoint.proxy() {
            Some(p) => (p.host().to_owned(), p.port()),
            None => (endpoint.host().to_owned(), endpoint.port()),
        };
        checks.push(Check {
            step: format!("{name} proxy"),
            result: Ok(match endpoint.proxy() {
                Some(_) => format!("through {host}:{port}"),
                None => "none (direct)".to_owned(),
            }),
            note: None,
        });
        let network = |e: ureq::Error| {
            classify(&e, endpoint).map_or_else(
                || Error::InvalidResponse(e.to_string()),
                |n| Error::Network(Box::new(n)),
            )
        };
        // Resolve and connect: to the proxy when there is one.
        let addrs: Vec<SocketAddr> = match (host.as_str(), port).to_socket_addrs() {
            Ok(a) => a.collect(),
            Err(_) => Vec::new(),
        };
        let step = |what: &str| format!("{name} {what}");
        let via = if endpoint.proxy().is_some() {
            "proxy "
        } else {
            ""
        };
        let Some(first) = addrs.first().copied() else {
            checks.push(Check {
                step: step("resolve"),
                result: Err(network(ureq::Error::HostNotFound)),
                note: None,
            });
            return false;
        };
        let more = match addrs.len() {
            1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        checks.push(Check {
            step: step("resolve"),
            result: Ok(format!("{via}{host} resolved to {}{more}", first.ip())),
            note: None,
        });
        // Closed at once: a server that serves one connection at a time
        // must be free for the TLS step.
        let connected = TcpStream::connect_timeout(&first, timeout.min(MAX_CONNECT_TIME)).map(drop);
        if let Err(e) = connected {
            checks.push(Check {
                step: step("connect"),
                result: Err(network(ureq::Error::Io(e))),
                note: None,
            });
            return false;
        }
        checks.push(Check {
            step: step("connect"),
            result: Ok(format!("connected to {first}")),
            note: None,
        });
        // TLS (through the proxy's tunnel, if any), exactly as a real call
        // makes it: any HTTP answer means the handshake was trusted.
        let request = Request {
            method: Method::Get,
            url: endpoint.join("/"),
            endpoint,
            authorization: None,
            accept: "*/*",
            body: None,
        };
        let what = if endpoint.is_https() { "TLS" } else { "HTTP" };
        let answer = self.run(timeout, cancel, &mut (), |client, call| {
            client.send_final(&request, call)
        });
        let ok = answer.is_ok();
        // Which CA signed an untrusted certificate tells a TLS-inspecting
        // proxy apart from a wrong URL. Only without a proxy: the tunnel is
        // ureq's.
        let issuer = match &answer {
            Err(Error::Network(net))
                if matches!(net.cause(), Cause::Certificate(_)) && endpoint.proxy().is_none() =>
            {
                describe_issuer(
                    endpoint.host(),
                    endpoint.port(),
                    timeout.min(MAX_CONNECT_TIME),
                )
            }
            _ => None,
        };
        checks.push(Check {
            step: step(what),
            result: answer.map(|status| match endpoint.is_https() {
                true => format!("certificate trusted; the server answered HTTP {status}"),
                false => format!("the server answered HTTP {status} (plain http to loopback)"),
            }),
            note: issuer,
        });
        ok
    }

    fn check_token(&self, timeout: Duration, cancel: &Cancel) -> Check {
        let step = "token".to_owned();
        match self.auth().credentials() {
            Credentials::AccessToken(token) => Check {
                step,
                result: jwt_expiry(token),
                note: None,
            },
            Credentials::ClientCredentials { .. } => Check {
                step,
                result: self
                    .run(timeout, cancel, &mut (), |client, call| {
                        client.auth().bearer(client, call)
                    })
                    .map(|_| "issued for the client credentials (not shown)".to_owned()),
                note: None,
            },
        }
    }
}

/// A given token's expiry, when it is a JWT: read from its payload without
/// checking its signature (only the service can), so it can only tell that a
/// token is expired, never that it is valid.
fn jwt_expiry(token: &Secret) -> Result<String, Error> {
    let exp = token
        .expose()
        .split('.')
        .nth(1)
        .and_then(|payload| URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok())
        .and_then(|json| serde_json::from_slice::<serde_json::Value>(&json).ok())
        .and_then(|claims| claims.get("exp").and_then(serde_json::Value::as_u64));
    let Some(exp) = exp else {
        return Ok("given (not a JWT with an expiry: checked only by the service)".into());
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let human = |s: u64| humantime::format_duration(Duration::from_secs(s)).to_string();
    if exp <= now {
        return Err(Error::AuthRefused {
            status: 401,
            detail: crate::ServiceError {
                code: Some("TokenExpired".into()),
                message: Some(format!("the given token expired {} ago", human(now - exp))),
                ..crate::ServiceError::default()
            },
        });
    }
    Ok(format!(
        "given; a JWT that expires in {} (signature not checked here)",
        human(exp - now)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &str) -> Secret {
        Secret::new(format!(
            "eyJhbGciOiJub25lIn0.{}.sig",
            URL_SAFE_NO_PAD.encode(claims)
        ))
    }

    #[test]
    fn jwt_expiry_is_read_without_trusting_the_token() {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let later = jwt(&format!(r#"{{"exp":{}}}"#, now + 5400));
        assert!(
            jwt_expiry(&later).unwrap().contains("expires in 1h"),
            "{:?}",
            jwt_expiry(&later)
        );
        let past = jwt(&format!(r#"{{"exp":{}}}"#, now - 7200));
        let err = jwt_expiry(&past).unwrap_err();
        assert!(matches!(err, Error::AuthRefused { .. }));
        assert!(err.to_string().contains("expired 2h"), "{err}");
        assert!(!err.to_string().contains("eyJ"), "{err}");
        assert!(
            jwt_expiry(&Secret::new("opaque"))
                .unwrap()
                .contains("not a JWT")
        );
    }
}
