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

use super::core::ExporterCore;
use super::gzip::Gzip;
use super::negotiate;
use super::pool::{Buffers, ExporterBody};
use super::self_metrics::{SELF_METRICS, plain_help};
use super::{MAX_CONST_LABELS, pool::HasPool};
use crate::encode::{
    Encoder, EscapedHelp, EscapedLabelValue, Family, Format, Help, Kind, Label, Suffix, Text, Value,
};
use crate::name::assert_label_name;

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
    core: Arc<ExporterCore>,
}

impl MetricsService {
    pub(crate) fn new(core: Arc<ExporterCore>) -> Self {
        MetricsService { core }
    }

    /// The shared state (the connection's authentication step reads its settings).
    #[cfg(feature = "auth")]
    pub(crate) fn core(&self) -> &Arc<ExporterCore> {
        &self.core
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
        let mut buffers = self.core.pool().take();
        // A panic while rendering (in a host's scrape hook, most likely) costs this scrape
        // only: the exporter keeps serving. `render` clears the buffer before writing, so
        // whatever half-written exposition the panic left is never sent or reused.
        let rendered = panic::catch_unwind(AssertUnwindSafe(|| self.render(&mut buffers, format)));
        if let Err(payload) = rendered {
            self.core.pool().give_back(buffers);
            return self.render_failed(payload.as_ref());
        }
        buffers.send_compressed = false;
        if gzip && buffers.plain.len() >= self.core.config.gzip_min_bytes {
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
            self.core.pool().give_back(buffers);
            ExporterBody::empty()
        } else {
            ExporterBody::pooled(buffers, Arc::clone(&self.core) as Arc<dyn HasPool>)
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
        self.core
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
        let core = &*self.core;
        let started = Instant::now();
        let scrapes = core.stats.scrapes.fetch_add(1, Ordering::Relaxed) + 1;
        // Constant labels, in a fixed array so no list is allocated per scrape.
        let filler = Label::prevalidated("", Text::Escaped(EscapedLabelValue::EMPTY));
        let mut labels = [filler; MAX_CONST_LABELS];
        let count = core.config.const_labels.len().min(MAX_CONST_LABELS);
        for (slot, (name, value)) in labels.iter_mut().zip(&core.config.const_labels) {
            *slot = Label::prevalidated(name, Text::Raw(value));
        }
        let labels = &labels[..count];
        let out = &mut buffers.plain;
        out.clear();
        let mut encoder = Encoder::new(out, format)
            .with_namespace(&core.config.namespace)
            .with_const_labels(labels);
        // The facade's names that would collide with this exporter's own families are left
        // out (see `validate::FacadeNames`).
        #[cfg(all(feature = "facade", not(promstatic_loom)))]
        let facade = |slot: usize, kind: Kind, exported: &str| {
            core.facade_names
                .keeps(&core.config.namespace, slot, kind, exported)
        };
        #[cfg(all(feature = "facade", not(promstatic_loom)))]
        let facade: crate::table::FacadeFilter<'_> = Some(&facade);
        #[cfg(not(all(feature = "facade", not(promstatic_loom))))]
        let facade = None;
        core.config
            .table
            .render_for_exporter(&mut encoder, &core.plans, facade);
        // The namespaced part ends here (protobuf: its last family's length is written).
        encoder.end_part();
        // Standard names for the process, build-info and self metrics: no namespace.
        let mut encoder = Encoder::new(out, format).with_const_labels(labels);
        #[cfg(target_os = "linux")]
        if core.config.process_metrics {
            crate::process::encode(&mut encoder);
        }
        self.encode_build_info(&mut encoder);
        crate::table::render_native_out_of_range(&mut encoder);
        let stats = &core.stats;
        for metric in SELF_METRICS {
            // The names are valid (checked by the `self_metric_names_are_valid` test).
            let family = Family::prevalidated(metric.name, metric.kind, Help::Escaped(metric.help));
            encoder.family_trusted(&family).sample_trusted(
                Suffix::Bare,
                &[],
                (metric.read)(stats, scrapes),
            );
        }
        // Protobuf: the standard part's last family is completed before the hook's part.
        encoder.end_part();
        // The host's families come last, so that its encoder's duplicate check sees every
        // family of the exposition (statics, process, build info, self-metrics): a hook
        // family cannot repeat any of them.
        let mut encoder = Encoder::resuming(out, format, 0)
            .with_namespace(&core.config.namespace)
            .with_const_labels(labels);
        if let Some(hook) = &core.config.on_scrape
            && let Err(error) = (hook.0)(&mut encoder)
        {
            log::warn!(
                target: "promstatic",
                "the on_scrape hook stopped early: {error}; the rest of the scrape is served"
            );
        }
        encoder.finish();
        let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        stats.last_encode_nanos.store(nanos, Ordering::Relaxed);
        stats.encode_nanos_total.fetch_add(nanos, Ordering::Relaxed);
    }

    fn encode_build_info(&self, encoder: &mut Encoder<'_>) {
        let core = &*self.core;
        const APPLICATION: EscapedHelp<'static> =
            plain_help("The application's version; always 1.");
        const PROMSTATIC: EscapedHelp<'static> = plain_help("promstatic's version; always 1.");
        let (help, version) = match &core.config.build_info {
            Some((_, version)) => (APPLICATION, version.as_str()),
            None => (PROMSTATIC, env!("CARGO_PKG_VERSION")),
        };
        let family = Family::prevalidated(&core.build_info_name, Kind::Gauge, Help::Escaped(help));
        let labels = [
            Label::prevalidated(const { assert_label_name("version") }, Text::Raw(version)),
            Label::prevalidated(
                const { assert_label_name("promstatic_version") },
                Text::Raw(env!("CARGO_PKG_VERSION")),
            ),
        ];
        encoder
            .family_trusted(&family)
            .sample_trusted(Suffix::Bare, &labels, Value::Unsigned(1));
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

pub(super) fn fixed(
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
