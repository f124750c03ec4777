//! The test kit of ec3-gate.
//!
//! - [`Sim`]: the one simulated iTwin service (the Carbon Calculation API's EC3 routes, the
//!   Grouping & Mapping API's extractions and the IMS token endpoint), run in-process by tests and as the `ec3-sim` binary by the demo and
//!   the benchmarks. Job ids pick the scenario by prefix, so every test can use ids of its own.
//! - [`scripted`]: a server that misbehaves at the socket level (half answers, resets, stalls,
//!   trickles, outages), which a well-behaved service cannot express.
//! - [`runner`]: what the GitHub Actions runner does with a step's `GITHUB_OUTPUT` and log
//!   (the workflow commands it would run: [`runner::unintended`]).
//! - [`Sim::start_tls`] serves the same simulator over HTTPS with certificates made at test
//!   time ([`tls::Pki`]); [`proxy`] is a CONNECT proxy that refuses (407) or tunnels to it.
//!
//! Job ids (`GET /insights/carbon-calculation/ec3/jobs/{id}`), by prefix:
//!
//! | prefix | answers |
//! |---|---|
//! | `ok` | `Queued`, `Running` × [`Options::running_polls`], `Succeeded` with an EC3 link |
//! | `fail` | the same walk, then `Failed` with a two-line message |
//! | `slow` | `Running` forever |
//! | `odd` | `Paused` (a status clients do not know), from the first poll |
//! | `flaky` | one 503 with `Retry-After: 0`, then like `ok` |
//! | `stall` | never answered |
//! | anything else | 404 `JobNotFound` |
//!
//! An `ok` or `fail` id with a `-ms{N}` part (`ok-ms1500-a`) lasts a time instead of a
//! number of polls: `Running` until N ms after its first poll; so does a created job whose
//! configuration id has one (`ok-ms1500-a-ext` makes `ok-ok-ms1500-a-ext`). [`Stats::notice_delays`]
//! says how long after that each such job's terminal status was first sent.
//!
//! One configuration (`GET /insights/carbon-calculation/ec3/configurations/{id}`), by suffix:
//!
//! | id | answers |
//! |---|---|
//! | `{stem}-report` | report-based: labels with `reportTable`, `_links.report.href` = `{base}/insights/reporting/reports/report-{stem}` |
//! | `{imodel}.{mstem}-ext` | extraction-based: three labels with `mappingId`s `{mstem}-m1`, `{mstem}-m2`, `{mstem}-m1`; `_links.iModel.href` = `{base}/imodels/{imodel}`, `_links.iTwin.href` = `{base}/itwins/itwin-1` |
//! | `{mstem}-ext` | the same with the iModel `imodel-1`; a stem starting `nolink` has no `_links.iModel` |
//! | anything else | 404 `ConfigurationNotFound` |
//!
//! Extractions live under `/grouping-and-mapping/datasources/imodel-mappings` (`{gm}` below):
//!
//! | method, path | answers |
//! |---|---|
//! | `POST {gm}/extractions` | body `{"iModelId", "mappings": [{"id"}], "changesetId"?, "ecInstanceIds"?}` (JSON, else 415); a missing, empty or mistyped field or an unknown one 422 `InvalidExtractionRequest` naming it; an iModel id starting `missing` 404 `IModelNotFound`; else 201 `{"extraction": {"id", "state": "Queued", "startedOn", "_links": {"status"}}}`, the body recorded ([`Sim::extraction_requests`]) |
//! | `GET {gm}/extractions/{id}` | its next state, `_links.status` and `_links.logs` |
//! | `GET {gm}/extractions/{id}/logs[?$top][&$continuationToken]` | at most 2 entries a page (fewer with `$top`), `_links.next` while more remain; `dateTime` alternates between `2024-05-01T10:00:00+00:00` and `2024-05-01T10:00:00.1234567Z` |
//! | `GET {gm}/extractions?iModelId=…[&$top][&$continuationToken]` | the runs on that iModel since start or reset, newest first, as state objects (a list read does not advance a walk; a run not yet read is `Queued`), `$top` 1–1000 (default 100), `_links.self` and `next` |
//!
//! A run is named `{prefix}-x{N}` (N counts runs since start or reset, from 1), its prefix
//! taken from the first mapping id (in body order) whose prefix (the text before its first
//! `-`) is one of these but `ok`; else `ok`. A state or log read by an id that was never
//! run follows the id's prefix the same way (its log as if one mapping `{prefix}-m1` ran).
//!
//! | prefix | states read | logs |
//! |---|---|---|
//! | `ok` | `Queued`, `Running` × [`Options::running_polls`], `Succeeded` | one `Information` entry per mapping |
//! | `partial` | the same walk, then `PartiallySucceeded` | per `partial…` mapping a `Warning` and an `Error` entry (`contextType` `Mapping`, `contextId` the mapping id); `Information` for the others |
//! | `fail` | the same walk, then `Failed` | an `Error` entry per mapping; the first over 2000 characters, with control characters and a fake `::error::` line |
//! | `slow` | `Running` forever | none |
//! | `odd` | `Cancelling` (a state clients do not know), from the first read | none |
//! | `gone` | 404 `ExtractionNotFound` | 404 |
//! | anything else | 404 `ExtractionNotFound` | 404 |
//!
//! Bearer token `denied` gets 403 (naming `imodels_write` to run an extraction,
//! `imodels_read` to read one, `carbon_calculate` on the EC3 routes), `expired` or none
//! 401, on both APIs; [`Options::rate_limit`] counts the requests of both APIs in one window
//! per token. Job creation is described at [`Sim`]; `GET /__stats` reports the counters as
//! JSON and `POST /__reset` clears them. Authorization values, request bodies and the
//! `ec3BearerToken` are never logged.
//!
//! Where this differs from the contract the core was written against
//! (`helpers/i18-sim-contract.md`), or settles what the service's documentation leaves open:
//! `slow` answers `Running` from the first read (the run itself answered `Queued`); a list
//! leaves out `gone` runs (they have no state to show); `$top` of the logs is checked as the
//! list's is (1–1000, else 422); invalid query values are 422 `InvalidRequest`, bad run bodies
//! 422 `InvalidExtractionRequest` (the service's codes are not documented); a run's log
//! is whole from the first read (the service may add entries as the run goes); a mapping's
//! extractions (`GET {gm}/{mappingId}/extractions`, optional in the contract) are not served.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use serde_json::{Value, json};

