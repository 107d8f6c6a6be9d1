//! HTTP server metrics for tower services (axum, hyper, tonic's HTTP layer): one [`Layer`].
//!
//! [`HttpMetricsLayer`] wraps any `tower` service of `http::Request` → `http::Response` and
//! records, for every request, the OpenTelemetry HTTP server metrics as Prometheus exposes
//! them:
//!
//! | OpenTelemetry instrument | Prometheus family | type | labels |
//! |---|---|---|---|
//! | `http.server.request.duration` (Histogram, `s`) | [`http_server_request_duration_seconds`](HTTP_SERVER_REQUEST_DURATION_SECONDS) | histogram | method, route, status code, error type |
//! | `http.server.active_requests` (UpDownCounter, `{request}`) | [`http_server_active_requests`](HTTP_SERVER_ACTIVE_REQUESTS) | gauge | method |
//! | none (see below) | [`http_server_requests_total`](HTTP_SERVER_REQUESTS_TOTAL) | counter | as the histogram |
//!
//! With axum (the crate does not depend on it; this is `examples/axum.rs`, the whole
//! server, with `/metrics` in the same router):
//!
//! ```text
//! /// axum's `MatchedPath` has `as_str` but not `AsRef<str>`: a newtype lends it (no copy).
//! #[derive(Clone)]
//! struct Route(MatchedPath);
//! impl AsRef<str> for Route {
//!     fn as_ref(&self) -> &str { self.0.as_str() }
//! }
//!
//! let app = Router::new()
//!     .route("/users/{id}", get(user))
//!     // `Router::layer` runs after routing, so `MatchedPath` (the template, not the raw
//!     // path) is there; cloning it bumps a reference count.
//!     .layer(HttpMetricsLayer::new().route(|request: &Request| {
//!         request.extensions().get::<MatchedPath>().cloned().map(Route)
//!     }));
//! ```
//!
//! Any tower HTTP service works the same way; the route can be any text type:
//!
//! ```
//! use promstatic::tower::HttpMetricsLayer;
//! use tower_layer::Layer;
//! # #[derive(Clone)] struct App;
//! #[derive(Clone, Copy)]
//! struct Template(&'static str);
//!
//! let layer = HttpMetricsLayer::new().route(|request: &http::Request<()>| {
//!     // Put there by the router; `None` records the fixed empty route.
//!     request.extensions().get::<Template>().map(|template| template.0)
//! });
//! let service = layer.layer(App);
//! # let _ = service;
//! ```
//!
//! # The convention
//!
//! Names and buckets follow the OpenTelemetry semantic conventions for HTTP metrics (the
//! stable `http.server.*` instruments, semconv 1.23 and later), with the usual Prometheus
//! translation: dots become underscores and the unit `s` becomes the `_seconds` suffix.
//!
//! * `http.server.request.duration` is "Duration of HTTP server requests", a histogram in
//!   seconds that "SHOULD be specified with ExplicitBucketBoundaries of [ 0.005, 0.01, 0.025,
//!   0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10 ]": these are its bounds
//!   ([`DURATION_BUCKETS`]).
//! * `http.request.method` → label `http_request_method`: the method in upper case, and for
//!   any method the instrumentation does not know, "`_OTHER`" ([`Method`]), so a client
//!   inventing methods cannot add series.
//! * `http.response.status_code` → `http_response_status_code`: the numeric code (the
//!   convention records the code, not a class). Empty when no status was produced (the
//!   request was cancelled before its response head, or the service failed): an empty label
//!   is how Prometheus spells an absent attribute.
//! * `http.route` → `http_route`: "the matched route, that is, the path template", never the
//!   raw path. It comes from a closure over the request ([`HttpMetricsLayer::route`]); a
//!   request without one gets [`NO_ROUTE`] (empty, the attribute absent).
//! * `error.type` → `error_type`: empty for a request that succeeded; the status code for a
//!   5xx response (the convention's rule for server spans: 4xx is the client's error, not
//!   the server's); `cancelled`, `service_error` or `body_error` otherwise (see
//!   [Cancelled requests](#cancelled-requests)).
//! * `http.server.active_requests` carries `http.request.method` only.
//!
//! Not recorded: `url.scheme`, `network.protocol.version`, `server.address`/`server.port`.
//! A server knows them, they are constant for one listener, and a constant label on the
//! exporter ([`Exporter::const_label`](crate::exporter::Exporter::const_label)) adds them
//! without multiplying series. The convention defines no request counter (the histogram's
//! `_count` is one); `http_server_requests_total` is promstatic's addition for dashboards
//! built on `rate(…_total)`, with the histogram's labels and always the same totals.
//!
//! # What the duration covers
//!
//! From the moment the layer's service is called with the request to the end of the
//! response body: the last frame returned by the body (`poll_frame` returning `None`, or
//! the body reporting `is_end_stream` after a frame), an error from the body, or the body
//! being dropped. So a streamed or slow-to-send response is measured in full, not only the
//! time to its head. A response whose body is empty from the start, or that HTTP sends
//! without one (to HEAD; 1xx, 204, 304), is recorded when the head is returned: a server
//! drops such a body unread, which is not a cancellation.
//!
//! # Cancelled requests
//!
//! Every request is counted exactly once. If the response future is dropped before it
//! completes (the client went away, a timeout layer outside this one fired), or the body is
//! dropped before its end, the request is recorded at that moment with `error_type`
//! `cancelled` (and the status code if the head was produced, empty otherwise). An error
//! returned by the wrapped service is `service_error` with no status code; an error from the
//! body stream is `body_error` with the head's code.
//!
//! # When the families appear
//!
//! Cargo unifies features across a build, so the feature may be on in a binary that never
//! builds a layer. The three families (and their lines of `promstatic_label_overflows_total`)
//! are therefore left out of every exposition until the first service is wrapped
//! ([`Layer::layer`] on an [`HttpMetricsLayer`]), and written in every exposition from then
//! on, at zero until the layer records (the in-flight gauge shows its ten methods, the two
//! dynamic families only their overflow series). They wait for one
//! [table activation](crate::table#activation) (`ACTIVATION` here); duplicate-name checks
//! see their names all along, so a static of the same name is reported either way.
//!
//! # Cost and cardinality
//!
//! Nothing is boxed, locked or allocated per request by the layer: the response future and
//! the body are pin-projected wrappers holding the start time, the method, the route and
//! the status inline, and the series are found in the [dynamic families](crate::dynamic)'
//! lock-free index (an insert the first time a label set is seen, a lookup after that).
//! The route closure runs once per request: `MatchedPath::clone` is a reference count
//! increment. The start and end times are two `Instant::now()` reads (the vDSO clock on
//! Linux: no system call). `tests/alloc_tower.rs` counts the allocations of whole requests
//! through the layer: zero. (axum itself boxes the body of every response it returns, this one's
//! included: that allocation is axum's.)
//!
//! The duration and request families hold up to [`CAPACITY`] label sets each
//! (method × route × status × error type). Beyond that, a new label set lands in the
//! family's overflow series (every label `__overflow__`) and in
//! `promstatic_label_overflows_total`, with one warning in the log: the totals stay exact,
//! the exposition stays bounded. A route longer than 128 bytes is overflowed the same way.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use http::{Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::table::Activation;
use crate::{DynCounterFamily, DynHistogramFamily, GaugeFamily, LabelValue, metric};

