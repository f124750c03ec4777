//! Whom to trust: the platform's certificate store, else the compiled-in
//! Mozilla roots, plus any extra CA certificates the user gives; and the TLS
//! layer of every connection ([`TlsConnector`]).
//!
//! Nothing here reads the platform's store until a connection needs TLS (or
//! `doctor` asks where trust comes from): a run over plain `http://` to
//! loopback, a usage error or `--help` opens none of its files. Where the
//! store is files (Linux and the other Unixes: `SSL_CERT_FILE` and
//! `SSL_CERT_DIR`, else where OpenSSL keeps them), it is read once per
//! process, each file once, and each distinct certificate is parsed once
//! however many files hold it. On macOS and Windows the operating system's
//! verifier decides (rustls-platform-verifier), built at the first TLS
//! connection of a client; with extra certificates, rustls verifies against
//! the system's certificates (read once per process) and the extra ones.

use std::fmt;
use std::io::{Read as _, Write as _};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, StreamOwned};
use ureq::tls::{PemItem, parse_pem};
use ureq::unversioned::transport::time::{Duration as UDuration, Instant as UInstant};
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout, Transport,
    TransportAdapter,
};

use crate::Error;

/// How much of a PEM file or text is read: far more than any CA bundle.
const MAX_PEM_BYTES: u64 = 4 << 20;

/// The trust of one client: the extra CA certificates, and the TLS settings
/// every connection of the client shares, built at its first TLS connection.
/// Clones share both.
#[derive(Debug, Clone, Default)]
pub(crate) struct Trust {
    inner: Arc<TrustInner>,
}

#[derive(Default)]
struct TrustInner {
    extra: Vec<CertificateDer<'static>>,
    config: OnceLock<Result<Arc<ClientConfig>, rustls::Error>>,
}

impl fmt::Debug for TrustInner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustInner")
            .field("extra", &self.extra.len())
            .finish_non_exhaustive()
    }
}

/// How a CA certificate value ([`Config::ca_cert`](crate::Config::ca_cert))
/// is read: the one place that tells PEM text from a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CaCert<'a> {
    /// PEM text given inline (it holds `-----BEGIN`).
    Pem(&'a str),
    /// The path of a PEM file (surrounding whitespace trimmed).
    Path(&'a str),
}

impl<'a> CaCert<'a> {
    /// How `value` is read.
    pub fn of(value: &'a str) -> Self {
        if value.contains("-----BEGIN") {
            Self::Pem(value)
        } else {
            Self::Path(value.trim())
        }
    }
}

/// Where the trusted roots come from, for `doctor` and the docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrustSource {
    /// The operating system's verifier (Linux: the system bundle, honouring
    /// `SSL_CERT_FILE` and `SSL_CERT_DIR`; macOS: Keychain; Windows: the
    /// certificate store).
    Platform,
    /// The system's certificates plus the extra ones (both verified by
    /// rustls).
    PlatformAndExtra,
    /// No system store was found: the Mozilla roots compiled into ec3-gate.
    Compiled,
    /// No system store was found: only the extra certificates.
    ExtraOnly,
}

impl Trust {
    /// Reads extra CA certificates from `value`: PEM text (it holds
    /// `-----BEGIN`), else the path of a PEM file. Each certificate must be
    /// usable as a trust anchor; at least one is required. The platform's
    /// store is not read here.
    pub(crate) fn with_extra(value: &str) -> Result<Self, Error> {
        const WHAT: &str = "CA certificate";
        let pem = match CaCert::of(value) {
            CaCert::Pem(text) => text.as_bytes().to_vec(),
            CaCert::Path(path) => read_capped(path).map_err(|e| {
                Error::config(
                    WHAT,
                    format!("cannot read '{}': {e}", crate::text::one_line(path, 200)),
                )
            })?,
        };
        let mut extra = Vec::new();
        for item in parse_pem(&pem) {
            match item {
                Ok(PemItem::Certificate(cert)) => {
                    extra.push(CertificateDer::from(cert.der().to_vec()))
                }
                Ok(_) => {}
                Err(_) => return Err(Error::config(WHAT, "PEM data is malformed")),
            }
        }
        if extra.is_empty() {
            return Err(Error::config(
                WHAT,
                "no certificate found (expected PEM: -----BEGIN CERTIFICATE-----)",
            ));
        }
        let mut check = rustls::RootCertStore::empty();
        for (n, cert) in extra.iter().enumerate() {
            check.add(cert.clone()).map_err(|e| {
                Error::config(WHAT, format!("certificate {} is not usable: {e}", n + 1))
            })?;
        }
        Ok(Self {
            inner: Arc::new(TrustInner {
                extra,
                config: OnceLock::new(),
            }),
        })
    }

