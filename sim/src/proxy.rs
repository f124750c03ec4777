//! A CONNECT proxy on loopback: it refuses with 407, or tunnels every
//! `CONNECT` to one local port (the simulator's, say) whatever host it names.

use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;

/// What a proxy does with `CONNECT`.
#[derive(Clone, Copy)]
pub enum ProxyMode {
    /// Answer `407 Proxy Authentication Required`.
    Refuse407,
    /// Tunnel every `CONNECT` to this local port, whatever the host asked.
    TunnelTo(u16),
}

/// A CONNECT proxy on 127.0.0.1; its threads end with the process.
pub struct Proxy {
    /// Its port.
    pub port: u16,
    /// Request lines received (`CONNECT host:port HTTP/1.1`).
    requests: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    /// Starts a proxy on a free loopback port that acts as `mode` says.
    pub fn start(mode: ProxyMode) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let seen = seen.clone();
                thread::spawn(move || {
                    let _ = tunnel(stream, mode, &seen);
                });
            }
        });
        Ok(Proxy { port, requests })
    }

    /// The request lines received so far.
    pub fn requests(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

fn tunnel(client: TcpStream, mode: ProxyMode, seen: &Mutex<Vec<String>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut first = String::new();
    reader.read_line(&mut first)?;
    seen.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(first.trim_end().to_owned());
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
    }
    let mut client = client;
    match mode {
        ProxyMode::Refuse407 => {
            client.write_all(
                b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n\r\n",
            )?;
            client.shutdown(Shutdown::Write)
        }
        ProxyMode::TunnelTo(port) => {
            let upstream = TcpStream::connect(("127.0.0.1", port))?;
            client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
            let (mut up_read, mut up_write) = (upstream.try_clone()?, upstream);
            let mut down_write = client;
            thread::spawn(move || {
                let _ = std::io::copy(&mut reader, &mut up_write);
                let _ = up_write.shutdown(Shutdown::Write);
            });
            std::io::copy(&mut up_read, &mut down_write)?;
            down_write.shutdown(Shutdown::Write)
        }
    }
}