/// The histogram bounds the OpenTelemetry convention advises for
/// `http.server.request.duration`, in seconds.
pub const DURATION_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// The label sets (method × route × status × error type) the request families can hold
/// before new ones go to the overflow series.
pub const CAPACITY: usize = 512;

/// The `http_route` of a request for which the route closure returned `None` (or the layer
/// has none): empty, which Prometheus reads as the label being absent.
pub const NO_ROUTE: &str = "";

/// The `error_type` of a request whose response future or body was dropped before its end.
pub const CANCELLED: &str = "cancelled";

/// The `error_type` of a request whose wrapped service returned an error.
pub const SERVICE_ERROR: &str = "service_error";

/// The `error_type` of a request whose response body returned an error.
pub const BODY_ERROR: &str = "body_error";

/// The HTTP request method as a label: the methods of RFC 9110 and PATCH, and `_OTHER` for
/// any other (the OpenTelemetry rule, so invented methods cannot add series).
#[derive(LabelValue, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[label(crate = crate)]
pub enum Method {
    /// `GET`
    #[label(rename = "GET")]
    Get,
    /// `HEAD`
    #[label(rename = "HEAD")]
    Head,
    /// `POST`
    #[label(rename = "POST")]
    Post,
    /// `PUT`
    #[label(rename = "PUT")]
    Put,
    /// `DELETE`
    #[label(rename = "DELETE")]
    Delete,
    /// `CONNECT`
    #[label(rename = "CONNECT")]
    Connect,
    /// `OPTIONS`
    #[label(rename = "OPTIONS")]
    Options,
    /// `TRACE`
    #[label(rename = "TRACE")]
    Trace,
    /// `PATCH`
    #[label(rename = "PATCH")]
    Patch,
    /// Any other method.
    #[label(rename = "_OTHER")]
    Other,
}