    /// How many extra certificates were given.
    pub(crate) fn extra_count(&self) -> usize {
        self.inner.extra.len()
    }

    /// Where the trusted roots come from. Where the store is files, this
    /// reads it (once per process, shared with every TLS connection).
    pub(crate) fn source(&self) -> TrustSource {
        match (store::has_system_roots(), self.inner.extra.is_empty()) {
            (true, true) => TrustSource::Platform,
            (true, false) => TrustSource::PlatformAndExtra,
            (false, true) => TrustSource::Compiled,
            (false, false) => TrustSource::ExtraOnly,
        }
    }

    /// The TLS layer of a client's agent; it shares this trust.
    pub(crate) fn connector(&self) -> TlsConnector {
        TlsConnector {
            trust: self.clone(),
        }
    }

    /// rustls's settings for this trust: built at the first TLS connection,
    /// then shared by every connection of the client (and its clones).
    fn client_config(&self) -> Result<Arc<ClientConfig>, rustls::Error> {
        self.inner
            .config
            .get_or_init(|| {
                let provider = CryptoProvider::get_default()
                    .cloned()
                    .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
                let builder = ClientConfig::builder_with_provider(provider.clone())
                    .with_protocol_versions(rustls::ALL_VERSIONS)?;
                Ok(Arc::new(
                    store::with_roots(builder, &self.inner.extra, provider)?.with_no_client_auth(),
                ))
            })
            .clone()
    }
}

/// The platform's store as files, read at most once per process, in two
/// layers: the bundle (`SSL_CERT_FILE`, or OpenSSL's usual one) at the first
/// TLS connection; the certificate directories only when the bundle cannot
/// vouch for a server's chain (OpenSSL, too, looks into its directory only
/// on demand). Trust is the union of both either way.
#[cfg(not(any(target_vendor = "apple", windows)))]
mod store {
    use std::collections::HashSet;
    use std::path::{Path, PathBuf};
    use std::sync::{Arc, OnceLock};

    use rustls::client::WantsClientCert;
    use rustls::client::WebPkiServerVerifier;
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::CryptoProvider;
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{
        ClientConfig, ConfigBuilder, DigitallySignedStruct, RootCertStore, SignatureScheme,
        WantsVerifier,
    };

    use super::{CERTIFICATES_PARSED, FILES_OPENED, LOADS, Ordering};

    static SYSTEM: OnceLock<SystemStore> = OnceLock::new();

    /// What has been read of the system's store.
    struct SystemStore {
        /// The bundle's roots; without a bundle, the directories' (then
        /// nothing is left to read). Empty in a minimal container.
        first: Arc<RootCertStore>,
        /// The directories not read yet, and what not to read again there.
        rest: Option<Rest>,
        /// `first` and the directories' roots, once read.
        all: OnceLock<Arc<RootCertStore>>,
    }

    struct Rest {
        dirs: Vec<PathBuf>,
        files: SeenFiles,
        certs: Certificates,
    }

    impl SystemStore {
        fn get() -> &'static Self {
            SYSTEM.get_or_init(Self::load)
        }

        /// Reads the bundle; the directories too when there is no bundle.
        fn load() -> Self {
            let (file, dirs) = paths();
            let mut files = SeenFiles::default();
            let mut certs = Certificates::default();
            if let Some(file) = &file {
                LOADS.fetch_add(1, Ordering::Relaxed);
                if let Ok(meta) = std::fs::metadata(file) {
                    files.first_visit(&meta);
                }
                certs.read(file);
            }
            let mut rest = Rest { dirs, files, certs };
            if rest.certs.roots.is_empty() {
                let first = rest.read_dirs();
                return Self {
                    first: Arc::new(first),
                    rest: None,
                    all: OnceLock::new(),
                };
            }
            let first = Arc::new(rest.certs.take_roots());
            let rest = (!rest.dirs.is_empty()).then_some(rest);
            Self {
                first,
                rest,
                all: OnceLock::new(),
            }
        }

