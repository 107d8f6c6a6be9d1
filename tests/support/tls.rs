//! TLS helpers for the exporter tests: a certificate authority, server and client
//! certificates made in the test (rcgen), written as PEM files, and a tiny HTTPS client on
//! std sockets with rustls. (Included by path.)
#![allow(dead_code, unreachable_pub)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

/// A test certificate authority.
pub struct Authority {
    certificate: rcgen::Certificate,
    key: KeyPair,
}

/// A certificate and its key as PEM text.
pub struct Issued {
    pub cert_pem: String,
    pub key_pem: String,
    pub der: Vec<u8>,
}

impl Issued {
    /// Writes `NAME.pem` and `NAME-key.pem` into `directory`; returns both paths.
    pub fn write(&self, directory: &Path, name: &str) -> (PathBuf, PathBuf) {
        let cert = directory.join(format!("{name}.pem"));
        let key = directory.join(format!("{name}-key.pem"));
        std::fs::write(&cert, &self.cert_pem).unwrap();
        std::fs::write(&key, &self.key_pem).unwrap();
        (cert, key)
    }
}

impl Authority {
    pub fn new(name: &str) -> Authority {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let certificate = params.self_signed(&key).unwrap();
        Authority { certificate, key }
    }

    pub fn pem(&self) -> String {
        self.certificate.pem()
    }

    pub fn write(&self, directory: &Path, name: &str) -> PathBuf {
        let path = directory.join(format!("{name}.pem"));
        std::fs::write(&path, self.pem()).unwrap();
        path
    }

    fn issue(&self, common_name: &str, names: &[&str], purpose: ExtendedKeyUsagePurpose) -> Issued {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(
            names
                .iter()
                .map(|name| name.to_string())
                .collect::<Vec<_>>(),
        )
        .unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.extended_key_usages = vec![purpose];
        let certificate = params
            .signed_by(&key, &self.certificate, &self.key)
            .unwrap();
        Issued {
            cert_pem: certificate.pem(),
            key_pem: key.serialize_pem(),
            der: certificate.der().to_vec(),
        }
    }

    /// A server certificate for `127.0.0.1` and `localhost`.
    pub fn server(&self, common_name: &str) -> Issued {
        self.issue(
            common_name,
            &["127.0.0.1", "localhost"],
            ExtendedKeyUsagePurpose::ServerAuth,
        )
    }

    /// A client certificate.
    pub fn client(&self, common_name: &str) -> Issued {
        self.issue(common_name, &[], ExtendedKeyUsagePurpose::ClientAuth)
    }
}

/// A client trusting `authority`, presenting `client` if given.
pub fn client_config(authority: &Authority, client: Option<&Issued>) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(authority.certificate.der().to_vec()))
        .unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    let mut config = match client {
        None => builder.with_no_client_auth(),
        Some(issued) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from(issued.der.clone())],
                PrivateKeyDer::from_pem_slice(issued.key_pem.as_bytes()).unwrap(),
            )
            .unwrap(),
    };
    // Every request a full handshake, so each one shows the certificate served now.
    config.resumption = rustls::client::Resumption::disabled();
    Arc::new(config)
}

/// What an HTTPS request saw: the server's certificate (DER) and the raw response bytes,
/// or the error that ended the handshake or the exchange.
pub struct Exchange {
    pub peer_certificate: Option<Vec<u8>>,
    pub response: Result<Vec<u8>, std::io::Error>,
}

impl Exchange {
    /// The status code, if a response head arrived.
    pub fn status(&self) -> Option<u16> {
        let raw = self.response.as_ref().ok()?;
        let text = std::str::from_utf8(raw.get(..12)?).ok()?;
        text.strip_prefix("HTTP/1.1 ")?.parse().ok()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(self.response.as_ref().map(Vec::as_slice).unwrap_or(b""))
            .into_owned()
    }
}

/// `GET path` over TLS with extra header lines and `Connection: close`.
pub fn get(
    address: SocketAddr,
    config: &Arc<rustls::ClientConfig>,
    path: &str,
    headers: &[(&str, &str)],
) -> Exchange {
    let tcp = TcpStream::connect(address).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let connection = rustls::ClientConnection::new(
        Arc::clone(config),
        ServerName::try_from("127.0.0.1").unwrap(),
    )
    .unwrap();
    let mut stream = rustls::StreamOwned::new(connection, tcp);
    let mut head = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut raw = Vec::new();
    let response = stream
        .write_all(head.as_bytes())
        .and_then(|()| {
            loop {
                let mut chunk = [0u8; 16384];
                match stream.read(&mut chunk) {
                    Ok(0) => return Ok(()),
                    Ok(read) => raw.extend_from_slice(&chunk[..read]),
                    // A server that closes without close_notify after a complete response.
                    Err(error)
                        if error.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty() =>
                    {
                        return Ok(());
                    }
                    Err(error) => return Err(error),
                }
            }
        })
        .map(|()| raw);
    let peer_certificate = stream
        .conn
        .peer_certificates()
        .and_then(|chain| chain.first())
        .map(|certificate| certificate.to_vec());
    Exchange {
        peer_certificate,
        response,
    }
}
