//! The cost of exemplars: plain `inc`/`observe` on metrics with and without exemplar slots
//! (the same code path: a slot adds nothing until an exemplar is given), and
//! `inc_with_exemplar`/`observe_with_exemplar` with one trace id, single-threaded: counters,
//! classic and native histograms, a typed family's series and a dynamic family's lookup.
//!
//! Run: `cargo bench --bench exemplars`

use criterion::{Criterion, criterion_group, criterion_main};
use promstatic::exemplar::{ExemplarName, ExemplarSlot, TraceIdHex};
use promstatic::histogram::DEFAULT_BUCKETS;
use promstatic::{
    Counter, CounterFamily, DynCounterFamily, Histogram, LabelValue, NativeHistogram, metric,
};
use std::hint::black_box;

static PLAIN_COUNTER: Counter = Counter::new();
static SLOT_COUNTER: Counter<ExemplarSlot> = Counter::with_exemplars();
static PLAIN_HISTOGRAM: Histogram = Histogram::new();
static SLOT_HISTOGRAM: Histogram<11, ExemplarSlot> =
    Histogram::with_bounds_and_exemplars(&DEFAULT_BUCKETS);

/// Native, no slots.
#[metric(native(schema = 3, range = 1e-6..1e3), buckets = [0.01, 0.1, 1.0])]
static BENCH_PLAIN_NATIVE_SECONDS: NativeHistogram = NativeHistogram::new();

/// Native, one slot per classic bucket.
#[metric(native(schema = 3, range = 1e-6..1e3), buckets = [0.01, 0.1, 1.0], exemplars)]
static BENCH_SLOT_NATIVE_SECONDS: NativeHistogram = NativeHistogram::new();

#[derive(LabelValue, Clone, Copy)]
enum Method {
    Get,
    Post,
}

/// Typed family, no slots.
#[metric(labels(method: Method))]
static BENCH_PLAIN_FAMILY_TOTAL: CounterFamily = CounterFamily::new();

/// Typed family with a slot per series.
#[metric(labels(method: Method), exemplars)]
static BENCH_SLOT_FAMILY_TOTAL: CounterFamily = CounterFamily::new();

/// Dynamic family, no slots.
#[metric(labels(route: &str), capacity = 16)]
static BENCH_PLAIN_ROUTES_TOTAL: DynCounterFamily = DynCounterFamily::new();

/// Dynamic family with a slot per series.
#[metric(labels(route: &str), capacity = 16, exemplars)]
static BENCH_SLOT_ROUTES_TOTAL: DynCounterFamily = DynCounterFamily::new();

const TRACE_ID: ExemplarName = ExemplarName::new("trace_id");

fn exemplars(c: &mut Criterion) {
    let trace = TraceIdHex::new(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736);
    let mut group = c.benchmark_group("exemplars");
    group.bench_function("counter inc, no slot", |b| {
        b.iter(|| black_box(&PLAIN_COUNTER).inc())
    });
    group.bench_function("counter inc, with slot", |b| {
        b.iter(|| black_box(&SLOT_COUNTER).inc())
    });
    group.bench_function("counter inc_with_exemplar (const name)", |b| {
        b.iter(|| black_box(&SLOT_COUNTER).inc_with_exemplar(&[(TRACE_ID, trace.as_str())]))
    });
    group.bench_function("counter inc_with_exemplar (&str name)", |b| {
        b.iter(|| black_box(&SLOT_COUNTER).inc_with_exemplar(&[("trace_id", trace.as_str())]))
    });
    group.bench_function("histogram observe, no slots", |b| {
        b.iter(|| black_box(&PLAIN_HISTOGRAM).observe(black_box(0.07)))
    });
    group.bench_function("histogram observe, with slots", |b| {
        b.iter(|| black_box(&SLOT_HISTOGRAM).observe(black_box(0.07)))
    });
    group.bench_function("histogram observe_with_exemplar", |b| {
        b.iter(|| {
            black_box(&SLOT_HISTOGRAM)
                .observe_with_exemplar(black_box(0.07), &[(TRACE_ID, trace.as_str())])
        })
    });
    group.bench_function("native observe, no slots", |b| {
        b.iter(|| black_box(&BENCH_PLAIN_NATIVE_SECONDS).observe(black_box(0.07)))
    });
    group.bench_function("native observe, with slots", |b| {
        b.iter(|| black_box(&BENCH_SLOT_NATIVE_SECONDS).observe(black_box(0.07)))
    });
    group.bench_function("native observe_with_exemplar", |b| {
        b.iter(|| {
            black_box(&BENCH_SLOT_NATIVE_SECONDS)
                .observe_with_exemplar(black_box(0.07), &[(TRACE_ID, trace.as_str())])
        })
    });
    group.bench_function("family with().inc, no slots", |b| {
        b.iter(|| {
            black_box(&BENCH_PLAIN_FAMILY_TOTAL)
                .with(black_box(Method::Post))
                .inc()
        })
    });
    group.bench_function("family with().inc, with slots", |b| {
        b.iter(|| {
            black_box(&BENCH_SLOT_FAMILY_TOTAL)
                .with(black_box(Method::Post))
                .inc()
        })
    });
    group.bench_function("family with().inc_with_exemplar", |b| {
        b.iter(|| {
            black_box(&BENCH_SLOT_FAMILY_TOTAL)
                .with(black_box(Method::Get))
                .inc_with_exemplar(&[(TRACE_ID, trace.as_str())])
        })
    });
    group.bench_function("dynamic family with().inc, no slots", |b| {
        b.iter(|| {
            black_box(&BENCH_PLAIN_ROUTES_TOTAL)
                .with((black_box("/users/:id"),))
                .inc()
        })
    });
    group.bench_function("dynamic family with().inc, with slots", |b| {
        b.iter(|| {
            black_box(&BENCH_SLOT_ROUTES_TOTAL)
                .with((black_box("/users/:id"),))
                .inc()
        })
    });
    group.bench_function("dynamic family with().inc_with_exemplar", |b| {
        b.iter(|| {
            black_box(&BENCH_SLOT_ROUTES_TOTAL)
                .with((black_box("/users/:id"),))
                .inc_with_exemplar(&[(TRACE_ID, trace.as_str())])
        })
    });
    group.finish();
}

criterion_group!(benches, exemplars);
criterion_main!(benches);