        /// Every root of the store: the directories are read here, once.
        fn all(&self) -> Option<&Arc<RootCertStore>> {
            let rest = self.rest.as_ref()?;
            Some(self.all.get_or_init(|| {
                let mut rest = Rest {
                    dirs: rest.dirs.clone(),
                    files: rest.files.clone(),
                    certs: Certificates {
                        seen: rest.certs.seen.clone(),
                        roots: RootCertStore::empty(),
                    },
                };
                let more = rest.read_dirs();
                let mut all = RootCertStore::clone(&self.first);
                all.roots.extend(more.roots);
                Arc::new(all)
            }))
        }
    }

    impl Rest {
        /// Reads each directory's files (symbolic links followed; a file
        /// already read, by any name, is not read again) and parses the
        /// certificates not seen before.
        fn read_dirs(&mut self) -> RootCertStore {
            if !self.dirs.is_empty() {
                LOADS.fetch_add(1, Ordering::Relaxed);
            }
            for dir in &self.dirs {
                let Ok(entries) = std::fs::read_dir(dir) else {
                    continue;
                };
                for entry in entries.flatten() {
                    let path = entry.path();
                    match std::fs::metadata(&path) {
                        Ok(meta) if meta.is_file() && self.files.first_visit(&meta) => {
                            self.certs.read(&path);
                        }
                        _ => {}
                    }
                }
            }
            self.certs.take_roots()
        }
    }

    pub(super) fn has_system_roots() -> bool {
        !SystemStore::get().first.is_empty()
    }

    /// Verification against the system's roots and the extra ones; where
    /// the system has none, only the extra ones, or without those the
    /// Mozilla roots compiled in.
    pub(super) fn with_roots(
        builder: ConfigBuilder<ClientConfig, WantsVerifier>,
        extra: &[CertificateDer<'static>],
        provider: Arc<CryptoProvider>,
    ) -> Result<ConfigBuilder<ClientConfig, WantsClientCert>, rustls::Error> {
        let system = SystemStore::get();
        let first = if system.first.is_empty() && extra.is_empty() {
            Arc::new(RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            })
        } else {
            with_extra(&system.first, extra)
        };
        let verifier = StoreVerifier {
            first: webpki(first, &provider)?,
            extra: extra.to_vec(),
            provider,
            all: OnceLock::new(),
        };
        Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier)))
    }

    fn with_extra(
        roots: &Arc<RootCertStore>,
        extra: &[CertificateDer<'static>],
    ) -> Arc<RootCertStore> {
        if extra.is_empty() {
            return Arc::clone(roots);
        }
        let mut all = RootCertStore::clone(roots);
        all.add_parsable_certificates(extra.iter().cloned());
        Arc::new(all)
    }

    fn webpki(
        roots: Arc<RootCertStore>,
        provider: &Arc<CryptoProvider>,
    ) -> Result<Arc<WebPkiServerVerifier>, rustls::Error> {
        WebPkiServerVerifier::builder_with_provider(roots, Arc::clone(provider))
            .build()
            .map_err(|e| rustls::Error::General(e.to_string()))
    }

    /// rustls's WebPKI verification, first against the bundle's roots (and
    /// the extra ones); when that fails, against the whole store.
    #[derive(Debug)]
    struct StoreVerifier {
        first: Arc<WebPkiServerVerifier>,
        extra: Vec<CertificateDer<'static>>,
        provider: Arc<CryptoProvider>,
        /// Over the whole store; `None` when the bundle was all of it.
        all: OnceLock<Option<Arc<WebPkiServerVerifier>>>,
    }

    impl StoreVerifier {
        fn all(&self) -> Option<&Arc<WebPkiServerVerifier>> {
            self.all
                .get_or_init(|| {
                    let all = SystemStore::get().all()?;
                    webpki(with_extra(all, &self.extra), &self.provider).ok()
                })
                .as_ref()
        }
    }

    impl ServerCertVerifier for StoreVerifier {
        fn verify_server_cert(
            &self,
            end_entity: &CertificateDer<'_>,
            intermediates: &[CertificateDer<'_>],
            server_name: &ServerName<'_>,
            ocsp_response: &[u8],
            now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            let verify = |v: &WebPkiServerVerifier| {
                v.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            };
            verify(&self.first).or_else(|e| match self.all() {
                Some(all) => verify(all),
                None => Err(e),
            })
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            self.first.verify_tls12_signature(message, cert, dss)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            self.first.verify_tls13_signature(message, cert, dss)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.first.supported_verify_schemes()
        }
    }

    /// Where the store is, as OpenSSL (and rustls-native-certs) find it:
    /// `SSL_CERT_FILE` and `SSL_CERT_DIR` (a list) when either is set, else
    /// the bundle and directories in OpenSSL's usual places.
    fn paths() -> (Option<PathBuf>, Vec<PathBuf>) {
        let file = std::env::var_os("SSL_CERT_FILE").map(PathBuf::from);
        let dirs: Vec<PathBuf> = std::env::var_os("SSL_CERT_DIR")
            .map(|d| {
                std::env::split_paths(&d)
                    .filter(|p| !p.as_os_str().is_empty())
                    .collect()
            })
            .unwrap_or_default();
        if file.is_some() || !dirs.is_empty() {
            return (file, dirs);
        }
        let probed = openssl_probe::probe();
        (probed.cert_file, probed.cert_dir)
    }

    /// Certificates read from the store, each distinct one parsed once,
    /// as it is read: neither a whole file nor the certificates' DER stay
    /// in memory, only their SHA-256.
    struct Certificates {
        seen: HashSet<[u8; 32]>,
        /// Parsed since the last [`Certificates::take_roots`].
        roots: RootCertStore,
    }

    impl Default for Certificates {
        fn default() -> Self {
            Self {
                seen: HashSet::new(),
                roots: RootCertStore::empty(),
            }
        }
    }

    impl Certificates {
        /// Reads the PEM certificates of `path`; what cannot be read is
        /// skipped, as OpenSSL does.
        fn read(&mut self, path: &Path) {
            let Ok(file) = std::fs::File::open(path) else {
                return;
            };
            FILES_OPENED.fetch_add(1, Ordering::Relaxed);
            for cert in CertificateDer::pem_reader_iter(file).flatten() {
                let digest = ring::digest::digest(&ring::digest::SHA256, cert.as_ref());
                let mut id = [0; 32];
                id.copy_from_slice(digest.as_ref());
                if self.seen.insert(id) {
                    CERTIFICATES_PARSED.fetch_add(1, Ordering::Relaxed);
                    self.roots.add_parsable_certificates([cert]);
                }
            }
        }

        /// The trust anchors parsed since the last call.
        fn take_roots(&mut self) -> RootCertStore {
            std::mem::replace(&mut self.roots, RootCertStore::empty())
        }
    }

    /// Files already read, by device and inode: a bundle inside the
    /// directory, or a certificate under its name and its hash link.
    #[derive(Default, Clone)]
    struct SeenFiles(HashSet<(u64, u64)>);

    impl SeenFiles {
        #[cfg(unix)]
        fn first_visit(&mut self, meta: &std::fs::Metadata) -> bool {
            use std::os::unix::fs::MetadataExt as _;
            self.0.insert((meta.dev(), meta.ino()))
        }

        #[cfg(not(unix))]
        fn first_visit(&mut self, _meta: &std::fs::Metadata) -> bool {
            true
        }
    }
}

/// The operating system's verifier (macOS: Keychain; Windows: the
/// certificate store); with extra roots, rustls's verification against the
/// system's certificates (read once per process) and the extra ones.
#[cfg(any(target_vendor = "apple", windows))]
mod store {
    use std::sync::{Arc, OnceLock};

    use rustls::client::WantsClientCert;
    use rustls::crypto::CryptoProvider;
    use rustls::pki_types::CertificateDer;
    use rustls::{ClientConfig, ConfigBuilder, RootCertStore, WantsVerifier};
    use rustls_platform_verifier::Verifier;

    use super::{CERTIFICATES_PARSED, LOADS, Ordering};

    static SYSTEM: OnceLock<Arc<RootCertStore>> = OnceLock::new();

    pub(super) fn has_system_roots() -> bool {
        true
    }

    pub(super) fn with_roots(
        builder: ConfigBuilder<ClientConfig, WantsVerifier>,
        extra: &[CertificateDer<'static>],
        provider: Arc<CryptoProvider>,
    ) -> Result<ConfigBuilder<ClientConfig, WantsClientCert>, rustls::Error> {
        if extra.is_empty() {
            return Ok(builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Verifier::new(provider)?)));
        }
        let system = SYSTEM.get_or_init(|| {
            LOADS.fetch_add(1, Ordering::Relaxed);
            let certs = rustls_native_certs::load_native_certs().certs;
            CERTIFICATES_PARSED.fetch_add(certs.len(), Ordering::Relaxed);
            let mut store = RootCertStore::empty();
            store.add_parsable_certificates(certs);
            Arc::new(store)
        });
        let mut roots = RootCertStore::clone(system);
        roots.add_parsable_certificates(extra.iter().cloned());
        Ok(builder.with_root_certificates(roots))
    }
}

