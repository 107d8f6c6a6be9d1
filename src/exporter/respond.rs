//! Routing, rendering and the response for one request.

use std::any::Any;
use std::convert::Infallible;
use std::future::{Ready, ready};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use http_body::Body;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use super::Shared;
use super::gzip::Gzip;
use super::negotiate;
use super::pool::{Buffers, ExporterBody};
use super::{MAX_CONST_LABELS, pool::HasPool};
use crate::encode::{Encoder, Family, Format, Help, Kind, Label, Text, Value};
use crate::name::{assert_label_name, assert_metric_name};

const INDEX: &[u8] = b"<!DOCTYPE html>\n<html><head><title>promstatic exporter</title></head>\
<body><h1>promstatic exporter</h1><p><a href=\"/metrics\">/metrics</a></p></body></html>\n";
const HEALTHY: &[u8] = b"ok\n";
const NOT_FOUND: &[u8] = b"not found; the metrics are at /metrics\n";
const NOT_ALLOWED: &[u8] = b"method not allowed; use GET or HEAD\n";
const BODY_REJECTED: &[u8] = b"request bodies are not accepted\n";
const RENDER_FAILED: &[u8] =
    b"the exposition could not be rendered: a panic while rendering it (see the log); the next \
scrape tries again\n";
const PLAIN: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");
const HTML: HeaderValue = HeaderValue::from_static("text/html; charset=utf-8");
const ALLOW: HeaderValue = HeaderValue::from_static("GET, HEAD");

/// The exporter's HTTP handler: every endpoint, for mounting on a host's own server.
///
/// [`MetricsService::respond`] routes a request like the built-in server does;
/// [`MetricsService::metrics`] serves the exposition whatever the path, for a host that
/// routes `/metrics` to it itself. It also implements hyper's `Service`. Cloning is cheap
/// (one reference count) and every clone serves the same exporter.
///
/// ```no_run
/// # use promstatic::exporter::Exporter;
/// # fn route(request: hyper::Request<hyper::body::Incoming>) {
/// let metrics = Exporter::new().service().expect("valid configuration");
/// // In the host's router, for `/metrics`:
/// let response = metrics.metrics(&request);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct MetricsService {
    shared: Arc<Shared>,
}

