//! Soak: 4 writer threads hammer counters, a sharded counter, histograms and label families
//! while a client scrapes `/metrics` over HTTP every 10 ms. Every scrape must parse with the
//! strict oracle (which checks every histogram invariant), no counter may go backwards, no
//! scrape may hang, and the final values must equal exactly what the writers counted.
//!
//! Scrape latency is printed, not asserted: on a loaded 2-core machine a healthy scrape can
//! take tens of milliseconds while the writers and other test binaries hold both cores, so a
//! tight latency bound would fail for reasons that have nothing to do with promstatic. Speed
//! is measured by the criterion benches (`benches/peers`, the writer and HTTP rows). What this
//! test does bound is a hang — a scrape waiting on a lock or a lost wake-up — which takes
//! seconds, not milliseconds, however busy the machine is.
//!
//! `PROMSTATIC_SOAK_SECONDS` sets the duration (default 60; CI uses less).

mod support;

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use promstatic::conformance::{self, Exposition, Format};
use promstatic::exporter::Exporter;
use promstatic::{
    Counter, CounterFamily, Histogram, HistogramFamily, LabelValue, ShardedCounter, metric,
};

use support::http;

#[derive(LabelValue, Clone, Copy)]
enum Route {
    Home,
    Search,
    #[label(rename = "api/v1")]
    Api,
}

#[derive(LabelValue, Clone, Copy)]
enum Outcome {
    Ok,
    Error,
}

/// Operations done by the soak writers.
#[metric]
static SOAK_OPERATIONS_TOTAL: Counter = Counter::new();

/// Operations done by the soak writers, counted per thread.
#[metric]
static SOAK_SHARDED_TOTAL: ShardedCounter = ShardedCounter::new();

/// Simulated latency of each operation.
#[metric(buckets = [0.001, 0.01, 0.1, 1.0])]
static SOAK_LATENCY_SECONDS: Histogram = Histogram::new();

/// Operations by route and outcome.
#[metric(labels(route: Route, outcome: Outcome))]
static SOAK_REQUESTS_TOTAL: CounterFamily = CounterFamily::new();

/// Simulated latency by route.
#[metric(labels(route: Route), buckets = [0.005, 0.05, 0.5])]
static SOAK_ROUTE_SECONDS: HistogramFamily = HistogramFamily::new();

const WRITERS: u64 = 4;
const SCRAPE_EVERY: Duration = Duration::from_millis(10);
/// Longer than any scrape of a working exporter on a busy machine; a scrape this slow is stuck.
const HANG_LIMIT: Duration = Duration::from_secs(5);