static LOADS: AtomicUsize = AtomicUsize::new(0);
static FILES_OPENED: AtomicUsize = AtomicUsize::new(0);
static CERTIFICATES_PARSED: AtomicUsize = AtomicUsize::new(0);

/// How much of the platform's certificate store this process has read, for
/// the tests of the rule that it is read once, and only for TLS. Not part of
/// the API.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreReads {
    /// Times the store was loaded (0 or 1).
    pub loads: usize,
    /// Files of the store opened, over all loads.
    pub files_opened: usize,
    /// Certificates of the store parsed, over all loads.
    pub certificates_parsed: usize,
}

/// What this process has read of the platform's store so far (always zero
/// where the operating system's verifier reads it). Not part of the API.
#[doc(hidden)]
pub fn store_reads() -> StoreReads {
    StoreReads {
        loads: LOADS.load(Ordering::Relaxed),
        files_opened: FILES_OPENED.load(Ordering::Relaxed),
        certificates_parsed: CERTIFICATES_PARSED.load(Ordering::Relaxed),
    }
}

/// The TLS layer of a client's connections, after TCP (and a proxy's
/// `CONNECT`): rustls with the client's [`Trust`], whose settings (and the
/// platform's store) are built only when a connection needs TLS.
#[derive(Debug)]
pub(crate) struct TlsConnector {
    trust: Trust,
}

