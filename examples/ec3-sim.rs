//! `ec3-sim`: a local stand-in for the iTwin Carbon Calculation API's EC3 endpoints and for the
//! IMS token endpoint, so `ec3-gate` can be tried, tested and benchmarked without credentials.
//!
//! ```text
//! cargo run --example ec3-sim -- [--addr ADDR] [--running-polls N] [--url-file PATH]
//! ```
//!
//! The first stdout line is the base URL (`http://127.0.0.1:PORT`): it is both the API root
//! (paths as under `https://api.bentley.com`) and the IMS authority. Job ids pick the outcome:
//! `ok…` walks `Queued`, `Running` × N, `Succeeded`; `fail…` walks to `Failed`; `slow…` stays
//! `Running`; other ids are 404. `GET /__stats` reports counters, `POST /__reset` clears them.
//!
//! Only std and `serde_json`: HTTP/1.1 with keep-alive, one thread per connection. Bad input
//! gets a 4xx answer, never a panic. Authorization values, request bodies and the
//! `ec3BearerToken` are never logged or echoed.

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use std::{env, fs, thread};

use serde_json::{Value, json};

const USAGE: &str = "\
Usage: ec3-sim [--addr ADDR] [--running-polls N] [--url-file PATH]

Options:
  --addr ADDR          IP:PORT to listen on [default: 127.0.0.1:0, a free port]
  --running-polls N    polls answered `Running` before the terminal status [default: 2]
  --url-file PATH      also write the base URL to PATH (a temporary file, then renamed)
  -h, --help           print this help

Prints the base URL (API root and IMS authority) as the first stdout line, then serves
until killed. Job ids: ok... succeed, fail... fail, slow... never finish, others are 404.
";

/// Root of the EC3 routes, as under `https://api.bentley.com`.
const API: &str = "/insights/carbon-calculation/ec3";
/// Largest request body accepted; a larger `Content-Length` gets 413.
const MAX_BODY: usize = 1 << 20;
/// Longest request line or header line, and most header lines.
const MAX_LINE: u64 = 8 * 1024;
const MAX_HEADERS: usize = 100;
/// An idle keep-alive connection is dropped after this long, so its thread ends.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// The failure reason of failing jobs; the newline is deliberate (clients must escape it).
const FAIL_MESSAGE: &str = "EC3 rejected the report:\nproject name already exists";

/// The validated command line.
#[derive(Debug, PartialEq)]
pub struct Args {
    /// Address to listen on.
    pub addr: SocketAddr,
    /// Polls answered `Running` between the first (`Queued`) and the terminal one.
    pub running_polls: u64,
    /// Where to also write the base URL.
    pub url_file: Option<String>,
}

/// Parses the arguments after the program name; `Ok(None)` means `--help`.
pub fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Option<Args>, String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let mut parsed = Args {
        addr,
        running_polls: 2,
        url_file: None,
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag.to_string(), Some(value.into())),
            _ => (arg, None),
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--addr" | "--running-polls" | "--url-file" => {}
            _ => return Err(format!("unknown argument `{flag}`")),
        }
        let value = inline.or_else(|| args.next());
        let value = value.ok_or_else(|| format!("{flag} needs a value"))?;
        let invalid = |what: &str| format!("{flag}: `{value}` is not {what}");
        match flag.as_str() {
            "--addr" => parsed.addr = value.parse().map_err(|_| invalid("an IP:PORT address"))?,
            "--running-polls" => {
                parsed.running_polls = value.parse().map_err(|_| invalid("a whole number"))?;
            }
            _ => parsed.url_file = Some(value),
        }
    }
    Ok(Some(parsed))
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

/// Writes a temporary file beside `path`, then renames it: whoever waits for `path` never
/// reads it half-written.
pub fn write_atomically(path: &str, text: &str) -> io::Result<()> {
    let tmp = format!("{path}.{}.tmp", std::process::id());
    let written = fs::write(&tmp, text).and_then(|()| fs::rename(&tmp, path));
    written.inspect_err(|_| drop(fs::remove_file(&tmp)))
}

