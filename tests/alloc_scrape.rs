//! After the first scrape into a reused buffer, a scrape performs zero heap allocations;
//! dynamic families allocate nothing at all, not even when a label set is new.

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::{CountingAllocator, allocations_in};
use promstatic::{
    Counter, DynCounterFamily, DynHistogramFamily, FloatGauge, Format, Gauge, Histogram,
    NativeHistogram, metric,
};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Requests served.
#[metric]
static REQUESTS_TOTAL: Counter = Counter::new();

/// Queue depth.
#[metric]
static QUEUE_DEPTH: Gauge = Gauge::new();

/// Load average.
#[metric]
static LOAD: FloatGauge = FloatGauge::new();

/// Latency, classic.
#[metric(buckets = [0.01, 0.1, 1.0])]
static CLASSIC_SECONDS: Histogram = Histogram::new();

/// Latency, native (and classic, for the text formats).
#[metric(native(schema = 4, range = 1e-5..100.0), buckets = [0.01, 0.1])]
static NATIVE_SECONDS: NativeHistogram = NativeHistogram::new();

/// Requests by route and code.
#[metric(labels(route: &str, code: u16), capacity = 4)]
static ROUTES_TOTAL: DynCounterFamily = DynCounterFamily::new();

/// Latency by upstream.
#[metric(labels(upstream: &str), capacity = 2, buckets = [0.1, 1.0])]
static UPSTREAM_SECONDS: DynHistogramFamily = DynHistogramFamily::new();

#[test]
fn warm_scrapes_do_not_allocate() {
    // Dynamic families: new label sets, hits, and overflow (full, too long) allocate nothing.
    let too_long = "x".repeat(200);
    let inserts = allocations_in(|| {
        for (route, code) in [("/a", 200), ("/a", 500), ("/b\"quoted\"", 200), ("/c", 404)] {
            ROUTES_TOTAL.with((route, code)).inc();
        }
        ROUTES_TOTAL.with(("/full", 200)).inc();
        ROUTES_TOTAL.with((&too_long, 1)).inc();
        UPSTREAM_SECONDS.with(("db-1",)).observe(0.5);
        UPSTREAM_SECONDS.with(("db-2",)).observe(0.05);
        UPSTREAM_SECONDS.with(("db-3",)).observe(5.0);
    });
    assert_eq!(
        inserts, 0,
        "a dynamic family allocated on insert or overflow"
    );
    assert_eq!(ROUTES_TOTAL.len(), 4);
    assert_eq!(ROUTES_TOTAL.overflows().total(), 2);

    let mut buffer = Vec::new();
    // The counter is live: the check must not depend on unchanged values.
    let first = allocations_in(|| promstatic::render(&mut buffer, Format::Text));
    assert!(
        first > 0,
        "the counting allocator must see the warm-up allocations"
    );
    // A native histogram's protobuf message grows as new buckets fill (below, up to ~200),
    // so the buffer is grown once to the size of the largest scrape, as a long-running
    // exporter's pooled buffer is; the claim is no allocation *per scrape* after that.
    buffer.reserve(1 << 16);

    for round in 0..1_000u64 {
        REQUESTS_TOTAL.inc();
        QUEUE_DEPTH.set(round as i64 - 500);
        LOAD.set(round as f64 / 7.0);
        let hits = allocations_in(|| {
            ROUTES_TOTAL.with(("/a", 500)).inc();
            ROUTES_TOTAL.with(("/overflowing", 1)).inc();
            UPSTREAM_SECONDS.with(("db-2",)).observe(round as f64);
        });
        assert_eq!(hits, 0, "round {round}: a dynamic lookup allocated");
        CLASSIC_SECONDS.observe(round as f64 / 1000.0);
        // New native buckets fill in as the rounds go on: more spans, longer messages.
        NATIVE_SECONDS.observe(round as f64 / 100.0 + 1e-5);
        for format in [Format::Text, Format::OpenMetrics, Format::Protobuf] {
            buffer.clear();
            let allocations = allocations_in(|| promstatic::render(&mut buffer, format));
            assert_eq!(allocations, 0, "round {round}, {format:?}");
        }
    }
    buffer.clear();
    promstatic::render(&mut buffer, Format::Text);
    let text = String::from_utf8(buffer.clone()).unwrap();
    assert!(text.contains("requests_total 1000\n"));
    assert!(
        text.contains("routes_total{route=\"/a\",code=\"500\"} 1001\n"),
        "{text}"
    );
    assert!(
        text.contains("upstream_seconds_count{upstream=\"db-2\"} 1001\n"),
        "{text}"
    );
}