fn duration() -> Duration {
    let seconds = std::env::var("PROMSTATIC_SOAK_SECONDS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(60);
    Duration::from_secs(seconds)
}

/// Counter-like samples (never allowed to go down): `*_total`, `*_bucket`, `*_count`.
fn monotonic_samples(exposition: &Exposition) -> Vec<(String, f64)> {
    let mut samples = Vec::new();
    for family in &exposition.families {
        for sample in &family.samples {
            if sample.name.ends_with("_total")
                || sample.name.ends_with("_bucket")
                || sample.name.ends_with("_count")
            {
                let mut key = sample.name.clone();
                for (name, value) in &sample.labels {
                    key.push_str(&format!(",{name}={value}"));
                }
                samples.push((key, sample.value.float));
            }
        }
    }
    samples
}

fn value_of(exposition: &Exposition, name: &str, labels: &[(&str, &str)]) -> f64 {
    exposition
        .families
        .iter()
        .flat_map(|family| &family.samples)
        .find(|sample| {
            sample.name == name
                && labels
                    .iter()
                    .all(|(label, value)| sample.label(label) == Some(value))
        })
        .map(|sample| sample.value.float)
        .unwrap_or_else(|| panic!("no sample {name} {labels:?}"))
}

#[test]
fn soak_every_scrape_is_valid_and_nothing_is_lost() {
    let (handle, address) = http::start(Exporter::new().process_metrics(true));
    let stop = Arc::new(AtomicBool::new(false));

    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                let routes = [Route::Home, Route::Search, Route::Api];
                let mut operations = 0u64;
                let mut per_series = [[0u64; 2]; 3];
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..64 {
                        let step = operations.wrapping_mul(2_654_435_761) ^ writer;
                        let route = (step % 3) as usize;
                        let outcome = usize::from(step.is_multiple_of(17));
                        SOAK_OPERATIONS_TOTAL.inc();
                        SOAK_SHARDED_TOTAL.inc();
                        SOAK_LATENCY_SECONDS.observe((step % 2000) as f64 / 1000.0);
                        let outcome_value = if outcome == 0 {
                            Outcome::Ok
                        } else {
                            Outcome::Error
                        };
                        SOAK_REQUESTS_TOTAL.with(routes[route], outcome_value).inc();
                        SOAK_ROUTE_SECONDS
                            .with(routes[route])
                            .observe((step % 700) as f64 / 1000.0);
                        per_series[route][outcome] += 1;
                        operations += 1;
                    }
                    thread::yield_now();
                }
                (operations, per_series)
            })
        })
        .collect();

    let soak = duration();
    let mut stream = http::connect(address);
    let mut previous: HashMap<String, f64> = HashMap::new();
    let mut scrapes = 0u64;
    let mut slowest = Duration::ZERO;
    let mut latencies = Vec::new();
    let started = Instant::now();
    while started.elapsed() < soak {
        let openmetrics = scrapes % 2 == 1;
        let accept = if openmetrics {
            http::PROMETHEUS_3_ACCEPT
        } else {
            "text/plain"
        };
        let begin = Instant::now();
        // One write: split requests meet Nagle and delayed ACKs (a 40 ms stall).
        let request = format!("GET /metrics HTTP/1.1\r\nHost: soak\r\nAccept: {accept}\r\n\r\n");
        stream.write_all(request.as_bytes()).unwrap();
        let response = http::read_response(&mut stream, false);
        let took = begin.elapsed();
        assert_eq!(response.status, 200);
        let format = if openmetrics {
            Format::OpenMetrics
        } else {
            Format::Text
        };
        let exposition =
            promstatic::assert_valid_exposition!(format, response.body, "scrape {scrapes}");
        for (key, value) in monotonic_samples(&exposition) {
            // Text and OpenMetrics share the sample names of counters and histograms here.
            if let Some(&before) = previous.get(&key) {
                assert!(
                    value >= before,
                    "scrape {scrapes}: {key} went from {before} to {value}"
                );
            }
            previous.insert(key, value);
        }
        slowest = slowest.max(took);
        latencies.push(took);
        scrapes += 1;
        thread::sleep(SCRAPE_EVERY.saturating_sub(begin.elapsed()));
    }
    stop.store(true, Ordering::Relaxed);
    let mut operations = 0u64;
    let mut per_series = [[0u64; 2]; 3];
    for writer in writers {
        let (done, series) = writer.join().expect("writer thread");
        operations += done;
        for route in 0..3 {
            for outcome in 0..2 {
                per_series[route][outcome] += series[route][outcome];
            }
        }
    }

    // The final scrape equals exactly what the writers counted.
    let response = http::request(address, "GET", "/metrics", &[]);
    let last = conformance::parse(Format::Text, &response.body).expect("final scrape parses");
    let exact = operations as f64;
    assert_eq!(value_of(&last, "soak_operations_total", &[]), exact);
    assert_eq!(value_of(&last, "soak_sharded_total", &[]), exact);
    assert_eq!(value_of(&last, "soak_latency_seconds_count", &[]), exact);
    assert_eq!(
        value_of(&last, "soak_latency_seconds_bucket", &[("le", "+Inf")]),
        exact
    );
    let routes = ["home", "search", "api/v1"];
    let mut route_total = 0.0;
    for (route, name) in routes.iter().enumerate() {
        for (outcome, outcome_name) in ["ok", "error"].iter().enumerate() {
            assert_eq!(
                value_of(
                    &last,
                    "soak_requests_total",
                    &[("route", name), ("outcome", outcome_name)]
                ),
                per_series[route][outcome] as f64,
                "{name} {outcome_name}"
            );
        }
        let route_count = value_of(&last, "soak_route_seconds_count", &[("route", name)]);
        assert_eq!(
            route_count,
            (per_series[route][0] + per_series[route][1]) as f64
        );
        route_total += route_count;
    }
    assert_eq!(route_total, exact);

    latencies.sort();
    eprintln!(
        "soak {:?}: {WRITERS} writers, {operations} operations, {scrapes} scrapes, \
         scrape median {:?}, p99 {:?}, max {slowest:?}",
        soak,
        latencies[latencies.len() / 2],
        latencies[latencies.len() * 99 / 100],
    );
    assert!(scrapes > 0);
    assert!(
        slowest <= HANG_LIMIT,
        "a scrape took {slowest:?} (> {HANG_LIMIT:?}): the scrape path is stuck, not slow"
    );
    handle.shutdown();
}