fn main() -> ExitCode {
    match parse_args(env::args().skip(1)) {
        Ok(Some(args)) => match run(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("ec3-sim: {message}");
                ExitCode::FAILURE
            }
        },
        Ok(None) => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("ec3-sim: {message}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// Listens, announces the base URL, and serves forever.
fn run(args: &Args) -> Result<(), String> {
    let listener = TcpListener::bind(args.addr);
    let listener = listener.map_err(|err| format!("cannot listen on {}: {err}", args.addr))?;
    let addr = listener
        .local_addr()
        .map_err(|err| format!("no local address: {err}"))?;
    let base = base_url(addr);
    // A launcher may read only this line and close the pipe: write errors don't matter.
    let mut stdout = io::stdout().lock();
    let _ = writeln!(stdout, "{base}").and_then(|()| stdout.flush());
    drop(stdout);
    if let Some(path) = &args.url_file {
        let written = write_atomically(path, &format!("{base}\n"));
        written.map_err(|err| format!("cannot write {path}: {err}"))?;
    }
    serve(listener, Arc::new(Sim::new(base, args.running_polls, true)));
    Ok(())
}

/// Accepts connections forever, one thread each.
pub fn serve(listener: TcpListener, sim: Arc<Sim>) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else {
            // Out of file descriptors, say: neither spin nor die.
            thread::sleep(Duration::from_millis(10));
            continue;
        };
        sim.connections.fetch_add(1, Relaxed);
        let sim = Arc::clone(&sim);
        // A thread that cannot be created drops the connection instead of panicking.
        let _ = thread::Builder::new().spawn(move || sim.connection(stream));
    }
}

/// How a job ends: chosen by its id's prefix, or by `POST …/ec3/jobs`.
#[derive(Clone, Copy, Default)]
enum Outcome {
    Succeeded,
    Failed,
    Never,
    #[default]
    NotFound,
}

/// One job's progress and counters.
#[derive(Default)]
struct Job {
    outcome: Outcome,
    polls: u64,
    after_terminal: u64,
    terminal_sent: bool,
}

/// The server's shared state.
#[derive(Default)]
pub struct Sim {
    base: String,
    running_polls: u64,
    /// Whether to log each request on stderr.
    log: bool,
    connections: AtomicU64,
    requests: AtomicU64,
    tokens: AtomicU64,
    created: AtomicU64,
    /// Every job created or polled (unknown ids too, so tests can count their polls).
    jobs: Mutex<BTreeMap<String, Job>>,
}

/// A parsed request; header names are lowercase.
struct Request {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Whether the connection closes after this answer.
    close: bool,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        let mut headers = self.headers.iter();
        headers.find_map(|(n, v)| (n == name).then_some(v.as_str()))
    }
}

/// Why no request could be read.
enum ReadError {
    /// The peer went away or idled out: end the connection silently.
    Closed,
    /// Malformed or too large: send this answer, then close.
    Bad(Response),
}

/// A 400 for a request that could not be parsed.
fn bad(message: &str) -> ReadError {
    ReadError::Bad(error(400, "BadRequest", message, None))
}

/// A JSON response, and the `Allow` header of a 405.
struct Response {
    status: u16,
    body: Value,
    allow: Option<&'static str>,
}

fn reply(status: u16, body: Value) -> Response {
    Response {
        status,
        body,
        allow: None,
    }
}

/// The iTwin error shape, `{"error":{"code","message"[,"target"]}}`.
fn error(status: u16, code: &str, message: &str, target: Option<&str>) -> Response {
    let mut body = json!({ "error": { "code": code, "message": message } });
    if let Some(target) = target {
        body["error"]["target"] = json!(target);
    }
    reply(status, body)
}

impl Sim {
    /// A fresh simulator whose links start with `base`.
    pub fn new(base: String, running_polls: u64, log: bool) -> Sim {
        Sim {
            base,
            running_polls,
            log,
            ..Sim::default()
        }
    }

    fn jobs(&self) -> MutexGuard<'_, BTreeMap<String, Job>> {
        // Nothing panics while holding the lock, but never let poison take the server down.
        self.jobs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Serves requests on one connection until the peer closes, idles out, or asks to close.
    fn connection(&self, stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        let _ = stream.set_read_timeout(Some(IDLE_TIMEOUT));
        let mut reader = BufReader::new(stream);
        loop {
            let (line, response, close) = match self.read_request(&mut reader) {
                Ok(req) => (
                    format!("{} {}", req.method, req.path),
                    self.route(&req),
                    req.close,
                ),
                Err(ReadError::Bad(response)) => ("- -".to_string(), response, true),
                Err(ReadError::Closed) => return,
            };
            if self.log {
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
                let _ = stream.shutdown(Shutdown::Write);
                let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
                let _ = io::copy(&mut reader.take(4 * MAX_BODY as u64), &mut io::sink());
                return;
            }
        }
    }

