//! End-to-end checks of a configuration, without touching a job: what
//! `ec3-gate doctor` shows. Each step's failure is the same [`Error`] a real
//! call would end with, so its text and exit code match.
//!
//! A [`Checkup`] checks a configuration that may be broken: it lists every
//! setting problem [`Client::new`] would refuse (not only the first), then
//! runs every check the valid settings allow, the API and the authority each
//! on their own, so one host's failure never hides the other's.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs as _};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::Value;
use ureq::Agent;

use crate::certinfo::describe_issuer;
use crate::client::{
    Client, MAX_CONNECT_TIME, Method, Policy, Request, build_agent, configure, transport_error,
};
use crate::endpoint::{Endpoint, Resolver};
use crate::net_error::{Cause, classify};
use crate::parts::Parts;
use crate::tls::Trust;
use crate::{
    Cancel, Config, Credentials, Error, Observer, Secret, ServiceError, Timeout, TrustSource, text,
};

/// Where an iModel's extractions are listed, under the API root
/// (Grouping & Mapping API).
const EXTRACTIONS_PATH: &str = "/grouping-and-mapping/datasources/imodel-mappings/extractions";

/// How far a JWT's `nbf` may lie ahead of this machine's clock before the
/// token counts as not yet valid (clocks drift).
const CLOCK_LEEWAY_SECS: u64 = 60;

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

    fn ok(step: impl Into<String>, found: impl Into<String>) -> Self {
        Self {
            step: step.into(),
            result: Ok(found.into()),
            note: None,
        }
    }

    fn failed(step: impl Into<String>, error: Error) -> Self {
        Self {
            step: step.into(),
            result: Err(error),
            note: None,
        }
    }
}

/// A configuration checked as far as it goes, for `ec3-gate doctor`:
/// every problem of its settings, and the checks the valid ones allow.
/// Nothing is sent until [`Checkup::run`].
pub struct Checkup {
    problems: Vec<Error>,
    scope: String,
    state: State,
}

/// A whole client, or the parts of one that are valid.
#[allow(
    clippy::large_enum_variant,
    reason = "one per doctor run, never moved in a loop"
)]
enum State {
    Ready(Client),
    Partial {
        api: Option<Endpoint>,
        authority: Option<Endpoint>,
        /// `None`: the extra CA certificates are unusable, so no TLS step
        /// would check what a real call trusts.
        trust: Option<Trust>,
        credentials: Option<Credentials>,
        user_agent: String,
    },
}

impl std::fmt::Debug for Checkup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checkup")
            .field("problems", &self.problems)
            .finish_non_exhaustive()
    }
}

impl Checkup {
    /// Checks every setting of `config` (proxies read from the environment,
    /// as [`Client::new`] reads them); nothing is sent. A configuration
    /// without credentials ([`Config::without_credentials`]) is checked too:
    /// only the token check and [`Checkup::client`] need them.
    pub fn new(config: Config) -> Self {
        Self::with_env(config, |name| std::env::var(name).ok())
    }

    /// [`Checkup::new`] with the environment read through `var`.
    pub(crate) fn with_env(config: Config, var: impl Fn(&str) -> Option<String>) -> Self {
        let parts = Parts::read(&config, var);
        let problems = parts.problems();
        let scope = config.scope.clone();
        if problems.is_empty() && config.credentials.is_some() {
            return match Client::from_parts(config, parts) {
                Ok(client) => Self {
                    problems,
                    scope,
                    state: State::Ready(client),
                },
                // Not expected: every part was valid.
                Err(e) => Self {
                    problems: vec![e],
                    scope,
                    state: State::Partial {
                        api: None,
                        authority: None,
                        trust: None,
                        credentials: None,
                        user_agent: String::new(),
                    },
                },
            };
        }
        Self {
            problems,
            scope,
            state: State::Partial {
                api: parts.api.ok(),
                authority: parts.authority.ok(),
                trust: parts.trust.ok(),
                credentials: config.credentials,
                user_agent: config.user_agent,
            },
        }
    }

