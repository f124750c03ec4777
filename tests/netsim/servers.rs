//! Real TLS and a real proxy for the network tests: a CA and server
//! certificates made at test time (rcgen), a small HTTPS (or plain HTTP)
//! server that answers the job and token endpoints, and a CONNECT proxy that
//! either refuses with 407 or tunnels to a local port.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The client secret the token endpoint accepts.
pub const GOOD_SECRET: &str = "good-secret-value";

/// A CA, and a server certificate it signed for some names.
pub struct Pki {
    /// The CA certificate, PEM.
    pub ca_pem: String,
    /// The CA certificate, written to a file.
    pub ca_file: PathBuf,
    chain: Vec<CertificateDer<'static>>,
    key: Vec<u8>,
    _dir: tempfile::TempDir,
}

impl Pki {
    /// A fresh CA and a server certificate for `names`.
    pub fn new(names: &[&str]) -> Self {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "ec3-gate test CA");
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
        let cert = CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, ca.pem()).unwrap();
        Self {
            ca_pem: ca.pem(),
            ca_file,
            chain: vec![cert.der().clone()],
            key: key.serialize_der(),
            _dir: dir,
        }
    }

    /// A server certificate for `names` that is its own CA (what `openssl
    /// req -x509` makes by default): self-signed.
    pub fn self_signed(names: &[&str]) -> Self {
        let names: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, cert.pem()).unwrap();
        Self {
            ca_pem: cert.pem(),
            ca_file,
            chain: vec![cert.der().clone()],
            key: key.serialize_der(),
            _dir: dir,
        }
    }

    fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                self.chain.clone(),
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.clone())),
            )
            .unwrap();
        Arc::new(config)
    }
}

/// A local server of the job and token endpoints.
pub struct Server {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Connections accepted so far.
    pub connections: Arc<AtomicUsize>,
}

impl Server {
    /// HTTPS with `pki`'s server certificate.
    pub fn https(pki: &Pki) -> Self {
        Self::start(Some(pki.server_config()), 0)
    }

    /// Plain HTTP; jobs answer `Running` `running` times, then `Succeeded`.
    pub fn http(running: usize) -> Self {
        Self::start(None, running)
    }

    fn start(tls: Option<Arc<rustls::ServerConfig>>, running: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let polls = Arc::new(AtomicUsize::new(0));
        let count = connections.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                count.fetch_add(1, Ordering::SeqCst);
                let (tls, polls) = (tls.clone(), polls.clone());
                std::thread::spawn(move || {
                    let _ = match tls {
                        Some(config) => {
                            let Ok(conn) = rustls::ServerConnection::new(config) else {
                                return;
                            };
                            serve(rustls::StreamOwned::new(conn, stream), &polls, running)
                        }
                        None => serve(stream, &polls, running),
                    };
                });
            }
        });
        Self { port, connections }
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// Answers requests on one connection until it closes.
fn serve(stream: impl Read + Write, polls: &AtomicUsize, running: usize) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    loop {
        let mut head = Vec::new();
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
            head.push(line);
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        let request_line = head.first().cloned().unwrap_or_default();
        let authorization = head
            .iter()
            .find(|l| l.to_ascii_lowercase().starts_with("authorization:"))
            .map(|l| l["authorization:".len()..].trim().to_owned())
            .unwrap_or_default();
        let (status, json) = if request_line.starts_with("POST /connect/token") {
            use base64::Engine as _;
            let good = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("id:{GOOD_SECRET}"))
            );
            if authorization == good {
                (200, r#"{"access_token":"issued-token-abcdef","expires_in":3600,"token_type":"Bearer"}"#.to_owned())
            } else {
                (401, r#"{"error":"invalid_client"}"#.to_owned())
            }
        } else if request_line.contains("/ec3/jobs/") {
            let n = polls.fetch_add(1, Ordering::SeqCst);
            let status = if n < running { "Running" } else { "Succeeded" };
            (
                200,
                format!(r#"{{"job":{{"status":"{status}","message":null}}}}"#),
            )
        } else {
            (
                404,
                r#"{"error":{"code":"NotFound","message":"no such path"}}"#.to_owned(),
            )
        };
        let answer = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{json}",
            json.len()
        );
        let stream = reader.get_mut();
        stream.write_all(answer.as_bytes())?;
        stream.flush()?;
    }
}

/// What a proxy does with `CONNECT`.
#[derive(Clone, Copy)]
pub enum ProxyMode {
    /// Answer `407 Proxy Authentication Required`.
    Refuse407,
    /// Tunnel every `CONNECT` to this local port, whatever the host asked.
    TunnelTo(u16),
}

/// A CONNECT proxy on 127.0.0.1.
pub struct Proxy {
    /// Its port.
    pub port: u16,
    /// Request lines received (`CONNECT host:port HTTP/1.1`).
    pub requests: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Proxy {
    /// Starts a proxy that acts as `mode` says.
    pub fn start(mode: ProxyMode) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let seen = seen.clone();
                std::thread::spawn(move || {
                    let _ = tunnel(stream, mode, &seen);
                });
            }
        });
        Self { port, requests }
    }

    /// The request lines received so far.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

fn tunnel(
    client: TcpStream,
    mode: ProxyMode,
    seen: &std::sync::Mutex<Vec<String>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut first = String::new();
    reader.read_line(&mut first)?;
    seen.lock().unwrap().push(first.trim_end().to_owned());
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
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut reader, &mut up_write);
                let _ = up_write.shutdown(Shutdown::Write);
            });
            std::io::copy(&mut up_read, &mut down_write)?;
            down_write.shutdown(Shutdown::Write)
        }
    }
}