impl<In: Transport> Connector<In> for TlsConnector {
    type Out = Either<In, TlsTransport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let Some(transport) = chained else {
            return Ok(None);
        };
        if !details.needs_tls() || transport.is_tls() {
            return Ok(Some(Either::A(transport)));
        }
        let config = self.trust.client_config()?;
        let host = details.uri.host().unwrap_or_default();
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let name = ServerName::try_from(bare)
            .map_err(|_| ureq::Error::Tls("Rustls invalid dns name error"))?
            .to_owned();
        let mut conn = ClientConnection::new(config, name)?;
        let mut sock = TransportAdapter::new(transport.boxed(), details.current_time.clone());
        sock.set_timeout(handshake_timeout(details));
        conn.complete_io(&mut sock)?;
        let buffers = LazyBuffers::new(
            details.config.input_buffer_size(),
            details.config.output_buffer_size(),
        );
        Ok(Some(Either::B(TlsTransport {
            buffers,
            stream: StreamOwned { conn, sock },
        })))
    }
}

/// The connection's timeout, less the time connecting has taken already.
fn handshake_timeout(details: &ConnectionDetails) -> NextTimeout {
    let mut timeout = details.timeout;
    if let (UDuration::Exact(limit), UInstant::Exact(start), UInstant::Exact(now)) =
        (timeout.after, details.now, (details.current_time)())
    {
        timeout.after =
            UDuration::Exact(limit.saturating_sub(now.saturating_duration_since(start)));
    }
    timeout
}

/// A TLS connection (rustls over the chained transport).
pub(crate) struct TlsTransport {
    buffers: LazyBuffers,
    stream: StreamOwned<ClientConnection, TransportAdapter>,
}

impl fmt::Debug for TlsTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsTransport")
            .field("chained", &self.stream.sock.inner())
            .finish()
    }
}

impl Transport for TlsTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let output = &self.buffers.output()[..amount];
        self.stream.write_all(output)?;
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let input = self.buffers.input_append_buf();
        let amount = self.stream.read(input)?;
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        self.stream.get_mut().get_mut().is_open()
    }

    fn is_tls(&self) -> bool {
        true
    }
}

fn read_capped(path: &str) -> std::io::Result<Vec<u8>> {
    let mut data = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_PEM_BYTES)
        .read_to_end(&mut data)?;
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_roots_refuse_what_is_not_a_certificate() {
        for bad in [
            "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "/nonexistent/ca.pem",
        ] {
            let err = Trust::with_extra(bad).unwrap_err();
            assert!(err.is_usage(), "{err}");
            assert!(err.to_string().starts_with("CA certificate: "), "{err}");
        }
    }

    #[test]
    fn pem_text_is_told_from_a_path_in_one_place() {
        let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        assert_eq!(CaCert::of(pem), CaCert::Pem(pem));
        assert_eq!(CaCert::of("  /etc/ca.pem\n"), CaCert::Path("/etc/ca.pem"));
    }
}
