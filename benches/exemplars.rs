//! The cost of exemplars: plain `inc`/`observe` on metrics with and without exemplar slots
//! (the same code path: a slot adds nothing until an exemplar is given), and
//! `inc_with_exemplar`/`observe_with_exemplar` with one trace id, single-threaded.
//!
//! Run: `cargo bench --bench exemplars`

use criterion::{Criterion, criterion_group, criterion_main};
use promstatic::exemplar::{ExemplarName, ExemplarSlot, TraceIdHex};
use promstatic::histogram::DEFAULT_BUCKETS;
use promstatic::{Counter, Histogram};
use std::hint::black_box;

static PLAIN_COUNTER: Counter = Counter::new();
static SLOT_COUNTER: Counter<ExemplarSlot> = Counter::with_exemplars();
static PLAIN_HISTOGRAM: Histogram = Histogram::new();
static SLOT_HISTOGRAM: Histogram<11, ExemplarSlot> =
    Histogram::with_bounds_and_exemplars(&DEFAULT_BUCKETS);

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
    group.finish();
}

criterion_group!(benches, exemplars);
criterion_main!(benches);
