//! The simulated service: routes, job scenarios, the rate limit, counters.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::{self, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::extraction::{Ctx, Extractions, GM};
use crate::http::{
    MAX_BODY, ReadError, Request, Response, basic_client, error, form_raw, form_value,
    percent_decode, read_request, reply, strip_scheme, write_response,
};
use crate::{Options, Stats, configuration};

/// A connection the service answers on: plain TCP, or TLS over it.
pub trait Stream: Read + Write {
    /// The TCP connection underneath.
    fn tcp(&self) -> &TcpStream;

    /// Ends the sending side (after a `close_notify`, for TLS).
    fn close_write(&mut self) {
        let _ = self.flush();
        let _ = self.tcp().shutdown(Shutdown::Write);
    }
}

impl Stream for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

/// Root of the EC3 routes, as under `https://api.bentley.com`.
pub const API: &str = "/insights/carbon-calculation/ec3";
/// An idle keep-alive connection is dropped after this long, so its thread ends.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// The failure reason of failing jobs; the newline is deliberate (clients must escape it).
pub const FAIL_MESSAGE: &str = "EC3 rejected the report:\nproject name already exists";

/// How a job behaves: chosen by its id's prefix, or by `POST …/ec3/jobs`.
#[derive(Clone, Copy, Default, PartialEq)]
enum Outcome {
    Succeeded,
    Failed,
    /// `Running` forever.
    Never,
    /// `Paused`: a status clients do not know.
    Odd,
    /// One 503, then like `Succeeded`.
    Flaky,
    /// The request is read and never answered.
    Stall,
    #[default]
    NotFound,
}

impl Outcome {
    fn of(id: &str) -> Outcome {
        let prefixes = [
            ("ok", Outcome::Succeeded),
            ("fail", Outcome::Failed),
            ("slow", Outcome::Never),
            ("odd", Outcome::Odd),
            ("flaky", Outcome::Flaky),
            ("stall", Outcome::Stall),
        ];
        let found = prefixes.into_iter().find(|(p, _)| id.starts_with(p));
        found.map_or(Outcome::NotFound, |(_, outcome)| outcome)
    }
}

/// One job's progress.
#[derive(Default)]
struct Job {
    outcome: Outcome,
    polls: u64,
    after_terminal: u64,
    terminal_sent: bool,
    /// For an id with a `-ms{N}` part: it ends N ms after its first poll.
    length: Option<Duration>,
    first_poll: Option<Instant>,
    /// How long after it ended the terminal status was first sent.
    noticed_after: Option<Duration>,
}

/// For a job id with a `-ms{N}` part: it ends N ms after its first poll.
fn length_of(id: &str) -> Option<Duration> {
    id.split('-')
        .find_map(|part| part.strip_prefix("ms")?.parse().ok())
        .map(Duration::from_millis)
}

/// Everything that changes, behind one lock.
#[derive(Default)]
struct Book {
    stats: Stats,
    jobs: BTreeMap<String, Job>,
    /// Create requests per configuration id (for `busy…` and `-tryN` ids).
    creates: HashMap<String, u64>,
    /// The bodies of accepted create requests, in order.
    create_bodies: Vec<Value>,
    /// The Grouping & Mapping extractions.
    extractions: Extractions,
    /// Per token, when its admitted requests of the current window came.
    admitted: HashMap<String, VecDeque<Instant>>,
}

/// The server's shared state.
pub struct State {
    pub base: String,
    options: Options,
    started: Instant,
    book: Mutex<Book>,
}

impl State {
    pub fn new(base: String, options: Options) -> State {
        State {
            base,
            options,
            started: Instant::now(),
            book: Mutex::default(),
        }
    }

    fn book(&self) -> MutexGuard<'_, Book> {
        // Nothing panics while holding the lock, but never let poison take the server down.
        self.book.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn stats(&self) -> Stats {
        let book = self.book();
        let mut stats = book.stats.clone();
        for (id, job) in &book.jobs {
            stats.polls.insert(id.clone(), job.polls);
            stats.after_terminal.insert(id.clone(), job.after_terminal);
            if let Some(delay) = job.noticed_after {
                stats.notice_delays.insert(id.clone(), delay);
            }
        }
        book.extractions.count(&mut stats);
        stats
    }

    pub fn extraction_bodies(&self) -> Vec<Value> {
        self.book().extractions.bodies()
    }