impl Method {
    /// The label for `method`.
    pub fn of(method: &http::Method) -> Method {
        // `http::Method` compares standard methods by a one-byte tag, without allocating.
        const KNOWN: [(http::Method, Method); 9] = [
            (http::Method::GET, Method::Get),
            (http::Method::HEAD, Method::Head),
            (http::Method::POST, Method::Post),
            (http::Method::PUT, Method::Put),
            (http::Method::DELETE, Method::Delete),
            (http::Method::CONNECT, Method::Connect),
            (http::Method::OPTIONS, Method::Options),
            (http::Method::TRACE, Method::Trace),
            (http::Method::PATCH, Method::Patch),
        ];
        KNOWN
            .iter()
            .find(|(known, _)| known == method)
            .map_or(Method::Other, |&(_, label)| label)
    }
}

/// Duration of HTTP server requests, in seconds, to the end of the response body.
#[metric(
    crate = crate,
    labels(
        http_request_method: Method,
        http_route: &str,
        http_response_status_code: &str,
        error_type: &str
    ),
    capacity = 512,
    activation = ACTIVATION,
    buckets = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0]
)]
pub static HTTP_SERVER_REQUEST_DURATION_SECONDS: DynHistogramFamily = DynHistogramFamily::new();

/// HTTP server requests completed (or cancelled), by method, route, status and error type.
#[metric(
    crate = crate,
    labels(
        http_request_method: Method,
        http_route: &str,
        http_response_status_code: &str,
        error_type: &str
    ),
    capacity = 512,
    activation = ACTIVATION
)]
pub static HTTP_SERVER_REQUESTS_TOTAL: DynCounterFamily = DynCounterFamily::new();

/// HTTP server requests in flight: called, and their response body not yet ended.
#[metric(crate = crate, labels(http_request_method: Method), activation = ACTIVATION)]
pub static HTTP_SERVER_ACTIVE_REQUESTS: GaugeFamily = GaugeFamily::new();

/// Turned on by the first [`Layer::layer`]: the three families are exported from then on
/// (see [When the families appear](self#when-the-families-appear)).
static ACTIVATION: Activation = Activation::new();

// The declarations repeat the numbers (the attribute takes literals); keep them one.
const _: () = assert!(CAPACITY == 512);

/// Finds a request's route: the path template it matched, or `None`.
///
/// Implemented for [`NoRoute`] and for every `Fn(&Request<B>) -> Option<T>` where `T` is
/// text (`&'static str`, `String`, axum's `MatchedPath`, …).
pub trait RouteOf<B> {
    /// The route as the layer keeps it until the request ends.
    type Route: AsRef<str>;

