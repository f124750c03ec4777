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
//! Job creation (`POST /insights/carbon-calculation/ec3/jobs`) checks the
//! request as the service documents it: content type `application/json`, a
//! JSON object with exactly the string fields `configurationId`,
//! `projectName`, `ec3BearerToken` and, for extraction-based jobs only,
//! `extractionId`. It also checks the values against what the test programs
//! send ([`PROJECT_NAME`], [`EC3_TOKEN`], and [`EXTRACTION_ID`] exactly when
//! the configuration id ends in `-ext`), so a field the library dropped,
//! renamed, mis-escaped or sent when not given is a 400
//! `InvalidEC3JobRequest` naming it. Then, by configuration id:
//! - `reject-…`: 422 `InvalidEC3JobRequest`, whose message quotes the EC3
//!   token back (a service echoing its input: the library must hide it);
//! - `busy-…`: 503 with `Retry-After: 0` to the first request, then created
//!   as `ok-{configurationId}-try{n}`, `n` counting the requests received;
//! - `stall-…`: the request is read and never answered;
//! - anything else: 201 with the job id `ok-{configurationId}`, a job that
//!   then answers like any `ok-` job.
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
const CREATE: &str = "/insights/carbon-calculation/ec3/jobs";
/// The project name the test programs send: a quote and non-ASCII text
/// check the request's JSON encoding.
pub const PROJECT_NAME: &str = "Tower \"A\" \u{dc}ber";
/// The EC3 token the test programs send.
pub const EC3_TOKEN: &str = "ec3-s3cr3t-token";
/// The extraction id the test programs send for `…-ext` configurations.
pub const EXTRACTION_ID: &str = "extraction-1";
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
    content_type: Option<String>,
    body: Vec<u8>,
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
            201 => "Created",
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            415 => "Unsupported Media Type",
            422 => "Unprocessable Entity",
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

/// Reads one request; `None` when the peer is gone.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let (mut authorization, mut content_type, mut length) = (None, None, 0usize);
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
            "content-type" => content_type = Some(value.trim().to_owned()),
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
        content_type,
        body,
    })
}

fn error(code: &str, message: &str) -> String {
    format!(
        r#"{{"error":{{"code":"{code}","message":{}}}}}"#,
        json_string(message)
    )
}