    /// Reads one request: its head, then exactly `Content-Length` bytes of body.
    fn read_request(&self, reader: &mut BufReader<TcpStream>) -> Result<Request, ReadError> {
        let mut line = read_line(reader)?;
        if line.is_empty() {
            // RFC 9112 §2.2: ignore an empty line before the request line.
            line = read_line(reader)?;
        }
        self.requests.fetch_add(1, Relaxed);
        let parts: Vec<&str> = line.split(' ').collect();
        let [method, target, version] = parts[..] else {
            return Err(bad("Malformed request line."));
        };
        if !version.starts_with("HTTP/1.") {
            return Err(bad("Only HTTP/1.x is served."));
        }
        let mut headers = Vec::new();
        loop {
            let line = read_line(reader)?;
            if line.is_empty() {
                break;
            }
            match line.split_once(':') {
                Some((name, value)) if headers.len() < MAX_HEADERS => {
                    headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
                }
                _ => return Err(bad("Malformed or too many header lines.")),
            }
        }
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let (method, path, query) = (method.into(), path.into(), query.into());
        let body = Vec::new();
        let mut req = Request {
            method,
            path,
            query,
            headers,
            body,
            close: false,
        };
        let connection = req.header("connection").unwrap_or("").to_ascii_lowercase();
        let keep_alive = match version {
            "HTTP/1.0" => connection.contains("keep-alive"),
            _ => !connection.split(',').any(|token| token.trim() == "close"),
        };
        // A HEAD gets a body too (it is answered 405), so its connection is not reused.
        req.close = !keep_alive || req.method == "HEAD";
        if req.header("transfer-encoding").is_some() {
            return Err(bad("Send a Content-Length, not a Transfer-Encoding."));
        }
        req.body = match req.header("content-length").map(str::parse::<usize>) {
            None => Vec::new(),
            Some(Ok(length)) if length <= MAX_BODY => vec![0; length],
            Some(Ok(_)) => {
                let response = error(413, "PayloadTooLarge", "The body is over 1 MiB.", None);
                return Err(ReadError::Bad(response));
            }
            Some(Err(_)) => return Err(bad("Invalid Content-Length.")),
        };
        reader
            .read_exact(&mut req.body)
            .map_err(|_| ReadError::Closed)?;
        Ok(req)
    }