    /// Every setting problem [`Client::new`] would refuse, in its order
    /// (its error is the first); empty when the settings are valid. Missing
    /// credentials are not among them: the caller knows.
    pub fn problems(&self) -> &[Error] {
        &self.problems
    }

    /// The client, when the settings are valid and credentials were given.
    pub fn client(&self) -> Option<&Client> {
        match &self.state {
            State::Ready(client) => Some(client),
            State::Partial { .. } => None,
        }
    }

    /// Runs every check the valid settings allow: trust; for the API and
    /// (unless an access token is given) the authority, each on its own,
    /// proxy, name resolution, connection and TLS; then the token (see
    /// [`Client::check`]). A setting in [`Checkup::problems`] skips the
    /// checks that need it: a URL its host's, unusable CA certificates the
    /// TLS steps. Each network step gets at most `timeout`.
    pub fn run(&self, timeout: Timeout, cancel: &Cancel) -> Vec<Check> {
        match &self.state {
            State::Ready(client) => client.check(timeout, cancel),
            State::Partial {
                api,
                authority,
                trust,
                credentials,
                user_agent,
            } => {
                let endpoints: Vec<&Endpoint> = api.iter().chain(authority).collect();
                let resolver = Resolver::new(&endpoints);
                let agent = build_agent(
                    user_agent,
                    trust.as_ref().unwrap_or(&Trust::default()),
                    &resolver,
                );
                Targets {
                    api: api.as_ref(),
                    authority: authority.as_ref(),
                    trust: trust.as_ref().map(|t| (t, t.source())),
                    sender: Sender::Agent(agent),
                    credentials: credentials.as_ref(),
                    scope: &self.scope,
                }
                .run(timeout.get(), cancel)
            }
        }
    }
}

impl Client {
    /// Checks trust, and for the API and (with client credentials) the
    /// authority, each on its own: proxy, name resolution, connection and
    /// TLS; then the token: fetched with client credentials (when the
    /// authority was reached), or a given token read as a JWT without
    /// trusting it (expired, not yet valid, another audience or scope than
    /// the client's). Never sends anything to a job.
    /// Each network step gets at most `timeout`.
    pub fn check(&self, timeout: Timeout, cancel: &Cancel) -> Vec<Check> {
        Targets {
            api: Some(self.api_endpoint()),
            authority: Some(self.auth().endpoint()),
            trust: Some((self.trust(), self.trust_source())),
            sender: Sender::Client(self),
            credentials: Some(self.auth().credentials()),
            scope: self.auth().scope(),
        }
        .run(timeout.get(), cancel)
    }

    /// Whether the extractions of `imodel_id` can be listed, as an
    /// extraction-based upload needs (the `imodels_read` permission):
    /// `GET {api}/grouping-and-mapping/datasources/imodel-mappings/extractions?iModelId={id}&$top=1`.
    /// Creates nothing. The number of extractions on that one page (0 or 1).
    ///
    /// `imodel_id` is checked as an id ([`NewJob::validate`](crate::NewJob::validate)'s
    /// rule). An iModel the service does not know (404) is
    /// [`Error::Rejected`], as an unknown configuration is.
    pub fn check_extractions(
        &self,
        imodel_id: &str,
        timeout: Timeout,
        cancel: &Cancel,
        observer: &mut dyn Observer,
    ) -> Result<usize, Error> {
        #[derive(Deserialize)]
        struct List {
            extractions: Vec<serde::de::IgnoredAny>,
        }
        crate::upload::check_id("iModel id", imodel_id)?;
        self.run(timeout.get(), cancel, observer, |client, call| {
            // Checked above: nothing in the id needs encoding.
            let url = client.api_url(&format!("{EXTRACTIONS_PATH}?iModelId={imodel_id}&$top=1"));
            let reply = client.api_call(Method::Get, url, None, Policy::Idempotent, call)?;
            let body = reply.into_body(|detail| Error::Rejected {
                status: 404,
                detail,
            })?;
            serde_json::from_slice::<List>(&body)
                .map(|list| list.extractions.len())
                .map_err(|_| {
                    Error::InvalidResponse("extraction list is not the documented JSON".into())
                })
        })
    }
}