    pub fn create_bodies(&self) -> Vec<Value> {
        self.book().create_bodies.clone()
    }

    /// Zeroes every counter and forgets every job.
    pub fn reset(&self) {
        *self.book() = Book::default();
    }

    pub fn accepted(&self) {
        self.book().stats.connections += 1;
    }

    /// Serves requests on one connection until the peer closes, idles out, or asks to close.
    pub fn connection(&self, stream: impl Stream) {
        let _ = stream.tcp().set_nodelay(true);
        let _ = stream.tcp().set_read_timeout(Some(IDLE_TIMEOUT));
        let mut reader = BufReader::new(stream);
        loop {
            let read = read_request(&mut reader);
            if !matches!(read, Err(ReadError::Closed)) {
                self.book().stats.requests += 1;
            }
            let (line, answer, close) = match read {
                Ok(req) => (
                    format!("{} {}", req.method, req.path),
                    self.route(&req),
                    req.close,
                ),
                Err(ReadError::Bad(response)) => ("- -".to_string(), Some(response), true),
                Err(ReadError::Closed) => return,
            };
            let Some(response) = answer else {
                // A stalled request: hold the connection until the client goes away.
                let mut sink = [0u8; 64];
                while matches!(reader.read(&mut sink), Ok(n) if n > 0) {}
                return;
            };
            if self.options.log {
                // Not `eprintln!`, which panics when stderr is a closed pipe.
                let _ = writeln!(io::stderr(), "{line} {}", response.status);
            }
            let stream = reader.get_mut();
            if write_response(stream, &response, close).is_err() {
                return;
            }
            if close {
                // Drain what the client still sends (an unread body, say): closing with unread
                // data would reset the connection, and the client could lose the answer.
                stream.close_write();
                let _ = stream.tcp().set_read_timeout(Some(Duration::from_secs(1)));
                let _ = io::copy(&mut reader.take(4 * MAX_BODY as u64), &mut io::sink());
                return;
            }
        }
    }

    /// The answer to one request; `None` never answers.
    fn route(&self, req: &Request) -> Option<Response> {
        let (route, allowed) = classify(&req.method, &req.path);
        *self.book().stats.routes.entry(route.into()).or_default() += 1;
        if route == "other" {
            return Some(error(404, "NotFound", "Route not found.", None));
        }
        if !allowed.split(", ").any(|method| method == req.method) {
            let message = format!("Method {} is not allowed here.", req.method);
            return Some(error(405, "MethodNotAllowed", &message, None).with("Allow", allowed));
        }
        match route {
            "POST /connect/token" => Some(self.token(req)),
            "GET /__stats" => Some(reply(200, self.stats().to_json())),
            "POST /__reset" => {
                self.reset();
                Some(reply(200, json!({})))
            }
            _ => self.api(req, route),
        }
    }

    /// The API routes (EC3 and Grouping & Mapping): authorization, the rate limit (one
    /// window over both), then the route itself.
    fn api(&self, req: &Request, route: &str) -> Option<Response> {
        let bearer = req
            .header("authorization")
            .and_then(|v| strip_scheme(v, "Bearer"));
        match bearer.unwrap_or("") {
            "" | "expired" => {
                let message = "Header Authorization was not found in the request, or the token \
                               expired. Access denied.";
                return Some(error(401, "HeaderNotFound", message, None));
            }
            "denied" => {
                let permission = match route {
                    "POST /imodel-mappings/extractions" => "imodels_write",
                    r if r.contains("/imodel-mappings/") => "imodels_read",
                    _ => "carbon_calculate",
                };
                let message =
                    format!("The user does not have the {permission} permission on this iTwin.");
                return Some(error(403, "InsufficientPermissions", &message, None));
            }
            token => {
                if let Some(limited) = self.limit(token) {
                    return Some(limited);
                }
            }
        }
        match route {
            "POST /ec3/jobs" => self.create_job(req),
            "GET /ec3/configurations" => Some(self.configs(req)),
            "POST /imodel-mappings/extractions" => {
                let content_type = req.header("content-type").unwrap_or("");
                Some(
                    self.book()
                        .extractions
                        .run(&self.ctx(), content_type, &req.body),
                )
            }
            "GET /imodel-mappings/extractions" => {
                Some(self.book().extractions.list(&self.ctx(), &req.query))
            }
            "GET /imodel-mappings/extractions/{id}" => {
                let id = req.path.rsplit('/').next().unwrap_or("");
                Some(self.book().extractions.state(&self.ctx(), id))
            }
            "GET /imodel-mappings/extractions/{id}/logs" => {
                let id = req.path.rsplit('/').nth(1).unwrap_or("");
                Some(self.book().extractions.logs(&self.ctx(), id, &req.query))
            }
            "GET /ec3/configurations/{id}" => {
                let id = req.path.rsplit('/').next().unwrap_or("");
                Some(configuration::answer(&self.base, id))
            }
            _ => {
                let id = req.path.rsplit('/').next().unwrap_or("");
                self.poll(id)
            }
        }
    }

