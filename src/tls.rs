//! Whom to trust: the platform's certificate store, else the compiled-in
//! Mozilla roots, plus any extra CA certificates the user gives.

use std::sync::Arc;

use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig, parse_pem};

use crate::Error;

/// How much of a PEM file or text is read: far more than any CA bundle.
const MAX_PEM_BYTES: u64 = 4 << 20;

/// The trust decision for one client: extra CA certificates, and where the
/// rest comes from.
#[derive(Debug, Clone, Default)]
pub(crate) struct Trust {
    extra: Vec<Certificate<'static>>,
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
    /// usable as a trust anchor; at least one is required.
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
                Ok(PemItem::Certificate(cert)) => extra.push(cert),
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
            check.add(cert.der().to_vec().into()).map_err(|e| {
                Error::config(WHAT, format!("certificate {} is not usable: {e}", n + 1))
            })?;
        }
        Ok(Self { extra })
    }

    /// How many extra certificates were given.
    pub(crate) fn extra_count(&self) -> usize {
        self.extra.len()
    }

    /// ureq's TLS settings for this trust, and where the roots come from.
    pub(crate) fn tls_config(&self) -> (TlsConfig, TrustSource) {
        let (roots, source) = self.roots();
        (TlsConfig::builder().root_certs(roots).build(), source)
    }

    /// The platform verifier where the platform has a store; the extra
    /// certificates on top of the system's (ureq cannot add roots to the
    /// platform verifier, so rustls verifies against both); the compiled-in
    /// roots where a minimal container has no store at all.
    fn roots(&self) -> (RootCerts, TrustSource) {
        let system = system_certificates();
        match (system, self.extra.is_empty()) {
            (Some(_), true) => (RootCerts::PlatformVerifier, TrustSource::Platform),
            (None, true) => (RootCerts::WebPki, TrustSource::Compiled),
            (Some(system), false) => {
                let all = system.into_iter().chain(self.extra.iter().cloned());
                (
                    RootCerts::Specific(Arc::new(all.collect())),
                    TrustSource::PlatformAndExtra,
                )
            }
            (None, false) => (
                RootCerts::Specific(Arc::new(self.extra.clone())),
                TrustSource::ExtraOnly,
            ),
        }
    }
}

/// The system's CA certificates; `None` when there are none (a minimal
/// container), so the caller falls back to the compiled-in roots. Honours
/// `SSL_CERT_FILE` and `SSL_CERT_DIR`.
fn system_certificates() -> Option<Vec<Certificate<'static>>> {
    let found = rustls_native_certs::load_native_certs();
    let certs: Vec<_> = found
        .certs
        .iter()
        .map(|c| Certificate::from_der(c.as_ref()).to_owned())
        .collect();
    (!certs.is_empty()).then_some(certs)
}

fn read_capped(path: &str) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
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
