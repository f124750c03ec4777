//! The HTTP client: one ureq agent, retries within a deadline, and the
//! service's endpoints.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use ureq::Agent;
use ureq::config::RedirectAuthHeaders;

use crate::auth::Auth;
use crate::budget::{Budget, Slot};
use crate::endpoint::{Endpoint, Resolver};
use crate::net_error::{NetError, Persistence, Role, classify};
use crate::redact::Redactor;
use crate::retry::{Backoff, is_retryable_status, parse_retry_after};
use crate::tls::{Trust, TrustSource};
use crate::{Cancel, Config, Error, Event, Job, JobId, Observer, Secret, ServiceError, Timeout};

/// Largest answer body read (1 MiB); a larger one is an error, not a hang.
pub const MAX_BODY_BYTES: u64 = 1 << 20;
/// No single request runs longer than this (nor past the call's deadline).
const MAX_REQUEST_TIME: Duration = Duration::from_secs(30);
/// Connecting (including TLS) gives up after this.
pub(crate) const MAX_CONNECT_TIME: Duration = Duration::from_secs(10);
/// A host that does not resolve is tried this many times at most…
const BRIEF_ATTEMPTS: u32 = 4;
/// …and for no longer than this in all (a try that may not finish in time is
/// not started): long enough for a resolver hiccup, short enough that a typo
/// in a URL does not hold a CI job.
const BRIEF_WINDOW: Duration = Duration::from_secs(30);
/// A connection's input buffer (it grows for a larger answer header).
const INPUT_BUFFER_BYTES: usize = 16 << 10;
/// A connection's output buffer: it must hold a request's whole header.
const OUTPUT_BUFFER_BYTES: usize = 32 << 10;
/// The media type the iTwin Platform recommends.
pub(crate) const ITWIN_ACCEPT: &str = "application/vnd.bentley.itwin-platform.v1+json";
/// Where jobs live under the API root.
const JOBS_PATH: &str = "/insights/carbon-calculation/ec3/jobs";

/// A client of the Carbon Calculation API.
///
/// It holds one HTTP agent, so all calls share kept-alive connections,
/// (with client credentials) one cached token, and one request budget
/// ([`Config::max_requests_per_minute`]) that every request of every call
/// passes. A `Client` is `Send + Sync`: calls from several threads may run
/// at once.
pub struct Client {
    api: Endpoint,
    auth: Auth,
    user_agent: String,
    trust: Trust,
    /// Which addresses a connection may use (see [`Resolver`]).
    resolver: Resolver,
    agent: Mutex<Agent>,
    /// Every request of this client passes it (see [`Budget`]).
    budget: Budget,
    /// Every secret this client has known (credentials, issued tokens, EC3
    /// tokens): cut out of every answer it reads.
    redactor: Mutex<Redactor>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("api", &self.api)
            .finish_non_exhaustive()
    }
}

/// The deadline, cancel flag and observer of one public call.
pub(crate) struct Call<'a> {
    pub(crate) deadline: Instant,
    pub(crate) cancel: &'a Cancel,
    pub(crate) observer: &'a mut dyn Observer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Post,
}

/// One request, before it is sent (possibly several times).
pub(crate) struct Request<'a> {
    pub(crate) method: Method,
    pub(crate) url: String,
    pub(crate) endpoint: &'a Endpoint,
    pub(crate) authorization: Option<Secret>,
    pub(crate) accept: &'static str,
    pub(crate) body: Option<(&'static str, Vec<u8>)>,
}

/// A JSON request body.
pub(crate) struct Payload {
    pub(crate) json: Vec<u8>,
}

/// Which failures may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Policy {
    /// Safe to repeat: retry every transient failure.
    Idempotent,
    /// Must not run twice (creating a job): retry only when the request
    /// surely did not reach the service (it could not connect), or the
    /// service said so (429, or 503 with `Retry-After`).
    NotIdempotent,
}

/// A final answer (anything but a retryable status).
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    pub(crate) fn detail(&self) -> ServiceError {
        ServiceError::from_body(&self.body)
    }

    /// The body of a 2xx answer, or the error this status means; `not_found`
    /// says what a 404 means for this endpoint.
    pub(crate) fn into_body(self, not_found: fn(ServiceError) -> Error) -> Result<Vec<u8>, Error> {
        let detail = || ServiceError::from_body(&self.body);
        match self.status {
            200..=299 => Ok(self.body),
            status @ (401 | 403) => Err(Error::AuthRefused {
                status,
                detail: detail(),
            }),
            404 => Err(not_found(detail())),
            status @ (400 | 422) => Err(Error::Rejected {
                status,
                detail: detail(),
            }),
            status => Err(Error::Service {
                status,
                detail: detail(),
            }),
        }
    }
}