    /// What the extraction routes need to know.
    fn ctx(&self) -> Ctx<'_> {
        Ctx {
            base: &self.base,
            running_polls: self.options.running_polls,
        }
    }

    /// Counts an API request against `token`'s window: `None` admits it, else the 429.
    fn limit(&self, token: &str) -> Option<Response> {
        let now = Instant::now();
        let mut book = self.book();
        book.stats.api_requests.push(now - self.started);
        let limit = self.options.rate_limit?;
        let admitted = book.admitted.entry(token.into()).or_default();
        while admitted.front().is_some_and(|&at| now - at >= limit.per) {
            admitted.pop_front();
        }
        if (admitted.len() as u64) < limit.requests {
            admitted.push_back(now);
            return None;
        }
        // Whole seconds, rounded up, and at least one: the documented header form.
        let free_at = admitted.front().map_or(now, |&at| at + limit.per);
        let wait = (free_at - now).as_millis().div_ceil(1000).max(1);
        book.stats.rate_limited += 1;
        let message = format!(
            "Rate limit exceeded: {} requests per {} s. Try again in {wait} s.",
            limit.requests,
            limit.per.as_secs_f64()
        );
        let answer = error(429, "RateLimitExceeded", &message, None);
        Some(answer.with("Retry-After", wait.to_string()))
    }

    /// `POST /connect/token`: the client-credentials grant, with HTTP Basic client auth.
    fn token(&self, req: &Request) -> Response {
        let client = req.header("authorization").and_then(basic_client);
        let known = match (&client, &self.options.client) {
            (None, _) => false,
            (Some((id, secret)), Some(only)) => (id, secret) == (&only.0, &only.1),
            (Some((id, _)), None) => !id.is_empty() && id != "bad-client",
        };
        if !known {
            // RFC 6749 §5.2: 401 when the client authenticated with a header.
            let body = json!({ "error": "invalid_client",
                               "error_description": "Client authentication failed." });
            return reply(401, body);
        }
        match form_value(&String::from_utf8_lossy(&req.body), "grant_type").as_deref() {
            Some("client_credentials") => {}
            Some(_) => return reply(400, json!({ "error": "unsupported_grant_type" })),
            None => return reply(400, json!({ "error": "invalid_request" })),
        }
        let n = {
            let mut book = self.book();
            book.stats.tokens_issued += 1;
            book.stats.tokens_issued
        };
        let token = format!("sim-token-{n}");
        reply(
            200,
            json!({ "access_token": token, "expires_in": 3600, "token_type": "Bearer" }),
        )
    }

    /// `GET …/ec3/jobs/{id}`: the job's next step.
    fn poll(&self, id: &str) -> Option<Response> {
        let mut book = self.book();
        let now = Instant::now();
        let job = book.jobs.entry(id.to_string()).or_insert_with(|| Job {
            outcome: Outcome::of(id),
            length: length_of(id),
            first_poll: Some(now),
            ..Job::default()
        });
        job.first_poll.get_or_insert(now);
        job.polls += 1;
        job.after_terminal += u64::from(job.terminal_sent);
        let mut polls = job.polls;
        match job.outcome {
            Outcome::NotFound => {
                let message = "Requested EC3 Job is not available.";
                return Some(error(404, "JobNotFound", message, Some("jobId")));
            }
            Outcome::Stall => return None,
            Outcome::Flaky if polls == 1 => {
                let answer = error(503, "ServiceUnavailable", "Try again.", None);
                return Some(answer.with("Retry-After", "0"));
            }
            Outcome::Flaky => polls -= 1,
            _ => {}
        }
        let ends_at = job.length.zip(job.first_poll).map(|(l, first)| first + l);
        let running = match ends_at {
            Some(at) => now < at,
            None => polls <= self.options.running_polls.saturating_add(1),
        };
        let (status, message, links) = match job.outcome {
            Outcome::Odd => ("Paused", Value::Null, json!({})),
            _ if polls == 1 && running => ("Queued", Value::Null, json!({})),
            Outcome::Never => ("Running", Value::Null, json!({})),
            _ if running => ("Running", Value::Null, json!({})),
            Outcome::Failed => ("Failed", json!(FAIL_MESSAGE), json!({})),
            _ => {
                let href = crate::project_link(id);
                (
                    "Succeeded",
                    Value::Null,
                    json!({ "ec3Project": { "href": href } }),
                )
            }
        };
        let terminal = matches!(status, "Succeeded" | "Failed");
        if terminal && !job.terminal_sent {
            job.noticed_after = ends_at.map(|at| now.saturating_duration_since(at));
        }
        job.terminal_sent |= terminal;
        let body = json!({ "job": { "status": status, "message": message, "_links": links } });
        Some(reply(200, body))
    }

    /// `POST …/ec3/jobs`: checks the body as the service documents it (and an extraction id
    /// against a `…-ext` or `…-report` configuration id), then acts on the configuration id: `reject…` 422 (quoting the EC3 token back, as a service echoing its
    /// input would), `busy…` one 503 then created, `stall…` never answered, `fail…` a job that
    /// fails, anything else a job that succeeds. The job id is `ok-{configurationId}` (or
    /// `fail-…`), with `-try{n}` when it took n requests for that configuration.
    fn create_job(&self, req: &Request) -> Option<Response> {
        let invalid = |message: &str, target| error(422, "InvalidEC3JobRequest", message, target);
        let json_type = req.header("content-type").unwrap_or("");
        if json_type.split(';').next().map(str::trim) != Some("application/json") {
            let message = "Send application/json.";
            return Some(error(415, "UnsupportedMediaType", message, None));
        }
        let Ok(Value::Object(body)) = serde_json::from_slice(&req.body) else {
            return Some(invalid("The request body must be a JSON object.", None));
        };
        let required = ["configurationId", "projectName", "ec3BearerToken"];
        let known = |field: &str| required.contains(&field) || field == "extractionId";
        if let Some(field) = body.keys().find(|field| !known(field)) {
            return Some(invalid(&format!("Unknown field {field}."), None));
        }
        for field in required.into_iter().chain(["extractionId"]) {
            let valid = match body.get(field) {
                Some(Value::String(text)) => !text.is_empty(),
                None => !required.contains(&field),
                Some(_) => false,
            };
            if !valid {
                let message = format!("{field} must be a non-empty string.");
                return Some(invalid(&message, Some(field)));
            }
        }
        let configuration = body["configurationId"].as_str().unwrap_or("").to_owned();
        // Extraction-based configurations (`…-ext`) need an extraction id; report-based ones
        // (`…-report`) refuse one, as a service that knows its configurations would.
        let extraction = body.contains_key("extractionId");
        let kind_wants = match &configuration {
            c if c.ends_with("-ext") => Some(true),
            c if c.ends_with("-report") => Some(false),
            _ => None,
        };
        if kind_wants.is_some_and(|wants| wants != extraction) {
            let message = "extractionId is missing, unexpected or wrong.";
            return Some(error(400, "InvalidEC3JobRequest", message, None));
        }
        let mut book = self.book();
        let tries = book.creates.entry(configuration.clone()).or_default();
        *tries += 1;
        let tries = *tries;
        let c = configuration.as_str();
        if c.starts_with("reject") {
            let token = body["ec3BearerToken"].as_str().unwrap_or("");
            let message =
                format!("Configuration '{c}' has no report to upload with EC3 token '{token}'.");
            return Some(invalid(&message, Some("configurationId")));
        }
        if c.starts_with("busy") && tries == 1 {
            let answer = error(503, "ServiceUnavailable", "Try again.", None);
            return Some(answer.with("Retry-After", "0"));
        }
        if c.starts_with("stall") {
            return None;
        }
        let (prefix, outcome) = match c.starts_with("fail") {
            true => ("fail", Outcome::Failed),
            false => ("ok", Outcome::Succeeded),
        };
        let id = match tries {
            1 => format!("{prefix}-{c}"),
            n => format!("{prefix}-{c}-try{n}"),
        };
        book.stats.created.push(id.clone());
        book.create_bodies.push(Value::Object(body));
        book.jobs.insert(
            id.clone(),
            Job {
                outcome,
                // A configuration id's `-ms{N}` part carries over to its job's id.
                length: length_of(&id),
                ..Job::default()
            },
        );
        let href = format!("{}{API}/jobs/{id}", self.base);
        let body = json!({ "job": { "id": id, "_links": { "status": { "href": href } } } });
        Some(reply(201, body))
    }

    /// `GET …/ec3/configurations?iTwinId=…`: three configurations over two pages.
    fn configs(&self, req: &Request) -> Response {
        let invalid = |message, target| error(422, "InvalidRequest", message, Some(target));
        // The raw (still percent-encoded) value is what goes back into links.
        let Some(itwin) = form_raw(&req.query, "iTwinId").filter(|id| !id.is_empty()) else {
            return invalid("Required query parameter iTwinId is missing.", "iTwinId");
        };
        let first = format!("{}{API}/configurations?iTwinId={itwin}", self.base);
        let second = format!("{first}&$continuationToken=p2");
        let token = form_raw(&req.query, "$continuationToken").map(|t| percent_decode(t, true));
        let (numbers, page, next) = match token.as_deref() {
            None | Some("") => (1..=2, first, Some(second)),
            Some("p2") => (3..=3, second, None),
            Some(_) => return invalid("Invalid continuation token.", "$continuationToken"),
        };
        let names = ["Tower A", "Tower B", "Bridge C"];
        let configuration = |n: usize| {
            json!({
                "id": format!("cfg-{n}"),
                "displayName": names[n - 1],
                "description": format!("Simulated EC3 configuration {n}"),
                "createdOn": "2026-01-01T00:00:00Z",
                "createdBy": "sim-user",
                "modifiedOn": "2026-02-01T00:00:00Z",
                "modifiedBy": "sim-user",
                "_links": {
                    "report": { "href": format!("{}/insights/reporting/reports/r-{n}", self.base) },
                    "iTwin": { "href": format!("{}/itwins/{itwin}", self.base) },
                },
            })
        };
        let mut links = json!({ "self": { "href": page } });
        if let Some(next) = next {
            links["next"] = json!({ "href": next });
        }
        let configurations: Vec<Value> = numbers.map(configuration).collect();
        reply(
            200,
            json!({ "configurations": configurations, "_links": links }),
        )
    }
}

