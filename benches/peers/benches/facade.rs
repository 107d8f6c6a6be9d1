//! The `metrics` facade: the same macro calls recorded by promstatic's recorder and by
//! metrics-exporter-prometheus, and a scrape of 1 000 facade series through each.
//!
//! Both recorders are reached the same way, as the default local recorder of the measuring
//! thread (`metrics::set_default_local_recorder`), so each row pays the same thread-local
//! lookup and virtual call that `counter!` always costs; only the recorders differ. A plain
//! `#[metric]` static is measured beside them: the cost of keeping the macro on a hot path.
//! Two floors show what `metrics` costs whatever the recorder: its dispatch with
//! `metrics::NoopRecorder`, and with a recorder that returns one shared `Arc` handle for
//! every key (`Counter::from_arc` is the only way to hand out a recording handle in
//! `metrics` 0.24, so its clone and drop are part of every macro call).

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use promstatic::facade::Builder;
use promstatic::{Counter, Format, metric};
use promstatic_bench_peers::peers::{self, FloorRecorder};
use promstatic_bench_peers::workload::{LATENCY_BUCKETS, LATENCY_NAME, observations};

/// Frames rendered (the `#[metric]` reference row).
#[metric]
static BENCH_FACADE_STATIC_TOTAL: Counter = Counter::new();

const SCRAPE_SERIES: usize = 1_000;

fn name_of(index: usize) -> String {
    format!("facade_series_{index:04}_total")
}

fn facade(c: &mut Criterion) {
    let ours = Builder::new()
        .buckets(&LATENCY_BUCKETS)
        .build_recorder()
        .unwrap_or_else(|error| panic!("promstatic facade: {error}"));
    let theirs = peers::metrics_recorder();
    let theirs_handle = theirs.handle();
    let floor = FloorRecorder::default();

    let mut group = c.benchmark_group("facade_macro");
    for (id, recorder) in [
        ("promstatic facade", &ours as &dyn metrics::Recorder),
        (
            "metrics-exporter-prometheus",
            &theirs as &dyn metrics::Recorder,
        ),
        // What `metrics` itself costs: its dispatch (thread-local lookup, virtual calls)
        // with a recorder that records nothing ...
        (
            "floor: metrics dispatch, no-op recorder",
            &metrics::NoopRecorder as &dyn metrics::Recorder,
        ),
        // ... and with the least a recording one can do: one shared `Arc` handle for every
        // key, cloned and dropped per call as `metrics` requires, no lookup at all.
        (
            "floor: metrics dispatch, one shared Arc handle",
            &floor as &dyn metrics::Recorder,
        ),
    ] {
        let _local = metrics::set_default_local_recorder(recorder);
        group.bench_function(BenchmarkId::new(id, "counter, 0 labels"), |b| {
            b.iter(|| metrics::counter!("bench_frames_total").increment(1))
        });
        group.bench_function(BenchmarkId::new(id, "counter, 1 label"), |b| {
            b.iter(|| metrics::counter!("bench_frames_total", "scene" => "intro").increment(1))
        });
        group.bench_function(BenchmarkId::new(id, "counter, 2 labels"), |b| {
            b.iter(|| {
                metrics::counter!("bench_frames_total", "scene" => "intro", "gpu" => "0")
                    .increment(1)
            })
        });
        let values = observations();
        let mut position = 0usize;
        group.bench_function(BenchmarkId::new(id, "histogram record"), |b| {
            b.iter(|| {
                position = position.wrapping_add(1);
                metrics::histogram!(LATENCY_NAME).record(values[position % values.len()])
            })
        });
    }
    let held = {
        let _local = metrics::set_default_local_recorder(&ours);
        metrics::counter!("bench_frames_total")
    };
    group.bench_function(
        BenchmarkId::new("promstatic facade", "counter, held handle"),
        |b| b.iter(|| held.increment(1)),
    );
    group.bench_function(BenchmarkId::new("promstatic #[metric]", "counter"), |b| {
        b.iter(|| BENCH_FACADE_STATIC_TOTAL.inc())
    });
    group.finish();

    // 1 000 counters in each recorder, described, with values.
    for recorder in [
        &ours as &dyn metrics::Recorder,
        &theirs as &dyn metrics::Recorder,
    ] {
        metrics::with_local_recorder(recorder, || {
            for index in 0..SCRAPE_SERIES {
                metrics::describe_counter!(name_of(index), format!("Series {index}."));
                metrics::counter!(name_of(index)).absolute(index as u64 * 1_000);
            }
        });
    }
    // What promstatic renders besides the facade: this binary's statics (a handful).
    let statics = promstatic::table::declarations().len();
    assert!(statics < 16, "{statics} statics would be scraped too");
    let mut group = c.benchmark_group("facade_scrape_1k");
    let mut out = Vec::new();
    group.bench_function(BenchmarkId::new("promstatic facade", "text"), |b| {
        b.iter(|| {
            out.clear();
            promstatic::render(&mut out, Format::Text);
            black_box(out.len())
        })
    });
    let mut theirs_out = Vec::new();
    group.bench_function(
        BenchmarkId::new("metrics-exporter-prometheus", "text"),
        |b| {
            b.iter(|| {
                theirs_out.clear();
                theirs_handle
                    .render_to_write(&mut theirs_out)
                    .unwrap_or_else(|error| panic!("render: {error}"));
                black_box(theirs_out.len())
            })
        },
    );
    group.finish();
}

criterion_group!(benches, facade);
criterion_main!(benches);
