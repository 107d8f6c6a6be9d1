//! The facade allocates only on a series' first registration: a registration of an existing
//! series, every update, and a warm scrape perform zero heap allocations.

#![cfg(feature = "facade")]

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

use promstatic::Format;
use promstatic::facade::Builder;
// `allocations` counts this thread's allocations in `f` (the name these tests use).
use counting_alloc::{CountingAllocator, allocations_in as allocations};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn record_everything(round: u64) {
    metrics::counter!("alloc_frames_total").increment(1);
    metrics::counter!("alloc_frames_total", "scene" => "intro").increment(1);
    metrics::counter!("alloc_frames_total", "scene" => "intro", "gpu" => "0").increment(1);
    // The same series with its labels in the other order.
    metrics::counter!("alloc_frames_total", "gpu" => "0", "scene" => "intro").absolute(round);
    let gauge = metrics::gauge!("alloc_queue_depth", "queue" => "io");
    gauge.increment(2.0);
    gauge.decrement(1.0);
    gauge.set(round as f64);
    metrics::histogram!("alloc_latency_seconds", "op" => "read").record(0.004 * round as f64);
}

#[test]
fn hit_path_updates_and_warm_scrapes_allocate_nothing() {
    Builder::new()
        .install_recorder()
        .expect("the first install succeeds");
    // First registrations allocate (each series' handle), and the first scrape grows the
    // buffer: the warm-up.
    let first = allocations(|| record_everything(0));
    assert!(
        first > 0,
        "first registrations build handles (the counter counts)"
    );
    let mut out = Vec::new();
    for format in [Format::Text, Format::OpenMetrics] {
        out.clear();
        promstatic::render(&mut out, format);
    }
    let warm = String::from_utf8(out.clone()).unwrap();
    assert!(
        warm.contains("alloc_latency_seconds_bucket{op=\"read\",le=\"+Inf\"} 1\n"),
        "{warm}"
    );

    assert_eq!(
        allocations(|| {
            for round in 1..=1_000 {
                record_everything(round);
            }
        }),
        0,
        "registering existing series and updating them"
    );
    for format in [Format::Text, Format::OpenMetrics] {
        assert_eq!(
            allocations(|| {
                out.clear();
                promstatic::render(&mut out, format);
            }),
            0,
            "a warm {format:?} scrape"
        );
    }
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("alloc_frames_total{gpu=\"0\",scene=\"intro\"} 1001"),
        "absolute(1000) after 1001 increments keeps the larger value:\n{text}"
    );
    assert!(
        text.contains("alloc_queue_depth{queue=\"io\"} 1000"),
        "{text}"
    );
}
