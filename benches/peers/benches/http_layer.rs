//! Per-request cost of HTTP metrics middleware: one request through a tower service (call,
//! poll the response future, poll the body to its end, as hyper does), in process so that
//! socket and scheduler noise do not drown the difference.
//!
//! * floor: the uninstrumented service (what hyper calls for each request);
//! * promstatic: the same service wrapped in `promstatic::tower::HttpMetricsLayer`
//!   (counter, histogram and in-flight gauge, recorded at the end of the body);
//! * metrics: a hand-written layer on the `metrics` facade recorded by
//!   metrics-exporter-prometheus, as blog posts and axum's own example write it: the same
//!   three metrics and labels, the status formatted with `to_string`, recorded when the
//!   response head is ready (it does less than promstatic's: no body tracking, no
//!   cancellation).

use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::hint::black_box;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use http::{Request, Response};
use http_body::Body;
use http_body_util::Full;
use pin_project_lite::pin_project;
use promstatic::tower::HttpMetricsLayer;
use promstatic_bench_peers::peers;
use tower_layer::Layer;
use tower_service::Service;

/// The application: a fixed response from static bytes.
#[derive(Clone, Copy)]
struct Hello;

impl Service<Request<()>> for Hello {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Response<Full<Bytes>>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<()>) -> Self::Future {
        ready(Ok(Response::new(Full::new(Bytes::from_static(b"hello")))))
    }
}

/// The route template a router would have matched.
const ROUTE: &str = "/users/{id}";

/// The hand-written `metrics` layer's service.
#[derive(Clone, Copy)]
struct MetricsLayered<S>(S);

pin_project! {
    struct MetricsFuture<F> {
        #[pin]
        inner: F,
        method: &'static str,
        started: Instant,
    }
}

impl<S> Service<Request<()>> for MetricsLayered<S>
where
    S: Service<Request<()>, Response = Response<Full<Bytes>>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = MetricsFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: Request<()>) -> Self::Future {
        let method = if request.method() == http::Method::GET {
            "GET"
        } else {
            "_OTHER"
        };
        metrics::gauge!("http_server_active_requests", "http_request_method" => method)
            .increment(1.0);
        MetricsFuture {
            inner: self.0.call(request),
            method,
            started: Instant::now(),
        }
    }
}

impl<F, E> Future for MetricsFuture<F>
where
    F: Future<Output = Result<Response<Full<Bytes>>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let output = std::task::ready!(this.inner.poll(cx));
        let method = *this.method;
        let status = match &output {
            Ok(response) => response.status().as_u16().to_string(),
            Err(_) => String::new(),
        };
        let labels = [
            ("http_request_method", method.to_owned()),
            ("http_route", ROUTE.to_owned()),
            ("http_response_status_code", status),
            ("error_type", String::new()),
        ];
        metrics::counter!("http_server_requests_total", &labels).increment(1);
        metrics::histogram!("http_server_request_duration_seconds", &labels)
            .record(this.started.elapsed().as_secs_f64());
        metrics::gauge!("http_server_active_requests", "http_request_method" => method)
            .decrement(1.0);
        Poll::Ready(output)
    }
}

/// One request as a server runs it.
fn serve<S, B>(service: &mut S)
where
    S: Service<Request<()>, Response = Response<B>>,
    B: Body + Unpin,
{
    let mut context = Context::from_waker(Waker::noop());
    let Poll::Ready(Ok(response)) = pin!(service.call(Request::new(()))).poll(&mut context) else {
        panic!("the service answers at once");
    };
    let mut body = response.into_body();
    while let Poll::Ready(Some(frame)) = Pin::new(&mut body).poll_frame(&mut context) {
        black_box(frame.is_ok());
    }
}

fn http_layer(c: &mut Criterion) {
    peers::metrics_global();
    let mut bare = Hello;
    let mut promstatic = HttpMetricsLayer::new()
        .route(|_: &Request<()>| Some(ROUTE))
        .layer(Hello);
    let mut hand_written = MetricsLayered(Hello);

    let mut group = c.benchmark_group("http_layer");
    group.bench_function("floor: uninstrumented service", |b| {
        b.iter(|| serve(black_box(&mut bare)))
    });
    group.bench_function("promstatic: HttpMetricsLayer", |b| {
        b.iter(|| serve(black_box(&mut promstatic)))
    });
    group.bench_function("metrics: hand-written layer", |b| {
        b.iter(|| serve(black_box(&mut hand_written)))
    });
    group.finish();
}

criterion_group!(benches, http_layer);
criterion_main!(benches);
