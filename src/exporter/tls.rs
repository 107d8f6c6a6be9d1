//! [`Tls`]: the exporter's TLS with rustls (feature `tls`): certificate and key from PEM
//! files, reloaded when they change, optional client certificates, TLS 1.2 and 1.3 only.
//!
//! # Rotation without a restart
//!
//! The certificate is chosen per handshake by [`Reloading`], rustls' certificate resolver.
//! At most once a second a new connection looks at the two files' modification time and size;
//! when either changed, both are read again and, if they parse and the key belongs to the
//! certificate, replace the pair in use. A half-written rotation (new certificate, old key)
//! fails that check, is logged once, and the old pair keeps serving until the files agree
//! again, so a rotation never interrupts the scrapes. The pair is kept behind an `RwLock`
//! taken for one `Arc` clone per handshake (never on the scrape path of an established
//! connection; rustls' own session cache takes a lock at the same point anyway).
//!
//! # The handshake counts toward the header timeout
//!
//! A new connection is in its slot's "reading the head" phase from the moment it is
//! accepted, so the handshake runs under [`Exporter::header_read_timeout`] and a slow or
//! silent handshake is the first to be evicted at the connection cap, exactly like a
//! slowloris head. Bytes that are not a ClientHello end the handshake at once. Both are
//! counted in `promstatic_tls_handshake_failures_total`.
//!
//! [`Exporter::header_read_timeout`]: super::Exporter::header_read_timeout

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Instant, SystemTime};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;

use super::Exporter;
use super::error::ConfigError;

/// How often a handshake may look at the files for a rotation.
const RECHECK_MILLIS: u64 = 1000;

/// The TLS files as given to the builder.
#[derive(Debug, Clone, Default)]
pub(crate) struct TlsConfig {
    pub(crate) pair: Option<(PathBuf, PathBuf)>,
    pub(crate) client_ca: Option<PathBuf>,
}

/// The checked TLS settings: the acceptor every connection's handshake uses.
pub(crate) struct Tls {
    pub(crate) acceptor: TlsAcceptor,
    certificates: Arc<Reloading>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tls(..)")
    }
}

fn tls_error(file: &Path, reason: impl std::fmt::Display) -> ConfigError {
    ConfigError::Tls {
        file: file.display().to_string(),
        reason: reason.to_string(),
    }
}

/// What identifies a version of a file: modification time and size (`None`: unreadable).
type Stamp = Option<(Option<SystemTime>, u64)>;

fn stamp(path: &Path) -> Stamp {
    std::fs::metadata(path)
        .ok()
        .map(|meta| (meta.modified().ok(), meta.len()))
}

/// Reads the certificate chain and the key and checks that they belong together.
fn load(cert: &Path, key: &Path, provider: &CryptoProvider) -> Result<CertifiedKey, ConfigError> {
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|error| tls_error(cert, error))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| tls_error(cert, error))?;
    if chain.is_empty() {
        return Err(tls_error(cert, "it holds no PEM `CERTIFICATE` block"));
    }
    let private = PrivateKeyDer::from_pem_file(key).map_err(|error| tls_error(key, error))?;
    CertifiedKey::from_der(chain, private, provider).map_err(|error| {
        tls_error(
            key,
            format!(
                "the key does not fit the certificate in `{}`: {error}",
                cert.display()
            ),
        )
    })
}

/// The current certificate and key, reloaded when the files change; see the module docs.
#[derive(Debug)]
struct Reloading {
    cert: PathBuf,
    key: PathBuf,
    provider: Arc<CryptoProvider>,
    current: RwLock<Current>,
    /// When (milliseconds after `epoch`) the next handshake looks at the files.
    next_check: AtomicU64,
    epoch: Instant,
}

#[derive(Debug)]
struct Current {
    pair: Arc<CertifiedKey>,
    /// The stamps of the files the pair was read from.
    loaded: (Stamp, Stamp),
    /// The stamps of the last rotation that failed (logged once, not retried until the
    /// files change again).
    failed: Option<(Stamp, Stamp)>,
}