pub mod cli;
mod configuration;
mod extraction;
mod http;
pub mod proxy;
pub mod runner;
pub mod scripted;
mod service;
pub mod tls;

pub use service::{API, FAIL_MESSAGE};

/// How a simulator behaves.
#[derive(Clone)]
pub struct Options {
    /// Polls answered `Running` between the first (`Queued`) and the terminal one.
    /// Defaults to 2.
    pub running_polls: u64,
    /// A per-token request limit on the API routes (EC3 and Grouping & Mapping, in one
    /// window). Defaults to none.
    pub rate_limit: Option<RateLimit>,
    /// The one client (id, secret) the token endpoint accepts. Defaults to none: any
    /// client id but an empty one or `bad-client`, with any secret.
    pub client: Option<(String, String)>,
    /// Whether to log each request line and status on stderr. Defaults to false.
    pub log: bool,
}

impl std::fmt::Debug for Options {
    /// Every field but the client secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let client = self.client.as_ref().map(|(id, _)| (id, "***"));
        f.debug_struct("Options")
            .field("running_polls", &self.running_polls)
            .field("rate_limit", &self.rate_limit)
            .field("client", &client)
            .field("log", &self.log)
            .finish()
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            running_polls: 2,
            rate_limit: None,
            client: None,
            log: false,
        }
    }
}

/// At most `requests` API requests (EC3 and Grouping & Mapping together) per token in any `per` (a sliding window, as a gateway
/// counts); past it, 429 `RateLimitExceeded` with `Retry-After` in whole seconds. Refused
/// requests do not count against the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests admitted per window.
    pub requests: u64,
    /// The window.
    pub per: Duration,
}

impl RateLimit {
    /// `requests` a minute, the unit the iTwin Platform documents (500 on the trial tier).
    pub fn per_minute(requests: u64) -> Self {
        RateLimit {
            requests,
            per: Duration::from_secs(60),
        }
    }
}

