//! Counter increment: one thread, and two threads on one counter; promstatic's plain
//! `Counter` and its contention-resistant `ShardedCounter`.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use promstatic::{Counter, ShardedCounter, metric};
use promstatic_bench_peers::peers;
use promstatic_bench_peers::threads::two_threads;
use promstatic_bench_peers::workload::{OPS_HELP, OPS_NAME};

/// Operations done.
#[metric]
static BENCH_OPS_TOTAL: Counter = Counter::new();

/// Operations done, counted on per-thread cells.
#[metric]
static BENCH_SHARDED_OPS_TOTAL: ShardedCounter = ShardedCounter::new();

static FLOOR: AtomicU64 = AtomicU64::new(0);

/// A perfect shard per thread: each thread owns one cache line. No counter that threads share
/// can beat this; it bounds what sharding can gain on this machine.
static FLOOR_PER_THREAD: [CachePadded; 2] = [CachePadded::new(), CachePadded::new()];

/// One counter alone on a 128-byte line (two lines: the adjacent-line prefetcher pairs them).
#[repr(align(128))]
struct CachePadded(AtomicU64);

impl CachePadded {
    const fn new() -> Self {
        CachePadded(AtomicU64::new(0))
    }
}

/// The same operation as one thread and as two; `$inc` is a closure expression.
macro_rules! both {
    ($group:expr, $id:expr, $inc:expr) => {{
        let inc = $inc;
        $group.bench_function(BenchmarkId::new($id, "1 thread"), |b| b.iter(|| inc()));
        $group.bench_function(BenchmarkId::new($id, "2 threads"), |b| {
            b.iter_custom(|iterations| two_threads(iterations, |_, _| inc()))
        });
    }};
}

fn counter_inc(c: &mut Criterion) {
    peers::metrics_global();
    let prometheus = peers::prometheus_counter(OPS_NAME, OPS_HELP);
    let client = prometheus_client::metrics::counter::Counter::<u64>::default();
    let metrics_held = metrics::counter!(OPS_NAME);
    let measured = measured::Counter::new();

    let mut group = c.benchmark_group("counter_inc");
    both!(group, "floor: fetch_add", || {
        FLOOR.fetch_add(1, Ordering::Relaxed);
    });
    group.bench_function(
        BenchmarkId::new("floor: fetch_add, one line per thread", "2 threads"),
        |b| {
            b.iter_custom(|iterations| {
                two_threads(iterations, |thread, _| {
                    FLOOR_PER_THREAD[thread % 2]
                        .0
                        .fetch_add(1, Ordering::Relaxed);
                })
            })
        },
    );
    both!(group, "promstatic", || BENCH_OPS_TOTAL.inc());
    both!(group, "promstatic (sharded)", || BENCH_SHARDED_OPS_TOTAL
        .inc());
    both!(group, "prometheus", || prometheus.inc());
    both!(group, "prometheus-client", || {
        client.inc();
    });
    both!(group, "metrics (held handle)", || metrics_held.increment(1));
    both!(group, "metrics (counter! macro)", || {
        metrics::counter!(OPS_NAME).increment(1)
    });
    both!(group, "measured", || measured.inc());
    group.finish();
    black_box((
        FLOOR.load(Ordering::Relaxed),
        BENCH_OPS_TOTAL.get(),
        BENCH_SHARDED_OPS_TOTAL.get(),
    ));
}

criterion_group!(benches, counter_inc);
criterion_main!(benches);
