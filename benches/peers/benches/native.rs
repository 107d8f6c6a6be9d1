//! Native histogram observe: promstatic's `NativeHistogram` against prometheus-client's native
//! histogram (schema 3 both, the default zero threshold), with both crates' classic histograms
//! for reference; one thread, and two threads on one histogram.
//!
//! Every library cycles through the workload's 64 observations (1 ms to about 20 s), all
//! inside promstatic's declared range, so no observation is clamped.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use prometheus_client::metrics::histogram::{Histogram as ClientHistogram, NativeHistogramConfig};
use promstatic::{Histogram, NativeHistogram, metric};
use promstatic_bench_peers::peers;
use promstatic_bench_peers::threads::two_threads;
use promstatic_bench_peers::workload::observations;

/// Request latency, native.
#[metric(native(schema = 3, range = 1e-4..100.0))]
static BENCH_NATIVE_SECONDS: NativeHistogram = NativeHistogram::new();

/// Request latency, classic.
#[metric]
static BENCH_CLASSIC_SECONDS: Histogram = Histogram::new();

fn native_observe(c: &mut Criterion) {
    let client_native = ClientHistogram::new_native(NativeHistogramConfig::with_schema(3));
    let client_classic = peers::prometheus_client_histogram();
    let values = observations();
    let mut group = c.benchmark_group("native_observe");
    let mut run = |id: &str, observe: &(dyn Fn(f64) + Sync)| {
        let mut position = 0usize;
        group.bench_function(BenchmarkId::new(id, "1 thread"), |b| {
            b.iter(|| {
                position = position.wrapping_add(1);
                observe(values[position % values.len()])
            })
        });
        group.bench_function(BenchmarkId::new(id, "2 threads"), |b| {
            b.iter_custom(|iterations| {
                two_threads(iterations, |_, iteration| {
                    observe(values[iteration as usize % values.len()])
                })
            })
        });
    };
    run("promstatic native", &|value| {
        BENCH_NATIVE_SECONDS.observe(value)
    });
    run("prometheus-client native", &|value| {
        client_native.observe(value)
    });
    run("promstatic classic", &|value| {
        BENCH_CLASSIC_SECONDS.observe(value)
    });
    run("prometheus-client classic", &|value| {
        client_classic.observe(value)
    });
    group.finish();
    // Every observation landed inside the range: nothing clamped or rejected.
    assert_eq!(BENCH_NATIVE_SECONDS.out_of_range(), Default::default());
}

criterion_group!(benches, native_observe);
criterion_main!(benches);