impl MetricsService {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        MetricsService { shared }
    }

    /// Answers `request` on any of the exporter's endpoints.
    pub fn respond<B: Body>(&self, request: &Request<B>) -> Response<ExporterBody> {
        let is_read = request.method() == Method::GET || request.method() == Method::HEAD;
        let path = request.uri().path();
        let known = matches!(path, "/" | "/metrics" | "/health");
        if !known {
            return fixed(StatusCode::NOT_FOUND, PLAIN, NOT_FOUND);
        }
        if !is_read {
            let mut response = fixed(StatusCode::METHOD_NOT_ALLOWED, PLAIN, NOT_ALLOWED);
            response.headers_mut().insert(header::ALLOW, ALLOW);
            return response;
        }
        if announces_body(request) {
            let mut response = fixed(StatusCode::PAYLOAD_TOO_LARGE, PLAIN, BODY_REJECTED);
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return response;
        }
        let head = request.method() == Method::HEAD;
        match path {
            "/metrics" => self.metrics(request),
            "/health" => without_body_if(head, fixed(StatusCode::OK, PLAIN, HEALTHY)),
            _ => without_body_if(head, fixed(StatusCode::OK, HTML, INDEX)),
        }
    }

    /// Serves the exposition for `request` (format and compression from its headers),
    /// whatever its path; other methods than `GET` and `HEAD` get 405.
    pub fn metrics<B>(&self, request: &Request<B>) -> Response<ExporterBody> {
        let method = request.method();
        if method != Method::GET && method != Method::HEAD {
            let mut response = fixed(StatusCode::METHOD_NOT_ALLOWED, PLAIN, NOT_ALLOWED);
            response.headers_mut().insert(header::ALLOW, ALLOW);
            return response;
        }
        let headers = request.headers();
        let format = negotiate::format(headers.get(header::ACCEPT).map(HeaderValue::as_bytes));
        let gzip = negotiate::accepts_gzip(
            headers
                .get(header::ACCEPT_ENCODING)
                .map(HeaderValue::as_bytes),
        );
        let mut buffers = self.shared.pool().take();
        // A panic while rendering (in a host's scrape hook, most likely) costs this scrape
        // only: the exporter keeps serving. `render` clears the buffer before writing, so
        // whatever half-written exposition the panic left is never sent or reused.
        let rendered = panic::catch_unwind(AssertUnwindSafe(|| self.render(&mut buffers, format)));
        if let Err(payload) = rendered {
            self.shared.pool().give_back(buffers);
            return self.render_failed(payload.as_ref());
        }
        buffers.send_compressed = false;
        if gzip && buffers.plain.len() >= self.shared.config.gzip_min_bytes {
            let Buffers {
                plain,
                compressed,
                gzip,
                ..
            } = &mut *buffers;
            match gzip.get_or_insert_with(Gzip::new).encode(plain, compressed) {
                Ok(()) => buffers.send_compressed = true,
                Err(error) => {
                    log::warn!(target: "promstatic", "gzip failed, sending uncompressed: {error}")
                }
            }
        }
        let compressed = buffers.send_compressed;
        let length = if compressed {
            buffers.compressed.len()
        } else {
            buffers.plain.len()
        };
        let body = if method == Method::HEAD {
            self.shared.pool().give_back(buffers);
            ExporterBody::empty()
        } else {
            ExporterBody::pooled(buffers, Arc::clone(&self.shared) as Arc<dyn HasPool>)
        };
        let mut response = Response::new(body);
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(format.content_type()),
        );
        headers.insert(
            header::VARY,
            HeaderValue::from_static("Accept, Accept-Encoding"),
        );
        if compressed {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        if method == Method::HEAD {
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
        }
        response
    }

    #[cold]
    #[inline(never)]
    fn render_failed(&self, payload: &(dyn Any + Send)) -> Response<ExporterBody> {
        self.shared
            .stats
            .failed_scrapes
            .fetch_add(1, Ordering::Relaxed);
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("(a non-string panic payload)");
        log::error!(
            target: "promstatic",
            "a scrape failed: rendering the exposition panicked: {message}; answered 500, \
             the exporter keeps serving"
        );
        fixed(StatusCode::INTERNAL_SERVER_ERROR, PLAIN, RENDER_FAILED)
    }

    /// Writes the whole exposition into `buffers.plain`.
    fn render(&self, buffers: &mut Buffers, format: Format) {
        let shared = &*self.shared;
        let started = Instant::now();
        let scrapes = shared.stats.scrapes.fetch_add(1, Ordering::Relaxed) + 1;
        // Constant labels, in a fixed array so no list is allocated per scrape.
        let filler = Label::prevalidated("", Text::Escaped(""));
        let mut labels = [filler; MAX_CONST_LABELS];
        let count = shared.config.const_labels.len().min(MAX_CONST_LABELS);
        for (slot, (name, value)) in labels.iter_mut().zip(&shared.config.const_labels) {
            *slot = Label::prevalidated(name, Text::Raw(value));
        }
        let labels = &labels[..count];
        let out = &mut buffers.plain;
        out.clear();
        let mut encoder = Encoder::new(out, format)
            .with_namespace(&shared.config.namespace)
            .with_const_labels(labels);
        crate::render_into(&mut encoder);
        if let Some(hook) = &shared.config.on_scrape {
            (hook.0)(&mut encoder);
        }
        // The namespaced part ends here (protobuf: its last family's length is written).
        encoder.end_part();
        // Standard names for everything below: no namespace.
        let mut encoder = Encoder::new(out, format).with_const_labels(labels);
        #[cfg(target_os = "linux")]
        if shared.config.process_metrics {
            crate::process::encode(&mut encoder);
        }
        self.encode_build_info(&mut encoder);
        crate::table::render_native_out_of_range(&mut encoder);
        let stats = &shared.stats;
        let previous_nanos = stats.last_encode_nanos.load(Ordering::Relaxed);
        let families: [(&str, Kind, &str, Value); 8] = [
            (
                const { assert_metric_name("promstatic_scrapes_total") },
                Kind::Counter,
                "Scrapes served by this exporter, this one included.",
                Value::Unsigned(scrapes),
            ),
            (
                const { assert_metric_name("promstatic_scrape_encode_seconds_total") },
                Kind::Counter,
                "Time spent encoding expositions before this one.",
                Value::Float(stats.encode_nanos_total.load(Ordering::Relaxed) as f64 / 1e9),
            ),
            (
                const { assert_metric_name("promstatic_last_scrape_encode_seconds") },
                Kind::Gauge,
                "Time spent encoding the previous exposition.",
                Value::Float(previous_nanos as f64 / 1e9),
            ),
            (
                const { assert_metric_name("promstatic_bind_attempts_total") },
                Kind::Counter,
                "Attempts to bind the exporter's listening socket.",
                Value::Unsigned(stats.bind_attempts.load(Ordering::Relaxed)),
            ),
            (
                const { assert_metric_name("promstatic_rejected_connections_total") },
                Kind::Counter,
                "Connections closed at once because the connection limit was reached and \
                 every connection was being answered.",
                Value::Unsigned(stats.rejected_connections.load(Ordering::Relaxed)),
            ),
            (
                const { assert_metric_name("promstatic_evicted_connections_total") },
                Kind::Counter,
                "Connections still waiting for a request head, closed at the connection limit \
                 to make room for a new one.",
                Value::Unsigned(stats.evicted_connections.load(Ordering::Relaxed)),
            ),
            (
                const { assert_metric_name("promstatic_failed_scrapes_total") },
                Kind::Counter,
                "Scrapes answered 500 because rendering the exposition panicked.",
                Value::Unsigned(stats.failed_scrapes.load(Ordering::Relaxed)),
            ),
            (
                const { assert_metric_name("promstatic_exemplars_refused_total") },
                Kind::Counter,
                "Exemplars not stored because a label name was invalid or the labels \
                 exceeded 128 characters (the observations were counted).",
                Value::Unsigned(crate::exemplar::refused_total()),
            ),
        ];
        for (name, kind, help, value) in families {
            // The names above are checked by the compiler (`assert_metric_name` in `const`).
            let family = Family::prevalidated(name, kind, Help::Raw(help));
            encoder.family(&family).sample("", &[], None, value);
        }
        encoder.finish();
        let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        stats.last_encode_nanos.store(nanos, Ordering::Relaxed);
        stats.encode_nanos_total.fetch_add(nanos, Ordering::Relaxed);
    }

    fn encode_build_info(&self, encoder: &mut Encoder<'_>) {
        let shared = &*self.shared;
        let (help, version) = match &shared.config.build_info {
            Some((_, version)) => ("The application's version; always 1.", version.as_str()),
            None => ("promstatic's version; always 1.", env!("CARGO_PKG_VERSION")),
        };
        let family = Family::prevalidated(&shared.build_info_name, Kind::Gauge, Help::Raw(help));
        let labels = [
            Label::prevalidated(const { assert_label_name("version") }, Text::Raw(version)),
            Label::prevalidated(
                const { assert_label_name("promstatic_version") },
                Text::Raw(env!("CARGO_PKG_VERSION")),
            ),
        ];
        encoder
            .family(&family)
            .sample("", &labels, None, Value::Unsigned(1));
    }
}

impl<B: Body> hyper::service::Service<Request<B>> for MetricsService {
    type Response = Response<ExporterBody>;
    type Error = Infallible;
    type Future = Ready<Result<Response<ExporterBody>, Infallible>>;

    fn call(&self, request: Request<B>) -> Self::Future {
        ready(Ok(self.respond(&request)))
    }
}

/// Whether the request announces a body (we read none, so we refuse it rather than leave it
/// unread on the connection).
fn announces_body<B: Body>(request: &Request<B>) -> bool {
    let hint = request.body().size_hint();
    hint.lower() > 0 || hint.upper() != Some(0)
}

fn fixed(
    status: StatusCode,
    content_type: HeaderValue,
    body: &'static [u8],
) -> Response<ExporterBody> {
    let mut response = Response::new(ExporterBody::fixed(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, content_type);
    response
}

/// For `HEAD`: the same headers with an explicit length and no body.
fn without_body_if(head: bool, mut response: Response<ExporterBody>) -> Response<ExporterBody> {
    if head {
        let length = response.body().size_hint().exact().unwrap_or(0);
        response
            .headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(length));
        *response.body_mut() = ExporterBody::empty();
    }
    response
}