/// What the simulator has seen since it started (or was reset).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// TCP connections accepted.
    pub connections: u64,
    /// Requests read (the `/__stats` request that reports them included).
    pub requests: u64,
    /// Requests per route, such as `GET /ec3/jobs/{id}`, `GET /ec3/configurations/{id}`,
    /// `POST /imodel-mappings/extractions`, `GET /imodel-mappings/extractions` (the list),
    /// `GET /imodel-mappings/extractions/{id}`, `GET /imodel-mappings/extractions/{id}/logs`
    /// or `POST /connect/token` (`other` for a path that is none of them).
    pub routes: BTreeMap<String, u64>,
    /// Access tokens issued by the token endpoint.
    pub tokens_issued: u64,
    /// The ids of the jobs created, in order.
    pub created: Vec<String>,
    /// 429 answers sent by the rate limit.
    pub rate_limited: u64,
    /// Polls per job id (unknown ids too).
    pub polls: BTreeMap<String, u64>,
    /// Polls per job id after its terminal status was sent.
    pub after_terminal: BTreeMap<String, u64>,
    /// When each authorized API request (EC3 or Grouping & Mapping) came, since the simulator
    /// started.
    pub api_requests: Vec<Duration>,
    /// The ids of the extractions run (`POST …/imodel-mappings/extractions`), in order.
    pub extractions: Vec<String>,
    /// State reads per extraction id (unknown ids too).
    pub extraction_polls: BTreeMap<String, u64>,
    /// State reads per extraction id after its terminal state was sent.
    pub extraction_after_terminal: BTreeMap<String, u64>,
    /// Per job with a length (an id with a `-ms{N}` part): how long after it
    /// ended its terminal status was first sent, that is, noticed.
    pub notice_delays: BTreeMap<String, Duration>,
}

impl Stats {
    /// The most authorized API requests that came within any `window`: what a rate limit
    /// of that window would have counted.
    pub fn max_requests_in(&self, window: Duration) -> usize {
        let times = &self.api_requests;
        let mut start = 0;
        let mut most = 0;
        for (end, &at) in times.iter().enumerate() {
            while at - times[start] >= window {
                start += 1;
            }
            most = most.max(end + 1 - start);
        }
        most
    }

    /// Requests after a terminal status, over all jobs.
    pub fn requests_after_terminal(&self) -> u64 {
        self.after_terminal.values().sum()
    }

    /// The `/__stats` answer (extractions under `extractionsRun` and `extractions`, each
    /// with its `polls` and `requestsAfterTerminal`; the top-level `requestsAfterTerminal`
    /// counts jobs only).
    fn to_json(&self) -> Value {
        let jobs: serde_json::Map<_, _> = self
            .polls
            .iter()
            .map(|(id, polls)| {
                let after = self.after_terminal.get(id).copied().unwrap_or(0);
                (
                    id.clone(),
                    json!({ "polls": polls, "requestsAfterTerminal": after }),
                )
            })
            .collect();
        let extractions: serde_json::Map<_, _> = self
            .extraction_polls
            .iter()
            .map(|(id, polls)| {
                let after = self.extraction_after_terminal.get(id).copied().unwrap_or(0);
                (
                    id.clone(),
                    json!({ "polls": polls, "requestsAfterTerminal": after }),
                )
            })
            .collect();
        json!({
            "connections": self.connections,
            "requests": self.requests,
            "routes": self.routes,
            "tokensIssued": self.tokens_issued,
            "jobsCreated": self.created.len(),
            "rateLimited": self.rate_limited,
            "maxRequestsPerMinute": self.max_requests_in(Duration::from_secs(60)),
            "jobs": jobs,
            "requestsAfterTerminal": self.requests_after_terminal(),
            "extractionsRun": self.extractions.len(),
            "extractions": extractions,
            "noticeDelaysMs": self
                .notice_delays
                .iter()
                .map(|(id, d)| (id.clone(), json!(d.as_millis() as u64)))
                .collect::<serde_json::Map<_, _>>(),
        })
    }
}

/// A running simulator; it stops listening when dropped.
///
/// Job creation (`POST …/ec3/jobs`) checks the body as the service documents it (content type
/// `application/json`; a JSON object of non-empty strings `configurationId`, `projectName`,
/// `ec3BearerToken` and optionally `extractionId`; nothing else: else 415 or 422; an
/// `extractionId` is required for a configuration id ending `-ext` and refused for one ending
/// `-report`, with 400), then acts
/// on the configuration id: `reject…` 422 quoting the EC3 token back (a service echoing its
/// input: clients must hide it); `busy…` one 503 with `Retry-After: 0`, then created;
/// `stall…` never answered; `fail…` a job that fails; anything else a job that succeeds. The
/// job id is `ok-{configurationId}` (or `fail-…`), plus `-try{n}` when it took `n` requests.
pub struct Sim {
    url: String,
    addr: SocketAddr,
    state: Arc<service::State>,
    stop: Arc<AtomicBool>,
    accept: Option<thread::JoinHandle<()>>,
}

