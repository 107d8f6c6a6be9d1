//! A labelled counter family: `with(method).inc()`, cycling through four label values.
//!
//! Every library resolves the label value to its series on every call, the way its API is
//! meant to be used for a label known at the call site; "held handles" rows resolve once
//! ahead of time and index an array, the best a user of that library can do by hand.

use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, criterion_group, criterion_main};
use promstatic::{CounterFamily, LabelValue, metric};
use promstatic_bench_peers::peers::{self, CLIENT_LABELS, MEASURED_LABELS};
use promstatic_bench_peers::workload::{METHOD_LABEL, METHODS, REQUESTS_HELP, REQUESTS_NAME};

/// The request method, as promstatic types a label.
#[derive(LabelValue, Clone, Copy)]
enum Method {
    Get,
    Post,
    Put,
    Delete,
}

/// [`Method`] in the workload's order of `METHODS`.
const PROMSTATIC_LABELS: [Method; 4] = [Method::Get, Method::Post, Method::Put, Method::Delete];

/// Requests by method.
#[metric(labels(method: Method))]
static BENCH_REQUESTS_TOTAL: CounterFamily = CounterFamily::new();

fn family_inc(c: &mut Criterion) {
    assert_eq!(
        Method::VALUES,
        METHODS,
        "promstatic's label values must be the workload's"
    );
    peers::metrics_global();
    let floor: [AtomicU64; 4] = Default::default();
    let prometheus = peers::prometheus_counter_vec(REQUESTS_NAME, REQUESTS_HELP, METHOD_LABEL);
    let client = prometheus_client::metrics::family::Family::<
        peers::ClientLabels,
        prometheus_client::metrics::counter::Counter,
    >::default();
    let metrics_held =
        METHODS.map(|method| metrics::counter!(REQUESTS_NAME, METHOD_LABEL => method));
    let measured = measured::CounterVec::<peers::MeasuredLabelSet>::new();

    let mut group = c.benchmark_group("family_inc");
    let mut turn = 0usize;
    let mut next = || {
        turn = turn.wrapping_add(1);
        turn % METHODS.len()
    };
    group.bench_function("floor: array index + fetch_add", |b| {
        b.iter(|| floor[next()].fetch_add(1, Ordering::Relaxed))
    });
    group.bench_function("promstatic", |b| {
        b.iter(|| BENCH_REQUESTS_TOTAL.with(PROMSTATIC_LABELS[next()]).inc())
    });
    group.bench_function("prometheus", |b| {
        b.iter(|| prometheus.with_label_values(&[METHODS[next()]]).inc())
    });
    group.bench_function("prometheus-client", |b| {
        b.iter(|| {
            client.get_or_create(&CLIENT_LABELS[next()]).inc();
        })
    });
    group.bench_function("metrics (counter! macro)", |b| {
        b.iter(|| metrics::counter!(REQUESTS_NAME, METHOD_LABEL => METHODS[next()]).increment(1))
    });
    group.bench_function("metrics (held handles)", |b| {
        b.iter(|| metrics_held[next()].increment(1))
    });
    group.bench_function("measured", |b| {
        b.iter(|| measured.inc(MEASURED_LABELS[next()]))
    });
    group.finish();
}

criterion_group!(benches, family_inc);
criterion_main!(benches);
