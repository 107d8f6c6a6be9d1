//! A warm scrape of histograms, label families and sharded counters allocates nothing.
//!
//! Its own test binary, because it installs a counting global allocator. Only allocations
//! made by the measuring thread while it is measuring are counted, so the test harness's own
//! threads cannot disturb the count.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use promstatic::{
    CounterFamily, FloatGaugeFamily, Format, GaugeFamily, Histogram, HistogramFamily, LabelValue,
    ShardedCounter, metric,
};

struct CountingAllocator;

thread_local! {
    static MEASURING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn note_allocation() {
    // `try_with`: allocations during thread-local teardown are not ours to count.
    let _ = MEASURING.try_with(|measuring| {
        if measuring.get() {
            let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
        }
    });
}

// SAFETY: every method forwards to `System` with the same arguments; counting has no effect
// on the memory handed out.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: forwarded unchanged; the caller upholds `alloc_zeroed`'s contract.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation();
        // SAFETY: forwarded unchanged; the caller upholds `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; the caller upholds `dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn allocations_during(work: impl FnOnce()) -> u64 {
    ALLOCATIONS.with(|count| count.set(0));
    MEASURING.with(|measuring| measuring.set(true));
    work();
    MEASURING.with(|measuring| measuring.set(false));
    ALLOCATIONS.with(Cell::get)
}

#[derive(LabelValue, Clone, Copy)]
enum Route {
    Home,
    #[label(rename = "/api/\"v1\"")]
    Api,
    Static,
}

#[derive(LabelValue, Clone, Copy)]
enum Outcome {
    Ok,
    Error,
}

/// Latency.
#[metric(buckets = [0.001, 0.01, 0.1, 1, 10])]
static ALLOC_LATENCY_SECONDS: Histogram = Histogram::new();

/// Latency by route and outcome.
#[metric(labels(route: Route, outcome: Outcome))]
static ALLOC_ROUTE_SECONDS: HistogramFamily = HistogramFamily::new();

/// Requests by route.
#[metric(labels(route: Route, outcome: Outcome))]
static ALLOC_REQUESTS_TOTAL: CounterFamily = CounterFamily::new();

/// Open requests by route.
#[metric(labels(route: Route))]
static ALLOC_OPEN: GaugeFamily = GaugeFamily::new();

/// Load by route.
#[metric(labels(route: Route))]
static ALLOC_LOAD: FloatGaugeFamily = FloatGaugeFamily::new();

/// Hot counter.
#[metric]
static ALLOC_HOT_TOTAL: ShardedCounter = ShardedCounter::new();

fn update(round: u32) {
    let value = f64::from(round) * 0.37;
    ALLOC_LATENCY_SECONDS.observe(value);
    ALLOC_ROUTE_SECONDS
        .with(Route::Api, Outcome::Error)
        .observe(value);
    ALLOC_REQUESTS_TOTAL.with(Route::Static, Outcome::Ok).inc();
    ALLOC_OPEN.with(Route::Home).add(i64::from(round));
    ALLOC_LOAD.with(Route::Api).set(value / 3.0);
    ALLOC_HOT_TOTAL.inc();
}

#[test]
fn warm_scrapes_and_updates_do_not_allocate() {
    // Warm up: first render sorts the table; the buffer grows to the size of a scrape.
    // Later values are at most as wide as these (so the buffer need not grow again).
    for round in 0..3 {
        update(round);
    }
    let mut buffer = Vec::new();
    for format in [Format::Text, Format::OpenMetrics] {
        buffer.clear();
        promstatic::render(&mut buffer, format);
    }
    buffer.reserve(4096);
    let warm_size = buffer.len();
    assert!(warm_size > 0);

    for format in [Format::Text, Format::OpenMetrics, Format::Text] {
        let allocations = allocations_during(|| {
            for round in 0..3 {
                update(round);
            }
            buffer.clear();
            promstatic::render(&mut buffer, format);
        });
        assert_eq!(allocations, 0, "{format:?} scrape allocated");
    }
    let text = String::from_utf8(buffer).unwrap();
    assert!(
        text.contains(
            "alloc_route_seconds_bucket{route=\"/api/\\\"v1\\\"\",outcome=\"error\",le=\"0.005\"}"
        ),
        "{text}"
    );
}

#[test]
fn the_counting_allocator_counts() {
    // The check above must be able to fail: an allocation in the window is seen.
    let allocations = allocations_during(|| drop(std::hint::black_box(vec![1u8; 64])));
    assert_eq!(allocations, 1);
}
