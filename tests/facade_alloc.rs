//! The facade allocates only on a series' first registration: a registration of an existing
//! series, every update, and a warm scrape perform zero heap allocations.

#![cfg(feature = "facade")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use promstatic::Format;
use promstatic::facade::Builder;

/// Counts allocations made by the thread that enabled counting; other threads (the test
/// harness) are ignored.
struct CountingAllocator;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

// SAFETY: every call is forwarded unchanged to the system allocator; counting only reads a
// thread-local flag and bumps an atomic, neither of which allocates.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn count() {
    if COUNTING.with(Cell::get) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Allocations made by `f` on this thread.
fn allocations(f: impl FnOnce()) -> usize {
    ALLOCATIONS.store(0, Ordering::Relaxed);
    COUNTING.with(|counting| counting.set(true));
    f();
    COUNTING.with(|counting| counting.set(false));
    ALLOCATIONS.load(Ordering::Relaxed)
}

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