impl Sim {
    /// Starts a simulator on a free loopback port, speaking plain HTTP.
    pub fn start(options: Options) -> io::Result<Sim> {
        Sim::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), options)
    }

    /// Starts a simulator on `addr`.
    pub fn bind(addr: SocketAddr, options: Options) -> io::Result<Sim> {
        Sim::listen(addr, options, None)
    }

    /// Starts a simulator on a free loopback port that speaks only HTTPS, with `pki`'s
    /// server certificate; its URL is `https://localhost:PORT`.
    pub fn start_tls(options: Options, pki: &tls::Pki) -> io::Result<Sim> {
        Sim::bind_tls(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), options, pki)
    }

    /// Starts a simulator on `addr` that speaks only HTTPS, like [`Sim::start_tls`].
    pub fn bind_tls(addr: SocketAddr, options: Options, pki: &tls::Pki) -> io::Result<Sim> {
        Sim::listen(addr, options, Some(pki.server_config()))
    }

    fn listen(
        addr: SocketAddr,
        options: Options,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> io::Result<Sim> {
        let listener = TcpListener::bind(addr)?;
        let plain = base_url(listener.local_addr()?);
        // Where `drop` connects to wake the accept loop (loopback for a wildcard address).
        let addr: SocketAddr = plain
            .trim_start_matches("http://")
            .parse()
            .map_err(io::Error::other)?;
        let url = match tls {
            Some(_) => format!("https://localhost:{}", addr.port()),
            None => plain,
        };
        let state = Arc::new(service::State::new(url.clone(), options));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, halt) = (Arc::clone(&state), Arc::clone(&stop));
        let accept = thread::Builder::new()
            .name("ec3-sim".into())
            .spawn(move || serve(&listener, &s, &halt, tls))?;
        Ok(Sim {
            url,
            addr,
            state,
            stop,
            accept: Some(accept),
        })
    }

    /// The base URL, `http://127.0.0.1:PORT` (or `https://localhost:PORT`): both the API root (paths as under
    /// `https://api.bentley.com`) and the IMS authority.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The port it listens on (loopback).
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The counters so far.
    pub fn stats(&self) -> Stats {
        self.state.stats()
    }

    /// The bodies of the create requests that made a job, in order (they hold the EC3
    /// token: for assertions, never for output).
    pub fn created_requests(&self) -> Vec<Value> {
        self.state.create_bodies()
    }

    /// The bodies of the extraction runs that made an extraction, in order (what a test
    /// checks: `iModelId`, `mappings`, `changesetId`).
    pub fn extraction_requests(&self) -> Vec<Value> {
        self.state.extraction_bodies()
    }

    /// Zeroes every counter and forgets every job and extraction.
    pub fn reset(&self) {
        self.state.reset();
    }

    /// Serves until the process ends (for the binary).
    pub fn wait(mut self) {
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag and drops the listener.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

/// Accepts connections until `stop`, one thread each.
fn serve(
    listener: &TcpListener,
    state: &Arc<service::State>,
    stop: &AtomicBool,
    tls: Option<Arc<rustls::ServerConfig>>,
) {
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else {
            // Out of file descriptors, say: neither spin nor die.
            thread::sleep(Duration::from_millis(10));
            continue;
        };
        state.accepted();
        let state = Arc::clone(state);
        // A thread that cannot be created drops the connection instead of panicking.
        let tls = tls.clone();
        let _ = thread::Builder::new().spawn(move || match tls {
            Some(config) => {
                if let Some(stream) = tls::accept(&config, stream) {
                    state.connection(stream);
                }
            }
            None => state.connection(stream),
        });
    }
}

/// The EC3 project link of a succeeded job `id`.
pub fn project_link(id: &str) -> String {
    format!("https://buildingtransparency.org/ec3/buildings/{id}?view=custom")
}

/// The URL clients should use for a listener's address (a wildcard address becomes loopback).
pub fn base_url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}