/// Whether `id` is one non-empty path segment.
fn segment(id: &str) -> bool {
    !id.is_empty() && !id.contains('/')
}

/// The route a request is counted under, and the methods it allows (`""`: no such route).
fn classify(method: &str, path: &str) -> (&'static str, &'static str) {
    match path {
        "/connect/token" => return ("POST /connect/token", "POST"),
        "/__stats" => return ("GET /__stats", "GET"),
        "/__reset" => return ("POST /__reset", "POST"),
        _ => {}
    }
    if let Some(rest) = path.strip_prefix(API) {
        return match rest {
            "/jobs" => ("POST /ec3/jobs", "POST"),
            "/configurations" => ("GET /ec3/configurations", "GET"),
            _ => match (
                rest.strip_prefix("/jobs/"),
                rest.strip_prefix("/configurations/"),
            ) {
                (Some(id), _) if segment(id) => ("GET /ec3/jobs/{id}", "GET"),
                (_, Some(id)) if segment(id) => ("GET /ec3/configurations/{id}", "GET"),
                _ => ("other", ""),
            },
        };
    }
    let Some(rest) = path.strip_prefix(GM) else {
        return ("other", "");
    };
    let extractions = "GET, POST";
    match rest.strip_prefix("/extractions") {
        Some("") if method == "GET" => ("GET /imodel-mappings/extractions", extractions),
        Some("") => ("POST /imodel-mappings/extractions", extractions),
        Some(rest) => match rest.strip_prefix('/') {
            Some(id) if segment(id) => ("GET /imodel-mappings/extractions/{id}", "GET"),
            Some(rest) => match rest.strip_suffix("/logs") {
                Some(id) if segment(id) => ("GET /imodel-mappings/extractions/{id}/logs", "GET"),
                _ => ("other", ""),
            },
            None => ("other", ""),
        },
        None => ("other", ""),
    }
}
