//! The HTTP client: one ureq agent, retries within a deadline, and the
//! service's endpoints.

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use ureq::Agent;
use ureq::config::RedirectAuthHeaders;

use crate::auth::Auth;
use crate::budget::{Budget, Slot};
use crate::endpoint::{Endpoint, Resolver, is_loopback};
use crate::net_error::{NetError, Persistence, Phase, classify};
use crate::parts::Parts;
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
/// Redirects followed for one request at most; each hop is a request of its
/// own (a budget slot, its host's proxy, the URL rule).
const MAX_REDIRECTS: usize = 5;
/// The variables [`crate::proxy::select`] reads, kept to choose the proxy of
/// each redirect's host as for the configured endpoints.
pub(crate) const PROXY_VARIABLES: [&str; 7] = [
    "https_proxy",
    "HTTPS_PROXY",
    "http_proxy",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
];
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
    trust: Trust,
    /// The proxy variables as read at [`Client::new`].
    proxy_env: Vec<(&'static str, String)>,
    /// One pool for every call; a cancel interrupts only its own call's
    /// connections (see [`crate::interrupt`]).
    agent: Agent,
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
    /// The body with every known secret cut out: what answers are read from
    /// when what they say may become text (a job, a message, an error).
    pub(crate) body: Vec<u8>,
    /// The body as received, for the one answer whose secret is data, not
    /// display: a token the authority issued (it may be one it issued
    /// before, which the redactor knows).
    pub(crate) received: Vec<u8>,
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

/// What one attempt's last hop came to, and where it went.
struct Sent {
    attempt: Attempt,
    /// The endpoint of the last hop (the request's own, unless redirected).
    endpoint: Endpoint,
    /// True when a redirect was followed: the first request reached a server.
    redirected: bool,
}

/// The outcome of one attempt.
enum Attempt {
    Answered {
        status: u16,
        /// As received: not redacted yet.
        received: Vec<u8>,
        retry_after: Option<Duration>,
        /// `Location`, for a redirect.
        location: Option<String>,
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
        let parts = Parts::read(&config, var);
        Self::from_parts(config, parts)
    }

    /// The client of `config` whose `parts` were read: the first problem
    /// (in [`Parts::problems`]' order, the credentials first) refuses it.
    pub(crate) fn from_parts(config: Config, parts: Parts) -> Result<Self, Error> {
        let credentials = config.credentials.ok_or(Error::NoCredentials)?;
        let api = parts.api?;
        let authority = parts.authority?;
        parts.scope?;
        let budget = parts.budget?;
        let trust = parts.trust?;
        let resolver = Resolver::new(&[&api, &authority]);
        let agent = build_agent(&config.user_agent, &trust, &resolver);
        let client = Self {
            proxy_env: parts.proxy_env,
            api,
            auth: Auth::new(credentials, authority, config.scope),
            trust,
            agent,
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

    /// Runs `f` as one public call: a deadline, and requests the cancel flag
    /// can interrupt (its own, no other call's).
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
        cancel.check()?;
        let _scope = crate::interrupt::Scope::enter(cancel);
        let mut call = Call {
            deadline,
            cancel,
            observer,
        };
        Ok(f(self, &mut call))
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
        let sent = match self.send_hops(request, call) {
            Ok(sent) => sent,
            Err(Step::Failed(error)) => return Err(error),
            Err(_) => return Err(late(request.endpoint)),
        };
        match sent.attempt {
            Attempt::Answered { status, .. } => Ok(status),
            Attempt::Failed { error } => Err(match classify(&error, &sent.endpoint) {
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
        crate::endpoint::strip_prefix_ci(url, &base).is_some_and(|rest| !rest.is_empty())
    }

    pub(crate) fn fetch_job(&self, job: &JobId, call: &mut Call<'_>) -> Result<Job, Error> {
        let url = self.job_url(job);
        let reply = self.api_call(Method::Get, url, None, Policy::Idempotent, call)?;
        self.read_job(reply)
    }

    /// `text` (decoded from an answer) scrubbed of every secret this
    /// client knows.
    pub(crate) fn scrub(&self, text: String) -> String {
        self.redactor
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .text(text)
    }

    /// The job a status answer holds, its decoded texts scrubbed of every
    /// secret (the answer's bytes were, but an escape only decoding reveals
    /// survives when the answer as a whole is no JSON the redactor reads).
    pub(crate) fn read_job(&self, reply: Reply) -> Result<Job, Error> {
        let read = reply
            .into_body(Error::JobNotFound)
            .and_then(|body| Job::from_json(&body));
        let redactor = self.redactor.lock().unwrap_or_else(PoisonError::into_inner);
        match read {
            Ok(mut job) => {
                job.message = job.message.map(|m| redactor.text(m));
                job.ec3_project_url = job.ec3_project_url.map(|u| redactor.text(u));
                Ok(job)
            }
            Err(Error::InvalidResponse(why)) => Err(Error::InvalidResponse(redactor.text(why))),
            Err(other) => Err(other),
        }
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
        let Sent {
            attempt,
            endpoint,
            redirected,
        } = match self.send_hops(request, call) {
            Ok(sent) => sent,
            Err(step) => return step,
        };
        #[cfg(test)]
        if policy == Policy::NotIdempotent {
            tests::cancel_after_send(call.cancel);
        }
        // A cancel ends the call, unless what it would drop is the news of
        // something done: the service answered a creation with its id.
        let done = policy == Policy::NotIdempotent
            && matches!(
                &attempt,
                Attempt::Answered {
                    status: 200..=299,
                    ..
                }
            );
        if !done && let Err(error) = call.cancel.check() {
            return Step::Failed(error);
        }
        let (error, retry_after, slows_everyone, brief) = match attempt {
            Attempt::Answered {
                status,
                received,
                retry_after,
                ..
            } => {
                let body = self
                    .redactor
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .bytes(received.clone());
                let retry = is_retryable_status(status)
                    && (policy == Policy::Idempotent
                        || status == 429
                        || (status == 503 && retry_after.is_some()));
                if !retry {
                    return Step::Done(Reply {
                        status,
                        body,
                        received,
                    });
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
                let Some(net) = classify(&error, &endpoint) else {
                    return Step::Failed(transport_error(error));
                };
                let persistence = net.persistence();
                // A hop after a redirect means the first request was sent.
                let not_sent = net.surely_not_sent() && !redirected;
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

    /// Sends `request` and follows its redirects (up to [`MAX_REDIRECTS`]),
    /// each hop a request of its own: a budget slot, the proxy its host's
    /// URL selects, the URL rule (https, or plain http to loopback), no
    /// `Authorization`. `Err` is the step the attempt comes to (late, or a
    /// redirect that cannot be followed).
    fn send_hops(&self, request: &Request<'_>, call: &Call<'_>) -> Result<Sent, Step> {
        let mut endpoint = request.endpoint.clone();
        let mut url = request.url.clone();
        let mut method = request.method;
        let mut body = request.body.clone();
        let mut authorization = request.authorization.clone();
        for hop in 0..=MAX_REDIRECTS {
            match self.budget.acquire(call.deadline, call.cancel) {
                Ok(Slot::Granted) => {}
                Ok(Slot::Late) => return Err(Step::Late),
                Err(error) => return Err(Step::Failed(error)),
            }
            let remaining = call.deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(Step::Late);
            }
            let this = Request {
                method,
                url: url.clone(),
                endpoint: &endpoint,
                authorization: authorization.clone(),
                accept: request.accept,
                body: body.clone(),
            };
            let attempt = self.send_once(&this, remaining);
            let location = match &attempt {
                Attempt::Answered {
                    status: 301 | 302 | 303 | 307 | 308,
                    location: Some(location),
                    ..
                } if !call.cancel.is_cancelled() => location.clone(),
                _ => {
                    return Ok(Sent {
                        attempt,
                        endpoint,
                        redirected: hop > 0,
                    });
                }
            };
            let unusable = |endpoint: &Endpoint, phase, what: &str| {
                Step::Failed(Error::Network(Box::new(NetError::unusable(
                    endpoint, phase, what,
                ))))
            };
            if hop == MAX_REDIRECTS {
                return Err(unusable(&endpoint, Phase::Read, "too many redirects"));
            }
            let keeps_method = matches!(
                &attempt,
                Attempt::Answered {
                    status: 307 | 308,
                    ..
                }
            );
            if keeps_method && body.is_some() {
                // It would send the request body again, to another place.
                return Err(unusable(
                    &endpoint,
                    Phase::Read,
                    "a redirect could not be followed",
                ));
            }
            let Some((next, next_url)) = endpoint.redirect(&url, &location) else {
                return Err(unusable(
                    &endpoint,
                    Phase::Read,
                    "a redirect could not be followed",
                ));
            };
            if endpoint.is_https() && !next.is_https() {
                return Err(unusable(
                    &next,
                    Phase::Send,
                    "refused a redirect from https to plain http",
                ));
            }
            if !next.is_https() && !is_loopback(next.host()) {
                return Err(unusable(
                    &next,
                    Phase::Connect,
                    &crate::endpoint::LeftLoopback.to_string(),
                ));
            }
            let next = next
                .with_proxy_from(|name| {
                    self.proxy_env
                        .iter()
                        .find(|(n, _)| *n == name)
                        .map(|(_, v)| v.clone())
                })
                .map_err(Step::Failed)?;
            if !keeps_method {
                method = Method::Get;
                body = None;
            }
            authorization = None;
            endpoint = next;
            url = next_url;
        }
        Err(Step::Late)
    }

    fn send_once(&self, request: &Request<'_>, remaining: Duration) -> Attempt {
        let agent = &self.agent;
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
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let read = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY_BYTES)
            .read_to_vec();
        match read {
            Ok(received) => Attempt::Answered {
                status,
                received,
                retry_after,
                location,
            },
            // An error answer's body only adds detail; the status says enough.
            Err(_) if status >= 400 => Attempt::Answered {
                status,
                received: Vec::new(),
                retry_after,
                location,
            },
            Err(error) => Attempt::Failed { error },
        }
    }
}

/// The rule for following a paged answer's `_links.next`: only under the
/// API root, and never back to a page already read (a loop).
pub(crate) struct Pages {
    /// What is paged, for errors ("the configuration list").
    what: &'static str,
    /// The pages read, as the service wrote their links.
    seen: HashSet<String>,
}

impl Pages {
    /// Following the pages of `what`.
    pub(crate) fn new(what: &'static str) -> Self {
        Self {
            what,
            seen: HashSet::new(),
        }
    }

    /// Records `url` as read.
    pub(crate) fn read(&mut self, url: &str) {
        self.seen.insert(url.to_owned());
    }

    /// The page to read after one whose next link is `next`: `None` at the
    /// end; an error for a loop or a link that leaves the API root.
    pub(crate) fn next(
        &self,
        client: &Client,
        next: Option<String>,
    ) -> Result<Option<String>, Error> {
        let what = self.what;
        match next {
            Some(next) if self.seen.contains(&next) => Err(Error::InvalidResponse(format!(
                "the {what} links back to a page already read (a loop); not followed"
            ))),
            Some(next) if client.is_api_url(&next) => Ok(Some(next)),
            Some(_) => Err(Error::InvalidResponse(format!(
                "the next page link of the {what} leaves the API root; not followed"
            ))),
            None => Ok(None),
        }
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
            Step::Retry { error, delay } => pause_to_retry(call, error, delay)?,
        }
    }
}

/// After a try that failed with `error` and may be retried in `delay`:
/// reports it and sleeps that delay, or, when the next try could not start
/// before the deadline, gives `error` back.
pub(crate) fn pause_to_retry(
    call: &mut Call<'_>,
    error: Error,
    delay: Duration,
) -> Result<(), Error> {
    if !starts_in_time(delay, call.deadline) {
        return Err(error);
    }
    call.observer.on_event(Event::Retrying {
        error: &error,
        delay,
    });
    call.cancel.sleep(delay)
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

pub(crate) fn configure<B>(
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
/// then TLS with `trust` where the URL is https, every connection
/// interruptible by its call's cancel; nothing reads the platform's
/// certificate store before a connection needs TLS.
pub(crate) fn build_agent(user_agent: &str, trust: &Trust, resolver: &Resolver) -> Agent {
    use ureq::unversioned::transport::{ConnectProxyConnector, Connector as _, TcpConnector};
    let connector =
        ().chain(ConnectProxyConnector::default())
            .chain(TcpConnector::default())
            .chain(trust.connector());
    let config = Agent::config_builder()
        // 429 and 503 answers must keep their Retry-After header.
        .http_status_as_error(false)
        .user_agent(user_agent)
        // Redirects are followed by `Client::send_hops`, each hop through
        // the budget, its own proxy and the URL rule.
        .max_redirects(0)
        // Stated: Authorization never follows a redirect.
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
    Agent::with_parts(
        config,
        crate::interrupt::InterruptibleConnector(connector),
        resolver.clone(),
    )
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
pub(crate) fn transport_error(error: ureq::Error) -> Error {
    match error {
        ureq::Error::BodyExceedsLimit(_) => {
            Error::InvalidResponse(format!("answer is larger than {MAX_BODY_BYTES} bytes"))
        }
        other => Error::InvalidResponse(crate::text::one_line(&other.to_string(), 200)),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::cell::Cell;

    use crate::Cancel;

    thread_local! {
        static CANCEL_AFTER_SEND: Cell<bool> = const { Cell::new(false) };
    }

    /// Makes the next creations (requests not safe to repeat) on this
    /// thread cancel their call the moment their answer is read: the race a
    /// test cannot time from outside.
    pub(crate) fn set_cancel_after_send(on: bool) {
        CANCEL_AFTER_SEND.with(|c| c.set(on));
    }

    pub(super) fn cancel_after_send(cancel: &Cancel) {
        if CANCEL_AFTER_SEND.with(Cell::get) {
            cancel.cancel();
        }
    }

    /// Issue 21: a redirect's hop chooses the proxy of its own host (curl's
    /// rules), not the first host's: a loopback API (never proxied) that
    /// redirects to another host sends that hop through `https_proxy`.
    #[test]
    fn a_redirect_hop_chooses_its_own_proxy() {
        use std::sync::{Arc, Mutex};

        use ec3_sim::scripted::{Action, TestServer, response};

        use crate::{Client, Config, Credentials, JobId, Timeout};

        let asked = Arc::new(Mutex::new(Vec::<String>::new()));
        let log = asked.clone();
        let proxy = TestServer::start(move |request| {
            log.lock()
                .unwrap()
                .push(request.head.lines().next().unwrap_or("").to_owned());
            Action::Raw(response(403, &[], b""))
        });
        let api = TestServer::start(|_| {
            let to = [("Location", "https://elsewhere.example/x")];
            Action::Raw(response(302, &to, b""))
        });
        let config =
            Config::new(Credentials::access_token("t0ken-value").unwrap()).api_url(&api.url);
        let proxy_url = proxy.url.clone();
        let env = move |name: &str| (name == "https_proxy").then(|| proxy_url.clone());
        let client = Client::with_env(config, env).unwrap();
        let error = client
            .job_status(
                &JobId::new("job-1").unwrap(),
                Timeout::new(std::time::Duration::from_secs(10)).unwrap(),
                &Cancel::new(),
                &mut (),
            )
            .unwrap_err();
        let asked = asked.lock().unwrap().clone();
        assert_eq!(
            asked,
            ["CONNECT elsewhere.example:443 HTTP/1.1"],
            "the hop went through the proxy its host selects: {error}"
        );
    }
}
