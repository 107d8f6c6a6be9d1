//! Gauge set, one thread.

use std::hint::black_box;
use std::sync::atomic::{AtomicI64, Ordering};

use criterion::{Criterion, criterion_group, criterion_main};
use promstatic::{Gauge, metric};
use promstatic_bench_peers::peers;
use promstatic_bench_peers::workload::{LEVEL_HELP, LEVEL_NAME};

/// Current level.
#[metric]
static BENCH_LEVEL: Gauge = Gauge::new();

static FLOOR: AtomicI64 = AtomicI64::new(0);

fn gauge_set(c: &mut Criterion) {
    peers::metrics_global();
    let prometheus = peers::prometheus_gauge(LEVEL_NAME, LEVEL_HELP);
    let client = prometheus_client::metrics::gauge::Gauge::<i64>::default();
    let metrics_held = metrics::gauge!(LEVEL_NAME);
    let measured = measured::Gauge::new();

    // Every library sets the same changing value (`metrics` gauges take an f64).
    let mut group = c.benchmark_group("gauge_set");
    let mut level = 0i64;
    group.bench_function("floor: store", |b| {
        b.iter(|| {
            level = level.wrapping_add(1);
            FLOOR.store(black_box(level), Ordering::Relaxed)
        })
    });
    group.bench_function("promstatic", |b| {
        b.iter(|| {
            level = level.wrapping_add(1);
            BENCH_LEVEL.set(black_box(level))
        })
    });
    group.bench_function("prometheus", |b| {
        b.iter(|| {
            level = level.wrapping_add(1);
            prometheus.set(black_box(level))
        })
    });
    group.bench_function("prometheus-client", |b| {
        b.iter(|| {
            level = level.wrapping_add(1);
            client.set(black_box(level))
        })
    });
    group.bench_function("metrics (held handle)", |b| {
        b.iter(|| {
            level = level.wrapping_add(1);
            metrics_held.set(black_box(level) as f64)
        })
    });
    group.bench_function("metrics (gauge! macro)", |b| {
        b.iter(|| {
            level = level.wrapping_add(1);
            metrics::gauge!(LEVEL_NAME).set(black_box(level) as f64)
        })
    });
    group.bench_function("measured", |b| {
        b.iter(|| {
            level = level.wrapping_add(1);
            measured.set(black_box(level))
        })
    });
    group.finish();
}

criterion_group!(benches, gauge_set);
criterion_main!(benches);