/// What one try of a request came to.
pub(crate) enum Step {
    /// A final answer (anything but a retryable status).
    Done(Reply),
    /// A failure worth another try, after `delay`.
    Retry {
        /// Why this try failed.
        error: Error,
        /// Backoff, and never sooner than `Retry-After`.
        delay: Duration,
    },
    /// A failure no other try would cure, or a cancel.
    Failed(Error),
    /// Not sent: the deadline came, or the budget allows nothing before it.
    Late,
}

/// The outcome of one attempt.
enum Attempt {
    Answered {
        status: u16,
        body: Vec<u8>,
        retry_after: Option<Duration>,
    },
    Failed {
        error: ureq::Error,
    },
}

impl Client {
    /// Validates `config` and builds the client. Proxies are read from the
    /// environment here, once (see the crate docs for the rules).
    pub fn new(config: Config) -> Result<Self, Error> {
        Self::with_env(config, |name| std::env::var(name).ok())
    }

    /// [`Client::new`] with the environment read through `var`.
    pub(crate) fn with_env(
        config: Config,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, Error> {
        let api = Endpoint::parse("API URL", &config.api_url)?
            .with_role(Role::Api)
            .with_proxy_from(&var)?;
        let authority = Endpoint::parse("authority", &config.authority)?
            .with_role(Role::Authority)
            .with_proxy_from(&var)?;
        if config.scope.trim().is_empty() || config.scope.chars().any(char::is_control) {
            return Err(Error::config(
                "scope",
                "must be non-empty, without control characters",
            ));
        }
        let budget = Budget::per_minute(config.max_requests_per_minute)?;
        let trust = match &config.ca_cert {
            Some(value) => Trust::with_extra(value)?,
            None => Trust::default(),
        };
        let resolver = Resolver::new(&[&api, &authority]);
        let agent = build_agent(&config.user_agent, &trust, &resolver);
        let client = Self {
            api,
            auth: Auth::new(config.credentials, authority, config.scope),
            user_agent: config.user_agent,
            trust,
            resolver,
            agent: Mutex::new(agent),
            budget,
            redactor: Mutex::default(),
        };
        for secret in client.auth.secrets().iter().chain(&config.secrets) {
            client.remember_secret(secret);
        }
        Ok(client)
    }

    /// How far apart polls go when a group paces them through the budget.
    pub(crate) fn budget_spacing(&self) -> Duration {
        self.budget.spacing()
    }

    /// Adds `secret` to those cut out of every later answer.
    pub(crate) fn remember_secret(&self, secret: &Secret) {
        self.redactor
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .add(secret.expose());
    }

    /// Queries a job's status once. Transient failures are retried until
    /// `timeout` has passed.
    pub fn job_status(
        &self,
        job: &JobId,
        timeout: Timeout,
        cancel: &Cancel,
        observer: &mut dyn Observer,
    ) -> Result<Job, Error> {
        self.run(timeout.get(), cancel, observer, |client, call| {
            client.fetch_job(job, call)
        })
    }

    /// Runs `f` as one public call: a deadline, and an agent the cancel flag
    /// can interrupt. After a cancel the agent is replaced, so the client
    /// stays usable.
    pub(crate) fn run<T>(
        &self,
        timeout: Duration,
        cancel: &Cancel,
        observer: &mut dyn Observer,
        f: impl FnOnce(&Self, &mut Call<'_>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let result = self.run_to_end(timeout, cancel, observer, f)?;
        if cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        result
    }

    /// [`Client::run`] that hands back what `f` returned even after a cancel
    /// (a group keeps what it learnt); `Err` only when `f` could not start
    /// (a timeout too large, or cancelled already).
    pub(crate) fn run_to_end<T>(
        &self,
        timeout: Duration,
        cancel: &Cancel,
        observer: &mut dyn Observer,
        f: impl FnOnce(&Self, &mut Call<'_>) -> T,
    ) -> Result<T, Error> {
        let deadline = Instant::now()
            .checked_add(timeout)
            .ok_or_else(|| Error::config("timeout", "is too large"))?;
        let attached = cancel.attach(&self.agent())?;
        let mut call = Call {
            deadline,
            cancel,
            observer,
        };
        let result = f(self, &mut call);
        cancel.detach(attached);
        if cancel.is_cancelled() {
            *self.agent.lock().unwrap_or_else(PoisonError::into_inner) =
                build_agent(&self.user_agent, &self.trust, &self.resolver);
        }
        Ok(result)
    }

    /// The API's endpoint.
    pub(crate) fn api_endpoint(&self) -> &Endpoint {
        &self.api
    }

    /// The credentials and the token endpoint.
    pub(crate) fn auth(&self) -> &Auth {
        &self.auth
    }

    /// The extra CA certificates.
    pub(crate) fn trust(&self) -> &Trust {
        &self.trust
    }

    /// Where the trusted roots come from (where the platform's store is
    /// files, this reads it: once per process).
    pub(crate) fn trust_source(&self) -> TrustSource {
        self.trust.source()
    }

    /// Sends `request` once, without retrying: the status of any answer, or
    /// the failure in words.
    pub(crate) fn send_final(
        &self,
        request: &Request<'_>,
        call: &mut Call<'_>,
    ) -> Result<u16, Error> {
        let remaining = call.deadline.saturating_duration_since(Instant::now());
        match self.send_once(request, remaining) {
            Attempt::Answered { status, .. } => Ok(status),
            Attempt::Failed { error } => Err(match classify(&error, request.endpoint) {
                Some(net) => Error::Network(Box::new(net)),
                None => transport_error(error),
            }),
        }
    }

    /// `path` under the API root.
    pub(crate) fn api_url(&self, path: &str) -> String {
        self.api.join(path)
    }

    /// True when `url` is under the API root (same scheme, host and port).
    pub(crate) fn is_api_url(&self, url: &str) -> bool {
        let base = self.api.join("/");
        url.len() > base.len() && url[..base.len()].eq_ignore_ascii_case(&base)
    }

    pub(crate) fn fetch_job(&self, job: &JobId, call: &mut Call<'_>) -> Result<Job, Error> {
        let url = self.job_url(job);
        let reply = self.api_call(Method::Get, url, None, Policy::Idempotent, call)?;
        Job::from_json(&reply.into_body(Error::JobNotFound)?)
    }

    /// Where `job`'s status is read.
    pub(crate) fn job_url(&self, job: &JobId) -> String {
        self.api.join(&format!("{JOBS_PATH}/{job}"))
    }

    /// A call to the API with the bearer token, retried like
    /// [`Client::execute`].
    pub(crate) fn api_call(
        &self,
        method: Method,
        url: String,
        payload: Option<&Payload>,
        policy: Policy,
        call: &mut Call<'_>,
    ) -> Result<Reply, Error> {
        retry(call, &self.api, |backoff, call| {
            self.api_attempt(method, &url, payload, policy, backoff, call)
        })
    }

    /// One try of a call to the API with the bearer token: renews the token
    /// once on a 401 when it can (a token revoked or expired early), then
    /// gives up.
    pub(crate) fn api_attempt(
        &self,
        method: Method,
        url: &str,
        payload: Option<&Payload>,
        policy: Policy,
        backoff: &mut Backoff,
        call: &mut Call<'_>,
    ) -> Step {
        let mut renewed = false;
        loop {
            let token = match self.auth.bearer(self, call) {
                Ok(token) => token,
                Err(error) => return Step::Failed(error),
            };
            let request = Request {
                method,
                url: url.to_owned(),
                endpoint: &self.api,
                authorization: Some(Secret::new(format!("Bearer {}", token.expose()))),
                accept: ITWIN_ACCEPT,
                body: payload.map(|p| ("application/json", p.json.clone())),
            };
            let step = self.attempt(&request, policy, backoff, call);
            if matches!(&step, Step::Done(r) if r.status == 401)
                && !renewed
                && self.auth.can_renew()
            {
                self.auth.invalidate();
                renewed = true;
                continue;
            }
            return step;
        }
    }

    /// Sends `request` until it gets a final answer, retrying transient
    /// failures with backoff (never sooner than `Retry-After`) as long as the
    /// next try can start before the deadline.
    pub(crate) fn execute(
        &self,
        request: &Request<'_>,
        policy: Policy,
        call: &mut Call<'_>,
    ) -> Result<Reply, Error> {
        retry(call, request.endpoint, |backoff, call| {
            self.attempt(request, policy, backoff, call)
        })
    }

    /// Sends `request` once, when the budget allows, and says what came of
    /// it. A 429, or any answer with `Retry-After`, pauses the whole
    /// client's budget: the service's limit is shared by every call.
    pub(crate) fn attempt(
        &self,
        request: &Request<'_>,
        policy: Policy,
        backoff: &mut Backoff,
        call: &mut Call<'_>,
    ) -> Step {
        if let Err(error) = call.cancel.check() {
            return Step::Failed(error);
        }
        match self.budget.acquire(call.deadline, call.cancel) {
            Ok(Slot::Granted) => {}
            Ok(Slot::Late) => return Step::Late,
            Err(error) => return Step::Failed(error),
        }
        let remaining = call.deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Step::Late;
        }
        let attempt = self.send_once(request, remaining);
        if let Err(error) = call.cancel.check() {
            return Step::Failed(error);
        }
        let (error, retry_after, slows_everyone, brief) = match attempt {
            Attempt::Answered {
                status,
                body,
                retry_after,
            } => {
                let retry = is_retryable_status(status)
                    && (policy == Policy::Idempotent
                        || status == 429
                        || (status == 503 && retry_after.is_some()));
                if !retry {
                    return Step::Done(Reply { status, body });
                }
                let detail = ServiceError::from_body(&body);
                let slows_everyone = status == 429 || retry_after.is_some();
                (
                    Error::Service { status, detail },
                    retry_after,
                    slows_everyone,
                    false,
                )
            }
            Attempt::Failed { error } => {
                let Some(net) = classify(&error, request.endpoint) else {
                    return Step::Failed(transport_error(error));
                };
                let persistence = net.persistence();
                let not_sent = net.surely_not_sent();
                let error = Error::Network(Box::new(net));
                let brief = persistence == Persistence::Brief;
                if brief {
                    backoff.brief_failures += 1;
                }
                if persistence == Persistence::Permanent
                    || backoff.brief_failures >= BRIEF_ATTEMPTS
                    || (policy == Policy::NotIdempotent && !not_sent)
                {
                    return Step::Failed(error);
                }
                (error, None, false, brief)
            }
        };
        let delay = backoff.next_delay().max(retry_after.unwrap_or_default());
        // A brief retry must end within its window even when the resolver
        // is slow: the next try may take up to MAX_CONNECT_TIME.
        if brief && backoff.since_first_try() + delay + MAX_CONNECT_TIME > BRIEF_WINDOW {
            return Step::Failed(error);
        }
        if slows_everyone {
            self.budget.pause(delay);
        }
        Step::Retry { error, delay }
    }

    fn send_once(&self, request: &Request<'_>, remaining: Duration) -> Attempt {
        let agent = self.agent();
        let proxy = request.endpoint.proxy().cloned();
        let result = match request.method {
            Method::Get => configure(agent.get(&request.url), request, proxy, remaining).call(),
            Method::Post => {
                let (content_type, body) = request
                    .body
                    .as_ref()
                    .map_or(("application/json", &[][..]), |(t, b)| (*t, b));
                configure(agent.post(&request.url), request, proxy, remaining)
                    .header("Content-Type", content_type)
                    .send(body)
            }
        };
        let mut response = match result {
            Ok(r) => r,
            Err(error) => return Attempt::Failed { error },
        };
        let status = response.status().as_u16();
        let retry_after = retry_after(response.headers());
        let read = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY_BYTES)
            .read_to_vec();
        match read {
            Ok(body) => Attempt::Answered {
                status,
                body: self
                    .redactor
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .bytes(body),
                retry_after,
            },
            // An error answer's body only adds detail; the status says enough.
            Err(_) if status >= 400 => Attempt::Answered {
                status,
                body: Vec::new(),
                retry_after,
            },
            Err(error) => Attempt::Failed { error },
        }
    }

    fn agent(&self) -> Agent {
        self.agent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Tries until a final answer: after each retryable failure, reports it and
/// sleeps its delay, as long as the next try can start before the deadline.
fn retry(
    call: &mut Call<'_>,
    endpoint: &Endpoint,
    mut attempt: impl FnMut(&mut Backoff, &mut Call<'_>) -> Step,
) -> Result<Reply, Error> {
    let mut backoff = Backoff::new();
    loop {
        match attempt(&mut backoff, call) {
            Step::Done(reply) => return Ok(reply),
            Step::Failed(error) => return Err(error),
            Step::Late => return Err(late(endpoint)),
            Step::Retry { error, delay } => {
                if !starts_in_time(delay, call.deadline) {
                    return Err(error);
                }
                call.observer.on_event(Event::Retrying {
                    error: &error,
                    delay,
                });
                call.cancel.sleep(delay)?;
            }
        }
    }
}

/// True when a try `delay` from now starts before `deadline`.
/// (`Retry-After` may be absurd, u64::MAX seconds: no overflow, just too late.)
pub(crate) fn starts_in_time(delay: Duration, deadline: Instant) -> bool {
    Instant::now()
        .checked_add(delay)
        .is_some_and(|t| t < deadline)
}

/// The error of a request to `endpoint` the deadline (or the budget) kept
/// from being sent.
pub(crate) fn late(endpoint: &Endpoint) -> Error {
    Error::Network(Box::new(NetError::deadline(endpoint)))
}

fn configure<B>(
    builder: ureq::RequestBuilder<B>,
    request: &Request<'_>,
    proxy: Option<ureq::Proxy>,
    remaining: Duration,
) -> ureq::RequestBuilder<B> {
    let mut builder = builder
        .config()
        .proxy(proxy)
        // A redirect from https must not downgrade to plain http.
        .https_only(request.endpoint.is_https())
        .timeout_global(Some(remaining.min(MAX_REQUEST_TIME)))
        .timeout_resolve(Some(remaining.min(MAX_CONNECT_TIME)))
        .timeout_connect(Some(remaining.min(MAX_CONNECT_TIME)))
        .build()
        .header("Accept", request.accept);
    if let Some(auth) = &request.authorization {
        builder = builder.header("Authorization", auth.expose());
    }
    builder
}

/// The client's agent: TCP (through a proxy's `CONNECT` when one is set),
/// then TLS with `trust` where the URL is https; nothing reads the
/// platform's certificate store before a connection needs TLS.
fn build_agent(user_agent: &str, trust: &Trust, resolver: &Resolver) -> Agent {
    use ureq::unversioned::transport::{ConnectProxyConnector, Connector as _, TcpConnector};
    let connector =
        ().chain(ConnectProxyConnector::default())
            .chain(TcpConnector::default())
            .chain(trust.connector());
    let config = Agent::config_builder()
        // 429 and 503 answers must keep their Retry-After header.
        .http_status_as_error(false)
        .user_agent(user_agent)
        .max_redirects(5)
        // ureq's default, stated: Authorization never follows a redirect.
        .redirect_auth_headers(RedirectAuthHeaders::Never)
        // Proxies are chosen per endpoint (curl's rules), never by ureq.
        .proxy(None)
        .max_idle_connections_per_host(2)
        // Each connection's buffers are zero-filled, so they are resident
        // (ureq's default: 128 KiB each). The input buffer grows when an
        // answer's header needs it (up to ureq's 64 KiB header limit); the
        // output buffer holds a request's header (an Authorization header of
        // a few KiB). Measured: -208 KiB of peak RSS (docs/performance.md).
        .input_buffer_size(INPUT_BUFFER_BYTES)
        .output_buffer_size(OUTPUT_BUFFER_BYTES)
        .build();
    Agent::with_parts(config, connector, resolver.clone())
}

/// `Retry-After`, else the iTwin Platform's own rate-limit header.
fn retry_after(headers: &ureq::http::HeaderMap) -> Option<Duration> {
    let now = SystemTime::now();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    header("retry-after")
        .and_then(|v| parse_retry_after(v, now))
        .or_else(|| {
            header("itwinplatform-ratelimit-retry-after-seconds")
                .and_then(|v| parse_retry_after(v, now))
        })
}

/// The one ureq error that is not about the network: an oversized answer.
fn transport_error(error: ureq::Error) -> Error {
    match error {
        ureq::Error::BodyExceedsLimit(_) => {
            Error::InvalidResponse(format!("answer is larger than {MAX_BODY_BYTES} bytes"))
        }
        other => Error::InvalidResponse(crate::text::one_line(&other.to_string(), 200)),
    }
}
