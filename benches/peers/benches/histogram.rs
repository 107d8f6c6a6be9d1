//! Histogram observe: one thread, and two threads on one histogram.
//!
//! `promstatic` is the plain `Histogram` (shared atomics, about 120 bytes);
//! `promstatic (sharded)` is `ShardedHistogram` (per-thread cells, 8.25 KiB), the one to use
//! where threads contend.
//!
//! Every library gets the same 11 buckets and cycles through the same 64 observations.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use promstatic::{Histogram, ShardedHistogram, metric};
use promstatic_bench_peers::peers;
use promstatic_bench_peers::threads::two_threads;
use promstatic_bench_peers::workload::{LATENCY_BUCKETS, LATENCY_HELP, LATENCY_NAME, observations};

/// The same operation as one thread and as two; `$observe` takes the observation.
macro_rules! both {
    ($group:expr, $id:expr, $observe:expr) => {{
        let observe = $observe;
        let values = observations();
        let mut position = 0usize;
        $group.bench_function(BenchmarkId::new($id, "1 thread"), |b| {
            b.iter(|| {
                position = position.wrapping_add(1);
                observe(values[position % values.len()])
            })
        });
        $group.bench_function(BenchmarkId::new($id, "2 threads"), |b| {
            b.iter_custom(|iterations| {
                two_threads(iterations, |_, iteration| {
                    observe(values[iteration as usize % values.len()])
                })
            })
        });
    }};
}

/// Request latency.
#[metric]
static BENCH_LATENCY_SECONDS: Histogram = Histogram::new();

/// Request latency, observed on per-thread cells.
#[metric]
static BENCH_SHARDED_LATENCY_SECONDS: ShardedHistogram = ShardedHistogram::new();

/// The floor: find the bucket by a linear scan and bump it, plus the sum as f64 bits and the
/// count, all relaxed — the least any cumulative histogram must do.
struct FloorHistogram {
    buckets: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    sum: AtomicU64,
}

impl FloorHistogram {
    fn observe(&self, value: f64) {
        let bucket = LATENCY_BUCKETS
            .iter()
            .position(|bound| value <= *bound)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        let mut current = self.sum.load(Ordering::Relaxed);
        loop {
            let next = (f64::from_bits(current) + value).to_bits();
            match self.sum.compare_exchange_weak(
                current,
                next,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(actual) => current = actual,
            }
        }
    }
}

fn histogram_observe(c: &mut Criterion) {
    assert_eq!(
        BENCH_LATENCY_SECONDS.bounds(),
        LATENCY_BUCKETS,
        "promstatic's default bounds must be the workload's"
    );
    assert_eq!(BENCH_SHARDED_LATENCY_SECONDS.bounds(), LATENCY_BUCKETS);
    let handle = peers::metrics_global();
    let floor = FloorHistogram {
        buckets: Default::default(),
        sum: AtomicU64::new(0),
    };
    let prometheus = peers::prometheus_histogram(LATENCY_NAME, LATENCY_HELP);
    let client = peers::prometheus_client_histogram();
    let metrics_held = metrics::histogram!(LATENCY_NAME);
    let measured = measured::Histogram::<{ LATENCY_BUCKETS.len() }>::with_metadata(
        measured::metric::histogram::Thresholds::with_buckets(LATENCY_BUCKETS),
    );

    // `metrics` histograms append every observation to a lock-free list that the exporter
    // drains on upkeep (every 5 s when installed); drain it here too, or memory grows
    // without bound during a long sample. The drain runs on its own thread, as in a server.
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                handle.run_upkeep();
                std::thread::sleep(Duration::from_millis(50));
            }
        });

        let mut group = c.benchmark_group("histogram_observe");
        both!(group, "floor: bucket scan + atomics", |value| floor
            .observe(value));
        both!(group, "promstatic", |value| BENCH_LATENCY_SECONDS
            .observe(value));
        both!(group, "promstatic (sharded)", |value| {
            BENCH_SHARDED_LATENCY_SECONDS.observe(value)
        });
        both!(group, "prometheus", |value| prometheus.observe(value));
        both!(group, "prometheus-client", |value| client.observe(value));
        both!(group, "metrics (held handle)", |value| metrics_held
            .record(value));
        both!(group, "metrics (histogram! macro)", |value| {
            metrics::histogram!(LATENCY_NAME).record(value)
        });
        both!(group, "measured", |value| measured.observe(value));
        group.finish();
        stop.store(true, Ordering::Relaxed);
    });
}

criterion_group!(benches, histogram_observe);
criterion_main!(benches);
