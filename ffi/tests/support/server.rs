//! A small stand-in for the Carbon Calculation API and the IMS token
//! endpoint, for the C programs: std only, HTTP/1.1 with keep-alive, one
//! thread per connection, on a free loopback port.
//!
//! Job ids choose the behaviour by prefix (the rest of the id is free, so
//! every program run uses ids of its own):
//! - `ok-…`: `Queued`, `Running` ×2, then `Succeeded` with an EC3 link;
//! - `fail-…`: `Queued`, `Running` ×2, then `Failed` with a two-line message;
//! - `slow-…`: `Running` forever;
//! - `odd-…`: `Paused` (a status the library does not know);
//! - `flaky-…`: one 503, then like `ok-`;
//! - `stall-…`: the request is read and never answered;
//! - anything else: 404.
//!
//! Bearer token `denied` gets 403, `expired` 401, none 401. The token
//! endpoint (`POST /connect/token`) accepts client `c-app` with secret
//! `good-secret` and refuses anything else.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

const JOBS: &str = "/insights/carbon-calculation/ec3/jobs/";
/// `Basic base64("c-app:good-secret")`.
const GOOD_CLIENT: &str = "Basic Yy1hcHA6Z29vZC1zZWNyZXQ=";
/// Polls answered `Running` before the terminal status.
const RUNNING_POLLS: u32 = 2;

/// Starts the server; returns its base URL (API root and IMS authority).
pub fn start() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let base = format!("http://{}", listener.local_addr().unwrap());
    let polls = Arc::new(Mutex::new(HashMap::new()));
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let polls = Arc::clone(&polls);
            thread::spawn(move || serve(stream, &polls));
        }
    });
    base
}

type Polls = Mutex<HashMap<String, u32>>;

struct Request {
    method: String,
    path: String,
    authorization: Option<String>,
}

fn serve(stream: TcpStream, polls: &Polls) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(120)));
    let mut reader = BufReader::new(stream);
    while let Some(request) = read_request(&mut reader) {
        let Some((status, extra, body)) = route(&request, polls) else {
            // A stalled request: never answer; hold the connection until the
            // client goes away (or the test process ends).
            let mut sink = [0u8; 64];
            while matches!(reader.read(&mut sink), Ok(n) if n > 0) {}
            return;
        };
        let reason = match status {
            200 => "OK",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            503 => "Service Unavailable",
            _ => "Other",
        };
        // One write: a head and body in two small writes would meet Nagle's
        // algorithm and delayed ACKs (40 ms per answer).
        let answer = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if reader.get_mut().write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}

/// Reads one request head and skips its body; `None` when the peer is gone.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let (mut authorization, mut length) = (None, 0usize);
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        match name.trim().to_ascii_lowercase().as_str() {
            "authorization" => authorization = Some(value.trim().to_owned()),
            "content-length" => length = value.trim().parse().ok()?,
            _ => {}
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        path,
        authorization,
    })
}

fn error(code: &str, message: &str) -> String {
    format!(r#"{{"error":{{"code":"{code}","message":"{message}"}}}}"#)
}

/// The answer: status, extra header lines, body; `None` to stall.
fn route(request: &Request, polls: &Polls) -> Option<(u16, String, String)> {
    if request.method == "POST" && request.path == "/connect/token" {
        return Some(if request.authorization.as_deref() == Some(GOOD_CLIENT) {
            let body = r#"{"access_token":"cc-token","token_type":"Bearer","expires_in":3600}"#;
            (200, String::new(), body.to_owned())
        } else {
            let body =
                r#"{"error":"invalid_client","error_description":"Client authentication failed."}"#;
            (401, String::new(), body.to_owned())
        });
    }
    let Some(id) = request.path.strip_prefix(JOBS) else {
        return Some((404, String::new(), error("NotFound", "No such route.")));
    };
    let token = request
        .authorization
        .as_deref()
        .and_then(|v| v.strip_prefix("Bearer "));
    match token {
        None | Some("expired") => {
            let body = error("InvalidToken", "The token is missing or expired.");
            return Some((401, String::new(), body));
        }
        Some("denied") => {
            let body = error(
                "InsufficientPermissions",
                "The user does not have the carbon_calculate permission.",
            );
            return Some((403, String::new(), body));
        }
        Some(_) => {}
    }
    let poll = {
        let mut polls = polls.lock().unwrap_or_else(PoisonError::into_inner);
        let n = polls.entry(id.to_owned()).or_insert(0);
        *n += 1;
        *n
    };
    let job = |status: &str, message: &str, links: &str| {
        let body = format!(
            r#"{{"job":{{"status":"{status}","message":{message},"_links":{{{links}}}}}}}"#
        );
        Some((200, String::new(), body))
    };
    let walk = |id: &str, poll: u32| match poll {
        1 => job("Queued", "null", ""),
        n if n <= 1 + RUNNING_POLLS => job("Running", "null", ""),
        _ if id.starts_with("fail-") => job(
            "Failed",
            r#""EC3 rejected the report:\nproject name already exists""#,
            "",
        ),
        _ => job(
            "Succeeded",
            "null",
            &format!(
                r#""ec3Project":{{"href":"https://buildingtransparency.org/ec3/buildings/{id}?view=custom"}}"#
            ),
        ),
    };
    match id {
        _ if id.starts_with("ok-") || id.starts_with("fail-") => walk(id, poll),
        _ if id.starts_with("flaky-") && poll == 1 => Some((
            503,
            "Retry-After: 0\r\n".to_owned(),
            error("ServiceUnavailable", "Try again."),
        )),
        _ if id.starts_with("flaky-") => walk(id, poll - 1),
        _ if id.starts_with("slow-") => job("Running", "null", ""),
        _ if id.starts_with("odd-") => job("Paused", "null", ""),
        _ if id.starts_with("stall-") => None,
        _ => Some((
            404,
            String::new(),
            error("JobNotFound", "Requested EC3 Job is not available."),
        )),
    }
}