/// What sends a check's requests.
enum Sender<'a> {
    /// The client of valid settings: every request goes its way.
    Client(&'a Client),
    /// No client (a setting refused it): an agent of the valid parts.
    Agent(Agent),
}

/// What one run of the checks looks at.
struct Targets<'a> {
    api: Option<&'a Endpoint>,
    authority: Option<&'a Endpoint>,
    /// `None`: no usable trust, so no TLS step.
    trust: Option<(&'a Trust, TrustSource)>,
    /// How the TLS steps are sent: through the whole client, when there is
    /// one (it also fetches the token), else an agent of the valid parts.
    sender: Sender<'a>,
    credentials: Option<&'a Credentials>,
    scope: &'a str,
}

impl Targets<'_> {
    fn run(&self, timeout: Duration, cancel: &Cancel) -> Vec<Check> {
        let mut checks = Vec::new();
        if let Some((trust, source)) = self.trust {
            checks.push(Check::ok("trust", trust_text(trust, source)));
        }
        // An access token never goes to the authority: nothing to check there.
        let uses_authority = !matches!(self.credentials, Some(Credentials::AccessToken(_)));
        if let Some(api) = self.api {
            self.check_endpoint(api, timeout, cancel, &mut checks);
        }
        let authority_reached = match self.authority.filter(|_| uses_authority) {
            Some(authority) => self.check_endpoint(authority, timeout, cancel, &mut checks),
            None => false,
        };
        match self.credentials {
            Some(Credentials::AccessToken(token)) => {
                checks.push(Check {
                    step: "token".into(),
                    result: jwt_claims(token, self.scope),
                    note: None,
                });
            }
            Some(Credentials::ClientCredentials { .. }) if authority_reached => {
                if let Sender::Client(client) = self.sender {
                    let fetched = client.run(timeout, cancel, &mut (), |client, call| {
                        client.auth().bearer(client, call)
                    });
                    checks.push(Check {
                        step: "token".into(),
                        result: fetched
                            .map(|_| "issued for the client credentials (not shown)".to_owned()),
                        note: None,
                    });
                }
            }
            _ => {}
        }
        checks
    }

    /// Appends the steps for `endpoint`; false when one failed (or TLS
    /// could not be checked).
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
        let step = |what: &str| format!("{name} {what}");
        checks.push(Check::ok(
            step("proxy"),
            match endpoint.proxy() {
                Some(_) => format!("through {host}:{port}"),
                None => "none (direct)".to_owned(),
            },
        ));
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
        let via = if endpoint.proxy().is_some() {
            "proxy "
        } else {
            ""
        };
        let Some(first) = addrs.first().copied() else {
            checks.push(Check::failed(
                step("resolve"),
                network(ureq::Error::HostNotFound),
            ));
            return false;
        };
        let more = match addrs.len() {
            1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        checks.push(Check::ok(
            step("resolve"),
            format!("{via}{host} resolved to {}{more}", first.ip()),
        ));
        // Closed at once: a server that serves one connection at a time
        // must be free for the TLS step.
        let connected = TcpStream::connect_timeout(&first, timeout.min(MAX_CONNECT_TIME)).map(drop);
        if let Err(e) = connected {
            checks.push(Check::failed(step("connect"), network(ureq::Error::Io(e))));
            return false;
        }
        checks.push(Check::ok(step("connect"), format!("connected to {first}")));
        if self.trust.is_none() {
            return false;
        }
        // TLS (through the proxy's tunnel, if any), exactly as a real call
        // makes it: any HTTP answer means the handshake was trusted.
        let what = if endpoint.is_https() { "TLS" } else { "HTTP" };
        let answer = self.probe(endpoint, timeout, cancel);
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

    /// One `GET /` to `endpoint` without credentials: the status of any
    /// answer, or the failure a real call would end with. With a client it
    /// goes the way every request goes (budget, redirect hops); without one
    /// (settings refused it) straight through the agent of the valid parts,
    /// still interrupted by `cancel`.
    fn probe(&self, endpoint: &Endpoint, timeout: Duration, cancel: &Cancel) -> Result<u16, Error> {
        let request = Request {
            method: Method::Get,
            url: endpoint.join("/"),
            endpoint,
            authorization: None,
            accept: "*/*",
            body: None,
        };
        let agent = match &self.sender {
            Sender::Client(client) => {
                return client.run(timeout, cancel, &mut (), |client, call| {
                    client.send_final(&request, call)
                });
            }
            Sender::Agent(agent) => agent,
        };
        cancel.check()?;
        let answer = {
            let _scope = crate::interrupt::Scope::enter(cancel);
            let builder = agent.get(&request.url);
            configure(builder, &request, endpoint.proxy().cloned(), timeout).call()
        };
        cancel.check()?;
        match answer {
            Ok(response) => Ok(response.status().as_u16()),
            Err(e) => Err(match classify(&e, endpoint) {
                Some(net) => Error::Network(Box::new(net)),
                None => transport_error(e),
            }),
        }
    }
}

