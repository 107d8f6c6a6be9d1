//! Scraping an exporter from inside the test process and checking what it served.
//!
//! [`scrape_service`] calls a [`MetricsService`] directly (no socket: what a host that mounts
//! [`Exporter::service`](crate::exporter::Exporter::service) serves); [`scrape`] sends one
//! `GET /metrics` over loopback to a running [`ExporterHandle`]. Both ask for the format given,
//! check that the exporter answered in it (status 200, its exact `Content-Type`) and parse the
//! body with [`check_scrape`](super::check_scrape).

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Buf;
use http_body::Body;
use hyper::header::{self, HeaderValue};

use super::{Exposition, Violation, check_scrape};
use crate::encode::Format;
use crate::exporter::{ExporterHandle, MetricsService};

/// How long [`scrape`] waits for the exporter to connect, answer and finish, each; generous
/// so that a loaded machine does not fail a test.
const TIMEOUT: Duration = Duration::from_secs(30);

/// A scrape that answered 200 with a valid exposition.
#[derive(Debug, Clone)]
pub struct Scraped {
    /// The body as sent (never gzipped: the scrape does not offer gzip).
    pub body: Vec<u8>,
    /// What it parsed into.
    pub exposition: Exposition,
}

/// Why a scrape did not produce a valid exposition.
#[derive(Debug)]
#[non_exhaustive]
pub enum ScrapeError {
    /// The handle has no bound socket; its `state()` says why.
    NotListening,
    /// Connecting, writing or reading failed.
    Io(io::Error),
    /// The response could not be read as HTTP/1.1.
    MalformedResponse(String),
    /// The status was not 200.
    Status(u16),
    /// The exporter answered in another format than the one asked for.
    ContentType {
        /// The format asked for.
        asked: Format,
        /// The `Content-Type` it sent.
        sent: String,
    },
    /// The body is not a valid exposition.
    Invalid {
        /// The rule it broke.
        violation: Violation,
        /// The body, for the excerpt.
        body: Vec<u8>,
    },
}

impl fmt::Display for ScrapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScrapeError::NotListening => write!(
                f,
                "the exporter is not listening (see `ExporterHandle::state` for why)"
            ),
            ScrapeError::Io(error) => write!(f, "scraping the exporter failed: {error}"),
            ScrapeError::MalformedResponse(why) => {
                write!(f, "the exporter's response is not HTTP/1.1: {why}")
            }
            ScrapeError::Status(status) => {
                write!(f, "the exporter answered {status} instead of 200")
            }
            ScrapeError::ContentType { asked, sent } => write!(
                f,
                "asked for {asked:?} (`{}`), the exporter sent `{sent}`",
                asked.content_type()
            ),
            ScrapeError::Invalid { violation, body } => {
                write!(
                    f,
                    "invalid exposition: {violation}\n{}",
                    violation.excerpt(body)
                )
            }
        }
    }
}

impl std::error::Error for ScrapeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ScrapeError::Io(error) => Some(error),
            ScrapeError::Invalid { violation, .. } => Some(violation),
            _ => None,
        }
    }
}

impl From<io::Error> for ScrapeError {
    fn from(error: io::Error) -> Self {
        ScrapeError::Io(error)
    }
}

/// The `Accept` header that asks for exactly `format`.
fn accept(format: Format) -> &'static str {
    match format {
        Format::Text => "text/plain; version=0.0.4",
        Format::OpenMetrics => "application/openmetrics-text; version=1.0.0",
        Format::Protobuf => {
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;\
             encoding=delimited"
        }
    }
}

/// Checks status, content type and body.
fn checked(
    format: Format,
    status: u16,
    content_type: &str,
    body: Vec<u8>,
) -> Result<Scraped, ScrapeError> {
    if status != 200 {
        return Err(ScrapeError::Status(status));
    }
    if content_type != format.content_type() {
        return Err(ScrapeError::ContentType {
            asked: format,
            sent: content_type.to_owned(),
        });
    }
    match check_scrape(&body, content_type) {
        Ok(exposition) => Ok(Scraped { body, exposition }),
        Err(violation) => Err(ScrapeError::Invalid { violation, body }),
    }
}

/// Scrapes `service` in-process, as a host's router would call it for `GET /metrics`, asking
/// for `format`.
pub fn scrape_service(service: &MetricsService, format: Format) -> Result<Scraped, ScrapeError> {
    let request = hyper::Request::builder()
        .uri("/metrics")
        .header(header::ACCEPT, HeaderValue::from_static(accept(format)))
        .body(())
        .map_err(|error| ScrapeError::MalformedResponse(error.to_string()))?;
    let response = service.metrics(&request);
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mut body = response.into_body();
    let mut bytes = Vec::new();
    // The body is the rendered exposition in memory: every frame is ready at once, so a
    // no-op waker is enough and `Pending` would be a bug worth reporting.
    let mut context = Context::from_waker(Waker::noop());
    loop {
        match Pin::new(&mut body).poll_frame(&mut context) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Ok(mut data) = frame.into_data() {
                    while data.has_remaining() {
                        let chunk = data.chunk();
                        bytes.extend_from_slice(chunk);
                        let read = chunk.len();
                        data.advance(read);
                    }
                }
            }
            Poll::Ready(Some(Err(never))) => match never {},
            Poll::Ready(None) => break,
            Poll::Pending => {
                return Err(ScrapeError::MalformedResponse(
                    "the response body was not ready in memory".into(),
                ));
            }
        }
    }
    checked(format, status, &content_type, bytes)
}

/// Scrapes the running exporter of `handle` over loopback (one `GET /metrics`, asking for
/// `format`), from the test's own thread.
///
/// An exporter bound to a wildcard address (`0.0.0.0`, `::`) is reached on loopback.
pub fn scrape(handle: &ExporterHandle, format: Format) -> Result<Scraped, ScrapeError> {
    let mut address = handle.local_addr().ok_or(ScrapeError::NotListening)?;
    match address.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => address.set_ip(Ipv4Addr::LOCALHOST.into()),
        IpAddr::V6(ip) if ip.is_unspecified() => address.set_ip(Ipv6Addr::LOCALHOST.into()),
        _ => {}
    }
    let (status, content_type, body) = get(address, accept(format))?;
    checked(format, status, &content_type, body)
}

/// One `GET /metrics` with `Connection: close`: status, `Content-Type` and body.
fn get(address: SocketAddr, accept: &str) -> Result<(u16, String, Vec<u8>), ScrapeError> {
    let mut stream = TcpStream::connect_timeout(&address, TIMEOUT)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {address}\r\nAccept: {accept}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let malformed = |why: &str| ScrapeError::MalformedResponse(why.to_owned());
    let end = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .ok_or_else(|| malformed("no end of the response head"))?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| malformed("head is not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| malformed("no status code"))?;
    let mut content_type = String::new();
    let mut length = None;
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| malformed("a header line without `:`"))?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-type") {
            content_type = value.to_owned();
        } else if name.eq_ignore_ascii_case("content-length") {
            length = Some(
                value
                    .parse::<usize>()
                    .map_err(|_| malformed("Content-Length"))?,
            );
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(malformed(
                "chunked bodies are not expected from the exporter",
            ));
        }
    }
    let body = raw.split_off(end + 4);
    if length.is_some_and(|length| length != body.len()) {
        return Err(malformed(
            "the body is shorter or longer than its Content-Length",
        ));
    }
    Ok((status, content_type, body))
}
