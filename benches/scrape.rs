//! One warm scrape through the exporter's handler: negotiation, rendering the static table
//! plus process and self metrics, optional gzip, and writing the body out (as hyper would
//! poll it), in text 0.0.4, OpenMetrics and gzip.
//!
//! Run: `cargo bench --bench scrape -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use bytes::Buf;
use criterion::{Criterion, criterion_group, criterion_main};
use http_body::Body;
use promstatic::exporter::{Exporter, MetricsService};
use promstatic::{Counter, FloatGauge, Gauge, metric};

/// Requests in the bench's table.
#[metric]
static BENCH_REQUESTS_TOTAL: Counter = Counter::new();
/// Workers in the bench's table.
#[metric]
static BENCH_WORKERS: Gauge = Gauge::new();
/// Load in the bench's table.
#[metric]
static BENCH_LOAD_RATIO: FloatGauge = FloatGauge::new();

fn scrape(service: &MetricsService, request: &hyper::Request<String>) -> usize {
    let mut body = service.respond(request).into_body();
    let mut context = Context::from_waker(Waker::noop());
    let mut length = 0;
    while let Poll::Ready(Some(Ok(frame))) = Pin::new(&mut body).poll_frame(&mut context) {
        if let Ok(data) = frame.into_data() {
            length += data.remaining();
        }
    }
    length
}

fn bench(criterion: &mut Criterion) {
    BENCH_REQUESTS_TOTAL.inc_by(12345);
    BENCH_WORKERS.set(4);
    BENCH_LOAD_RATIO.set(0.5);
    let service = Exporter::new().service().expect("valid configuration");
    let cases: [(&str, Option<(&str, &str)>); 3] = [
        ("text", None),
        (
            "openmetrics",
            Some(("accept", "application/openmetrics-text")),
        ),
        ("gzip", Some(("accept-encoding", "gzip"))),
    ];
    for (name, header) in cases {
        let mut builder = hyper::Request::get("/metrics");
        if let Some((key, value)) = header {
            builder = builder.header(key, value);
        }
        let request = builder.body(String::new()).expect("a valid request");
        criterion.bench_function(&format!("scrape_{name}"), |bencher| {
            bencher.iter(|| black_box(scrape(&service, &request)))
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
