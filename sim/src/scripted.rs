//! A scripted HTTP/1.1 server on a std `TcpListener`: counts accepted
//! connections and requests, and can misbehave at the socket level (which
//! mockito cannot): close or reset a connection before or after the request,
//! reset it in the middle of a body, trickle bytes, never answer, or go down
//! altogether (connections refused) and come back on the same port.
//!
//! Requests are read with `peek` before they are consumed, so an action can
//! drop the connection while the request is still unread in the kernel's
//! buffer: Linux then answers with a TCP reset (RST) instead of a clean close
//! (FIN), without needing `SO_LINGER`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

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
    /// Reset the connection (RST) once the whole request has arrived,
    /// without answering.
    Reset,
    /// Write these bytes (a response head and part of its body), give the
    /// client a moment to read them, then reset the connection (RST).
    ResetAfter(Vec<u8>),
    /// Write the first `at_once` bytes, then the rest one at a time, `every`
    /// apart (a server that trickles); stops when the client goes away.
    Trickle {
        /// The bytes to send.
        bytes: Vec<u8>,
        /// How many leading bytes go out at once (a head, say).
        at_once: usize,
        /// The pause before each later byte.
        every: Duration,
    },
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
    /// When the request had fully arrived.
    pub at: Instant,
}

impl Request {
    /// The value of header `name` (case-insensitive), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// The request target (path and query) from the request line.
    pub fn path(&self) -> &str {
        self.head.split(' ').nth(1).unwrap_or("")
    }
}

type Script = dyn Fn(&Request) -> Action + Send + Sync;
type OnAccept = dyn Fn(usize) -> bool + Send + Sync;

/// Whether the server is up; `go_down`/`come_up` wait for the listener.
#[derive(Default)]
struct Power {
    state: Mutex<PowerState>,
    changed: Condvar,
}

#[derive(Default, Clone, Copy, PartialEq, Eq)]
struct PowerState {
    /// Asked to be down.
    down: bool,
    /// The listener is currently bound.
    listening: bool,
}

/// A running server; it lives until the test process ends.
pub struct TestServer {
    /// `http://HOST:PORT`.
    pub url: String,
    addr: SocketAddr,
    accepts: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
    open: Arc<AtomicUsize>,
    power: Arc<Power>,
}

impl TestServer {
    /// Starts a server on 127.0.0.1 answering each request with `script`.
    pub fn start(script: impl Fn(&Request) -> Action + Send + Sync + 'static) -> Self {
        Self::start_full("127.0.0.1", |_| true, script)
    }