    /// The route of `request`, looked at before the wrapped service sees it.
    fn route_of(&self, request: &Request<B>) -> Option<Self::Route>;
}

/// No route closure: every request is recorded with [`NO_ROUTE`].
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRoute;

impl<B> RouteOf<B> for NoRoute {
    type Route = &'static str;

    fn route_of(&self, _: &Request<B>) -> Option<&'static str> {
        None
    }
}

impl<B, F, T> RouteOf<B> for F
where
    F: Fn(&Request<B>) -> Option<T>,
    T: AsRef<str>,
{
    type Route = T;

    fn route_of(&self, request: &Request<B>) -> Option<T> {
        self(request)
    }
}

/// The layer; see the [module docs](self).
#[derive(Debug, Clone, Copy, Default)]
pub struct HttpMetricsLayer<R = NoRoute> {
    route: R,
}

impl HttpMetricsLayer {
    /// A layer that records every request with [`NO_ROUTE`] until given a route closure.
    pub const fn new() -> Self {
        HttpMetricsLayer { route: NoRoute }
    }
}

impl<R> HttpMetricsLayer<R> {
    /// Takes each request's route from `route`, called once per request before the wrapped
    /// service (it must return a template such as `/users/{id}`, never the raw path, which
    /// would spend the families' capacity on one series per user).
    pub fn route<F>(self, route: F) -> HttpMetricsLayer<F> {
        HttpMetricsLayer { route }
    }
}

impl<S, R: Clone> Layer<S> for HttpMetricsLayer<R> {
    type Service = HttpMetrics<S, R>;

    fn layer(&self, inner: S) -> HttpMetrics<S, R> {
        // Every request reaches the families through a service made here.
        ACTIVATION.activate();
        HttpMetrics {
            inner,
            route: self.route.clone(),
        }
    }
}

/// A service wrapped by [`HttpMetricsLayer`].
#[derive(Debug, Clone, Copy)]
pub struct HttpMetrics<S, R = NoRoute> {
    inner: S,
    route: R,
}

impl<S, R, B, ResponseBody> Service<Request<B>> for HttpMetrics<S, R>
where
    S: Service<Request<B>, Response = Response<ResponseBody>>,
    R: RouteOf<B>,
    ResponseBody: Body,
{
    type Response = Response<MeteredBody<ResponseBody, R::Route>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, R::Route>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let method = Method::of(request.method());
        let route = self.route.route_of(&request);
        let pending = Pending::start(method, route);
        ResponseFuture {
            inner: self.inner.call(request),
            pending: Some(pending),
        }
    }
}

/// A request between its call and its end: recorded exactly once, when it ends or is
/// dropped, whichever comes first.
struct Pending<T: AsRef<str>> {
    method: Method,
    route: Option<T>,
    started: Instant,
    status: Option<StatusCode>,
    recorded: bool,
}

impl<T: AsRef<str>> Pending<T> {
    fn start(method: Method, route: Option<T>) -> Self {
        HTTP_SERVER_ACTIVE_REQUESTS.with(method).inc();
        Pending {
            method,
            route,
            started: Instant::now(),
            status: None,
            recorded: false,
        }
    }

    /// Whether HTTP forbids a body in this response (RFC 9110 §6.4.1), so a server drops it
    /// unsent: a response to HEAD, 1xx, 204 No Content, 304 Not Modified.
    fn bodiless(&self) -> bool {
        self.method == Method::Head
            || self.status.is_some_and(|status| {
                status.is_informational()
                    || status == StatusCode::NO_CONTENT
                    || status == StatusCode::NOT_MODIFIED
            })
    }

