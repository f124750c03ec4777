//! ec3-gate's core: query and wait for EC3 upload jobs of Bentley's iTwin
//! Carbon Calculation API, as a CI gate.
//!
//! One synchronous [`Client`] (one HTTP agent, so one kept-alive connection
//! per host) answers [`Client::job_status`] and [`Client::wait`], waits for
//! many jobs at once ([`Client::wait_all`]) and creates them
//! ([`Client::create_job`], [`Client::create_jobs`]). It runs and waits for
//! the Grouping & Mapping extractions an extraction-based configuration
//! uploads ([`Client::run_extraction`], [`Client::wait_extraction`],
//! [`Client::extraction_logs`]), and the whole chain from an iModel to EC3
//! under one deadline ([`Client::extract_and_upload`]). The `ec3-gate`
//! binary and the C library are thin layers over it.
//!
//! # Network rules
//! - `https://` only, except plain `http://` to loopback hosts.
//! - Transient failures (408, 429, 500, 502, 503, 504, refused or reset
//!   connections, timeouts) are retried with capped exponential backoff and
//!   jitter until the call's deadline; `Retry-After` is honoured; no request
//!   outlives the deadline. Answers are read up to 1 MiB.
//! - Every request of a client (polls, creations, token requests, from every
//!   thread) passes one request budget, at most
//!   [`Config::max_requests_per_minute`] in any 60 seconds; a 429 or
//!   `Retry-After` pauses the whole client, not one call.
//! - A host that does not resolve is retried briefly (4 tries, 30 s at most);
//!   an untrusted certificate, a proxy refusing `CONNECT` with a 4xx and an
//!   unusable redirect are final at once. [`NetError`] names the endpoint,
//!   phase and cause; [`NetError::persistence`] is that rule.
//! - TLS trusts the platform's store (compiled-in Mozilla roots where none
//!   exists), plus [`Config::ca_cert`].
//! - Redirects (5 at most) are followed one hop at a time, each a request of
//!   its own: a budget slot, the proxy its host selects, the URL rule.
//!   `Authorization` never follows a redirect.
//! - Every secret the client knows (the access token or the client secret,
//!   the tokens it is issued, EC3 tokens, [`Config::redact`]) is cut out of
//!   every answer before anything reads it as text (a job, a message, an
//!   error): raw, JSON-escaped (also after decoding), URL-encoded and
//!   base64; the texts decoded from it (a job's, a configuration's) are
//!   scrubbed again. A token the authority issues is read as received: it
//!   is data, not display.
//! - Proxies follow curl's rules: `https_proxy`/`HTTPS_PROXY`, `http_proxy`,
//!   `all_proxy`/`ALL_PROXY`, `no_proxy`/`NO_PROXY`; loopback is never proxied.
//!
//! Waits and calls are bounded by [`MIN_TIMEOUT_MS`]..=[`MAX_TIMEOUT_MS`] and
//! polls by [`MIN_INTERVAL_MS`]..=[`MAX_INTERVAL_MS`]; [`WaitOptions`] and
//! [`Timeout`] check them. A client's request budget is 1 to
//! [`MAX_REQUESTS_PER_MINUTE`] (default [`DEFAULT_MAX_REQUESTS_PER_MINUTE`]).
//! Every error has an [`ErrorKind`], which carries
//! the command's exit status and the C library's result code.
//!
//! # Example
//! ```no_run
//! use ec3_gate::{Cancel, Client, Config, Credentials, JobId, WaitOptions};
//!
//! let config = Config::new(Credentials::access_token("eyJ...")?);
//! let client = Client::new(config)?;
//! let job = client.wait(&JobId::new("0ee7070d")?, &WaitOptions::default(), &Cancel::new(), &mut ())?;
//! println!("{} {:?}", job.status, job.ec3_project_url);
//! # Ok::<(), ec3_gate::Error>(())
//! ```

// The core is plain safe Rust; unsafe code belongs to the C library crate.
#![forbid(unsafe_code)]
// Every public item is part of a contract (the CLI's and the C library's).
#![deny(missing_docs)]
// Text from a server or a user is never cut at a byte index: `str::get`,
// `split_at_checked` or char-wise code instead.
#![deny(
    clippy::string_slice,
    reason = "a multi-byte character across a byte index panics (issue 21: a server link did)"
)]

mod auth;
mod budget;
mod cancel;
mod certinfo;
mod chain;
mod check;
mod client;
mod config;
mod configurations;
mod endpoint;
mod error;
mod event;
mod extraction;
mod group;
mod interrupt;
mod job;
mod limits;
mod net_error;
mod new_jobs;
mod parts;
mod proxy;
mod redact;
mod resolver;
mod retry;
mod secret;
pub mod text;
mod tls;
mod upload;
mod wait;

pub use cancel::Cancel;
pub use chain::{ChainExtraction, ChainJob, ChainOutcome, ExtractAndUpload, Stage};
pub use check::{Check, Checkup};
pub use client::{Client, MAX_BODY_BYTES};
pub use config::{Config, Credentials, DEFAULT_API_URL, DEFAULT_AUTHORITY, DEFAULT_SCOPE};
pub use configurations::{Configuration, ConfigurationForm};
pub use error::{Error, ErrorKind, ExtractionFailure, ServiceError};
pub use event::{Event, Observer};
/// For the fuzz targets and property tests only; not part of the API.
#[doc(hidden)]
pub use extraction::parse_date_time;
pub use extraction::{
    Extraction, ExtractionId, ExtractionLog, ExtractionState, LogLevel, NewExtraction,
    failure_message,
};
pub use group::{JobOutcome, deciding_outcome, deciding_result};
pub use job::{Job, JobId, JobStatus};
pub use limits::{
    DEFAULT_CALL_TIMEOUT_MS, DEFAULT_INTERVAL_MS, DEFAULT_MAX_REQUESTS_PER_MINUTE,
    DEFAULT_TIMEOUT_MS, MAX_INTERVAL_MS, MAX_REQUESTS_PER_MINUTE, MAX_TIMEOUT_MS, MIN_INTERVAL_MS,
    MIN_TIMEOUT_MS,
};
pub use net_error::{Cause, CertProblem, NetError, Persistence, Phase, Role};
pub use new_jobs::{NewJobs, PLACEHOLDER_CONFIGURATION, PLACEHOLDER_N};
/// For the fuzz targets and property tests only; not part of the API.
#[doc(hidden)]
pub use retry::parse_retry_after;
pub use secret::Secret;
pub use tls::{CaCert, TrustSource};
/// For the tests of how the platform's certificate store is read; not part
/// of the API.
#[doc(hidden)]
pub use tls::{StoreReads, store_reads};
pub use upload::{NewJob, check_id};
pub use wait::{Timeout, WaitOptions};
