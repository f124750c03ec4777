//! Just enough HTTP/1.1 for the simulator: one request at a time with a
//! `Content-Length` body, keep-alive, one write per answer. Bad input gets a
//! 4xx answer, never a panic.

use std::io::{self, BufRead, BufReader, Read, Write};

use serde_json::{Value, json};

/// Largest request body accepted; a larger `Content-Length` gets 413.
pub const MAX_BODY: usize = 1 << 20;
/// Longest request line or header line, and most header lines.
const MAX_LINE: u64 = 8 * 1024;
const MAX_HEADERS: usize = 100;

/// A parsed request; header names are lowercase.
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Whether the connection closes after this answer.
    pub close: bool,
}

impl Request {
    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        let mut headers = self.headers.iter();
        headers.find_map(|(n, v)| (n == name).then_some(v.as_str()))
    }
}

/// Why no request could be read.
pub enum ReadError {
    /// The peer went away or idled out: end the connection silently.
    Closed,
    /// Malformed or too large: send this answer, then close.
    Bad(Response),
}

/// A 400 for a request that could not be parsed.
fn bad(message: &str) -> ReadError {
    ReadError::Bad(error(400, "BadRequest", message, None))
}

/// A JSON response and its extra headers.
pub struct Response {
    pub status: u16,
    pub body: Value,
    pub headers: Vec<(&'static str, String)>,
}

/// A JSON response without extra headers.
pub fn reply(status: u16, body: Value) -> Response {
    Response {
        status,
        body,
        headers: Vec::new(),
    }
}

/// The iTwin error shape, `{"error":{"code","message"[,"target"]}}`.
pub fn error(status: u16, code: &str, message: &str, target: Option<&str>) -> Response {
    let mut body = json!({ "error": { "code": code, "message": message } });
    if let Some(target) = target {
        body["error"]["target"] = json!(target);
    }
    reply(status, body)
}

impl Response {
    /// Adds a header line.
    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

/// Reads one request: its head, then exactly `Content-Length` bytes of body.
pub fn read_request(reader: &mut BufReader<impl Read>) -> Result<Request, ReadError> {
    let mut line = read_line(reader)?;
    if line.is_empty() {
        // RFC 9112 §2.2: ignore an empty line before the request line.
        line = read_line(reader)?;
    }
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
    let mut req = Request {
        method: method.into(),
        path: path.into(),
        query: query.into(),
        headers,
        body: Vec::new(),
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

/// One line without its line ending, at most `MAX_LINE` bytes.
fn read_line(reader: &mut BufReader<impl Read>) -> Result<String, ReadError> {
    let mut line = String::new();
    match reader.by_ref().take(MAX_LINE).read_line(&mut line) {
        Ok(0) => Err(ReadError::Closed),
        Ok(_) if !line.ends_with('\n') => Err(bad("Line too long.")),
        Ok(_) => Ok(line.trim_end_matches(['\r', '\n']).to_string()),
        Err(err) if err.kind() == io::ErrorKind::InvalidData => Err(bad("Head is not UTF-8.")),
        Err(_) => Err(ReadError::Closed),
    }
}

/// Writes the whole response at once: a head and body in two small writes
/// would meet Nagle's algorithm and delayed ACKs (40 ms per answer).
pub fn write_response(stream: &mut impl Write, response: &Response, close: bool) -> io::Result<()> {
    let reason = match response.status {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => "",
    };
    let (status, body) = (response.status, response.body.to_string());
    let mut head = format!("HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n");
    for (name, value) in &response.headers {
        head += &format!("{name}: {value}\r\n");
    }
    if close {
        head += "Connection: close\r\n";
    }
    head += &format!("Content-Length: {}\r\n\r\n{body}", body.len());
    stream.write_all(head.as_bytes())
}

/// The credentials after an auth scheme (`Bearer x` gives `x`); the scheme is case-insensitive.
pub fn strip_scheme<'a>(value: &'a str, scheme: &str) -> Option<&'a str> {
    let (name, rest) = value.split_once(' ')?;
    name.eq_ignore_ascii_case(scheme).then(|| rest.trim())
}

/// The client id and secret in `Basic base64(urlencoded(id):urlencoded(secret))`.
pub fn basic_client(value: &str) -> Option<(String, String)> {
    let decoded = String::from_utf8(base64_decode(strip_scheme(value, "Basic")?)?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((percent_decode(id, false), percent_decode(secret, false)))
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
pub fn percent_decode(text: &str, plus: bool) -> String {
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
pub fn form_raw<'a>(form: &'a str, key: &str) -> Option<&'a str> {
    form.split('&').find_map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(name, true) == key).then_some(value)
    })
}

/// The decoded value of `key` in an `a=1&b=2` query string or form body.
pub fn form_value(form: &str, key: &str) -> Option<String> {
    form_raw(form, key).map(|value| percent_decode(value, true))
}