    /// Records the request with `error` as its error type, or (`None`) as a success, whose
    /// error type is the status code when it is a 5xx.
    fn record(&mut self, error: Option<&'static str>) {
        if self.recorded {
            return;
        }
        self.recorded = true;
        let elapsed = self.started.elapsed();
        let route = self.route.as_ref().map_or(NO_ROUTE, AsRef::as_ref);
        let status = self.status.as_ref().map_or("", StatusCode::as_str);
        let error = match error {
            Some(error) => error,
            None if self.status.is_some_and(|code| code.is_server_error()) => status,
            None => "",
        };
        let labels = (self.method, route, status, error);
        HTTP_SERVER_REQUESTS_TOTAL.with(labels).inc();
        HTTP_SERVER_REQUEST_DURATION_SECONDS
            .with(labels)
            .observe_duration(elapsed);
        HTTP_SERVER_ACTIVE_REQUESTS.with(self.method).dec();
    }
}

impl<T: AsRef<str>> Drop for Pending<T> {
    fn drop(&mut self) {
        // Not recorded by now: the future or the body was dropped before the end.
        self.record(Some(CANCELLED));
    }
}

pin_project! {
    /// The response future of [`HttpMetrics`]: the wrapped service's future, and the request
    /// it is for.
    pub struct ResponseFuture<F, T: AsRef<str>> {
        #[pin]
        inner: F,
        pending: Option<Pending<T>>,
    }
}

/// `Debug` without the wrapped value (futures and bodies rarely implement it).
macro_rules! opaque_debug {
    ($type:ident) => {
        impl<I, T: AsRef<str>> std::fmt::Debug for $type<I, T> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($type)).finish_non_exhaustive()
            }
        }
    };
}

opaque_debug!(ResponseFuture);

impl<F, T, B, E> Future for ResponseFuture<F, T>
where
    F: Future<Output = Result<Response<B>, E>>,
    T: AsRef<str>,
    B: Body,
{
    type Output = Result<Response<MeteredBody<B, T>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        // `None` only if polled again after completing, which futures need not support:
        // the response then passes through unrecorded rather than panicking.
        let mut pending = this.pending.take();
        match result {
            Ok(response) => {
                let (parts, inner) = response.into_parts();
                if let Some(pending) = pending.as_mut() {
                    pending.status = Some(parts.status);
                    // Nothing will be polled from an empty body, and a server sends none
                    // for HEAD, 1xx, 204 and 304 (it drops the body unread): the request
                    // ends with its head.
                    if inner.is_end_stream() || pending.bodiless() {
                        pending.record(None);
                    }
                }
                Poll::Ready(Ok(Response::from_parts(
                    parts,
                    MeteredBody { inner, pending },
                )))
            }
            Err(error) => {
                if let Some(pending) = pending.as_mut() {
                    pending.record(Some(SERVICE_ERROR));
                }
                Poll::Ready(Err(error))
            }
        }
    }
}

pin_project! {
    /// The response body of [`HttpMetrics`]: the wrapped service's body, which records the
    /// request when it ends (or is dropped).
    pub struct MeteredBody<B, T: AsRef<str>> {
        #[pin]
        inner: B,
        pending: Option<Pending<T>>,
    }
}

opaque_debug!(MeteredBody);

impl<B, T: AsRef<str>> MeteredBody<B, T> {
    /// The wrapped body.
    pub fn get_ref(&self) -> &B {
        &self.inner
    }
}

impl<B: Body, T: AsRef<str>> Body for MeteredBody<B, T> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let mut this = self.project();
        let polled = this.inner.as_mut().poll_frame(cx);
        let ended = match &polled {
            Poll::Pending => None,
            Poll::Ready(None) => Some(None),
            Poll::Ready(Some(Err(_))) => Some(Some(BODY_ERROR)),
            // The last frame: a server that knows the length may not poll for the end.
            Poll::Ready(Some(Ok(_))) => this.inner.is_end_stream().then_some(None),
        };
        if let (Some(error), Some(pending)) = (ended, this.pending.as_mut()) {
            pending.record(error);
        }
        polled
    }

    #[inline]
    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    #[inline]
    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