    /// Starts a server on `host` (a loopback address such as `127.0.0.2`).
    /// `on_accept(n)` is asked about the n-th accepted connection (0-based):
    /// `false` closes it at once, before any request is read.
    pub fn start_full(
        host: &str,
        on_accept: impl Fn(usize) -> bool + Send + Sync + 'static,
        script: impl Fn(&Request) -> Action + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind((host, 0)).unwrap();
        let addr = listener.local_addr().unwrap();
        let url = format!("http://{addr}");
        let accepts = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let open = Arc::new(AtomicUsize::new(0));
        let power = Arc::new(Power::default());
        power.state.lock().unwrap().listening = true;
        let script: Arc<Script> = Arc::new(script);
        let on_accept: Arc<OnAccept> = Arc::new(on_accept);
        let counters = Counters {
            accepts: accepts.clone(),
            requests: requests.clone(),
            open: open.clone(),
        };
        let p = power.clone();
        std::thread::spawn(move || accept_loop(listener, addr, &counters, &p, &script, &on_accept));
        Self {
            url,
            addr,
            accepts,
            requests,
            open,
            power,
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

    /// Connections still open (accepted and not yet closed by either side).
    pub fn open_connections(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }

    /// Goes down: the listener is closed (new connections are refused) and
    /// every request on a kept-alive connection is answered by closing it.
    /// Returns once the port refuses connections.
    pub fn go_down(&self) {
        self.power.state.lock().unwrap().down = true;
        self.power.changed.notify_all();
        // Wake the accept loop so that it sees the flag and drops the listener.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        let state = self.power.state.lock().unwrap();
        let _unused = self
            .power
            .changed
            .wait_while(state, |s| s.listening)
            .unwrap();
    }

    /// Comes back on the same port; returns once it listens again.
    pub fn come_up(&self) {
        self.power.state.lock().unwrap().down = false;
        self.power.changed.notify_all();
        let state = self.power.state.lock().unwrap();
        let _unused = self
            .power
            .changed
            .wait_while(state, |s| !s.listening)
            .unwrap();
    }
}

/// A `http://127.0.0.1:PORT` URL on which nothing listens (connections are
/// refused): a port just bound and released.
pub fn refused_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}

fn is_down(power: &Power) -> bool {
    power.state.lock().unwrap().down
}

#[derive(Clone)]
struct Counters {
    accepts: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
    open: Arc<AtomicUsize>,
}

/// Counts a connection as open while it lives.
struct OpenGuard(Arc<AtomicUsize>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn accept_loop(
    mut listener: TcpListener,
    addr: SocketAddr,
    counters: &Counters,
    power: &Arc<Power>,
    script: &Arc<Script>,
    on_accept: &Arc<OnAccept>,
) {
    loop {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            if is_down(power) {
                break;
            }
            let n = counters.accepts.fetch_add(1, Ordering::SeqCst);
            if !on_accept(n) {
                drop(stream);
                continue;
            }
            let _ = stream.set_nonblocking(false);
            counters.open.fetch_add(1, Ordering::SeqCst);
            let guard = OpenGuard(counters.open.clone());
            let (script, requests, power) =
                (script.clone(), counters.requests.clone(), power.clone());
            std::thread::spawn(move || {
                serve(stream, &*script, &requests, &power);
                drop(guard);
            });
        }
        // Down: close the port, wait to be brought back, rebind the same port.
        drop(listener);
        let mut state = power.state.lock().unwrap();
        state.listening = false;
        power.changed.notify_all();
        state = power.changed.wait_while(state, |s| s.down).unwrap();
        drop(state);
        listener = loop {
            // std sets SO_REUSEADDR on Unix, so the port can be bound again at once.
            match TcpListener::bind(addr) {
                Ok(l) => break l,
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        };
        power.state.lock().unwrap().listening = true;
        power.changed.notify_all();
    }
}

/// Peeks until a whole request (head and `Content-Length` body) is in the
/// socket's receive buffer; returns its head and total length, or `None`
/// when the client went away.
fn peek_request(stream: &TcpStream) -> Option<(String, usize)> {
    let mut buf = vec![0u8; 1 << 16];
    let mut last = 0;
    loop {
        let n = stream.peek(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        if let Some(end) = buf[..n].windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end + 4]).into_owned();
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            let total = end + 4 + length;
            if n >= total || n == buf.len() {
                return Some((head, total));
            }
        } else if n == buf.len() {
            return None;
        }
        // Incomplete: peek returns at once while any data is buffered.
        if n == last {
            std::thread::sleep(Duration::from_millis(1));
        }
        last = n;
    }
}

fn serve(mut stream: TcpStream, script: &Script, requests: &AtomicUsize, power: &Power) {
    loop {
        let Some((head, total)) = peek_request(&stream) else {
            return;
        };
        if is_down(power) {
            return;
        }
        let index = requests.fetch_add(1, Ordering::SeqCst);
        let action = script(&Request {
            head,
            index,
            at: Instant::now(),
        });
        // Dropping with the request unread makes the kernel send a reset.
        match action {
            Action::Reset => return,
            Action::ResetAfter(bytes) => {
                let _ = stream.write_all(&bytes);
                let _ = stream.flush();
                std::thread::sleep(Duration::from_millis(200));
                return;
            }
            _ => {}
        }
        let mut request = vec![0; total];
        if stream.read_exact(&mut request).is_err() {
            return;
        }
        match action {
            Action::Raw(bytes) => {
                if stream.write_all(&bytes).is_err() {
                    return;
                }
            }
            Action::RawThenClose(bytes) => {
                let _ = stream.write_all(&bytes);
                return;
            }
            Action::Close | Action::Reset | Action::ResetAfter(_) => return,
            Action::Hang => {
                // Until the client goes away (then the connection is closed).
                let mut sink = [0u8; 64];
                while let Ok(n) = stream.read(&mut sink) {
                    if n == 0 {
                        return;
                    }
                }
                return;
            }
            Action::Trickle {
                bytes,
                at_once,
                every,
            } => {
                let at_once = at_once.min(bytes.len());
                if stream.write_all(&bytes[..at_once]).is_err() {
                    return;
                }
                for &b in &bytes[at_once..] {
                    std::thread::sleep(every);
                    if stream.write_all(&[b]).is_err() {
                        return;
                    }
                }
            }
        }
    }
}