    fn route(&self, req: &Request) -> Response {
        let only = |allowed: &'static str, handle: &dyn Fn() -> Response| {
            if req.method == allowed {
                return handle();
            }
            let message = format!("Method {} is not allowed here.", req.method);
            Response {
                allow: Some(allowed),
                ..error(405, "MethodNotAllowed", &message, None)
            }
        };
        let path = req.path.as_str();
        match path.strip_prefix(API) {
            _ if path == "/connect/token" => only("POST", &|| self.token(req)),
            _ if path == "/__stats" => only("GET", &|| self.stats()),
            _ if path == "/__reset" => only("POST", &|| self.reset()),
            Some("/jobs") => only("POST", &|| authorized(req, || self.create_job(req))),
            Some("/configurations") => only("GET", &|| authorized(req, || self.configs(req))),
            Some(rest) => match rest.strip_prefix("/jobs/") {
                Some(id) if !id.is_empty() && !id.contains('/') => {
                    only("GET", &|| authorized(req, || self.poll(id)))
                }
                _ => error(404, "NotFound", "Route not found.", None),
            },
            None => error(404, "NotFound", "Route not found.", None),
        }
    }

    /// `POST /connect/token`: the client-credentials grant, with HTTP Basic client auth.
    fn token(&self, req: &Request) -> Response {
        let client_id = req.header("authorization").and_then(basic_client_id);
        if client_id.is_none_or(|id| id.is_empty() || id == "bad-client") {
            return reply(400, json!({ "error": "invalid_client" }));
        }
        match form_value(&String::from_utf8_lossy(&req.body), "grant_type").as_deref() {
            Some("client_credentials") => {}
            Some(_) => return reply(400, json!({ "error": "unsupported_grant_type" })),
            None => return reply(400, json!({ "error": "invalid_request" })),
        }
        let token = format!("sim-token-{}", self.tokens.fetch_add(1, Relaxed) + 1);
        let body = json!({ "access_token": token, "expires_in": 3600, "token_type": "Bearer" });
        reply(200, body)
    }

    /// `GET …/ec3/jobs/{id}`: the job's next step.
    fn poll(&self, id: &str) -> Response {
        let mut jobs = self.jobs();
        let job = jobs.entry(id.to_string()).or_insert_with(|| {
            let outcome = match id {
                _ if id.starts_with("ok") => Outcome::Succeeded,
                _ if id.starts_with("fail") => Outcome::Failed,
                _ if id.starts_with("slow") => Outcome::Never,
                _ => Outcome::NotFound,
            };
            Job {
                outcome,
                ..Job::default()
            }
        });
        job.polls += 1;
        job.after_terminal += u64::from(job.terminal_sent);
        let (status, message, links) = match (job.outcome, job.polls) {
            (Outcome::NotFound, _) => {
                let message = "Requested EC3 Job is not available.";
                return error(404, "JobNotFound", message, Some("jobId"));
            }
            (_, 1) => ("Queued", Value::Null, json!({})),
            (Outcome::Never, _) => ("Running", Value::Null, json!({})),
            (_, n) if n <= self.running_polls.saturating_add(1) => {
                ("Running", Value::Null, json!({}))
            }
            (Outcome::Succeeded, _) => {
                let href =
                    format!("https://buildingtransparency.org/ec3/buildings/{id}?view=custom");
                (
                    "Succeeded",
                    Value::Null,
                    json!({ "ec3Project": { "href": href } }),
                )
            }
            (Outcome::Failed, _) => ("Failed", json!(FAIL_MESSAGE), json!({})),
        };
        job.terminal_sent |= matches!(status, "Succeeded" | "Failed");
        reply(
            200,
            json!({ "job": { "status": status, "message": message, "_links": links } }),
        )
    }

    /// `POST …/ec3/jobs`: a job that walks to `Succeeded`, or to `Failed` when the
    /// configuration id starts with `fail`. The EC3 token is only checked for presence.
    fn create_job(&self, req: &Request) -> Response {
        let invalid = |message: &str, target| error(422, "InvalidEC3JobRequest", message, target);
        let Ok(Value::Object(body)) = serde_json::from_slice(&req.body) else {
            return invalid("The request body must be a JSON object.", None);
        };
        let required = ["configurationId", "projectName", "ec3BearerToken"];
        for field in required.into_iter().chain(["extractionId"]) {
            let valid = match body.get(field) {
                Some(Value::String(text)) => !text.is_empty(),
                None => !required.contains(&field),
                Some(_) => false,
            };
            if !valid {
                return invalid(&format!("{field} must be a non-empty string."), Some(field));
            }
        }
        let failing = body
            .get("configurationId")
            .and_then(Value::as_str)
            .is_some_and(|c| c.starts_with("fail"));
        let n = self.created.fetch_add(1, Relaxed) + 1;
        let (id, outcome) = match failing {
            true => (format!("fail-sim-{n}"), Outcome::Failed),
            false => (format!("sim-{n}"), Outcome::Succeeded),
        };
        self.jobs().insert(
            id.clone(),
            Job {
                outcome,
                ..Job::default()
            },
        );
        let href = format!("{}{API}/jobs/{id}", self.base);
        reply(
            201,
            json!({ "job": { "id": id, "_links": { "status": { "href": href } } } }),
        )
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

    /// `GET /__stats`: the counters, total and per job.
    fn stats(&self) -> Response {
        let jobs = self.jobs();
        let counts =
            |job: &Job| json!({ "polls": job.polls, "requestsAfterTerminal": job.after_terminal });
        let per_job: serde_json::Map<_, _> = jobs
            .iter()
            .map(|(id, job)| (id.clone(), counts(job)))
            .collect();
        reply(
            200,
            json!({
                "connections": self.connections.load(Relaxed),
                "requests": self.requests.load(Relaxed),
                "jobs": per_job,
                "requestsAfterTerminal": jobs.values().map(|job| job.after_terminal).sum::<u64>(),
            }),
        )
    }

    /// `POST /__reset`: zeroes every counter and forgets every job.
    fn reset(&self) -> Response {
        let counters = [
            &self.connections,
            &self.requests,
            &self.tokens,
            &self.created,
        ];
        counters
            .iter()
            .for_each(|counter| counter.store(0, Relaxed));
        self.jobs().clear();
        reply(200, json!({}))
    }
}