fn trust_text(trust: &Trust, source: TrustSource) -> String {
    match source {
        TrustSource::Platform => "the platform's certificate store".to_owned(),
        TrustSource::PlatformAndExtra => format!(
            "the platform's certificates and {} extra CA certificate(s)",
            trust.extra_count()
        ),
        TrustSource::Compiled => "no system store found: the compiled-in Mozilla roots".to_owned(),
        TrustSource::ExtraOnly => format!(
            "no system store found: only the {} extra CA certificate(s)",
            trust.extra_count()
        ),
    }
}

/// What a given token says of itself, when it is a JWT: read from its
/// payload without checking its signature (only the service can), so it can
/// tell that a token will be refused (expired, not yet valid, for another
/// audience or without `scope`), never that it is valid. IMS tokens name
/// the scope they were issued for both in `scope` and in `aud`.
fn jwt_claims(token: &Secret, scope: &str) -> Result<String, Error> {
    let claims = token
        .expose()
        .split('.')
        .nth(1)
        .and_then(|payload| URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok())
        .and_then(|json| serde_json::from_slice::<Value>(&json).ok())
        .filter(Value::is_object);
    let Some(claims) = claims else {
        return Ok("given (not a JWT with an expiry: checked only by the service)".into());
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let human = |s: u64| humantime::format_duration(Duration::from_secs(s)).to_string();
    let refused = |code: &str, message: String| Error::AuthRefused {
        status: 401,
        detail: ServiceError {
            code: Some(code.into()),
            message: Some(message),
            ..ServiceError::default()
        },
    };
    let exp = claims.get("exp").and_then(Value::as_u64);
    if let Some(exp) = exp.filter(|&exp| exp <= now) {
        return Err(refused(
            "TokenExpired",
            format!("the given token expired {} ago", human(now - exp)),
        ));
    }
    let nbf = claims.get("nbf").and_then(Value::as_u64);
    if let Some(nbf) = nbf.filter(|&nbf| nbf > now + CLOCK_LEEWAY_SECS) {
        return Err(refused(
            "TokenNotYetValid",
            format!(
                "the given token is valid only in {} (or this machine's clock is wrong)",
                human(nbf - now)
            ),
        ));
    }
    // A list claim: a string of space-separated items, or an array.
    let list = |name: &str| -> Option<Vec<String>> {
        match claims.get(name)? {
            Value::String(s) => Some(s.split_whitespace().map(str::to_owned).collect()),
            Value::Array(items) => Some(
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect(),
            ),
            _ => None,
        }
    };
    let shown = |items: &[String]| text::one_line(&items.join(" "), 200);
    if let Some(scopes) = list("scope").filter(|s| !s.iter().any(|s| s == scope)) {
        return Err(refused(
            "InsufficientScope",
            format!(
                "the given token's scope is '{}', without {scope}",
                shown(&scopes)
            ),
        ));
    }
    if let Some(audience) = list("aud").filter(|a| !a.iter().any(|a| a == scope)) {
        return Err(refused(
            "InvalidAudience",
            format!(
                "the given token is for audience '{}', not {scope}",
                shown(&audience)
            ),
        ));
    }
    Ok(match exp {
        Some(exp) => format!(
            "given; a JWT that expires in {} (signature not checked here)",
            human(exp - now)
        ),
        None => "given; a JWT without an expiry (signature not checked here)".to_owned(),
    })
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

    fn now() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    #[test]
    fn jwt_expiry_is_read_without_trusting_the_token() {
        let now = now();
        let later = jwt(&format!(r#"{{"exp":{}}}"#, now + 5400));
        let read = jwt_claims(&later, "itwin-platform");
        assert!(read.as_ref().unwrap().contains("expires in 1h"), "{read:?}");
        let past = jwt(&format!(r#"{{"exp":{}}}"#, now - 7200));
        let err = jwt_claims(&past, "itwin-platform").unwrap_err();
        assert!(matches!(err, Error::AuthRefused { .. }));
        assert!(err.to_string().contains("expired 2h"), "{err}");
        assert!(!err.to_string().contains("eyJ"), "{err}");
        assert!(
            jwt_claims(&Secret::new("opaque"), "itwin-platform")
                .unwrap()
                .contains("not a JWT")
        );
    }

    #[test]
    fn jwt_not_yet_valid_audience_and_scope_are_read() {
        let now = now();
        let scope = "itwin-platform";
        let soon = jwt(&format!(r#"{{"nbf":{},"exp":{}}}"#, now + 7200, now + 9000));
        let err = jwt_claims(&soon, scope).unwrap_err().to_string();
        assert!(
            err.contains("TokenNotYetValid: the given token is valid only in 2h"),
            "{err}"
        );
        // Within the clock's leeway: fine.
        let skewed = jwt(&format!(r#"{{"nbf":{},"exp":{}}}"#, now + 30, now + 900));
        assert!(jwt_claims(&skewed, scope).is_ok());
        let scoped = jwt(&format!(
            r#"{{"exp":{},"scope":["email","openid"],"aud":["itwin-platform"]}}"#,
            now + 900
        ));
        let err = jwt_claims(&scoped, scope).unwrap_err().to_string();
        assert!(
            err.contains("InsufficientScope: the given token's scope is 'email openid', without itwin-platform"),
            "{err}"
        );
        let audience = jwt(&format!(
            r#"{{"exp":{},"scope":"openid itwin-platform","aud":"https://other.example"}}"#,
            now + 900
        ));
        let err = jwt_claims(&audience, scope).unwrap_err().to_string();
        assert!(
            err.contains("InvalidAudience: the given token is for audience 'https://other.example', not itwin-platform"),
            "{err}"
        );
        let right = jwt(&format!(
            r#"{{"exp":{},"scope":["itwin-platform"],"aud":["itwin-platform","x"]}}"#,
            now + 900
        ));
        assert!(jwt_claims(&right, scope).is_ok());
    }

    #[test]
    fn a_checkup_lists_every_problem_and_checks_what_is_valid() {
        let config = Config::without_credentials()
            .api_url("http://example.com")
            .authority("http://127.0.0.1:1")
            .ca_cert("/nonexistent/ca.pem");
        let checkup = Checkup::with_env(config, |_| None);
        assert_eq!(checkup.problems().len(), 2, "{:?}", checkup.problems());
        assert!(checkup.client().is_none());
        let checks = checkup.run(Timeout::default(), &Cancel::new());
        let steps: Vec<&str> = checks.iter().map(|c| c.step.as_str()).collect();
        // No trust and no TLS step (the CA file is unusable), no API steps
        // (its URL is), the authority's up to its refused connection.
        assert_eq!(
            steps,
            [
                "authority 127.0.0.1:1 proxy",
                "authority 127.0.0.1:1 resolve",
                "authority 127.0.0.1:1 connect"
            ]
        );
        assert!(checks[2].result.is_err());
    }
}