impl Reloading {
    fn now_millis(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Reloads the pair if the files changed since it was read (at most once a second).
    fn refresh(&self) {
        let now = self.now_millis();
        let due = self.next_check.load(Ordering::Relaxed);
        // One handshake per second does the check; the rest go on with the current pair.
        if now < due
            || self
                .next_check
                .compare_exchange(
                    due,
                    now.saturating_add(RECHECK_MILLIS),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_err()
        {
            return;
        }
        let stamps = (stamp(&self.cert), stamp(&self.key));
        {
            let Ok(current) = self.current.read() else {
                return;
            };
            if current.loaded == stamps || current.failed == Some(stamps) {
                return;
            }
        }
        let outcome = load(&self.cert, &self.key, &self.provider);
        let Ok(mut current) = self.current.write() else {
            return;
        };
        match outcome {
            Ok(pair) => {
                log::info!(
                    target: "promstatic",
                    "metrics endpoint reloaded its TLS certificate from `{}`",
                    self.cert.display()
                );
                current.pair = Arc::new(pair);
                current.loaded = stamps;
                current.failed = None;
            }
            Err(error) => {
                log::warn!(
                    target: "promstatic",
                    "metrics endpoint keeps its current TLS certificate: {error}"
                );
                current.failed = Some(stamps);
            }
        }
    }
}

impl ResolvesServerCert for Reloading {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        // A poisoned lock cannot happen (nothing panics while holding it); refuse the
        // handshake rather than panic if it ever does.
        self.current
            .read()
            .ok()
            .map(|current| Arc::clone(&current.pair))
    }
}

impl Tls {
    /// Reads and checks the files; `None` when TLS is not configured.
    pub(crate) fn new(config: &TlsConfig) -> Result<Option<Tls>, ConfigError> {
        let Some((cert, key)) = &config.pair else {
            return match &config.client_ca {
                Some(ca) => Err(tls_error(
                    ca,
                    "a client CA is given without a certificate and key (call tls() too)",
                )),
                None => Ok(None),
            };
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let loaded = (stamp(cert), stamp(key));
        let pair = load(cert, key, &provider)?;
        let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|error| tls_error(cert, error))?;
        let builder = match &config.client_ca {
            None => builder.with_no_client_auth(),
            Some(ca) => {
                let mut roots = RootCertStore::empty();
                for certificate in
                    CertificateDer::pem_file_iter(ca).map_err(|error| tls_error(ca, error))?
                {
                    let certificate = certificate.map_err(|error| tls_error(ca, error))?;
                    roots
                        .add(certificate)
                        .map_err(|error| tls_error(ca, error))?;
                }
                if roots.is_empty() {
                    return Err(tls_error(ca, "it holds no PEM `CERTIFICATE` block"));
                }
                let verifier = WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    Arc::clone(&provider),
                )
                .build()
                .map_err(|error| tls_error(ca, error))?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let resolver = Arc::new(Reloading {
            cert: cert.clone(),
            key: key.clone(),
            provider,
            current: RwLock::new(Current {
                pair: Arc::new(pair),
                loaded,
                failed: None,
            }),
            next_check: AtomicU64::new(RECHECK_MILLIS),
            epoch: Instant::now(),
        });
        let mut server = builder.with_cert_resolver(Arc::clone(&resolver) as _);
        // The exporter speaks HTTP/1.1 only; a client offering h2 as well picks this.
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Some(Tls {
            acceptor: TlsAcceptor::from(Arc::new(server)),
            certificates: resolver,
        }))
    }

    /// Reloads the certificate and key if their files changed (looked at no more than once
    /// a second). Called before each handshake rather than from the resolver, which a
    /// resumed session skips: a client that always resumes must not pin the old pair.
    pub(crate) fn refresh(&self) {
        self.certificates.refresh();
    }
}

impl Exporter {
    /// Serves over TLS (1.2 or 1.3) with the PEM certificate chain in `cert` (the server's
    /// certificate first) and the PEM private key in `key` (PKCS#8, PKCS#1 or SEC1). Both
    /// are read at start, and again when they change (checked at most once a second, on a
    /// handshake), so a certificate can be rotated without a restart; see the
    /// [module docs](crate::exporter#who-may-scrape).
    ///
    /// An unreadable file, one without a certificate or key, or a key that does not belong
    /// to the certificate is a [`ConfigError::Tls`] at start.
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn tls(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.config.access.tls.pair = Some((cert.into(), key.into()));
        self
    }

    /// Requires a client certificate signed by one of the CAs in the PEM bundle `ca`
    /// (Prometheus' `tls_config.cert_file`/`key_file`); needs [`Exporter::tls`]. A client
    /// without one fails the handshake. Read at start only.
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn tls_client_ca(mut self, ca: impl Into<PathBuf>) -> Self {
        self.config.access.tls.client_ca = Some(ca.into());
        self
    }
}