/// Runs `handle` only for a request with a non-empty Bearer token; token `denied` gets 403.
fn authorized(req: &Request, handle: impl FnOnce() -> Response) -> Response {
    match req
        .header("authorization")
        .and_then(|v| strip_scheme(v, "Bearer"))
        .unwrap_or("")
    {
        "" => {
            let message = "Header Authorization was not found in the request. Access denied.";
            error(401, "HeaderNotFound", message, None)
        }
        "denied" => {
            let message = "The user does not have the carbon_calculate permission on this iTwin.";
            error(403, "InsufficientPermissions", message, None)
        }
        _ => handle(),
    }
}

/// The credentials after an auth scheme (`Bearer x` gives `x`); the scheme is case-insensitive.
fn strip_scheme<'a>(value: &'a str, scheme: &str) -> Option<&'a str> {
    let (name, rest) = value.split_once(' ')?;
    name.eq_ignore_ascii_case(scheme).then(|| rest.trim())
}

/// The client id in `Basic base64(urlencoded(id):urlencoded(secret))`.
fn basic_client_id(value: &str) -> Option<String> {
    let decoded = String::from_utf8(base64_decode(strip_scheme(value, "Basic")?)?).ok()?;
    let (id, _secret) = decoded.split_once(':')?;
    Some(percent_decode(id, false))
}

/// Standard or URL-safe base64, padding optional; `None` on any other character.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0u32);
    for c in text.trim_end_matches('=').bytes() {
        let sextet = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = ((acc << 6) | u32::from(sextet)) & 0xFFFF;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

/// Decodes `%XX` escapes, and `+` as a space when `plus` is set (forms and queries).
/// Malformed escapes stay as they are; invalid UTF-8 becomes U+FFFD.
fn percent_decode(text: &str, plus: bool) -> String {
    let hex = |b: Option<&u8>| b.and_then(|&b| char::from(b).to_digit(16));
    let (bytes, mut out, mut i) = (text.as_bytes(), Vec::with_capacity(text.len()), 0);
    while i < bytes.len() {
        match (bytes[i], hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 2;
            }
            (b'+', _, _) if plus => out.push(b' '),
            (b, _, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The raw value of `key` in an `a=1&b=2` query string or form body (the key is decoded).
fn form_raw<'a>(form: &'a str, key: &str) -> Option<&'a str> {
    form.split('&').find_map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(name, true) == key).then_some(value)
    })
}

/// The decoded value of `key` in an `a=1&b=2` query string or form body.
fn form_value(form: &str, key: &str) -> Option<String> {
    form_raw(form, key).map(|value| percent_decode(value, true))
}

/// One line without its line ending, at most `MAX_LINE` bytes.
fn read_line(reader: &mut BufReader<TcpStream>) -> Result<String, ReadError> {
    let mut line = String::new();
    match reader.by_ref().take(MAX_LINE).read_line(&mut line) {
        Ok(0) => Err(ReadError::Closed),
        Ok(_) if !line.ends_with('\n') => Err(bad("Line too long.")),
        Ok(_) => Ok(line.trim_end_matches(['\r', '\n']).to_string()),
        Err(err) if err.kind() == io::ErrorKind::InvalidData => Err(bad("Head is not UTF-8.")),
        Err(_) => Err(ReadError::Closed),
    }
}

/// Writes the whole response at once.
fn write_response(stream: &mut TcpStream, response: &Response, close: bool) -> io::Result<()> {
    let reason = match response.status {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Content Too Large",
        422 => "Unprocessable Content",
        _ => "",
    };
    let (status, body) = (response.status, response.body.to_string());
    let mut head = format!("HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n");
    if let Some(allow) = response.allow {
        head += &format!("Allow: {allow}\r\n");
    }
    if close {
        head += "Connection: close\r\n";
    }
    head += &format!("Content-Length: {}\r\n\r\n{body}", body.len());
    stream.write_all(head.as_bytes())
}