/// `text` as a JSON string literal.
fn json_string(text: &str) -> String {
    let mut out = String::from('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
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
    let creating = request.method == "POST" && request.path == CREATE;
    let id = match request.path.strip_prefix(JOBS) {
        Some(id) if request.method == "GET" => id,
        _ if creating => "",
        _ => return Some((404, String::new(), error("NotFound", "No such route."))),
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
    if creating {
        return create(request, polls);
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
        // The documented answer, target included.
        _ => Some((
            404,
            String::new(),
            r#"{"error":{"code":"JobNotFound","message":"Requested EC3 Job is not available.","target":"jobId"}}"#
                .to_owned(),
        )),
    }
}

/// `POST …/ec3/jobs`: see the module documentation.
fn create(request: &Request, polls: &Polls) -> Option<(u16, String, String)> {
    let invalid = |message: &str| {
        let body = error("InvalidEC3JobRequest", message);
        Some((400, String::new(), body))
    };
    if request.content_type.as_deref() != Some("application/json") {
        let body = error("UnsupportedMediaType", "Send application/json.");
        return Some((415, String::new(), body));
    }
    let Some(fields) = std::str::from_utf8(&request.body)
        .ok()
        .and_then(parse_flat_object)
    else {
        return invalid("The body is not a JSON object of strings.");
    };
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v);
    let Some(configuration_id) = field("configurationId") else {
        return invalid("configurationId is required.");
    };
    let extraction = configuration_id.ends_with("-ext");
    let expected = [
        ("configurationId", Some(configuration_id.as_str())),
        ("projectName", Some(PROJECT_NAME)),
        ("ec3BearerToken", Some(EC3_TOKEN)),
        ("extractionId", extraction.then_some(EXTRACTION_ID)),
    ];
    for (name, want) in expected {
        if field(name).map(String::as_str) != want {
            // Never quote the token here: a mismatch may be a test's secret.
            return invalid(&format!("{name} is missing, unexpected or wrong."));
        }
    }
    if let Some((name, _)) = fields
        .iter()
        .find(|(k, _)| !expected.iter().any(|(name, _)| name == k))
    {
        return invalid(&format!("Unknown field {name}."));
    }
    let tries = {
        let mut polls = polls.lock().unwrap_or_else(PoisonError::into_inner);
        let n = polls.entry(format!("POST {configuration_id}")).or_insert(0);
        *n += 1;
        *n
    };
    let id = match configuration_id.as_str() {
        c if c.starts_with("reject-") => {
            let message = format!(
                "Configuration '{c}' has no report to upload with EC3 token '{EC3_TOKEN}'."
            );
            return Some((422, String::new(), error("InvalidEC3JobRequest", &message)));
        }
        c if c.starts_with("busy-") && tries == 1 => {
            let body = error("ServiceUnavailable", "Try again.");
            return Some((503, "Retry-After: 0\r\n".to_owned(), body));
        }
        c if c.starts_with("busy-") => format!("ok-{c}-try{tries}"),
        c if c.starts_with("stall-") => return None,
        c => format!("ok-{c}"),
    };
    let body = format!(
        r#"{{"job":{{"id":"{id}","_links":{{"status":{{"href":"https://api.example{JOBS}{id}"}}}}}}}}"#
    );
    Some((201, String::new(), body))
}

/// A JSON object whose values are all strings, as (key, value) pairs in
/// order; `None` for anything else (nesting, numbers, null, duplicate keys,
/// trailing text, bad escapes).
fn parse_flat_object(text: &str) -> Option<Vec<(String, String)>> {
    let mut chars = text.trim().chars().peekable();
    let mut fields: Vec<(String, String)> = Vec::new();
    let skip_ws = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| {
        while chars.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            chars.next();
        }
    };
    if chars.next()? != '{' {
        return None;
    }
    skip_ws(&mut chars);
    if chars.peek() == Some(&'}') {
        chars.next();
    } else {
        loop {
            skip_ws(&mut chars);
            let key = parse_string(&mut chars)?;
            skip_ws(&mut chars);
            if chars.next()? != ':' {
                return None;
            }
            skip_ws(&mut chars);
            let value = parse_string(&mut chars)?;
            if fields.iter().any(|(k, _)| *k == key) {
                return None;
            }
            fields.push((key, value));
            skip_ws(&mut chars);
            match chars.next()? {
                ',' => continue,
                '}' => break,
                _ => return None,
            }
        }
    }
    chars.next().is_none().then_some(fields)
}

/// One JSON string literal, quotes included.
fn parse_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<String> {
    if chars.next()? != '"' {
        return None;
    }
    let mut out = String::new();
    let hex4 = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| {
        let digits: String = chars.by_ref().take(4).collect();
        (digits.len() == 4).then(|| u32::from_str_radix(&digits, 16).ok())?
    };
    loop {
        match chars.next()? {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                '"' => out.push('"'),
                '\\' => out.push('\\'),
                '/' => out.push('/'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'u' => {
                    let unit = hex4(chars)?;
                    let code = if (0xD800..0xDC00).contains(&unit) {
                        if chars.next()? != '\\' || chars.next()? != 'u' {
                            return None;
                        }
                        let low = hex4(chars)?;
                        if !(0xDC00..0xE000).contains(&low) {
                            return None;
                        }
                        0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                    } else {
                        unit
                    };
                    out.push(char::from_u32(code)?);
                }
                _ => return None,
            },
            c if (c as u32) < 0x20 => return None,
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_objects_parse_and_everything_else_does_not() {
        let fields =
            parse_flat_object(r#" { "a" : "x\"y\\z\u00dc\ud83d\ude00" , "b":"" } "#).unwrap();
        assert_eq!(
            fields,
            [
                ("a".to_owned(), "x\"y\\z\u{dc}\u{1f600}".to_owned()),
                ("b".to_owned(), String::new())
            ]
        );
        assert_eq!(parse_flat_object("{}"), Some(Vec::new()));
        for bad in [
            r#"{"a":1}"#,
            r#"{"a":null}"#,
            r#"{"a":"x","a":"y"}"#,
            r#"{"a":"x"} x"#,
            r#"{"a":"x",}"#,
            r#"{"a":"\q"}"#,
            r#"["a"]"#,
            "",
        ] {
            assert_eq!(parse_flat_object(bad), None, "{bad}");
        }
    }
}
