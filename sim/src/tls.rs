//! The simulator behind TLS: a CA and server certificates made at test time
//! (rcgen), so tests can trust them, distrust them, or name the wrong host.

use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

use crate::service::Stream;

/// A server certificate and the CA to trust for it, written to a file too.
pub struct Pki {
    /// The CA certificate, PEM.
    pub ca_pem: String,
    /// The CA certificate, in a file that lives as long as this.
    pub ca_file: PathBuf,
    chain: Vec<CertificateDer<'static>>,
    key: Vec<u8>,
    _dir: tempfile::TempDir,
}

impl Pki {
    /// A fresh CA (`CN=ec3-gate test CA`) and a server certificate it
    /// signed for `names`.
    pub fn new(names: &[&str]) -> Pki {
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "ec3-gate test CA");
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().expect("CA key"))
            .expect("CA certificate");
        let key = KeyPair::generate().expect("server key");
        let cert = CertificateParams::new(owned(names))
            .expect("server parameters")
            .signed_by(&key, &ca)
            .expect("server certificate");
        Pki::with(ca.pem(), cert.der().clone(), &key)
    }

    /// A server certificate for `names` that is its own CA (what `openssl
    /// req -x509` makes by default): self-signed.
    pub fn self_signed(names: &[&str]) -> Pki {
        let mut params = CertificateParams::new(owned(names)).expect("parameters");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let key = KeyPair::generate().expect("key");
        let cert = params.self_signed(&key).expect("certificate");
        Pki::with(cert.pem(), cert.der().clone(), &key)
    }

    fn with(ca_pem: String, cert: CertificateDer<'static>, key: &KeyPair) -> Pki {
        let dir = tempfile::tempdir().expect("temporary directory");
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, &ca_pem).expect("write ca.pem");
        Pki {
            ca_pem,
            ca_file,
            chain: vec![cert],
            key: key.serialize_der(),
            _dir: dir,
        }
    }

    /// The server side's TLS configuration (ring, as the client uses).
    pub(crate) fn server_config(&self) -> Arc<ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.clone()));
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), key)
            .expect("server certificate and key");
        Arc::new(config)
    }
}

fn owned(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

/// A TLS connection; the handshake happens on the first read.
pub(crate) type TlsStream = StreamOwned<ServerConnection, TcpStream>;

/// `stream` with TLS on it, or `None` when the configuration is refused.
pub(crate) fn accept(config: &Arc<ServerConfig>, stream: TcpStream) -> Option<TlsStream> {
    let conn = ServerConnection::new(Arc::clone(config)).ok()?;
    Some(StreamOwned::new(conn, stream))
}

impl Stream for TlsStream {
    fn tcp(&self) -> &TcpStream {
        &self.sock
    }

    fn close_write(&mut self) {
        use std::io::Write as _;
        self.conn.send_close_notify();
        let _ = self.flush();
        let _ = self.sock.shutdown(std::net::Shutdown::Write);
    }
}
