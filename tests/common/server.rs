//! A scripted HTTP/1.1 server on a std `TcpListener`: counts accepted
//! connections and requests, and can misbehave at the socket level (which
//! mockito cannot).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// What the server does with one request.
pub enum Action {
    /// Write these bytes (a whole response, or part of one) and keep the
    /// connection open for the next request.
    Raw(Vec<u8>),
    /// Write these bytes, then close the connection.
    RawThenClose(Vec<u8>),
    /// Close the connection without answering.
    Close,
    /// Never answer (hold the connection until the client goes away).
    Hang,
}

/// A 200 JSON answer with keep-alive.
pub fn json(status: u16, body: &str) -> Action {
    Action::Raw(response(
        status,
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    ))
}

/// A whole response with `Content-Length`.
pub fn response(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut head = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    out
}

/// One request as received.
pub struct Request {
    /// The request line and headers.
    pub head: String,
    /// Index of this request over the server's life (0-based).
    pub index: usize,
}

/// A running server; it lives until the test process ends.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    accepts: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
}

impl TestServer {
    /// Starts a server answering each request with `script`.
    pub fn start(script: impl Fn(&Request) -> Action + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let accepts = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let script = Arc::new(script);
        let (a, r) = (accepts.clone(), requests.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                a.fetch_add(1, Ordering::SeqCst);
                let (script, r) = (script.clone(), r.clone());
                std::thread::spawn(move || serve(stream, &*script, &r));
            }
        });
        Self {
            url,
            accepts,
            requests,
        }
    }

    /// TCP connections accepted so far.
    pub fn accepts(&self) -> usize {
        self.accepts.load(Ordering::SeqCst)
    }

    /// Requests received so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

fn serve(
    stream: TcpStream,
    script: &(dyn Fn(&Request) -> Action + Send + Sync),
    requests: &AtomicUsize,
) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut head = String::new();
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            head.push_str(&line);
            if line == "\r\n" {
                break;
            }
        }
        let length = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
            })
            .unwrap_or(0);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let index = requests.fetch_add(1, Ordering::SeqCst);
        match script(&Request { head, index }) {
            Action::Raw(bytes) => {
                if writer.write_all(&bytes).is_err() {
                    return;
                }
            }
            Action::RawThenClose(bytes) => {
                let _ = writer.write_all(&bytes);
                return;
            }
            Action::Close => return,
            Action::Hang => {
                let mut sink = [0u8; 64];
                while let Ok(n) = reader.get_mut().read(&mut sink) {
                    if n == 0 {
                        return;
                    }
                }
                std::thread::sleep(Duration::from_secs(3600));
            }
        }
    }
}
